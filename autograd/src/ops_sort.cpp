// Sorting and selecting: the values are recorded, and their gradient goes back to the positions
// they were picked from (PyTorch's value_selecting_reduction_backward); indices carry no gradient.
#include <cmath>

#include "nabla/autograd/factories.hpp"
#include "nabla/autograd/functions.hpp"
#include "nabla/autograd/node.hpp"

namespace nabla {

namespace {

// grad placed at `indices` along axis in zeros of the input's shape. Without keepdim the reduced
// axis is put back first.
Tensor value_selecting_backward(const Tensor& grad, int64_t axis, const Tensor& indices, const Shape& shape, bool keepdim) {
  if (shape.size() == 0) return reshape(grad, shape);
  const Tensor grad_keep = keepdim ? grad : unsqueeze(grad, axis);
  const Tensor indices_keep = keepdim ? indices : indices.unsqueeze(axis);
  return scatter_add(zeros(shape, grad.dtype()), axis, indices_keep, grad_keep);
}

ValuesIndices selected(const char* name, const Tensor& x, kernels::ValuesIndices picked, int64_t axis, bool keepdim) {
  const int64_t a = normalize_axis(axis, std::max<int64_t>(x.dim(), 1), name);
  Tensor indices(std::move(picked.indices));
  Tensor values = record(name, {x}, std::move(picked.values), [shape = x.shape(), a, indices, keepdim](const Tensor& grad) {
    return Gradients{value_selecting_backward(grad, a, indices, shape, keepdim)};
  });
  return {values, indices};
}

}  // namespace

ValuesIndices sort(const Tensor& x, int64_t axis, bool descending, bool stable) {
  return selected("sort", x, kernels::sort(x.raw(), axis, descending, stable), axis, true);
}

Tensor argsort(const Tensor& x, int64_t axis, bool descending, bool stable) {
  return Tensor(kernels::argsort(x.raw(), axis, descending, stable));
}

ValuesIndices topk(const Tensor& x, int64_t k, int64_t axis, bool largest, bool sorted) {
  return selected("topk", x, kernels::topk(x.raw(), k, axis, largest, sorted), axis, true);
}

ValuesIndices kthvalue(const Tensor& x, int64_t k, int64_t axis, bool keepdim) {
  return selected("kthvalue", x, kernels::kthvalue(x.raw(), k, axis, keepdim), axis, keepdim);
}

ValuesIndices median(const Tensor& x, int64_t axis, bool keepdim) {
  return selected("median", x, kernels::median(x.raw(), axis, keepdim), axis, keepdim);
}

ValuesIndices mode(const Tensor& x, int64_t axis, bool keepdim) {
  return selected("mode", x, kernels::mode(x.raw(), axis, keepdim), axis, keepdim);
}

Tensor median(const Tensor& x) {
  return record("median", {x}, kernels::median(x.raw()), [saved = save(x)](const Tensor& grad, const Tensor& result) {
    // The elements equal to the median (NaN ones when it is NaN) share the gradient evenly, as
    // PyTorch's evenly_distribute_backward.
    const kernels::Tensor& self = saved.get().raw();
    const bool is_nan = std::isnan(result.item<double>());
    const kernels::Tensor winners = (is_nan ? kernels::ne(self, self) : kernels::eq(self, result.raw())).to(self.dtype());
    return Gradients{grad * Tensor(kernels::div(winners, kernels::sum(winners)))};
  });
}

}  // namespace nabla
