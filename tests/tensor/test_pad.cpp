// pad in every mode and its adjoint pad_backward (issue 13): values computed with PyTorch 1.13's
// torch.nn.functional.pad (marked "torch", pasted in), an index loop per mode on random shapes,
// dtypes and layouts, the adjoint identity <pad(x), y> = <x, pad_backward(y)>, and PyTorch's
// restrictions as clear errors.
#include <algorithm>
#include <cstdint>
#include <vector>

#include "reference.hpp"

using namespace nabla;
using namespace nabla::kernels;
using Catch::Contains;
using reference::check_elements;
using reference::check_values;
using reference::Index;
using reference::inner_product;
using reference::read;

namespace {

Tensor iota(const Shape& shape, double start = 0) {
  return arange(start, start + static_cast<double>(shape_numel(shape)), 1, float32).reshape(shape);
}

// Where output position o of an axis of extent n reads from, written from the definitions of the
// modes (kFill: the padding value). Circular padding crops first, then wraps what is left.
constexpr int64_t kFill = -1;
int64_t source_of(int64_t o, int64_t n, int64_t before, int64_t after, PadMode mode) {
  const int64_t j = o - before;
  switch (mode) {
    case PadMode::constant: return j >= 0 && j < n ? j : kFill;
    case PadMode::reflect: return j < 0 ? -j : (j >= n ? 2 * (n - 1) - j : j);
    case PadMode::replicate: return std::clamp<int64_t>(j, 0, n - 1);
    case PadMode::circular: {
      const int64_t first = std::max<int64_t>(-before, 0);
      const int64_t kept = n - first - std::max<int64_t>(-after, 0);
      const int64_t p = o - std::max<int64_t>(before, 0);
      return first + ((p % kept) + kept) % kept;
    }
  }
  return kFill;
}

// pad checked element by element against source_of on every axis.
void check_pad(const Tensor& x, const std::vector<int64_t>& pad, PadMode mode, double value) {
  const int64_t ndim = x.dim();
  Shape out_shape = x.shape();
  for (size_t pair = 0; 2 * pair < pad.size(); ++pair) {
    out_shape[ndim - 1 - static_cast<int64_t>(pair)] += pad[2 * pair] + pad[2 * pair + 1];
  }
  const Tensor result = kernels::pad(x, pad, mode, value);
  CHECK(result.dtype() == x.dtype());
  const double fill = read(full({}, value, x.dtype()), {});  // the value as the dtype holds it
  check_elements(result, out_shape, [&](const Index& o) {
    Index i = o;
    for (size_t pair = 0; 2 * pair < pad.size(); ++pair) {
      const size_t axis = static_cast<size_t>(ndim - 1) - pair;
      const int64_t source = source_of(o[axis], x.size(static_cast<int64_t>(axis)), pad[2 * pair], pad[2 * pair + 1], mode);
      if (source == kFill) return fill;
      i[axis] = source;
    }
    return read(x, i);
  }, {0, 0});
}

}  // namespace

