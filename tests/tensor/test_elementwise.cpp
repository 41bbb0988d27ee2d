// Element-wise ops: known values, type promotion, special values, errors, and every op compared
// with a naive loop on random shapes and layouts (non-contiguous, broadcast on both sides,
// size-1 and empty axes) in float32 and float64.
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <string>
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

const double kInf = std::numeric_limits<double>::infinity();
const double kNaN = std::numeric_limits<double>::quiet_NaN();

Layout random_layout(reference::Rng& rng) {
  return reference::all_layouts[static_cast<size_t>(
      rng.integer(0, static_cast<int64_t>(reference::all_layouts.size()) - 1))];
}

struct BinaryCase {
  std::string name;
  std::function<Tensor(const Tensor&, const Tensor&)> op;
  std::function<double(double, double)> ref;
  double a_low, a_high, b_low, b_high;
  bool integral = false;  // draw integer values (so comparisons and max/min see ties)
};

struct UnaryCase {
  std::string name;
  std::function<Tensor(const Tensor&)> op;
  std::function<double(double)> ref;
  double low, high;
  bool integral = false;
};

// Runs `trials` random broadcasts of one binary op with random layouts on both operands.
void check_binary_random(const BinaryCase& c, DType a_dtype, DType b_dtype, DType result_dtype,
                         int trials, uint64_t seed) {
  reference::Rng rng(seed);
  for (int trial = 0; trial < trials; ++trial) {
    const Shape out_shape = reference::random_shape(rng, 4, /*allow_empty=*/true);
    const Shape a_shape = reference::broadcastable_from(out_shape, rng);
    const Shape b_shape = reference::broadcastable_from(out_shape, rng);
    const Layout a_layout = random_layout(rng);
    const Layout b_layout = random_layout(rng);
    const Tensor a = reference::random_tensor(a_shape, a_dtype, a_layout, rng, c.a_low, c.a_high, c.integral);
    const Tensor b = reference::random_tensor(b_shape, b_dtype, b_layout, rng, c.b_low, c.b_high, c.integral);
    INFO(c.name << " trial " << trial << ": a " << to_string(a_shape) << " " << dtype_name(a_dtype) << " "
                << reference::layout_name(a_layout) << ", b " << to_string(b_shape) << " "
                << dtype_name(b_dtype) << " " << reference::layout_name(b_layout));
    const Tensor result = c.op(a, b);
    CHECK(result.dtype() == result_dtype);
    check_elements(
        result, reference::broadcast_shape(a_shape, b_shape),
        [&](const Index& i) {
          return c.ref(read(a, reference::broadcast_index(i, a_shape)),
                       read(b, reference::broadcast_index(i, b_shape)));
        },
        reference::elementwise_tolerance(result_dtype == float64 ? float64 : float32));
  }
}

void check_unary_random(const UnaryCase& c, DType dtype, int trials, uint64_t seed) {
  reference::Rng rng(seed);
  for (int trial = 0; trial < trials; ++trial) {
    const Shape shape = reference::random_shape(rng, 4, /*allow_empty=*/true);
    const Layout layout = random_layout(rng);
    const Tensor x = reference::random_tensor(shape, dtype, layout, rng, c.low, c.high, c.integral);
    INFO(c.name << " trial " << trial << ": " << to_string(shape) << " " << dtype_name(dtype) << " "
                << reference::layout_name(layout));
    const Tensor result = c.op(x);
    CHECK(result.dtype() == dtype);
    check_elements(
        result, shape, [&](const Index& i) { return c.ref(read(x, i)); },
        reference::elementwise_tolerance(dtype));
  }
}

double ref_sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }

}  // namespace

// ---- broadcasting rules

TEST_CASE("broadcast_shapes follows NumPy", "[elementwise][broadcast]") {
  CHECK(broadcast_shapes({2, 1, 4}, {3, 1}) == Shape{2, 3, 4});
  CHECK(broadcast_shapes({}, {2}) == Shape{2});
  CHECK(broadcast_shapes({}, {}) == Shape{});
  CHECK(broadcast_shapes({5, 4}, {1}) == Shape{5, 4});
  CHECK(broadcast_shapes({1, 3}, {4, 1}) == Shape{4, 3});
  CHECK(broadcast_shapes({0, 3}, {1, 3}) == Shape{0, 3});
  CHECK(broadcast_shapes({0}, {1}) == Shape{0});
  CHECK(broadcast_shapes({8, 1, 6, 1}, {7, 1, 5}) == Shape{8, 7, 6, 5});
}

TEST_CASE("broadcast_shapes names the op and both shapes when they cannot broadcast",
          "[elementwise][broadcast][errors]") {
  CHECK_THROWS_AS(broadcast_shapes({2, 3}, {4}), Error);
  CHECK_THROWS_WITH(broadcast_shapes({2, 3}, {4}, "frobnicate"),
                    Contains("frobnicate") && Contains("[2, 3]") && Contains("[4]"));
  CHECK_THROWS_AS(broadcast_shapes({0}, {2}), Error);
}

// ---- known values

