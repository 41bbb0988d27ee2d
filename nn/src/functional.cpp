// Layers as functions: each a composition of differentiable ops, so autograd derives every
// backward pass.
#include "nabla/nn/functional.hpp"

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
    const Tensor batch_mean = mean(x, axes, true);
    const Tensor centered = x - batch_mean;
    const Tensor batch_var = mean(centered * centered, axes, true);
    normalised = centered / sqrt(batch_var + eps);
    if (running_mean.defined()) {
      NoGradGuard no_grad;
      const double unbias = static_cast<double>(count) / static_cast<double>(count - 1);
      running_mean.mul_(1.0 - momentum).add_(batch_mean.raw().reshape({channels}), momentum);
      running_var.mul_(1.0 - momentum).add_(batch_var.raw().reshape({channels}), momentum * unbias);
    }
  } else {
    if (!running_mean.defined()) fail("batch_norm: evaluation needs running statistics");
    normalised = (x - running_mean.reshape(param_shape)) / Tensor(nabla::sqrt(nabla::add(running_var, eps)).reshape(param_shape));
  }
  if (weight.defined()) normalised = normalised * reshape(weight, param_shape);
  if (bias.defined()) normalised = normalised + reshape(bias, param_shape);
  return normalised;
}

Tensor leaky_relu(const Tensor& x, double negative_slope) {
  return where(gt(x.raw(), 0.0), x, x * negative_slope);
}

Tensor gelu(const Tensor& x, bool tanh_approximation) {
  if (tanh_approximation) {
    const double k = std::sqrt(2.0 / std::numbers::pi);
    return x * 0.5 * (1.0 + tanh((x + x * x * x * 0.044715) * k));
  }
  return x * 0.5 * (1.0 + erf(x * (1.0 / std::numbers::sqrt2)));
}

namespace {
Tensor reduce(const Tensor& loss, Reduction reduction) {
  switch (reduction) {
    case Reduction::mean: return mean(loss);
    case Reduction::sum: return sum(loss);
    case Reduction::none: return loss;
  }
  return loss;
}

// Checks class-index targets against [N, C, ...] scores; the range too unless the op's own kernel
// checks it as it reads the targets (cross_entropy's does).
void check_targets(const Tensor& scores, const Tensor& target, const char* op, bool check_range = true) {
  if (scores.dim() < 2) fail("{}: scores must be [N, C] (or [N, C, ...]), got shape {}", op, scores.shape());
  if (!target.defined() || target.dtype() != int64) {
    fail("{}: target must be int64 class indices, got {}", op, target.defined() ? fmt::format("{}", target.dtype()) : "undefined");
  }
  Shape expected = scores.shape();
  expected.erase(1);
  if (target.shape() != expected) {
    fail("{}: target of shape {} does not match scores of shape {} (expected target shape {})", op, target.shape(),
         scores.shape(), expected);
  }
  if (target.numel() == 0 || !check_range) return;
  const int64_t classes = scores.shape()[1];
  const int64_t low = nabla::min(target).item<int64_t>();
  const int64_t high = nabla::max(target).item<int64_t>();
  if (low < 0 || high >= classes) {
    fail("{}: target contains class {}, but the scores have {} classes (valid: 0 to {})", op, low < 0 ? low : high,
         classes, classes - 1);
  }
}

// Moves the class axis last and flattens: [N, C, d...] -> [N*d..., C], target -> [N*d...].
std::pair<Tensor, Tensor> as_rows(const Tensor& scores, const Tensor& target) {
  if (scores.dim() == 2) return {scores, target};
  Dims order{0};
  for (int64_t i = 2; i < scores.dim(); ++i) order.push_back(i);
  order.push_back(1);
  return {reshape(permute(scores, order), {-1, scores.shape()[1]}), target.reshape({-1})};
}

Tensor reshape_like_target(const Tensor& loss, const Tensor& target, Reduction reduction) {
  return reduction == Reduction::none ? reshape(loss, target.shape()) : loss;
}
}  // namespace

Tensor nll_loss(const Tensor& log_probs, const Tensor& target, Reduction reduction) {
  check_targets(log_probs, target, "nll_loss");
  auto [rows, flat_target] = as_rows(log_probs, target);
  const Tensor picked = squeeze(gather(rows, 1, flat_target.unsqueeze(1)), 1);
  return reshape_like_target(reduce(neg(picked), reduction), target, reduction);
}

Tensor cross_entropy(const Tensor& logits, const Tensor& target, CrossEntropyOptions options) {
  check_targets(logits, target, "cross_entropy", /*check_range=*/false);
  if (!(options.label_smoothing >= 0.0 && options.label_smoothing < 1.0)) {
    fail("cross_entropy: label_smoothing must be in [0, 1), got {}", options.label_smoothing);
  }
  auto [rows, flat_target] = as_rows(logits, target);
  // Reduced inside the fused op: no separate mean (and mean backward) per training step.
  const Tensor loss = cross_entropy_rows(rows, flat_target, options.label_smoothing, options.reduction);
  return reshape_like_target(loss, target, options.reduction);
}

Tensor mse_loss(const Tensor& input, const Tensor& target, Reduction reduction) {
  if (input.shape() != target.shape()) {
    fail("mse_loss: input of shape {} and target of shape {} differ (reshape one to match)", input.shape(), target.shape());
  }
  const Tensor diff = input - target;
  return reduce(diff * diff, reduction);
}

Tensor binary_cross_entropy(const Tensor& probs, const Tensor& target, Reduction reduction) {
  if (probs.shape() != target.shape()) {
    fail("binary_cross_entropy: input of shape {} and target of shape {} differ", probs.shape(), target.shape());
  }
  if (probs.numel() > 0 && (nabla::min(probs.raw()).item<double>() < 0.0 || nabla::max(probs.raw()).item<double>() > 1.0)) {
    fail("binary_cross_entropy: inputs must be probabilities in [0, 1] (apply sigmoid, or use "
         "binary_cross_entropy_with_logits)");
  }
  // log is floored near -100 (as PyTorch does) so p = 0 or 1 gives a finite loss and gradient.
  const double floor = std::exp(-100.0);
  const Tensor log_p = log(maximum(probs, floor));
  const Tensor log_not_p = log(maximum(1.0 - probs, floor));
  return reduce(neg(target * log_p + (1.0 - target) * log_not_p), reduction);
}

Tensor binary_cross_entropy_with_logits(const Tensor& logits, const Tensor& target, Reduction reduction) {
  if (logits.shape() != target.shape()) {
    fail("binary_cross_entropy_with_logits: input of shape {} and target of shape {} differ", logits.shape(),
         target.shape());
  }
  return reduce(relu(logits) - logits * target + log(1.0 + exp(neg(abs(logits)))), reduction);
}

}  // namespace nabla::nn::functional
