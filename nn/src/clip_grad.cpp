// clip_grad_norm_ and clip_grad_value_: read every gradient once for the norm, then scale or
// clamp in place. The norms are accumulated in float64 whatever the gradients' dtype.
#include "nabla/nn/clip_grad.hpp"

#include <algorithm>
#include <cmath>

namespace nabla::nn::utils {

namespace {

// torch.norm(values, p) of a list of magnitudes (already non-negative or not: |v| is taken).
double p_norm(const std::vector<double>& values, double p) {
  if (std::isinf(p)) {
    if (values.empty()) return p > 0 ? 0.0 : std::numeric_limits<double>::infinity();
    double out = std::abs(values[0]);
    for (double v : values) out = p > 0 ? std::max(out, std::abs(v)) : std::min(out, std::abs(v));
    // max/min skip NaN in std::; torch's propagate it.
    for (double v : values) {
      if (std::isnan(v)) return v;
    }
    return out;
  }
  if (p == 0.0) {
    double count = 0.0;
    for (double v : values) count += v != 0.0 ? 1.0 : 0.0;
    return count;
  }
  double sum = 0.0;
  if (p == 1.0) {
    for (double v : values) sum += std::abs(v);
    return sum;
  }
  if (p == 2.0) {
    for (double v : values) sum += v * v;
    return std::sqrt(sum);
  }
  for (double v : values) sum += std::pow(std::abs(v), p);
  return std::pow(sum, 1.0 / p);
}

std::vector<Tensor> gradients_of(const std::vector<Tensor>& parameters) {
  std::vector<Tensor> grads;
  for (const Tensor& parameter : parameters) {
    if (parameter.defined() && parameter.grad().defined()) grads.push_back(parameter.grad());
  }
  return grads;
}

}  // namespace

double clip_grad_norm_(const std::vector<Tensor>& parameters, double max_norm, double norm_type,
                       bool error_if_nonfinite) {
  if (std::isnan(norm_type)) fail("clip_grad_norm_: norm_type must be a number (a p >= 0, or inf), got nan");
  const std::vector<Tensor> grads = gradients_of(parameters);
  if (grads.empty()) return 0.0;
  std::vector<double> norms;
  norms.reserve(grads.size());
  for (const Tensor& grad : grads) norms.push_back(p_norm(grad.to_vector<double>(), norm_type));
  const double total_norm = grads.size() == 1 ? norms[0] : p_norm(norms, norm_type);
  if (error_if_nonfinite && !std::isfinite(total_norm)) {
    fail("clip_grad_norm_: the total norm of order {} for gradients from `parameters` is non-finite ({}), so it "
         "cannot be clipped. To disable this error and scale the gradients by the non-finite norm anyway, set "
         "error_if_nonfinite = false",
         norm_type, total_norm);
  }
  const double coefficient = max_norm / (total_norm + 1e-6);
  // As torch.clamp(max=1): a NaN coefficient stays NaN.
  const double clamped = std::isnan(coefficient) ? coefficient : std::min(coefficient, 1.0);
  if (clamped != 1.0) {
    for (const Tensor& grad : grads) {
      grad.raw().mul_(clamped);
    }
  }
  return total_norm;
}

double clip_grad_norm_(const Tensor& parameter, double max_norm, double norm_type, bool error_if_nonfinite) {
  return clip_grad_norm_(std::vector<Tensor>{parameter}, max_norm, norm_type, error_if_nonfinite);
}

void clip_grad_value_(const std::vector<Tensor>& parameters, double clip_value) {
  if (!(clip_value >= 0.0)) {
    fail("clip_grad_value_: clip_value must be >= 0 (the bound of [-clip_value, clip_value]), got {}", clip_value);
  }
  for (const Tensor& grad : gradients_of(parameters)) grad.raw().clamp_(-clip_value, clip_value);
}

void clip_grad_value_(const Tensor& parameter, double clip_value) {
  clip_grad_value_(std::vector<Tensor>{parameter}, clip_value);
}

}  // namespace nabla::nn::utils
