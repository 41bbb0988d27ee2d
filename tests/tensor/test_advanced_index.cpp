// masked_select, index / index_put_ / index_put, index_fill_ and take_along_dim (issue 13): known
// values (marked "torch" where computed with PyTorch 1.13 and pasted in), naive loops on random
// shapes, dtypes and layouts, and the range check every op that takes an index or a range makes:
// -size <= index < size, wrapped once, where PyTorch wraps; a clear error, never a wild read, past it.
#include <cstdint>
#include <map>
#include <vector>

#include "reference.hpp"

using namespace nabla;
using namespace nabla::kernels;
using Catch::Contains;
using reference::check_elements;
using reference::check_values;
using reference::Index;
using reference::Layout;
using reference::read;

namespace {

Tensor iota(const Shape& shape, DType dtype = float32) {
  return arange(0, static_cast<double>(shape_numel(shape)), 1, dtype).reshape(shape);
}
Tensor ints(const std::vector<int64_t>& values, const Shape& shape = {}) { return from_vector(values, shape); }

DType random_dtype(reference::Rng& rng) {
  const DType dtypes[] = {float32, float64, int64, uint8, int32, bool_};
  return dtypes[rng.integer(0, 5)];
}
Layout random_layout(reference::Rng& rng) { return reference::all_layouts[static_cast<size_t>(rng.integer(0, 5))]; }

// Random int64 indices in [-extent, extent) (both signs, as advanced indexing allows).
Tensor signed_indices(const Shape& shape, int64_t extent, reference::Rng& rng) {
  std::vector<int64_t> values(static_cast<size_t>(shape_numel(shape)));
  for (int64_t& v : values) v = rng.integer(-extent, extent - 1);
  return from_vector(values, shape);
}

const reference::Tolerance exact{0, 0};

}  // namespace

// ---- masked_select

TEST_CASE("masked_select keeps the elements where the mask is true", "[advanced_index]") {
  const Tensor x = iota({3, 4});
  check_values(masked_select(x, tensor({1, 0, 1, 0}, {4}, uint8)), {6}, {0, 2, 4, 6, 8, 10});  // torch
  // A bool mask (what comparisons give), or uint8 where non-zero is true; other dtypes are refused, as in torch.
  check_values(masked_select(x, tensor({0, 1, 0, 1}, {4}, bool_)), {6}, {1, 3, 5, 7, 9, 11});
  check_values(masked_select(x, tensor({0, 2, 0, 255}, {4}, uint8)), {6}, {1, 3, 5, 7, 9, 11});
  CHECK_THROWS_WITH(masked_select(x, tensor({0, 2.5, 0, -1}, {4}, float64)),
                    Contains("masked_select") && Contains("bool") && Contains("float64"));
  // x and the mask broadcast together (torch).
  check_values(masked_select(tensor({1, 2}, {2, 1}), tensor({1, 0, 1}, {3}, uint8)), {4}, {1, 1, 2, 2});
  CHECK(masked_select(x, zeros({3, 4}, uint8)).shape() == Shape{0});
  CHECK(masked_select(x.to(int64), ones({1}, uint8)).dtype() == int64);
  check_values(masked_select(x.t(), tensor({1, 0, 0}, {3}, bool_)), {4}, {0, 1, 2, 3});
}

TEST_CASE("masked_select agrees with a loop on random broadcasts and layouts", "[advanced_index][reference]") {
  reference::Rng rng(1321);
  for (int trial = 0; trial < 100; ++trial) {
    const Shape shape = reference::random_shape(rng, 4, true, 4);
    const Shape x_shape = reference::broadcastable_from(shape, rng);
    const Shape mask_shape = reference::broadcastable_from(shape, rng);
    const Shape out_shape = reference::broadcast_shape(x_shape, mask_shape);
    const Tensor x = reference::random_tensor(x_shape, random_dtype(rng), random_layout(rng), rng, 0, 100);
    const Tensor mask = reference::random_tensor(mask_shape, trial % 3 ? bool_ : uint8, random_layout(rng), rng, 0, 2, true);
    INFO("trial " << trial << ": x " << to_string(x_shape) << ", mask " << to_string(mask_shape));
    std::vector<double> expected;
    reference::for_each_index(out_shape, [&](const Index& o) {
      if (read(mask, reference::broadcast_index(o, mask_shape)) != 0) expected.push_back(read(x, reference::broadcast_index(o, x_shape)));
    });
    check_values(masked_select(x, mask), {static_cast<int64_t>(expected.size())}, expected, 0);
  }
}

