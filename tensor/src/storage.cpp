#include "nabla/tensor/storage.hpp"

#include <cstdlib>
#include <mutex>
#include <new>
#include <unordered_map>
#include <vector>

#include "nabla/tensor/error.hpp"

namespace nabla {

namespace {

constexpr size_t kAlignment = 64;

// Caches freed blocks by their (64-byte rounded) size. Training repeats the same shapes every
// step, so after the first step almost every allocation is a cache hit.
class CachingAllocator {
 public:
  void* allocate(size_t nbytes) {
    const size_t size = round_up(nbytes);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      auto it = free_blocks_.find(size);
      if (it != free_blocks_.end() && !it->second.empty()) {
        void* block = it->second.back();
        it->second.pop_back();
        stats_.bytes_cached -= static_cast<int64_t>(size);
        note_in_use(static_cast<int64_t>(size));
        return block;
      }
      ++stats_.system_allocations;
      note_in_use(static_cast<int64_t>(size));
    }
    void* block = std::aligned_alloc(kAlignment, size);
    if (!block) {
      std::lock_guard<std::mutex> lock(mutex_);
      stats_.bytes_in_use -= static_cast<int64_t>(size);
      fail("allocate: out of memory allocating {} bytes", size);
    }
    return block;
  }

  void release(void* block, size_t nbytes) {
    const size_t size = round_up(nbytes);
    std::lock_guard<std::mutex> lock(mutex_);
    stats_.bytes_in_use -= static_cast<int64_t>(size);
    if (stats_.bytes_cached + static_cast<int64_t>(size) > static_cast<int64_t>(cache_limit_)) {
      std::free(block);
      return;
    }
    free_blocks_[size].push_back(block);
    stats_.bytes_cached += static_cast<int64_t>(size);
  }

  void release_cache() {
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto& [size, blocks] : free_blocks_) {
      for (void* block : blocks) std::free(block);
    }
    free_blocks_.clear();
    stats_.bytes_cached = 0;
  }

  AllocatorStats stats() {
    std::lock_guard<std::mutex> lock(mutex_);
    return stats_;
  }

  void set_cache_limit(size_t bytes) {
    cache_limit_ = bytes;
    if (stats().bytes_cached > static_cast<int64_t>(bytes)) release_cache();
  }

 private:
  static size_t round_up(size_t nbytes) {
    const size_t n = nbytes == 0 ? kAlignment : nbytes;
    return (n + kAlignment - 1) / kAlignment * kAlignment;
  }
  void note_in_use(int64_t size) {
    stats_.bytes_in_use += size;
    if (stats_.bytes_in_use > stats_.peak_bytes_in_use) stats_.peak_bytes_in_use = stats_.bytes_in_use;
  }

  std::mutex mutex_;
  std::unordered_map<size_t, std::vector<void*>> free_blocks_;
  AllocatorStats stats_;
  size_t cache_limit_ = size_t{256} << 20;
};

CachingAllocator& allocator() {
  // Never destroyed: storages may outlive static destruction order.
  static auto* instance = new CachingAllocator();
  return *instance;
}

std::atomic<int64_t> g_live_storages{0};

}  // namespace

Storage::Storage(Key, void* data, size_t nbytes, std::function<void(void*)> release)
    : data_(data), nbytes_(nbytes), release_(std::move(release)) {
  g_live_storages.fetch_add(1, std::memory_order_relaxed);
}

Storage::~Storage() {
  if (release_) {
    release_(data_);
  } else {
    allocator().release(data_, nbytes_);
  }
  g_live_storages.fetch_sub(1, std::memory_order_relaxed);
}

std::shared_ptr<Storage> Storage::allocate(size_t nbytes) {
  void* data = allocator().allocate(nbytes);
  return std::make_shared<Storage>(Key{}, data, nbytes, std::function<void(void*)>{});
}

std::shared_ptr<Storage> Storage::wrap(void* data, size_t nbytes, std::function<void(void*)> release) {
  if (!release) release = [](void*) {};
  return std::make_shared<Storage>(Key{}, data, nbytes, std::move(release));
}

int64_t Storage::live_count() { return g_live_storages.load(std::memory_order_relaxed); }

AllocatorStats allocator_stats() { return allocator().stats(); }
void release_cached_memory() { allocator().release_cache(); }
void set_allocator_cache_limit(size_t bytes) { allocator().set_cache_limit(bytes); }

}  // namespace nabla
