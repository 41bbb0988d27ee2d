#include <cstring>

#include "image_rows.hpp"
#include "nabla/autograd/factories.hpp"
#include "nabla/datasets/transforms.hpp"
#include "nabla/tensor/error.hpp"

namespace nabla::datasets::transforms {

namespace {

// Element = an unsigned integer of the dtype's size: a flip moves elements, it never reads them.
template <class Element>
void mirror_lines(const Element* __restrict in, Element* __restrict out, int64_t lines, int64_t width) {
  for (int64_t line = 0; line < lines; ++line, in += width, out += width) {
    for (int64_t x = 0; x < width; ++x) out[x] = in[width - 1 - x];
  }
}

void mirror_lines(const void* in, void* out, int64_t lines, int64_t width, size_t itemsize) {
  switch (itemsize) {
    case 1: return mirror_lines(static_cast<const uint8_t*>(in), static_cast<uint8_t*>(out), lines, width);
    case 2: return mirror_lines(static_cast<const uint16_t*>(in), static_cast<uint16_t*>(out), lines, width);
    case 4: return mirror_lines(static_cast<const uint32_t*>(in), static_cast<uint32_t*>(out), lines, width);
    case 8: return mirror_lines(static_cast<const uint64_t*>(in), static_cast<uint64_t*>(out), lines, width);
    default: fail("RandomHorizontalFlip: elements of {} bytes are not supported", itemsize);
  }
}

}  // namespace

RandomHorizontalFlip::RandomHorizontalFlip(double p) : p_(p) {
  if (!(p >= 0.0 && p <= 1.0)) fail("RandomHorizontalFlip: p is a probability in [0, 1], got {}", p);
}

Tensor RandomHorizontalFlip::operator()(const Tensor& rows, const RandomKey& key) const {
  const detail::ImageRows images = detail::image_rows(rows, "RandomHorizontalFlip");
  Tensor out = nabla::empty(images.values.shape(), images.values.dtype());
  const int64_t lines = images.planes * images.height;  // per row
  const size_t row_bytes = static_cast<size_t>(lines * images.width) * images.itemsize;
  const auto* source = static_cast<const uint8_t*>(images.values.data_ptr());
  auto* destination = static_cast<uint8_t*>(out.data_ptr());
  for (int64_t row = 0; row < images.batch; ++row) {
    const uint8_t* in = source + static_cast<size_t>(row) * row_bytes;
    uint8_t* row_out = destination + static_cast<size_t>(row) * row_bytes;
    if (key.generator(row).uniform() < p_) {
      mirror_lines(in, row_out, lines, images.width, images.itemsize);
    } else {
      std::memcpy(row_out, in, row_bytes);
    }
  }
  return out;
}

}  // namespace nabla::datasets::transforms
