// GroupNorm, InstanceNorm1d/2d/3d and LocalResponseNorm (normalization.hpp). Instance
// normalisation with the input's statistics is group normalisation with one group per channel,
// so both run on the fused group_norm op; the rest is composed from differentiable ops.
#include "nabla/nn/normalization.hpp"

#include <vector>

namespace nabla::nn::functional {

namespace {

// [C, 1, ...]: a per-channel tensor lined up with axis 1 of an input of `dims` dims.
Shape per_channel_shape(int64_t channels, int64_t dims) {
  Shape shape = Dims::filled(dims - 1, 1);
  shape[0] = channels;
  return shape;
}

}  // namespace

Tensor instance_norm(const Tensor& input, Tensor running_mean, Tensor running_var, const Tensor& weight,
                     const Tensor& bias, bool use_input_stats, double momentum, double eps) {
  if (!input.defined() || input.dim() < 2) {
    fail("instance_norm: input must be [N, C, ...], got {}", input.defined() ? to_string(input.shape()) : "undefined");
  }
  const int64_t batch = input.size(0), channels = input.size(1);
  // Every check before anything runs: a refused call must not touch the running statistics.
  if (running_mean.defined() != running_var.defined()) {
    fail("instance_norm: running_mean and running_var must be given together (or both left undefined)");
  }
  auto check_per_channel = [&](const Tensor& tensor, const char* name) {
    if (tensor.defined() && tensor.shape() != Shape{channels}) {
      fail("instance_norm: input of shape {} has {} channels but {} has shape {}", input.shape(), channels, name,
           tensor.shape());
    }
  };
  check_per_channel(running_mean, "running_mean");
  check_per_channel(running_var, "running_var");
  check_per_channel(weight, "weight");
  check_per_channel(bias, "bias");
  const Shape per_channel = per_channel_shape(channels, input.dim());
  if (use_input_stats) {
    const int64_t positions = batch * channels > 0 ? input.numel() / (batch * channels) : 0;
    if (positions <= 1) {
      fail("instance_norm: using the input's statistics needs more than one value per channel, got input shape {}",
           input.shape());
    }
    if (running_mean.defined()) {
      // The running statistics follow the mean over the samples of each instance's mean and
      // unbiased variance (PyTorch's rule).
      NoGradGuard no_grad;
      Dims positions_axes;
      for (int64_t i = 2; i < input.dim(); ++i) positions_axes.push_back(i);
      const Tensor values = input.detach();
      const Tensor instance_mean = mean(values, positions_axes).mean({0});
      const Tensor instance_var = var(values, positions_axes, false, 1).mean({0});
      running_mean.mul_(1.0 - momentum).add_(instance_mean, momentum);
      running_var.mul_(1.0 - momentum).add_(instance_var, momentum);
    }
    return group_norm(input, channels, weight, bias, eps);  // one group per channel
  }
  if (!running_mean.defined()) {
    fail("instance_norm: without the input's statistics (use_input_stats false) it needs running statistics");
  }
  Tensor out = (input - running_mean.reshape(per_channel)) / sqrt(running_var + eps).reshape(per_channel);
  if (weight.defined()) out = out * weight.reshape(per_channel);
  if (bias.defined()) out = out + bias.reshape(per_channel);
  return out;
}

Tensor local_response_norm(const Tensor& input, int64_t size, double alpha, double beta, double k) {
  if (!input.defined() || input.dim() < 3) {
    fail("local_response_norm: input must have at least 3 dims [N, C, ...], got {}",
         input.defined() ? to_string(input.shape()) : "undefined");
  }
  if (size < 1) fail("local_response_norm: size must be positive, got {}", size);
  const int64_t channels = input.size(1);
  // Zeros past the channel ends: size / 2 before, (size - 1) / 2 after (pad counts run from the
  // last axis back to axis 1).
  std::vector<int64_t> counts(static_cast<size_t>(2 * (input.dim() - 1)), 0);
  counts[counts.size() - 2] = size / 2;
  counts[counts.size() - 1] = (size - 1) / 2;
  const Tensor squares = pad(input * input, counts);
  Tensor window_sum = narrow(squares, 1, 0, channels);
  for (int64_t j = 1; j < size; ++j) window_sum = window_sum + narrow(squares, 1, j, channels);
  // PyTorch's order: the window's average, times alpha, plus k, to the power beta.
  return input / pow(window_sum / static_cast<double>(size) * alpha + k, beta);
}

}  // namespace nabla::nn::functional

