#pragma once
// The built-in layers. Each is a Module whose forward is one call into nn::functional; options use
// designated initialisers:  nn::Conv2d({.in_channels = 1, .out_channels = 32, .kernel_size = 3})
#include <optional>
#include <vector>

#include "nabla/nn/functional.hpp"
#include "nabla/nn/module.hpp"

namespace nabla::nn {

// y = x W^T + b. weight [out, in]; both initialised uniform in +-1/sqrt(in) (PyTorch's default).
class Linear : public Module {
 public:
  Linear(int64_t in_features, int64_t out_features, bool bias = true);
  Tensor forward(const Tensor& input) override;
  std::string type_name() const override { return "Linear"; }
  std::string extra_repr() const override;
  Tensor weight, bias;

 private:
  int64_t in_features_, out_features_;
};

// PyTorch's Conv2d options, in its order (designated initialisers must keep it).
struct Conv2dOptions {
  int64_t in_channels = 0;
  int64_t out_channels = 0;
  Size2d kernel_size = 0;
  Size2d stride = 1;
  Padding padding = 0;  // sizes, nn::same (stride 1 only) or nn::valid (nabla/nn/padding.hpp)
  Size2d dilation = 1;
  int64_t groups = 1;
  bool bias = true;
  PaddingMode padding_mode = PaddingMode::zeros;  // what the padding holds: zeros, reflect, replicate, circular
};

// 2-d convolution over NCHW input, built on im2col + GEMM (Winograd for 3x3).
// weight [out, in/groups, kh, kw], bias [out]; both uniform in +-1/sqrt(in/groups * kh * kw).
class Conv2d : public Module {
 public:
  explicit Conv2d(const Conv2dOptions& options);
  Conv2d(int64_t in_channels, int64_t out_channels, Size2d kernel_size)
      : Conv2d(Conv2dOptions{.in_channels = in_channels, .out_channels = out_channels, .kernel_size = kernel_size}) {}
  Tensor forward(const Tensor& input) override;
  // relu(forward(input)), as one fused op where the padding allows (nabla::conv2d_relu): how
  // Sequential runs a Conv2d followed by a ReLU.
  Tensor forward_relu(const Tensor& input);
  std::string type_name() const override { return "Conv2d"; }
  std::string extra_repr() const override;
  const Conv2dOptions& options() const { return options_; }
  Tensor weight, bias;

 private:
  Conv2dOptions options_;
  // The padding as F.pad counts (left, right, top, bottom), for padding modes other than zeros.
  std::vector<int64_t> pad_counts_;
};

// PyTorch's MaxPool2d and AvgPool2d options (each uses its own; the order keeps both PyTorch's).
struct Pool2dOptions {
  Size2d kernel_size = 0;
  Size2d stride = 0;  // 0: same as kernel_size
  Size2d padding = 0;
  Size2d dilation = 1;          // max pooling only
  bool ceil_mode = false;       // round the output size up (the last window starts inside the input or left padding)
  bool count_include_pad = true;  // average pooling only
  std::optional<int64_t> divisor_override = std::nullopt;  // average pooling only: the divisor of every window
};

class MaxPool2d : public Module {
 public:
  explicit MaxPool2d(const Pool2dOptions& options);
  explicit MaxPool2d(Size2d kernel_size) : MaxPool2d(Pool2dOptions{.kernel_size = kernel_size}) {}
  Tensor forward(const Tensor& input) override;
  // The values and each winner's index within its H*W plane (PyTorch's return_indices=True).
  ValuesIndices forward_with_indices(const Tensor& input);
  std::string type_name() const override { return "MaxPool2d"; }
  std::string extra_repr() const override;
  const Pool2dOptions& options() const { return options_; }

 private:
  Pool2dOptions options_;
};

class AvgPool2d : public Module {
 public:
  explicit AvgPool2d(const Pool2dOptions& options);
  explicit AvgPool2d(Size2d kernel_size) : AvgPool2d(Pool2dOptions{.kernel_size = kernel_size}) {}
  Tensor forward(const Tensor& input) override;
  std::string type_name() const override { return "AvgPool2d"; }
  std::string extra_repr() const override;

 private:
  Pool2dOptions options_;
};

class AdaptiveAvgPool2d : public Module {
 public:
  explicit AdaptiveAvgPool2d(Size2d output_size) : output_size_(output_size) {}
  Tensor forward(const Tensor& input) override { return functional::adaptive_avg_pool2d(input, output_size_); }
  std::string type_name() const override { return "AdaptiveAvgPool2d"; }
  std::string extra_repr() const override;