TEST_CASE("binary arithmetic: known values with broadcasting", "[elementwise]") {
  const Tensor a = tensor({1, 2, 3, 4, 5, 6}, {2, 3});
  const Tensor row = tensor({10, 20, 30}, {3});
  const Tensor column = tensor({2, 4}, {2, 1});
  check_values(add(a, row), {2, 3}, {11, 22, 33, 14, 25, 36});
  check_values(sub(a, row), {2, 3}, {-9, -18, -27, -6, -15, -24});
  check_values(mul(a, column), {2, 3}, {2, 4, 6, 16, 20, 24});
  check_values(div(a, column), {2, 3}, {0.5, 1, 1.5, 1, 1.25, 1.5});
  check_values(pow(a, column), {2, 3}, {1, 4, 9, 256, 625, 1296});
  check_values(maximum(a, tensor({3}, {1})), {2, 3}, {3, 3, 3, 4, 5, 6});
  check_values(minimum(a, tensor({3}, {1})), {2, 3}, {1, 2, 3, 3, 3, 3});
  // Both sides broadcast: [2, 1] with [3] gives [2, 3].
  check_values(add(column, row), {2, 3}, {12, 22, 32, 14, 24, 34});
  check_values(sub(row, column), {2, 3}, {8, 18, 28, 6, 16, 26});
  // Operators are the same functions.
  check_values(a + row, {2, 3}, {11, 22, 33, 14, 25, 36});
  check_values(a - row, {2, 3}, {-9, -18, -27, -6, -15, -24});
  check_values(a * column, {2, 3}, {2, 4, 6, 16, 20, 24});
  check_values(a / column, {2, 3}, {0.5, 1, 1.5, 1, 1.25, 1.5});
  check_values(-a, {2, 3}, {-1, -2, -3, -4, -5, -6});
}

TEST_CASE("scalar operands on either side", "[elementwise]") {
  const Tensor t = tensor({1, 2, 4}, {3});
  check_values(add(t, 1.5), {3}, {2.5, 3.5, 5.5});
  check_values(t + 1.5, {3}, {2.5, 3.5, 5.5});
  check_values(1.5 + t, {3}, {2.5, 3.5, 5.5});
  check_values(sub(t, 1), {3}, {0, 1, 3});
  check_values(t - 1, {3}, {0, 1, 3});
  check_values(sub(10, t), {3}, {9, 8, 6});
  check_values(10 - t, {3}, {9, 8, 6});
  check_values(mul(t, -2), {3}, {-2, -4, -8});
  check_values(t * -2, {3}, {-2, -4, -8});
  check_values(-2 * t, {3}, {-2, -4, -8});
  check_values(div(t, 4), {3}, {0.25, 0.5, 1});
  check_values(t / 4, {3}, {0.25, 0.5, 1});
  check_values(div(8, t), {3}, {8, 4, 2});
  check_values(8 / t, {3}, {8, 4, 2});
  check_values(pow(t, 2), {3}, {1, 4, 16});
  check_values(pow(t, 0.5), {3}, {1, std::sqrt(2.0), 2});
  check_values(pow(t, -1), {3}, {1, 0.5, 0.25});
  check_values(pow(t, 3), {3}, {1, 8, 64});
  check_values(pow(t, 1), {3}, {1, 2, 4});
  check_values(pow(t, 0), {3}, {1, 1, 1});
  check_values(pow(t, 1.5), {3}, {1, std::pow(2.0, 1.5), 8});
  check_values(maximum(t, 2), {3}, {2, 2, 4});
  check_values(minimum(t, 2), {3}, {1, 2, 2});
  // A scalar op never aliases its input.
  CHECK_FALSE(pow(t, 1).shares_storage(t));
  // 0-d tensors broadcast like scalars.
  check_values(add(scalar_tensor(2), t), {3}, {3, 4, 6});
  check_values(mul(t, scalar_tensor(3)), {3}, {3, 6, 12});
  CHECK(add(scalar_tensor(2), scalar_tensor(3)).dim() == 0);
  CHECK(add(scalar_tensor(2), scalar_tensor(3)).item() == 5);
}

TEST_CASE("unary ops: known values", "[elementwise]") {
  const Tensor x = tensor({-2, -0.5, 0, 0.5, 3}, {5}, float64);
  check_values(neg(x), {5}, {2, 0.5, 0, -0.5, -3});
  check_values(abs(x), {5}, {2, 0.5, 0, 0.5, 3});
  check_values(sign(x), {5}, {-1, -1, 0, 1, 1});
  check_values(relu(x), {5}, {0, 0, 0, 0.5, 3});
  check_values(clamp(x, -1, 1), {5}, {-1, -0.5, 0, 0.5, 1});
  check_values(clamp(x, 0, 0), {5}, {0, 0, 0, 0, 0});
  check_values(exp(x), {5}, {std::exp(-2.0), std::exp(-0.5), 1, std::exp(0.5), std::exp(3.0)}, 1e-12);
  check_values(tanh(x), {5}, {std::tanh(-2.0), std::tanh(-0.5), 0, std::tanh(0.5), std::tanh(3.0)}, 1e-12);
  check_values(sigmoid(x), {5}, {ref_sigmoid(-2), ref_sigmoid(-0.5), 0.5, ref_sigmoid(0.5), ref_sigmoid(3)}, 1e-12);
  const Tensor positive = tensor({0.25, 1, 4, 9}, {4}, float64);
  check_values(sqrt(positive), {4}, {0.5, 1, 2, 3});
  check_values(log(positive), {4}, {std::log(0.25), 0, std::log(4.0), std::log(9.0)}, 1e-12);
  for (const Tensor& out : {neg(x), exp(x), log(positive), sqrt(positive), abs(x), sign(x), tanh(x),
                            sigmoid(x), relu(x), clamp(x, 0, 1)}) {
    CHECK(out.dtype() == float64);
    CHECK_FALSE(out.shares_storage(x));
  }
}

