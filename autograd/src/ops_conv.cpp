// Convolution and pooling kernels. Each is linear in its input, and each one's backward is its
// adjoint, which is itself a differentiable op here: im2col <-> col2im, avg_pool2d <->
// avg_pool2d_backward, and max pooling's scatter <-> gather.
#include "nabla/autograd/functions.hpp"
#include "nabla/autograd/node.hpp"

namespace nabla {

Variable im2col(const Variable& x, const Window2d& window) {
  return record("im2col", {x}, nabla::im2col(x.data(), window), [shape = x.shape(), window](const Variable& g) {
    return Gradients{col2im(g, shape, window)};
  });
}

Variable col2im(const Variable& columns, const Shape& image_shape, const Window2d& window) {
  return record("col2im", {columns}, nabla::col2im(columns.data(), image_shape, window),
                [window](const Variable& g) { return Gradients{im2col(g, window)}; });
}

VariableIndices max_pool2d(const Variable& x, const Window2d& window) {
  PoolResult result = nabla::max_pool2d(x.data(), window);
  // Backward scatters each output gradient to the input position that won, over flattened
  // H*W planes; scatter_add's own backward (gather) gives the second derivative.
  const Tensor plane_index = result.indices.flatten(2);
  Variable values = record("max_pool2d", {x}, result.values, [shape = x.shape(), plane_index](const Variable& g) {
    const Shape planes{shape[0], shape[1], shape[2] * shape[3]};
    const Variable base(zeros(planes, g.dtype()));
    return Gradients{reshape(scatter_add(base, 2, plane_index, flatten(g, 2)), shape)};
  });
  return {values, result.indices};
}

Variable avg_pool2d(const Variable& x, const Window2d& window, bool count_include_pad) {
  return record("avg_pool2d", {x}, nabla::avg_pool2d(x.data(), window, count_include_pad),
                [shape = x.shape(), window, count_include_pad](const Variable& g) {
                  return Gradients{avg_pool2d_backward(g, shape, window, count_include_pad)};
                });
}

Variable avg_pool2d_backward(const Variable& grad_output, const Shape& input_shape, const Window2d& window,
                             bool count_include_pad) {
  return record("avg_pool2d_backward", {grad_output},
                nabla::avg_pool2d_backward(grad_output.data(), input_shape, window, count_include_pad),
                [window, count_include_pad](const Variable& g) {
                  return Gradients{avg_pool2d(g, window, count_include_pad)};
                });
}

}  // namespace nabla
