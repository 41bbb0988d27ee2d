#pragma once
// IDX files from bytes in memory (issue 17): read_idx's reader for callers that hold the bytes
// already (the fuzz targets, data received over a network).
#include <cstddef>
#include <cstdint>
#include <string>

#include "nabla/datasets/idx.hpp"

namespace nabla::datasets {

// read_idx over `size` bytes at `data`, raw or gzip-compressed; `name` stands for the file in
// error messages. Everything read_idx checks is checked, and all input must be consumed.
Tensor parse_idx(const uint8_t* data, size_t size, const std::string& name);

}  // namespace nabla::datasets
