// Convolution and pooling kernels. Each is linear in its input, and each one's backward is its
// adjoint, which is itself a differentiable op here: im2col <-> col2im, avg_pool2d <->
// avg_pool2d_backward, and max_pool2d (a gather from the winners) <-> max_pool2d_backward.
#include "nabla/autograd/detail/adjoints.hpp"
#include "nabla/autograd/functions.hpp"
#include "nabla/autograd/node.hpp"

namespace nabla {

namespace detail {

Tensor im2col(const Tensor& x, const Window2d& window) {
  return record("im2col", {x}, kernels::im2col(x.raw(), window), [shape = x.shape(), window](const Tensor& grad) {
    return Gradients{col2im(grad, shape, window)};
  });
}

Tensor col2im(const Tensor& columns, const Shape& image_shape, const Window2d& window) {
  return record("col2im", {columns}, kernels::col2im(columns.raw(), image_shape, window),
                [window](const Tensor& grad) { return Gradients{im2col(grad, window)}; });
}

Tensor max_pool2d_backward(const Tensor& grad_output, const Tensor& indices, const Shape& input_shape) {
  return record("max_pool2d_backward", {grad_output},
                kernels::max_pool2d_backward(grad_output.raw(), indices.raw(), input_shape),
                [indices = indices.detach()](const Tensor& grad) { return Gradients{gather_winners(grad, indices)}; });
}

// Over flattened H*W planes.
Tensor gather_winners(const Tensor& x, const Tensor& indices) {
  return reshape(gather(flatten(x, 2), 2, indices.flatten(2)), indices.shape());
}

Tensor avg_pool2d_backward(const Tensor& grad_output, const Shape& input_shape, const Window2d& window,
                           bool count_include_pad, std::optional<int64_t> divisor_override) {
  return record("avg_pool2d_backward", {grad_output},
                kernels::avg_pool2d_backward(grad_output.raw(), input_shape, window, count_include_pad, divisor_override),
                [window, count_include_pad, divisor_override](const Tensor& grad) {
                  return Gradients{avg_pool2d(grad, window, count_include_pad, divisor_override)};
                });
}

}  // namespace detail

ValuesIndices max_pool2d(const Tensor& x, const Window2d& window) {
  kernels::PoolResult result = kernels::max_pool2d(x.raw(), window);
  Tensor indices(result.indices);
  Tensor values = record("max_pool2d", {x}, result.values, [shape = x.shape(), indices](const Tensor& grad) {
    return Gradients{detail::max_pool2d_backward(grad, indices, shape)};
  });
  return {values, indices};
}

Tensor avg_pool2d(const Tensor& x, const Window2d& window, bool count_include_pad,
                  std::optional<int64_t> divisor_override) {
  return record("avg_pool2d", {x}, kernels::avg_pool2d(x.raw(), window, count_include_pad, divisor_override),
                [shape = x.shape(), window, count_include_pad, divisor_override](const Tensor& grad) {
                  return Gradients{detail::avg_pool2d_backward(grad, shape, window, count_include_pad, divisor_override)};
                });
}

// Like max_pool2d: a gather from the winners, whose adjoint scatters to them.
ValuesIndices adaptive_max_pool2d(const Tensor& x, Size2d output_size) {
  kernels::PoolResult result = kernels::adaptive_max_pool2d(x.raw(), output_size);
  Tensor indices(result.indices);
  Tensor values = record("adaptive_max_pool2d", {x}, result.values, [shape = x.shape(), indices](const Tensor& grad) {
    return Gradients{detail::max_pool2d_backward(grad, indices, shape)};
  });
  return {values, indices};
}

}  // namespace nabla
