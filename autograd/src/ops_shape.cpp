// Views, reshapes, joins and index ops: forward on tensors, backward formulas beside them.
#include "nabla/autograd/functions.hpp"
#include "nabla/autograd/node.hpp"

namespace nabla {

namespace {
// Every pure reshape (view, flatten, squeeze, unsqueeze) has the same backward.
Variable reshaped(const char* name, const Variable& x, Tensor out) {
  return record(name, {x}, std::move(out), [shape = x.shape()](const Variable& g) { return Gradients{reshape(g, shape)}; });
}
}  // namespace

Variable reshape(const Variable& x, const Shape& shape) { return reshaped("reshape", x, x.data().reshape(shape)); }
Variable view(const Variable& x, const Shape& shape) { return reshaped("view", x, x.data().view(shape)); }
Variable flatten(const Variable& x, int64_t start_axis, int64_t end_axis) {
  return reshaped("flatten", x, x.data().flatten(start_axis, end_axis));
}
Variable squeeze(const Variable& x) { return reshaped("squeeze", x, x.data().squeeze()); }
Variable squeeze(const Variable& x, int64_t axis) { return reshaped("squeeze", x, x.data().squeeze(axis)); }
Variable unsqueeze(const Variable& x, int64_t axis) { return reshaped("unsqueeze", x, x.data().unsqueeze(axis)); }

Variable transpose(const Variable& x, int64_t axis0, int64_t axis1) {
  return record("transpose", {x}, x.data().transpose(axis0, axis1),
                [axis0, axis1](const Variable& g) { return Gradients{transpose(g, axis0, axis1)}; });
}

Variable permute(const Variable& x, const Dims& order) {
  Tensor out = x.data().permute(order);
  Dims inverse = Dims::filled(order.size(), 0);
  for (int64_t i = 0; i < order.size(); ++i) inverse[normalize_axis(order[i], x.dim(), "permute")] = i;
  return record("permute", {x}, std::move(out), [inverse](const Variable& g) { return Gradients{permute(g, inverse)}; });
}

Variable slice(const Variable& x, int64_t axis, int64_t start, int64_t end, int64_t step) {
  return record("slice", {x}, x.data().slice(axis, start, end, step),
                [shape = x.shape(), axis, start, end, step](const Variable& g) {
                  return Gradients{slice_backward(g, shape, axis, start, end, step)};
                });
}

Variable slice_backward(const Variable& x, const Shape& shape, int64_t axis, int64_t start, int64_t end,
                        int64_t step) {
  Tensor out = zeros(shape, x.dtype());
  Tensor window = out.slice(axis, start, end, step);
  if (window.shape() != x.shape()) {
    fail("slice_backward: gradient of shape {} does not fit slice [{}:{}:{}] of axis {} in shape {} (that slice has shape {})",
         x.shape(), start, end, step, axis, shape, window.shape());
  }
  window.copy_(x.data());
  return record("slice_backward", {x}, std::move(out), [axis, start, end, step](const Variable& g) {
    return Gradients{slice(g, axis, start, end, step)};
  });
}

Variable narrow(const Variable& x, int64_t axis, int64_t start, int64_t length) {
  const int64_t a = normalize_axis(axis, x.dim(), "narrow");
  const int64_t begin = start < 0 ? start + x.shape()[a] : start;
  Tensor out = x.data().narrow(a, begin, length);  // checks the range
  return record("narrow", {x}, std::move(out), [shape = x.shape(), a, begin, length](const Variable& g) {
    return Gradients{slice_backward(g, shape, a, begin, begin + length, 1)};
  });
}

Variable select(const Variable& x, int64_t axis, int64_t index) {
  const int64_t a = normalize_axis(axis, x.dim(), "select");
  const int64_t i = index < 0 ? index + x.shape()[a] : index;
  Tensor out = x.data().select(a, i);  // checks the range
  return record("select", {x}, std::move(out), [shape = x.shape(), a, i](const Variable& g) {
    return Gradients{slice_backward(unsqueeze(g, a), shape, a, i, i + 1, 1)};
  });
}

Variable expand(const Variable& x, const Shape& shape) {
  return record("expand", {x}, x.data().expand(shape), [x_shape = x.shape()](const Variable& g) {
    return Gradients{sum_to(g, x_shape)};
  });
}

Variable to(const Variable& x, DType dtype) {
  if (x.dtype() == dtype) return x;
  return record("to", {x}, x.data().to(dtype), [from = x.dtype()](const Variable& g) { return Gradients{to(g, from)}; });
}

Variable clone(const Variable& x) {
  return record("clone", {x}, x.data().clone(), [](const Variable& g) { return Gradients{g}; });
}

Variable concat(const std::vector<Variable>& xs, int64_t axis) {
  std::vector<Tensor> tensors;
  tensors.reserve(xs.size());
  for (const Variable& x : xs) tensors.push_back(x.data());
  Tensor out = nabla::concat(tensors, axis);
  const int64_t a = normalize_axis(axis, out.dim(), "concat");
  std::vector<int64_t> extents;
  for (const Variable& x : xs) extents.push_back(x.shape()[a]);
  return record("concat", std::span<const Variable>(xs), std::move(out), [a, extents](const Variable& g) {
    Gradients grads;
    int64_t start = 0;
    for (int64_t extent : extents) {
      grads.push_back(narrow(g, a, start, extent));
      start += extent;
    }
    return grads;
  });
}

Variable stack(const std::vector<Variable>& xs, int64_t axis) {
  if (xs.empty()) fail("stack: needs at least one variable");
  std::vector<Variable> expanded;
  expanded.reserve(xs.size());
  const int64_t a = normalize_axis(axis, xs.front().dim() + 1, "stack");
  for (const Variable& x : xs) expanded.push_back(unsqueeze(x, a));
  return concat(expanded, a);
}

Variable index_select(const Variable& x, int64_t axis, const Tensor& index) {
  return record("index_select", {x}, nabla::index_select(x.data(), axis, index),
                [shape = x.shape(), axis, index](const Variable& g) {
                  return Gradients{index_add(Variable(zeros(shape, g.dtype())), axis, index, g)};
                });
}

Variable index_add(const Variable& base, int64_t axis, const Tensor& index, const Variable& source) {
  return record("index_add", {base, source}, nabla::index_add(base.data(), axis, index, source.data()),
                [axis, index](const Variable& g) { return Gradients{g, index_select(g, axis, index)}; });
}

Variable gather(const Variable& x, int64_t axis, const Tensor& index) {
  return record("gather", {x}, nabla::gather(x.data(), axis, index), [shape = x.shape(), axis, index](const Variable& g) {
    return Gradients{scatter_add(Variable(zeros(shape, g.dtype())), axis, index, g)};
  });
}

Variable scatter_add(const Variable& base, int64_t axis, const Tensor& index, const Variable& source) {
  return record("scatter_add", {base, source}, nabla::scatter_add(base.data(), axis, index, source.data()),
                [axis, index](const Variable& g) { return Gradients{g, gather(g, axis, index)}; });
}

}  // namespace nabla
