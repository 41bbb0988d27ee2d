// The math of issue 13 through the Tensor API: methods that forward to the free functions,
// gradients at points checked against PyTorch's (values pasted from torch 1.13), the ops without
// a gradient, bool masks in where/masked_fill, and bool/int32 tensors in autograd.
#include <catch2/catch.hpp>
#include <nabla/autograd.hpp>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

using namespace nabla;
using Catch::Contains;

namespace {

const double kInf = std::numeric_limits<double>::infinity();
const double kNaN = std::numeric_limits<double>::quiet_NaN();

std::vector<double> values(const Tensor& t) { return t.to_vector<double>(); }

void check_close(const std::vector<double>& actual, const std::vector<double>& expected) {
  REQUIRE(actual.size() == expected.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    INFO("element " << i << ": " << actual[i] << " vs " << expected[i]);
    if (std::isnan(expected[i])) {
      CHECK(std::isnan(actual[i]));
    } else {
      CHECK(actual[i] == Approx(expected[i]).epsilon(1e-12));
    }
  }
}

// The gradient of sum(f(x)) at x.
std::vector<double> gradient_of(const std::function<Tensor(const Tensor&)>& f, const Tensor& at) {
  const Tensor x = at.clone().requires_grad_();
  f(x).sum().backward();
  return values(x.grad());
}

}  // namespace

TEST_CASE("math api: methods are the free functions", "[autograd][tensor][math]") {
  const Tensor x = tensor({0.3, -1.7, 2.5, -0.5}, {2, 2}, float64);
  const Tensor y = tensor({1.5, -0.75}, {2}, float64);
  CHECK(equal(x.sin(), sin(x)));
  CHECK(equal(x.t().cos(), cos(x.t())));
  CHECK(equal(x.atan(), atan(x)));
  CHECK(equal(x.square(), x * x));
  CHECK(equal(x.round(), round(x)));
  CHECK(equal(x.frac(), x - x.trunc()));
  CHECK(equal(x.reciprocal(), 1.0 / x));
  CHECK(equal(x.atan2(y), atan2(x, y)));
  CHECK(equal(x.fmod(y), fmod(x, y)));
  CHECK(equal(x.fmod(0.5), fmod(x, 0.5)));
  CHECK(equal(x.remainder(y), remainder(x, y)));
  CHECK(equal(x.remainder(-0.5), remainder(x, -0.5)));
  CHECK(equal(x.nan_to_num(1.0, 2.0, -2.0), nan_to_num(x, 1.0, 2.0, -2.0)));
  CHECK(equal(x.isnan(), isnan(x)));
  CHECK(equal(x.isinf(), isinf(x)));
  CHECK(equal(x.isfinite(), isfinite(x)));
  CHECK(x.isfinite().dtype() == bool_);
}

TEST_CASE("math api: gradients at points match PyTorch's", "[autograd][math]") {
  // x.grad after torch.<f>(x).sum().backward() with x = [0.3, 2.0] (float64), from torch 1.13.
  const Tensor x = tensor({0.3, 2.0}, {2}, float64);
  check_close(gradient_of([](const Tensor& t) { return sin(t); }, x), {0.955336489125606, -0.4161468365471424});
  check_close(gradient_of([](const Tensor& t) { return cos(t); }, x), {-0.29552020666133955, -0.9092974268256817});
  check_close(gradient_of([](const Tensor& t) { return tan(t); }, x), {1.095688915322547, 5.774399204041917});
  check_close(gradient_of([](const Tensor& t) { return asin(t); }, x), {1.0482848367219182, kNaN});
  check_close(gradient_of([](const Tensor& t) { return acos(t); }, x), {-1.0482848367219182, kNaN});
  check_close(gradient_of([](const Tensor& t) { return atan(t); }, x), {0.9174311926605504, 0.2});
  check_close(gradient_of([](const Tensor& t) { return sinh(t); }, x), {1.0453385141288605, 3.7621956910836314});
  check_close(gradient_of([](const Tensor& t) { return cosh(t); }, x), {0.3045202934471426, 3.626860407847019});
  check_close(gradient_of([](const Tensor& t) { return log1p(t); }, x), {0.7692307692307692, 0.3333333333333333});
  check_close(gradient_of([](const Tensor& t) { return expm1(t); }, x), {1.3498588075760032, 7.38905609893065});
  check_close(gradient_of([](const Tensor& t) { return log2(t); }, x), {4.808983469629878, 0.7213475204444817});
  check_close(gradient_of([](const Tensor& t) { return log10(t); }, x), {1.4476482730108395, 0.21714724095162594});
  check_close(gradient_of([](const Tensor& t) { return rsqrt(t); }, x), {-3.0429030972509232, -0.17677669529663684});
  check_close(gradient_of([](const Tensor& t) { return reciprocal(t); }, x), {-11.111111111111112, -0.25});
  check_close(gradient_of([](const Tensor& t) { return square(t); }, x), {0.6, 4.0});
  check_close(gradient_of([](const Tensor& t) { return frac(t); }, x), {1, 1});
  for (const auto& rounding : {+[](const Tensor& t) { return floor(t); }, +[](const Tensor& t) { return ceil(t); },
                               +[](const Tensor& t) { return round(t); }, +[](const Tensor& t) { return trunc(t); }}) {
    check_close(gradient_of(rounding, x), {0, 0});
  }
}

