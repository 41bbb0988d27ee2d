// The distributed tests (issue 16), run as real processes by mpirun from CTest:
//   mpirun -np N distributed_check <scenario>
// Each scenario checks its results on every rank; a failed check prints the rank and the
// expression, then aborts the whole job (so that no rank waits in a collective for one that has
// stopped). Exit code 0 means every rank passed. Catch2 is not used here: its reporters and its
// test selection know nothing of ranks that must run the same collectives in the same order.
#include <algorithm>
#include <csignal>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>
#include <unistd.h>

#include <nabla/distributed.hpp>
#include <nabla/nabla.hpp>

using namespace nabla;
namespace dist = nabla::distributed;
namespace F = nabla::nn::functional;

namespace {

int failures = 0;

#define EXPECT(condition)                                                                                  \
  do {                                                                                                     \
    if (!(condition)) {                                                                                    \
      std::fprintf(stderr, "rank %d: FAILED %s:%d: %s\n", dist::is_initialized() ? dist::rank() : -1, \
                   __FILE__, __LINE__, #condition);                                                        \
      ++failures;                                                                                          \
    }                                                                                                      \
  } while (0)

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// Runs `call`, expecting a nabla::Error whose message contains every one of `parts`.
template <class Call>
std::string expect_error(Call&& call, std::initializer_list<const char*> parts) {
  try {
    call();
  } catch (const Error& e) {
    const std::string message = e.what();
    for (const char* part : parts) {
      if (!contains(message, part)) {
        std::fprintf(stderr, "rank %d: FAILED: error message lacks \"%s\": %s\n", dist::rank(), part, message.c_str());
        ++failures;
      }
    }
    return message;
  }
  std::fprintf(stderr, "rank %d: FAILED: expected an error containing \"%s\"\n", dist::rank(), *parts.begin());
  ++failures;
  return {};
}

std::vector<double> values(const Tensor& t) { return t.raw().to(float64).contiguous().to_vector<double>(); }

bool bitwise_equal_across_ranks(const Tensor& t) {
  // Gathers every rank's bytes and compares them with rank 0's.
  const kernels::Tensor packed = t.raw().contiguous();
  const char* begin = static_cast<const char*>(packed.raw_data());
  const auto all = dist::all_gather_bytes(std::vector<char>(begin, begin + packed.numel() * itemsize(t.dtype())));
  for (const auto& bytes : all) {
    if (bytes != all[0]) return false;
  }
  return true;
}

// ---- collectives against hand-computed values ---------------------------------------------------

void check_collectives() {
  const int rank = dist::rank();
  const int n = dist::world_size();
  const double rank_sum = n * (n - 1) / 2.0;  // 0 + 1 + ... + (n-1)
  for (const DType dtype : {float32, float64, int64, int32, uint8}) {
    // all_reduce: rank r holds {r + 1, 2 - r, 10}.
    auto filled = [&] { return tensor({rank + 1.0, 2.0 * (rank + 1), 10.0}, {3}, dtype); };
    Tensor t = filled();
    dist::all_reduce(t);
    EXPECT((values(t) == std::vector<double>{rank_sum + n, 2 * (rank_sum + n), 10.0 * n}));
    t = filled();
    dist::all_reduce(t, dist::ReduceOp::max);
    EXPECT((values(t) == std::vector<double>{double(n), 2.0 * n, 10}));
    t = filled();
    dist::all_reduce(t, dist::ReduceOp::min);
    EXPECT((values(t) == std::vector<double>{1, 2, 10}));
    if (dtype == float32 || dtype == float64) {
      t = filled();
      dist::all_reduce(t, dist::ReduceOp::mean);
      EXPECT((values(t) == std::vector<double>{(rank_sum + n) / n, 2 * (rank_sum + n) / n, 10}));
    } else {
      expect_error([&] { dist::all_reduce(t, dist::ReduceOp::mean); }, {"all_reduce", "mean needs a floating-point"});
    }
    // broadcast from the last rank.
    t = filled();
    dist::broadcast(t, n - 1);
    EXPECT((values(t) == std::vector<double>{double(n), 2.0 * n, 10}));
    // all_gather: outputs[r] is rank r's {r, 5}.
    std::vector<Tensor> gathered;
    for (int r = 0; r < n; ++r) gathered.push_back(zeros({2}, dtype));
    dist::all_gather(gathered, tensor({double(rank), 5}, {2}, dtype));
    for (int r = 0; r < n; ++r) EXPECT((values(gathered[r]) == std::vector<double>{double(r), 5}));
    Tensor stacked = zeros({2 * n}, dtype);
    dist::all_gather_into_tensor(stacked, tensor({double(rank), 5}, {2}, dtype));
    for (int r = 0; r < n; ++r) EXPECT((values(stacked).at(2 * r) == r && values(stacked).at(2 * r + 1) == 5));
    // reduce_scatter: rank r sends inputs[k] = {r + k}; rank k receives sum over r of (r + k).
    std::vector<Tensor> inputs;
    for (int k = 0; k < n; ++k) inputs.push_back(tensor({double(rank + k)}, {1}, dtype));
    Tensor scattered = zeros({1}, dtype);
    dist::reduce_scatter(scattered, inputs);
    EXPECT((values(scattered) == std::vector<double>{rank_sum + n * rank}));
    Tensor flat = zeros({n}, dtype);
    for (int k = 0; k < n; ++k) flat.raw().select(0, k).fill_(rank + k);
    dist::reduce_scatter_tensor(scattered, flat, dist::ReduceOp::max);
    EXPECT((values(scattered) == std::vector<double>{double(n - 1 + rank)}));
  }
  // bool: sum and max are "any", min is "all".
  Tensor flags = tensor({rank == 0 ? 1.0 : 0.0, 1.0, 0.0}, {3}, bool_);
  Tensor any = flags.clone(), all = flags.clone();
  dist::all_reduce(any);
  dist::all_reduce(all, dist::ReduceOp::min);
  EXPECT((values(any) == std::vector<double>{1, 1, 0}));
  EXPECT((values(all) == std::vector<double>{n == 1 ? 1.0 : 0.0, 1, 0}));

  // A non-contiguous tensor (a transposed view) is reduced through a packed copy and written back
  // into the view's own storage; a contiguous one in place, without a copy.
  Tensor base = tensor({1, 2, 3, 4, 5, 6}, {2, 3}, float64) * double(rank + 1);
  Tensor view = base.transpose(0, 1);
  const void* storage_before = base.raw().raw_data();
  dist::all_reduce(view);
  const double scale = rank_sum + n;
  EXPECT((values(base) == std::vector<double>{scale, 2 * scale, 3 * scale, 4 * scale, 5 * scale, 6 * scale}));
  EXPECT(base.raw().raw_data() == storage_before);

  // Non-blocking: two in flight, waited for in the reverse order.
  Tensor a = full({1000}, rank + 1.0, float64), b = full({7}, 2.0, float32);
  dist::Work work_a = dist::all_reduce_async(a);
  dist::Work work_b = dist::all_reduce_async(b, dist::ReduceOp::mean);
  work_b.wait();
  work_a.wait();
  EXPECT(work_a.is_completed());
  EXPECT(values(a)[999] == rank_sum + n);
  EXPECT(values(b)[0] == 2.0);

  // Bad calls name the collective and the shapes.
  expect_error([&] { dist::all_gather_into_tensor(zeros({3}), zeros({2})); }, {"all_gather_into_tensor", "[3]"});
  expect_error([&] { dist::broadcast(zeros({1}), n); }, {"broadcast", "source rank"});
  dist::barrier();
}

// ---- DistributedDataParallel ---------------------------------------------------------------------

struct Net : nn::Module {
  nn::Shared<nn::Linear> fc1 = register_module("fc1", nn::Linear(6, 16));
  nn::Shared<nn::Linear> fc2 = register_module("fc2", nn::Linear(16, 16));
  nn::Shared<nn::Linear> fc3 = register_module("fc3", nn::Linear(16, 3));
  Tensor forward(const Tensor& x) override { return fc3(tanh(fc2(tanh(fc1(x))))); }
};

// The largest normwise relative difference, max |a - b| / max |b|, over pairs of tensors.
double max_relative_difference(const std::vector<Tensor>& a, const std::vector<Tensor>& b) {
  double worst = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    const auto x = values(a[i]), y = values(b[i]);
    double difference = 0, scale = 0;
    for (size_t j = 0; j < x.size(); ++j) {
      difference = std::max(difference, std::abs(x[j] - y[j]));
      scale = std::max(scale, std::abs(y[j]));
    }
    worst = std::max(worst, scale > 0 ? difference / scale : difference);
  }
  return worst;
}

// DDP on N ranks with batch B each against one model trained on the N·B examples, for `steps`
// SGD steps; parameters compared across ranks bitwise after every step.
void check_ddp_equivalence(DType dtype, double tolerance) {
  const int rank = dist::rank(), n = dist::world_size();
  const int64_t batch = 4, steps = 5;
  Generator data_generator(123);  // the same data on every rank
  const Tensor inputs = randn({steps, n * batch, 6}, dtype, data_generator);
  const Tensor targets = randn({steps, n * batch, 3}, dtype, data_generator);

  manual_seed(1000);  // the reference starts from rank 0's initial weights (below)
  auto reference = nn::make<Net>();
  reference->to(dtype);
  manual_seed(1000 + rank);  // different on every rank: DDP must copy rank 0's
  auto model = nn::make<Net>();
  model->to(dtype);
  // Tiny buckets, so that several all-reduces are in flight during backward.
  dist::DistributedDataParallel ddp(model, {.bucket_cap_mb = 0.001});
  const auto buckets = ddp.bucket_parameter_names();
  EXPECT(buckets.size() > 1);
  EXPECT(buckets.front().front() == "fc3.bias");  // reverse registration order
  EXPECT(max_relative_difference(model->parameters(), reference->parameters()) == 0.0);

  nn::SGD optimizer(model->parameters(), {.lr = 0.1, .momentum = 0.9});
  nn::SGD reference_optimizer(reference->parameters(), {.lr = 0.1, .momentum = 0.9});
  double worst = 0;
  for (int64_t step = 0; step < steps; ++step) {
    optimizer.zero_grad();
    const Tensor x = inputs[step].narrow(0, rank * batch, batch), y = targets[step].narrow(0, rank * batch, batch);
    F::mse_loss(model(x), y).backward();  // averaged over the ranks when backward returns
    optimizer.step();
    reference_optimizer.zero_grad();
    F::mse_loss(reference(inputs[step]), targets[step]).backward();
    reference_optimizer.step();
    for (const Tensor& parameter : model->parameters()) EXPECT(bitwise_equal_across_ranks(parameter));
    worst = std::max(worst, max_relative_difference(model->parameters(), reference->parameters()));
  }
  if (rank == 0) {
    std::printf("DDP on %d ranks x batch %lld vs one process x batch %lld, %lld SGD steps, %s: max relative "
                "difference %.3g\n", n, (long long)batch, (long long)(n * batch), (long long)steps,
                std::string(dtype_name(dtype)).c_str(), worst);
  }
  EXPECT(worst <= tolerance);
}

// no_sync: gradients of two micro-batches accumulate locally, then the synced backward averages
// the total.
void check_no_sync() {
  const int rank = dist::rank(), n = dist::world_size();
  const int64_t batch = 3;
  Generator data_generator(7);
  const Tensor inputs = randn({2, n * batch, 6}, float64, data_generator);
  const Tensor targets = randn({2, n * batch, 3}, float64, data_generator);
  manual_seed(5);
  auto model = nn::make<Net>();
  model->to(float64);
  manual_seed(5);
  auto reference = nn::make<Net>();
  reference->to(float64);
  dist::DistributedDataParallel ddp(model);
  auto rows = [&](const Tensor& t, int64_t micro) { return t[micro].narrow(0, rank * batch, batch); };
  {
    auto guard = ddp.no_sync();
    F::mse_loss(model(rows(inputs, 0)), rows(targets, 0)).backward();
  }
  // Not averaged yet: rank r's gradient is its own micro-batch's.
  auto local = nn::make<Net>();
  local->to(float64);
  {
    NoGradGuard no_grad;
    for (size_t i = 0; i < local->parameters().size(); ++i) local->parameters()[i].raw().copy_(reference->parameters()[i].raw());
  }
  F::mse_loss(local(rows(inputs, 0)), rows(targets, 0)).backward();
  EXPECT(max_relative_difference({model->fc1->weight.grad()}, {local->fc1->weight.grad()}) == 0.0);
  F::mse_loss(model(rows(inputs, 1)), rows(targets, 1)).backward();
  for (int64_t micro = 0; micro < 2; ++micro) F::mse_loss(reference(inputs[micro]), targets[micro]).backward();
  std::vector<Tensor> grads, reference_grads;
  for (const Tensor& p : model->parameters()) grads.push_back(p.grad());
  for (const Tensor& p : reference->parameters()) reference_grads.push_back(p.grad());
  const double difference = max_relative_difference(grads, reference_grads);
  EXPECT(difference < 1e-12);
  for (const Tensor& g : grads) EXPECT(bitwise_equal_across_ranks(g));
}

// BatchNorm's running statistics are broadcast from rank 0 before each training forward.
void check_buffers() {
  const int rank = dist::rank();
  nn::Shared<nn::Sequential> model = nn::Sequential{nn::Linear(4, 5), nn::BatchNorm1d(5)};
  dist::DistributedDataParallel ddp(model);
  for (const auto& [name, buffer] : model->named_buffers()) {
    if (name.find("running_mean") != std::string::npos) buffer.raw().fill_(rank + 1.0);  // ranks drift apart
  }
  Generator data_generator(3);
  const Tensor x = randn({8, 4}, float32, data_generator);  // the same batch everywhere
  F::mse_loss(ddp(x), zeros({8, 5})).backward();
  // Every rank started the forward from rank 0's statistics and saw the same batch.
  for (const Tensor& buffer : model->buffers()) EXPECT(bitwise_equal_across_ranks(buffer));
}

// SyncBatchNorm on N ranks with batch B each normalises as BatchNorm on one process with batch
// N·B: the same outputs for each rank's rows, the same input gradients, weight gradients that sum
// over the ranks to the one process's, and the same running statistics.
void check_sync_batch_norm() {
  const int rank = dist::rank(), n = dist::world_size();
  const int64_t batch = 3;
  Generator data_generator(11);
  const Tensor all = randn({n * batch, 4, 5}, float64, data_generator) * 2.0 + 1.0;
  const Tensor upstream = randn({n * batch, 4, 5}, float64, data_generator);  // d loss / d output
  nn::Shared<dist::SyncBatchNorm> synced = dist::SyncBatchNorm(4);
  nn::Shared<nn::BatchNorm1d> reference = nn::BatchNorm1d(4);
  synced->to(float64);
  reference->to(float64);
  const Tensor x = all.narrow(0, rank * batch, batch).clone().requires_grad_();
  const Tensor x_all = all.clone().requires_grad_();
  const Tensor y = synced(x);
  const Tensor y_all = reference(x_all);
  sum(y * upstream.narrow(0, rank * batch, batch)).backward();
  sum(y_all * upstream).backward();
  EXPECT(max_relative_difference({y}, {y_all.narrow(0, rank * batch, batch)}) < 1e-12);
  EXPECT(max_relative_difference({x.grad()}, {x_all.grad().narrow(0, rank * batch, batch)}) < 1e-12);
  Tensor weight_grad = synced->weight.grad().clone(), bias_grad = synced->bias.grad().clone();
  dist::all_reduce(weight_grad);
  dist::all_reduce(bias_grad);
  EXPECT(max_relative_difference({weight_grad, bias_grad}, {reference->weight.grad(), reference->bias.grad()}) < 1e-12);
  EXPECT(max_relative_difference({synced->running_mean, synced->running_var},
                                 {reference->running_mean, reference->running_var}) < 1e-12);
  synced->eval();
  reference->eval();
  EXPECT(max_relative_difference({synced(x)}, {reference(x)}) < 1e-12);  // running statistics, no communication
}

// The default buckets: the first closes once it holds 1 MiB (PyTorch's first-bucket cap), the
// rest at 25 MiB. Reverse registration order: 2.bias, 2.weight (24 KB), 1.bias, 1.weight (600 x 600
// floats, 1.44 MB: over 1 MiB, so the first bucket ends there), then 0.bias and 0.weight.
void check_bucket_layout() {
  nn::Shared<nn::Sequential> model = nn::Sequential{nn::Linear(10, 600), nn::Linear(600, 600), nn::Linear(600, 10)};
  dist::DistributedDataParallel ddp(model);
  const auto buckets = ddp.bucket_parameter_names();
  EXPECT(buckets.size() == 2);
  EXPECT(buckets[0] == (std::vector<std::string>{"2.bias", "2.weight", "1.bias", "1.weight"}));
  EXPECT(buckets[1] == (std::vector<std::string>{"0.bias", "0.weight"}));
  dist::DistributedDataParallel one_bucket(model, {.first_bucket_cap_mb = 25});
  EXPECT(one_bucket.bucket_parameter_names().size() == 1);
  expect_error([&] { dist::DistributedDataParallel ddp(model, {.first_bucket_cap_mb = 0}); }, {"first_bucket_cap_mb", "positive"});
}

// A model that differs across ranks is refused on every rank, naming the parameter and ranks.
void check_mismatch() {
  const int rank = dist::rank();
  nn::Shared<nn::Sequential> model = nn::Sequential{nn::Linear(4, 8), nn::Linear(8, rank == 1 ? 5 : 3)};
  const std::string message = expect_error([&] { dist::DistributedDataParallel ddp(model); },
                                           {"rank 1", "differs from rank 0's", "'1.weight'", "[3, 8]", "[5, 8]"});
  if (rank == 0) std::printf("refused: %s\n", message.c_str());
  nn::Shared<nn::Sequential> longer = nn::Sequential{nn::Linear(4, 8)};
  if (rank == 1) longer->push_back(nn::Linear(8, 3));
  expect_error([&] { dist::DistributedDataParallel ddp(longer); }, {"rank 1's has 4", "'1.weight'"});
}

// A parameter that gets no gradient: an error naming it, or with find_unused_parameters a zero.
void check_unused() {
  struct Partly : nn::Module {
    nn::Shared<nn::Linear> used = register_module("used", nn::Linear(3, 2));
    nn::Shared<nn::Linear> spare = register_module("spare", nn::Linear(3, 2));
    Tensor forward(const Tensor& x) override { return used(x); }
  };
  auto model = nn::make<Partly>();
  {
    dist::DistributedDataParallel ddp(model);
    expect_error([&] { sum(ddp(ones({2, 3}))).backward(); }, {"'spare.weight', 'spare.bias'", "find_unused_parameters"});
  }
  model->zero_grad();
  dist::DistributedDataParallel ddp(model, {.find_unused_parameters = true});
  sum(ddp(ones({2, 3}))).backward();
  EXPECT(model->used->weight.grad().defined());
  EXPECT(!model->spare->weight.grad().defined());  // no rank used it
  EXPECT(values(model->used->bias.grad()) == (std::vector<double>{2, 2}));
}

// One rank dies (SIGKILL) while the others wait in a collective: mpirun must end the job with an
// error (the CTest wrapper checks the exit code and the time it took).
void kill_one_rank() {
  Tensor t = ones({4});
  dist::all_reduce(t);
  if (dist::rank() == 1) raise(SIGKILL);
  for (int i = 0; i < 1000000; ++i) dist::all_reduce(t);  // rank 0 waits here for the dead rank
  std::fprintf(stderr, "rank %d: FAILED: the collectives completed without rank 1\n", dist::rank());
  std::exit(1);
}

}  // namespace

