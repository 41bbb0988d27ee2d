#pragma once
// DistributedDataParallel: the same model trained by every rank of the job, each on its own part
// of every batch, with the gradients averaged over the ranks during backward (PyTorch's
// torch.nn.parallel.DistributedDataParallel).
//
//   distributed::init();
//   auto model = nn::make<Net>();
//   distributed::DistributedDataParallel ddp(model);   // checks the ranks agree, copies rank 0's weights
//   nn::SGD optimizer(model->parameters(), {.lr = 0.1});
//   for (const auto& batch : loader) {                   // loader with a DistributedSampler
//     optimizer.zero_grad();
//     Tensor loss = nn::functional::cross_entropy(model(batch.input), batch.target);
//     loss.backward();                                   // gradients are averaged when it returns
//     optimizer.step();                                  // identical on every rank
//   }
//
// What happens when:
//   construction  every rank's parameter and buffer names, shapes and dtypes are compared (an error
//                 names the first difference and the ranks), then rank 0's parameters and buffers
//                 are broadcast, so every rank starts from the same weights.
//   forward       (the model called through its nn::Shared handle or operator(), with grad mode on
//                 and outside no_sync) rank 0's buffers, such as BatchNorm's running statistics,
//                 are broadcast to the others first (broadcast_buffers, PyTorch's default).
//   backward      each parameter's gradient is copied into its bucket (about bucket_cap_mb of
//                 gradients — the first bucket first_bucket_cap_mb — filled in reverse registration
//                 order: roughly the order backward produces them) as soon as it is accumulated; a full bucket starts a non-blocking
//                 all-reduce (buckets start in order, the same on every rank) while backward goes on.
//   end of backward  (a callback the engine runs when the pass ends) the remaining buckets start,
//                 all are waited for, and every grad() becomes the mean over the ranks. So the
//                 optimiser step needs no extra call: after backward() returns the ranks hold the
//                 same gradients, and the same optimiser steps keep the parameters bitwise equal.
//
// no_sync() turns the all-reduce off (gradients accumulate locally, as PyTorch's no_sync): the
// first backward after it averages everything accumulated. A parameter that gets no gradient in a
// backward pass is an error naming it, unless find_unused_parameters is set: then it counts as a
// zero gradient on that rank (and keeps grad() undefined if no rank used it).
#include <memory>
#include <string>
#include <vector>

#include "nabla/distributed/process_group.hpp"
#include "nabla/nn/module.hpp"

namespace nabla::distributed {

struct DistributedDataParallelOptions {
  double bucket_cap_mb = 25.0;          // gradient bytes per all-reduce (MiB, as PyTorch)
  double first_bucket_cap_mb = 1.0;     // the first bucket's cap (PyTorch's reducer uses 1 MiB too), so
                                        // communication starts early in backward; at most bucket_cap_mb
  bool broadcast_buffers = true;        // rank 0's buffers to every rank before each forward
  bool find_unused_parameters = false;  // else a parameter without a gradient is an error
};

namespace detail {
class Reducer;
}

class DistributedDataParallel {
 public:
  explicit DistributedDataParallel(std::shared_ptr<nn::Module> module, DistributedDataParallelOptions options = {});
  ~DistributedDataParallel();
  DistributedDataParallel(DistributedDataParallel&&) noexcept;
  DistributedDataParallel& operator=(DistributedDataParallel&&) noexcept;

  // The wrapped model (calling it directly is the same as calling it through ddp).
  nn::Module& module() const { return *module_; }
  // Calls a one-tensor model (one that Sequential could hold).
  Tensor operator()(const Tensor& input) const { return (*module_)(input); }

  // While the returned guard lives, backward passes do not all-reduce: gradients accumulate
  // locally. { auto guard = ddp.no_sync(); loss.backward(); }
  class NoSyncGuard {
   public:
    explicit NoSyncGuard(detail::Reducer& reducer);
    ~NoSyncGuard();
    NoSyncGuard(const NoSyncGuard&) = delete;
    NoSyncGuard& operator=(const NoSyncGuard&) = delete;

   private:
    detail::Reducer& reducer_;
    bool previous_;
  };
  [[nodiscard]] NoSyncGuard no_sync();

  // The buckets' parameter names, first bucket first (for inspection and tests).
  std::vector<std::vector<std::string>> bucket_parameter_names() const;

 private:
  std::shared_ptr<nn::Module> module_;
  std::unique_ptr<detail::Reducer> reducer_;
};

}  // namespace nabla::distributed
