#pragma once
// Private: asks the CPU to start loading a byte range into its cache (a hint; never faults).
#include <cstddef>
#include <cstdint>
#include <span>

namespace nabla::datasets::detail {

inline void prefetch_bytes(const void* address, size_t bytes) {
  constexpr size_t kCacheLine = 64;
  const char* p = static_cast<const char*>(address);
  for (size_t offset = 0; offset < bytes; offset += kCacheLine) __builtin_prefetch(p + offset);
}

// The examples at `indices` of `count` rows of `row_bytes` each, starting at `rows` (indices
// outside [0, count) are ignored): what Dataset::will_need does for data held in memory.
inline void prefetch_examples(const void* rows, size_t row_bytes, int64_t count, std::span<const int64_t> indices) {
  const char* base = static_cast<const char*>(rows);
  for (int64_t index : indices) {
    if (index >= 0 && index < count) prefetch_bytes(base + static_cast<size_t>(index) * row_bytes, row_bytes);
  }
}

}  // namespace nabla::datasets::detail
