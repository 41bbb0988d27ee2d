// Element-wise math that pointwise.def cannot describe (two inputs, or arguments): atan2, fmod,
// remainder and nan_to_num, with their gradients as PyTorch's derivatives.yaml writes them, and
// the NaN/infinity tests, which have none.
#include "nabla/autograd/functions.hpp"
#include "nabla/autograd/node.hpp"

namespace nabla {

Tensor atan2(const Tensor& self, const Tensor& other) {
  // d/d(self) = other / (self^2 + other^2), d/d(other) = -self / (self^2 + other^2).
  return record("atan2", {self, other}, kernels::atan2(self.raw(), other.raw()),
                [saved_self = save(self), saved_other = save(other)](const Tensor& grad,
                                                                     const NeedsInputGrad& needs_input_grad) {
                  const Tensor& self = saved_self.get();
                  const Tensor& other = saved_other.get();
                  const Tensor recip = reciprocal(self * self + other * other);
                  return Gradients{needs_input_grad[0] ? grad * other * recip : Tensor(),
                                   needs_input_grad[1] ? grad * -self * recip : Tensor()};
                });
}

// self - other * q with q = trunc(self / other) (fmod) or floor(self / other) (remainder): q is
// piecewise constant, so the gradients are grad and -grad * q, and q has no gradient of its own.
Tensor fmod(const Tensor& self, const Tensor& other) {
  return record("fmod", {self, other}, kernels::fmod(self.raw(), other.raw()),
                [saved_self = save(self), saved_other = save(other)](const Tensor& grad,
                                                                     const NeedsInputGrad& needs_input_grad) {
                  return Gradients{grad, needs_input_grad[1] ? -grad * trunc(saved_self.get() / saved_other.get()) : Tensor()};
                });
}

Tensor remainder(const Tensor& self, const Tensor& other) {
  return record("remainder", {self, other}, kernels::remainder(self.raw(), other.raw()),
                [saved_self = save(self), saved_other = save(other)](const Tensor& grad,
                                                                     const NeedsInputGrad& needs_input_grad) {
                  return Gradients{grad, needs_input_grad[1] ? -grad * floor(saved_self.get() / saved_other.get()) : Tensor()};
                });
}

Tensor fmod(const Tensor& self, double other) {
  return record("fmod", {self}, kernels::fmod(self.raw(), other), [](const Tensor& grad) { return Gradients{grad}; });
}

Tensor remainder(const Tensor& self, double other) {
  return record("remainder", {self}, kernels::remainder(self.raw(), other),
                [](const Tensor& grad) { return Gradients{grad}; });
}

Tensor remainder(double self, const Tensor& other) {
  return record("remainder", {other}, kernels::remainder(self, other.raw()),
                [self, saved_other = save(other)](const Tensor& grad) {
                  return Gradients{-grad * floor(self / saved_other.get())};
                });
}

Tensor nan_to_num(const Tensor& x, double nan, std::optional<double> posinf, std::optional<double> neginf) {
  // As PyTorch: grad * isfinite(self), so the replaced elements get no gradient.
  return record("nan_to_num", {x}, kernels::nan_to_num(x.raw(), nan, posinf, neginf),
                [saved = save(x)](const Tensor& grad) { return Gradients{grad * isfinite(saved.get())}; });
}

Tensor isnan(const Tensor& x) { return Tensor(kernels::isnan(x.raw())); }
Tensor isinf(const Tensor& x) { return Tensor(kernels::isinf(x.raw())); }
Tensor isfinite(const Tensor& x) { return Tensor(kernels::isfinite(x.raw())); }

}  // namespace nabla
