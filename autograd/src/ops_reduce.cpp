// Reductions: forward on tensors, backward formulas beside them.
#include "nabla/autograd/functions.hpp"
#include "nabla/autograd/node.hpp"

namespace nabla {

namespace {
// The input's shape with every reduced axis set to 1 (what keepdim = true gives).
Shape keepdim_shape(const Shape& shape, const Dims& axes) {
  Shape out = shape;
  if (axes.empty()) {
    for (int64_t& extent : out) extent = 1;
    return out;
  }
  for (int64_t axis : axes) out[normalize_axis(axis, shape.size(), "reduce")] = 1;
  return out;
}

int64_t reduced_count(const Shape& shape, const Dims& axes) {
  return shape_numel(shape) / std::max<int64_t>(1, shape_numel(keepdim_shape(shape, axes)));
}

// A reduction's gradient, reshaped to keepdim form and broadcast back over the input.
Variable spread(const Variable& g, const Shape& input_shape, const Dims& axes) {
  return expand(reshape(g, keepdim_shape(input_shape, axes)), input_shape);
}
}  // namespace

Variable sum(const Variable& x, const Dims& axes, bool keepdim) {
  return record("sum", {x}, nabla::sum(x.data(), axes, keepdim), [shape = x.shape(), axes](const Variable& g) {
    return Gradients{spread(g, shape, axes)};
  });
}

Variable mean(const Variable& x, const Dims& axes, bool keepdim) {
  const double scale = 1.0 / static_cast<double>(std::max<int64_t>(1, reduced_count(x.shape(), axes)));
  return record("mean", {x}, nabla::mean(x.data(), axes, keepdim), [shape = x.shape(), axes, scale](const Variable& g) {
    return Gradients{spread(g * scale, shape, axes)};
  });
}

Variable var(const Variable& x, const Dims& axes, bool keepdim, int64_t correction) {
  // Composite: the checks and count come from the tensor op's rules.
  const int64_t count = reduced_count(x.shape(), axes);
  if (count - correction <= 0) {
    fail("var: {} elements with correction {} leave no degrees of freedom (shape {}, axes {})", count, correction,
         x.shape(), axes);
  }
  const Variable centered = x - mean(x, axes, true);
  return sum(centered * centered, axes, keepdim) / static_cast<double>(count - correction);
}

Variable logsumexp(const Variable& x, const Dims& axes, bool keepdim) {
  // d/dx = exp(x - logsumexp(x)) = softmax over the reduced axes.
  return record("logsumexp", {x}, nabla::logsumexp(x.data(), axes, keepdim),
                [sx = save(x), axes](const Variable& g, const Variable& out) {
                  const Variable& xv = sx.get();
                  const Shape keep = keepdim_shape(xv.shape(), axes);
                  return Gradients{expand(reshape(g, keep), xv.shape()) * exp(xv - reshape(out, keep))};
                });
}

namespace {
Variable extreme_values(const Variable& x, const Dims& axes, bool keepdim, bool is_max) {
  Tensor out = is_max ? nabla::amax(x.data(), axes, keepdim) : nabla::amin(x.data(), axes, keepdim);
  return record(is_max ? "amax" : "amin", {x}, std::move(out), [sx = save(x), axes](const Variable& g, const Variable& out) {
    // Ties share the gradient equally.
    const Tensor& xv = sx.get().data();
    const Shape keep = keepdim_shape(xv.shape(), axes);
    const Tensor winners = eq(xv, out.data().reshape(keep)).to(xv.dtype());
    const Tensor share = nabla::div(winners, nabla::sum(winners, axes, true));
    return Gradients{expand(reshape(g, keep), xv.shape()) * share};
  });
}

VariableIndices extreme_along(const Variable& x, int64_t axis, bool keepdim, bool is_max) {
  ValuesIndices result = is_max ? nabla::max(x.data(), axis, keepdim) : nabla::min(x.data(), axis, keepdim);
  const int64_t a = normalize_axis(axis, x.dim(), is_max ? "max" : "min");
  const Tensor index_keep = keepdim ? result.indices : result.indices.unsqueeze(a);
  Variable values = record(is_max ? "max" : "min", {x}, result.values,
                           [shape = x.shape(), a, index_keep, keepdim](const Variable& g) {
                             const Variable g_keep = keepdim ? g : unsqueeze(g, a);
                             return Gradients{scatter_add(Variable(zeros(shape, g.dtype())), a, index_keep, g_keep)};
                           });
  return {values, result.indices};
}
}  // namespace

Variable amax(const Variable& x, const Dims& axes, bool keepdim) { return extreme_values(x, axes, keepdim, true); }
Variable amin(const Variable& x, const Dims& axes, bool keepdim) { return extreme_values(x, axes, keepdim, false); }
VariableIndices max(const Variable& x, int64_t axis, bool keepdim) { return extreme_along(x, axis, keepdim, true); }
VariableIndices min(const Variable& x, int64_t axis, bool keepdim) { return extreme_along(x, axis, keepdim, false); }

Variable sum_to(const Variable& x, const Shape& shape) {
  if (x.shape() == shape) return x;
  return record("sum_to", {x}, nabla::sum_to(x.data(), shape),
                [x_shape = x.shape()](const Variable& g) { return Gradients{expand(g, x_shape)}; });
}

Variable log_softmax(const Variable& x, int64_t axis) {
  const int64_t a = normalize_axis(axis, x.dim(), "log_softmax");
  return x - logsumexp(x, {a}, true);
}

Variable softmax(const Variable& x, int64_t axis) { return exp(log_softmax(x, axis)); }

}  // namespace nabla
