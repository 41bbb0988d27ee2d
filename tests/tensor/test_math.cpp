// The element-wise math of issue 13: the unary functions of pointwise.def (sin ... frac), atan2,
// fmod, remainder, isnan/isinf/isfinite, nan_to_num and the logical ops. Special values (inf,
// NaN, -0.0) against PyTorch's results (pasted literals), every function against a naive std::
// loop on random shapes and layouts, integer and bool inputs, and errors.
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <numbers>
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

// Equal as IEEE values with the sign of zero, NaN equal to NaN; finite values within rtol.
bool same_value(double actual, double expected, double rtol) {
  if (std::isnan(expected)) return std::isnan(actual);
  if (expected == 0.0) return actual == 0.0 && std::signbit(actual) == std::signbit(expected);
  if (std::isinf(expected)) return actual == expected;
  return std::abs(actual - expected) <= rtol * std::abs(expected);
}

void check_same_values(const Tensor& actual, const std::vector<double>& expected, double rtol) {
  REQUIRE(actual.numel() == static_cast<int64_t>(expected.size()));
  const std::vector<double> values = actual.to_vector<double>();
  for (size_t i = 0; i < expected.size(); ++i) {
    INFO("element " << i << ": got " << values[i] << ", expected " << expected[i]);
    CHECK(same_value(values[i], expected[i], rtol));
  }
}

Layout random_layout(reference::Rng& rng) {
  return reference::all_layouts[static_cast<size_t>(
      rng.integer(0, static_cast<int64_t>(reference::all_layouts.size()) - 1))];
}

struct UnaryMath {
  std::string name;
  std::function<Tensor(const Tensor&)> op;
  std::vector<double> expected;  // at kSpecialInputs, from torch (float64)
};

const std::vector<double> kSpecialInputs = {0.0, -0.0, 1.0, -1.0, kInf, -kInf, kNaN, 2.0, 0.5, -2.5};

}  // namespace

// ---- unary functions

