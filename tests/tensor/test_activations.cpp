#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <vector>

#include "nabla/tensor.hpp"

using namespace nabla;
using namespace nabla::kernels;

TEST_CASE("relu_backward passes the gradient where the output is positive", "[elementwise][relu]") {
  const Tensor grad = tensor({1, 2, 3, 4, 5, 6}, {2, 3});
  const Tensor output = tensor({0.5, 0, 2, 0, 0.1, 7}, {2, 3});
  CHECK(equal(relu_backward(grad, output), tensor({1, 0, 3, 0, 5, 6}, {2, 3})));
  // Same as the three-pass form it replaces, on a transposed (non-contiguous) input.
  Generator generator(3);
  const Tensor g = randn({5, 4}, float64, generator).t();
  const Tensor y = relu(randn({4, 5}, float64, generator));
  CHECK(equal(relu_backward(g, y), mul(g, gt(y, 0.0).to(float64))));
  CHECK_THROWS_WITH(relu_backward(grad, tensor({1, 2}, {2})), Catch::Contains("relu_backward") && Catch::Contains("[2, 3]"));
}

TEST_CASE("sigmoid_backward is g * y * (1 - y)", "[elementwise]") {
  const Tensor g = tensor({1, -2, 3, 0.5}, {2, 2}, float64);
  const Tensor y = tensor({0.5, 0.25, 0.9, 0.0}, {2, 2}, float64);
  CHECK(allclose(sigmoid_backward(g, y), tensor({0.25, -0.375, 0.27, 0.0}, {2, 2}, float64)));
  CHECK_THROWS_WITH(sigmoid_backward(g, tensor({1, 2}, {2})), Catch::Contains("sigmoid_backward") && Catch::Contains("[2, 2]"));
}

TEST_CASE("float32 sigmoid (vectorised exp) matches double precision over the whole range", "[elementwise]") {
  std::vector<float> values;
  for (double v = -120.0; v <= 120.0; v += 0.0137) values.push_back(static_cast<float>(v));
  for (float v : {0.0f, -0.0f, 88.7f, -88.7f, 104.0f, -104.0f, 1e-8f, -1e-8f}) values.push_back(v);
  const Tensor x = from_vector(values, {static_cast<int64_t>(values.size())});
  const std::vector<float> y = sigmoid(x).to_vector<float>();
  int64_t mismatches = 0;
  for (size_t i = 0; i < values.size(); ++i) {
    const double expected = 1.0 / (1.0 + std::exp(-static_cast<double>(values[i])));
    if (std::abs(y[i] - expected) > 1e-40 + 3e-7 * expected) ++mismatches;
  }
  CHECK(mismatches == 0);
  const float inf = std::numeric_limits<float>::infinity();
  const std::vector<float> special = sigmoid(from_vector(std::vector<float>{inf, -inf, std::nanf("")}, {3})).to_vector<float>();
  CHECK(special[0] == 1.0f);
  CHECK(special[1] == 0.0f);
  CHECK(std::isnan(special[2]));
}

TEST_CASE("leaky_relu keeps NaN, infinities and -0.0 as PyTorch does, in vector bodies and tails", "[elementwise]") {
  // torch 1.13, slope 0.2: leaky_relu([nan, -0., 0., -inf, inf, -2, 3]) = [nan, -0., 0., -inf, inf, -0.4, 3],
  // and its backward for grad [5, 1, 1, 1, 1, 1, nan] is [1, 0.2, 0.2, 0.2, 1, 0.2, nan]: x > 0 ? g
  // : g * slope, so NaN inputs take the slope. The seven values repeat over 37 elements, so that
  // each meets every lane of the vectorised loop and its scalar tail.
  const double nan = std::numeric_limits<double>::quiet_NaN(), inf = std::numeric_limits<double>::infinity();
  const std::vector<double> x{nan, -0.0, 0.0, -inf, inf, -2.0, 3.0};
  const std::vector<double> y{nan, -0.0, 0.0, -inf, inf, -0.4, 3.0};
  const std::vector<double> g{5, 1, 1, 1, 1, 1, nan};
  const std::vector<double> dx{1, 0.2, 0.2, 0.2, 1, 0.2, nan};
  auto repeated = [](const std::vector<double>& pattern) {
    std::vector<double> out(37);
    for (size_t i = 0; i < out.size(); ++i) out[i] = pattern[i % pattern.size()];
    return out;
  };
  for (DType dtype : {float32, float64}) {
    INFO(dtype_name(dtype));
    const Tensor input = from_vector(repeated(x), {37}).to(dtype);
    const std::vector<double> values = leaky_relu(input, 0.2).to(float64).to_vector<double>();
    const std::vector<double> grads =
        leaky_relu_backward(from_vector(repeated(g), {37}).to(dtype), input, 0.2).to(float64).to_vector<double>();
    for (size_t i = 0; i < values.size(); ++i) {
      INFO("element " << i);
      const double want = y[i % y.size()], want_grad = dx[i % dx.size()];
      CHECK(std::isnan(values[i]) == std::isnan(want));
      if (!std::isnan(want)) {
        CHECK(values[i] == Approx(want).epsilon(1e-7));
        CHECK(std::signbit(values[i]) == std::signbit(want));
      }
      CHECK(std::isnan(grads[i]) == std::isnan(want_grad));
      if (!std::isnan(want_grad)) CHECK(grads[i] == Approx(want_grad).epsilon(1e-7));
    }
  }
}
