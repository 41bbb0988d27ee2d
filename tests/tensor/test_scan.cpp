// Scans (cumsum, cumprod, reverse_cumsum) and cumprod's gradient kernel: known values, dtypes,
// float32 accuracy, and every scan against a naive running loop on random shapes, axes and
// layouts, including the multi-threaded and row-interleaved paths.
#include <cmath>
#include <cstdint>
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

// The running sum or product of x along axis, read element by element; reverse runs from the end.
double running(const Tensor& x, int64_t axis, const Index& at, bool product, bool reverse) {
  Index index = at;
  long double acc = product ? 1 : 0;
  const int64_t end = at[static_cast<size_t>(axis)];
  const int64_t n = x.size(axis);
  for (int64_t r = reverse ? n - 1 : 0; reverse ? r >= end : r <= end; r += reverse ? -1 : 1) {
    index[static_cast<size_t>(axis)] = r;
    const long double v = read(x, index);
    acc = product ? acc * v : acc + v;
  }
  return static_cast<double>(acc);
}

Layout random_layout(reference::Rng& rng) {
  return reference::all_layouts[static_cast<size_t>(rng.integer(0, static_cast<int64_t>(reference::all_layouts.size()) - 1))];
}

}  // namespace

TEST_CASE("cumsum and cumprod: known values along each axis", "[scan]") {
  const Tensor x = tensor({3, 1, 2, 5, 4, 1}, {2, 3}, float64);
  check_values(cumsum(x, 1), {2, 3}, {3, 4, 6, 5, 9, 10});
  check_values(cumsum(x, 0), {2, 3}, {3, 1, 2, 8, 5, 3});
  check_values(cumsum(x, -1), {2, 3}, {3, 4, 6, 5, 9, 10});
  check_values(cumprod(x, 1), {2, 3}, {3, 3, 6, 5, 20, 20});
  check_values(cumprod(x, -2), {2, 3}, {3, 1, 2, 15, 4, 2});
  check_values(reverse_cumsum(x, 1), {2, 3}, {6, 3, 2, 10, 5, 1});
  check_values(reverse_cumsum(x, 0), {2, 3}, {8, 5, 3, 5, 4, 1});
  check_values(cumsum(x.t(), 1), {3, 2}, {3, 8, 1, 5, 2, 3});
  check_values(cumprod(tensor({2, 0, 3, 4}, {4}), 0), {4}, {2, 0, 0, 0});
  // 0-d tensors scan along axis 0 (or -1); empty tensors stay empty.
  check_values(cumsum(scalar_tensor(3), 0), {}, {3});
  check_values(cumprod(scalar_tensor(3), -1), {}, {3});
  CHECK(cumsum(zeros({2, 0}), 1).shape() == Shape{2, 0});
  CHECK(cumsum(zeros({0, 3}), 1).shape() == Shape{0, 3});
}

TEST_CASE("scans of integers run in int64, floats keep their dtype", "[scan][dtype]") {
  const Tensor bytes = tensor({200, 200, 200}, {3}, uint8);
  CHECK(cumsum(bytes, 0).dtype() == int64);
  CHECK(cumsum(bytes, 0).to_vector<int64_t>() == std::vector<int64_t>{200, 400, 600});
  CHECK(cumprod(bytes, 0).to_vector<int64_t>() == std::vector<int64_t>{200, 40000, 8000000});
  CHECK(cumsum(arange(int64_t{5}), 0).to_vector<int64_t>() == std::vector<int64_t>{0, 1, 3, 6, 10});
  CHECK(cumsum(ones({3}, float32), 0).dtype() == float32);
  CHECK(cumprod(ones({3}, float64), 0).dtype() == float64);
  // float32 accumulates in double: 0.1f added a million times stays within float32 rounding.
  const double tenth = static_cast<double>(0.1f);
  CHECK(cumsum(full({1000000}, 0.1), 0).at<double>({999999}) == Approx(1e6 * tenth).epsilon(1e-6));
  CHECK(cumsum(full({16, 100000}, 0.1), 1).at<double>({15, 99999}) == Approx(1e5 * tenth).epsilon(1e-6));
}