// ---- index, index_put_, index_put

TEST_CASE("index picks along the leading axes with broadcast index tensors", "[advanced_index]") {
  const Tensor x = iota({3, 4});
  check_values(index(x, {ints({2, 0, -1})}), {3, 4}, {8, 9, 10, 11, 0, 1, 2, 3, 8, 9, 10, 11});
  check_values(index(x, {ints({0, 2}), ints({1, -1})}), {2}, {1, 11});
  check_values(index(x, {ints({0, 2}, {2, 1}), ints({1, 3}, {1, 2})}), {2, 2}, {1, 3, 9, 11});
  CHECK(index(x, {ints({}, {0})}).shape() == Shape{0, 4});
  check_values(index(x.t(), {ints({3})}), {1, 3}, {3, 7, 11});
  CHECK(index(x, {scalar_tensor(1, int64)}).shape() == Shape{4});  // a 0-d index drops the axis, as x[1]
}

TEST_CASE("index_put_ writes, accumulates, and lets the last write win", "[advanced_index]") {
  const Tensor x = iota({3, 4});
  Tensor y = x.clone();
  index_put_(y, {ints({-1})}, tensor({5}, {}));  // torch: negative indices count from the end
  check_values(y, {3, 4}, {0, 1, 2, 3, 4, 5, 6, 7, 5, 5, 5, 5});
  // accumulate: repeated positions sum (torch).
  check_values(index_put(x, {ints({0, 0})}, ones({4}), true), {3, 4}, {2, 3, 4, 5, 4, 5, 6, 7, 8, 9, 10, 11});
  // Without accumulate, nabla writes in index order: position (1, 2) gets the last value named for it.
  check_values(index_put(zeros({2, 3}), {ints({1, 0, 1}), ints({2, 0, 2})}, tensor({7, 8, 9})), {2, 3}, {8, 0, 0, 0, 0, 9});
  check_values(index_put(zeros({2, 3}), {ints({1, 0, 1}), ints({2, 0, 2})}, tensor({7, 8, 9}), true), {2, 3},
               {8, 0, 0, 0, 0, 16});
  // index_put leaves x alone; index_put_ bumps the version.
  check_values(x, {3, 4}, reference::elements(iota({3, 4})));
  const uint64_t version = y.storage()->version();
  index_put_(y, {ints({0})}, zeros({}));
  CHECK(y.storage()->version() > version);
  // Writes go through a view's strides into its base.
  Tensor base = zeros({4, 3});
  index_put_(base.t(), {ints({2}), ints({1})}, tensor({4}, {}));
  CHECK(base.at({1, 2}) == 4);
  // Values that alias the target are read before anything is written.
  Tensor rows = iota({2, 2});
  index_put_(rows, {ints({1, 0})}, rows);
  check_values(rows, {2, 2}, {2, 3, 0, 1});
}

