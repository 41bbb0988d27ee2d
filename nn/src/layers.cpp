#include "nabla/nn/layers.hpp"

#include <cmath>

#include "nabla/nn/init.hpp"

namespace nabla::nn {

namespace {
std::string size2d(Size2d s) { return s.h == s.w ? fmt::format("{}", s.h) : fmt::format("({}, {})", s.h, s.w); }

// ", padding=..." unless there is none.
std::string padding_repr(const Padding& padding) {
  switch (padding.kind()) {
    case Padding::Kind::same: return ", padding=same";
    case Padding::Kind::valid: return ", padding=valid";
    case Padding::Kind::sizes: return padding.sizes() == Size2d(0) ? "" : ", padding=" + size2d(padding.sizes());
  }
  return "";
}

// PyTorch's default for Linear and Conv2d: weight kaiming_uniform(a = sqrt(5)), which is uniform in
// +-1/sqrt(fan_in), and bias uniform in +-1/sqrt(fan_in).
void default_init(Tensor& weight, Tensor& bias) {
  init::kaiming_uniform_(weight, std::sqrt(5.0));
  if (bias.defined()) {
    const double bound = 1.0 / std::sqrt(static_cast<double>(init::calculate_fans(weight.shape()).first));
    init::uniform_(bias, -bound, bound);
  }
}
}  // namespace

Linear::Linear(int64_t in_features, int64_t out_features, bool with_bias)
    : in_features_(in_features), out_features_(out_features) {
  if (in_features < 1 || out_features < 1) {
    fail("Linear: in_features and out_features must be positive, got {} and {}", in_features, out_features);
  }
  weight = register_parameter("weight", empty({out_features, in_features}));
  if (with_bias) bias = register_parameter("bias", empty({out_features}));
  default_init(weight, bias);
}

Tensor Linear::forward(const Tensor& input) { return functional::linear(input, weight, bias); }

std::string Linear::extra_repr() const {
  return fmt::format("in_features={}, out_features={}, bias={}", in_features_, out_features_, bias.defined());
}

Conv2d::Conv2d(const Conv2dOptions& options) : options_(options) {
  const auto& o = options;
  if (o.in_channels < 1 || o.out_channels < 1) {
    fail("Conv2d: in_channels and out_channels must be positive, got {} and {}", o.in_channels, o.out_channels);
  }
  if (o.kernel_size.h < 1 || o.kernel_size.w < 1) fail("Conv2d: kernel_size must be positive, got {}", size2d(o.kernel_size));
  if (o.groups < 1 || o.in_channels % o.groups != 0 || o.out_channels % o.groups != 0) {
    fail("Conv2d: in_channels {} and out_channels {} must both be divisible by groups {}", o.in_channels,
         o.out_channels, o.groups);
  }
  if (o.padding.is_same() && !(o.stride == Size2d(1))) {
    fail("Conv2d: padding=same is not supported for strided convolutions (stride {}); give the padding explicitly",
         size2d(o.stride));
  }
  weight = register_parameter("weight", empty({o.out_channels, o.in_channels / o.groups, o.kernel_size.h, o.kernel_size.w}));
  if (o.bias) bias = register_parameter("bias", empty({o.out_channels}));
  default_init(weight, bias);
  if (o.padding_mode != PaddingMode::zeros) pad_counts_ = resolve_padding(o.padding, o.kernel_size, o.dilation).pad_counts();
}

Tensor Conv2d::forward(const Tensor& input) {
  const auto& o = options_;
  if (o.padding_mode == PaddingMode::zeros) {
    return functional::conv2d(input, weight, bias, o.stride, o.padding, o.dilation, o.groups);
  }
  // PyTorch's order: pad by the mode, then convolve without padding.
  if (input.dim() != 4) fail("Conv2d: input must be [N, C, H, W], got shape {}", input.shape());
  return functional::conv2d(pad(input, pad_counts_, pad_mode(o.padding_mode)), weight, bias, o.stride, 0,
                            o.dilation, o.groups);
}

Tensor Conv2d::forward_relu(const Tensor& input) {
  const auto& o = options_;
  // padding=same (possibly uneven) and the other padding modes pad first: left unfused.
  if (o.padding_mode != PaddingMode::zeros || o.padding.is_same()) return relu(forward(input));
  return conv2d_relu(input, weight, bias, Conv2dParams{o.stride, o.padding.sizes(), o.dilation, o.groups});
}

std::string Conv2d::extra_repr() const {
  std::string out = fmt::format("{}, {}, kernel_size={}", options_.in_channels, options_.out_channels, size2d(options_.kernel_size));
  if (!(options_.stride == Size2d(1))) out += ", stride=" + size2d(options_.stride);
  out += padding_repr(options_.padding);
  if (!(options_.dilation == Size2d(1))) out += ", dilation=" + size2d(options_.dilation);
  if (options_.groups != 1) out += fmt::format(", groups={}", options_.groups);
  if (!options_.bias) out += ", bias=false";
  if (options_.padding_mode != PaddingMode::zeros) out += fmt::format(", padding_mode={}", padding_mode_name(options_.padding_mode));
  return out;
}

namespace {
void check_pool(const Pool2dOptions& o, const char* name) {
  if (o.kernel_size.h < 1 || o.kernel_size.w < 1) fail("{}: kernel_size must be positive, got {}", name, size2d(o.kernel_size));
}
std::string pool_repr(const Pool2dOptions& o) {
  const Size2d stride = (o.stride.h == 0 && o.stride.w == 0) ? o.kernel_size : o.stride;
  std::string out =
      fmt::format("kernel_size={}, stride={}, padding={}", size2d(o.kernel_size), size2d(stride), size2d(o.padding));
  if (o.ceil_mode) out += ", ceil_mode=true";
  return out;
}
}  // namespace

MaxPool2d::MaxPool2d(const Pool2dOptions& options) : options_(options) { check_pool(options, "MaxPool2d"); }
Tensor MaxPool2d::forward(const Tensor& input) {
  return functional::max_pool2d(input, options_.kernel_size, options_.stride, options_.padding, options_.dilation,
                                options_.ceil_mode);
}
ValuesIndices MaxPool2d::forward_with_indices(const Tensor& input) {
  return functional::max_pool2d_with_indices(input, options_.kernel_size, options_.stride, options_.padding,
                                             options_.dilation, options_.ceil_mode);
}
std::string MaxPool2d::extra_repr() const { return pool_repr(options_); }

AvgPool2d::AvgPool2d(const Pool2dOptions& options) : options_(options) { check_pool(options, "AvgPool2d"); }
Tensor AvgPool2d::forward(const Tensor& input) {
  return functional::avg_pool2d(input, options_.kernel_size, options_.stride, options_.padding, options_.ceil_mode,
                                options_.count_include_pad, options_.divisor_override);
}
std::string AvgPool2d::extra_repr() const { return pool_repr(options_); }

std::string AdaptiveAvgPool2d::extra_repr() const { return "output_size=" + size2d(output_size_); }

Dropout::Dropout(double p, std::optional<uint64_t> seed) : p_(p) {
  if (!(p >= 0.0 && p <= 1.0)) fail("Dropout: probability must be in [0, 1], got {}", p);
  if (seed) own_generator_.emplace(*seed);
}

Tensor Dropout::forward(const Tensor& input) { return functional::dropout(input, p_, is_training(), generator()); }
std::string Dropout::extra_repr() const { return fmt::format("p={}", p_); }

BatchNorm::BatchNorm(const BatchNormOptions& options, int64_t spatial_dims) : options_(options), spatial_dims_(spatial_dims) {
  const int64_t c = options.num_features;
  if (c < 1) fail("BatchNorm: num_features must be positive, got {}", c);
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

Tensor BatchNorm::forward(const Tensor& input) {
  const bool ok = spatial_dims_ == 1 ? (input.dim() == 2 || input.dim() == 3) : input.dim() == 4;
  if (!ok) {
    fail("{}: expects input of shape {}, got {}", type_name(), spatial_dims_ == 1 ? "[N, C] or [N, C, L]" : "[N, C, H, W]",
         input.shape());
  }
  if (input.shape()[1] != options_.num_features) {
    fail("{}: input of shape {} has {} channels, the layer was built for {}", type_name(), input.shape(), input.shape()[1],
         options_.num_features);
  }
  const bool use_batch_stats = is_training() || !options_.track_running_stats;
  if (is_training() && options_.track_running_stats) num_batches_tracked.add_(1.0);
  // Undefined running statistics (track_running_stats = false) mean batch statistics, never updated.
  return functional::batch_norm(input, running_mean, running_var, weight, bias, use_batch_stats, options_.momentum,
                                options_.eps);
}

std::string BatchNorm::extra_repr() const {
  return fmt::format("{}, eps={}, momentum={}, affine={}", options_.num_features, options_.eps, options_.momentum,
                     options_.affine);
}

std::string LeakyReLU::extra_repr() const { return fmt::format("negative_slope={}", slope_); }

GELU::GELU(std::string approximate) : approximate_(std::move(approximate)) {
  if (approximate_ != "none" && approximate_ != "tanh") {
    fail("GELU: approximate must be \"none\" or \"tanh\", got \"{}\"", approximate_);
  }
}
std::string GELU::extra_repr() const { return approximate_ == "none" ? "" : "approximate='" + approximate_ + "'"; }

}  // namespace nabla::nn
