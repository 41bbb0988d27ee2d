#pragma once
// Private: im2col/col2im on raw memory, for kernels (convolution) that unfold one image at a time
// into buffers they own. Shapes are the caller's to check.
#include <cstdint>

#include "nabla/tensor/conv_kernels.hpp"

namespace nabla::kernels::detail {

// image [C, H, W] (contiguous) -> columns [C*kh*kw, OH*OW]; row r of the columns starts at
// columns + r * row_stride (0: OH*OW), so several images' columns can share one wider matrix.
template <class T>
void im2col_image(const T* image, T* columns, int64_t channels, Size2d in, const Window2d& window,
                  int64_t row_stride = 0);
// columns [C*kh*kw, OH*OW] (row_stride as above) -> image [C, H, W], overwriting the image.
template <class T>
void col2im_image(const T* columns, T* image, int64_t channels, Size2d in, const Window2d& window,
                  int64_t row_stride = 0);

}  // namespace nabla::kernels::detail
