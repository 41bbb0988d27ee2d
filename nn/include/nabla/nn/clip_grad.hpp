#pragma once
// Gradient clipping, as torch.nn.utils.clip_grad_norm_ and clip_grad_value_: between backward()
// and the optimiser's step(), in place on the parameters' gradients. Parameters without a
// gradient are skipped.
//   loss.backward();
//   nn::utils::clip_grad_norm_(model->parameters(), /*max_norm=*/1.0);
//   optimizer.step();
#include <limits>
#include <vector>

#include "nabla/autograd.hpp"

namespace nabla::nn::utils {

// Scales all gradients by one coefficient so that their total norm is at most max_norm, and
// returns the total norm before clipping. The total norm is the norm_type-norm of every gradient
// element taken as one vector (the norm of the per-gradient norms); norm_type may be any p,
// including infinity (the largest |g|), -infinity (the smallest) and 0 (the count of non-zeros).
// As PyTorch, the coefficient is max_norm / (total_norm + 1e-6), applied when it is below 1. A
// NaN or infinite total norm throws when error_if_nonfinite is set; otherwise the gradients are
// scaled by it all the same (NaN, or zero), as in PyTorch.
double clip_grad_norm_(const std::vector<Tensor>& parameters, double max_norm, double norm_type = 2.0,
                       bool error_if_nonfinite = false);
double clip_grad_norm_(const Tensor& parameter, double max_norm, double norm_type = 2.0,
                       bool error_if_nonfinite = false);

// Clamps every gradient element into [-clip_value, clip_value].
void clip_grad_value_(const std::vector<Tensor>& parameters, double clip_value);
void clip_grad_value_(const Tensor& parameter, double clip_value);

inline constexpr double inf = std::numeric_limits<double>::infinity();  // norm_type for the max norm

}  // namespace nabla::nn::utils
