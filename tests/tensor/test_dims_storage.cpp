// Dims, dtypes, Storage and the caching allocator.
#include <cstdint>
#include <vector>

#include "reference.hpp"

using namespace nabla;
using namespace nabla::kernels;
using Catch::Contains;

// ---- Dims

TEST_CASE("Dims holds values inline and compares by value", "[dims]") {
  Dims dims{2, 3, 4};
  CHECK(dims.size() == 3);
  CHECK_FALSE(dims.empty());
  CHECK(dims[0] == 2);
  CHECK(dims.front() == 2);
  CHECK(dims.back() == 4);
  CHECK(dims.vec() == std::vector<int64_t>{2, 3, 4});
  CHECK(dims == Dims{2, 3, 4});
  CHECK_FALSE(dims == Dims{2, 3});
  CHECK_FALSE(dims == Dims{2, 3, 5});
  CHECK(Dims{}.empty());
  CHECK(Dims(std::vector<int64_t>{5, 6}) == Dims{5, 6});
  CHECK(Dims::filled(3, 7) == Dims{7, 7, 7});
  CHECK(Dims::filled(0, 7).empty());

  int64_t total = 0;
  for (int64_t value : dims) total += value;
  CHECK(total == 9);
}

TEST_CASE("Dims edits: push_back, pop_back, insert, erase, resize", "[dims]") {
  Dims dims{1, 2};
  dims.push_back(3);
  CHECK(dims == Dims{1, 2, 3});
  dims.pop_back();
  CHECK(dims == Dims{1, 2});
  dims.insert(0, 9);
  CHECK(dims == Dims{9, 1, 2});
  dims.insert(3, 8);
  CHECK(dims == Dims{9, 1, 2, 8});
  dims.insert(2, 7);
  CHECK(dims == Dims{9, 1, 7, 2, 8});
  dims.erase(0);
  CHECK(dims == Dims{1, 7, 2, 8});
  dims.erase(3);
  CHECK(dims == Dims{1, 7, 2});
  dims.resize(5, 4);
  CHECK(dims == Dims{1, 7, 2, 4, 4});
  dims.resize(2);
  CHECK(dims == Dims{1, 7});
  dims[1] = 11;
  CHECK(dims[1] == 11);
}

TEST_CASE("Dims refuses more than kMaxDims axes with an Error", "[dims][errors]") {
  Dims dims = Dims::filled(Dims::kMaxDims, 1);
  CHECK_THROWS_AS(dims.push_back(1), Error);
  CHECK_THROWS_AS(dims.insert(0, 1), Error);
  CHECK_THROWS_AS(Dims::filled(Dims::kMaxDims + 1, 1), Error);
  CHECK_THROWS_AS((Dims{1, 1, 1, 1, 1, 1, 1, 1, 1}), Error);
  CHECK_THROWS_WITH(Dims(std::vector<int64_t>(9, 1)), Contains("9") && Contains("8"));
}

TEST_CASE("Dims print as [a, b, c]", "[dims][format]") {
  CHECK(to_string(Dims{2, 3, 4}) == "[2, 3, 4]");
  CHECK(to_string(Dims{}) == "[]");
  CHECK(to_string(Dims{0}) == "[0]");
  CHECK(fmt::format("{}", Dims{5, 1}) == "[5, 1]");
}

TEST_CASE("shape_numel and contiguous_strides", "[dims]") {
  CHECK(shape_numel(Shape{}) == 1);
  CHECK(shape_numel(Shape{7}) == 7);
  CHECK(shape_numel(Shape{2, 3, 4}) == 24);
  CHECK(shape_numel(Shape{2, 0, 3}) == 0);
  CHECK(contiguous_strides(Shape{2, 3, 4}) == Strides{12, 4, 1});
  CHECK(contiguous_strides(Shape{5}) == Strides{1});
  CHECK(contiguous_strides(Shape{}) == Strides{});
  CHECK(contiguous_strides(Shape{3, 1, 2}) == Strides{2, 2, 1});
}

TEST_CASE("normalize_axis wraps negative axes and names the op when out of range", "[dims][errors]") {
  CHECK(normalize_axis(0, 3, "op") == 0);
  CHECK(normalize_axis(2, 3, "op") == 2);
  CHECK(normalize_axis(-1, 3, "op") == 2);
  CHECK(normalize_axis(-3, 3, "op") == 0);
  CHECK_THROWS_AS(normalize_axis(3, 3, "op"), Error);
  CHECK_THROWS_AS(normalize_axis(-4, 3, "op"), Error);
  CHECK_THROWS_AS(normalize_axis(0, 0, "op"), Error);
  CHECK_THROWS_WITH(normalize_axis(5, 2, "frobnicate"), Contains("frobnicate") && Contains("5"));
  CHECK_THROWS_WITH(normalize_axis(-3, 2, "frobnicate"), Contains("frobnicate") && Contains("-3"));
}

