#pragma once
// Scans along one axis (negative counts from the end). Float tensors keep their dtype (float32
// accumulates in double, as PyTorch's CPU kernels do); integer tensors scan in int64, wrapping on
// overflow, and return int64.
#include "nabla/tensor/tensor.hpp"

namespace nabla::kernels {

// out[..., i, ...] = x[..., 0, ...] + ... + x[..., i, ...]
Tensor cumsum(const Tensor& x, int64_t axis);
// out[..., i, ...] = x[..., 0, ...] * ... * x[..., i, ...]
Tensor cumprod(const Tensor& x, int64_t axis);
// Sums from the end: out[..., i, ...] = x[..., i, ...] + ... + x[..., n-1, ...]. cumsum's adjoint.
Tensor reverse_cumsum(const Tensor& x, int64_t axis);
// The gradient of cumprod(input, axis) for the output gradient `grad`, exact when the input holds
// zeros: grad_input[j] = sum over k >= j of grad[k] * prod over i <= k, i != j of input[i], in O(n)
// per line. Float tensors of one shape.
Tensor cumprod_backward(const Tensor& grad, const Tensor& input, int64_t axis);

}  // namespace nabla::kernels