namespace nabla::nn {

GroupNorm::GroupNorm(const GroupNormOptions& options) : options_(options) {
  if (options.num_groups < 1 || options.num_channels < 1) {
    fail("GroupNorm: num_groups and num_channels must be positive, got {} and {}", options.num_groups,
         options.num_channels);
  }
  if (options.num_channels % options.num_groups != 0) {
    fail("GroupNorm: num_channels {} must be divisible by num_groups {}", options.num_channels, options.num_groups);
  }
  if (options.affine) {
    weight = register_parameter("weight", ones({options.num_channels}));
    bias = register_parameter("bias", zeros({options.num_channels}));
  }
}

Tensor GroupNorm::forward(const Tensor& input) {
  if (input.defined() && (input.dim() < 2 || input.size(1) != options_.num_channels)) {
    fail("GroupNorm: expects input [N, {}, ...] ({} channels), got shape {}", options_.num_channels,
         options_.num_channels, input.shape());
  }
  return group_norm(input, options_.num_groups, weight, bias, options_.eps);
}

std::string GroupNorm::extra_repr() const {
  return fmt::format("{}, {}, eps={}, affine={}", options_.num_groups, options_.num_channels, options_.eps,
                     options_.affine);
}

InstanceNorm::InstanceNorm(const InstanceNormOptions& options, int64_t spatial_dims)
    : options_(options), spatial_dims_(spatial_dims) {
  const int64_t c = options.num_features;
  if (c < 1) fail("InstanceNorm{}d: num_features must be positive, got {}", spatial_dims, c);
  if (options.affine) {
    weight = register_parameter("weight", ones({c}));
    bias = register_parameter("bias", zeros({c}));
  }
  if (options.track_running_stats) {
    running_mean = register_buffer("running_mean", zeros({c}));
    running_var = register_buffer("running_var", ones({c}));
    num_batches_tracked = register_buffer("num_batches_tracked", zeros({}, int64));
  }
}

Tensor InstanceNorm::forward(const Tensor& input) {
  const int64_t batched = spatial_dims_ + 2;
  if (!input.defined() || (input.dim() != batched && input.dim() != batched - 1)) {
    fail("{}: expects input [N, C, ...] or unbatched [C, ...] with {} spatial dims ({} or {} dims), got {}", type_name(),
         spatial_dims_, batched, batched - 1, input.defined() ? to_string(input.shape()) : "undefined");
  }
  const bool unbatched = input.dim() == batched - 1;
  const Tensor x = unbatched ? input.unsqueeze(0) : input;
  // Without weights or running statistics the channel count is not used (PyTorch only warns).
  if ((options_.affine || options_.track_running_stats) && x.size(1) != options_.num_features) {
    fail("{}: input of shape {} has {} channels, the layer was built for {}", type_name(), input.shape(), x.size(1),
         options_.num_features);
  }
  const Tensor out = functional::instance_norm(x, running_mean, running_var, weight, bias,
                                               is_training() || !options_.track_running_stats, options_.momentum,
                                               options_.eps);
  return unbatched ? out.squeeze(0) : out;
}

std::string InstanceNorm::extra_repr() const {
  return fmt::format("{}, eps={}, momentum={}, affine={}, track_running_stats={}", options_.num_features, options_.eps,
                     options_.momentum, options_.affine, options_.track_running_stats);
}

LocalResponseNorm::LocalResponseNorm(int64_t size, double alpha, double beta, double k)
    : size_(size), alpha_(alpha), beta_(beta), k_(k) {
  if (size < 1) fail("LocalResponseNorm: size must be positive, got {}", size);
}

Tensor LocalResponseNorm::forward(const Tensor& input) {
  return functional::local_response_norm(input, size_, alpha_, beta_, k_);
}

std::string LocalResponseNorm::extra_repr() const {
  return fmt::format("{}, alpha={}, beta={}, k={}", size_, alpha_, beta_, k_);
}

}  // namespace nabla::nn
