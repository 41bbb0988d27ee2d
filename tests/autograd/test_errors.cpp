// What autograd says when something is wrong: misuse of backward, dtypes that cannot have
// gradients, gradcheck's refusals and reports, and anomaly mode naming the op at fault.
#include <catch2/catch.hpp>
#include <nabla/autograd.hpp>

#include <cmath>
#include <string>
#include <vector>

using namespace nabla;
using Catch::Contains;

namespace {

using Args = std::vector<Tensor>;

// A deliberately wrong op: forward x^2, backward x (the factor 2 is missing).
Tensor bad_square(const Tensor& x) {
  return record("bad_square", {x}, kernels::mul(x.raw(), x.raw()),
                [saved = save(x)](const Tensor& grad) { return Gradients{grad * saved.get()}; });
}

// The number that follows `key` in `text` ("numeric 3.000000001" -> 3.000000001).
double number_after(const std::string& text, const std::string& key) {
  const size_t at = text.find(key);
  REQUIRE(at != std::string::npos);
  return std::stod(text.substr(at + key.size()));
}

}  // namespace

TEST_CASE("backward on a non-scalar needs a grad_output of its shape", "[autograd][errors]") {
  Tensor x = ones({2, 3}, float64).requires_grad_();
  const Tensor y = x * 2.0;
  CHECK_THROWS_WITH(y.backward(), Contains("scalar") && Contains("[2, 3]") && Contains("grad_output"));
  CHECK_THROWS_WITH(y.backward(ones({3, 2}, float64)),
                    Contains("grad_output") && Contains("[3, 2]") && Contains("[2, 3]"));
  y.backward(full({2, 3}, 0.5, float64));
  CHECK(x.grad().to_vector<double>() == std::vector<double>(6, 1.0));
}

TEST_CASE("only float tensors can require gradients", "[autograd][errors]") {
  Tensor indices(arange(4));
  CHECK_THROWS_WITH(indices.requires_grad_(), Contains("requires_grad_") && Contains("int64") && Contains("float"));
  CHECK_THROWS_WITH(tensor({1, 0}, {}, uint8).requires_grad_(), Contains("uint8"));
  CHECK_FALSE(indices.requires_grad());
  CHECK_NOTHROW(ones({2}, float32).requires_grad_());
}

TEST_CASE("requires_grad_ is refused on a non-leaf", "[autograd][errors]") {
  Tensor x = ones({2}, float64).requires_grad_();
  Tensor y = exp(x);
  CHECK_THROWS_WITH(y.requires_grad_(false), Contains("leaves") && Contains("exp") && Contains("detach"));
}

TEST_CASE("backward of something that does not require grad explains why", "[autograd][errors]") {
  const Tensor x(ones({2}, float64));
  CHECK_THROWS_WITH(sum(x * 2.0).backward(), Contains("does not require grad") && Contains("requires_grad_"));
}

TEST_CASE("gradcheck refuses float32 inputs", "[autograd][errors][gradcheck]") {
  const auto fn = [](const Args& x) { return exp(x[0]); };
  const Tensor input = ones({3}, float32);
  CHECK_THROWS_WITH(autograd::gradcheck(fn, {input}), Contains("float32") && Contains("float64"));
  CHECK_THROWS_WITH(autograd::gradgradcheck(fn, {input}), Contains("float32"));
  // The explicit opt-in checks the same function on float64 copies.
  const autograd::GradcheckResult result = autograd::gradcheck(fn, {input}, {.cast_to_float64 = true});
  CHECK(result.passed);
  CHECK(result.max_abs_analytic == Approx(std::exp(1.0)));
}

