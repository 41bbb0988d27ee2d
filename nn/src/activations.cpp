// The parameterised activations of nn::functional (activations.hpp), composed from differentiable
// ops, and their modules. Each composition takes the exponential only on the side where it is
// used (exp(min(x, 0)), log_sigmoid), so the unused side of a `where` never overflows into a NaN
// gradient.
#include "nabla/nn/activations.hpp"

namespace nabla::nn::functional {

Tensor softplus(const Tensor& x, double beta, double threshold) {
  if (beta == 0.0) fail("softplus: beta must not be 0 (it divides the result)");
  const Tensor scaled = x * beta;
  // log(1 + exp(z)) = -log_sigmoid(-z), stable for every z.
  const Tensor smooth = -log_sigmoid(-scaled) / beta;
  return where(gt(scaled, threshold), x, smooth);
}

Tensor elu(const Tensor& x, double alpha) {
  return where(gt(x, 0.0), x, (exp(clamp_max(x, 0.0)) - 1.0) * alpha);
}

Tensor celu(const Tensor& x, double alpha) {
  if (alpha == 0.0) fail("celu: alpha must not be 0 (the input is divided by it)");
  // PyTorch's elu(x, alpha, scale 1, input_scale 1 / alpha).
  return where(gt(x, 0.0), x, (exp(clamp_max(x, 0.0) * (1.0 / alpha)) - 1.0) * alpha);
}

Tensor prelu(const Tensor& x, const Tensor& weight) {
  if (!x.defined() || !weight.defined()) fail("prelu: the input and the weight must be defined");
  if (weight.dim() > 1) fail("prelu: weight must be a scalar or 1-d, got shape {}", weight.shape());
  const int64_t count = weight.numel();
  Tensor slope;
  if (count == 1) {
    slope = weight.reshape({});
  } else {
    const int64_t channels = x.dim() >= 2 ? x.size(1) : 1;
    if (x.dim() == 0 || channels != count) {
      fail("prelu: a weight of {} parameters needs an input with {} channels (axis 1), got shape {} (use 1 "
           "parameter, or one per channel)", count, count, x.shape());
    }
    Shape per_channel = Dims::filled(x.dim() - 1, 1);
    per_channel[0] = count;
    slope = weight.reshape(per_channel);
  }
  return where(gt(x, 0.0), x, slope * x);
}

Tensor hardtanh(const Tensor& x, double min_val, double max_val) {
  if (min_val > max_val) fail("hardtanh: min_val {} is greater than max_val {}", min_val, max_val);
  // The bounds are constants (gradient 0, also at the bounds themselves); inside, x.
  const Tensor inside = logical_and(gt(x, min_val), lt(x, max_val));
  return where(inside, x, x.detach().clamp(min_val, max_val));
}

Tensor threshold(const Tensor& x, double threshold, double value) { return where(gt(x, threshold), x, value); }

Tensor glu(const Tensor& x, int64_t dim) {
  if (!x.defined() || x.dim() == 0) fail("glu: needs an input with at least one dim to halve");
  const int64_t axis = normalize_axis(dim, x.dim(), "glu");
  const int64_t size = x.size(axis);
  if (size % 2 != 0) {
    fail("glu: dim {} of an input of shape {} has size {}; halving it needs an even size", dim, x.shape(), size);
  }
  return narrow(x, axis, 0, size / 2) * sigmoid(narrow(x, axis, size / 2, size / 2));
}

}  // namespace nabla::nn::functional

namespace nabla::nn {

Softplus::Softplus(double beta, double threshold) : beta_(beta), threshold_(threshold) {
  if (beta == 0.0) fail("Softplus: beta must not be 0 (it divides the result)");
}
std::string Softplus::extra_repr() const { return fmt::format("beta={}, threshold={}", beta_, threshold_); }

std::string ELU::extra_repr() const { return fmt::format("alpha={}", alpha_); }

CELU::CELU(double alpha) : alpha_(alpha) {
  if (alpha == 0.0) fail("CELU: alpha must not be 0 (the input is divided by it)");
}
std::string CELU::extra_repr() const { return fmt::format("alpha={}", alpha_); }

PReLU::PReLU(int64_t num_parameters, double init) {
  if (num_parameters < 1) fail("PReLU: num_parameters must be positive (1, or the channel count), got {}", num_parameters);
  weight = register_parameter("weight", full({num_parameters}, init));
}
std::string PReLU::extra_repr() const { return fmt::format("num_parameters={}", weight.numel()); }

Hardtanh::Hardtanh(double min_val, double max_val) : min_val_(min_val), max_val_(max_val) {
  if (!(max_val > min_val)) fail("Hardtanh: max_val {} must be greater than min_val {}", max_val, min_val);
}
std::string Hardtanh::extra_repr() const { return fmt::format("min_val={}, max_val={}", min_val_, max_val_); }

std::string Threshold::extra_repr() const { return fmt::format("threshold={}, value={}", threshold_, value_); }

std::string GLU::extra_repr() const { return fmt::format("dim={}", dim_); }

}  // namespace nabla::nn
