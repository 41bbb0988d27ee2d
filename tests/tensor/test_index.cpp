// index_select / index_add, gather / scatter_add, concat and stack: known values, naive loops on
// random shapes, axes, dtypes and layouts (including empty index lists and repeated indices),
// the adjoint pairs (select/add and gather/scatter_add), and the error messages.
#include <cstdint>
#include <string>
#include <vector>

#include "reference.hpp"

using namespace nabla;
using namespace nabla::kernels;
using Catch::Contains;
using reference::check_elements;
using reference::check_values;
using reference::inner_product;
using reference::Index;
using reference::Layout;
using reference::read;

namespace {

Layout random_layout(reference::Rng& rng) {
  return reference::all_layouts[static_cast<size_t>(rng.integer(0, 5))];
}

DType random_dtype(reference::Rng& rng) {
  const DType dtypes[] = {float32, float64, int64, uint8, int32, bool_};
  return dtypes[rng.integer(0, 5)];
}

// A shape of 1..4 axes with extents 1..4 (no zero: indices must have somewhere to point).
Shape random_nonempty_shape(reference::Rng& rng) {
  Shape shape;
  const int64_t ndim = rng.integer(1, 4);
  for (int64_t i = 0; i < ndim; ++i) shape.push_back(rng.integer(1, 4));
  return shape;
}

// An int64 tensor of `shape` with values in [0, extent).
Tensor random_indices(const Shape& shape, int64_t extent, reference::Rng& rng) {
  std::vector<int64_t> values(static_cast<size_t>(shape_numel(shape)));
  for (int64_t& value : values) value = rng.integer(0, extent - 1);
  return from_vector(values, shape);
}

Index with_axis(Index index, int64_t axis, int64_t value) {
  index[static_cast<size_t>(axis)] = value;
  return index;
}

int64_t flat_position(const Index& index, const Shape& shape) {
  int64_t position = 0;
  for (int64_t i = 0; i < shape.size(); ++i) position = position * shape[i] + index[static_cast<size_t>(i)];
  return position;
}

// Values of `base` with source[p] added at target(p) for every index p of `source_shape`.
std::vector<double> scattered(const Tensor& base, const Shape& source_shape,
                              const std::function<Index(const Index&)>& target,
                              const std::function<double(const Index&)>& value) {
  std::vector<double> out = reference::elements(base);
  reference::for_each_index(source_shape, [&](const Index& p) {
    out[static_cast<size_t>(flat_position(target(p), base.shape()))] += value(p);
  });
  return out;
}

// Exact for integer dtypes; float sums round in the dtype.
reference::Tolerance sum_tolerance(DType dtype) {
  return is_floating(dtype) ? reference::elementwise_tolerance(dtype) : reference::Tolerance{0, 0};
}

// A sum as the dtype holds it, so sums compare exactly: uint8 wraps modulo 256, and bool addition
// is logical or (as PyTorch's).
double wrap(double value, DType dtype) {
  if (dtype == uint8) return static_cast<double>(static_cast<uint8_t>(static_cast<int64_t>(value)));
  if (dtype == bool_) return value != 0.0 ? 1.0 : 0.0;
  return value;
}

}  // namespace

// ---- index_select / index_add

TEST_CASE("index_select picks slices along an axis", "[index]") {
  const Tensor x = arange(0, 12).reshape({3, 4});
  const Tensor rows = from_vector<int64_t>({2, 0, 2});
  check_values(index_select(x, 0, rows), {3, 4}, {8, 9, 10, 11, 0, 1, 2, 3, 8, 9, 10, 11});
  check_values(index_select(x, -1, from_vector<int64_t>({3, 1})), {3, 2}, {3, 1, 7, 5, 11, 9});
  CHECK(index_select(x, 1, from_vector<int64_t>({})).shape() == Shape{3, 0});
  CHECK(index_select(x.to(uint8), 0, rows).dtype() == uint8);
}

TEST_CASE("index_select agrees with a naive loop", "[index]") {
  reference::Rng rng(101);
  for (int trial = 0; trial < 150; ++trial) {
    const Shape shape = random_nonempty_shape(rng);
    const DType dtype = random_dtype(rng);
    const Layout layout = random_layout(rng);
    const int64_t axis = rng.integer(0, shape.size() - 1);
    const Tensor x = reference::random_tensor(shape, dtype, layout, rng, 0, 100);
    const Tensor index = random_indices({rng.integer(0, 6)}, shape[axis], rng);
    INFO("trial " << trial << ": x " << to_string(shape) << " " << dtype_name(dtype) << " "
                  << reference::layout_name(layout) << ", axis " << axis << ", index " << to_string(index));
    Shape expected = shape;
    expected[axis] = index.size(0);
    const Tensor result = index_select(x, axis - (rng.chance(0.5) ? shape.size() : 0), index);
    CHECK(result.dtype() == dtype);
    check_elements(result, expected, [&](const Index& o) {
      return read(x, with_axis(o, axis, index.at<int64_t>({o[static_cast<size_t>(axis)]})));
    }, {0, 0});
  }
}

