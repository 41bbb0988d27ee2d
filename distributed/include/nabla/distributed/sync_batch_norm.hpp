#pragma once
// SyncBatchNorm (torch.nn.SyncBatchNorm): batch normalisation whose batch statistics are those of
// the whole job's batch — every rank's examples — instead of each rank's own. In training it sums
// each channel's values and squares over the ranks (one all-reduce of 2C numbers per call, and one
// of their gradients in backward), so N ranks with batch B normalise exactly as one process with
// batch N·B would. Evaluation uses the running statistics, like BatchNorm, and communicates nothing.
// Outside a job (or on one rank) it is BatchNorm. Its parameters and buffers have BatchNorm's names,
// so checkpoints move between the two. Input [N, C, *] (any number of trailing axes).
#include <string>

#include "nabla/nn/layers.hpp"
#include "nabla/nn/module.hpp"

namespace nabla::distributed {

// The sum of `x` over the ranks, recorded on the tape: its gradient is the sum over the ranks of
// the gradients (each rank's loss depends on every rank's input). Every rank must call it, and
// run backward through it, in the same order.
Tensor all_reduce_sum(const Tensor& x);

// A BatchNorm (its parameters, buffers, options and repr) whose forward takes [N, C, *] and reduces
// the batch statistics over the ranks.
class SyncBatchNorm : public nn::BatchNorm {
 public:
  explicit SyncBatchNorm(const nn::BatchNormOptions& options) : nn::BatchNorm(options, /*spatial_dims, unused:*/ 0) {}
  explicit SyncBatchNorm(int64_t num_features) : SyncBatchNorm(nn::BatchNormOptions{.num_features = num_features}) {}
  Tensor forward(const Tensor& input) override;
  std::string type_name() const override { return "SyncBatchNorm"; }
};

}  // namespace nabla::distributed
