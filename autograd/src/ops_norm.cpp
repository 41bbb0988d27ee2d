// Norms and standard deviations, with PyTorch's gradients (norm_backward, std_backward): the
// subgradient 0 where the norm or the deviation is 0. And all/any, which have no gradient.
#include <cmath>

#include "nabla/autograd/functions.hpp"
#include "nabla/autograd/node.hpp"
#include "reduce_axes.hpp"

namespace nabla {

Tensor std(const Tensor& x, const Dims& axes, bool keepdim, int64_t correction) {
  kernels::Tensor out = kernels::std(x.raw(), axes, keepdim, correction);
  const int64_t count = detail::reduced_count(x.shape(), axes);
  return record("std", {x}, std::move(out), [saved = save(x), axes, count, correction](const Tensor& grad, const Tensor& result) {
    // d std = d var / (2 std), and var's gradient 2 (x - mean) / (count - correction).
    const Tensor& self = saved.get();
    const Shape keep = detail::keepdim_shape(self.shape(), axes);
    const Tensor deviation = reshape(result, keep);
    const Tensor zero = eq(deviation, 0.0);
    const Tensor grad_var = where(zero, 0.0, reshape(grad, keep) / (where(zero, 1.0, deviation) * 2.0));
    return Gradients{grad_var * (self - mean(self, axes, true)) * (2.0 / static_cast<double>(count - correction))};
  });
}

Tensor norm(const Tensor& x, double p, const Dims& axes, bool keepdim) {
  kernels::Tensor out = kernels::norm(x.raw(), p, axes, keepdim);
  return record("norm", {x}, std::move(out), [saved = save(x), p, axes](const Tensor& grad_in, const Tensor& result) {
    const Tensor& self = saved.get();
    const Shape keep = detail::keepdim_shape(self.shape(), axes);
    const Tensor grad = reshape(grad_in, keep);
    const Tensor norm = reshape(result, keep);
    if (p == 0.0) return Gradients{Tensor()};  // a count: no gradient
    if (p == 1.0) return Gradients{sign(self) * grad};
    // Divisions by the norm are guarded where it is 0 (all of its elements are then 0).
    const Tensor norm_is_zero = eq(norm, 0.0);
    if (p == 2.0) return Gradients{grad * (self / where(norm_is_zero, 1.0, norm))};
    if (std::isinf(p)) {
      // The elements whose |x| is the norm (or NaN) share the gradient.
      const kernels::Tensor magnitude = kernels::abs(self.raw());
      const kernels::Tensor winners = kernels::maximum(kernels::eq(magnitude, norm.raw()), kernels::ne(magnitude, magnitude));
      const kernels::Tensor share = winners.to(self.dtype());
      return Gradients{sign(self) * (grad / Tensor(kernels::sum(share, axes, true))) * Tensor(share)};
    }
    if (p < 1.0) {
      // |x|^(p-1) is infinite at 0; the gradient there is 0, as PyTorch's.
      const Tensor is_zero = eq(self, 0.0);
      const Tensor self_scaled = where(is_zero, 0.0, sign(self) * pow(where(is_zero, 1.0, abs(self)), p - 1.0));
      return Gradients{self_scaled * grad * pow(norm, 1.0 - p)};
    }
    const Tensor self_scaled = p < 2.0 ? sign(self) * pow(abs(self), p - 1.0) : self * pow(abs(self), p - 2.0);
    const Tensor scale = where(norm_is_zero, 0.0, grad / pow(where(norm_is_zero, 1.0, norm), p - 1.0));
    return Gradients{self_scaled * scale};
  });
}

Tensor norm(const Tensor& x, std::string_view p, const Dims& axes, bool keepdim) {
  // Anything but "fro" over at most two axes is refused, in the tensor layer's words.
  if (p != "fro" || axes.size() > 2) return Tensor(kernels::norm(x.raw(), p, axes, keepdim));
  return norm(x, 2.0, axes, keepdim);
}

// Truth values: no gradient.
Tensor all(const Tensor& x, const Dims& axes, bool keepdim) { return Tensor(kernels::all(x.raw(), axes, keepdim)); }
Tensor any(const Tensor& x, const Dims& axes, bool keepdim) { return Tensor(kernels::any(x.raw(), axes, keepdim)); }

}  // namespace nabla