TEST_CASE("index_add adds slices at indices and accumulates repeats", "[index]") {
  const Tensor base = zeros({4, 2});
  const Tensor source = tensor({1, 2, 3, 4, 5, 6}, {3, 2});
  const Tensor result = index_add(base, 0, from_vector<int64_t>({0, 2, 0}), source);
  check_values(result, {4, 2}, {6, 8, 0, 0, 3, 4, 0, 0});
  check_values(base, {4, 2}, std::vector<double>(8, 0.0));  // base itself is untouched
  check_values(index_add(ones({2, 3}), 1, from_vector<int64_t>({2, 2}), ones({2, 2})), {2, 3},
               {1, 1, 3, 1, 1, 3});
}

TEST_CASE("index_add agrees with a naive loop and is the adjoint of index_select", "[index]") {
  reference::Rng rng(102);
  for (int trial = 0; trial < 150; ++trial) {
    const Shape shape = random_nonempty_shape(rng);
    const DType dtype = random_dtype(rng);
    const int64_t axis = rng.integer(0, shape.size() - 1);
    const Tensor index = random_indices({rng.integer(0, 6)}, shape[axis], rng);
    Shape source_shape = shape;
    source_shape[axis] = index.size(0);
    const Tensor base = reference::random_tensor(shape, dtype, random_layout(rng), rng, 0, 20);
    const Tensor source = reference::random_tensor(source_shape, dtype, random_layout(rng), rng, 0, 20);
    INFO("trial " << trial << ": base " << to_string(shape) << " " << dtype_name(dtype) << ", axis "
                  << axis << ", index " << to_string(index));
    const std::vector<double> expected = scattered(
        base, source_shape,
        [&](const Index& p) { return with_axis(p, axis, index.at<int64_t>({p[static_cast<size_t>(axis)]})); },
        [&](const Index& p) { return read(source, p); });
    const Tensor result = index_add(base, axis, index, source);
    check_elements(result, shape, [&](const Index& o) {
      return wrap(expected[static_cast<size_t>(flat_position(o, shape))], dtype);
    }, sum_tolerance(dtype));

    if (is_floating(dtype)) {
      // <index_select(x, i), y> == <x, index_add(0, i, y)>
      const Tensor x = reference::random_tensor(shape, float64, Layout::contiguous, rng);
      const Tensor y = reference::random_tensor(source_shape, float64, Layout::contiguous, rng);
      CHECK(inner_product(index_select(x, axis, index), y) ==
            Approx(inner_product(x, index_add(zeros(shape, float64), axis, index, y))).margin(1e-12));
    }
  }
}

TEST_CASE("index_select and index_add check their indices", "[index][errors]") {
  const Tensor x = ones({5, 3});
  CHECK_THROWS_WITH(index_select(x, 0, from_vector<int64_t>({1, 7})),
                    Contains("index_select: index 7 is out of range for axis 0 of size 5"));
  CHECK_THROWS_WITH(index_select(x, 1, from_vector<int64_t>({-1})),
                    Contains("index -1 is out of range for axis 1 of size 3"));
  CHECK_THROWS_WITH(index_select(x, 0, tensor({1, 2})), Contains("index must be an int64 tensor, got float32"));
  CHECK_THROWS_WITH(index_select(x, 0, from_vector<int64_t>({1, 2}, {1, 2})),
                    Contains("index must be 1-d, got shape [1, 2]"));
  CHECK_THROWS_AS(index_select(x, 2, from_vector<int64_t>({0})), Error);
  CHECK_THROWS_WITH(index_add(x, 0, from_vector<int64_t>({5}), ones({1, 3})),
                    Contains("index_add: index 5 is out of range for axis 0 of size 5"));
  CHECK_THROWS_WITH(index_add(x, 0, from_vector<int64_t>({0, 1}), ones({3, 3})),
                    Contains("index_add: source shape [3, 3] does not match [2, 3]"));
  CHECK_THROWS_WITH(index_add(x, 0, from_vector<int64_t>({0}), ones({1, 3}, float64)),
                    Contains("index_add: source dtype float64 does not match base dtype float32"));
}

// ---- gather / scatter_add

