// Convolution and pooling kernels. Each is linear in its input, and each one's backward is its
// adjoint, which is itself a differentiable op here: im2col <-> col2im, avg_pool2d <->
// avg_pool2d_backward, and max_pool2d (a gather from the winners) <-> max_pool2d_backward.
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
  Variable values = record("max_pool2d", {x}, result.values, [shape = x.shape(), indices = result.indices](const Variable& g) {
    return Gradients{max_pool2d_backward(g, indices, shape)};
  });
  return {values, result.indices};
}

Variable max_pool2d_backward(const Variable& grad_output, const Tensor& indices, const Shape& input_shape) {
  // The adjoint of scattering to the winners is gathering from them (over flattened H*W planes).
  return record("max_pool2d_backward", {grad_output}, nabla::max_pool2d_backward(grad_output.data(), indices, input_shape),
                [indices](const Variable& g) {
                  return Gradients{reshape(gather(flatten(g, 2), 2, indices.flatten(2)), indices.shape())};
                });
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
