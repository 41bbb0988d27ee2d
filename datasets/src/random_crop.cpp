#include <vector>

#include "image_rows.hpp"
#include "nabla/datasets/transforms.hpp"
#include "nabla/tensor/error.hpp"

namespace nabla::datasets::transforms {

RandomCrop::RandomCrop(int64_t height, int64_t width, int64_t padding)
    : height_(height), width_(width), padding_(padding) {
  if (height < 1 || width < 1) fail("RandomCrop: the window must be at least 1x1, got {}x{}", height, width);
  if (padding < 0) fail("RandomCrop: padding must be 0 or more, got {}", padding);
}

Tensor RandomCrop::operator()(const Tensor& rows, const RandomKey& key) const {
  const detail::ImageRows images = detail::image_rows(rows, "RandomCrop");
  const int64_t padded_height = images.height + 2 * padding_;
  const int64_t padded_width = images.width + 2 * padding_;
  if (padded_height < height_ || padded_width < width_) {
    fail("RandomCrop: a {}x{} window does not fit in {}x{} images padded by {} ({}x{}); use a smaller window "
         "or more padding",
         height_, width_, images.height, images.width, padding_, padded_height, padded_width);
  }
  std::vector<detail::WindowOrigin> origins(static_cast<size_t>(images.batch));
  for (int64_t row = 0; row < images.batch; ++row) {
    Generator generator = key.generator(row);
    const int64_t top = static_cast<int64_t>(generator.below(static_cast<uint64_t>(padded_height - height_ + 1)));
    const int64_t left = static_cast<int64_t>(generator.below(static_cast<uint64_t>(padded_width - width_ + 1)));
    // In the unpadded image the window starts `padding` further up and left.
    origins[static_cast<size_t>(row)] = {top - padding_, left - padding_};
  }
  return detail::window_copy(images, height_, width_, origins);
}

}  // namespace nabla::datasets::transforms
