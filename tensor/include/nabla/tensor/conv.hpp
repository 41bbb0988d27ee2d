#pragma once
// 2-d convolution (cross-correlation, as in PyTorch) as three kernels: the forward and its two
// adjoints. Each works image by image (im2col of one image into a per-thread buffer, then one
// GEMM per group), threads split the batch, and no batch-sized column matrix is ever built, so
// memory stays at the size of the activations.
#include "nabla/tensor/conv_kernels.hpp"
#include "nabla/tensor/tensor.hpp"

namespace nabla {

struct Conv2dParams {
  Size2d stride = 1;
  Size2d padding = 0;
  Size2d dilation = 1;
  int64_t groups = 1;
};

// x [N, C, H, W], weight [O, C/groups, kh, kw], bias [O] (optional) -> [N, O, OH, OW].
Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias, const Conv2dParams& params);
// The gradient with respect to x: the adjoint of conv2d in x (a transposed convolution).
Tensor conv2d_backward_input(const Tensor& grad_output, const Tensor& weight, const Shape& input_shape,
                             const Conv2dParams& params);
// The gradient with respect to the weight: sum over the batch of grad_output (x) columns(x)^T.
Tensor conv2d_backward_weight(const Tensor& x, const Tensor& grad_output, const Shape& weight_shape,
                              const Conv2dParams& params);

}  // namespace nabla
