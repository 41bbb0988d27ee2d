#pragma once
// Fused backward passes of activations (issue 13): one pass where the derivative written with
// element-wise ops would take several. The forward passes are entries of pointwise.def.
#include "nabla/tensor/tensor.hpp"

namespace nabla::kernels {

// grad_output * silu'(self), silu'(x) = s (1 + x (1 - s)) with s = sigmoid(x). Same shapes, one
// float dtype.
Tensor silu_backward(const Tensor& grad_output, const Tensor& self);

// ---- leaky_relu: one pass each way (the composition with `where` took three)
// x where x > 0, else x * negative_slope (float dtypes; NaN stays NaN).
Tensor leaky_relu(const Tensor& x, double negative_slope);
// grad_output where self > 0, else grad_output * negative_slope: the slope side at 0, as PyTorch.
// Same shapes, one float dtype.
Tensor leaky_relu_backward(const Tensor& grad_output, const Tensor& self, double negative_slope);

}  // namespace nabla::kernels
