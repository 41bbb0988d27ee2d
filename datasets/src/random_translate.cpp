#include <cmath>
#include <vector>

#include "image_rows.hpp"
#include "nabla/datasets/transforms.hpp"
#include "nabla/tensor/error.hpp"

namespace nabla::datasets::transforms {

namespace {

// round(U(-limit, limit)), as torchvision's RandomAffine draws a translation.
int64_t draw_shift(Generator& generator, double limit) {
  return static_cast<int64_t>(std::nearbyint(-limit + 2.0 * limit * generator.uniform()));
}

}  // namespace

RandomTranslate::RandomTranslate(double max_fraction_x, double max_fraction_y)
    : max_fraction_x_(max_fraction_x), max_fraction_y_(max_fraction_y) {
  if (!(max_fraction_x >= 0.0 && max_fraction_x <= 1.0) || !(max_fraction_y >= 0.0 && max_fraction_y <= 1.0)) {
    fail("RandomTranslate: the largest shifts are fractions of the image size in [0, 1], got x {} and y {}",
         max_fraction_x, max_fraction_y);
  }
}

Tensor RandomTranslate::operator()(const Tensor& rows, const RandomKey& key) const {
  const detail::ImageRows images = detail::image_rows(rows, "RandomTranslate");
  const double limit_x = max_fraction_x_ * static_cast<double>(images.width);
  const double limit_y = max_fraction_y_ * static_cast<double>(images.height);
  std::vector<detail::WindowOrigin> origins(static_cast<size_t>(images.batch));
  for (int64_t row = 0; row < images.batch; ++row) {
    Generator generator = key.generator(row);
    const int64_t shift_x = draw_shift(generator, limit_x);
    const int64_t shift_y = draw_shift(generator, limit_y);
    // Moving the image right by shift_x means reading each output pixel shift_x columns left.
    origins[static_cast<size_t>(row)] = {-shift_y, -shift_x};
  }
  return detail::window_copy(images, images.height, images.width, origins);
}

}  // namespace nabla::datasets::transforms