int main(int argc, char** argv) {
  const std::string scenario = argc > 1 ? argv[1] : "";
  set_num_threads(1);  // ranks share the machine's cores
  if (scenario == "not_launched") {
    // Run without mpirun: init refuses with an explanation.
    try {
      dist::init();
    } catch (const Error& e) {
      std::printf("refused: %s\n", e.what());
      return contains(e.what(), "not started by mpirun") ? 0 : 1;
    }
    return 1;
  }
  dist::init();
  try {
    if (scenario == "collectives") {
      check_collectives();
    } else if (scenario == "ddp") {
      check_ddp_equivalence(float64, 1e-12);
      check_ddp_equivalence(float32, 1e-5);
      check_buffers();
      check_sync_batch_norm();
      check_bucket_layout();
    } else if (scenario == "no_sync") {
      check_no_sync();
    } else if (scenario == "mismatch") {
      check_mismatch();
      check_unused();
    } else if (scenario == "kill") {
      kill_one_rank();
    } else {
      std::fprintf(stderr, "usage: mpirun -np N distributed_check collectives|ddp|no_sync|mismatch|kill|not_launched\n");
      return 2;
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "rank %d: FAILED with an exception: %s\n", dist::rank(), e.what());
    dist::abort(1);
  }
  if (failures > 0) dist::abort(1);
  dist::barrier();
  if (dist::rank() == 0) std::printf("%s: every check passed on %d ranks\n", scenario.c_str(), dist::world_size());
  return 0;
}
