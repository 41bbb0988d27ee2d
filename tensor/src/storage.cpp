#include "nabla/tensor/storage.hpp"

#include <algorithm>
#include <cstdlib>
#include <mutex>
#include <new>
#include <vector>

#include "nabla/tensor/error.hpp"

namespace nabla {

namespace {

constexpr size_t kAlignment = 64;
// Each block starts with a header holding its capacity, so a block can serve any request up to
// that size and still be cached under its own capacity. One alignment unit keeps data aligned.
constexpr size_t kHeader = kAlignment;
// A cached block serves a request at least this fraction of its size (no more than 2x waste).
constexpr size_t kMaxWasteFactor = 2;

// Caches freed blocks by capacity. Training repeats the same shapes every step, so after the
// first step almost every allocation is a cache hit; the smaller final batch of an epoch reuses
// the full batch's blocks (best fit within 2x) instead of allocating a second set.
class CachingAllocator {
 public:
  void* allocate(size_t nbytes) {
    const size_t size = round_up(nbytes);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      // The smallest cached block that fits, if it wastes at most half of itself.
      for (auto bin = first_bin_at_least(size); bin != bins_.end() && bin->capacity <= kMaxWasteFactor * size; ++bin) {
        if (bin->blocks.empty()) continue;
        char* block = bin->blocks.back();
        bin->blocks.pop_back();
        stats_.bytes_cached -= static_cast<int64_t>(bin->capacity);
        note_in_use(static_cast<int64_t>(bin->capacity));
        return block + kHeader;
      }
      ++stats_.system_allocations;
      note_in_use(static_cast<int64_t>(size));
    }
    auto* block = static_cast<char*>(std::aligned_alloc(kAlignment, size + kHeader));
    if (!block) {
      std::lock_guard<std::mutex> lock(mutex_);
      stats_.bytes_in_use -= static_cast<int64_t>(size);
      fail("allocate: out of memory allocating {} bytes", size);
    }
    *reinterpret_cast<size_t*>(block) = size;
    return block + kHeader;
  }

  void release(void* data) {
    char* block = static_cast<char*>(data) - kHeader;
    const size_t size = *reinterpret_cast<const size_t*>(block);
    std::lock_guard<std::mutex> lock(mutex_);
    stats_.bytes_in_use -= static_cast<int64_t>(size);
    if (stats_.bytes_cached + static_cast<int64_t>(size) > static_cast<int64_t>(cache_limit_)) {
      std::free(block);
      return;
    }
    auto bin = first_bin_at_least(size);
    if (bin == bins_.end() || bin->capacity != size) {
      if (bins_.size() >= kMaxBins) {
        drop_empty_bins();
        bin = first_bin_at_least(size);
      }
      bin = bins_.insert(bin, Bin{size, {}});
    }
    bin->blocks.push_back(block);
    stats_.bytes_cached += static_cast<int64_t>(size);
  }

  void release_cache() {
    std::lock_guard<std::mutex> lock(mutex_);
    for (const Bin& bin : bins_) {
      for (char* block : bin.blocks) std::free(block);
    }
    bins_.clear();
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

  // Free blocks of one capacity. A bin stays when it empties, with its vector's room, so that the
  // steady state of a training loop (the same sizes freed and taken every step) allocates nothing.
  struct Bin {
    size_t capacity;
    std::vector<char*> blocks;
  };
  // Past this many sizes (a program whose shapes keep changing), empty bins are dropped.
  static constexpr size_t kMaxBins = 512;

  std::vector<Bin>::iterator first_bin_at_least(size_t size) {
    return std::lower_bound(bins_.begin(), bins_.end(), size,
                            [](const Bin& bin, size_t wanted) { return bin.capacity < wanted; });
  }
  void drop_empty_bins() {
    std::erase_if(bins_, [](const Bin& bin) { return bin.blocks.empty(); });
  }

  std::mutex mutex_;
  std::vector<Bin> bins_;  // ordered by capacity, for best fit
  AllocatorStats stats_;
  size_t cache_limit_ = size_t{1024} << 20;
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
    allocator().release(data_);
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
