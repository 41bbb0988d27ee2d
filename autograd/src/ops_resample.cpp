// Resampling (nearest and bilinear upsampling): linear in the image, so its backward is its
// adjoint, and the adjoint's backward is the resampling again.
#include "nabla/autograd/detail/adjoints.hpp"
#include "nabla/autograd/functions.hpp"
#include "nabla/autograd/node.hpp"

namespace nabla {

Tensor upsample2d(const Tensor& x, Size2d output_size, const Upsample2dParams& params) {
  if (!x.defined()) fail("upsample2d: the input is undefined");
  return record("upsample2d", {x}, kernels::upsample2d(x.raw(), output_size, params),
                [shape = x.shape(), params](const Tensor& grad) {
                  return Gradients{detail::upsample2d_backward(grad, shape, params)};
                });
}

namespace detail {

Tensor upsample2d_backward(const Tensor& grad_output, const Shape& input_shape, const Upsample2dParams& params) {
  if (!grad_output.defined()) fail("upsample2d_backward: grad_output is undefined");
  kernels::Tensor out = kernels::upsample2d_backward(grad_output.raw(), input_shape, params);  // checks the shapes
  const Size2d output_size{grad_output.shape()[2], grad_output.shape()[3]};
  return record("upsample2d_backward", {grad_output}, std::move(out),
                [output_size, params](const Tensor& grad) { return Gradients{upsample2d(grad, output_size, params)}; });
}

}  // namespace detail

}  // namespace nabla
