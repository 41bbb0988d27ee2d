// DistributedDataParallel's reducer: gradient buckets filled from post-accumulate hooks, one
// non-blocking all-reduce per bucket started in bucket order (the same on every rank: MPI needs
// collectives in the same order everywhere), and a callback at the end of backward that waits for
// them and writes the mean back into every grad().
#include "nabla/distributed/data_parallel.hpp"

#include <algorithm>
#include <sstream>

#include "nabla/autograd/engine.hpp"

namespace nabla::distributed {

namespace detail {

namespace {

// One line per parameter and buffer: what must agree across ranks.
std::vector<std::string> model_signature(nn::Module& module) {
  std::vector<std::string> lines;
  for (const auto& [name, parameter] : module.named_parameters()) {
    lines.push_back(fmt::format("parameter '{}' {} {}", name, parameter.dtype(), to_string(parameter.shape())));
  }
  for (const auto& [name, buffer] : module.named_buffers()) {
    lines.push_back(fmt::format("buffer '{}' {} {}", name, buffer.dtype(), to_string(buffer.shape())));
  }
  return lines;
}

std::vector<char> join(const std::vector<std::string>& lines) {
  std::string text;
  for (const std::string& line : lines) text += line + '\n';
  return {text.begin(), text.end()};
}

std::vector<std::string> split(const std::vector<char>& bytes) {
  std::vector<std::string> lines;
  std::string line;
  for (char c : bytes) {
    if (c == '\n') {
      lines.push_back(line);
      line.clear();
    } else {
      line += c;
    }
  }
  return lines;
}

// Refuses a job whose ranks built different models, naming the first difference (on every rank,
// so that all of them stop).
void check_same_model(nn::Module& module) {
  const std::vector<std::vector<char>> all = all_gather_bytes(join(model_signature(module)));
  const std::vector<std::string> reference = split(all[0]);
  for (size_t r = 1; r < all.size(); ++r) {
    const std::vector<std::string> other = split(all[r]);
    const size_t common = std::min(reference.size(), other.size());
    for (size_t i = 0; i < common; ++i) {
      if (reference[i] != other[i]) {
        fail("DistributedDataParallel: the model on rank {} differs from rank 0's at entry {}: rank 0 has {}, rank {} "
             "has {}; every rank must build the same model (same layers, shapes and dtypes)",
             r, i, reference[i], r, other[i]);
      }
    }
    if (reference.size() != other.size()) {
      const bool longer = other.size() > reference.size();
      fail("DistributedDataParallel: rank 0's model has {} parameters and buffers, rank {}'s has {}; the first one "
           "only rank {} has is {}; every rank must build the same model",
           reference.size(), r, other.size(), longer ? r : 0, longer ? other[common] : reference[common]);
    }
  }
}

}  // namespace

class Reducer {
 public:
  Reducer(nn::Module& module, DistributedDataParallelOptions options) : module_(module), options_(options) {
    check_same_model(module);
    {
      NoGradGuard no_grad;
      for (const Tensor& parameter : module.parameters()) broadcast(parameter, 0);
      for (const Tensor& buffer : module.buffers()) broadcast(buffer, 0);
    }
    world_size_ = world_size();
    build_buckets();
    for (size_t i = 0; i < parameters_.size(); ++i) {
      hook_handles_.push_back(parameters_[i].tensor.register_post_accumulate_grad_hook([this, i](Tensor&) { on_gradient(i); }));
    }
    forward_hook_ = module.register_forward_pre_hook([this](nn::Module&, const std::vector<Tensor>&) { before_forward(); });
  }

  ~Reducer() {
    forward_hook_.remove();
    for (size_t i = 0; i < parameters_.size(); ++i) {
      try {
        parameters_[i].tensor.remove_hook(hook_handles_[i]);
      } catch (...) {
      }
    }
  }

  bool sync_enabled = true;

  std::vector<std::vector<std::string>> bucket_names() const {
    std::vector<std::vector<std::string>> names;
    for (const Bucket& bucket : buckets_) {
      names.emplace_back();
      for (size_t index : bucket.parameters) names.back().push_back(parameters_[index].name);
    }
    return names;
  }