TEST_CASE("pad: constant, reflect, replicate and circular on one axis match PyTorch", "[pad]") {
  const Tensor x = tensor({1, 2, 3}, {1, 1, 3});
  check_values(pad(x, {1, 2}), {1, 1, 6}, {0, 1, 2, 3, 0, 0});                                      // torch
  check_values(pad(x, {1, 2}, PadMode::constant, 2.5), {1, 1, 6}, {2.5, 1, 2, 3, 2.5, 2.5});
  check_values(pad(x, {1, 2}, PadMode::reflect), {1, 1, 6}, {2, 1, 2, 3, 2, 1});                     // torch
  check_values(pad(x, {1, 2}, PadMode::replicate), {1, 1, 6}, {1, 1, 2, 3, 3, 3});                   // torch
  check_values(pad(x, {1, 2}, PadMode::circular), {1, 1, 6}, {3, 1, 2, 3, 1, 2});                    // torch
  check_values(pad(x, {3, 0}, PadMode::circular), {1, 1, 6}, {1, 2, 3, 1, 2, 3});                    // torch
  check_values(pad(x, {7, 0}, PadMode::replicate), {1, 1, 10}, {1, 1, 1, 1, 1, 1, 1, 1, 2, 3});      // torch
  // Negative counts crop.
  check_values(pad(x, {-1, 2}), {1, 1, 4}, {2, 3, 0, 0});                                           // torch
  check_values(pad(x, {-1, 2}, PadMode::reflect), {1, 1, 4}, {2, 3, 2, 1});                         // torch
  check_values(pad(x, {-2, 2}, PadMode::reflect), {1, 1, 3}, {3, 2, 1});                            // torch
  check_values(pad(x, {-1, 2}, PadMode::replicate), {1, 1, 4}, {2, 3, 3, 3});                       // torch
  check_values(pad(x, {-1, 2}, PadMode::circular), {1, 1, 4}, {2, 3, 2, 3});                        // torch
  check_values(pad(x, {2, -1}, PadMode::circular), {1, 1, 4}, {1, 2, 1, 2});                        // torch
  check_values(pad(x, {-1, -1}, PadMode::circular), {1, 1, 1}, {2});                                // torch
  CHECK(pad(x, {-2, -1}).shape() == Shape{1, 1, 0});                                                // torch
  CHECK(pad(x, {-2, -1}, PadMode::circular).shape() == Shape{1, 1, 0});                             // torch
  // Unbatched inputs: [C, W].
  check_values(pad(tensor({1, 2, 3}, {1, 3}), {1, 1}, PadMode::reflect), {1, 5}, {2, 1, 2, 3, 2});   // torch
  check_values(pad(tensor({1, 2, 3}, {1, 3}), {1, 1}, PadMode::circular), {1, 5}, {3, 1, 2, 3, 1});
  // Constant padding takes any number of axes, any dtype, and converts the value.
  check_values(pad(tensor({1, 2, 3}, {3}, int64), {1, 1}), {5}, {0, 1, 2, 3, 0});
  check_values(pad(tensor({5}, {1}, uint8), {0, 2}, PadMode::constant, 7), {3}, {5, 7, 7});
  CHECK(pad(zeros({1, 1, 2, 2, 2}), {1, 1, 1, 1, 1, 1, 1, 1}).shape() == Shape{1, 3, 4, 4, 4});   // torch
}

TEST_CASE("pad: two padded axes match PyTorch", "[pad]") {
  const Tensor y = iota({1, 1, 3, 4}, 1);
  check_values(pad(y, {2, 1, 1, 2}, PadMode::circular), {1, 1, 6, 7},  // torch
               {11, 12, 9, 10, 11, 12, 9, 3, 4, 1, 2, 3, 4, 1, 7, 8, 5, 6, 7, 8, 5,
                11, 12, 9, 10, 11, 12, 9, 3, 4, 1, 2, 3, 4, 1, 7, 8, 5, 6, 7, 8, 5});
  check_values(pad(y, {1, -1, -1, 2}, PadMode::circular), {1, 1, 4, 4},  // torch
               {7, 5, 6, 7, 11, 9, 10, 11, 7, 5, 6, 7, 11, 9, 10, 11});
  check_values(pad(y, {2, 1, -1, 2}, PadMode::reflect), {1, 1, 4, 7},  // torch
               {7, 6, 5, 6, 7, 8, 7, 11, 10, 9, 10, 11, 12, 11, 7, 6, 5, 6, 7, 8, 7, 3, 2, 1, 2, 3, 4, 3});
  check_values(pad(y, {-1, -2, 2, -1}, PadMode::constant, 9), {1, 1, 4, 1}, {9, 9, 2, 6});  // torch
  check_values(pad(y.transpose(2, 3), {1, 1, 2, 0}, PadMode::reflect), {1, 1, 6, 5},  // torch
               {7, 3, 7, 11, 7, 6, 2, 6, 10, 6, 5, 1, 5, 9, 5, 6, 2, 6, 10, 6, 7, 3, 7, 11, 7, 8, 4, 8, 12, 8});
  const Tensor replicated = pad(y, {3, 0, 2, 2}, PadMode::replicate);  // torch: rows 0-2 copy row 0, ...
  check_values(replicated.select(2, 0), {1, 1, 7}, {1, 1, 1, 1, 2, 3, 4});
  check_values(replicated.select(2, 6), {1, 1, 7}, {9, 9, 9, 9, 10, 11, 12});
}

