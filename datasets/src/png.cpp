#include "nabla/datasets/png.hpp"

#include <zlib.h>

#include <cstring>
#include <string_view>

#include "file_io.hpp"
#include "nabla/autograd/factories.hpp"
#include "nabla/autograd/functions.hpp"
#include "nabla/tensor/error.hpp"

namespace nabla::datasets {

namespace {

void put_u32(std::vector<uint8_t>& out, uint32_t value) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<uint8_t>(value >> shift));
}

// A chunk: length, type, data, then the CRC-32 of type and data.
void put_chunk(std::vector<uint8_t>& out, std::string_view type, std::span<const uint8_t> data) {
  put_u32(out, static_cast<uint32_t>(data.size()));
  const size_t type_at = out.size();
  out.insert(out.end(), type.begin(), type.end());
  out.insert(out.end(), data.begin(), data.end());
  const uLong crc = crc32(crc32(0L, Z_NULL, 0), out.data() + type_at, static_cast<uInt>(4 + data.size()));
  put_u32(out, static_cast<uint32_t>(crc));
}

}  // namespace

std::vector<uint8_t> encode_png(std::span<const uint8_t> pixels, int64_t width, int64_t height,
                                PngColor color) {
  // PNG allows up to 2^31 - 1; a chunk's data must also fit its 32-bit length, so stay well below.
  constexpr int64_t kMaxSide = 1 << 15;
  if (width < 1 || height < 1 || width > kMaxSide || height > kMaxSide) {
    fail("encode_png: image size {}x{} is not supported; width and height must be 1..{}", width,
         height, kMaxSide);
  }
  const int64_t channels = color == PngColor::rgb ? 3 : 1;
  const int64_t row_bytes = width * channels;
  if (static_cast<int64_t>(pixels.size()) != row_bytes * height) {
    fail("encode_png: a {}x{} {} image needs {} bytes of pixels, got {}", width, height,
         color == PngColor::rgb ? "RGB" : "gray", row_bytes * height, pixels.size());
  }
  // Each row is prefixed with its filter type; 0 (none) keeps the encoder trivial, and deflate
  // still shrinks charts and digits (large flat areas) very well.
  std::vector<uint8_t> filtered;
  filtered.reserve(static_cast<size_t>((row_bytes + 1) * height));
  for (int64_t y = 0; y < height; ++y) {
    filtered.push_back(0);
    const uint8_t* row = pixels.data() + y * row_bytes;
    filtered.insert(filtered.end(), row, row + row_bytes);
  }
  const std::vector<uint8_t> compressed = detail::deflate_bytes(filtered, detail::Wrapper::zlib, "encode_png");
  if (compressed.size() > 0x7fffffffu) fail("encode_png: compressed image data too large for one chunk");

  std::vector<uint8_t> png{0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  std::vector<uint8_t> header;
  put_u32(header, static_cast<uint32_t>(width));
  put_u32(header, static_cast<uint32_t>(height));
  header.insert(header.end(), {8, static_cast<uint8_t>(color), 0, 0, 0});  // depth, colour, deflate, filters, no interlace
  put_chunk(png, "IHDR", header);
  put_chunk(png, "IDAT", compressed);
  put_chunk(png, "IEND", {});
  return png;
}

void write_png(const std::filesystem::path& file, std::span<const uint8_t> pixels, int64_t width,
               int64_t height, PngColor color) {
  detail::write_file_atomically(file, encode_png(pixels, width, height, color), "write_png");
}

void write_png(const std::filesystem::path& file, const Tensor& image) {
  if (!image.defined() || image.dtype() != uint8 ||
      !(image.dim() == 2 || (image.dim() == 3 && image.size(2) == 3))) {
    fail("write_png: {}: expected a uint8 tensor [H, W] (gray) or [H, W, 3] (RGB), got {} {}",
         file.string(), image.defined() ? dtype_name(image.dtype()) : "undefined",
         image.defined() ? image.shape() : Shape{});
  }
  const Tensor packed = image.contiguous();
  const std::span<const uint8_t> pixels(packed.data_ptr<uint8_t>(), static_cast<size_t>(packed.numel()));
  write_png(file, pixels, packed.size(1), packed.size(0), image.dim() == 2 ? PngColor::gray : PngColor::rgb);
}

}  // namespace nabla::datasets
