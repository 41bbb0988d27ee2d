#pragma once
// Fused backward passes of activations (issue 13): one pass where the derivative written with
// element-wise ops would take several. The forward passes are entries of pointwise.def.
#include "nabla/tensor/tensor.hpp"

namespace nabla::kernels {

// grad_output * silu'(self), silu'(x) = s (1 + x (1 - s)) with s = sigmoid(x). Same shapes, one
// float dtype.
Tensor silu_backward(const Tensor& grad_output, const Tensor& self);

}  // namespace nabla::kernels