TEST_CASE("scans match a naive running loop on random shapes, axes and layouts", "[scan][reference]") {
  reference::Rng rng(1600);
  for (int trial = 0; trial < 150; ++trial) {
    const DType dtype = std::vector<DType>{float32, float64, int64, uint8, int32, bool_}[static_cast<size_t>(trial % 6)];
    Shape shape = reference::random_shape(rng, 4, true);
    if (shape.empty()) shape.push_back(rng.integer(1, 5));
    const int64_t axis = rng.integer(0, shape.size() - 1);
    // Sometimes enough lines for the interleaved (eight at a time) path and its remainder.
    if (rng.chance(0.3)) shape[0] = rng.integer(8, 21);
    const int64_t written_axis = rng.chance(0.5) ? axis - shape.size() : axis;
    const Layout layout = random_layout(rng);
    // Products of values near 1 stay in range; integers small enough not to wrap.
    const Tensor x = reference::random_tensor(shape, dtype, layout, rng, dtype == uint8 ? 0 : -1.5, 2.5,
                                              !is_floating(dtype));
    INFO("trial " << trial << ": " << to_string(shape) << " " << dtype_name(dtype) << " "
                  << reference::layout_name(layout) << ", axis " << written_axis);
    const reference::Tolerance tolerance = is_floating(dtype) ? reference::reduction_tolerance(dtype) : reference::Tolerance{0, 0};
    const DType result_dtype = is_floating(dtype) ? dtype : int64;
    const Tensor sums = cumsum(x, written_axis);
    const Tensor products = cumprod(x, written_axis);
    const Tensor tails = reverse_cumsum(x, written_axis);
    CHECK(sums.dtype() == result_dtype);
    CHECK(products.dtype() == result_dtype);
    check_elements(sums, shape, [&](const Index& at) { return running(x, axis, at, false, false); }, tolerance);
    check_elements(products, shape, [&](const Index& at) { return running(x, axis, at, true, false); }, tolerance);
    check_elements(tails, shape, [&](const Index& at) { return running(x, axis, at, false, true); }, tolerance);
  }
}

TEST_CASE("large scans (the multi-threaded paths) match a naive running loop", "[scan][reference][threads]") {
  reference::Rng rng(1700);
  // [outer, n, inner] views of contiguous data: the running sum of line (o, i) in a double loop.
  for (const Shape& shape : {Shape{64, 1000, 1}, Shape{1, 1000, 64}, Shape{3, 5000, 4}, Shape{1, 200000, 1}}) {
    const Tensor x = reference::random_tensor(shape, float32, Layout::contiguous, rng, -1, 1);
    const std::vector<float> values = x.to_vector<float>();
    const std::vector<float> sums = cumsum(x, 1).to_vector<float>();
    const int64_t n = shape[1], inner = shape[2];
    int64_t mismatches = 0;
    for (int64_t o = 0; o < shape[0]; ++o) {
      for (int64_t i = 0; i < inner; ++i) {
        double total = 0;
        for (int64_t r = 0; r < n; ++r) {
          const size_t at = static_cast<size_t>((o * n + r) * inner + i);
          total += values[at];
          mismatches += reference::close(sums[at], total, 1e-5, 1e-4) ? 0 : 1;
        }
      }
    }
    INFO(to_string(shape));
    CHECK(mismatches == 0);
  }
}

TEST_CASE("cumprod_backward is exact with zeros and matches the naive sum of partial products", "[scan][reference]") {
  reference::Rng rng(1800);
  for (int trial = 0; trial < 60; ++trial) {
    const DType dtype = trial % 2 ? float32 : float64;
    Shape shape = reference::random_shape(rng, 3);
    if (shape.empty()) shape.push_back(rng.integer(1, 6));
    const int64_t axis = rng.integer(0, shape.size() - 1);
    Tensor input = reference::random_tensor(shape, dtype, Layout::contiguous, rng, -2, 2);
    // Zeros: none, one or several per line.
    reference::for_each_index(shape, [&](const Index& at) {
      if (rng.chance(0.25)) reference::write(input, at, 0.0);
    });
    const Tensor grad = reference::random_tensor(shape, dtype, random_layout(rng), rng, -1, 1);
    INFO("trial " << trial << ": " << to_string(shape) << " " << dtype_name(dtype) << ", axis " << axis);
    // grad_input[j] = sum over k >= j of grad[k] * prod over i <= k, i != j of input[i].
    check_elements(
        cumprod_backward(grad, input, axis), shape,
        [&](const Index& at) {
          const int64_t j = at[static_cast<size_t>(axis)];
          long double total = 0;
          Index index = at;
          for (int64_t k = j; k < shape[axis]; ++k) {
            long double partial = 1;
            for (int64_t i = 0; i <= k; ++i) {
              if (i == j) continue;
              index[static_cast<size_t>(axis)] = i;
              partial *= read(input, index);
            }
            index[static_cast<size_t>(axis)] = k;
            total += read(grad, index) * partial;
          }
          return static_cast<double>(total);
        },
        reference::reduction_tolerance(dtype));
  }
}

TEST_CASE("scan errors name the op and the axis", "[scan][errors]") {
  const Tensor x = zeros({2, 3});
  CHECK_THROWS_WITH(cumsum(x, 2), Contains("cumsum") && Contains("2"));
  CHECK_THROWS_WITH(cumprod(x, -3), Contains("cumprod") && Contains("-3"));
  CHECK_THROWS_WITH(cumsum(scalar_tensor(1), 1), Contains("cumsum"));
  CHECK_THROWS_WITH(cumsum(Tensor(), 0), Contains("cumsum") && Contains("undefined"));
  CHECK_THROWS_WITH(cumprod_backward(zeros({3, 2}), x, 0), Contains("cumprod_backward") && Contains("[3, 2]"));
  CHECK_THROWS_WITH(cumprod_backward(zeros({2, 3}, int64), zeros({2, 3}, int64), 0), Contains("cumprod_backward") && Contains("float"));
}