TEST_CASE("gradcheck reports a wrong gradient: input, element, analytic and numeric values",
          "[autograd][errors][gradcheck]") {
  // x = (0.25, 1.5): analytic x, numeric 2x; the worst element is 1 (error 1.5).
  const auto fn = [](const Args& x) { return bad_square(x[0]); };
  const Tensor input = tensor({0.25, 1.5}, {}, float64);

  const autograd::GradcheckResult result = autograd::gradcheck(fn, {input}, {.raise_on_failure = false});
  CHECK_FALSE(result.passed);
  CHECK_FALSE(static_cast<bool>(result));
  const std::string& report = result.report;
  INFO(report);
  CHECK_THAT(report, Contains("input 0") && Contains("element 1") && Contains("analytic") && Contains("numeric"));
  CHECK(number_after(report, "analytic ") == Approx(1.5));
  CHECK(number_after(report, "numeric ") == Approx(3.0).epsilon(1e-6));
  CHECK(result.max_abs_analytic == Approx(1.5));

  // By default the report is thrown.
  CHECK_THROWS_WITH(autograd::gradcheck(fn, {input}), Contains("input 0") && Contains("element 1"));

  // A correct op at the same point passes.
  const auto good = [](const Args& x) { return x[0] * x[0]; };
  CHECK(autograd::gradcheck(good, {input}).passed);
}

TEST_CASE("gradcheck of a second input names that input", "[autograd][errors][gradcheck]") {
  const auto fn = [](const Args& x) { return x[0] + bad_square(x[1]); };
  const autograd::GradcheckResult result =
      autograd::gradcheck(fn, {tensor({1.0}, {}, float64), tensor({2.0}, {}, float64)}, {.raise_on_failure = false});
  CHECK_FALSE(result.passed);
  CHECK_THAT(result.report, Contains("input 1"));
}

TEST_CASE("anomaly mode names the op that produced NaN or Inf", "[autograd][errors]") {
  SECTION("forward: log of a negative number") {
    DetectAnomalyGuard anomaly;
    Tensor x = tensor({-1.0, 2.0}, {}, float64).requires_grad_();
    CHECK_THROWS_WITH(log(x), Contains("'log'") && Contains("NaN"));
  }
  SECTION("forward: log of 0") {
    DetectAnomalyGuard anomaly;
    const Tensor x(tensor({0.0, 2.0}, {}, float64));
    CHECK_THROWS_WITH(log(x), Contains("'log'") && Contains("[2]"));
  }
  SECTION("backward: sqrt at 0 has an infinite gradient") {
    DetectAnomalyGuard anomaly;
    Tensor x = tensor({0.0, 4.0}, {}, float64).requires_grad_();
    const Tensor y = sum(sqrt(x));  // the forward is finite
    CHECK(y.item() == 2.0);
    CHECK_THROWS_WITH(y.backward(), Contains("backward") && Contains("sqrt"));
  }
  SECTION("off by default, and restored when the guard ends") {
    CHECK_FALSE(is_anomaly_enabled());
    {
      DetectAnomalyGuard anomaly;
      CHECK(is_anomaly_enabled());
    }
    CHECK_FALSE(is_anomaly_enabled());
    Tensor x = tensor({-1.0}, {}, float64).requires_grad_();
    const Tensor y = log(x);
    CHECK(std::isnan(y.item()));
    Tensor z = tensor({0.0}, {}, float64).requires_grad_();
    sum(sqrt(z)).backward();
    CHECK(std::isinf(z.grad().item()));
  }
}

namespace {
// cube whose backward is right but written on plain tensors: 3x^2 is a constant to autograd, so
// first derivatives are right and second derivatives are wrong.
Tensor cube_with_constant_backward(const Tensor& x) {
  const kernels::Tensor& v = x.raw();
  return record("cube_with_constant_backward", {x}, kernels::mul(kernels::mul(v, v), v),
                [three_x_squared = kernels::mul(kernels::mul(v, v), 3.0)](const Tensor& grad) {
                  return Gradients{grad * Tensor(three_x_squared)};
                });
}
}  // namespace

TEST_CASE("gradgradcheck catches a backward formula that is not differentiable", "[autograd][errors][gradcheck]") {
  const auto fn = [](const Args& x) { return cube_with_constant_backward(x[0]); };
  const Tensor input = tensor({0.5, -1.5, 2.0}, {}, float64);
  CHECK(autograd::gradcheck(fn, {input}).passed);
  const autograd::GradcheckResult second = autograd::gradgradcheck(fn, {input}, {.raise_on_failure = false});
  CHECK_FALSE(second.passed);
  CHECK_THAT(second.report, Contains("input 0"));
}
