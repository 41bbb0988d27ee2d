#pragma once
// File helpers shared by the writers and readers of this layer (private).
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

namespace nabla::datasets::detail {

// Writes `bytes` to `file` so that it either appears whole or not at all: the data goes to a
// temporary file in the same directory, which is flushed and then renamed over `file`. Throws
// nabla::Error naming `op` and the file on any failure (and removes the temporary file).
void write_file_atomically(const std::filesystem::path& file, std::span<const uint8_t> bytes,
                           const char* op);

// `bytes` compressed with deflate at the default level, wrapped as a zlib stream (what PNG's IDAT
// holds) or as a gzip file (one member).
enum class Wrapper { zlib, gzip };
std::vector<uint8_t> deflate_bytes(std::span<const uint8_t> bytes, Wrapper wrapper, const char* op);

// strerror(errno) as a std::string, for messages.
std::string errno_message();

}  // namespace nabla::datasets::detail
