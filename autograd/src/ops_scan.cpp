// Scans: cumsum (whose adjoint, the sum from the end, is an op of its own) and cumprod, with
// PyTorch's gradient, exact when the input holds zeros.
#include <vector>

#include "nabla/autograd/detail/adjoints.hpp"
#include "nabla/autograd/factories.hpp"
#include "nabla/autograd/functions.hpp"
#include "nabla/autograd/node.hpp"

namespace nabla {

Tensor cumsum(const Tensor& x, int64_t axis) {
  return record("cumsum", {x}, kernels::cumsum(x.raw(), axis),
                [axis](const Tensor& grad) { return Gradients{detail::reverse_cumsum(grad, axis)}; });
}

namespace detail {
Tensor reverse_cumsum(const Tensor& x, int64_t axis) {
  return record("reverse_cumsum", {x}, kernels::reverse_cumsum(x.raw(), axis),
                [axis](const Tensor& grad) { return Gradients{cumsum(grad, axis)}; });
}
}  // namespace detail

namespace {

// d cumprod: grad_input[j] = sum over k >= j of grad[k] * prod over i <= k, i != j of input[i].
Tensor cumprod_backward(const Tensor& grad, const Tensor& input, int64_t axis, const Tensor& result) {
  if (input.dim() == 0 || input.size(axis) <= 1) return grad;
  // Not recording (a plain backward): the tensor layer computes it in O(n), zeros or not.
  if (!is_grad_enabled()) return Tensor(kernels::cumprod_backward(grad.raw(), input.raw(), axis));
  // Recording (create_graph): formulas of differentiable ops. Without zeros, the sums from the end
  // of result * grad, divided by the input.
  if (kernels::sum(kernels::eq(input.raw(), 0.0)).item<int64_t>() == 0) {
    return detail::reverse_cumsum(result * grad, axis) / input;
  }
  // With zeros, PyTorch's O(n^2) formula: for each j, the running products with input[j] taken as 1
  // give prod over i <= k, i != j, for every k >= j.
  const int64_t a = normalize_axis(axis, input.dim(), "cumprod");
  const int64_t n = input.size(a);
  Shape mask_shape = Shape::filled(input.dim(), 1);
  mask_shape[a] = n;
  std::vector<Tensor> columns;
  for (int64_t j = 0; j < n; ++j) {
    kernels::Tensor at_j = kernels::zeros(mask_shape, DType::bool_);
    at_j.reshape({-1}).select(0, j).fill_(1.0);
    const Tensor omitted = cumprod(masked_fill(input, Tensor(at_j), 1.0), a);
    columns.push_back(sum(narrow(grad * omitted, a, j, n - j), {a}, true));
  }
  return cat(columns, a);
}

}  // namespace

Tensor cumprod(const Tensor& x, int64_t axis) {
  return record("cumprod", {x}, kernels::cumprod(x.raw(), axis),
                [saved = save(x), axis](const Tensor& grad, const Tensor& result) {
                  return Gradients{cumprod_backward(grad, saved.get(), axis, result)};
                });
}

}  // namespace nabla
