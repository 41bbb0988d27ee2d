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
