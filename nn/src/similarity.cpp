// cosine_similarity, pairwise_distance and normalize, as PyTorch 1.13's, with the vector p-norm
// they share written so that a zero vector gets a zero gradient (not 0 * inf), as PyTorch's norm.
#include <cmath>
#include <limits>

#include "loss_support.hpp"
#include "nabla/nn/similarity.hpp"

namespace nabla::nn::functional {

namespace {

// sqrt(s) for s >= 0 whose gradient is 0 (not inf) where s = 0.
Tensor safe_sqrt(const Tensor& s) {
  const Tensor zero = eq(s, 0.0);
  return where(zero, 0.0, sqrt(where(zero, 1.0, s)));
}

// ||x||_p along axis: p = 2, 1, inf, -inf, 0 (the count of non-zeros, gradient 0) or any other p
// ((sum |x|^p)^(1/p)); at a zero vector the gradient is 0, as PyTorch's norm backward.
Tensor vector_norm(const Tensor& x, double p, int64_t axis, bool keepdim) {
  const Dims axes{axis};
  if (p == 2.0) return safe_sqrt(sum(x * x, axes, keepdim));
  if (p == 1.0) return sum(abs(x), axes, keepdim);
  if (std::isinf(p)) return p > 0 ? amax(abs(x), axes, keepdim) : amin(abs(x), axes, keepdim);  // ties share
  if (p == 0.0) return sum(ne(x, 0.0).to(x.dtype()), axes, keepdim) + sum(x * 0.0, axes, keepdim);
  const Tensor total = sum(pow(abs(x), p), axes, keepdim);
  const Tensor zero = eq(total, 0.0);
  return where(zero, 0.0, pow(where(zero, 1.0, total), 1.0 / p));
}

// Two inputs of a common floating dtype (integers are converted, as PyTorch's).
std::pair<Tensor, Tensor> common_floating(const Tensor& x1, const Tensor& x2, const char* op) {
  detail::check_defined(x1, op, "x1");
  detail::check_defined(x2, op, "x2");
  const DType common = promote_types(x1.dtype(), x2.dtype());
  if (!is_floating(common)) {
    fail("{}: expected common dtype to be floating point, yet common dtype is {} (inputs {} and {})", op, common,
         x1.dtype(), x2.dtype());
  }
  return {x1.dtype() == common ? x1 : x1.to(common), x2.dtype() == common ? x2 : x2.to(common)};
}

// The squared norm with its values floored at eps^2 and its gradient kept: PyTorch 1.13 clamps it
// in place under no_grad, so the gradient is that of the unclamped sum.
Tensor floored_squared_norm(const Tensor& x, int64_t axis, double eps) {
  const Tensor squared = sum(x * x, {axis}, true);
  const Tensor below = lt(squared, eps * eps);
  return where(below, squared - squared.detach() + eps * eps, squared);
}

}  // namespace

Tensor cosine_similarity(const Tensor& x1_in, const Tensor& x2_in, int64_t axis, double eps) {
  auto [a, b] = common_floating(x1_in, x2_in, "cosine_similarity");
  const Shape shape = broadcast_shapes(a.shape(), b.shape(), "cosine_similarity");
  const int64_t dims = static_cast<int64_t>(shape.size());
  if (axis < -std::max<int64_t>(dims, 1) || axis >= std::max<int64_t>(dims, 1)) {
    fail("cosine_similarity: axis {} is out of range for inputs of broadcast shape {}", axis, shape);
  }
  const Tensor x1 = a.shape() == shape ? a : expand(a, shape);
  const Tensor x2 = b.shape() == shape ? b : expand(b, shape);
  const Tensor n1 = sqrt(floored_squared_norm(x1, axis, eps));
  const Tensor n2 = sqrt(floored_squared_norm(x2, axis, eps));
  return sum((x1 / n1) * (x2 / n2), {axis});
}

Tensor pairwise_distance(const Tensor& x1_in, const Tensor& x2_in, double p, double eps, bool keepdim) {
  auto [x1, x2] = common_floating(x1_in, x2_in, "pairwise_distance");
  const Tensor difference = x1 - x2 + eps;  // broadcast; eps is added to every difference, as PyTorch's
  if (difference.dim() == 0) return vector_norm(difference.reshape({1}), p, 0, false);
  return vector_norm(difference, p, difference.dim() - 1, keepdim);
}

Tensor normalize(const Tensor& x, double p, int64_t axis, double eps) {
  detail::check_floating(x, "normalize", "input");
  const int64_t dims = std::max<int64_t>(x.dim(), 1);
  if (axis < -dims || axis >= dims) fail("normalize: axis {} is out of range for input of shape {}", axis, x.shape());
  if (x.dim() == 0) return x / clamp_min(abs(x), eps);
  return x / clamp_min(vector_norm(x, p, axis, true), eps);
}

}  // namespace nabla::nn::functional
