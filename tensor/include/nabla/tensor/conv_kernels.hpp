#pragma once
// The kernels 2-d convolution and pooling are built from. Inputs are NCHW.
#include <cstdint>
#include <optional>

#include "nabla/tensor/tensor.hpp"

namespace nabla {

// A (height, width) pair; one number means both.
struct Size2d {
  int64_t h = 0;
  int64_t w = 0;
  Size2d() = default;
  Size2d(int64_t both) : h(both), w(both) {}
  Size2d(int64_t height, int64_t width) : h(height), w(width) {}
  friend bool operator==(const Size2d&, const Size2d&) = default;
};

// The sliding-window geometry shared by convolution and pooling.
struct Window2d {
  Size2d kernel;
  Size2d stride = 1;
  Size2d padding = 0;
  Size2d dilation = 1;
  // Pooling: round the output size up (PyTorch's ceil_mode), keeping only windows that start
  // inside the input or its left/top padding; the part of a window past the input reads nothing.
  bool ceil_mode = false;
};

// Output height/width of a window over an input of height/width `in`; throws naming `op` when
// the window does not fit.
Size2d window_output_size(Size2d in, const Window2d& window, const char* op);

}  // namespace nabla

namespace nabla::kernels {

// Unfolds x [N, C, H, W] into columns [N, C*kh*kw, OH*OW]: column l holds the window at output
// position l, in (c, i, j) order. Padding reads as zero.
Tensor im2col(const Tensor& x, const Window2d& window);
// The adjoint of im2col: adds each column back into an image of shape [N, C, H, W].
Tensor col2im(const Tensor& columns, const Shape& image_shape, const Window2d& window);

// Max pooling: values [N, C, OH, OW] and int64 indices of each max within its H*W input plane.
// Padding never wins. Ties resolve to the first position in the window.
struct PoolResult {
  Tensor values;
  Tensor indices;
};
// with_indices = false skips the indices (left undefined): inference needs only the values.
PoolResult max_pool2d(const Tensor& x, const Window2d& window, bool with_indices = true);
// The adjoint of max pooling: each grad_output element added at its window's winner (indices, as
// max_pool2d returns them) in a zero image of input_shape [N, C, H, W].
Tensor max_pool2d_backward(const Tensor& grad_output, const Tensor& indices, const Shape& input_shape);
// Average pooling; count_include_pad divides by the window's size within the padded input, else
// by its in-bounds part (PyTorch's rule; they differ only at padding and ceil_mode edges);
// divisor_override, when set, is the divisor of every window.
Tensor avg_pool2d(const Tensor& x, const Window2d& window, bool count_include_pad = true,
                  std::optional<int64_t> divisor_override = std::nullopt);
// The adjoint of avg_pool2d: spreads each output gradient over its window.
Tensor avg_pool2d_backward(const Tensor& grad_output, const Shape& input_shape, const Window2d& window,
                           bool count_include_pad = true, std::optional<int64_t> divisor_override = std::nullopt);

// ---- issue 13: adaptive max pooling
// Max over PyTorch's adaptive regions: output row i covers input rows [floor(i*H/OH),
// ceil((i+1)*H/OH)), and likewise for columns. Values [N, C, OH, OW] and int64 indices within
// each H*W plane (max_pool2d_backward routes a gradient to them); the first maximum of a region
// wins, and a NaN wins and propagates.
PoolResult adaptive_max_pool2d(const Tensor& x, Size2d output_size);

}  // namespace nabla::kernels