TEST_CASE("unary math at special values gives PyTorch's results", "[math][elementwise]") {
  // torch.<name>(torch.tensor(kSpecialInputs, dtype=torch.float64)).tolist() from PyTorch 1.13, pasted.
  const std::vector<UnaryMath> cases = {
      {"sin", [](const Tensor& x) { return sin(x); }, {0.0, -0.0, 0.8414709848078965, -0.8414709848078965, kNaN, kNaN, kNaN, 0.9092974268256817, 0.479425538604203, -0.5984721441039564}},
      {"cos", [](const Tensor& x) { return cos(x); }, {1.0, 1.0, 0.5403023058681398, 0.5403023058681398, kNaN, kNaN, kNaN, -0.4161468365471424, 0.8775825618903728, -0.8011436155469337}},
      {"tan", [](const Tensor& x) { return tan(x); }, {0.0, -0.0, 1.5574077246549023, -1.5574077246549023, kNaN, kNaN, kNaN, -2.185039863261519, 0.5463024898437905, 0.7470222972386603}},
      {"asin", [](const Tensor& x) { return asin(x); }, {0.0, -0.0, 1.5707963267948966, -1.5707963267948966, kNaN, kNaN, kNaN, kNaN, 0.5235987755982989, kNaN}},
      {"acos", [](const Tensor& x) { return acos(x); }, {1.5707963267948966, 1.5707963267948966, 0.0, 3.141592653589793, kNaN, kNaN, kNaN, kNaN, 1.0471975511965976, kNaN}},
      {"atan", [](const Tensor& x) { return atan(x); }, {0.0, -0.0, 0.7853981633974483, -0.7853981633974483, 1.5707963267948966, -1.5707963267948966, kNaN, 1.1071487177940904, 0.4636476090008061, -1.1902899496825317}},
      {"sinh", [](const Tensor& x) { return sinh(x); }, {0.0, -0.0, 1.1752011936438014, -1.1752011936438014, kInf, -kInf, kNaN, 3.6268604078470186, 0.5210953054937474, -6.0502044810397875}},
      {"cosh", [](const Tensor& x) { return cosh(x); }, {1.0, 1.0, 1.5430806348152437, 1.5430806348152437, kInf, kInf, kNaN, 3.7621956910836314, 1.1276259652063807, 6.132289479663686}},
      {"log1p", [](const Tensor& x) { return log1p(x); }, {0.0, -0.0, 0.6931471805599453, -kInf, kInf, kNaN, kNaN, 1.0986122886681098, 0.4054651081081644, kNaN}},
      {"expm1", [](const Tensor& x) { return expm1(x); }, {0.0, -0.0, 1.7182818284590453, -0.6321205588285577, kInf, -1.0, kNaN, 6.38905609893065, 0.6487212707001282, -0.9179150013761012}},
      {"log2", [](const Tensor& x) { return log2(x); }, {-kInf, -kInf, 0.0, kNaN, kInf, kNaN, kNaN, 1.0, -1.0, kNaN}},
      {"log10", [](const Tensor& x) { return log10(x); }, {-kInf, -kInf, 0.0, kNaN, kInf, kNaN, kNaN, 0.3010299956639812, -0.3010299956639812, kNaN}},
      {"rsqrt", [](const Tensor& x) { return rsqrt(x); }, {kInf, -kInf, 1.0, kNaN, 0.0, kNaN, kNaN, 0.7071067811865475, 1.414213562373095, kNaN}},
      {"reciprocal", [](const Tensor& x) { return reciprocal(x); }, {kInf, -kInf, 1.0, -1.0, 0.0, -0.0, kNaN, 0.5, 2.0, -0.4}},
      {"square", [](const Tensor& x) { return square(x); }, {0.0, 0.0, 1.0, 1.0, kInf, kInf, kNaN, 4.0, 0.25, 6.25}},
      {"floor", [](const Tensor& x) { return floor(x); }, {0.0, -0.0, 1.0, -1.0, kInf, -kInf, kNaN, 2.0, 0.0, -3.0}},
      {"ceil", [](const Tensor& x) { return ceil(x); }, {0.0, -0.0, 1.0, -1.0, kInf, -kInf, kNaN, 2.0, 1.0, -2.0}},
      {"round", [](const Tensor& x) { return round(x); }, {0.0, -0.0, 1.0, -1.0, kInf, -kInf, kNaN, 2.0, 0.0, -2.0}},
      {"trunc", [](const Tensor& x) { return trunc(x); }, {0.0, -0.0, 1.0, -1.0, kInf, -kInf, kNaN, 2.0, 0.0, -2.0}},
      {"frac", [](const Tensor& x) { return frac(x); }, {0.0, 0.0, 0.0, 0.0, kNaN, kNaN, kNaN, 0.0, 0.5, -0.5}},
  };
  for (const UnaryMath& c : cases) {
    for (DType dtype : {float64, float32}) {
      INFO(c.name << " in " << dtype_name(dtype));
      const Tensor x = from_vector(kSpecialInputs).to(dtype);
      const Tensor y = c.op(x);
      CHECK(y.dtype() == dtype);
      check_same_values(y, c.expected, dtype == float64 ? 1e-15 : 1e-6);
    }
  }
}

TEST_CASE("round is half to even, as PyTorch's", "[math][elementwise]") {
  // torch.round(torch.tensor([0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 0.49999997])) -> [0, 2, 2, -0, -2, -2, 0]
  for (DType dtype : {float32, float64}) {
    INFO(dtype_name(dtype));
    check_same_values(round(tensor({0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 0.49999997, 3.5, 1e20}, {9}, dtype)),
                      {0.0, 2.0, 2.0, -0.0, -2.0, -2.0, 0.0, 4.0, 1e20}, 1e-7);
  }
}

