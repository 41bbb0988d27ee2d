// Products: prod of all elements or along an axis, with PyTorch's gradient, exact when the input
// holds zeros.
#include "nabla/autograd/factories.hpp"
#include "nabla/autograd/functions.hpp"
#include "nabla/autograd/node.hpp"

namespace nabla {

namespace {

// x with its axis reversed, as an index_select so that it is differentiable.
Tensor reversed(const Tensor& x, int64_t axis) {
  const int64_t n = x.size(axis);
  return index_select(x, axis, Tensor(kernels::arange(static_cast<double>(n - 1), -1.0, -1.0, DType::int64)));
}

// grad times the product of every other element along axis, without dividing: the exclusive
// running products from the front ([1, a, ab] for [a, b, c]) times those from the back
// ([bc, c, 1]). PyTorch's prod_safe_zeros_backward; differentiable, so second derivatives hold
// with zeros too. grad has input's shape with axis of size 1.
Tensor prod_safe_zeros_backward(const Tensor& grad, const Tensor& input, int64_t axis) {
  const int64_t n = input.size(axis);
  if (n <= 1) return expand(grad, input.shape());
  Shape ones_shape = input.shape();
  ones_shape[axis] = 1;
  const Tensor one = ones(ones_shape, input.dtype());
  const Tensor exclusive_normal = cumprod(cat({one, narrow(input, axis, 0, n - 1)}, axis), axis);
  const Tensor exclusive_reverse = reversed(cumprod(cat({one, reversed(narrow(input, axis, 1, n - 1), axis)}, axis), axis), axis);
  return grad * (exclusive_normal * exclusive_reverse);
}

int64_t count_zeros(const Tensor& x) { return kernels::sum(kernels::eq(x.raw(), 0.0)).item<int64_t>(); }

}  // namespace

Tensor prod(const Tensor& x) {
  return record("prod", {x}, kernels::prod(x.raw()), [saved = save(x)](const Tensor& grad, const Tensor& result) {
    const Tensor& self = saved.get();
    if (self.dim() == 0) return Gradients{grad};
    const int64_t zeros = count_zeros(self);
    if (zeros == 0) return Gradients{grad * (result / self)};
    // Two zeros make every partial product zero; with create_graph the formula below still
    // carries the second derivatives (which are not zero).
    if (zeros > 1 && !is_grad_enabled()) return Gradients{zeros_like(self)};
    return Gradients{reshape(prod_safe_zeros_backward(reshape(grad, {1}), reshape(self, {-1}), 0), self.shape())};
  });
}

Tensor prod(const Tensor& x, int64_t axis, bool keepdim) {
  kernels::Tensor out = kernels::prod(x.raw(), axis, keepdim);
  const int64_t a = normalize_axis(axis, std::max<int64_t>(x.dim(), 1), "prod");
  return record("prod", {x}, std::move(out), [saved = save(x), a, keepdim](const Tensor& grad_in, const Tensor& result_in) {
    const Tensor& self = saved.get();
    if (self.dim() == 0) return Gradients{grad_in};
    const Tensor grad = keepdim ? grad_in : unsqueeze(grad_in, a);
    if (count_zeros(self) == 0) return Gradients{grad * ((keepdim ? result_in : unsqueeze(result_in, a)) / self)};
    return Gradients{prod_safe_zeros_backward(grad, self, a)};
  });
}

}  // namespace nabla
