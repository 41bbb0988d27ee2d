// Masked and advanced indexing: masked_select, index (x[i, j]), index_put, index_fill and
// take_along_dim. Reading by index and adding back by index are each other's adjoints (index and
// index_put with accumulate, gather and scatter_add, index_select and index_add), so every
// backward here is one of them and differentiates again.
#include <unordered_set>

#include "nabla/autograd/factories.hpp"
#include "nabla/autograd/functions.hpp"
#include "nabla/autograd/node.hpp"

namespace nabla {

namespace {

std::vector<SavedTensor> save_all(const std::vector<Tensor>& tensors) {
  std::vector<SavedTensor> saved;
  saved.reserve(tensors.size());
  for (const Tensor& t : tensors) saved.push_back(save(t));
  return saved;
}

std::vector<Tensor> restore_all(const std::vector<SavedTensor>& saved) {
  std::vector<Tensor> tensors;
  tensors.reserve(saved.size());
  for (const SavedTensor& s : saved) tensors.push_back(s.get());
  return tensors;
}

std::vector<kernels::Tensor> raw_all(const std::vector<Tensor>& tensors, const char* op) {
  std::vector<kernels::Tensor> raw;
  raw.reserve(tensors.size());
  for (const Tensor& t : tensors) {
    if (!t.defined()) fail("{}: index tensor {} is undefined (default-constructed)", op, raw.size());
    raw.push_back(t.raw());
  }
  return raw;
}

// 1 for each index entry that is the last to name its position in x's indexed axes, 0 for the
// entries a later one overwrote (shape: the indices broadcast, then a 1 per remaining axis of x);
// undefined when no position is named twice. index_put without accumulate writes in index order,
// so only the last writer's value reaches the output and only it gets a gradient.
Tensor last_writers(const Shape& x_shape, const std::vector<Tensor>& indices) {
  // Row-major positions, by Horner's rule over the indexed axes (the forward checked the range).
  kernels::Tensor positions = kernels::zeros({}, int64);
  for (size_t j = 0; j < indices.size(); ++j) {
    const kernels::Tensor& index = indices[j].raw();
    const double extent = static_cast<double>(x_shape[static_cast<int64_t>(j)]);
    const kernels::Tensor wrapped = kernels::where(kernels::lt(index, 0.0), kernels::add(index, extent), index);
    positions = kernels::add(kernels::mul(positions, extent), wrapped);
  }
  const std::vector<int64_t> named = positions.to_vector<int64_t>();
  std::vector<double> winner(named.size(), 0.0);
  std::unordered_set<int64_t> seen;
  bool overwritten = false;
  for (size_t p = named.size(); p-- > 0;) {
    if (seen.insert(named[p]).second) {
      winner[p] = 1.0;
    } else {
      overwritten = true;
    }
  }
  if (!overwritten) return {};
  Shape shape = positions.shape();
  for (int64_t axis = static_cast<int64_t>(indices.size()); axis < x_shape.size(); ++axis) shape.push_back(1);
  return from_vector(winner, shape);
}

}  // namespace

Tensor masked_select(const Tensor& x, const Tensor& mask) {
  return record("masked_select", {x}, kernels::masked_select(x.raw(), mask.raw()),
                [x_shape = x.shape(), mask = save(mask)](const Tensor& grad) {
                  // masked_select is index_select of x (broadcast with the mask, flattened) at the
                  // positions where the mask is true; its adjoint is index_add at those positions.
                  // The engine sums the broadcast gradient back to x's shape.
                  const Shape shape = broadcast_shapes(x_shape, mask->shape(), "masked_select");
                  const int64_t n = shape_numel(shape);
                  const Tensor positions(kernels::masked_select(kernels::arange(n).reshape(shape), mask->raw()));
                  return Gradients{reshape(index_add(zeros({n}, grad.dtype()), 0, positions, grad), shape)};
                });
}

Tensor index(const Tensor& x, const std::vector<Tensor>& indices) {
  return record("index", {x}, kernels::index(x.raw(), raw_all(indices, "index")),
                [x_shape = x.shape(), indices = save_all(indices)](const Tensor& grad) {
                  return Gradients{index_put(zeros(x_shape, grad.dtype()), restore_all(indices), grad, true)};
                });
}

Tensor index_put(const Tensor& x, const std::vector<Tensor>& indices, const Tensor& values, bool accumulate) {
  if (!values.defined()) fail("index_put: values are undefined (default-constructed)");
  return record("index_put", {x, values}, kernels::index_put(x.raw(), raw_all(indices, "index_put"), values.raw(), accumulate),
                [x_shape = x.shape(), indices = save_all(indices), accumulate](const Tensor& grad,
                                                                               const NeedsInputGrad& needs_input_grad) {
                  const std::vector<Tensor> index_tensors = restore_all(indices);
                  Tensor grad_self, grad_values;
                  if (needs_input_grad[0]) {
                    // Overwritten elements of x no longer reach the output; added-to ones do.
                    grad_self = accumulate ? grad : index_put(grad, index_tensors, zeros({}, grad.dtype()));
                  }
                  if (needs_input_grad[1]) {
                    grad_values = index(grad, index_tensors);  // the engine sums it to values' shape
                    if (!accumulate) {
                      const Tensor winners = last_writers(x_shape, index_tensors);
                      if (winners.defined()) grad_values = grad_values * winners.to(grad.dtype());
                    }
                  }
                  return Gradients{grad_self, grad_values};
                });
}

Tensor index_fill(const Tensor& x, int64_t axis, const Tensor& index, double value) {
  if (!index.defined()) fail("index_fill: index is undefined (default-constructed)");
  return record("index_fill", {x}, kernels::index_fill(x.raw(), axis, index.raw(), value),
                [axis, index = save(index)](const Tensor& grad) { return Gradients{index_fill(grad, axis, *index, 0.0)}; });
}

Tensor take_along_dim(const Tensor& x, const Tensor& indices) {
  if (!indices.defined()) fail("take_along_dim: indices are undefined (default-constructed)");
  return record("take_along_dim", {x}, kernels::take_along_dim(x.raw(), indices.raw()),
                [x_shape = x.shape(), indices = save(indices)](const Tensor& grad) {
                  const int64_t n = shape_numel(x_shape);
                  const Tensor flat = scatter_add(zeros({n}, grad.dtype()), 0, reshape(*indices, {-1}), reshape(grad, {-1}));
                  return Gradients{reshape(flat, x_shape)};
                });
}

Tensor take_along_dim(const Tensor& x, const Tensor& indices, int64_t axis) {
  if (!indices.defined()) fail("take_along_dim: indices are undefined (default-constructed)");
  kernels::Tensor out = kernels::take_along_dim(x.raw(), indices.raw(), axis);
  return record("take_along_dim", {x}, std::move(out),
                [x_shape = x.shape(), indices = save(indices), axis](const Tensor& grad) {
                  // The forward gathered from x broadcast to grad's shape on every axis but `axis`;
                  // scatter the gradient into that broadcast shape and let the engine sum it back.
                  const int64_t a = normalize_axis(axis, static_cast<int64_t>(x_shape.size()), "take_along_dim");
                  Shape broadcast_x = grad.shape();
                  broadcast_x[a] = x_shape[a];
                  const Tensor index_broadcast = expand(*indices, grad.shape());
                  return Gradients{scatter_add(zeros(broadcast_x, grad.dtype()), a, index_broadcast, grad)};
                });
}

}  // namespace nabla
