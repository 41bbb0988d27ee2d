#include "image_rows.hpp"

#include <algorithm>
#include <cstring>

#include "nabla/autograd/factories.hpp"
#include "nabla/tensor/error.hpp"

namespace nabla::datasets::detail {

ImageRows image_rows(const Tensor& rows, const char* op) {
  if (rows.dim() < 3) {
    fail("{}: needs images as rows [B, C, H, W] or [B, H, W], got shape {}; for one example [C, H, W] "
         "pass example.unsqueeze(0), or use the transform through MapDataset or the DataLoader",
         op, rows.shape());
  }
  ImageRows images;
  images.values = rows.contiguous();
  images.batch = rows.size(0);
  images.height = rows.size(-2);
  images.width = rows.size(-1);
  for (int64_t axis = 1; axis < rows.dim() - 2; ++axis) images.planes *= rows.size(axis);
  images.itemsize = itemsize(rows.dtype());
  return images;
}

Tensor window_copy(const ImageRows& images, int64_t out_height, int64_t out_width,
                   std::span<const WindowOrigin> origins) {
  Shape shape = images.values.shape();
  shape[shape.size() - 2] = out_height;
  shape[shape.size() - 1] = out_width;
  Tensor out = nabla::empty(shape, images.values.dtype());
  const size_t item = images.itemsize;
  const int64_t in_plane = images.height * images.width;
  const int64_t out_plane = out_height * out_width;
  const auto* source = static_cast<const uint8_t*>(images.values.data_ptr());
  auto* destination = static_cast<uint8_t*>(out.data_ptr());
  for (int64_t b = 0; b < images.batch; ++b) {
    const WindowOrigin origin = origins[static_cast<size_t>(b)];
    // The columns x of the window whose source column x + left lies inside the image.
    const int64_t first_column = std::clamp<int64_t>(-origin.left, 0, out_width);
    const int64_t end_column = std::clamp<int64_t>(images.width - origin.left, first_column, out_width);
    for (int64_t plane = 0; plane < images.planes; ++plane) {
      const int64_t index = b * images.planes + plane;
      const uint8_t* in = source + static_cast<size_t>(index * in_plane) * item;
      uint8_t* out_row = destination + static_cast<size_t>(index * out_plane) * item;
      for (int64_t y = 0; y < out_height; ++y, out_row += out_width * item) {
        const int64_t source_y = y + origin.top;
        if (source_y < 0 || source_y >= images.height || first_column == end_column) {
          std::memset(out_row, 0, static_cast<size_t>(out_width) * item);
          continue;
        }
        std::memset(out_row, 0, static_cast<size_t>(first_column) * item);
        std::memcpy(out_row + first_column * item,
                    in + static_cast<size_t>(source_y * images.width + first_column + origin.left) * item,
                    static_cast<size_t>(end_column - first_column) * item);
        std::memset(out_row + end_column * item, 0, static_cast<size_t>(out_width - end_column) * item);
      }
    }
  }
  return out;
}

}  // namespace nabla::datasets::detail
