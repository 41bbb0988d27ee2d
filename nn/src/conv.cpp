// Conv1d, ConvTranspose1d and ConvTranspose2d: the functional forms and the modules. The 1-d
// forms run as their 2-d forms on [N, C, 1, L] views; every gradient comes from the recorded
// conv2d / conv_transpose2d ops.
#include "nabla/nn/conv.hpp"

#include <cmath>

#include "nabla/nn/init.hpp"

namespace nabla::nn {

namespace functional {

namespace {

void check_rank(const Tensor& t, int64_t rank, const char* op, const char* what, const char* layout) {
  if (!t.defined() || t.dim() != rank) {
    fail("{}: {} must be {}, got shape {}", op, what, layout, t.defined() ? t.shape() : Shape{});
  }
}

}  // namespace

Tensor conv1d(const Tensor& x, const Tensor& weight, const Tensor& bias, int64_t stride, Padding1d padding,
              int64_t dilation, int64_t groups) {
  check_rank(x, 3, "conv1d", "input", "[N, C, L]");
  check_rank(weight, 3, "conv1d", "weight", "[out_channels, in_channels/groups, k]");
  if (groups < 1) fail("conv1d: groups must be at least 1, got {}", groups);
  if (x.shape()[1] != weight.shape()[1] * groups) {
    fail("conv1d: input of shape {} has {} channels but the weight of shape {} with groups={} expects {}", x.shape(),
         x.shape()[1], weight.shape(), groups, weight.shape()[1] * groups);
  }
  if (padding.is_same() && stride != 1) {
    fail("conv1d: padding=same is not supported for strided convolutions (stride {}); give the padding explicitly",
         stride);
  }
  const int64_t span = dilation * (weight.shape()[2] - 1) + 1;
  if (padding.kind() == Padding1d::Kind::sizes && x.shape()[2] + 2 * padding.sizes() < span) {
    fail("conv1d: the kernel of size {} (dilation {}) does not fit the input of shape {} with padding {}",
         weight.shape()[2], dilation, x.shape(), padding.sizes());
  }
  Padding padding2d = 0;
  switch (padding.kind()) {
    case Padding1d::Kind::same: padding2d = same; break;
    case Padding1d::Kind::valid: padding2d = valid; break;
    case Padding1d::Kind::sizes: padding2d = Size2d(0, padding.sizes()); break;
  }
  return squeeze(conv2d(unsqueeze(x, 2), unsqueeze(weight, 2), bias, {1, stride}, padding2d, {1, dilation}, groups), 2);
}

Tensor conv_transpose2d(const Tensor& x, const Tensor& weight, const Tensor& bias, Size2d stride, Size2d padding,
                        Size2d output_padding, int64_t groups, Size2d dilation) {
  return nabla::conv_transpose2d(x, weight, bias, Conv2dParams{stride, padding, dilation, groups}, output_padding);
}

Tensor conv_transpose1d(const Tensor& x, const Tensor& weight, const Tensor& bias, int64_t stride, int64_t padding,
                        int64_t output_padding, int64_t groups, int64_t dilation) {
  check_rank(x, 3, "conv_transpose1d", "input", "[N, C_in, L]");
  check_rank(weight, 3, "conv_transpose1d", "weight", "[in_channels, out_channels/groups, k]");
  if (x.shape()[1] != weight.shape()[0]) {
    fail("conv_transpose1d: input of shape {} has {} channels but the weight of shape {} expects {} (the weight of a "
         "transposed convolution is [in_channels, out_channels/groups, k])",
         x.shape(), x.shape()[1], weight.shape(), weight.shape()[0]);
  }
  if (output_padding < 0 || output_padding >= std::max(stride, dilation)) {
    fail("conv_transpose1d: output_padding must be non-negative and smaller than either stride or dilation, got "
         "output_padding {} with stride {} and dilation {}",
         output_padding, stride, dilation);
  }
  return squeeze(nabla::conv_transpose2d(unsqueeze(x, 2), unsqueeze(weight, 2), bias,
                                         Conv2dParams{{1, stride}, {0, padding}, {1, dilation}, groups},
                                         {0, output_padding}),
                 2);
}

}  // namespace functional

namespace {

std::string size2d(Size2d s) { return s.h == s.w ? fmt::format("{}", s.h) : fmt::format("({}, {})", s.h, s.w); }

// PyTorch's _ConvNd.reset_parameters: weight kaiming_uniform(a = sqrt(5)), i.e. uniform in
// +-1/sqrt(fan_in), and bias uniform in +-1/sqrt(fan_in), fan_in = weight.size(1) * kernel elements
// (for a transposed convolution that is out_channels/groups: PyTorch's choice, kept).
void default_init(Tensor& weight, Tensor& bias) {
  init::kaiming_uniform_(weight, std::sqrt(5.0));
  if (bias.defined()) {
    const double bound = 1.0 / std::sqrt(static_cast<double>(init::calculate_fans(weight.shape()).first));
    init::uniform_(bias, -bound, bound);
  }
}

void check_channels(int64_t in_channels, int64_t out_channels, int64_t groups, const char* layer) {
  if (in_channels < 1 || out_channels < 1) {
    fail("{}: in_channels and out_channels must be positive, got {} and {}", layer, in_channels, out_channels);
  }
  if (groups < 1) fail("{}: groups must be a positive integer, got {}", layer, groups);
  if (in_channels % groups != 0 || out_channels % groups != 0) {
    fail("{}: in_channels {} and out_channels {} must both be divisible by groups {}", layer, in_channels, out_channels,
         groups);
  }
}

// PyTorch's ConvTranspose _output_padding: the output_padding that makes the output `wanted`.
int64_t output_padding_for(int64_t wanted, int64_t in, int64_t kernel, int64_t stride, int64_t padding,
                           int64_t dilation, const char* layer, const std::string& input_shape) {
  const int64_t smallest = (in - 1) * stride - 2 * padding + dilation * (kernel - 1) + 1;
  const int64_t largest = smallest + stride - 1;
  if (wanted < smallest || wanted > largest) {
    fail("{}: requested an output size of {}, but valid sizes range from {} to {} (for an input of shape {})", layer,
         wanted, smallest, largest, input_shape);
  }
  return wanted - smallest;
}

}  // namespace

// ---- Conv1d

Conv1d::Conv1d(const Conv1dOptions& options) : options_(options) {
  const auto& o = options;
  check_channels(o.in_channels, o.out_channels, o.groups, "Conv1d");
  if (o.kernel_size < 1) fail("Conv1d: kernel_size must be positive, got {}", o.kernel_size);
  if (o.padding.is_same() && o.stride != 1) {
    fail("Conv1d: padding=same is not supported for strided convolutions (stride {}); give the padding explicitly",
         o.stride);
  }
  weight = register_parameter("weight", empty({o.out_channels, o.in_channels / o.groups, o.kernel_size}));
  if (o.bias) bias = register_parameter("bias", empty({o.out_channels}));
  default_init(weight, bias);
  if (o.padding_mode != PaddingMode::zeros) {
    Padding padding2d = 0;
    if (o.padding.is_same()) padding2d = same;
    if (o.padding.kind() == Padding1d::Kind::sizes) padding2d = Size2d(0, o.padding.sizes());
    const ConvPadding p = resolve_padding(padding2d, {1, o.kernel_size}, {1, o.dilation});
    pad_counts_ = {p.left, p.right};
  }
}

Tensor Conv1d::forward(const Tensor& input) {
  const auto& o = options_;
  if (o.padding_mode == PaddingMode::zeros) {
    return functional::conv1d(input, weight, bias, o.stride, o.padding, o.dilation, o.groups);
  }
  if (input.dim() != 3) fail("Conv1d: input must be [N, C, L], got shape {}", input.shape());
  return functional::conv1d(pad(input, pad_counts_, pad_mode(o.padding_mode)), weight, bias, o.stride, 0, o.dilation,
                            o.groups);
}

std::string Conv1d::extra_repr() const {
  const auto& o = options_;
  std::string out = fmt::format("{}, {}, kernel_size={}", o.in_channels, o.out_channels, o.kernel_size);
  if (o.stride != 1) out += fmt::format(", stride={}", o.stride);
  if (o.padding.is_same()) out += ", padding=same";
  if (o.padding.kind() == Padding1d::Kind::valid) out += ", padding=valid";
  if (o.padding.kind() == Padding1d::Kind::sizes && o.padding.sizes() != 0) {
    out += fmt::format(", padding={}", o.padding.sizes());
  }
  if (o.dilation != 1) out += fmt::format(", dilation={}", o.dilation);
  if (o.groups != 1) out += fmt::format(", groups={}", o.groups);
  if (!o.bias) out += ", bias=false";
  if (o.padding_mode != PaddingMode::zeros) out += fmt::format(", padding_mode={}", padding_mode_name(o.padding_mode));
  return out;
}

// ---- ConvTranspose2d

ConvTranspose2d::ConvTranspose2d(const ConvTranspose2dOptions& options) : options_(options) {
  const auto& o = options;
  check_channels(o.in_channels, o.out_channels, o.groups, "ConvTranspose2d");
  if (o.kernel_size.h < 1 || o.kernel_size.w < 1) {
    fail("ConvTranspose2d: kernel_size must be positive, got {}", size2d(o.kernel_size));
  }
  // Checked here rather than at the first forward, so that a bad layer fails where it is built.
  kernels::conv_transpose2d_output_size({1, 1}, o.kernel_size, Conv2dParams{o.stride, 0, o.dilation, o.groups},
                                        o.output_padding, "ConvTranspose2d");
  if (o.padding.h < 0 || o.padding.w < 0) fail("ConvTranspose2d: padding must be non-negative, got {}", size2d(o.padding));
  weight = register_parameter("weight",
                              empty({o.in_channels, o.out_channels / o.groups, o.kernel_size.h, o.kernel_size.w}));
  if (o.bias) bias = register_parameter("bias", empty({o.out_channels}));
  default_init(weight, bias);
}

Tensor ConvTranspose2d::forward(const Tensor& input) {
  const auto& o = options_;
  return functional::conv_transpose2d(input, weight, bias, o.stride, o.padding, o.output_padding, o.groups, o.dilation);
}

Tensor ConvTranspose2d::forward(const Tensor& input, Size2d output_size) {
  const auto& o = options_;
  if (input.dim() != 4) fail("ConvTranspose2d: input must be [N, C_in, H, W], got shape {}", input.shape());
  const std::string shape = fmt::format("{}", input.shape());
  const Size2d output_padding{
      output_padding_for(output_size.h, input.shape()[2], o.kernel_size.h, o.stride.h, o.padding.h, o.dilation.h,
                         "ConvTranspose2d", shape),
      output_padding_for(output_size.w, input.shape()[3], o.kernel_size.w, o.stride.w, o.padding.w, o.dilation.w,
                         "ConvTranspose2d", shape)};
  return functional::conv_transpose2d(input, weight, bias, o.stride, o.padding, output_padding, o.groups, o.dilation);
}

std::string ConvTranspose2d::extra_repr() const {
  const auto& o = options_;
  std::string out = fmt::format("{}, {}, kernel_size={}", o.in_channels, o.out_channels, size2d(o.kernel_size));
  if (!(o.stride == Size2d(1))) out += ", stride=" + size2d(o.stride);
  if (!(o.padding == Size2d(0))) out += ", padding=" + size2d(o.padding);
  if (!(o.output_padding == Size2d(0))) out += ", output_padding=" + size2d(o.output_padding);
  if (o.groups != 1) out += fmt::format(", groups={}", o.groups);
  if (!o.bias) out += ", bias=false";
  if (!(o.dilation == Size2d(1))) out += ", dilation=" + size2d(o.dilation);
  return out;
}

// ---- ConvTranspose1d

ConvTranspose1d::ConvTranspose1d(const ConvTranspose1dOptions& options) : options_(options) {
  const auto& o = options;
  check_channels(o.in_channels, o.out_channels, o.groups, "ConvTranspose1d");
  if (o.kernel_size < 1) fail("ConvTranspose1d: kernel_size must be positive, got {}", o.kernel_size);
  kernels::conv_transpose2d_output_size({1, 1}, {1, o.kernel_size}, Conv2dParams{{1, o.stride}, 0, {1, o.dilation}, o.groups},
                                        {0, o.output_padding}, "ConvTranspose1d");
  if (o.padding < 0) fail("ConvTranspose1d: padding must be non-negative, got {}", o.padding);
  weight = register_parameter("weight", empty({o.in_channels, o.out_channels / o.groups, o.kernel_size}));
  if (o.bias) bias = register_parameter("bias", empty({o.out_channels}));
  default_init(weight, bias);
}

Tensor ConvTranspose1d::forward(const Tensor& input) {
  const auto& o = options_;
  return functional::conv_transpose1d(input, weight, bias, o.stride, o.padding, o.output_padding, o.groups, o.dilation);
}

Tensor ConvTranspose1d::forward(const Tensor& input, int64_t output_size) {
  const auto& o = options_;
  if (input.dim() != 3) fail("ConvTranspose1d: input must be [N, C_in, L], got shape {}", input.shape());
  const int64_t output_padding = output_padding_for(output_size, input.shape()[2], o.kernel_size, o.stride, o.padding,
                                                    o.dilation, "ConvTranspose1d", fmt::format("{}", input.shape()));
  return functional::conv_transpose1d(input, weight, bias, o.stride, o.padding, output_padding, o.groups, o.dilation);
}

std::string ConvTranspose1d::extra_repr() const {
  const auto& o = options_;
  std::string out = fmt::format("{}, {}, kernel_size={}", o.in_channels, o.out_channels, o.kernel_size);
  if (o.stride != 1) out += fmt::format(", stride={}", o.stride);
  if (o.padding != 0) out += fmt::format(", padding={}", o.padding);
  if (o.output_padding != 0) out += fmt::format(", output_padding={}", o.output_padding);
  if (o.groups != 1) out += fmt::format(", groups={}", o.groups);
  if (!o.bias) out += ", bias=false";
  if (o.dilation != 1) out += fmt::format(", dilation={}", o.dilation);
  return out;
}

}  // namespace nabla::nn