TEST_CASE("rounding integers leaves them as they are, exactly", "[math][elementwise][dtype]") {
  const Tensor big = from_vector(std::vector<int64_t>{(1LL << 53) + 1, -7, 0});
  for (const Tensor& out : {floor(big), ceil(big), round(big), trunc(big)}) {
    CHECK(out.dtype() == int64);
    CHECK(out.to_vector<int64_t>() == std::vector<int64_t>{(1LL << 53) + 1, -7, 0});  // not through double
    CHECK_FALSE(out.shares_storage(big));
  }
  CHECK(floor(tensor({3, 250}, {2}, uint8)).to_vector<uint8_t>() == std::vector<uint8_t>{3, 250});
  CHECK(round(tensor({-3}, {1}, int32)).dtype() == int32);
  CHECK(square(tensor({3, -4}, {2}, int64)).to_vector<int64_t>() == std::vector<int64_t>{9, 16});
  CHECK(square(tensor({20}, {1}, uint8)).to_vector<uint8_t>() == std::vector<uint8_t>{144});  // 400 wraps
  // The float functions compute integer and bool input in float32, as PyTorch's.
  CHECK(sin(tensor({3}, {1}, int64)).dtype() == float32);
  check_values(sin(tensor({1}, {1}, bool_)), {1}, {std::sin(1.0)});
  check_values(frac(tensor({3}, {1}, int64)), {1}, {0});
  CHECK_THROWS_WITH(round(tensor({1}, {1}, bool_)), Contains("round") && Contains("bool"));
  CHECK_THROWS_WITH(square(tensor({1}, {1}, bool_)), Contains("square") && Contains("bool"));
}

TEST_CASE("unary math matches a naive std:: loop on random shapes and layouts", "[math][elementwise][reference]") {
  struct Case {
    std::string name;
    std::function<Tensor(const Tensor&)> op;
    std::function<double(double)> ref;
    double low, high;
  };
  const std::vector<Case> cases = {
      {"sin", [](const Tensor& x) { return sin(x); }, [](double x) { return std::sin(x); }, -4, 4},
      {"cos", [](const Tensor& x) { return cos(x); }, [](double x) { return std::cos(x); }, -4, 4},
      {"tan", [](const Tensor& x) { return tan(x); }, [](double x) { return std::tan(x); }, -1.2, 1.2},
      {"asin", [](const Tensor& x) { return asin(x); }, [](double x) { return std::asin(x); }, -1, 1},
      {"acos", [](const Tensor& x) { return acos(x); }, [](double x) { return std::acos(x); }, -1, 1},
      {"atan", [](const Tensor& x) { return atan(x); }, [](double x) { return std::atan(x); }, -5, 5},
      {"sinh", [](const Tensor& x) { return sinh(x); }, [](double x) { return std::sinh(x); }, -3, 3},
      {"cosh", [](const Tensor& x) { return cosh(x); }, [](double x) { return std::cosh(x); }, -3, 3},
      {"log1p", [](const Tensor& x) { return log1p(x); }, [](double x) { return std::log1p(x); }, -0.9, 5},
      {"expm1", [](const Tensor& x) { return expm1(x); }, [](double x) { return std::expm1(x); }, -3, 3},
      {"log2", [](const Tensor& x) { return log2(x); }, [](double x) { return std::log2(x); }, 0.1, 10},
      {"log10", [](const Tensor& x) { return log10(x); }, [](double x) { return std::log10(x); }, 0.1, 10},
      {"rsqrt", [](const Tensor& x) { return rsqrt(x); }, [](double x) { return 1.0 / std::sqrt(x); }, 0.1, 10},
      {"reciprocal", [](const Tensor& x) { return reciprocal(x); }, [](double x) { return 1.0 / x; }, 0.1, 10},
      {"square", [](const Tensor& x) { return square(x); }, [](double x) { return x * x; }, -3, 3},
      {"floor", [](const Tensor& x) { return floor(x); }, [](double x) { return std::floor(x); }, -5, 5},
      {"ceil", [](const Tensor& x) { return ceil(x); }, [](double x) { return std::ceil(x); }, -5, 5},
      {"round", [](const Tensor& x) { return round(x); }, [](double x) { return std::nearbyint(x); }, -5, 5},
      {"trunc", [](const Tensor& x) { return trunc(x); }, [](double x) { return std::trunc(x); }, -5, 5},
      {"frac", [](const Tensor& x) { return frac(x); }, [](double x) { return x - std::trunc(x); }, -5, 5},
  };
  reference::Rng rng(1300);
  for (const Case& c : cases) {
    for (DType dtype : {float32, float64}) {
      for (int trial = 0; trial < 8; ++trial) {
        const Shape shape = reference::random_shape(rng, 4, /*allow_empty=*/true);
        const Layout layout = random_layout(rng);
        const Tensor x = reference::random_tensor(shape, dtype, layout, rng, c.low, c.high);
        INFO(c.name << " " << dtype_name(dtype) << " " << to_string(shape) << " " << reference::layout_name(layout));
        const Tensor y = c.op(x);
        CHECK(y.dtype() == dtype);
        // The reference reads the input as stored (float32 values are exact in double).
        check_elements(y, shape, [&](const Index& i) { return c.ref(read(x, i)); },
                       reference::elementwise_tolerance(dtype));
      }
    }
  }
}