TEST_CASE("index and index_put agree with loops on random shapes and layouts", "[advanced_index][reference]") {
  reference::Rng rng(1322);
  for (int trial = 0; trial < 150; ++trial) {
    Shape shape = reference::random_shape(rng, 3, false, 4);
    if (shape.empty()) shape.push_back(3);
    const DType dtype = random_dtype(rng);
    const int64_t count = rng.integer(1, shape.size());
    const Shape index_shape = reference::random_shape(rng, 2, true, 4);
    std::vector<Tensor> indices;
    for (int64_t j = 0; j < count; ++j) {
      indices.push_back(signed_indices(reference::broadcastable_from(index_shape, rng), shape[j], rng));
    }
    Shape broadcast;
    for (const Tensor& t : indices) broadcast = reference::broadcast_shape(broadcast, t.shape());
    Shape result_shape = broadcast;
    for (int64_t a = count; a < shape.size(); ++a) result_shape.push_back(shape[a]);
    const Tensor x = reference::random_tensor(shape, dtype, random_layout(rng), rng, 0, 50);
    INFO("trial " << trial << ": x " << to_string(shape) << " " << dtype_name(dtype) << ", " << count
                  << " indices broadcast to " << to_string(broadcast));
    // The element of x an output position names.
    auto source = [&](const Index& o) {
      Index i;
      for (int64_t j = 0; j < count; ++j) {
        Index position(o.begin(), o.begin() + broadcast.size());
        int64_t v = static_cast<int64_t>(read(indices[static_cast<size_t>(j)], reference::broadcast_index(position, indices[static_cast<size_t>(j)].shape())));
        i.push_back(v < 0 ? v + shape[j] : v);
      }
      for (size_t a = static_cast<size_t>(broadcast.size()); a < o.size(); ++a) i.push_back(o[a]);
      return i;
    };
    check_elements(index(x, indices), result_shape, [&](const Index& o) { return read(x, source(o)); }, exact);

    const bool accumulate = rng.chance(0.5);
    const Shape values_shape = reference::broadcastable_from(result_shape, rng);
    const Tensor values = reference::random_tensor(values_shape, dtype, random_layout(rng), rng, 0, 50);
    std::map<Index, double> expected;  // written positions in index order: later writes win or add up
    reference::for_each_index(result_shape, [&](const Index& o) {
      const Index target = source(o);
      const double v = read(values, reference::broadcast_index(o, values_shape));
      const double before = expected.count(target) ? expected[target] : read(x, target);
      expected[target] = accumulate ? before + v : v;
    });
    const Tensor result = index_put(x, indices, values, accumulate);
    check_elements(result, shape, [&](const Index& i) {
      if (!expected.count(i)) return read(x, i);
      // uint8 sums wrap modulo 256, as the kernel's integer arithmetic does; bool sums are logical or.
      if (dtype == bool_) return expected[i] != 0.0 ? 1.0 : 0.0;
      return dtype == uint8 ? static_cast<double>(static_cast<uint8_t>(static_cast<int64_t>(expected[i]))) : expected[i];
    }, dtype == float32 ? reference::Tolerance{1e-6, 1e-6} : exact);
  }
}

// ---- index_fill_

TEST_CASE("index_fill_ sets whole slices, negative indices from the end", "[advanced_index]") {
  const Tensor x = iota({3, 4});
  check_values(index_fill(x, 1, ints({-1}), 7), {3, 4}, {0, 1, 2, 7, 4, 5, 6, 7, 8, 9, 10, 7});  // torch
  check_values(index_fill(x, 1, scalar_tensor(2, int64), 7), {3, 4}, {0, 1, 7, 3, 4, 5, 7, 7, 8, 9, 7, 11});  // torch, 0-d
  check_values(index_fill(x, -2, ints({0, 0}), -1), {3, 4}, {-1, -1, -1, -1, 4, 5, 6, 7, 8, 9, 10, 11});
  Tensor y = iota({2, 3});
  index_fill_(y.t(), 0, ints({1}), 5);  // through a view into its base
  check_values(y, {2, 3}, {0, 5, 2, 3, 5, 5});
}

// ---- take_along_dim

TEST_CASE("take_along_dim gathers after broadcasting, or on the flattened tensor", "[advanced_index]") {
  const Tensor x = iota({3, 4});
  check_values(take_along_dim(x, ints({0, 11}, {1, 2})), {2}, {0, 11});  // torch
  check_values(take_along_dim(x.t(), ints({0, 11})), {2}, {0, 11});      // reshaped, not viewed
  check_values(take_along_dim(iota({2, 3, 1}), ints({0, 2}, {1, 2, 1}), 1), {2, 2, 1}, {0, 2, 3, 5});  // torch
  check_values(take_along_dim(x, ints({3, 0}, {1, 2}), -1), {3, 2}, {3, 0, 7, 4, 11, 8});
  // The typical use: the values at argmax.
  const Tensor scores = tensor({0.1, 0.7, 0.2, 0.5, 0.3, 0.2}, {2, 3});
  check_values(take_along_dim(scores, argmax(scores, 1, true), 1), {2, 1}, {0.7, 0.5});
}