TEST_CASE("unary ops: special values", "[elementwise]") {
  for (DType dtype : {float32, float64}) {
    INFO(dtype_name(dtype));
    check_values(exp(tensor({1000, -1000, kInf, -kInf, 88, -87}, {6}, dtype)), {6},
                 {kInf, 0, kInf, 0, std::exp(88.0), std::exp(-87.0)}, 1e-6);
    CHECK(std::isnan(exp(tensor({kNaN}, {1}, dtype)).item()));
    check_values(log(tensor({0}, {1}, dtype)), {1}, {-kInf});
    CHECK(std::isnan(log(tensor({-1}, {1}, dtype)).item()));
    CHECK(std::isnan(sqrt(tensor({-1}, {1}, dtype)).item()));
    // sigmoid is stable at both ends: no overflow, no NaN.
    check_values(sigmoid(tensor({-1000, 1000, -80}, {3}, dtype)), {3}, {0, 1, ref_sigmoid(-80)}, 1e-30);
    check_values(tanh(tensor({-1000, 1000}, {2}, dtype)), {2}, {-1, 1});
    check_values(relu(tensor({-kInf, kInf}, {2}, dtype)), {2}, {0, kInf});
    // As PyTorch's (torch.relu): NaN stays NaN and -0.0 stays -0.0; the gradient passes where the
    // output is NaN (threshold_backward zeroes only output <= 0).
    const Tensor odd = relu(tensor({kNaN, -0.0}, {2}, dtype));
    CHECK(std::isnan(odd.to(float64).to_vector<double>()[0]));
    CHECK(std::signbit(odd.to(float64).to_vector<double>()[1]));
    check_values(relu_backward(tensor({2, 3, 4}, {3}, dtype), tensor({kNaN, 0, 1}, {3}, dtype)), {3}, {2, 0, 4});
    check_values(clamp(tensor({-kInf, kInf}, {2}, dtype), -1, 1), {2}, {-1, 1});
    check_values(abs(tensor({-kInf}, {1}, dtype)), {1}, {kInf});
    check_values(div(tensor({1, -1}, {2}, dtype), 0.0), {2}, {kInf, -kInf});
  }
}

TEST_CASE("integer tensors: exact arithmetic, float results for float ops", "[elementwise][dtype]") {
  const Tensor a = tensor({7, -3, 5}, {3}, int64);
  const Tensor b = tensor({2, 2, -5}, {3}, int64);
  CHECK(add(a, b).dtype() == int64);
  CHECK(add(a, b).to_vector<int64_t>() == std::vector<int64_t>{9, -1, 0});
  CHECK(sub(a, b).to_vector<int64_t>() == std::vector<int64_t>{5, -5, 10});
  CHECK(mul(a, b).to_vector<int64_t>() == std::vector<int64_t>{14, -6, -25});
  CHECK(maximum(a, b).to_vector<int64_t>() == std::vector<int64_t>{7, 2, 5});
  CHECK(minimum(a, b).to_vector<int64_t>() == std::vector<int64_t>{2, -3, -5});
  CHECK(neg(a).to_vector<int64_t>() == std::vector<int64_t>{-7, 3, -5});
  CHECK(abs(a).to_vector<int64_t>() == std::vector<int64_t>{7, 3, 5});
  CHECK(abs(a).dtype() == int64);
  CHECK(relu(a).to_vector<int64_t>() == std::vector<int64_t>{7, 0, 5});
  CHECK(clamp(a, -1, 6).to_vector<int64_t>() == std::vector<int64_t>{6, -1, 5});
  // Large int64 values survive (no round trip through double).
  const Tensor big = from_vector(std::vector<int64_t>{(1LL << 53) + 1});
  CHECK(add(big, from_vector(std::vector<int64_t>{1})).data<int64_t>()[0] == (1LL << 53) + 2);
  // True division and transcendental ops give a float result.
  const Tensor q = div(a, b);
  CHECK(is_floating(q.dtype()));
  check_values(q, {3}, {3.5, -1.5, -1});
  CHECK(is_floating(exp(a).dtype()));
  check_values(sqrt(tensor({4, 9}, {2}, int64)), {2}, {2, 3});
  const Tensor bytes = tensor({250, 10}, {2}, uint8);
  CHECK(add(bytes, bytes).dtype() == uint8);
  CHECK(add(bytes, tensor({3, 4}, {2}, uint8)).to_vector<uint8_t>() == std::vector<uint8_t>{253, 14});
}

