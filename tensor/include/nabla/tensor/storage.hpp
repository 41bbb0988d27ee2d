#pragma once
// Storage: a reference-counted, 64-byte-aligned byte buffer that tensors view. Buffers come from
// a caching allocator, so a training loop that makes the same shapes every step stops calling
// malloc after its first step.
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>

namespace nabla {

class Storage {
 public:
  // A fresh, uninitialised buffer of nbytes (from the cache when a block of that size is free).
  static std::shared_ptr<Storage> allocate(size_t nbytes);
  // Wraps memory the caller owns; `release` is called when the last tensor viewing it dies.
  static std::shared_ptr<Storage> wrap(void* data, size_t nbytes, std::function<void(void*)> release);

  // Only allocate() and wrap() can make the key; the constructor is public so make_shared can
  // put the object and its reference count in one allocation.
  class Key {
    friend class Storage;
    Key() = default;
  };
  Storage(Key, void* data, size_t nbytes, std::function<void(void*)> release);

  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;
  ~Storage();

  void* data() const { return data_; }
  size_t nbytes() const { return nbytes_; }

  // Counts in-place writes. Autograd compares it against the value it saw when it saved a tensor,
  // so an in-place change to something backward still needs is caught instead of silently
  // producing a wrong gradient.
  uint64_t version() const { return version_.load(std::memory_order_relaxed); }
  void bump_version() { version_.fetch_add(1, std::memory_order_relaxed); }

  // Number of Storage objects alive in the process (tests use it to prove buffers are freed).
  static int64_t live_count();

 private:
  void* data_;
  size_t nbytes_;
  std::function<void(void*)> release_;  // empty: the block goes back to the caching allocator
  std::atomic<uint64_t> version_{0};
};

// The caching allocator behind Storage::allocate.
struct AllocatorStats {
  int64_t bytes_in_use = 0;     // held by live storages
  int64_t bytes_cached = 0;     // freed blocks kept for reuse
  int64_t peak_bytes_in_use = 0;
  int64_t system_allocations = 0;  // calls that reached the system allocator
};
AllocatorStats allocator_stats();
// Returns every cached block to the system.
void release_cached_memory();
// Upper bound on bytes kept in the cache (default 1 GiB); blocks beyond it are freed at once. The
// cache holds only blocks the program has used and will likely use again: a limit below one
// step's working set (the MNIST CNN's evaluation at batch 1000 cycles through ~500 MB) returns
// blocks to the system every step and pays for fresh pages each time (half the evaluation's time
// there), without lowering the peak. Lower it, or call release_cached_memory(), to hand memory
// back between phases of a long-running program.
void set_allocator_cache_limit(size_t bytes);

}  // namespace nabla
