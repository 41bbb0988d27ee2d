#pragma once
// Private: asks the CPU to start loading a byte range into its cache (a hint; never faults).
#include <cstddef>

namespace nabla::datasets::detail {

inline void prefetch_bytes(const void* address, size_t bytes) {
  constexpr size_t kCacheLine = 64;
  const char* p = static_cast<const char*>(address);
  for (size_t offset = 0; offset < bytes; offset += kCacheLine) __builtin_prefetch(p + offset);
}

}  // namespace nabla::datasets::detail