TEST_CASE("type promotion of tensor operands", "[elementwise][dtype]") {
  const Tensor i = tensor({1, 2}, {2}, int64);
  const Tensor f = tensor({0.5, 0.25}, {2}, float32);
  const Tensor d = tensor({0.125, 4}, {2}, float64);
  const Tensor u = tensor({3, 4}, {2}, uint8);
  CHECK(add(i, f).dtype() == float32);
  CHECK(add(f, i).dtype() == float32);
  check_values(add(i, f), {2}, {1.5, 2.25});
  CHECK(mul(f, d).dtype() == float64);
  CHECK(mul(d, f).dtype() == float64);
  check_values(mul(f, d), {2}, {0.0625, 1});
  CHECK(sub(u, i).dtype() == int64);
  check_values(sub(i, u), {2}, {-2, -2});  // no uint8 wrap-around: computed in int64
  CHECK(add(u, f).dtype() == float32);
  CHECK(add(i, d).dtype() == float64);
  CHECK(maximum(i, f).dtype() == float32);
  CHECK(pow(f, d).dtype() == float64);
  CHECK(div(d, i).dtype() == float64);
}

TEST_CASE("type promotion with scalar operands", "[elementwise][dtype]") {
  const Tensor i = tensor({1, 2}, {2}, int64);
  CHECK(add(i, 2.0).dtype() == int64);           // an integral scalar keeps the integer dtype
  CHECK(add(i, 2.0).to_vector<int64_t>() == std::vector<int64_t>{3, 4});
  CHECK(add(i, 2.5).dtype() == float32);         // a fractional one makes it float32
  check_values(add(i, 2.5), {2}, {3.5, 4.5});
  CHECK(mul(i, 0.5).dtype() == float32);
  check_values(mul(i, 0.5), {2}, {0.5, 1});
  check_values(sub(0.5, i), {2}, {-0.5, -1.5});
  CHECK(mul(tensor({1, 2}, {2}, float64), 3.0).dtype() == float64);
  CHECK(add(tensor({1}, {1}, float32), 1e-3).dtype() == float32);
  CHECK(add(tensor({1}, {1}, uint8), 1.0).dtype() == uint8);
  CHECK(add(tensor({1}, {1}, uint8), 0.5).dtype() == float32);
  CHECK(lt(i, 1.5).dtype() == bool_);
  CHECK(lt(i, 1.5).to_vector<bool>() == std::vector<bool>{true, false});
}

TEST_CASE("comparisons give bool masks", "[elementwise][compare]") {
  const Tensor a = tensor({1, 2, 3}, {3});
  const Tensor b = tensor({3, 2, 1}, {3});
  auto mask = [](const Tensor& t) {
    CHECK(t.dtype() == bool_);
    return t.to_vector<uint8_t>();  // as 0/1 bytes, compared below with literal lists
  };
  using Mask = std::vector<uint8_t>;
  CHECK(mask(eq(a, b)) == Mask{0, 1, 0});
  CHECK(mask(ne(a, b)) == Mask{1, 0, 1});
  CHECK(mask(lt(a, b)) == Mask{1, 0, 0});
  CHECK(mask(le(a, b)) == Mask{1, 1, 0});
  CHECK(mask(gt(a, b)) == Mask{0, 0, 1});
  CHECK(mask(ge(a, b)) == Mask{0, 1, 1});
  CHECK(mask(eq(a, 2)) == Mask{0, 1, 0});
  CHECK(mask(ne(a, 2)) == Mask{1, 0, 1});
  CHECK(mask(lt(a, 2)) == Mask{1, 0, 0});
  CHECK(mask(le(a, 2)) == Mask{1, 1, 0});
  CHECK(mask(gt(a, 2)) == Mask{0, 0, 1});
  CHECK(mask(ge(a, 2)) == Mask{0, 1, 1});
  // Broadcast comparisons and mixed dtypes.
  const Tensor grid = gt(tensor({1, 2, 3}, {3, 1}, int64), tensor({1.5, 2.5}, {2}, float64));
  CHECK(grid.shape() == Shape{3, 2});
  CHECK(mask(grid) == Mask{0, 0, 1, 0, 1, 1});
  // NaN compares unequal to everything, itself included.
  const Tensor nan = tensor({std::nan("")}, {1});
  CHECK(mask(eq(nan, nan)) == Mask{0});
  CHECK(mask(ne(nan, nan)) == Mask{1});
  CHECK(mask(lt(nan, 0.0)) == Mask{0});
}

