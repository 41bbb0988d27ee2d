#pragma once
// Distances and similarities of nn::functional, as PyTorch's: cosine_similarity,
// pairwise_distance and normalize (modules: nn::CosineSimilarity and nn::PairwiseDistance in
// nabla/nn/loss_modules.hpp). Compositions of differentiable ops.
#include "nabla/autograd.hpp"

namespace nabla::nn::functional {

// The cosine of the angle between x1 and x2 along `axis` (they broadcast first), PyTorch 1.13's
// formula: sum(x1 * x2) / (sqrt(max(|x1|^2, eps^2)) * sqrt(max(|x2|^2, eps^2))), each squared norm
// floored at eps^2 without cutting its gradient (as PyTorch's in-place clamp under no_grad).
Tensor cosine_similarity(const Tensor& x1, const Tensor& x2, int64_t axis = 1, double eps = 1e-8);

// The p-norm of x1 - x2 + eps over the last axis (of the broadcast shape), PyTorch's
// pairwise_distance: p may be any real (0 counts the non-zero differences, inf and -inf take
// the largest and smallest magnitude).
Tensor pairwise_distance(const Tensor& x1, const Tensor& x2, double p = 2.0, double eps = 1e-6, bool keepdim = false);

// x / max(||x||_p, eps) along `axis`.
Tensor normalize(const Tensor& x, double p = 2.0, int64_t axis = 1, double eps = 1e-12);

}  // namespace nabla::nn::functional