// ---- atan2, fmod, remainder

TEST_CASE("atan2 gives the angle of (other, self), quadrants and signed zeros included", "[math][elementwise]") {
  // torch.atan2(torch.tensor([1., -1, 0, -0.0, 0, inf]), torch.tensor([0., 0, -1, -1, 0, inf]))
  const double pi = std::numbers::pi;
  check_same_values(atan2(tensor({1, -1, 0, -0.0, 0, kInf, -0.0}, {7}, float64),
                          tensor({0, 0, -1, -1, 0, kInf, 1}, {7}, float64)),
                    {pi / 2, -pi / 2, pi, -pi, 0.0, pi / 4, -0.0}, 1e-15);
  CHECK(atan2(tensor({1}, {1}, int32), tensor({1}, {1}, int64)).dtype() == float32);  // as torch
  CHECK(atan2(tensor({1}, {1}, float32), tensor({1}, {1}, float64)).dtype() == float64);
  check_values(atan2(tensor({1, 2}, {2, 1}, float64), tensor({1, -1}, {2}, float64)), {2, 2},
               {std::atan2(1, 1), std::atan2(1, -1), std::atan2(2, 1), std::atan2(2, -1)}, 1e-15);
}

TEST_CASE("fmod has the dividend's sign, remainder the divisor's, as PyTorch's", "[math][elementwise]") {
  // torch.fmod / torch.remainder of these, from PyTorch 1.13 (pasted).
  const Tensor x = tensor({5, -5, 5, -5, 0, -0.0, kInf, 1, -1, kNaN, 7.5}, {11}, float64);
  const Tensor y = tensor({3, 3, -3, -3, 3, 3, 3, kInf, kInf, 1, 2}, {11}, float64);
  check_same_values(fmod(x, y), {2, -2, 2, -2, 0.0, -0.0, kNaN, 1, -1, kNaN, 1.5}, 1e-15);
  check_same_values(remainder(x, y), {2, 1, -1, -2, 0.0, -0.0, kNaN, 1, kInf, kNaN, 1.5}, 1e-15);
  // Division by a float zero gives NaN.
  check_same_values(fmod(tensor({5, 1}, {2}, float32), 0.0), {kNaN, kNaN}, 0);
  check_same_values(remainder(tensor({5, 1, -1}, {3}, float32), 0.0), {kNaN, kNaN, kNaN}, 0);
  // Scalars on either side: torch.remainder(torch.tensor([-7.5]), 2) == 0.5, torch.remainder(-7.5,
  // torch.tensor([2])) == 0.5, torch.remainder(7, torch.tensor([-2])) == -1.
  check_values(remainder(tensor({-7.5}, {1}), 2.0), {1}, {0.5});
  check_values(remainder(-7.5, tensor({2}, {1}, int64)), {1}, {0.5});
  CHECK(remainder(7.0, tensor({-2}, {1}, int64)).to_vector<int64_t>() == std::vector<int64_t>{-1});
  check_values(fmod(tensor({-7.5}, {1}), 2.0), {1}, {-1.5});
  CHECK(fmod(tensor({5}, {1}, int64), 2.5).dtype() == float32);
}