TEST_CASE("gather reads along an axis at per-element indices", "[index]") {
  const Tensor x = tensor({1, 2, 3, 4}, {2, 2});
  const Tensor index = from_vector<int64_t>({0, 0, 1, 0}, {2, 2});
  check_values(gather(x, 1, index), {2, 2}, {1, 1, 4, 3});
  check_values(gather(x, 0, index), {2, 2}, {1, 2, 3, 2});
  // The typical use: pick one class score per row.
  const Tensor scores = tensor({0.1, 0.7, 0.2, 0.5, 0.3, 0.2}, {2, 3});
  check_values(gather(scores, 1, from_vector<int64_t>({1, 0}, {2, 1})), {2, 1}, {0.7, 0.5});
}

TEST_CASE("gather and scatter_add agree with naive loops and are adjoint", "[index]") {
  reference::Rng rng(103);
  for (int trial = 0; trial < 150; ++trial) {
    const Shape shape = random_nonempty_shape(rng);
    const DType dtype = random_dtype(rng);
    const int64_t axis = rng.integer(0, shape.size() - 1);
    // index fits x on every other axis (possibly smaller) and is any length along axis.
    Shape index_shape;
    for (int64_t i = 0; i < shape.size(); ++i) {
      index_shape.push_back(i == axis ? rng.integer(0, 5) : rng.integer(rng.chance(0.1) ? 0 : 1, shape[i]));
    }
    const Tensor index = random_indices(index_shape, shape[axis], rng);
    const Tensor x = reference::random_tensor(shape, dtype, random_layout(rng), rng, 0, 20);
    INFO("trial " << trial << ": x " << to_string(shape) << " " << dtype_name(dtype) << ", axis " << axis
                  << ", index " << to_string(index));
    const Tensor gathered = gather(x, axis, index);
    CHECK(gathered.dtype() == dtype);
    check_elements(gathered, index_shape, [&](const Index& o) {
      return read(x, with_axis(o, axis, static_cast<int64_t>(read(index, o))));
    }, {0, 0});

    const Tensor source = reference::random_tensor(index_shape, dtype, random_layout(rng), rng, 0, 20);
    const std::vector<double> expected = scattered(
        x, index_shape,
        [&](const Index& p) { return with_axis(p, axis, static_cast<int64_t>(read(index, p))); },
        [&](const Index& p) { return read(source, p); });
    check_elements(scatter_add(x, axis, index, source), shape, [&](const Index& o) {
      return wrap(expected[static_cast<size_t>(flat_position(o, shape))], dtype);
    }, sum_tolerance(dtype));

    if (is_floating(dtype)) {
      const Tensor a = reference::random_tensor(shape, float64, Layout::contiguous, rng);
      const Tensor b = reference::random_tensor(index_shape, float64, Layout::contiguous, rng);
      CHECK(inner_product(gather(a, axis, index), b) ==
            Approx(inner_product(a, scatter_add(zeros(shape, float64), axis, index, b))).margin(1e-12));
    }
  }
}

TEST_CASE("scatter_add accepts a source larger than the index", "[index]") {
  // Only source's leading [index.shape] block is used, as in PyTorch.
  const Tensor result = scatter_add(zeros({3}), 0, from_vector<int64_t>({2, 2}), tensor({1, 2, 100}));
  check_values(result, {3}, {0, 0, 3});
}

TEST_CASE("gather and scatter_add check their indices and shapes", "[index][errors]") {
  const Tensor x = ones({2, 3});
  CHECK_THROWS_WITH(gather(x, 1, from_vector<int64_t>({0, 3}, {2, 1})),
                    Contains("gather: index 3 is out of range for axis 1 of size 3"));
  CHECK_THROWS_WITH(gather(x, 1, from_vector<int64_t>({0, 1})),
                    Contains("gather: index must have the rank of x (2)"));
  CHECK_THROWS_WITH(gather(x, 1, from_vector<int64_t>({0, 0, 0}, {3, 1})),
                    Contains("gather: index shape [3, 1] does not fit x shape [2, 3] on axis 0 (3 > 2)"));
  CHECK_THROWS_WITH(gather(x, 0, tensor({0}, {1, 1})), Contains("index must be an int64 tensor"));
  CHECK_THROWS_WITH(scatter_add(x, 0, from_vector<int64_t>({-2}, {1, 1}), ones({1, 1})),
                    Contains("scatter_add: index -2 is out of range for axis 0 of size 2"));
  CHECK_THROWS_WITH(scatter_add(x, 0, from_vector<int64_t>({0, 1}, {1, 2}), ones({1, 1})),
                    Contains("scatter_add: index shape [1, 2] is larger than source shape [1, 1] on axis 1"));
  CHECK_THROWS_WITH(scatter_add(x, 0, from_vector<int64_t>({0}, {1, 1}), ones({1, 1}, int64)),
                    Contains("scatter_add: source dtype int64 does not match base dtype float32"));
}

