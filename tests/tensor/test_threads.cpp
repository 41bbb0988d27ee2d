// The thread pool: thread count, parallel_for coverage and chunking, nesting, exceptions.
#include <algorithm>
#include <atomic>
#include <cstdint>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#include "reference.hpp"

using namespace nabla;
using namespace nabla::kernels;
using Catch::Contains;

namespace {

// Restores the thread count a test changed, even when a REQUIRE fails.
struct ThreadCountGuard {
  int saved = get_num_threads();
  ~ThreadCountGuard() { set_num_threads(saved); }
};

// Runs parallel_for and returns the chunks it made, sorted.
std::vector<std::pair<int64_t, int64_t>> chunks_of(int64_t begin, int64_t end, int64_t grain) {
  std::mutex mutex;
  std::vector<std::pair<int64_t, int64_t>> chunks;
  parallel_for(begin, end, grain, [&](int64_t lo, int64_t hi) {
    std::lock_guard<std::mutex> lock(mutex);
    chunks.emplace_back(lo, hi);
  });
  std::sort(chunks.begin(), chunks.end());
  return chunks;
}

// Every index of [begin, end) visited exactly once.
void check_covers_once(int64_t begin, int64_t end, int64_t grain) {
  std::vector<std::atomic<int>> visits(static_cast<size_t>(end - begin));
  for (auto& v : visits) v = 0;
  parallel_for(begin, end, grain, [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) visits[static_cast<size_t>(i - begin)].fetch_add(1);
  });
  int64_t wrong = 0;
  for (auto& v : visits) wrong += v.load() != 1;
  INFO("range [" << begin << ", " << end << ") grain " << grain << " threads " << get_num_threads());
  CHECK(wrong == 0);
}

}  // namespace

TEST_CASE("set_num_threads and get_num_threads", "[threads]") {
  ThreadCountGuard guard;
  CHECK(get_num_threads() >= 1);
  set_num_threads(2);
  CHECK(get_num_threads() == 2);
  set_num_threads(1);
  CHECK(get_num_threads() == 1);
  CHECK_THROWS_AS(set_num_threads(0), Error);
  CHECK_THROWS_WITH(set_num_threads(-3), Contains("set_num_threads") && Contains("-3"));
  CHECK(get_num_threads() == 1);  // a refused call changes nothing
}

TEST_CASE("parallel_for covers every index exactly once", "[threads]") {
  ThreadCountGuard guard;
  for (int threads : {1, 2, 3}) {
    set_num_threads(threads);
    check_covers_once(0, 100000, 1);
    check_covers_once(0, 100000, 1000);
    check_covers_once(17, 10017, 64);
    check_covers_once(-50, 50, 1);
    check_covers_once(0, 1, 1);
    check_covers_once(0, 7, 100);  // smaller than one grain
  }
}

TEST_CASE("parallel_for makes at most get_num_threads() contiguous chunks of at least grain", "[threads]") {
  ThreadCountGuard guard;
  for (int threads : {1, 2, 4}) {
    set_num_threads(threads);
    INFO("threads " << threads);
    const std::vector<std::tuple<int64_t, int64_t, int64_t>> ranges = {
        {0, 100000, 1000}, {5, 105, 10}, {0, 1500, 1000}, {0, 10, 1}, {0, 10, 3}, {0, 999, 1000}};
    for (const auto& [begin, end, grain] : ranges) {
      INFO("range [" << begin << ", " << end << ") grain " << grain);
      const auto chunks = chunks_of(begin, end, grain);
      REQUIRE(!chunks.empty());
      CHECK(static_cast<int64_t>(chunks.size()) <= threads);
      CHECK(chunks.front().first == begin);
      CHECK(chunks.back().second == end);
      for (size_t i = 0; i < chunks.size(); ++i) {
        CHECK(chunks[i].first < chunks[i].second);
        if (i + 1 < chunks.size()) CHECK(chunks[i].second == chunks[i + 1].first);
        if (chunks.size() > 1) CHECK(chunks[i].second - chunks[i].first >= grain);
      }
    }
  }
}

TEST_CASE("parallel_for on an empty range does nothing", "[threads]") {
  int calls = 0;
  parallel_for(5, 5, 1, [&](int64_t lo, int64_t hi) { calls += hi > lo ? 1 : 0; });
  parallel_for(9, 3, 1, [&](int64_t lo, int64_t hi) { calls += hi > lo ? 1 : 0; });
  CHECK(calls == 0);
}

TEST_CASE("with one thread parallel_for runs inline on the caller", "[threads]") {
  ThreadCountGuard guard;
  set_num_threads(1);
  const auto caller = std::this_thread::get_id();
  bool same_thread = true;
  int calls = 0;
  parallel_for(0, 1000000, 1, [&](int64_t lo, int64_t hi) {
    ++calls;
    same_thread = same_thread && std::this_thread::get_id() == caller;
    CHECK(lo == 0);
    CHECK(hi == 1000000);
  });
  CHECK(calls == 1);
  CHECK(same_thread);
}

TEST_CASE("nested parallel_for runs inline and still covers its range", "[threads]") {
  ThreadCountGuard guard;
  set_num_threads(2);
  CHECK_FALSE(in_parallel_region());
  std::atomic<int64_t> inner_total{0};
  std::atomic<int> outside_region{0};
  parallel_for(0, 4, 1, [&](int64_t lo, int64_t hi) {
    if (!in_parallel_region()) ++outside_region;
    for (int64_t i = lo; i < hi; ++i) {
      parallel_for(0, 1000, 1, [&](int64_t a, int64_t b) { inner_total += b - a; });
    }
  });
  CHECK(inner_total == 4000);
  CHECK(outside_region == 0);
  CHECK_FALSE(in_parallel_region());
}

TEST_CASE("an exception thrown in a chunk reaches the caller", "[threads][errors]") {
  ThreadCountGuard guard;
  for (int threads : {1, 2}) {
    set_num_threads(threads);
    CHECK_THROWS_WITH(parallel_for(0, 1000, 1,
                                   [](int64_t lo, int64_t hi) {
                                     if (lo <= 999 && 999 < hi) throw std::runtime_error("chunk failed");
                                   }),
                      Contains("chunk failed"));
    // The pool still works afterwards.
    check_covers_once(0, 5000, 1);
  }
}

TEST_CASE("changing the thread count repeatedly keeps the pool working", "[threads]") {
  ThreadCountGuard guard;
  for (int round = 0; round < 5; ++round) {
    for (int threads : {2, 1, 3, 2}) {
      set_num_threads(threads);
      check_covers_once(0, 20000, 1);
    }
  }
}

TEST_CASE("kernels give the same results with 1 and 2 threads", "[threads]") {
  ThreadCountGuard guard;
  Generator g(31);
  const Tensor a = randn({400, 300}, float64, g);
  const Tensor b = randn({300}, float64, g);
  set_num_threads(1);
  const Tensor sum1 = add(a.t(), b.unsqueeze(1));
  const Tensor exp1 = exp(a);
  const Tensor reduced1 = sum(a, {0});
  const Tensor amax1 = amax(a, {1});
  set_num_threads(2);
  CHECK(equal(add(a.t(), b.unsqueeze(1)), sum1));
  CHECK(equal(exp(a), exp1));
  CHECK(allclose(sum(a, {0}), reduced1, 1e-12, 1e-12));
  CHECK(equal(amax(a, {1}), amax1));
}
