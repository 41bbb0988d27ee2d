#pragma once
// 2-d convolution (cross-correlation, as in PyTorch) as three kernels: the forward and its two
// adjoints. Threads split the batch and work on blocks of images in buffers of their own, so no
// batch-sized column matrix is built (unless the forward is asked to keep its columns for the
// backward, within a bound) and memory stays near the size of the activations.
// Two algorithms: im2col + GEMM (any shape), and Winograd F(4x4, 3x3) for 3x3 stride-1
// convolutions, which needs 4x fewer multiplies (float32 results agree to about 1e-4 relative,
// against about 1e-6 for im2col; float64 to 1e-11).
#include <utility>

#include "nabla/tensor/conv_kernels.hpp"
#include "nabla/tensor/tensor.hpp"

namespace nabla {

// automatic: Winograd where it applies (3x3 kernel, stride 1, dilation 1, groups 1, padding at
// most 2) and pays (at least 8 channels in and out), im2col otherwise. Asking for winograd where
// it does not apply is an error.
enum class ConvAlgorithm { automatic, im2col, winograd };

struct Conv2dParams {
  Size2d stride = 1;
  Size2d padding = 0;
  Size2d dilation = 1;
  int64_t groups = 1;
  ConvAlgorithm algorithm = ConvAlgorithm::automatic;
};

}  // namespace nabla

namespace nabla::kernels {

// x [N, C, H, W], weight [O, C/groups, kh, kw], bias [O] (optional) -> [N, O, OH, OW]. With relu,
// max(y, 0) (NaN kept, as relu) is written in the same pass that writes y: conv2d_relu's forward.
// With kept_columns (not null), *kept_columns receives the columns x was unfolded into, where the
// path that suits them runs (batched, channels last, up to 64 MB), for the weight gradient to
// reuse rather than unfold x again (PyTorch's slow_conv2d keeps its columns the same way); it is
// left undefined elsewhere. They are opaque: hand them only to this convolution's backward.
Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias, const Conv2dParams& params,
              bool relu = false, Tensor* kept_columns = nullptr);
// max_pool2d(conv2d(x, weight, bias, params, relu = true), 2x2 window, stride 2): values and
// indices as max_pool2d's (each winner's index within its OH x OW plane). Where Winograd computes
// the convolution, its output transform pools as it writes, and the convolution's own output
// never reaches memory; otherwise the two kernels run in turn.
PoolResult conv2d_relu_max_pool2d(const Tensor& x, const Tensor& weight, const Tensor& bias,
                                  const Conv2dParams& params);
// The gradient with respect to x: the adjoint of conv2d in x (a transposed convolution).
Tensor conv2d_backward_input(const Tensor& grad_output, const Tensor& weight, const Shape& input_shape,
                             const Conv2dParams& params);
// The gradient with respect to the weight: sum over the batch of grad_output (x) columns(x)^T,
// the columns conv2d kept for this x when given (checked: a mismatch is an error).
Tensor conv2d_backward_weight(const Tensor& x, const Tensor& grad_output, const Shape& weight_shape,
                              const Conv2dParams& params, const Tensor& kept_columns = Tensor());
// For y = relu(conv2d(x, w) + b) whose x needs no gradient (a first layer): {dL/dw, dL/db} from
// grad_output = dL/dy and y, the same values as conv2d_backward_weight(x, g) and
// sum(sum(g, {2, 3}), {0}) for g = relu_backward(grad_output, y), to the last bit. On the im2col
// paths g is formed a block of images at a time, in cache, and never written whole.
std::pair<Tensor, Tensor> conv2d_relu_backward_weight_bias(const Tensor& x, const Tensor& grad_output,
                                                           const Tensor& output, const Shape& weight_shape,
                                                           const Conv2dParams& params,
                                                           const Tensor& kept_columns = Tensor());
// Both at once, {grad_input, grad_weight}: what a training step needs. Equal to the two calls
// above; with Winograd it transforms grad_output once for both.
std::pair<Tensor, Tensor> conv2d_backward(const Tensor& x, const Tensor& grad_output, const Tensor& weight,
                                          const Conv2dParams& params, const Tensor& kept_columns = Tensor());
// The same given the gradient of a 2x2, stride-2 max pooling of the convolution's output (as
// conv2d_relu_max_pool2d's), with the pooling's indices: conv2d_backward(x, max_pool2d_backward(
// grad_pooled, indices, the output's shape), weight). With Winograd the output-sized gradient is
// rebuilt a band at a time inside its transform and never written whole; there an index outside
// its own 2x2 window (one no such pooling gives) is an error.
std::pair<Tensor, Tensor> conv2d_backward_pooled(const Tensor& x, const Tensor& grad_pooled, const Tensor& indices,
                                                 const Tensor& weight, const Conv2dParams& params);
// For (values, indices) = conv2d_relu_max_pool2d(x, weight, bias): all three gradients from
// grad_values = dL/dvalues. The same values as conv2d_backward_pooled(x, g, indices, weight) and
// sum(sum(g, {2, 3}), {0}) for g = relu_backward(grad_values, values), to the last bit. With
// Winograd, g is formed an image at a time, in cache, and never written whole.
struct ConvGradients {
  Tensor input, weight, bias;
};
ConvGradients conv2d_relu_backward_pooled(const Tensor& x, const Tensor& grad_values, const Tensor& values,
                                          const Tensor& indices, const Tensor& weight, const Conv2dParams& params);

// {conv2d(x, weight), conv2d_backward_weight(x, grad_output, weight's shape)}: the two kernels that
// read x's columns, sharing them. A transposed convolution's backward is exactly this pair (its
// grad_output as x, its input as grad_output); the batched im2col path unfolds x once for both,
// the other paths run the two kernels in turn.
std::pair<Tensor, Tensor> conv2d_and_backward_weight(const Tensor& x, const Tensor& weight, const Tensor& grad_output,
                                                     const Conv2dParams& params);

// ---- issue 13: transposed convolution
// The output height/width of a transposed convolution over an input of height/width `in`:
// (in - 1) * stride - 2 * padding + dilation * (kernel - 1) + output_padding + 1. Throws naming
// `op` when output_padding is not smaller than the stride or the dilation, or the size is < 1.
Size2d conv_transpose2d_output_size(Size2d in, Size2d kernel, const Conv2dParams& params, Size2d output_padding,
                                    const char* op);
// PyTorch's conv_transpose2d: x [N, C_in, H, W], weight [C_in, C_out/groups, kh, kw], bias [C_out]
// (optional) -> [N, C_out, OH, OW]. It is conv2d's input adjoint, conv2d_backward_input with x in
// the place of grad_output, so it runs on the same GEMM (or Winograd) kernels. output_padding adds
// rows and columns at the bottom and right that only the bias reaches.
Tensor conv_transpose2d(const Tensor& x, const Tensor& weight, const Tensor& bias, const Conv2dParams& params,
                        Size2d output_padding = 0);

}  // namespace nabla::kernels
