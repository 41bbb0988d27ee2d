// Layers as functions: each a composition of differentiable ops, so autograd derives every
// backward pass.
#include "nabla/nn/functional.hpp"
#include "nabla/tensor/mixed_dtypes.hpp"

#include <cmath>
#include <numbers>

namespace nabla::nn::functional {

Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias) {
  return nabla::linear(x, weight, bias);  // one fused node; it checks the shapes
}

Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias, Size2d stride, Padding padding,
                Size2d dilation, int64_t groups) {
  // One node: im2col + GEMM image by image, with the two adjoint kernels as its gradient.
  if (!padding.is_same()) return nabla::conv2d(x, weight, bias, Conv2dParams{stride, padding.sizes(), dilation, groups});
  if (!(stride == Size2d(1))) {
    fail("conv2d: padding=same is not supported for strided convolutions (stride {}x{}); give the padding explicitly",
         stride.h, stride.w);
  }
  if (!weight.defined() || weight.dim() != 4) {
    fail("conv2d: weight must be [out_channels, in_channels/groups, kh, kw], got shape {}",
         weight.defined() ? weight.shape() : Shape{});
  }
  const ConvPadding p = resolve_padding(padding, {weight.shape()[2], weight.shape()[3]}, dilation);
  const Conv2dParams params{stride, {p.top, p.left}, dilation, groups};
  if (p.symmetric()) return nabla::conv2d(x, weight, bias, params);
  // PyTorch's way for an even kernel: the extra bottom row / right column as explicit zeros, the
  // symmetric rest inside the convolution.
  return nabla::conv2d(pad(x, {0, p.right - p.left, 0, p.bottom - p.top}), weight, bias, params);
}

namespace {
Size2d default_stride(Size2d stride, Size2d kernel) { return (stride.h == 0 && stride.w == 0) ? kernel : stride; }
}  // namespace

Tensor max_pool2d(const Tensor& x, Size2d kernel, Size2d stride, Size2d padding, Size2d dilation, bool ceil_mode) {
  const Window2d window{kernel, default_stride(stride, kernel), padding, dilation, ceil_mode};
  // Only the values are returned: without a gradient to route, the winners need not be kept.
  if (!is_grad_enabled() || !x.requires_grad()) return Tensor(kernels::max_pool2d(x.raw(), window, false).values);
  return nabla::max_pool2d(x, window).values;
}

ValuesIndices max_pool2d_with_indices(const Tensor& x, Size2d kernel, Size2d stride, Size2d padding, Size2d dilation,
                                      bool ceil_mode) {
  return nabla::max_pool2d(x, Window2d{kernel, default_stride(stride, kernel), padding, dilation, ceil_mode});
}

Tensor avg_pool2d(const Tensor& x, Size2d kernel, Size2d stride, Size2d padding, bool ceil_mode, bool count_include_pad,
                  std::optional<int64_t> divisor_override) {
  return nabla::avg_pool2d(x, Window2d{kernel, default_stride(stride, kernel), padding, 1, ceil_mode}, count_include_pad,
                           divisor_override);
}

namespace {
// Rows average the input positions of each adaptive region: region i covers
// [floor(i * in / out), ceil((i + 1) * in / out)).
kernels::Tensor adaptive_weights(int64_t in, int64_t out, DType dtype) {
  kernels::Tensor weights = kernels::zeros({out, in}, float64);
  double* w = weights.data<double>();
  for (int64_t i = 0; i < out; ++i) {
    const int64_t start = (i * in) / out;
    const int64_t end = ((i + 1) * in + out - 1) / out;
    for (int64_t j = start; j < end; ++j) w[i * in + j] = 1.0 / static_cast<double>(end - start);
  }
  return weights.to(dtype);
}
}  // namespace

Tensor adaptive_avg_pool2d(const Tensor& x, Size2d output_size) {
  if (x.dim() != 4) fail("adaptive_avg_pool2d: input must be [N, C, H, W], got shape {}", x.shape());
  if (output_size.h < 1 || output_size.w < 1) {
    fail("adaptive_avg_pool2d: output size must be positive, got {}x{}", output_size.h, output_size.w);
  }
  // Averaging over a rectangle is averaging its rows then its columns: two small matmuls.
  const Tensor rows = adaptive_weights(x.shape()[2], output_size.h, x.dtype());
  const Tensor cols = adaptive_weights(x.shape()[3], output_size.w, x.dtype());
  return matmul(matmul(Tensor(rows), x), Tensor(cols.t()));
}