// ---- dtypes

TEST_CASE("dtype sizes, names and promotion", "[dtype]") {
  CHECK(itemsize(float32) == 4);
  CHECK(itemsize(float64) == 8);
  CHECK(itemsize(int64) == 8);
  CHECK(itemsize(uint8) == 1);
  CHECK(dtype_name(float32) == "float32");
  CHECK(dtype_name(float64) == "float64");
  CHECK(dtype_name(int64) == "int64");
  CHECK(dtype_name(uint8) == "uint8");
  CHECK(fmt::format("{}", float64) == "float64");
  CHECK(is_floating(float32));
  CHECK(is_floating(float64));
  CHECK_FALSE(is_floating(int64));
  CHECK_FALSE(is_floating(uint8));

  CHECK(promote_types(int64, float32) == float32);
  CHECK(promote_types(float32, int64) == float32);
  CHECK(promote_types(float32, float64) == float64);
  CHECK(promote_types(float64, float32) == float64);
  CHECK(promote_types(uint8, int64) == int64);
  CHECK(promote_types(uint8, float32) == float32);
  CHECK(promote_types(uint8, uint8) == uint8);
  CHECK(promote_types(int64, float64) == float64);

  CHECK(dtype_v<float> == float32);
  CHECK(dtype_v<double> == float64);
  CHECK(dtype_v<int64_t> == int64);
  CHECK(dtype_v<uint8_t> == uint8);
  for (DType dtype : {float32, float64, int64, int32, uint8, bool_}) {
    CHECK(dispatch(dtype, [](auto tag) { return dtype_v<decltype(tag)>; }) == dtype);
  }
}

// ---- Storage

TEST_CASE("Storage data is 64-byte aligned for every size", "[storage]") {
  for (size_t nbytes : {size_t{1}, size_t{3}, size_t{63}, size_t{64}, size_t{65}, size_t{100},
                        size_t{4096}, size_t{1} << 20}) {
    auto storage = Storage::allocate(nbytes);
    INFO("nbytes " << nbytes);
    CHECK(storage->nbytes() == nbytes);
    CHECK(reinterpret_cast<uintptr_t>(storage->data()) % 64 == 0);
  }
  for (DType dtype : {float32, float64, int64, int32, uint8, bool_}) {
    Tensor t = Tensor::empty({3, 5}, dtype);
    CHECK(reinterpret_cast<uintptr_t>(t.raw_data()) % 64 == 0);
    CHECK(t.storage()->nbytes() >= 15 * itemsize(dtype));
  }
}

TEST_CASE("Storage version starts at 0 and counts bumps", "[storage]") {
  auto storage = Storage::allocate(16);
  CHECK(storage->version() == 0);
  storage->bump_version();
  storage->bump_version();
  CHECK(storage->version() == 2);
}

TEST_CASE("Storage::wrap calls release exactly once when the last tensor dies", "[storage]") {
  std::vector<float> buffer = {1, 2, 3, 4, 5, 6};
  int releases = 0;
  void* released = nullptr;
  const int64_t live_before = Storage::live_count();
  {
    auto storage = Storage::wrap(buffer.data(), buffer.size() * sizeof(float), [&](void* data) {
      ++releases;
      released = data;
    });
    CHECK(storage->data() == buffer.data());
    CHECK(Storage::live_count() == live_before + 1);
    Tensor t(storage, float32, {2, 3}, {3, 1}, 0);
    storage.reset();
    Tensor view = t.transpose(0, 1);
    CHECK(view.at<double>({2, 1}) == 6.0);
    t = Tensor();
    CHECK(releases == 0);  // the view still holds it
  }
  CHECK(releases == 1);
  CHECK(released == buffer.data());
  CHECK(Storage::live_count() == live_before);
}

TEST_CASE("Storage::live_count returns to its previous value after tensors die", "[storage]") {
  const int64_t before = Storage::live_count();
  {
    Tensor a = Tensor::empty({4, 4});
    Tensor b = a.transpose(0, 1);  // a view: no new storage
    CHECK(Storage::live_count() == before + 1);
    Tensor c = b.contiguous();     // a copy: one more
    Tensor d = a.clone();
    CHECK(Storage::live_count() == before + 3);
    std::vector<Tensor> many;
    for (int i = 0; i < 10; ++i) many.push_back(Tensor::empty({i + 1}));
    CHECK(Storage::live_count() == before + 13);
  }
  CHECK(Storage::live_count() == before);
}