TEST_CASE("take_along_dim agrees with a loop on random broadcasts", "[advanced_index][reference]") {
  reference::Rng rng(1323);
  for (int trial = 0; trial < 100; ++trial) {
    Shape shape = reference::random_shape(rng, 3, false, 4);
    if (shape.empty()) shape.push_back(3);
    const int64_t axis = rng.integer(0, shape.size() - 1);
    Shape index_shape;
    for (int64_t a = 0; a < shape.size(); ++a) {
      index_shape.push_back(a == axis ? rng.integer(0, 4) : (rng.chance(0.4) ? 1 : shape[a]));
    }
    Shape x_shape = shape;
    for (int64_t a = 0; a < shape.size(); ++a) {
      if (a != axis && index_shape[a] != 1 && rng.chance(0.3)) x_shape[a] = 1;
    }
    std::vector<int64_t> values(static_cast<size_t>(shape_numel(index_shape)));
    for (int64_t& v : values) v = rng.integer(0, x_shape[axis] - 1);
    const Tensor indices = from_vector(values, index_shape);
    const Tensor x = reference::random_tensor(x_shape, random_dtype(rng), random_layout(rng), rng, 0, 100);
    Shape out_shape;
    for (int64_t a = 0; a < shape.size(); ++a) out_shape.push_back(a == axis ? index_shape[a] : std::max(x_shape[a], index_shape[a]));
    INFO("trial " << trial << ": x " << to_string(x_shape) << ", indices " << to_string(index_shape) << ", axis " << axis);
    check_elements(take_along_dim(x, indices, axis), out_shape, [&](const Index& o) {
      Index i = reference::broadcast_index(o, index_shape);
      i[static_cast<size_t>(axis)] = o[static_cast<size_t>(axis)];
      Index at = reference::broadcast_index(o, x_shape);
      at[static_cast<size_t>(axis)] = static_cast<int64_t>(read(indices, i));
      return read(x, at);
    }, exact);
  }
}

// ---- errors, and the range check of every op that takes an index or a range

TEST_CASE("masked and advanced indexing refuse bad calls", "[advanced_index][errors]") {
  const Tensor x = iota({3, 4});
  CHECK_THROWS_WITH(masked_select(x, ones({2}, uint8)), Contains("masked_select") && Contains("[3, 4]") && Contains("[2]"));
  CHECK_THROWS_WITH(index(x, {ints({3})}), Contains("index: index 3 is out of range for axis 0 of size 3") &&
                                                Contains("-3 to 2"));
  CHECK_THROWS_WITH(index(x, {ints({0}), ints({-5})}), Contains("index -5 is out of range for axis 1 of size 4"));
  CHECK_THROWS_WITH(index(x, {ints({0}), ints({0}), ints({0})}), Contains("too many indices") && Contains("3 index tensors for 2 axes"));
  CHECK_THROWS_WITH(index(x, {tensor({1})}), Contains("index") && Contains("int64") && Contains("float32") && Contains("masked_select"));
  CHECK_THROWS_WITH(index(x, {}), Contains("index") && Contains("no index tensors"));
  CHECK_THROWS_WITH(index(x, {ints({0, 1}), ints({0, 1, 2})}), Contains("index") && Contains("[2]") && Contains("[3]"));
  Tensor y = x.clone();
  CHECK_THROWS_WITH(index_put_(y, {ints({0, 1})}, ones({3})), Contains("index_put_") && Contains("values of shape [3]") &&
                                                                  Contains("indexed shape [2, 4]"));
  CHECK_THROWS_WITH(index_put_(y, {ints({0})}, ones({4}, float64)), Contains("index_put_") && Contains("float64") &&
                                                                        Contains("float32") && Contains(".to(float32)"));
  CHECK_THROWS_WITH(index_put_(y, {ints({-4})}, ones({})), Contains("index_put_: index -4 is out of range for axis 0 of size 3"));
  CHECK_THROWS_WITH(index_put_(zeros({1}).expand({3}), {ints({0})}, ones({})), Contains("index_put_") && Contains("expanded"));
  CHECK(reference::elements(y) == reference::elements(x));  // nothing was written by the refused calls
  CHECK_THROWS_WITH(index_fill_(y, 1, ints({-5}), 0), Contains("index_fill_: index -5 is out of range for axis 1 of size 4"));
  CHECK_THROWS_WITH(index_fill_(y, 1, ints({4}), 0), Contains("index 4 is out of range"));
  CHECK_THROWS_WITH(index_fill_(y, 1, ints({0}, {1, 1}), 0), Contains("index_fill_") && Contains("1-d or 0-d") && Contains("[1, 1]"));
  CHECK_THROWS_WITH(index_fill_(y, 2, ints({0}), 0), Contains("index_fill_") && Contains("axis 2"));
  CHECK_THROWS_WITH(index_fill_(y, 0, tensor({0}), 0), Contains("index_fill_") && Contains("int64"));
  CHECK_THROWS_WITH(take_along_dim(x, ints({-1}, {1, 1}), 1),
                    Contains("take_along_dim: index -1 is out of range for axis 1 of size 4") && Contains("negative"));
  CHECK_THROWS_WITH(take_along_dim(x, ints({12})), Contains("take_along_dim: index 12 is out of range for axis 0 of size 12"));
  CHECK_THROWS_WITH(take_along_dim(x, ints({0}), 1), Contains("take_along_dim") && Contains("same number of axes"));
  CHECK_THROWS_WITH(take_along_dim(x, ints({0, 0}, {2, 1}), 1), Contains("take_along_dim") && Contains("[3, 1]") && Contains("[2, 1]"));
  CHECK_THROWS_WITH(take_along_dim(x, tensor({0}, {1, 1}), 1), Contains("take_along_dim") && Contains("int64"));
  CHECK_THROWS_WITH(take_along_dim(x, ints({0}, {1, 1}), -3), Contains("take_along_dim") && Contains("axis -3"));
}