TEST_CASE("pad agrees with an index loop in every mode on random shapes and layouts", "[pad][reference]") {
  reference::Rng rng(1311);
  const PadMode modes[] = {PadMode::constant, PadMode::reflect, PadMode::replicate, PadMode::circular};
  const DType dtypes[] = {float32, float64, int64, uint8, int32, bool_};
  for (int trial = 0; trial < 200; ++trial) {
    const PadMode mode = modes[rng.integer(0, 3)];
    const int64_t padded = rng.integer(1, 3);
    Shape shape;
    const int64_t lead = mode == PadMode::constant ? rng.integer(0, 2) : rng.integer(1, 2);
    for (int64_t i = 0; i < lead; ++i) shape.push_back(rng.integer(1, 3));
    for (int64_t i = 0; i < padded; ++i) shape.push_back(rng.integer(1, 5));
    std::vector<int64_t> pad;
    for (int64_t i = 0; i < padded; ++i) {
      const int64_t n = shape[shape.size() - 1 - i];
      int64_t before = 0, after = 0;
      do {  // counts the mode accepts: PyTorch's limits (checked by the error test below)
        before = rng.integer(-n, mode == PadMode::reflect ? n - 1 : n);
        after = rng.integer(-n, mode == PadMode::reflect ? n - 1 : n);
      } while (n + before + after < (mode == PadMode::reflect || mode == PadMode::replicate ? 1 : 0) ||
               (mode == PadMode::circular &&
                std::max(before, after) > n - std::max<int64_t>(-before, 0) - std::max<int64_t>(-after, 0)));
      pad.push_back(before);
      pad.push_back(after);
    }
    const DType dtype = dtypes[rng.integer(0, 5)];
    const reference::Layout layout = reference::all_layouts[static_cast<size_t>(rng.integer(0, 5))];
    const Tensor x = reference::random_tensor(shape, dtype, layout, rng, 0, 100);
    const double value = mode == PadMode::constant ? std::floor(rng.uniform(0, 50)) : 0.0;
    INFO("trial " << trial << ": " << pad_mode_name(mode) << " pad of shape " << to_string(shape) << " by "
                  << to_string(Dims(pad)) << ", " << dtype_name(dtype) << " " << reference::layout_name(layout));
    check_pad(x, pad, mode, value);

    // The adjoint: <pad(x), y> = <x, pad_backward(y)> (with zero padding value).
    const Tensor a = reference::random_tensor(shape, float64, layout, rng);
    const Tensor padded_a = kernels::pad(a, pad, mode);
    const Tensor b = reference::random_tensor(padded_a.shape(), float64, reference::Layout::contiguous, rng);
    CHECK(inner_product(padded_a, b) == Approx(inner_product(a, pad_backward(b, shape, pad, mode))).margin(1e-12));
  }
}

TEST_CASE("pad_backward adds the copies of each element together", "[pad]") {
  // reflect (2, 1) of [1 2 3]: [3 2 1 2 3 2] reads x[2], x[1], x[0], x[1], x[2], x[1].
  check_values(pad_backward(tensor({1, 10, 100, 1000, 10000, 100000}, {1, 1, 6}), {1, 1, 3}, {2, 1}, PadMode::reflect),
               {1, 1, 3}, {100, 101010, 10001});
  check_values(pad_backward(ones({1, 1, 6}), {1, 1, 3}, {2, 1}, PadMode::replicate), {1, 1, 3}, {3, 1, 2});
  check_values(pad_backward(iota({1, 1, 5}), {1, 1, 3}, {1, 1}, PadMode::circular), {1, 1, 3}, {1 + 4, 2, 3});
  check_values(pad_backward(iota({4}), {3}, {-1, 2}, PadMode::constant), {3}, {0, 0, 1});  // constant: the crop's adjoint
}

