// Regression and distribution losses: mse, l1, smooth_l1, huber, kl_div, poisson_nll_loss, each
// PyTorch's formula composed of differentiable ops.
#include <cmath>
#include <numbers>

#include "loss_support.hpp"
#include "nabla/nn/losses.hpp"

namespace nabla::nn::functional {

using detail::reduce;

Tensor mse_loss(const Tensor& input, const Tensor& target, Reduction reduction) {
  detail::check_same_shape(input, target, "mse_loss");
  const Tensor diff = input - target;
  return reduce(diff * diff, reduction);
}

Tensor l1_loss(const Tensor& input, const Tensor& target, Reduction reduction) {
  detail::check_same_shape(input, target, "l1_loss");
  return reduce(abs(input - target), reduction);  // gradient sign(d): 0 where input == target, as PyTorch's
}

Tensor smooth_l1_loss(const Tensor& input, const Tensor& target, const SmoothL1LossOptions& options) {
  detail::check_same_shape(input, target, "smooth_l1_loss");
  if (options.beta < 0.0) fail("smooth_l1_loss does not support negative values for beta, got beta = {}", options.beta);
  if (options.beta == 0.0) return l1_loss(input, target, options.reduction);
  const Tensor diff = input - target;
  const Tensor size = abs(diff);
  // At |d| = beta both pieces have value beta / 2 and slope sign(d): the seam is smooth.
  return reduce(where(lt(size, options.beta), diff * diff * (0.5 / options.beta), size - 0.5 * options.beta),
                options.reduction);
}

Tensor huber_loss(const Tensor& input, const Tensor& target, const HuberLossOptions& options) {
  detail::check_same_shape(input, target, "huber_loss");
  if (!(options.delta > 0.0)) fail("huber_loss does not support non-positive values for delta, got delta = {}", options.delta);
  const Tensor diff = input - target;
  const Tensor size = abs(diff);
  return reduce(where(lt(size, options.delta), diff * diff * 0.5, (size - 0.5 * options.delta) * options.delta),
                options.reduction);
}

Tensor kl_div(const Tensor& input, const Tensor& target, const KLDivOptions& options) {
  detail::check_floating(input, "kl_div", "input");
  detail::check_floating(target, "kl_div", "target");
  broadcast_shapes(input.shape(), target.shape(), "kl_div");  // a clear error for shapes that do not broadcast
  Tensor pointwise;
  if (options.log_target) {
    pointwise = exp(target) * (target - input);
  } else {
    // xlogy(t, t) - t * x: 0 where t = 0 (and its gradient there 0, not 0 * log 0), NaN where t < 0,
    // as PyTorch's.
    const Tensor safe_target = where(eq(target, 0.0), 1.0, target);
    pointwise = target * log(safe_target) - target * input;
  }
  switch (options.reduction.kind) {
    case KLDivReduction::none: return pointwise;
    case KLDivReduction::sum: return sum(pointwise);
    case KLDivReduction::mean: return mean(pointwise);
    case KLDivReduction::batchmean:
      // The sum per example of the batch (axis 0); a 0-d input is one example.
      return input.dim() == 0 ? sum(pointwise) : sum(pointwise) / static_cast<double>(input.size(0));
  }
  return pointwise;
}

Tensor poisson_nll_loss(const Tensor& input, const Tensor& target, const PoissonNLLLossOptions& options) {
  detail::check_floating(input, "poisson_nll_loss", "input");
  detail::check_floating(target, "poisson_nll_loss", "target");
  broadcast_shapes(input.shape(), target.shape(), "poisson_nll_loss");
  Tensor loss = options.log_input ? exp(input) - target * input : input - target * log(input + options.eps);
  if (options.full) {
    // Stirling's log(t!) ~ t log t - t + log(2 pi t) / 2, added where t > 1 (elsewhere log(t!) ~ 0).
    // Evaluated at max(t, 1) so that t = 0 gives no 0 * log 0 on either pass.
    const Tensor above_one = gt(target, 1.0);
    const Tensor t = where(above_one, target, 1.0);
    const Tensor stirling = t * log(t) - t + log(t * (2.0 * std::numbers::pi)) * 0.5;
    loss = loss + where(above_one, stirling, 0.0);
  }
  return reduce(loss, options.reduction);
}

}  // namespace nabla::nn::functional