TEST_CASE("fmod and remainder of integers stay integer, division by zero is an error", "[math][elementwise][dtype]") {
  const Tensor x = tensor({5, -5, 5, -5}, {4}, int64);
  const Tensor y = tensor({3, 3, -3, -3}, {4}, int64);
  CHECK(fmod(x, y).dtype() == int64);
  CHECK(fmod(x, y).to_vector<int64_t>() == std::vector<int64_t>{2, -2, 2, -2});
  CHECK(remainder(x, y).to_vector<int64_t>() == std::vector<int64_t>{2, 1, -1, -2});
  CHECK(fmod(tensor({5}, {1}, int32), tensor({3}, {1}, uint8)).dtype() == int32);
  CHECK(remainder(tensor({249}, {1}, uint8), 3.0).to_vector<uint8_t>() == std::vector<uint8_t>{0});
  CHECK(remainder(tensor({7, 8}, {2}, int32), 3.0).to_vector<int32_t>() == std::vector<int32_t>{1, 2});
  // x % -1 is 0 for every x, INT64_MIN included (which overflows, and crashes PyTorch on x86).
  const Tensor extremes = from_vector(std::vector<int64_t>{std::numeric_limits<int64_t>::min(), 7});
  CHECK(fmod(extremes, -1.0).to_vector<int64_t>() == std::vector<int64_t>{0, 0});
  CHECK(remainder(extremes, -1.0).to_vector<int64_t>() == std::vector<int64_t>{0, 0});
  CHECK_THROWS_WITH(fmod(x, 0.0), Contains("fmod") && Contains("division by zero"));
  CHECK_THROWS_WITH(remainder(x, tensor({1, 0, 1, 1}, {4}, int32)), Contains("remainder") && Contains("zero") && Contains("[4]"));
  CHECK_THROWS_WITH(remainder(5.0, tensor({0}, {1}, int64)), Contains("remainder") && Contains("zero"));
  CHECK_THROWS_WITH(fmod(tensor({1}, {1}, bool_), tensor({1}, {1}, bool_)), Contains("fmod") && Contains("bool"));
  CHECK_THROWS_WITH(fmod(zeros({2, 3}), zeros({4})), Contains("fmod") && Contains("[2, 3]") && Contains("[4]"));
  CHECK_THROWS_WITH(atan2(zeros({2}), zeros({3})), Contains("atan2") && Contains("[2]") && Contains("[3]"));
}

