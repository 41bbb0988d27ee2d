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


// Per kernel tap and output position, [kh*kw, OH*OW]: the offset in an [H, W] plane that the tap
// reads there, or -1 where it reads padding. Built once per geometry and thread; the pointer is
// valid until this thread asks for another geometry's table. Needs H*W <= INT32_MAX.
const int32_t* window_offset_table(Size2d in, const Window2d& window);

// ---- the same with the channels last (columns_channels_last.cpp)
// images [count, C, H, W] -> columns [count * OH*OW, kh*kw * C]: row (i, l) holds image i's window
// at output position l, tap by tap, each tap's C channels side by side. scratch: (H*W + 1) * C elements.
template <class T>
void im2col_channels_last(const T* images, int64_t count, int64_t channels, Size2d in, const Window2d& window,
                          T* scratch, T* columns);
// The adjoint: columns [count * OH*OW, kh*kw * C] -> images [count, C, H, W], overwriting them.
template <class T>
void col2im_channels_last(const T* columns, int64_t count, int64_t channels, Size2d in, const Window2d& window,
                          T* scratch, T* images);
// result [count, cols, rows] = each of matrices [count, rows, cols] transposed: a convolution
// weight [O, C, kh*kw] reordered to [O, kh*kw, C], the order of those columns, and back.
template <class T>
void transpose_each(const T* matrices, int64_t count, int64_t rows, int64_t cols, T* result);

}  // namespace nabla::kernels::detail
