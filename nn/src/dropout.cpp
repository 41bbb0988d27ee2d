// The dropout variants (dropout.hpp): one mask drawn per element or per channel, then a multiply
// (and for alpha dropout an add), so autograd differentiates them like any product. The
// constants are PyTorch's (ATen's _dropout_impl).
#include "nabla/nn/dropout.hpp"

#include <cmath>

namespace nabla::nn::functional {

namespace {

void check_probability(double p, const char* op) {
  if (!(p >= 0.0 && p <= 1.0)) fail("{}: probability must be in [0, 1], got {}", op, p);
}

// x [N, C, ...] with whole channels (per_channel) or single elements kept with probability 1 - p;
// kept values scaled by 1 / (1 - p), or for alpha dropout, SELU's rule.
Tensor drop(const Tensor& x, double p, bool training, Generator& generator, bool per_channel, bool alpha) {
  if (!training || p == 0.0 || x.numel() == 0) return x;
  if (p == 1.0) return x * 0.0;
  Shape noise_shape = x.shape();
  if (per_channel) {
    for (int64_t i = 2; i < x.dim(); ++i) noise_shape[i] = 1;
  }
  const Tensor keep = bernoulli(noise_shape, 1.0 - p, x.dtype(), generator);
  if (!alpha) return x * (keep * (1.0 / (1.0 - p)));
  // Dropped values become a * alpha * (p - 1), kept ones a * x + a * alpha * p: for zero-mean,
  // unit-variance x the result keeps mean 0 and variance 1 (alpha = SELU's scale * alpha).
  constexpr double selu_saturation = 1.7580993408473766;
  const double a = 1.0 / std::sqrt((selu_saturation * selu_saturation * p + 1.0) * (1.0 - p));
  const Tensor shift = (keep - 1.0) * (selu_saturation * a) + selu_saturation * a * p;
  return x * (keep * a) + shift;
}

void check_dims(const Tensor& x, int64_t low, int64_t high, const char* op, const char* shapes) {
  if (!x.defined() || x.dim() < low || x.dim() > high) {
    fail("{}: expects {}, got {}", op, shapes, x.defined() ? to_string(x.shape()) : "undefined");
  }
}

// Channel dropout of an input that may lack its batch axis (`batched_dims` dims with it).
Tensor drop_channels(const Tensor& x, double p, bool training, Generator& generator, int64_t batched_dims) {
  if (x.dim() == batched_dims) return drop(x, p, training, generator, true, false);
  return drop(x.unsqueeze(0), p, training, generator, true, false).squeeze(0);
}

}  // namespace

Tensor dropout1d(const Tensor& x, double p, bool training, Generator& generator) {
  check_probability(p, "dropout1d");
  check_dims(x, 2, 3, "dropout1d", "[N, C, L] or unbatched [C, L]");
  return drop_channels(x, p, training, generator, 3);
}

Tensor dropout2d(const Tensor& x, double p, bool training, Generator& generator) {
  check_probability(p, "dropout2d");
  check_dims(x, 3, 4, "dropout2d", "[N, C, H, W] (or [N, C, L], channel-wise as PyTorch 1.13 treats 3-d input)");
  return drop(x, p, training, generator, true, false);
}

Tensor dropout3d(const Tensor& x, double p, bool training, Generator& generator) {
  check_probability(p, "dropout3d");
  check_dims(x, 4, 5, "dropout3d", "[N, C, D, H, W] or unbatched [C, D, H, W]");
  return drop_channels(x, p, training, generator, 5);
}

Tensor alpha_dropout(const Tensor& x, double p, bool training, Generator& generator) {
  check_probability(p, "alpha_dropout");
  if (!x.defined()) fail("alpha_dropout: the input is undefined");
  return drop(x, p, training, generator, false, true);
}

Tensor feature_alpha_dropout(const Tensor& x, double p, bool training, Generator& generator) {
  check_probability(p, "feature_alpha_dropout");
  check_dims(x, 2, 64, "feature_alpha_dropout", "[N, C, ...] (at least 2 dims)");
  return drop(x, p, training, generator, true, true);
}

}  // namespace nabla::nn::functional

namespace nabla::nn {

DropoutLayer::DropoutLayer(double p, std::optional<uint64_t> seed, const char* name) : p_(p) {
  if (!(p >= 0.0 && p <= 1.0)) fail("{}: probability must be in [0, 1], got {}", name, p);
  if (seed) own_generator_.emplace(*seed);
}

std::string DropoutLayer::extra_repr() const { return fmt::format("p={}", p_); }

}  // namespace nabla::nn