TEST_CASE("pad refuses what PyTorch refuses, with the fix", "[pad][errors]") {
  const Tensor x = zeros({1, 1, 3});
  CHECK_THROWS_WITH(pad(x, {1}), Contains("pad") && Contains("odd number") && Contains("[1]"));
  CHECK_THROWS_WITH(pad(x, {1, 1, 1, 1, 1, 1, 1, 1}), Contains("pad") && Contains("pads 4 axes") && Contains("[1, 1, 3]"));
  CHECK_THROWS_WITH(pad(x, {3, 0}, PadMode::reflect),
                    Contains("reflect padding must be smaller than the padded axis") && Contains("(3, 0)") &&
                        Contains("axis 2 of size 3") && Contains("replicate or circular"));
  CHECK_THROWS_WITH(pad(x, {0, 3}, PadMode::reflect), Contains("smaller than the padded axis"));
  CHECK_THROWS_WITH(pad(x, {-2, -1}, PadMode::reflect), Contains("leaves 0 elements") && Contains("at least 1"));
  CHECK_THROWS_WITH(pad(x, {-2, -1}, PadMode::replicate), Contains("leaves 0 elements"));
  CHECK_THROWS_WITH(pad(x, {-2, -2}), Contains("leaves -1 elements"));
  CHECK_THROWS_WITH(pad(x, {-4, 2}), Contains("crops more elements than axis 2") && Contains("(3)"));
  CHECK_THROWS_WITH(pad(x, {4, 0}, PadMode::circular), Contains("circular padding wraps around at most once") && Contains("(4, 0)"));
  CHECK_THROWS_WITH(pad(x, {-2, 2}, PadMode::circular), Contains("crops it to 1 elements first"));
  CHECK_THROWS_WITH(pad(x, {1, 1}, PadMode::reflect, 2.0), Contains("reflect padding takes no value") && Contains("2"));
  CHECK_THROWS_WITH(pad(zeros({3}), {1, 1}, PadMode::reflect), Contains("reflect padding takes 2, 4 or 6") && Contains("[3]"));
  CHECK_THROWS_WITH(pad(zeros({1, 1, 1, 3}), {1, 1}, PadMode::replicate), Contains("replicate padding takes 2, 4 or 6"));
  CHECK_THROWS_WITH(pad(zeros({1, 1, 1, 1, 2}), {1, 1, 1, 1, 1, 1, 1, 1}, PadMode::circular), Contains("circular padding takes"));
  CHECK_THROWS_WITH(pad(zeros({1, 1, 0}), {1, 1}, PadMode::replicate), Contains("no edge element") && Contains("empty"));
  CHECK_THROWS_WITH(pad(Tensor(), {1, 1}), Contains("pad") && Contains("undefined"));
  CHECK_THROWS_WITH(pad_backward(zeros({1, 1, 4}), {1, 1, 3}, {1, 1}, PadMode::reflect),
                    Contains("pad_backward") && Contains("[1, 1, 4]") && Contains("[1, 1, 5]"));
}

TEST_CASE("pad, flip, roll and repeat split large outputs across threads correctly", "[pad][threads]") {
  // Big enough that the rows are cut into several chunks, which start in the middle of a plane.
  reference::Rng rng(1312);
  const Tensor x = reference::random_tensor({3, 37, 41, 5}, float64, reference::Layout::transposed, rng);
  const int saved = get_num_threads();
  for (int threads : {1, 2, 3}) {
    set_num_threads(threads);
    INFO(threads << " threads");
    check_pad(x, {2, 1, -3, 4}, PadMode::reflect, 0.0);
    check_pad(x, {1, 3, 2, 0, 1, 1}, PadMode::constant, 1.5);
    check_pad(x, {4, 0, 1, 2, 0, 3}, PadMode::circular, 0.0);
    check_elements(flip(x, {1, 3}), x.shape(), [&](const Index& o) {
      return read(x, {o[0], 36 - o[1], o[2], 4 - o[3]});
    }, {0, 0});
    check_elements(repeat(x, {1, 2, 1, 3}), {3, 74, 41, 15}, [&](const Index& o) {
      return read(x, {o[0], o[1] % 37, o[2], o[3] % 5});
    }, {0, 0});
    // The adjoint, whose rows are split only along axes no two rows write alike.
    const Tensor padded = kernels::pad(x, {2, 2, 3, 1}, PadMode::replicate);
    const Tensor y = reference::random_tensor(padded.shape(), float64, reference::Layout::contiguous, rng);
    CHECK(inner_product(padded, y) ==
          Approx(inner_product(x, pad_backward(y, x.shape(), {2, 2, 3, 1}, PadMode::replicate))).epsilon(1e-12));
  }
  set_num_threads(saved);
}
