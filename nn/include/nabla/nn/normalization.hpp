#pragma once
// Normalisation layers of issue 13, as PyTorch's: GroupNorm (one fused op, nabla::group_norm),
// InstanceNorm1d/2d/3d (no affine and no running statistics by default) and LocalResponseNorm.
// (BatchNorm1d/2d are in layers.hpp, LayerNorm in transformer.hpp.)
#include <cstdint>
#include <string>

#include "nabla/nn/module.hpp"

namespace nabla::nn::functional {

using nabla::group_norm;  // (x, num_groups, weight, bias, eps): see nabla/autograd/fused_layers.hpp
using nabla::layer_norm;  // (x, normalized_shape, weight, bias, eps)

// Normalises each (sample, channel) of x [N, C, ...] over its positions. With use_input_stats
// (training, or no running statistics) the statistics are the input's, and defined running
// statistics [C] are updated in place: running = (1 - momentum) * running + momentum * (the
// batch's mean over samples; the variance unbiased). Otherwise the running statistics are used.
// weight and bias [C] are optional.
Tensor instance_norm(const Tensor& input, Tensor running_mean = {}, Tensor running_var = {}, const Tensor& weight = {},
                     const Tensor& bias = {}, bool use_input_stats = true, double momentum = 0.1, double eps = 1e-5);

// Divides each x[n, c, ...] by (k + alpha / size * sum of x^2 over the `size` channels around c)^beta
// (size / 2 before, (size - 1) / 2 after, zeros past the ends). x is [N, C, ...] with at least 3 dims.
Tensor local_response_norm(const Tensor& input, int64_t size, double alpha = 1e-4, double beta = 0.75, double k = 1.0);

}  // namespace nabla::nn::functional

namespace nabla::nn {

struct GroupNormOptions {
  int64_t num_groups = 0;
  int64_t num_channels = 0;  // divisible by num_groups
  double eps = 1e-5;
  bool affine = true;  // learnable per-channel weight (ones) and bias (zeros)
};

// Normalises each sample's channels in num_groups groups (over the group's channels and
// positions), then scales and shifts per channel. Input [N, C, ...].
class GroupNorm : public Module {
 public:
  explicit GroupNorm(const GroupNormOptions& options);
  GroupNorm(int64_t num_groups, int64_t num_channels, double eps = 1e-5, bool affine = true)
      : GroupNorm(GroupNormOptions{.num_groups = num_groups, .num_channels = num_channels, .eps = eps, .affine = affine}) {}
  Tensor forward(const Tensor& input) override;
  std::string type_name() const override { return "GroupNorm"; }
  std::string extra_repr() const override;
  const GroupNormOptions& options() const { return options_; }
  Tensor weight, bias;

 private:
  GroupNormOptions options_;
};

struct InstanceNormOptions {
  int64_t num_features = 0;
  double eps = 1e-5;
  double momentum = 0.1;
  bool affine = false;               // learnable weight (ones) and bias (zeros) per channel
  bool track_running_stats = false;  // running_mean / running_var buffers, used in eval()
};

// Instance normalisation: each (sample, channel) normalised over its positions. InstanceNorm1d
// takes [N, C, L] or [C, L]; InstanceNorm2d [N, C, H, W] or [C, H, W]; InstanceNorm3d
// [N, C, D, H, W] or [C, D, H, W] (the unbatched forms as one sample).
class InstanceNorm : public Module {
 public:
  InstanceNorm(const InstanceNormOptions& options, int64_t spatial_dims);
  Tensor forward(const Tensor& input) override;
  std::string extra_repr() const override;
  const InstanceNormOptions& options() const { return options_; }
  Tensor weight, bias;
  Tensor running_mean, running_var, num_batches_tracked;

 private:
  InstanceNormOptions options_;
  int64_t spatial_dims_;
};

class InstanceNorm1d : public InstanceNorm {
 public:
  explicit InstanceNorm1d(const InstanceNormOptions& options) : InstanceNorm(options, 1) {}
  explicit InstanceNorm1d(int64_t num_features) : InstanceNorm1d(InstanceNormOptions{.num_features = num_features}) {}
  std::string type_name() const override { return "InstanceNorm1d"; }
};

class InstanceNorm2d : public InstanceNorm {
 public:
  explicit InstanceNorm2d(const InstanceNormOptions& options) : InstanceNorm(options, 2) {}
  explicit InstanceNorm2d(int64_t num_features) : InstanceNorm2d(InstanceNormOptions{.num_features = num_features}) {}
  std::string type_name() const override { return "InstanceNorm2d"; }
};

class InstanceNorm3d : public InstanceNorm {
 public:
  explicit InstanceNorm3d(const InstanceNormOptions& options) : InstanceNorm(options, 3) {}
  explicit InstanceNorm3d(int64_t num_features) : InstanceNorm3d(InstanceNormOptions{.num_features = num_features}) {}
  std::string type_name() const override { return "InstanceNorm3d"; }
};

// Local response normalisation across channels (AlexNet's): see functional::local_response_norm.
class LocalResponseNorm : public Module {
 public:
  explicit LocalResponseNorm(int64_t size, double alpha = 1e-4, double beta = 0.75, double k = 1.0);
  Tensor forward(const Tensor& input) override;
  std::string type_name() const override { return "LocalResponseNorm"; }
  std::string extra_repr() const override;

 private:
  int64_t size_;
  double alpha_, beta_, k_;
};

}  // namespace nabla::nn
