#pragma once
// Private: the geometry the image transforms share. Rows [B, ..., H, W] are seen as B images of
// `planes` planes (the product of the axes between batch and height: channels) of H x W elements.
#include <cstdint>
#include <span>

#include "nabla/autograd/tensor.hpp"

namespace nabla::datasets::detail {

struct ImageRows {
  Tensor values;  // the rows, contiguous
  int64_t batch = 0, planes = 1, height = 0, width = 0;
  size_t itemsize = 0;
};

// Checks that `rows` has at least three axes ([B, H, W] or [B, C, H, W] ...), naming `op` if not.
ImageRows image_rows(const Tensor& rows, const char* op);

// Where row b's output window starts in its input image (may lie outside it).
struct WindowOrigin {
  int64_t top = 0, left = 0;
};

// A new tensor of the rows' shape with the last two axes out_height x out_width, in which row b
// holds its image read from origins[b]: out(y, x) = in(y + top, x + left), and 0 where that falls
// outside the image. Whole runs are copied with memcpy and the rest cleared with memset.
Tensor window_copy(const ImageRows& images, int64_t out_height, int64_t out_width,
                   std::span<const WindowOrigin> origins);

}  // namespace nabla::datasets::detail