TEST_CASE("atan2, fmod and remainder match a naive loop on random broadcasts and layouts", "[math][elementwise][reference]") {
  struct Case {
    std::string name;
    std::function<Tensor(const Tensor&, const Tensor&)> op;
    std::function<double(double, double)> ref;
  };
  // Python's % for floats, written independently: x - y * floor(x / y) (exact enough away from ties).
  const std::vector<Case> cases = {
      {"atan2", [](const Tensor& a, const Tensor& b) { return atan2(a, b); }, [](double a, double b) { return std::atan2(a, b); }},
      {"fmod", [](const Tensor& a, const Tensor& b) { return fmod(a, b); }, [](double a, double b) { return std::fmod(a, b); }},
      {"remainder", [](const Tensor& a, const Tensor& b) { return remainder(a, b); },
       [](double a, double b) { return a - b * std::floor(a / b); }},
  };
  reference::Rng rng(1400);
  for (const Case& c : cases) {
    for (DType dtype : {float32, float64}) {
      for (int trial = 0; trial < 20; ++trial) {
        const Shape out_shape = reference::random_shape(rng, 4, /*allow_empty=*/true);
        const Shape a_shape = reference::broadcastable_from(out_shape, rng);
        const Shape b_shape = reference::broadcastable_from(out_shape, rng);
        const Tensor a = reference::random_tensor(a_shape, dtype, random_layout(rng), rng, -6, 6);
        Tensor b = reference::random_tensor(b_shape, dtype, random_layout(rng), rng, 0.5, 2.5);
        if (trial % 2) b = neg(b);
        INFO(c.name << " " << dtype_name(dtype) << " trial " << trial << ": " << to_string(a_shape) << " with "
                    << to_string(b_shape));
        const Tensor result = c.op(a, b);
        CHECK(result.dtype() == dtype);
        check_elements(
            result, reference::broadcast_shape(a_shape, b_shape),
            [&](const Index& i) {
              return c.ref(read(a, reference::broadcast_index(i, a_shape)), read(b, reference::broadcast_index(i, b_shape)));
            },
            dtype == float64 ? reference::Tolerance{1e-12, 1e-12} : reference::Tolerance{1e-5, 1e-5});
      }
    }
  }
  // Integers: C's % and Python's %, written out.
  for (int trial = 0; trial < 20; ++trial) {
    const Shape shape = reference::random_shape(rng, 3);
    const Tensor a = reference::random_tensor(shape, int64, random_layout(rng), rng, -50, 50);
    const Tensor b = mul(reference::random_tensor(shape, int64, random_layout(rng), rng, 1, 7), trial % 2 ? -1.0 : 1.0);
    check_elements(fmod(a, b), shape, [&](const Index& i) { return std::fmod(read(a, i), read(b, i)); }, {0, 0});
    check_elements(remainder(a, b), shape, [&](const Index& i) {
      const double x = read(a, i), y = read(b, i);
      return x - y * std::floor(x / y);
    }, {0, 0});
  }
}

// ---- NaN and infinity

TEST_CASE("isnan, isinf and isfinite give bool masks", "[math][elementwise]") {
  for (DType dtype : {float32, float64}) {
    INFO(dtype_name(dtype));
    const Tensor x = tensor({kNaN, kInf, -kInf, 1.0, -0.0, 1e308}, {6}, dtype);  // 1e308 is inf in float32
    const bool big_is_inf = dtype == float32;
    CHECK(isnan(x).dtype() == bool_);
    CHECK(isnan(x).to_vector<bool>() == std::vector<bool>{true, false, false, false, false, false});
    CHECK(isinf(x).to_vector<bool>() == std::vector<bool>{false, true, true, false, false, big_is_inf});
    CHECK(isfinite(x).to_vector<bool>() == std::vector<bool>{false, false, false, true, true, !big_is_inf});
    CHECK(isnan(x.slice(0, 0, 6, 2)).to_vector<bool>() == std::vector<bool>{true, false, false});
  }
  // Integers and bools are never NaN or infinite.
  for (DType dtype : {int64, int32, uint8, bool_}) {
    INFO(dtype_name(dtype));
    const Tensor x = tensor({0, 1}, {2}, dtype);
    CHECK(isnan(x).to_vector<bool>() == std::vector<bool>{false, false});
    CHECK(isinf(x).to_vector<bool>() == std::vector<bool>{false, false});
    CHECK(isfinite(x).to_vector<bool>() == std::vector<bool>{true, true});
  }
  CHECK(isnan(zeros({0, 3})).shape() == Shape{0, 3});
  CHECK_THROWS_WITH(isnan(Tensor()), Contains("isnan"));
}

