#pragma once
// The adjoints that ops' backward formulas are written with: each is itself a recorded,
// differentiable op (its own gradient is written beside it), so second derivatives work through
// them, and each has its gradcheck row. Users rarely call them; op authors may.
#include <optional>
#include <vector>

#include "nabla/autograd/tensor.hpp"

namespace nabla::detail {

// grad_output where output > 0, else 0: relu's gradient as one op (linear in grad_output).
Tensor relu_backward(const Tensor& grad_output, const Tensor& output);
// g * y * (1 - y): sigmoid's backward from its output y, differentiable in both.
Tensor sigmoid_backward(const Tensor& grad_output, const Tensor& output);
// The adjoint of slice: zeros of `shape` with `x` placed at the slice.
Tensor slice_backward(const Tensor& x, const Shape& shape, int64_t axis, int64_t start, int64_t end, int64_t step);
// Unfolds x [N, C, H, W] into columns [N, C*kh*kw, OH*OW], and its adjoint.
Tensor im2col(const Tensor& x, const Window2d& window);
Tensor col2im(const Tensor& columns, const Shape& image_shape, const Window2d& window);
// max_pool2d's adjoint: grad_output added at the winners (`indices`) in a zero input-shaped image.
Tensor max_pool2d_backward(const Tensor& grad_output, const Tensor& indices, const Shape& input_shape);
// Its adjoint, composed of differentiable ops: x [N, C, H, W] read at the winners, shaped as indices.
Tensor gather_winners(const Tensor& x, const Tensor& indices);
Tensor avg_pool2d_backward(const Tensor& grad_output, const Shape& input_shape, const Window2d& window,
                           bool count_include_pad = true, std::optional<int64_t> divisor_override = std::nullopt);
// conv2d's two adjoints: the gradient with respect to the input (a transposed convolution) and
// with respect to the weight. The three are linear in each argument and each one's gradient is
// written with the other two.
Tensor conv2d_backward_input(const Tensor& grad_output, const Tensor& weight, const Shape& input_shape,
                             const Conv2dParams& params);
Tensor conv2d_backward_weight(const Tensor& x, const Tensor& grad_output, const Shape& weight_shape,
                              const Conv2dParams& params);
// The same two given the gradient of a 2x2, stride-2 max pooling of the convolution's output and the
// pooling's indices, that is of grad_output = max_pool2d_backward(grad_pooled, indices, output
// shape): conv2d_relu_max_pool2d's backward. Computed together (kernels::conv2d_backward_pooled),
// they never write that output-sized gradient.
Tensor conv2d_backward_input_pooled(const Tensor& grad_pooled, const Tensor& indices, const Tensor& weight,
                                    const Shape& input_shape, const Conv2dParams& params);
Tensor conv2d_backward_weight_pooled(const Tensor& x, const Tensor& grad_pooled, const Tensor& indices,
                                     const Shape& weight_shape, const Conv2dParams& params);
// cross_entropy_rows' gradient, (softmax(x) * scale - q) * g[:, None] with g = grad per row (or the
// reduced loss's grad, shared out; scale and q from the target, class weights and smoothing: see
// nabla/tensor/loss.hpp), as one fused op whose derivatives in logits and grad give cross-entropy
// second derivatives.
Tensor cross_entropy_rows_backward(const Tensor& logits, const Tensor& target, const Tensor& grad,
                                   double label_smoothing = 0.0, Reduction reduction = Reduction::none,
                                   const Tensor& weight = {}, int64_t ignore_index = -100);

// ---- issue 13: scans
// Sums from the end along axis (x[i] + ... + x[n-1]): cumsum's adjoint, and cumsum is its.
Tensor reverse_cumsum(const Tensor& x, int64_t axis);

// ---- issue 13: shape and indexing
// pad's adjoint for reflect, replicate and circular padding (constant padding's is a crop): each
// element of grad added to the input element it was copied from.
Tensor pad_backward(const Tensor& grad, const Shape& input_shape, const std::vector<int64_t>& pad, PadMode mode);

// ---- issue 13: activations
// grad_output * silu'(self), one fused pass: silu's backward, differentiable in both arguments.
Tensor silu_backward(const Tensor& grad_output, const Tensor& self);
// grad_output where self > 0, else grad_output * negative_slope: leaky_relu's backward, linear in
// grad_output (and with zero derivative in self, away from 0).
Tensor leaky_relu_backward(const Tensor& grad_output, const Tensor& self, double negative_slope);

// ---- issue 13: convolution, pooling and resampling
// upsample2d's adjoint: each element of grad_output [N, C, OH, OW] spread back over the input
// positions it was interpolated from, into zeros of input_shape.
Tensor upsample2d_backward(const Tensor& grad_output, const Shape& input_shape, const Upsample2dParams& params);

}  // namespace nabla::detail