TEST_CASE("every op that takes an index checks -size <= index < size", "[advanced_index][errors]") {
  // x has 3 rows: -3 .. 2 are valid row indices, -4 (= -size - 1) and 3 are not.
  const Tensor x = iota({3, 4});
  const Tensor base = zeros({3, 4});
  CHECK(x.select(0, -3).at({0}) == 0);
  CHECK_THROWS_WITH(x.select(0, -4), Contains("select") && Contains("-4"));
  CHECK_THROWS_WITH(x[-4], Contains("select") && Contains("-4"));
  CHECK_THROWS_WITH(x[3], Contains("select") && Contains("3"));
  CHECK(x.at({-3, -4}) == 0);
  CHECK_THROWS_WITH(x.at({-4, 0}), Contains("at: index -4 is out of range for axis 0 of size 3"));
  CHECK_THROWS_WITH(x.at({0, 4}), Contains("at: index 4"));
  CHECK(x.narrow(0, -3, 1).at({0, 0}) == 0);
  CHECK_THROWS_WITH(x.narrow(0, -4, 1), Contains("narrow") && Contains("-4"));
  // slice bounds clamp, as Python's and PyTorch's do (x[-4:] is all of x).
  CHECK(x.slice(0, -4, 3).size(0) == 3);
  CHECK(x.slice(0, 0, -4).size(0) == 0);
  // index_select, gather and scatter_add refuse negative indices, as PyTorch's do.
  CHECK_THROWS_WITH(index_select(x, 0, ints({-4})), Contains("index_select: index -4 is out of range") && Contains("negative"));
  CHECK_THROWS_WITH(index_select(x, 0, ints({-1})), Contains("index_select: index -1 is out of range"));
  CHECK_THROWS_WITH(gather(x, 0, ints({-4}, {1, 1})), Contains("gather: index -4 is out of range"));
  CHECK_THROWS_WITH(scatter_add(base, 0, ints({-4}, {1, 1}), ones({1, 1})), Contains("scatter_add: index -4 is out of range"));
  CHECK_THROWS_WITH(scatter_add(base, 0, ints({3}, {1, 1}), ones({1, 1})), Contains("scatter_add: index 3 is out of range"));
  // index, index_put_, index_fill_ wrap negative indices once, as PyTorch's do.
  CHECK(index(x, {ints({-3})}).at({0, 0}) == 0);
  CHECK_THROWS_WITH(index(x, {ints({-4})}), Contains("index: index -4"));
  Tensor y = x.clone();
  CHECK_THROWS_WITH(index_put_(y, {ints({-4})}, ones({})), Contains("index_put_: index -4"));
  CHECK_THROWS_WITH(index_fill_(y, 0, ints({-4}), 0), Contains("index_fill_: index -4"));
  CHECK_THROWS_WITH(take_along_dim(x, ints({-4}, {1, 1}), 0), Contains("take_along_dim: index -4"));
  // Axes too: -ndim - 1 is refused by every op that takes one.
  CHECK_THROWS_WITH(x.select(-3, 0), Contains("select") && Contains("axis -3"));
  CHECK_THROWS_WITH(index_select(x, -3, ints({0})), Contains("index_select") && Contains("axis -3"));
  CHECK_THROWS_WITH(flip(x, {-3}), Contains("flip") && Contains("axis -3"));
  CHECK_THROWS_WITH(roll(x, {1}, {-3}), Contains("roll") && Contains("axis -3"));
  CHECK_THROWS_WITH(split(x, 1, -3), Contains("split") && Contains("axis -3"));
  CHECK_THROWS_WITH(unbind(x, -3), Contains("unbind") && Contains("axis -3"));
}
