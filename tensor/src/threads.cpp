#include "nabla/tensor/threads.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
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

// A worker (or the caller, waiting for the workers) spins this long before it sleeps. A training
// step runs dozens of parallel loops a few microseconds apart; waking a sleeping thread costs
// more than that (a futex call, a context switch), and sleeping between them lost ~15 % of a
// 2-thread MLP step to the scheduler. A bounded spin keeps the pool responsive inside a step
// and idle (asleep) between steps or when the program does other work.
constexpr auto kSpinTime = std::chrono::microseconds(100);

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#else
  std::this_thread::yield();
#endif
}

// Spins until done() or kSpinTime passes; true if done.
template <class Done>
bool spin_until(Done done) {
  const auto deadline = std::chrono::steady_clock::now() + kSpinTime;
  for (int spins = 0;; ++spins) {
    if (done()) return true;
    cpu_relax();
    if ((spins & 63) == 63 && std::chrono::steady_clock::now() > deadline) return done();
  }
}

// A fixed set of workers that run the chunks of a parallel_for with the caller. Chunks are
// claimed one at a time, by whoever gets there first: a worker the OS has not scheduled yet (the
// machine is shared, or another program is busy) holds nothing up, the caller takes its chunk.
// Handing chunks out by index made the caller wait for every worker to be scheduled: with one
// core also running another program, a 2-thread MLP step took 3x as long as a 1-thread one.
// Between jobs a worker spins briefly (see kSpinTime), then sleeps on a condition variable, so an
// idle pool costs nothing. BLAS runs single-threaded inside the pool's threads: one owner of the
// cores.
class ThreadPool {
 public:
  explicit ThreadPool(int threads) { resize(threads); }
  ~ThreadPool() { stop_workers(); }

  int size() const { return static_cast<int>(workers_.size()) + 1; }

  void resize(int threads) {
    stop_workers();
    stopping_ = false;
    // New workers start having "seen" the current generation: otherwise they would wake at once
    // and look for chunks of the last (already finished) job.
    const uint64_t current = generation_of(state_.load());
    for (int i = 1; i < threads; ++i) workers_.emplace_back([this, current] { worker_loop(current); });
  }

  // Runs fn(chunk) for every chunk in [0, chunks), on the caller and the workers.
  void run(int chunks, FunctionRef<void(int)> fn) {
    std::lock_guard<std::mutex> serial(run_mutex_);  // one job at a time
    job_ = &fn;
    error_ = nullptr;
    completed_.store(0);
    // Publishes the job: its generation, chunk count and next unclaimed chunk in one atomic word,
    // so a claim can never pair one job's chunk with another job. Sequentially consistent with
    // the sleepers_ count (and the workers' own increment-then-check), so a worker going to sleep
    // either sees this job or is woken.
    const uint64_t generation = (generation_of(state_.load()) + 1) & kGenerationMask;  // wraps to 0
    state_.store(generation << kGenerationShift | static_cast<uint64_t>(chunks) << kChunksShift);
    if (sleepers_.load() > 0) {
      std::lock_guard<std::mutex> lock(mutex_);
      wake_.notify_all();
    }
    run_claimed_chunks(generation);
    // What is left is chunks other threads claimed and are still running.
    if (!spin_until([&] { return completed_.load() == chunks; })) {
      std::unique_lock<std::mutex> lock(mutex_);
      done_.wait(lock, [&] { return completed_.load() == chunks; });
    }
    job_ = nullptr;
    std::exception_ptr error;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      error = error_;
    }
    if (error) std::rethrow_exception(error);
  }

 private:
  // Claims chunks of job `generation` one by one and runs them, until none is left. A claim is a
  // compare-and-swap on the whole state word, so it succeeds only while that job is current; job_
  // is read after the claim, when the job cannot finish (and job_ cannot change) before this chunk.
  void run_claimed_chunks(uint64_t generation) {
    uint64_t state = state_.load();
    for (;;) {
      if (generation_of(state) != generation) return;
      const uint64_t chunk = state & kFieldMask;
      const uint64_t chunks = (state >> kChunksShift) & kFieldMask;
      if (chunk >= chunks) return;
      if (!state_.compare_exchange_weak(state, state + 1)) continue;  // state now holds the latest
      run_chunk(*job_, static_cast<int>(chunk));
      if (completed_.fetch_add(1) + 1 == static_cast<int>(chunks)) {
        std::lock_guard<std::mutex> lock(mutex_);  // the caller may be asleep on done_
        done_.notify_one();
      }
      state = state_.load();
    }
  }

  void run_chunk(FunctionRef<void(int)> fn, int chunk) {
    t_in_parallel_region = true;
    try {
      fn(chunk);
    } catch (...) {
      std::lock_guard<std::mutex> lock(mutex_);
      if (!error_) error_ = std::current_exception();
    }
    t_in_parallel_region = false;
  }

  void worker_loop(uint64_t seen) {
    for (;;) {
      auto new_job = [&] { return stopping_.load() || generation_of(state_.load()) != seen; };
      if (!spin_until(new_job)) {
        std::unique_lock<std::mutex> lock(mutex_);
        sleepers_.fetch_add(1);
        wake_.wait(lock, new_job);
        sleepers_.fetch_sub(1);
      }
      if (stopping_.load()) return;
      seen = generation_of(state_.load());
      run_claimed_chunks(seen);
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
  // state_: generation (32 bits) | chunks of the job (16) | next unclaimed chunk (16). Chunks per
  // job < 65536: parallel_for makes at most one per thread, and set_num_threads caps threads.
  static constexpr int kChunksShift = 16;
  static constexpr int kGenerationShift = 32;
  static constexpr uint64_t kFieldMask = (uint64_t{1} << 16) - 1;
  static constexpr uint64_t kGenerationMask = (uint64_t{1} << 32) - 1;
  static uint64_t generation_of(uint64_t state) { return state >> kGenerationShift; }

  const FunctionRef<void(int)>* job_ = nullptr;  // published by state_
  std::atomic<int> completed_{0};
  std::atomic<uint64_t> state_{0};
  std::atomic<int> sleepers_{0};
  std::atomic<bool> stopping_{false};
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
  if (n > 4096) fail("set_num_threads: {} threads requested; at most 4096 are supported", n);
  std::lock_guard<std::mutex> lock(g_pool_mutex);
  g_num_threads = n;
  pool().resize(n);
  kernels::detail::blas_set_num_threads(n);
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

void parallel_for(int64_t begin, int64_t end, int64_t grain, FunctionRef<void(int64_t, int64_t)> fn) {
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