TEST_CASE("nan_to_num replaces NaN and infinities, by default with 0 and the dtype's extremes", "[math][elementwise]") {
  const Tensor x32 = tensor({kNaN, kInf, -kInf, 1.5, -0.0}, {5}, float32);
  // torch.nan_to_num(torch.tensor([nan, inf, -inf, 1.0])) -> [0, 3.4028e38, -3.4028e38, 1]
  check_same_values(nan_to_num(x32), {0.0, std::numeric_limits<float>::max(), std::numeric_limits<float>::lowest(), 1.5, -0.0}, 0);
  const Tensor x64 = x32.to(float64);
  check_same_values(nan_to_num(x64), {0.0, std::numeric_limits<double>::max(), std::numeric_limits<double>::lowest(), 1.5, -0.0}, 0);
  check_same_values(nan_to_num(x64, 2.0, 3.0, -4.0), {2.0, 3.0, -4.0, 1.5, -0.0}, 0);
  // Only the given replacements change; a value beyond float32's range becomes inf there (as in torch).
  check_same_values(nan_to_num(x32, 0.0, 1e300), {0.0, kInf, std::numeric_limits<float>::lowest(), 1.5, -0.0}, 0);
  check_same_values(nan_to_num(x64.unsqueeze(0).expand({2, 5}), -1.0).select(0, 1),
                    {-1.0, std::numeric_limits<double>::max(), std::numeric_limits<double>::lowest(), 1.5, -0.0}, 0);
  // Integer and bool tensors are copied unchanged.
  const Tensor ints = tensor({1, -2}, {2}, int64);
  CHECK(nan_to_num(ints, 1.5).to_vector<int64_t>() == std::vector<int64_t>{1, -2});
  CHECK_FALSE(nan_to_num(ints).shares_storage(ints));
  CHECK(nan_to_num(tensor({1}, {1}, bool_)).dtype() == bool_);
}

// ---- logic

TEST_CASE("logical ops read non-zero (NaN included) as true and give bool", "[math][compare]") {
  const Tensor a = tensor({1, 1, 0, 0}, {4}, bool_);
  const Tensor b = tensor({1, 0, 1, 0}, {4}, bool_);
  CHECK(logical_and(a, b).to_vector<bool>() == std::vector<bool>{true, false, false, false});
  CHECK(logical_or(a, b).to_vector<bool>() == std::vector<bool>{true, true, true, false});
  CHECK(logical_xor(a, b).to_vector<bool>() == std::vector<bool>{false, true, true, false});
  CHECK(logical_not(a).to_vector<bool>() == std::vector<bool>{false, false, true, true});
  // Other dtypes, mixed and broadcast: torch.logical_and(torch.tensor([1., 0, 2]), torch.tensor([1, 1, 0]))
  // -> [True, False, False]; logical_or(tensor([nan, 0.]), tensor([0, 0])) -> [True, False].
  CHECK(logical_and(tensor({1, 0, 2}, {3}, float32), tensor({1, 1, 0}, {3}, int64)).to_vector<bool>() ==
        std::vector<bool>{true, false, false});
  CHECK(logical_or(tensor({kNaN, 0}, {2}), tensor({0, 0}, {2}, int64)).to_vector<bool>() == std::vector<bool>{true, false});
  CHECK(logical_xor(tensor({2, 0}, {2}, uint8), tensor({0.5, 0}, {2})).to_vector<bool>() == std::vector<bool>{false, false});
  CHECK(logical_not(tensor({2, 0, -0.0}, {3}, float64)).to_vector<bool>() == std::vector<bool>{false, true, true});
  const Tensor grid = logical_and(tensor({1, 0}, {2, 1}, bool_), tensor({1, 1, 0}, {3}, int32));
  CHECK(grid.dtype() == bool_);
  CHECK(grid.shape() == Shape{2, 3});
  CHECK(grid.to_vector<bool>() == std::vector<bool>{true, true, false, false, false, false});
  CHECK(logical_not(a.slice(0, 0, 4, 2)).to_vector<bool>() == std::vector<bool>{false, true});
  CHECK_THROWS_WITH(logical_or(zeros({2}), zeros({3})), Contains("logical_or") && Contains("[2]") && Contains("[3]"));
}
