// The fused backward passes of activations (detail/adjoints.hpp), recorded so that they have
// derivatives of their own. The activations themselves are entries of nabla/tensor/pointwise.def.
#include "nabla/autograd/detail/adjoints.hpp"
#include "nabla/autograd/functions.hpp"
#include "nabla/autograd/node.hpp"

namespace nabla::detail {

Tensor silu_backward(const Tensor& grad_output, const Tensor& self) {
  // z = g * silu'(x): dz/dg = silu'(x); dz/dx = g * silu''(x), with s = sigmoid(x) and
  // silu''(x) = s (1 - s) (2 + x (1 - 2 s)).
  return record("silu_backward", {grad_output, self}, kernels::silu_backward(grad_output.raw(), self.raw()),
                [saved_grad = save(grad_output), saved_self = save(self)](const Tensor& grad,
                                                                          const NeedsInputGrad& needs_input_grad) {
                  const Tensor& x = saved_self.get();
                  Tensor grad_grad_output, grad_self;
                  if (needs_input_grad[0]) grad_grad_output = silu_backward(grad, x);
                  if (needs_input_grad[1]) {
                    const Tensor s = sigmoid(x);
                    grad_self = grad * saved_grad.get() * s * (1.0 - s) * (2.0 + x * (1.0 - 2.0 * s));
                  }
                  return Gradients{grad_grad_output, grad_self};
                });
}

Tensor leaky_relu_backward(const Tensor& grad_output, const Tensor& self, double negative_slope) {
  // Linear in grad_output; self only picks the slope, so its derivative is 0 (PyTorch's too).
  return record("leaky_relu_backward", {grad_output, self},
                kernels::leaky_relu_backward(grad_output.raw(), self.raw(), negative_slope),
                [saved_self = save(self), negative_slope](const Tensor& grad, const NeedsInputGrad& needs_input_grad) {
                  Tensor grad_grad_output;
                  if (needs_input_grad[0]) grad_grad_output = leaky_relu_backward(grad, saved_self.get(), negative_slope);
                  return Gradients{grad_grad_output, Tensor()};
                });
}

}  // namespace nabla::detail

namespace nabla {

Tensor leaky_relu(const Tensor& x, double negative_slope) {
  return record("leaky_relu", {x}, kernels::leaky_relu(x.raw(), negative_slope),
                [saved_self = save(x), negative_slope](const Tensor& grad) {
                  return Gradients{detail::leaky_relu_backward(grad, saved_self.get(), negative_slope)};
                });
}

}  // namespace nabla