 private:
  struct Parameter {
    std::string name;
    Tensor tensor;
    size_t bucket = 0;
    int64_t offset = 0;  // in elements, within the bucket
    bool ready = false;
  };
  struct Bucket {
    std::vector<size_t> parameters;
    Tensor flat;  // the gradients side by side, all-reduced in place
    size_t pending = 0;
    Work work;
  };

  // Buckets of about bucket_cap_mb, in reverse registration order, one dtype per bucket. The first
  // bucket closes at first_bucket_cap_mb (PyTorch's reducer does the same with its 1 MiB default):
  // the last layers' gradients, which backward produces first, start their all-reduce while the
  // earlier layers' backward is still running, instead of waiting for 25 MiB of gradients.
  void build_buckets() {
    for (auto& [name, tensor] : module_.named_parameters()) {
      if (tensor.requires_grad()) parameters_.push_back({name, tensor});
    }
    const double cap_bytes = options_.bucket_cap_mb * 1024.0 * 1024.0;
    const double first_cap_bytes = std::min(options_.first_bucket_cap_mb, options_.bucket_cap_mb) * 1024.0 * 1024.0;
    std::vector<int64_t> sizes;
    double bytes = 0;
    for (size_t k = parameters_.size(); k-- > 0;) {
      Parameter& parameter = parameters_[k];
      const DType dtype = parameter.tensor.dtype();
      const bool start_new = buckets_.empty() || bytes >= (buckets_.size() == 1 ? first_cap_bytes : cap_bytes) ||
                             parameters_[buckets_.back().parameters.front()].tensor.dtype() != dtype;
      if (start_new) {
        buckets_.emplace_back();
        sizes.push_back(0);
        bytes = 0;
      }
      parameter.bucket = buckets_.size() - 1;
      parameter.offset = sizes.back();
      buckets_.back().parameters.push_back(k);
      sizes.back() += parameter.tensor.numel();
      bytes += static_cast<double>(parameter.tensor.numel() * static_cast<int64_t>(itemsize(dtype)));
    }
    for (size_t b = 0; b < buckets_.size(); ++b) {
      const DType dtype = parameters_[buckets_[b].parameters.front()].tensor.dtype();
      buckets_[b].flat = Tensor(kernels::Tensor::empty({sizes[b]}, dtype));
    }
    reset_pass();
  }

  void reset_pass() {
    for (Parameter& parameter : parameters_) parameter.ready = false;
    for (Bucket& bucket : buckets_) {
      bucket.pending = bucket.parameters.size();
      bucket.work = Work();
    }
    next_bucket_ = 0;
    in_pass_ = false;
  }

  kernels::Tensor slot(const Parameter& parameter) const {
    return buckets_[parameter.bucket].flat.raw().narrow(0, parameter.offset, parameter.tensor.numel());
  }

  // A parameter's gradient of this pass is complete: copy it into its bucket, and start every
  // bucket that is now full and whose predecessors have started.
  void on_gradient(size_t index) {
    if (!sync_enabled) return;
    if (!in_pass_) {
      in_pass_ = true;
      autograd::queue_callback([this] { finish_pass(); });
    }
    Parameter& parameter = parameters_[index];
    if (parameter.ready) return;
    slot(parameter).copy_(parameter.tensor.grad().raw().reshape({-1}));
    mark_ready(parameter);
    // MPI moves a non-blocking collective forward only inside MPI calls (Open MPI has no progress
    // thread for shared memory or TCP): testing the started buckets here lets their all-reduces
    // advance between the layers' backward steps rather than all at the end.
    for (size_t b = 0; b < next_bucket_; ++b) buckets_[b].work.is_completed();
  }

  void mark_ready(Parameter& parameter) {
    parameter.ready = true;
    --buckets_[parameter.bucket].pending;
    while (next_bucket_ < buckets_.size() && buckets_[next_bucket_].pending == 0) {
      Bucket& bucket = buckets_[next_bucket_++];
      bucket.work = all_reduce_async(bucket.flat, ReduceOp::sum);
    }
  }

