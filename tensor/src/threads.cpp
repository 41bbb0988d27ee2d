#include "nabla/tensor/threads.hpp"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#include "blas.hpp"
#include "nabla/tensor/error.hpp"

namespace nabla {

namespace {

thread_local bool t_in_parallel_region = false;

// A fixed set of workers that each take one chunk of a parallel_for. Workers sleep on a
// condition variable between jobs, so an idle pool costs nothing (no spinning against BLAS).
class ThreadPool {
 public:
  explicit ThreadPool(int threads) { resize(threads); }
  ~ThreadPool() { stop_workers(); }

  int size() const { return static_cast<int>(workers_.size()) + 1; }

  void resize(int threads) {
    stop_workers();
    stopping_ = false;
    // New workers start having "seen" the current generation: otherwise they would wake at once
    // and run the last (already finished, now null) job.
    const uint64_t current = generation_;
    for (int i = 1; i < threads; ++i) workers_.emplace_back([this, i, current] { worker_loop(i, current); });
  }

  // Runs fn(chunk) for chunk in [0, chunks); the caller runs chunk 0.
  void run(int chunks, const std::function<void(int)>& fn) {
    std::lock_guard<std::mutex> serial(run_mutex_);  // one job at a time
    {
      std::lock_guard<std::mutex> lock(mutex_);
      job_ = &fn;
      job_chunks_ = chunks;
      remaining_ = chunks - 1;
      error_ = nullptr;
      ++generation_;
    }
    wake_.notify_all();
    run_chunk(fn, 0);
    std::unique_lock<std::mutex> lock(mutex_);
    done_.wait(lock, [this] { return remaining_ == 0; });
    job_ = nullptr;
    if (error_) std::rethrow_exception(error_);
  }

 private:
  void run_chunk(const std::function<void(int)>& fn, int chunk) {
    t_in_parallel_region = true;
    try {
      fn(chunk);
    } catch (...) {
      std::lock_guard<std::mutex> lock(mutex_);
      if (!error_) error_ = std::current_exception();
    }
    t_in_parallel_region = false;
  }

  void worker_loop(int index, uint64_t seen) {
    for (;;) {
      const std::function<void(int)>* job = nullptr;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        wake_.wait(lock, [&] { return stopping_ || generation_ != seen; });
        if (stopping_) return;
        seen = generation_;
        if (index >= job_chunks_) continue;
        job = job_;
      }
      run_chunk(*job, index);
      std::lock_guard<std::mutex> lock(mutex_);
      if (--remaining_ == 0) done_.notify_one();
    }
  }

  void stop_workers() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_all();
    for (auto& worker : workers_) worker.join();
    workers_.clear();
  }

  std::mutex run_mutex_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable done_;
  std::vector<std::thread> workers_;
  const std::function<void(int)>* job_ = nullptr;
  int job_chunks_ = 0;
  int remaining_ = 0;
  uint64_t generation_ = 0;
  bool stopping_ = false;
  std::exception_ptr error_;
};

int default_threads() {
  const unsigned hw = std::thread::hardware_concurrency();
  return hw == 0 ? 1 : static_cast<int>(std::min(hw, 64u));
}

std::atomic<int> g_num_threads{0};
std::mutex g_pool_mutex;

ThreadPool& pool() {
  static auto* instance = new ThreadPool(get_num_threads());  // never destroyed (exit order)
  return *instance;
}

}  // namespace

void set_num_threads(int n) {
  if (n < 1) fail("set_num_threads: {} threads requested; pass at least 1", n);
  std::lock_guard<std::mutex> lock(g_pool_mutex);
  g_num_threads = n;
  pool().resize(n);
  detail::blas_set_num_threads(n);
}

int get_num_threads() {
  int n = g_num_threads.load();
  if (n == 0) {
    n = default_threads();
    g_num_threads = n;
  }
  return n;
}

bool in_parallel_region() { return t_in_parallel_region; }

void parallel_for(int64_t begin, int64_t end, int64_t grain,
                  const std::function<void(int64_t, int64_t)>& fn) {
  const int64_t n = end - begin;
  if (n <= 0) return;
  grain = std::max<int64_t>(grain, 1);
  const int threads = get_num_threads();
  // n / grain (rounded down) keeps every chunk at least `grain` long, as documented.
  const int64_t chunks = std::min<int64_t>(threads, n / grain);
  if (chunks <= 1 || t_in_parallel_region) {
    fn(begin, end);
    return;
  }
  // Balanced split: chunk sizes differ by at most one, so none falls below n / chunks >= grain.
  pool().run(static_cast<int>(chunks), [&](int chunk) {
    const int64_t lo = begin + chunk * n / chunks;
    const int64_t hi = begin + (chunk + 1) * n / chunks;
    if (lo < hi) fn(lo, hi);
  });
}

}  // namespace nabla