TEST_CASE("caching allocator reuses blocks in a steady loop", "[storage][allocator]") {
  release_cached_memory();
  const AllocatorStats start = allocator_stats();
  { auto warmup = Storage::allocate(12345); }
  const int64_t after_first = allocator_stats().system_allocations;
  CHECK(after_first == start.system_allocations + 1);
  for (int step = 0; step < 100; ++step) {
    auto storage = Storage::allocate(12345);
    CHECK(storage->data() != nullptr);
  }
  CHECK(allocator_stats().system_allocations == after_first);

  // The same through tensors: a loop making the same shapes every step stops allocating.
  {
    Tensor warm_a = Tensor::empty({32, 17}, float64);
    Tensor warm_b = Tensor::empty({32, 17}, float64);
  }
  const int64_t after_warmup = allocator_stats().system_allocations;
  for (int step = 0; step < 50; ++step) {
    Tensor a = Tensor::empty({32, 17}, float64);
    Tensor b = Tensor::empty({32, 17}, float64);
  }
  CHECK(allocator_stats().system_allocations == after_warmup);
}

TEST_CASE("caching allocator serves a smaller request from a cached block within 2x", "[storage][allocator]") {
  release_cached_memory();
  { auto full_batch = Storage::allocate(64 * 1000); }  // a step's buffer
  const int64_t after_full = allocator_stats().system_allocations;
  {
    auto last_batch = Storage::allocate(48 * 1000);  // the smaller final batch reuses it
    CHECK(allocator_stats().system_allocations == after_full);
    std::memset(last_batch->data(), 1, 48 * 1000);   // and it is writable all the way
  }
  { auto tiny = Storage::allocate(1000); }  // far smaller: a block of its own, not a 64x waste
  CHECK(allocator_stats().system_allocations == after_full + 1);
  release_cached_memory();
}

TEST_CASE("caching allocator takes the smallest cached block that fits, over many sizes", "[storage][allocator]") {
  release_cached_memory();
  void* block_2000 = nullptr;
  void* block_1000 = nullptr;
  {
    auto a = Storage::allocate(1000), b = Storage::allocate(2000), c = Storage::allocate(4000);
    block_1000 = a->data();
    block_2000 = b->data();
  }
  const int64_t cached = allocator_stats().system_allocations;
  {
    auto middle = Storage::allocate(1500);  // 2000 is the smallest that fits (1000 is too small)
    CHECK(middle->data() == block_2000);
    auto small = Storage::allocate(1000);
    CHECK(small->data() == block_1000);
  }
  CHECK(allocator_stats().system_allocations == cached);

  // More distinct sizes than the allocator keeps bins for before pruning: all still served.
  release_cached_memory();
  std::vector<std::shared_ptr<Storage>> held;
  for (int i = 1; i <= 700; ++i) held.push_back(Storage::allocate(static_cast<size_t>(i) * 64));
  held.clear();  // every size now cached
  const int64_t before = allocator_stats().system_allocations;
  for (int i = 1; i <= 700; ++i) held.push_back(Storage::allocate(static_cast<size_t>(i) * 64));
  CHECK(allocator_stats().system_allocations == before);
  held.clear();
  release_cached_memory();
  CHECK(allocator_stats().bytes_cached == 0);
}

TEST_CASE("allocator stats track bytes in use, cached and peak", "[storage][allocator]") {
  release_cached_memory();
  const AllocatorStats start = allocator_stats();
  CHECK(start.bytes_cached == 0);
  {
    auto storage = Storage::allocate(1 << 16);
    const AllocatorStats during = allocator_stats();
    CHECK(during.bytes_in_use >= start.bytes_in_use + (1 << 16));
    CHECK(during.peak_bytes_in_use >= during.bytes_in_use);
  }
  const AllocatorStats after = allocator_stats();
  CHECK(after.bytes_in_use == start.bytes_in_use);
  CHECK(after.bytes_cached >= (1 << 16));
  release_cached_memory();
  CHECK(allocator_stats().bytes_cached == 0);
}

TEST_CASE("allocator cache limit frees blocks beyond it at once", "[storage][allocator]") {
  release_cached_memory();
  set_allocator_cache_limit(0);
  { auto storage = Storage::allocate(4096); }
  CHECK(allocator_stats().bytes_cached == 0);
  set_allocator_cache_limit(size_t{1024} << 20);
  { auto storage = Storage::allocate(4096); }
  CHECK(allocator_stats().bytes_cached >= 4096);
  release_cached_memory();
}