  // The end of backward: account for parameters that got no gradient, wait for every bucket and
  // write the means into grad().
  void finish_pass() {
    std::vector<std::string> unused;
    for (const Parameter& parameter : parameters_) {
      if (!parameter.ready) unused.push_back(parameter.name);
    }
    if (!unused.empty() && !options_.find_unused_parameters) {
      for (Bucket& bucket : buckets_) bucket.work.wait();
      reset_pass();
      std::string names;
      for (const std::string& name : unused) names += (names.empty() ? "'" : ", '") + name + "'";
      fail("DistributedDataParallel: parameters {} received no gradient in this backward pass, so the ranks cannot "
           "average them; construct DistributedDataParallel with find_unused_parameters = true, or leave these "
           "parameters out of the model (or set requires_grad false on them)", names);
    }
    // Which parameters some rank used: a parameter no rank used keeps grad() undefined (one small
    // all-reduce, only with find_unused_parameters).
    Tensor used_anywhere;
    if (options_.find_unused_parameters) {
      used_anywhere = Tensor(kernels::Tensor::empty({static_cast<int64_t>(parameters_.size())}, DType::uint8));
      uint8_t* used = used_anywhere.raw().data<uint8_t>();
      for (size_t i = 0; i < parameters_.size(); ++i) used[i] = parameters_[i].ready ? 1 : 0;
      for (Parameter& parameter : parameters_) {
        if (!parameter.ready) {
          slot(parameter).zero_();
          mark_ready(parameter);
        }
      }
      all_reduce(used_anywhere, ReduceOp::max);
    }
    for (Bucket& bucket : buckets_) {
      bucket.work.wait();
      bucket.flat.raw().div_(static_cast<double>(world_size_));
    }
    for (size_t i = 0; i < parameters_.size(); ++i) {
      Parameter& parameter = parameters_[i];
      if (used_anywhere.defined() && used_anywhere.raw().data<uint8_t>()[i] == 0) continue;
      const kernels::Tensor mean = slot(parameter).view(parameter.tensor.shape());
      if (parameter.tensor.grad().defined()) {
        parameter.tensor.grad().raw().copy_(mean);
      } else {
        parameter.tensor.set_grad(Tensor(mean.clone()));
      }
    }
    reset_pass();
  }

  // Rank 0's buffers to every rank, before a training forward (PyTorch's broadcast_buffers).
  void before_forward() {
    if (in_pass_) {
      // A backward threw before its end: drop that pass's state (its all-reduces complete first).
      for (Bucket& bucket : buckets_) bucket.work.wait();
      reset_pass();
    }
    if (!options_.broadcast_buffers || !sync_enabled || !is_grad_enabled()) return;
    NoGradGuard no_grad;
    for (const Tensor& buffer : module_.buffers()) broadcast(buffer, 0);
  }

  nn::Module& module_;
  DistributedDataParallelOptions options_;
  int world_size_ = 1;
  std::vector<Parameter> parameters_;
  std::vector<Bucket> buckets_;
  std::vector<int64_t> hook_handles_;
  nn::HookHandle forward_hook_;
  size_t next_bucket_ = 0;
  bool in_pass_ = false;
};

}  // namespace detail

DistributedDataParallel::DistributedDataParallel(std::shared_ptr<nn::Module> module, DistributedDataParallelOptions options)
    : module_(std::move(module)) {
  if (!module_) fail("DistributedDataParallel: the module is null");
  if (!(options.bucket_cap_mb > 0)) {
    fail("DistributedDataParallel: bucket_cap_mb must be positive, got {}", options.bucket_cap_mb);
  }
  if (!(options.first_bucket_cap_mb > 0)) {
    fail("DistributedDataParallel: first_bucket_cap_mb must be positive, got {}", options.first_bucket_cap_mb);
  }
  reducer_ = std::make_unique<detail::Reducer>(*module_, options);
}

DistributedDataParallel::~DistributedDataParallel() = default;
DistributedDataParallel::DistributedDataParallel(DistributedDataParallel&&) noexcept = default;
DistributedDataParallel& DistributedDataParallel::operator=(DistributedDataParallel&&) noexcept = default;

DistributedDataParallel::NoSyncGuard::NoSyncGuard(detail::Reducer& reducer)
    : reducer_(reducer), previous_(reducer.sync_enabled) {
  reducer_.sync_enabled = false;
}

DistributedDataParallel::NoSyncGuard::~NoSyncGuard() { reducer_.sync_enabled = previous_; }

DistributedDataParallel::NoSyncGuard DistributedDataParallel::no_sync() { return NoSyncGuard(*reducer_); }

std::vector<std::vector<std::string>> DistributedDataParallel::bucket_parameter_names() const {
  return reducer_->bucket_names();
}

}  // namespace nabla::distributed
