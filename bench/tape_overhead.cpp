// tape_overhead: what recording costs. Times forward + backward over a long chain of small ops
// (x = x * 1.0001 on a 4-element tensor, so the arithmetic is negligible) and reports the cost
// per recorded op, next to the same chain run without recording (NoGradGuard).
//
//   build/bin/nabla-tape-overhead [--ops N] [--reps R]
#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <string>
#include <vector>

#include <nabla/nabla.hpp>

#include <cli.hpp>

using namespace nabla;
using Clock = std::chrono::steady_clock;

namespace {
double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}
}  // namespace

int main(int argc, char** argv) {
  int64_t ops = 1000;
  int reps = 200;
  CLI::App app{"What recording one op on the autograd tape costs", "nabla-tape-overhead"};
  app.add_option("--ops", ops, "ops in the chain")->capture_default_str()->check(nabla::cli::at_least(1));
  app.add_option("--reps", reps, "timed runs (the median is reported)")->capture_default_str()->check(nabla::cli::at_least(1));
  return nabla::cli::run(app, argc, argv, [&] {
  set_num_threads(1);
  const Tensor x = ones({4}).requires_grad_();

  std::vector<double> recorded, forward_only, plain;
  for (int rep = 0; rep < reps; ++rep) {
    auto start = Clock::now();
    Tensor y = x;
    for (int64_t i = 0; i < ops; ++i) y = y * 1.0001;
    const double forward = seconds_since(start);
    sum(y).backward();
    recorded.push_back(seconds_since(start));
    forward_only.push_back(forward);

    start = Clock::now();
    {
      NoGradGuard no_grad;
      Tensor z = x;
      for (int64_t i = 0; i < ops; ++i) z = z * 1.0001;
    }
    plain.push_back(seconds_since(start));
  }
  const double per_op = median(recorded) / static_cast<double>(ops) * 1e6;
  const double per_op_forward = median(forward_only) / static_cast<double>(ops) * 1e6;
  const double per_op_plain = median(plain) / static_cast<double>(ops) * 1e6;
  fmt::print("chain of {} ops, median of {} runs:\n", ops, reps);
  fmt::print("  recorded forward + backward: {:.3f} us per op ({:.3f} forward)\n", per_op, per_op_forward);
  fmt::print("  same ops without recording:  {:.3f} us per op\n", per_op_plain);
  fmt::print("{{\"benchmark\":\"tape_overhead\",\"ops\":{},\"us_per_recorded_op\":{:.4f},\"us_per_forward_op\":{:.4f},"
             "\"us_per_unrecorded_op\":{:.4f}}}\n", ops, per_op, per_op_forward, per_op_plain);
  return 0;
  });
}