TEST_CASE("where picks from a or b by a broadcast mask", "[elementwise][where]") {
  const Tensor mask = tensor({1, 0}, {2, 1}, uint8);
  const Tensor a = tensor({1, 2, 3}, {3});
  const Tensor b = tensor({-1}, {1});
  const Tensor out = where(mask, a, b);
  CHECK(out.dtype() == float32);
  check_values(out, {2, 3}, {1, 2, 3, -1, -1, -1});
  // A bool mask, or a uint8 one where non-zero is true (PyTorch still accepts it); the values promote.
  const Tensor picked = where(tensor({0, 2, 255}, {3}, uint8), tensor({1, 2, 3}, {3}, int64),
                              tensor({10, 20, 30}, {3}, float32));
  CHECK(picked.dtype() == float32);
  check_values(picked, {3}, {10, 2, 3});
  check_values(where(tensor({0, 1, 1}, {3}, bool_), tensor({1, 2, 3}, {3}), 0.0 * a), {3}, {0, 2, 3});
  // Any other dtype is refused, as PyTorch refuses it.
  CHECK_THROWS_WITH(where(tensor({0, 2.5, -1}, {3}, float64), a, a),
                    Contains("where") && Contains("bool") && Contains("float64") && Contains("[3]"));
  CHECK_THROWS_WITH(where(tensor({0, 1, 1}, {3}, int64), a, a), Contains("where") && Contains("int64"));
  check_values(where(gt(a, 1.5), a, zeros({})), {3}, {0, 2, 3});
  CHECK(where(zeros({0, 1}, bool_), a, b).shape() == Shape{0, 3});
  CHECK_THROWS_AS(where(tensor({1, 0}, {2}, uint8), a, b), Error);
  CHECK_THROWS_WITH(where(tensor({1, 0}, {2}, uint8), a, b), Contains("where") && Contains("[2]") && Contains("[3]"));
}

TEST_CASE("allclose uses |a - b| <= atol + rtol * |b|", "[elementwise][allclose]") {
  const Tensor a = tensor({1, 2, 3}, {3}, float64);
  CHECK(allclose(a, a));
  CHECK(allclose(a, a.clone()));
  CHECK(allclose(a, add(a, 1e-9)));
  CHECK_FALSE(allclose(a, add(a, 1e-3)));
  CHECK(allclose(tensor({100}, {1}, float64), tensor({100.5}, {1}, float64), 1e-2));
  CHECK_FALSE(allclose(tensor({100}, {1}, float64), tensor({100.5}, {1}, float64), 1e-3));
  CHECK(allclose(tensor({0}, {1}, float64), tensor({1e-3}, {1}, float64), 0, 1e-2));
  CHECK_FALSE(allclose(tensor({0}, {1}, float64), tensor({1e-1}, {1}, float64), 0, 1e-2));
  // rtol scales |b|, not |a|.
  CHECK(allclose(tensor({0}, {1}, float64), tensor({1}, {1}, float64), 1.0, 0.0));
  CHECK_FALSE(allclose(tensor({1}, {1}, float64), tensor({0}, {1}, float64), 1.0, 0.0));
  // Broadcasting, mixed dtypes, non-contiguous operands.
  CHECK(allclose(ones({2, 2}), tensor({1}, {1}, float64)));
  CHECK(allclose(a.to(float32), a));
  const Tensor m = tensor({1, 2, 3, 4}, {2, 2});
  CHECK(allclose(m.t(), tensor({1, 3, 2, 4}, {2, 2})));
  CHECK_FALSE(allclose(m.t(), m));
  // NaN is never close; equal infinities are.
  const Tensor nan = tensor({std::nan("")}, {1});
  CHECK_FALSE(allclose(nan, nan));
  CHECK(allclose(tensor({kInf}, {1}), tensor({kInf}, {1})));
  CHECK_FALSE(allclose(tensor({kInf}, {1}), tensor({-kInf}, {1})));
  CHECK(allclose(zeros({0}), zeros({0})));
  CHECK_THROWS_WITH(allclose(zeros({2}), zeros({3})), Contains("allclose") && Contains("[2]") && Contains("[3]"));
}

TEST_CASE("equal needs the same shape and the same values", "[elementwise][allclose]") {
  const Tensor m = tensor({1, 2, 3, 4}, {2, 2});
  CHECK(equal(m, m));
  CHECK(equal(m, m.clone()));
  CHECK(equal(m.t(), m.t().contiguous()));
  CHECK(equal(m.t(), tensor({1, 3, 2, 4}, {2, 2})));
  CHECK_FALSE(equal(m, m.t()));
  CHECK_FALSE(equal(m, m.reshape({4})));           // same values, different shape
  CHECK_FALSE(equal(tensor({1, 1}, {1, 2}), tensor({1, 1}, {2})));  // broadcastable is not equal
  CHECK_FALSE(equal(m, add(m, 1e-6)));
  CHECK(equal(zeros({0, 2}), zeros({0, 2})));
  CHECK_FALSE(equal(zeros({0, 2}), zeros({2, 0})));
}

TEST_CASE("empty and size-1 shapes", "[elementwise]") {
  CHECK(add(zeros({0, 3}), ones({1, 3})).shape() == Shape{0, 3});
  CHECK(add(zeros({0, 3}), ones({3})).shape() == Shape{0, 3});
  CHECK(mul(zeros({2, 0}), 2.0).shape() == Shape{2, 0});
  CHECK(exp(zeros({0})).shape() == Shape{0});
  CHECK(eq(zeros({0}), zeros({1})).shape() == Shape{0});
  check_values(add(ones({1, 1, 1}), ones({1})), {1, 1, 1}, {2});
  CHECK_THROWS_AS(add(zeros({0}), zeros({2})), Error);
}

// ---- errors

