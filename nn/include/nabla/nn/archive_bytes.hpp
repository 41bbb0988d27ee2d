#pragma once
// .nbl archives from bytes in memory (issue 17): what read_archive does after reading the file,
// for callers that hold the bytes already (the fuzz targets, archives received over a network).
#include <cstddef>
#include <string>

#include "nabla/nn/serialize.hpp"

namespace nabla::nn {

// read_archive's checks over `size` bytes at `data`; `source` names them in messages (and becomes
// Archive::source).
Archive parse_archive(const unsigned char* data, size_t size, const std::string& source);

}  // namespace nabla::nn
