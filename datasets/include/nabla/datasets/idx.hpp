#pragma once
// IDX files: the format MNIST-style datasets ship in. A big-endian header — two zero bytes, a
// type code, the number of dimensions, then each dimension as a 32-bit integer — followed by the
// elements in row-major order. Files may be gzip-compressed (".gz"); the reader detects that from
// the content, not the name.
#include <filesystem>

#include "nabla/autograd/tensor.hpp"

namespace nabla::datasets {

// Reads a raw or gzip-compressed IDX file into a new contiguous tensor of the header's shape.
//
// IDX type code -> dtype:
//   0x08 unsigned byte -> uint8      0x0D float32 -> float32      0x0E float64 -> float64
//   0x09 signed byte, 0x0B int16, 0x0C int32 -> int64 (widened: integer IDX data is mostly class
//   labels, which cross_entropy and nll_loss read as int64)
//
// Contract: either the whole file is read and checked, or nabla::Error is thrown naming the file
// and what is wrong with it — never a partial tensor. Checked: the magic (first two bytes zero),
// the type code, the number of dimensions (1..8), the dimensions (their product must be a size a
// file can hold), the data length against the header (too short: "truncated at byte N of M"; too
// long: "N bytes of trailing data") and, for gzip files, the integrity of the compressed stream
// (zlib's CRC and length checks). Memory is only allocated as data actually arrives, so a header
// that lies about its size cannot make the reader allocate more than the file really holds.
// Dimensions of size 0 are allowed (an empty tensor).
Tensor read_idx(const std::filesystem::path& file);

// Writes `values` as an IDX file, gzip-compressed when the name ends in ".gz". The file appears
// atomically (written to a temporary name, then renamed). uint8 -> 0x08, float32 -> 0x0D,
// float64 -> 0x0E, int32 -> 0x0C, int64 -> 0x0C (int32; throws if a value does not fit); bool is
// refused (IDX has no bool: convert with .to(uint8)). 1 to 8 dimensions.
void write_idx(const std::filesystem::path& file, const Tensor& values);

}  // namespace nabla::datasets
