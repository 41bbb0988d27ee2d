// Views, reshapes, joins and index ops: forward on the tensor layer, backward formulas beside them.
#include "nabla/autograd/detail/adjoints.hpp"
#include "nabla/autograd/factories.hpp"
#include "nabla/autograd/functions.hpp"
#include "nabla/autograd/node.hpp"

namespace nabla {

namespace {
// Marks `result` as a view of `base` when it shares base's storage (in-place ops that would have
// to be recorded refuse views: see Tensor's in-place methods).
Tensor as_view_of(Tensor result, const Tensor& base) {
  if (result.defined() && result.raw().shares_storage(base.raw())) result.impl()->is_view = true;
  return result;
}

// Every pure reshape (view, flatten, squeeze, unsqueeze) has the same backward.
Tensor reshaped(const char* name, const Tensor& x, kernels::Tensor out) {
  return as_view_of(
      record(name, {x}, std::move(out), [shape = x.shape()](const Tensor& grad) { return Gradients{reshape(grad, shape)}; }),
      x);
}

// The index an op was given, checked against -size <= index < size and wrapped once.
int64_t wrap_index(int64_t index, int64_t size, int64_t axis, const Shape& shape, const char* op) {
  if (index < -size || index >= size) {
    fail("{}: index {} is out of range for axis {} of size {} (shape {}); valid: {} to {}", op, index, axis, size,
         shape, -size, size - 1);
  }
  return index < 0 ? index + size : index;
}
}  // namespace

Tensor reshape(const Tensor& x, const Shape& shape) { return reshaped("reshape", x, x.raw().reshape(shape)); }
Tensor view(const Tensor& x, const Shape& shape) { return reshaped("view", x, x.raw().view(shape)); }
Tensor flatten(const Tensor& x, int64_t start_axis, int64_t end_axis) {
  return reshaped("flatten", x, x.raw().flatten(start_axis, end_axis));
}
Tensor squeeze(const Tensor& x) { return reshaped("squeeze", x, x.raw().squeeze()); }
Tensor squeeze(const Tensor& x, int64_t axis) { return reshaped("squeeze", x, x.raw().squeeze(axis)); }
Tensor unsqueeze(const Tensor& x, int64_t axis) { return reshaped("unsqueeze", x, x.raw().unsqueeze(axis)); }

Tensor transpose(const Tensor& x, int64_t axis0, int64_t axis1) {
  return as_view_of(record("transpose", {x}, x.raw().transpose(axis0, axis1),
                           [axis0, axis1](const Tensor& grad) { return Gradients{transpose(grad, axis0, axis1)}; }),
                    x);
}

Tensor permute(const Tensor& x, const Dims& order) {
  kernels::Tensor out = x.raw().permute(order);
  Dims inverse = Dims::filled(order.size(), 0);
  for (int64_t i = 0; i < order.size(); ++i) inverse[normalize_axis(order[i], x.dim(), "permute")] = i;
  return as_view_of(
      record("permute", {x}, std::move(out), [inverse](const Tensor& grad) { return Gradients{permute(grad, inverse)}; }),
      x);
}

Tensor slice(const Tensor& x, int64_t axis, int64_t start, int64_t end, int64_t step) {
  return as_view_of(record("slice", {x}, x.raw().slice(axis, start, end, step),
                           [shape = x.shape(), axis, start, end, step](const Tensor& grad) {
                             return Gradients{detail::slice_backward(grad, shape, axis, start, end, step)};
                           }),
                    x);
}

Tensor narrow(const Tensor& x, int64_t axis, int64_t start, int64_t length) {
  const int64_t a = normalize_axis(axis, x.dim(), "narrow");
  // start may be size itself (an empty narrow at the end), as in PyTorch.
  const int64_t size = x.shape()[a];
  const int64_t begin = start == size ? start : wrap_index(start, size, a, x.shape(), "narrow");
  kernels::Tensor out = x.raw().narrow(a, begin, length);  // checks the length
  return as_view_of(record("narrow", {x}, std::move(out), [shape = x.shape(), a, begin, length](const Tensor& grad) {
                      return Gradients{detail::slice_backward(grad, shape, a, begin, begin + length, 1)};
                    }),
                    x);
}

Tensor select(const Tensor& x, int64_t axis, int64_t index) {
  const int64_t a = normalize_axis(axis, x.dim(), "select");
  const int64_t i = wrap_index(index, x.shape()[a], a, x.shape(), "select");
  kernels::Tensor out = x.raw().select(a, i);
  return as_view_of(record("select", {x}, std::move(out), [shape = x.shape(), a, i](const Tensor& grad) {
                      return Gradients{detail::slice_backward(unsqueeze(grad, a), shape, a, i, i + 1, 1)};
                    }),
                    x);
}

Tensor expand(const Tensor& x, const Shape& shape) {
  return as_view_of(record("expand", {x}, x.raw().expand(shape),
                           [x_shape = x.shape()](const Tensor& grad) { return Gradients{sum_to(grad, x_shape)}; }),
                    x);
}
Tensor broadcast_to(const Tensor& x, const Shape& shape) { return expand(x, shape); }

Tensor contiguous(const Tensor& x) { return x.is_contiguous() ? x : clone(x); }

Tensor to(const Tensor& x, DType dtype) {
  if (x.dtype() == dtype) return x;
  if (x.requires_grad() && !is_floating(dtype)) {
    // An integer result has no gradient: the conversion is a constant, as in PyTorch.
    return Tensor(x.raw().to(dtype));
  }
  return record("to", {x}, x.raw().to(dtype), [from = x.dtype()](const Tensor& grad) { return Gradients{to(grad, from)}; });
}

Tensor clone(const Tensor& x) {
  return record("clone", {x}, x.raw().clone(), [](const Tensor& grad) { return Gradients{grad}; });
}

namespace detail {

Tensor slice_backward(const Tensor& x, const Shape& shape, int64_t axis, int64_t start, int64_t end, int64_t step) {
  kernels::Tensor out = kernels::zeros(shape, x.dtype());
  kernels::Tensor window = out.slice(axis, start, end, step);
  if (window.shape() != x.shape()) {
    fail("slice_backward: gradient of shape {} does not fit slice [{}:{}:{}] of axis {} in shape {} (that slice has "
         "shape {})", x.shape(), start, end, step, axis, shape, window.shape());
  }
  window.copy_(x.raw());
  return record("slice_backward", {x}, std::move(out), [axis, start, end, step](const Tensor& grad) {
    return Gradients{slice(grad, axis, start, end, step)};
  });
}

}  // namespace detail

Tensor concat(const std::vector<Tensor>& tensors, int64_t axis) {
  std::vector<kernels::Tensor> values;
  values.reserve(tensors.size());
  for (const Tensor& x : tensors) {
    if (!x.defined()) fail("concat: tensor {} of {} is undefined", values.size(), tensors.size());
    values.push_back(x.raw());
  }
  kernels::Tensor out = kernels::concat(values, axis);
  const int64_t a = normalize_axis(axis, out.dim(), "concat");
  std::vector<int64_t> extents;
  for (const Tensor& x : tensors) extents.push_back(x.shape()[a]);
  return record("concat", std::span<const Tensor>(tensors), std::move(out),
                [a, extents](const Tensor& grad, const NeedsInputGrad& needs_input_grad) {
                  Gradients grads;
                  int64_t start = 0;
                  for (size_t i = 0; i < extents.size(); ++i) {
                    grads.push_back(needs_input_grad[i] ? narrow(grad, a, start, extents[i]) : Tensor());
                    start += extents[i];
                  }
                  return grads;
                });
}
Tensor cat(const std::vector<Tensor>& tensors, int64_t axis) { return concat(tensors, axis); }

Tensor stack(const std::vector<Tensor>& tensors, int64_t axis) {
  if (tensors.empty()) fail("stack: needs at least one tensor");
  if (!tensors.front().defined()) fail("stack: tensor 0 is undefined");
  std::vector<Tensor> expanded;
  expanded.reserve(tensors.size());
  const int64_t a = normalize_axis(axis, tensors.front().dim() + 1, "stack");
  for (size_t i = 0; i < tensors.size(); ++i) {
    // Checked here, so that a mismatch is reported as stack's (with the shapes given), not concat's.
    if (!tensors[i].defined()) fail("stack: tensor {} of {} is undefined", i, tensors.size());
    if (tensors[i].shape() != tensors.front().shape()) {
      fail("stack: tensor {} has shape {} but tensor 0 has shape {}; stack needs equal shapes", i, tensors[i].shape(),
           tensors.front().shape());
    }
  }
  for (const Tensor& x : tensors) expanded.push_back(unsqueeze(x, a));
  return concat(expanded, a);
}

Tensor index_select(const Tensor& x, int64_t axis, const Tensor& index) {
  return record("index_select", {x}, kernels::index_select(x.raw(), axis, index.raw()),
                [shape = x.shape(), axis, index = index.detach()](const Tensor& grad) {
                  return Gradients{index_add(zeros(shape, grad.dtype()), axis, index, grad)};
                });
}

Tensor index_add(const Tensor& base, int64_t axis, const Tensor& index, const Tensor& source) {
  return record("index_add", {base, source}, kernels::index_add(base.raw(), axis, index.raw(), source.raw()),
                [axis, index = index.detach()](const Tensor& grad, const NeedsInputGrad& needs_input_grad) {
                  return Gradients{grad, needs_input_grad[1] ? index_select(grad, axis, index) : Tensor()};
                });
}

Tensor gather(const Tensor& x, int64_t axis, const Tensor& index) {
  return record("gather", {x}, kernels::gather(x.raw(), axis, index.raw()),
                [shape = x.shape(), axis, index = index.detach()](const Tensor& grad) {
                  return Gradients{scatter_add(zeros(shape, grad.dtype()), axis, index, grad)};
                });
}

Tensor scatter_add(const Tensor& base, int64_t axis, const Tensor& index, const Tensor& source) {
  return record("scatter_add", {base, source}, kernels::scatter_add(base.raw(), axis, index.raw(), source.raw()),
                [axis, index = index.detach()](const Tensor& grad, const NeedsInputGrad& needs_input_grad) {
                  return Gradients{grad, needs_input_grad[1] ? gather(grad, axis, index) : Tensor()};
                });
}

}  // namespace nabla
