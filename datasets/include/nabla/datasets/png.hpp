#pragma once
// A minimal PNG writer: 8-bit grayscale or RGB, no interlacing, every row with filter 0, the
// image data deflated by zlib. Enough for pictures of digits and charts; readable by any viewer.
#include <cstdint>
#include <filesystem>
#include <span>
#include <vector>

#include "nabla/autograd/tensor.hpp"

namespace nabla::datasets {

enum class PngColor : uint8_t { gray = 0, rgb = 2 };  // the PNG colour-type codes

// The complete PNG file for a width x height image whose rows are stored one after another,
// width (gray) or 3 * width (RGB, as r, g, b) bytes each. Throws nabla::Error if the sizes are
// not positive or pixels has the wrong length.
std::vector<uint8_t> encode_png(std::span<const uint8_t> pixels, int64_t width, int64_t height,
                                PngColor color);

// Encodes and writes a PNG atomically: the file appears complete or not at all (written to a
// temporary file beside it, then renamed). Throws nabla::Error naming the file on failure.
void write_png(const std::filesystem::path& file, std::span<const uint8_t> pixels, int64_t width,
               int64_t height, PngColor color);

// Writes a uint8 tensor [H, W] (gray) or [H, W, 3] (RGB) as a PNG.
void write_png(const std::filesystem::path& file, const Tensor& image);

}  // namespace nabla::datasets
