// nabla-allreduce-bench: times distributed::all_reduce (sum, float32) against message size and
// fits t(n) = alpha + beta * n, the numbers docs/DISTRIBUTED.md's cost model starts from.
//
//   mpirun -np 2 --mca pml ob1 --mca btl self,tcp build/bin/nabla-allreduce-bench
//   mpirun -np 2 build/bin/nabla-allreduce-bench --async    # the non-blocking path (DDP's buckets)
//
// Each size is timed `--reps` times after a warm-up (a barrier first, so that every rank starts
// together); a repetition's time is the slowest rank's, and the size's time is their median. The
// fit weights each size by 1/t^2, so that it minimises relative error and the small messages
// (latency) count as much as the large ones (bandwidth). Rank 0 prints a table and one JSON line.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/core.h>

#include <nabla/distributed.hpp>
#include <nabla/nabla.hpp>

using namespace nabla;
namespace dist = nabla::distributed;

int main(int argc, char** argv) {
  int64_t max_bytes = int64_t{64} << 20;
  int reps = 20;
  bool non_blocking = false;
  CLI::App app{"Times all_reduce against message size under mpirun and fits latency and bandwidth",
               "nabla-allreduce-bench"};
  app.add_option("--max-bytes", max_bytes, "largest message (bytes)")->capture_default_str();
  app.add_option("--reps", reps, "timed repetitions per size (median)")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_flag("--async", non_blocking,
               "time all_reduce_async + wait (the non-blocking path DistributedDataParallel's buckets take)");
  CLI11_PARSE(app, argc, argv);
  try {
    set_num_threads(1);
    dist::init();
    const int rank = dist::rank(), ranks = dist::world_size();
    std::vector<double> sizes, times;
    for (int64_t bytes = 4; bytes <= max_bytes; bytes *= 4) {
      const Tensor data = ones({bytes / 4});
      auto reduce = [&] {
        if (non_blocking) {
          dist::all_reduce_async(data).wait();
        } else {
          dist::all_reduce(data);
        }
      };
      for (int warmup = 0; warmup < 3; ++warmup) reduce();
      std::vector<double> samples;
      for (int rep = 0; rep < reps; ++rep) {
        dist::barrier();
        const auto start = std::chrono::steady_clock::now();
        reduce();
        Tensor elapsed = full({1}, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), float64);
        dist::all_reduce(elapsed, dist::ReduceOp::max);
        samples.push_back(elapsed.item<double>());
      }
      std::nth_element(samples.begin(), samples.begin() + samples.size() / 2, samples.end());
      sizes.push_back(static_cast<double>(bytes));
      times.push_back(samples[samples.size() / 2]);
      if (rank == 0) fmt::print(stderr, "{:>12} bytes  {:>10.1f} us\n", bytes, times.back() * 1e6);
    }
    // Weighted least squares for t = alpha + beta n, weights 1/t^2.
    double sw = 0, sx = 0, sy = 0, sxx = 0, sxy = 0;
    for (size_t i = 0; i < sizes.size(); ++i) {
      const double w = 1.0 / (times[i] * times[i]);
      sw += w, sx += w * sizes[i], sy += w * times[i], sxx += w * sizes[i] * sizes[i], sxy += w * sizes[i] * times[i];
    }
    const double beta = (sw * sxy - sx * sy) / (sw * sxx - sx * sx);
    const double alpha = (sy - beta * sx) / sw;
    if (rank == 0) {
      // The ring all-reduce sends 2 (p - 1) messages of n / p bytes one after another: per-hop
      // latency alpha / (2 (p - 1)) and link bandwidth 2 (p - 1) / p / beta.
      const double hops = 2.0 * (ranks - 1);
      fmt::print(stderr, "fit: t(n) = {:.1f} us + n / ({:.3f} GB/s); as a ring: {:.1f} us per hop, {:.3f} GB/s per link\n",
                 alpha * 1e6, 1e-9 / beta, alpha / hops * 1e6, hops / ranks / beta * 1e-9);
      std::string table;
      for (size_t i = 0; i < sizes.size(); ++i) table += fmt::format("{}[{:.0f},{:.3e}]", i ? "," : "", sizes[i], times[i]);
      fmt::print("{{\"ranks\":{},\"alpha_seconds\":{:.4e},\"beta_seconds_per_byte\":{:.4e},\"bandwidth_gb_per_s\":{:.4f},"
                 "\"bytes_seconds\":[{}]}}\n", ranks, alpha, beta, 1e-9 / beta, table);
    }
  } catch (const std::exception& error) {
    fmt::print(stderr, "nabla-allreduce-bench: {}\n", error.what());
    return 1;
  }
  return 0;
}