Tensor dropout(const Tensor& x, double p, bool training, Generator& generator) {
  if (!(p >= 0.0 && p <= 1.0)) fail("dropout: probability must be in [0, 1], got {}", p);
  if (!training || p == 0.0) return x;
  if (p == 1.0) return x * 0.0;
  const Tensor keep = bernoulli(x.shape(), 1.0 - p, x.dtype(), generator);
  return x * nabla::mul(keep, 1.0 / (1.0 - p));
}

Tensor batch_norm(const Tensor& x, Tensor running_mean, Tensor running_var, const Tensor& weight,
                    const Tensor& bias, bool training, double momentum, double eps) {
  if (x.dim() < 2) fail("batch_norm: input must be [N, C, ...], got shape {}", x.shape());
  const int64_t channels = x.shape()[1];
  // All shapes are checked before anything runs: a refused call must not touch the running statistics.
  for (const auto& [name, parameter] : {std::pair<const char*, const Tensor*>{"weight", &weight}, {"bias", &bias},
                                        {"running_mean", &running_mean}, {"running_var", &running_var}}) {
    if (parameter->defined()) check_same_dtype("batch_norm", "input", x.dtype(), name, parameter->dtype());
  }
  if (running_mean.defined() != running_var.defined()) {
    fail("batch_norm: running_mean and running_var must be given together (or both left undefined)");
  }
  auto check_per_channel = [&](const Shape& shape, const char* name) {
    if (shape != Shape{channels}) {
      fail("batch_norm: input of shape {} has {} channels but {} has shape {}", x.shape(), channels, name, shape);
    }
  };
  if (running_mean.defined()) check_per_channel(running_mean.shape(), "running_mean");
  if (running_var.defined()) check_per_channel(running_var.shape(), "running_var");
  if (weight.defined()) check_per_channel(weight.shape(), "weight");
  if (bias.defined()) check_per_channel(bias.shape(), "bias");
  Dims axes;  // every axis but the channels
  Shape param_shape = Dims::filled(x.dim(), 1);
  param_shape[1] = channels;
  for (int64_t i = 0; i < x.dim(); ++i) {
    if (i != 1) axes.push_back(i);
  }
  Tensor normalised;
  if (training) {
    const int64_t count = x.numel() / channels;
    if (count < 2) fail("batch_norm: training needs more than one value per channel, got input shape {}", x.shape());
    // One recorded op with fused kernels (normalise, scale and shift in one pass each way).
    const NativeBatchNorm batch = native_batch_norm(x, weight, bias, eps);
    if (running_mean.defined()) {
      NoGradGuard no_grad;
      const double unbias = static_cast<double>(count) / static_cast<double>(count - 1);
      running_mean.mul_(1.0 - momentum).add_(batch.mean.raw(), momentum);
      running_var.mul_(1.0 - momentum).add_(batch.var.raw(), momentum * unbias);
    }
    return batch.output;
  } else {
    if (!running_mean.defined()) fail("batch_norm: evaluation needs running statistics");
    normalised = (x - running_mean.reshape(param_shape)) / Tensor(nabla::sqrt(nabla::add(running_var, eps)).reshape(param_shape));
  }
  if (weight.defined()) normalised = normalised * reshape(weight, param_shape);
  if (bias.defined()) normalised = normalised + reshape(bias, param_shape);
  return normalised;
}

Tensor gelu(const Tensor& x, std::string_view approximate) {
  if (approximate == "tanh") {
    // PyTorch's constants and order of operations: kBeta = sqrt(2) * (2 / sqrt(pi)) * 0.5.
    const double beta = std::numbers::sqrt2 * (2.0 * std::numbers::inv_sqrtpi) * 0.5;
    return x * 0.5 * (1.0 + tanh((x + x * x * x * 0.044715) * beta));
  }
  if (approximate != "none") fail("gelu: approximate must be \"none\" or \"tanh\", got \"{}\"", approximate);
  return x * 0.5 * (1.0 + erf(x * (std::numbers::sqrt2 / 2.0)));
}

}  // namespace nabla::nn::functional
