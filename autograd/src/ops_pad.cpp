// pad and its adjoint. Constant padding copies each input element once, so its adjoint is the
// crop that drops the padding — pad again with the counts negated. Reflect, replicate and circular
// padding copy edge elements several times; their adjoint, pad_backward, adds the copies' gradients
// back (its own adjoint is pad, so second derivatives close the loop).
#include "nabla/autograd/detail/adjoints.hpp"
#include "nabla/autograd/functions.hpp"
#include "nabla/autograd/node.hpp"

namespace nabla {

namespace {
std::vector<int64_t> negated(const std::vector<int64_t>& counts) {
  std::vector<int64_t> out(counts.size());
  for (size_t i = 0; i < counts.size(); ++i) out[i] = -counts[i];
  return out;
}
}  // namespace

Tensor pad(const Tensor& x, const std::vector<int64_t>& pad, PadMode mode, double value) {
  return record("pad", {x}, kernels::pad(x.raw(), pad, mode, value),
                [x_shape = x.shape(), pad, mode](const Tensor& grad) {
                  if (mode == PadMode::constant) return Gradients{nabla::pad(grad, negated(pad))};
                  return Gradients{detail::pad_backward(grad, x_shape, pad, mode)};
                });
}

namespace detail {

Tensor pad_backward(const Tensor& grad, const Shape& input_shape, const std::vector<int64_t>& pad, PadMode mode) {
  return record("pad_backward", {grad}, kernels::pad_backward(grad.raw(), input_shape, pad, mode),
                [pad, mode](const Tensor& grad_grad) { return Gradients{nabla::pad(grad_grad, pad, mode)}; });
}

}  // namespace detail

}  // namespace nabla
