#pragma once
// Private: 3x3, stride-1 convolutions by Winograd's minimal filtering F(4x4, 3x3) (Lavin & Gray,
// "Fast Algorithms for Convolutional Neural Networks", 2015). Each 4x4 block of output comes from
// a 6x6 block of input with 36 multiplies per channel pair instead of 144: the input and filter
// are transformed into 36 planes, the channel sums become 36 GEMMs, and the output is
// transformed back. Both gradients are adjoints of the same transforms: the filter gradient
// dU = dM V^T, the input gradient dV = U^T dM (then the input transform's adjoint), with
// dM = A dY A^T.
// Shapes are the caller's to check.
#include <cstdint>

#include "nabla/tensor/conv_kernels.hpp"

namespace nabla::kernels::detail {

struct Winograd3x3 {
  int64_t batch = 0, in_channels = 0, out_channels = 0;
  Size2d in, padding, out;  // out = in + 2 * padding - 2
};

// y [N, K, OH, OW] = x [N, C, H, W] (*) weight [K, C, 3, 3] + bias [K] (bias may be null), then
// max(y, 0) when relu, applied as each tile is written.
template <class T>
void winograd_conv3x3(const T* x, const T* weight, const T* bias, T* y, const Winograd3x3& g, bool relu = false);

// max_pool2d(relu(y), 2x2, stride 2) of the convolution above, without writing y: pooled
// [N, K, OH/2, OW/2] and each winner's index within its OH x OW plane (as max_pool2d's).
template <class T>
void winograd_conv3x3_relu_max_pool(const T* x, const T* weight, const T* bias, T* pooled, int64_t* indices,
                                    const Winograd3x3& g);

// grad_x [N, C, H, W] = the gradient of the convolution above with respect to its input, given
// grad_y [N, K, OH, OW] (the adjoint: dV = U^T (A dY A^T), then the input transform's adjoint).
template <class T>
void winograd_conv3x3_input_grad(const T* grad_y, const T* weight, T* grad_x, const Winograd3x3& g);

// grad_weight [K, C, 3, 3] = the gradient of the convolution above with respect to its weight.
template <class T>
void winograd_conv3x3_weight_grad(const T* x, const T* grad_y, T* grad_weight, const Winograd3x3& g);

// Both gradients at once, sharing A dY A^T (what a training step needs).
template <class T>
void winograd_conv3x3_backward(const T* x, const T* grad_y, const T* weight, T* grad_x, T* grad_weight,
                               const Winograd3x3& g);

// The same, given the gradient of max_pool2d(y, 2x2, stride 2) instead of y's: grad_y is
// max_pool2d_backward(grad_pooled, indices), rebuilt a band at a time and never written whole.
// An index outside its window (not one max_pool2d gave) is an error. With relu_values (the pooled
// relu outputs, laid out as grad_pooled), grad_pooled is first masked by relu's gradient,
// relu_backward(grad_pooled, relu_values), an image at a time in cache, and relu_sums [N, K] gets
// each image's and channel's sum of the masked gradient (as sum() over the positions).
template <class T>
void winograd_conv3x3_backward_pooled(const T* x, const T* grad_pooled, const int64_t* indices, const T* weight,
                                      T* grad_x, T* grad_weight, const Winograd3x3& g,
                                      const T* relu_values = nullptr, T* relu_sums = nullptr);

}  // namespace nabla::kernels::detail