TEST_CASE("math api: gradients of atan2, fmod, remainder and nan_to_num match PyTorch's", "[autograd][math]") {
  {  // torch.atan2(x, y) with x = [1, -2], y = [3, 0.5]
    const Tensor x = tensor({1, -2}, {2}, float64).requires_grad_();
    const Tensor y = tensor({3, 0.5}, {2}, float64).requires_grad_();
    atan2(x, y).sum().backward();
    check_close(values(x.grad()), {0.30000000000000004, 0.11764705882352941});
    check_close(values(y.grad()), {-0.1, 0.47058823529411764});
  }
  {  // fmod: grad for self, -grad * trunc(self / other) for other; remainder: floor instead.
    const Tensor x = tensor({5, -5}, {2}, float64).requires_grad_();
    const Tensor y = tensor({3, 3}, {2}, float64).requires_grad_();
    fmod(x, y).sum().backward();
    check_close(values(x.grad()), {1, 1});
    check_close(values(y.grad()), {-1, 1});
    x.zero_grad();
    y.zero_grad();
    remainder(x, y).sum().backward();
    check_close(values(x.grad()), {1, 1});
    check_close(values(y.grad()), {-1, 2});
  }
  {  // a broadcast divisor sums its gradient: torch gives y.grad == [1] for x = [7.5, -7.5], y = [2]
    const Tensor x = tensor({7.5, -7.5}, {2}, float64).requires_grad_();
    const Tensor y = tensor({2}, {1}, float64).requires_grad_();
    remainder(x, y).sum().backward();
    check_close(values(x.grad()), {1, 1});
    check_close(values(y.grad()), {1});
  }
  {  // torch.nan_to_num(x).sum().backward() with x = [nan, inf, -inf, 1, 2]: [0, 0, 0, 1, 1]
    const Tensor x = tensor({kNaN, kInf, -kInf, 1, 2}, {5}, float64).requires_grad_();
    nan_to_num(x).sum().backward();
    check_close(values(x.grad()), {0, 0, 0, 1, 1});
    CHECK(std::string(nan_to_num(x).grad_fn()->name()) == "nan_to_num");
  }
  {  // remainder(scalar, tensor) is differentiable in the divisor (PyTorch has no formula for it).
    const Tensor y = tensor({3, -2}, {2}, float64).requires_grad_();
    remainder(5.0, y).sum().backward();
    check_close(values(y.grad()), {-1, 3});  // -floor(5 / 3), -floor(5 / -2)
  }
}

TEST_CASE("math api: the NaN/infinity tests and logic have no gradient", "[autograd][math]") {
  const Tensor x = tensor({1.0, kNaN, kInf}, {3}, float64).requires_grad_();
  for (const Tensor& result : {isnan(x), isinf(x), isfinite(x), x.isnan().logical_not(), logical_or(x, x)}) {
    CHECK(result.dtype() == bool_);
    CHECK_FALSE(result.requires_grad());
    CHECK(result.is_leaf());
  }
}

TEST_CASE("math api: bool masks in where and masked_fill, uint8 still accepted, others refused", "[autograd][math]") {
  const Tensor x = tensor({1, -2, 3}, {3}, float64).requires_grad_();
  const Tensor mask = x.gt(0.0);
  CHECK(mask.dtype() == bool_);
  where(mask, x, x * 10.0).sum().backward();
  CHECK(values(x.grad()) == std::vector<double>{1, 10, 1});
  CHECK(values(x.masked_fill(mask, 0.0)) == std::vector<double>{0, -2, 0});
  CHECK(values(x.masked_fill(mask.to(uint8), 0.0)) == std::vector<double>{0, -2, 0});
  CHECK_THROWS_WITH(x.masked_fill(tensor({1, 0, 1}, {3}, float64), 0.0),
                    Contains("masked_fill") && Contains("bool") && Contains("float64"));
  CHECK_THROWS_WITH(where(tensor({1, 0, 1}, {3}, int64), x, x), Contains("where") && Contains("int64"));
  const Tensor y = x.detach().clone();
  y.masked_fill_(y.lt(0.0), 5.0);
  CHECK(values(y) == std::vector<double>{1, 5, 3});
  CHECK_THROWS_WITH(y.masked_fill_(ones({3}), 0.0), Contains("masked_fill_") && Contains("float32"));
  CHECK_THROWS_WITH(y.masked_fill_(Tensor(), 0.0), Contains("masked_fill_") && Contains("undefined"));
}

TEST_CASE("math api: bool and int32 tensors cannot require grad, and convert differentiably", "[autograd][dtype]") {
  CHECK_THROWS_WITH(tensor({1}, {1}, bool_).requires_grad_(), Contains("bool"));
  CHECK_THROWS_WITH(tensor({1}, {1}, int32).requires_grad_(), Contains("int32"));
  // A float computed from a mask carries no gradient to the mask; the float path still works.
  const Tensor x = tensor({-1, 2}, {2}, float64).requires_grad_();
  (x * x.gt(0.0)).sum().backward();
  CHECK(values(x.grad()) == std::vector<double>{0, 1});
  CHECK(to_string(x.gt(0.0)).find("[False, True]") != std::string::npos);
}
