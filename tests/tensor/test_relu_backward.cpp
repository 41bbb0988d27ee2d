#include <catch2/catch.hpp>

#include "nabla/nabla.hpp"

using namespace nabla;

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
