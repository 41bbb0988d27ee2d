// Reductions: forward on tensors, backward formulas beside them.
#include "nabla/autograd/factories.hpp"
#include "nabla/autograd/functions.hpp"
#include "nabla/autograd/node.hpp"

namespace nabla {

namespace {
// The input's shape with every reduced axis set to 1 (what keepdim = true gives); `op` names the
// caller in the message for an axis out of range.
Shape keepdim_shape(const Shape& shape, const Dims& axes, const char* op = "reduce") {
  Shape out = shape;
  if (axes.empty()) {
    for (int64_t& extent : out) extent = 1;
    return out;
  }
  for (int64_t axis : axes) out[normalize_axis(axis, shape.size(), op)] = 1;
  return out;
}

int64_t reduced_count(const Shape& shape, const Dims& axes, const char* op) {
  return shape_numel(shape) / std::max<int64_t>(1, shape_numel(keepdim_shape(shape, axes, op)));
}

// A reduction's gradient, reshaped to keepdim form and broadcast back over the input.
Tensor spread(const Tensor& grad, const Shape& input_shape, const Dims& axes) {
  return expand(reshape(grad, keepdim_shape(input_shape, axes)), input_shape);
}
}  // namespace

Tensor sum(const Tensor& x, const Dims& axes, bool keepdim) {
  return record("sum", {x}, kernels::sum(x.raw(), axes, keepdim), [shape = x.shape(), axes](const Tensor& grad) {
    return Gradients{spread(grad, shape, axes)};
  });
}

Tensor mean(const Tensor& x, const Dims& axes, bool keepdim) {
  const double scale = 1.0 / static_cast<double>(std::max<int64_t>(1, reduced_count(x.shape(), axes, "mean")));
  return record("mean", {x}, kernels::mean(x.raw(), axes, keepdim), [shape = x.shape(), axes, scale](const Tensor& grad) {
    return Gradients{spread(grad * scale, shape, axes)};
  });
}

Tensor var(const Tensor& x, const Dims& axes, bool keepdim, int64_t correction) {
  // Composite: the checks and count come from the tensor op's rules.
  const int64_t count = reduced_count(x.shape(), axes, "var");
  if (count - correction <= 0) {
    fail("var: {} elements with correction {} leave no degrees of freedom (shape {}, axes {})", count, correction,
         x.shape(), axes);
  }
  const Tensor centered = x - mean(x, axes, true);
  return sum(centered * centered, axes, keepdim) / static_cast<double>(count - correction);
}

Tensor logsumexp(const Tensor& x, const Dims& axes, bool keepdim) {
  // d/dx = exp(x - logsumexp(x)) = softmax over the reduced axes.
  return record("logsumexp", {x}, kernels::logsumexp(x.raw(), axes, keepdim),
                [saved = save(x), axes](const Tensor& grad, const Tensor& result) {
                  const Tensor& self = saved.get();
                  const Shape keep = keepdim_shape(self.shape(), axes);
                  return Gradients{expand(reshape(grad, keep), self.shape()) * exp(self - reshape(result, keep))};
                });
}

namespace {
Tensor extreme_values(const Tensor& x, const Dims& axes, bool keepdim, bool is_max) {
  kernels::Tensor out = is_max ? kernels::amax(x.raw(), axes, keepdim) : kernels::amin(x.raw(), axes, keepdim);
  return record(is_max ? "amax" : "amin", {x}, std::move(out), [saved = save(x), axes](const Tensor& grad, const Tensor& result) {
    // Ties share the gradient equally.
    const kernels::Tensor& self = saved.get().raw();
    const Shape keep = keepdim_shape(self.shape(), axes);
    const kernels::Tensor winners = kernels::eq(self, result.raw().reshape(keep)).to(self.dtype());
    const Tensor share(kernels::div(winners, kernels::sum(winners, axes, true)));
    return Gradients{expand(reshape(grad, keep), self.shape()) * share};
  });
}

ValuesIndices extreme_along(const Tensor& x, int64_t axis, bool keepdim, bool is_max) {
  kernels::ValuesIndices result = is_max ? kernels::max(x.raw(), axis, keepdim) : kernels::min(x.raw(), axis, keepdim);
  const int64_t a = normalize_axis(axis, x.dim(), is_max ? "max" : "min");
  const Tensor index_keep = keepdim ? result.indices : result.indices.unsqueeze(a);
  Tensor values = record(is_max ? "max" : "min", {x}, result.values,
                         [shape = x.shape(), a, index_keep, keepdim](const Tensor& grad) {
                           const Tensor grad_keep = keepdim ? grad : unsqueeze(grad, a);
                           return Gradients{scatter_add(zeros(shape, grad.dtype()), a, index_keep, grad_keep)};
                         });
  return {values, Tensor(result.indices)};
}
}  // namespace

Tensor amax(const Tensor& x, const Dims& axes, bool keepdim) { return extreme_values(x, axes, keepdim, true); }
Tensor amin(const Tensor& x, const Dims& axes, bool keepdim) { return extreme_values(x, axes, keepdim, false); }
ValuesIndices max(const Tensor& x, int64_t axis, bool keepdim) { return extreme_along(x, axis, keepdim, true); }
ValuesIndices min(const Tensor& x, int64_t axis, bool keepdim) { return extreme_along(x, axis, keepdim, false); }

Tensor sum_to(const Tensor& x, const Shape& shape) {
  if (x.shape() == shape) return x;
  return record("sum_to", {x}, kernels::sum_to(x.raw(), shape),
                [x_shape = x.shape()](const Tensor& grad) { return Gradients{expand(grad, x_shape)}; });
}

Tensor log_softmax(const Tensor& x, int64_t axis) {
  const int64_t a = normalize_axis(axis, x.dim(), "log_softmax");
  return x - logsumexp(x, {a}, true);
}

// The axis is checked here too, so that a bad one is reported as softmax's, not log_softmax's.
Tensor softmax(const Tensor& x, int64_t axis) { return exp(log_softmax(x, normalize_axis(axis, x.dim(), "softmax"))); }

// The extremes of all elements: amax/amin over every axis (ties share the gradient).
Tensor max(const Tensor& x) {
  if (!x.defined()) fail("max: the tensor is undefined");
  if (x.numel() == 0) fail("max: the tensor of shape {} is empty", x.shape());
  return amax(x);
}
Tensor min(const Tensor& x) {
  if (!x.defined()) fail("min: the tensor is undefined");
  if (x.numel() == 0) fail("min: the tensor of shape {} is empty", x.shape());
  return amin(x);
}

// Indices: no gradient.
Tensor argmax(const Tensor& x, int64_t axis, bool keepdim) { return Tensor(kernels::argmax(x.raw(), axis, keepdim)); }
Tensor argmin(const Tensor& x, int64_t axis, bool keepdim) { return Tensor(kernels::argmin(x.raw(), axis, keepdim)); }
Tensor argmax(const Tensor& x) { return Tensor(kernels::argmax(x.raw())); }
Tensor argmin(const Tensor& x) {
  if (x.numel() == 0) fail("argmin: the tensor of shape {} is empty", x.shape());
  return Tensor(kernels::argmin(x.raw().reshape({-1}), 0, false));
}

}  // namespace nabla