TEST_CASE("element-wise errors name the op and the shapes", "[elementwise][errors]") {
  const Tensor a = zeros({2, 3});
  const Tensor b = zeros({4});
  CHECK_THROWS_AS(add(a, b), Error);
  CHECK_THROWS_WITH(add(a, b), Contains("add") && Contains("[2, 3]") && Contains("[4]"));
  CHECK_THROWS_WITH(a + b, Contains("add") && Contains("[2, 3]") && Contains("[4]"));
  CHECK_THROWS_WITH(sub(a, b), Contains("sub") && Contains("[2, 3]") && Contains("[4]"));
  CHECK_THROWS_WITH(mul(b, a), Contains("mul") && Contains("[4]") && Contains("[2, 3]"));
  CHECK_THROWS_WITH(div(a, b), Contains("div") && Contains("[2, 3]"));
  CHECK_THROWS_WITH(pow(a, b), Contains("pow") && Contains("[2, 3]"));
  CHECK_THROWS_WITH(maximum(a, b), Contains("maximum") && Contains("[2, 3]"));
  CHECK_THROWS_WITH(minimum(a, b), Contains("minimum") && Contains("[2, 3]"));
  CHECK_THROWS_WITH(lt(a, b), Contains("lt") && Contains("[2, 3]") && Contains("[4]"));
  CHECK_THROWS_WITH(eq(zeros({3, 2}), zeros({3})), Contains("eq") && Contains("[3, 2]") && Contains("[3]"));
  CHECK_THROWS_WITH(clamp(a, 1, 0), Contains("clamp"));
  CHECK_THROWS_WITH(neg(zeros({2}, uint8)), Contains("neg") && Contains("uint8"));
  CHECK_THROWS_WITH(add(Tensor(), a), Contains("add"));
  CHECK_THROWS_WITH(exp(Tensor()), Contains("exp"));
}

// ---- random shapes and layouts against a naive loop

TEST_CASE("binary ops match a naive loop on random broadcast shapes and layouts", "[elementwise][reference]") {
  const std::vector<BinaryCase> cases = {
      {"add", [](const Tensor& a, const Tensor& b) { return add(a, b); }, [](double a, double b) { return a + b; }, -2, 2, -2, 2},
      {"sub", [](const Tensor& a, const Tensor& b) { return sub(a, b); }, [](double a, double b) { return a - b; }, -2, 2, -2, 2},
      {"mul", [](const Tensor& a, const Tensor& b) { return mul(a, b); }, [](double a, double b) { return a * b; }, -2, 2, -2, 2},
      {"div", [](const Tensor& a, const Tensor& b) { return div(a, b); }, [](double a, double b) { return a / b; }, -2, 2, 0.5, 2},
      {"pow", [](const Tensor& a, const Tensor& b) { return pow(a, b); }, [](double a, double b) { return std::pow(a, b); }, 0.5, 2, -2, 2},
      {"maximum", [](const Tensor& a, const Tensor& b) { return maximum(a, b); }, [](double a, double b) { return std::max(a, b); }, -2, 2, -2, 2},
      {"minimum", [](const Tensor& a, const Tensor& b) { return minimum(a, b); }, [](double a, double b) { return std::min(a, b); }, -2, 2, -2, 2},
      {"operator+", [](const Tensor& a, const Tensor& b) { return a + b; }, [](double a, double b) { return a + b; }, -2, 2, -2, 2},
      {"operator-", [](const Tensor& a, const Tensor& b) { return a - b; }, [](double a, double b) { return a - b; }, -2, 2, -2, 2},
      {"operator*", [](const Tensor& a, const Tensor& b) { return a * b; }, [](double a, double b) { return a * b; }, -2, 2, -2, 2},
      {"operator/", [](const Tensor& a, const Tensor& b) { return a / b; }, [](double a, double b) { return a / b; }, -2, 2, -2, -0.5},
  };
  uint64_t seed = 100;
  for (const BinaryCase& c : cases) {
    for (DType dtype : {float32, float64}) check_binary_random(c, dtype, dtype, dtype, 30, ++seed);
  }
}

TEST_CASE("binary ops on mixed dtypes match a naive loop", "[elementwise][reference][dtype]") {
  const BinaryCase add_case{"add", [](const Tensor& a, const Tensor& b) { return add(a, b); },
                            [](double a, double b) { return a + b; }, -2, 2, -2, 2};
  const BinaryCase mul_case{"mul", [](const Tensor& a, const Tensor& b) { return mul(a, b); },
                            [](double a, double b) { return a * b; }, -5, 5, -5, 5, true};
  check_binary_random(add_case, float32, float64, float64, 30, 7);
  check_binary_random(add_case, float64, float32, float64, 30, 8);
  check_binary_random(mul_case, int64, float32, float32, 30, 9);
  check_binary_random(mul_case, float64, int64, float64, 30, 10);
  check_binary_random(mul_case, int64, int64, int64, 30, 11);
  check_binary_random(add_case, uint8, int64, int64, 30, 12);
}