// ---- concat / stack

TEST_CASE("concat joins along an axis", "[index]") {
  const Tensor a = tensor({1, 2, 3, 4}, {2, 2});
  const Tensor b = tensor({5, 6}, {2, 1});
  check_values(concat({a, b}, 1), {2, 3}, {1, 2, 5, 3, 4, 6});
  check_values(concat({a, b.t()}, 0), {3, 2}, {1, 2, 3, 4, 5, 6});
  check_values(concat({a, b}, -1), {2, 3}, {1, 2, 5, 3, 4, 6});
  check_values(concat({a}), {2, 2}, {1, 2, 3, 4});
  // Empty parts, transposed views, and mixed dtypes (promoted).
  check_values(concat({a.t(), zeros({2, 0}), b}, 1), {2, 3}, {1, 3, 5, 2, 4, 6});
  const Tensor mixed = concat({a.to(int64), b.t().to(float64)}, 0);
  CHECK(mixed.dtype() == float64);
  check_values(mixed, {3, 2}, {1, 2, 3, 4, 5, 6});
}

TEST_CASE("concat agrees with a naive loop", "[index]") {
  reference::Rng rng(104);
  for (int trial = 0; trial < 60; ++trial) {
    const Shape shape = random_nonempty_shape(rng);
    const int64_t axis = rng.integer(0, shape.size() - 1);
    const DType dtype = random_dtype(rng);
    std::vector<Tensor> parts;
    std::vector<int64_t> starts;
    int64_t total = 0;
    for (int64_t count = rng.integer(1, 4); count > 0; --count) {
      Shape part = shape;
      part[axis] = rng.integer(0, 3);
      parts.push_back(reference::random_tensor(part, dtype, random_layout(rng), rng, 0, 50));
      starts.push_back(total);
      total += part[axis];
    }
    Shape expected = shape;
    expected[axis] = total;
    INFO("trial " << trial << ": " << parts.size() << " parts of " << to_string(shape) << " along " << axis);
    check_elements(concat(parts, axis), expected, [&](const Index& o) {
      const int64_t at = o[static_cast<size_t>(axis)];
      size_t part = 0;
      while (part + 1 < parts.size() && at >= starts[part + 1]) ++part;
      return read(parts[part], with_axis(o, axis, at - starts[part]));
    }, {0, 0});
  }
}

TEST_CASE("stack joins along a new axis", "[index]") {
  const Tensor a = tensor({1, 2, 3});
  const Tensor b = tensor({4, 5, 6});
  check_values(stack({a, b}), {2, 3}, {1, 2, 3, 4, 5, 6});
  check_values(stack({a, b}, 1), {3, 2}, {1, 4, 2, 5, 3, 6});
  check_values(stack({a, b}, -1), {3, 2}, {1, 4, 2, 5, 3, 6});
  check_values(stack({scalar_tensor(1), scalar_tensor(2)}), {2}, {1, 2});
  const Tensor m = tensor({1, 2, 3, 4}, {2, 2});
  check_values(stack({m, m.t()}, 1), {2, 2, 2}, {1, 2, 1, 3, 3, 4, 2, 4});
}

TEST_CASE("concat and stack report mismatched inputs", "[index][errors]") {
  CHECK_THROWS_WITH(concat({}), Contains("concat: no tensors given"));
  CHECK_THROWS_WITH(concat({ones({3, 4}), ones({3, 5})}, 0),
                    Contains("concat: tensor 1 has shape [3, 5] but tensor 0 has shape [3, 4]; shapes must "
                             "match except along axis 0"));
  CHECK_THROWS_WITH(concat({ones({3, 4}), ones({3})}, 0), Contains("tensor 1 has shape [3]"));
  CHECK_THROWS_WITH(concat({scalar_tensor(1)}), Contains("concat: 0-d tensors cannot be joined"));
  CHECK_THROWS_AS(concat({ones({3})}, 1), Error);
  CHECK_THROWS_WITH(stack({ones({2, 3}), ones({2, 4})}),
                    Contains("stack: tensor 1 has shape [2, 4] but tensor 0 has shape [2, 3]"));
  CHECK_THROWS_WITH(stack({}), Contains("stack: no tensors given"));
  CHECK_THROWS_AS(stack({ones({2})}, 2), Error);
}
