#pragma once
// Shared by the nn layer, loss and module tests: a gradcheck wrapper that also proves every input
// receives a non-zero gradient, the samplers that keep inputs away from kinks and ties, and
// readable printing of shapes in Catch2 failure messages.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>
#include <vector>

#include "nabla/nn.hpp"

namespace Catch {
template <>
struct StringMaker<nabla::Dims> {
  static std::string convert(const nabla::Dims& dims) { return nabla::to_string(dims); }
};
}  // namespace Catch

namespace nn_test {

using Args = std::vector<nabla::Tensor>;

// ---- samplers (float64)

inline nabla::Tensor normal_values(const nabla::Shape& shape, nabla::Generator& generator) {
  return nabla::randn(shape, nabla::float64, generator);
}

// |x| in [0.5, 2] with a random sign: away from the kinks of relu and leaky_relu.
inline nabla::Tensor away_from_zero(const nabla::Shape& shape, nabla::Generator& generator) {
  const nabla::Tensor magnitude = nabla::uniform(shape, 0.5, 2.0, nabla::float64, generator);
  const nabla::Tensor sign = nabla::sub(nabla::mul(nabla::bernoulli(shape, 0.5, nabla::float64, generator), 2.0), 1.0);
  return nabla::mul(magnitude, sign);
}

// Every element at least 0.25 from every other, in random order: max pooling never sees a tie,
// so a +-eps step never changes which element wins.
inline nabla::Tensor distinct(const nabla::Shape& shape, nabla::Generator& generator) {
  const int64_t n = nabla::shape_numel(shape);
  const nabla::Tensor rank = nabla::randperm(n, generator).to(nabla::float64);
  const nabla::Tensor jitter = nabla::uniform({n}, 0.0, 0.05, nabla::float64, generator);
  return nabla::add(nabla::mul(nabla::sub(rank, 0.5 * static_cast<double>(n - 1)), 0.3), jitter).reshape(shape);
}

// ---- gradient checks

struct Tolerance {
  double eps = 1e-6;
  double atol = 1e-5;
  double rtol = 1e-3;
};

// Gradchecks fn at `inputs` (float64), then proves that each float input gets a gradient that is
// not all zeros, so a check cannot pass because both sides were zero for some input.
inline void check_gradients(const std::string& label, const nabla::autograd::DifferentiableFunction& fn,
                            const std::vector<nabla::Tensor>& inputs, Tolerance tolerance = {}) {
  INFO("gradcheck: " << label);
  nabla::autograd::GradcheckResult result;
  try {
    result = nabla::autograd::gradcheck(
        fn, inputs, {.eps = tolerance.eps, .atol = tolerance.atol, .rtol = tolerance.rtol, .raise_on_failure = false});
  } catch (const std::exception& e) {
    FAIL_CHECK("threw: " << e.what());
    return;
  }
  INFO("report: " << result.report);
  CHECK(result.passed);

  std::vector<nabla::Tensor> vars;
  std::vector<nabla::Tensor> wrt;
  for (const nabla::Tensor& input : inputs) {
    const bool differentiable = nabla::is_floating(input.dtype());
    vars.push_back(input.clone().detach().requires_grad_(differentiable));
    if (differentiable) wrt.push_back(vars.back());
  }
  const nabla::Tensor out = fn(vars);
  REQUIRE(out.requires_grad());
  nabla::Generator generator(99);
  const nabla::Tensor weights = nabla::uniform(out.shape(), 0.5, 1.5, out.dtype(), generator);
  const std::vector<nabla::Tensor> grads =
      nabla::autograd::grad({out}, wrt, {nabla::Tensor(weights)}, {.allow_unused = true});
  for (size_t i = 0; i < grads.size(); ++i) {
    INFO("input " << i << " of shape " << nabla::to_string(wrt[i].shape()) << " got no gradient (or only zeros)");
    REQUIRE(grads[i].defined());
    const std::vector<double> g = grads[i].to_vector<double>();
    const double largest = std::accumulate(g.begin(), g.end(), 0.0, [](double m, double v) { return std::max(m, std::abs(v)); });
    CHECK(largest > 0.0);
  }
}

// The largest |a - b| over two tensors of one shape (any float dtypes).
inline double max_abs_difference(const nabla::Tensor& a, const nabla::Tensor& b) {
  REQUIRE(a.shape() == b.shape());
  const std::vector<double> x = a.to_vector<double>();
  const std::vector<double> y = b.to_vector<double>();
  double largest = 0.0;
  for (size_t i = 0; i < x.size(); ++i) largest = std::max(largest, std::abs(x[i] - y[i]));
  return largest;
}

}  // namespace nn_test
