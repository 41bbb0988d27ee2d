// SyncBatchNorm: the batch statistics from sums over the ranks. The per-channel sums of x and x²
// are all-reduced (a recorded op, so the gradient flows back to every rank's input); mean and
// variance follow from them, and the normalisation itself is composed of differentiable ops.
#include "nabla/distributed/sync_batch_norm.hpp"

#include "nabla/autograd/node.hpp"
#include "nabla/distributed/process_group.hpp"
#include "nabla/nn/functional.hpp"

namespace nabla::distributed {

Tensor all_reduce_sum(const Tensor& x) {
  const Tensor reduced(x.raw().clone());
  all_reduce(reduced);
  return record("all_reduce_sum", {x}, reduced.raw(), [](const Tensor& grad) {
    const Tensor total(grad.raw().clone());
    all_reduce(total);
    return Gradients{total};
  });
}

Tensor SyncBatchNorm::forward(const Tensor& input) {
  const int64_t channels = options().num_features;
  if (input.dim() < 2 || input.shape()[1] != channels) {
    fail("SyncBatchNorm: expects input [N, {}, *], got {}", channels, input.shape());
  }
  const bool use_batch_stats = is_training() || !options().track_running_stats;
  if (is_training() && options().track_running_stats) num_batches_tracked.add_(1.0);
  if (!use_batch_stats || !is_initialized() || world_size() == 1) {
    return nn::functional::batch_norm(input, running_mean, running_var, weight, bias, use_batch_stats,
                                      options().momentum, options().eps);
  }
  Dims axes{0};
  Shape per_channel{1, channels};  // broadcasts over the batch and trailing axes
  for (int64_t axis = 2; axis < input.dim(); ++axis) {
    axes.push_back(axis);
    per_channel.push_back(1);
  }
  // The job's count and sums: one all-reduce of [sum x, sum x²] per channel.
  Tensor count = full({1}, static_cast<double>(input.numel() / channels), int64);
  all_reduce(count);
  const double n = count.item<double>();
  const Tensor sums = all_reduce_sum(concat({sum(input, axes), sum(input * input, axes)}, 0));
  const Tensor mean = sums.narrow(0, 0, channels) / n;
  const Tensor var = sums.narrow(0, channels, channels) / n - mean * mean;  // biased, for normalising
  Tensor output = (input - mean.reshape(per_channel)) / sqrt(var.reshape(per_channel) + options().eps);
  if (options().affine) output = output * weight.reshape(per_channel) + bias.reshape(per_channel);
  if (options().track_running_stats) {
    NoGradGuard no_grad;
    const double momentum = options().momentum;
    running_mean.raw().mul_(1.0 - momentum).add_(mean.detach().raw(), momentum);
    running_var.raw().mul_(1.0 - momentum).add_(var.detach().raw(), momentum * n / std::max(1.0, n - 1.0));
  }
  return output;
}

}  // namespace nabla::distributed
