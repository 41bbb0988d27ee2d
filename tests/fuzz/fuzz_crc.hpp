#pragma once
// For the .nbl fuzz targets: a copy of the input whose header CRC is made to match its payload,
// so that mutations reach the entry parser instead of all stopping at the CRC check (which the
// ordinary tests cover). Sizes are left as the fuzzer made them.
#include <zlib.h>

#include <cstdint>
#include <cstring>
#include <vector>

namespace fuzz_support {

inline std::vector<unsigned char> with_matching_crc(const uint8_t* data, size_t size) {
  std::vector<unsigned char> bytes(data, data + size);
  // magic 8, version 4, flags 4, payload size 8 (at 16), stored size 8 (at 24), crc 4 (at 32)
  constexpr size_t kHeader = 36;
  if (size < kHeader) return bytes;
  uint64_t stored = 0;
  for (int i = 0; i < 8; ++i) stored |= uint64_t{bytes[24 + static_cast<size_t>(i)]} << (8 * i);
  const size_t available = size - kHeader;
  const size_t covered = stored < available ? static_cast<size_t>(stored) : available;
  const uint32_t crc = static_cast<uint32_t>(crc32_z(crc32_z(0L, Z_NULL, 0), bytes.data() + kHeader, covered));
  for (int i = 0; i < 4; ++i) bytes[32 + static_cast<size_t>(i)] = static_cast<unsigned char>(crc >> (8 * i));
  return bytes;
}

}  // namespace fuzz_support