TEST_CASE("comparisons match a naive loop, ties included", "[elementwise][reference][compare]") {
  auto as_double = [](bool v) { return v ? 1.0 : 0.0; };
  const std::vector<BinaryCase> cases = {
      {"eq", [](const Tensor& a, const Tensor& b) { return eq(a, b); }, [&](double a, double b) { return as_double(a == b); }, -2, 2, -2, 2, true},
      {"ne", [](const Tensor& a, const Tensor& b) { return ne(a, b); }, [&](double a, double b) { return as_double(a != b); }, -2, 2, -2, 2, true},
      {"lt", [](const Tensor& a, const Tensor& b) { return lt(a, b); }, [&](double a, double b) { return as_double(a < b); }, -2, 2, -2, 2, true},
      {"le", [](const Tensor& a, const Tensor& b) { return le(a, b); }, [&](double a, double b) { return as_double(a <= b); }, -2, 2, -2, 2, true},
      {"gt", [](const Tensor& a, const Tensor& b) { return gt(a, b); }, [&](double a, double b) { return as_double(a > b); }, -2, 2, -2, 2, true},
      {"ge", [](const Tensor& a, const Tensor& b) { return ge(a, b); }, [&](double a, double b) { return as_double(a >= b); }, -2, 2, -2, 2, true},
      {"maximum (ties)", [](const Tensor& a, const Tensor& b) { return maximum(a, b); }, [](double a, double b) { return std::max(a, b); }, -2, 2, -2, 2, true},
  };
  uint64_t seed = 200;
  for (const BinaryCase& c : cases) {
    const bool is_mask = c.name.rfind("maximum", 0) != 0;
    for (DType dtype : {float32, float64}) {
      check_binary_random(c, dtype, dtype, is_mask ? bool_ : dtype, 25, ++seed);
    }
  }
}

TEST_CASE("unary ops match a naive loop on random shapes and layouts", "[elementwise][reference]") {
  const std::vector<UnaryCase> cases = {
      {"neg", [](const Tensor& x) { return neg(x); }, [](double x) { return -x; }, -3, 3},
      {"exp", [](const Tensor& x) { return exp(x); }, [](double x) { return std::exp(x); }, -3, 3},
      {"log", [](const Tensor& x) { return log(x); }, [](double x) { return std::log(x); }, 0.05, 5},
      {"sqrt", [](const Tensor& x) { return sqrt(x); }, [](double x) { return std::sqrt(x); }, 0, 5},
      {"abs", [](const Tensor& x) { return abs(x); }, [](double x) { return std::abs(x); }, -3, 3},
      {"sign", [](const Tensor& x) { return sign(x); }, [](double x) { return static_cast<double>((x > 0) - (x < 0)); }, -2, 3, true},
      {"tanh", [](const Tensor& x) { return tanh(x); }, [](double x) { return std::tanh(x); }, -4, 4},
      {"sigmoid", [](const Tensor& x) { return sigmoid(x); }, ref_sigmoid, -10, 10},
      {"relu", [](const Tensor& x) { return relu(x); }, [](double x) { return x > 0 ? x : 0.0; }, -3, 3},
      {"clamp", [](const Tensor& x) { return clamp(x, -0.5, 0.7); }, [](double x) { return std::clamp(x, -0.5, 0.7); }, -2, 2},
      {"operator- (unary)", [](const Tensor& x) { return -x; }, [](double x) { return -x; }, -3, 3},
  };
  uint64_t seed = 300;
  for (const UnaryCase& c : cases) {
    for (DType dtype : {float32, float64}) check_unary_random(c, dtype, 30, ++seed);
  }
}

TEST_CASE("scalar-operand ops match a naive loop", "[elementwise][reference]") {
  const std::vector<UnaryCase> cases = {
      {"add(t, s)", [](const Tensor& x) { return add(x, 1.25); }, [](double x) { return x + 1.25; }, -3, 3},
      {"s + t", [](const Tensor& x) { return 1.25 + x; }, [](double x) { return 1.25 + x; }, -3, 3},
      {"sub(t, s)", [](const Tensor& x) { return sub(x, 0.75); }, [](double x) { return x - 0.75; }, -3, 3},
      {"sub(s, t)", [](const Tensor& x) { return sub(0.75, x); }, [](double x) { return 0.75 - x; }, -3, 3},
      {"mul(t, s)", [](const Tensor& x) { return mul(x, -1.5); }, [](double x) { return x * -1.5; }, -3, 3},
      {"s * t", [](const Tensor& x) { return -1.5 * x; }, [](double x) { return -1.5 * x; }, -3, 3},
      {"div(t, s)", [](const Tensor& x) { return div(x, 4.0); }, [](double x) { return x / 4.0; }, -3, 3},
      {"div(s, t)", [](const Tensor& x) { return div(3.0, x); }, [](double x) { return 3.0 / x; }, 0.5, 3},
      {"s / t", [](const Tensor& x) { return 3.0 / x; }, [](double x) { return 3.0 / x; }, -3, -0.5},
      {"pow(t, 2)", [](const Tensor& x) { return pow(x, 2.0); }, [](double x) { return x * x; }, -3, 3},
      {"pow(t, 0.5)", [](const Tensor& x) { return pow(x, 0.5); }, [](double x) { return std::sqrt(x); }, 0, 3},
      {"pow(t, -1)", [](const Tensor& x) { return pow(x, -1.0); }, [](double x) { return 1.0 / x; }, 0.5, 3},
      {"pow(t, 3)", [](const Tensor& x) { return pow(x, 3.0); }, [](double x) { return x * x * x; }, -3, 3},
      {"pow(t, -2.5)", [](const Tensor& x) { return pow(x, -2.5); }, [](double x) { return std::pow(x, -2.5); }, 0.5, 3},
      {"maximum(t, s)", [](const Tensor& x) { return maximum(x, 0.25); }, [](double x) { return std::max(x, 0.25); }, -3, 3},
      {"minimum(t, s)", [](const Tensor& x) { return minimum(x, 0.25); }, [](double x) { return std::min(x, 0.25); }, -3, 3},
  };
  uint64_t seed = 400;
  for (const UnaryCase& c : cases) {
    for (DType dtype : {float32, float64}) check_unary_random(c, dtype, 20, ++seed);
  }
}