 private:
  Size2d output_size_;
};

// Flattens axes start..end into one (default: all but the batch axis).
class Flatten : public Module {
 public:
  explicit Flatten(int64_t start_axis = 1, int64_t end_axis = -1) : start_(start_axis), end_(end_axis) {}
  Tensor forward(const Tensor& input) override { return flatten(input, start_, end_); }
  std::string type_name() const override { return "Flatten"; }

 private:
  int64_t start_, end_;
};

// Zeroes elements with probability p while training (scaling the rest by 1/(1-p)); identity in
// eval(). With a seed it draws from its own generator, so its masks repeat across runs.
class Dropout : public Module {
 public:
  explicit Dropout(double p = 0.5, std::optional<uint64_t> seed = std::nullopt);
  Tensor forward(const Tensor& input) override;
  std::string type_name() const override { return "Dropout"; }
  std::string extra_repr() const override;
  Generator& generator() { return own_generator_ ? *own_generator_ : default_generator(); }

 private:
  double p_;
  std::optional<Generator> own_generator_;
};

struct BatchNormOptions {
  int64_t num_features = 0;
  double eps = 1e-5;
  double momentum = 0.1;
  bool affine = true;               // learnable weight (gamma) and bias (beta)
  bool track_running_stats = true;  // running_mean / running_var buffers used in eval()
};

// Batch normalisation over the channel axis (1). BatchNorm1d takes [N, C] or [N, C, L];
// BatchNorm2d takes [N, C, H, W]. The base of every batch norm (distributed::SyncBatchNorm too,
// as PyTorch's _BatchNorm): it owns the parameters and buffers, under PyTorch's names.
class BatchNorm : public Module {
 public:
  BatchNorm(const BatchNormOptions& options, int64_t spatial_dims);
  Tensor forward(const Tensor& input) override;
  std::string extra_repr() const override;
  const BatchNormOptions& options() const { return options_; }
  Tensor weight, bias;
  Tensor running_mean, running_var, num_batches_tracked;

 private:
  BatchNormOptions options_;
  int64_t spatial_dims_;  // 1: [N, C] or [N, C, L]; 2: [N, C, H, W] (forward's check)
};

class BatchNorm1d : public BatchNorm {
 public:
  explicit BatchNorm1d(const BatchNormOptions& options) : BatchNorm(options, 1) {}
  explicit BatchNorm1d(int64_t num_features) : BatchNorm1d(BatchNormOptions{.num_features = num_features}) {}
  std::string type_name() const override { return "BatchNorm1d"; }
};

class BatchNorm2d : public BatchNorm {
 public:
  explicit BatchNorm2d(const BatchNormOptions& options) : BatchNorm(options, 2) {}
  explicit BatchNorm2d(int64_t num_features) : BatchNorm2d(BatchNormOptions{.num_features = num_features}) {}
  std::string type_name() const override { return "BatchNorm2d"; }
};

// ---- activations
class ReLU : public Module {
 public:
  Tensor forward(const Tensor& input) override { return relu(input); }
  std::string type_name() const override { return "ReLU"; }
};

class LeakyReLU : public Module {
 public:
  explicit LeakyReLU(double negative_slope = 0.01) : slope_(negative_slope) {}
  Tensor forward(const Tensor& input) override { return functional::leaky_relu(input, slope_); }
  std::string type_name() const override { return "LeakyReLU"; }
  std::string extra_repr() const override;

 private:
  double slope_;
};

class Sigmoid : public Module {
 public:
  Tensor forward(const Tensor& input) override { return sigmoid(input); }
  std::string type_name() const override { return "Sigmoid"; }
};

class Tanh : public Module {
 public:
  Tensor forward(const Tensor& input) override { return tanh(input); }
  std::string type_name() const override { return "Tanh"; }
};

// approximate: "none" (the exact erf form) or "tanh" (PyTorch's tanh approximation).
class GELU : public Module {
 public:
  explicit GELU(std::string approximate = "none");
  Tensor forward(const Tensor& input) override { return functional::gelu(input, approximate_); }
  std::string type_name() const override { return "GELU"; }
  std::string extra_repr() const override;

 private:
  std::string approximate_;
};

class Softmax : public Module {
 public:
  explicit Softmax(int64_t axis) : axis_(axis) {}
  Tensor forward(const Tensor& input) override { return softmax(input, axis_); }
  std::string type_name() const override { return "Softmax"; }

 private:
  int64_t axis_;
};

class LogSoftmax : public Module {
 public:
  explicit LogSoftmax(int64_t axis) : axis_(axis) {}
  Tensor forward(const Tensor& input) override { return log_softmax(input, axis_); }
  std::string type_name() const override { return "LogSoftmax"; }

 private:
  int64_t axis_;
};

}  // namespace nabla::nn