TEST_CASE("scalar comparisons match a naive loop", "[elementwise][reference][compare]") {
  reference::Rng rng(500);
  for (int trial = 0; trial < 30; ++trial) {
    for (DType dtype : {float32, float64, int64}) {
      const Shape shape = reference::random_shape(rng, 4, true);
      const Tensor x = reference::random_tensor(shape, dtype, random_layout(rng), rng, -3, 3, true);
      const double s = static_cast<double>(rng.integer(-2, 2));
      INFO("trial " << trial << " " << to_string(shape) << " " << dtype_name(dtype) << " s=" << s);
      const reference::Tolerance exact{0, 0};
      check_elements(eq(x, s), shape, [&](const Index& i) { return read(x, i) == s ? 1.0 : 0.0; }, exact);
      check_elements(ne(x, s), shape, [&](const Index& i) { return read(x, i) != s ? 1.0 : 0.0; }, exact);
      check_elements(lt(x, s), shape, [&](const Index& i) { return read(x, i) < s ? 1.0 : 0.0; }, exact);
      check_elements(le(x, s), shape, [&](const Index& i) { return read(x, i) <= s ? 1.0 : 0.0; }, exact);
      check_elements(gt(x, s), shape, [&](const Index& i) { return read(x, i) > s ? 1.0 : 0.0; }, exact);
      check_elements(ge(x, s), shape, [&](const Index& i) { return read(x, i) >= s ? 1.0 : 0.0; }, exact);
    }
  }
}

TEST_CASE("where matches a naive loop with all three operands broadcast", "[elementwise][reference][where]") {
  reference::Rng rng(600);
  for (int trial = 0; trial < 60; ++trial) {
    const DType dtype = trial % 2 ? float64 : float32;
    const Shape out_shape = reference::random_shape(rng, 4, true);
    const Shape mask_shape = reference::broadcastable_from(out_shape, rng);
    const Shape a_shape = reference::broadcastable_from(out_shape, rng);
    const Shape b_shape = reference::broadcastable_from(out_shape, rng);
    // bool masks, and uint8 ones (0, 1 or 2: non-zero is true) every third trial.
    const Tensor mask = reference::random_tensor(mask_shape, trial % 3 ? bool_ : uint8, random_layout(rng), rng, 0, 3);
    const Tensor a = reference::random_tensor(a_shape, dtype, random_layout(rng), rng);
    const Tensor b = reference::random_tensor(b_shape, dtype, random_layout(rng), rng);
    INFO("trial " << trial << ": mask " << to_string(mask_shape) << ", a " << to_string(a_shape) << ", b "
                  << to_string(b_shape));
    const Shape shape = reference::broadcast_shape(reference::broadcast_shape(mask_shape, a_shape), b_shape);
    check_elements(
        where(mask, a, b), shape,
        [&](const Index& i) {
          return read(mask, reference::broadcast_index(i, mask_shape)) != 0
                     ? read(a, reference::broadcast_index(i, a_shape))
                     : read(b, reference::broadcast_index(i, b_shape));
        },
        {0, 0});
  }
}

TEST_CASE("large tensors (the multi-threaded path) match a naive loop", "[elementwise][reference][threads]") {
  reference::Rng rng(700);
  for (int threads : {1, 2}) {
    const int saved = get_num_threads();
    set_num_threads(threads);
    INFO("threads " << threads);
    // One long row (split within the row) and many rows (split across rows), non-contiguous.
    const Tensor long_row = reference::random_tensor({200001}, float32, Layout::strided, rng);
    check_elements(mul(long_row, 3.0), {200001}, [&](const Index& i) { return read(long_row, i) * 3.0; },
                   reference::elementwise_tolerance(float32));
    const Tensor a = reference::random_tensor({301, 517}, float64, Layout::transposed, rng);
    const Tensor b = reference::random_tensor({517}, float64, Layout::strided, rng);
    check_elements(add(a, b), {301, 517},
                   [&](const Index& i) { return read(a, i) + read(b, {i[1]}); },
                   reference::elementwise_tolerance(float64));
    const Tensor column = reference::random_tensor({301, 1}, float64, Layout::contiguous, rng);
    check_elements(sub(column, b), {301, 517},
                   [&](const Index& i) { return read(column, {i[0], 0}) - read(b, {i[1]}); },
                   reference::elementwise_tolerance(float64));
    set_num_threads(saved);
  }
}
