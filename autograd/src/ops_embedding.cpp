// The embedding lookup as one recorded op (fused_layers.hpp): a row gather forward; backward an
// index_add of the gradient's rows — the fused kernel for first derivatives, the same sum written
// with index_add (differentiable in the gradient) when backward itself is recorded.
#include <vector>

#include "nabla/autograd/factories.hpp"
#include "nabla/autograd/functions.hpp"
#include "nabla/autograd/fused_layers.hpp"
#include "nabla/autograd/node.hpp"

namespace nabla {

namespace {

// 1 / (how often each position's index occurs), as a column [n, 1] of `dtype`.
Tensor inverse_frequencies(const Tensor& flat_indices, int64_t num_weights, DType dtype) {
  const std::vector<int64_t> ids = flat_indices.to_vector<int64_t>();
  std::vector<double> occurrences(static_cast<size_t>(num_weights), 0.0);
  for (const int64_t id : ids) occurrences[static_cast<size_t>(id)] += 1.0;
  std::vector<double> scale(ids.size());
  for (size_t i = 0; i < ids.size(); ++i) scale[i] = 1.0 / occurrences[static_cast<size_t>(ids[i])];
  return from_vector(scale, {static_cast<int64_t>(ids.size()), 1}).to(dtype);
}

}  // namespace

Tensor embedding(const Tensor& weight, const Tensor& indices, std::optional<int64_t> padding_idx,
                 bool scale_grad_by_freq) {
  if (!weight.defined() || weight.dim() != 2) {
    fail("embedding: weight must be 2-d [num_embeddings, embedding_dim], got {}",
         weight.defined() ? to_string(weight.shape()) : "undefined");
  }
  const int64_t num_weights = weight.size(0), dim = weight.size(1);
  if (padding_idx && (*padding_idx < 0 || *padding_idx >= num_weights)) {
    fail("embedding: padding_idx {} is outside [0, {}) for a weight of shape {} (F.embedding and nn::Embedding "
         "accept negative ones, counted from the end)", *padding_idx, num_weights, weight.shape());
  }
  kernels::Tensor out = kernels::embedding(weight.raw(), indices.raw());  // checks the indices
  return record("embedding", {weight}, std::move(out),
                [saved_indices = save(indices), num_weights, dim, padding = padding_idx.value_or(-1),
                 scale_grad_by_freq](const Tensor& grad) {
                  const Tensor& ids = saved_indices.get();
                  if (!is_grad_enabled()) {
                    return Gradients{Tensor(kernels::embedding_backward(grad.raw(), ids.raw(), num_weights, padding,
                                                                        scale_grad_by_freq))};
                  }
                  const Tensor flat = ids.reshape({-1});
                  Tensor rows = grad.reshape({-1, dim});
                  if (scale_grad_by_freq) rows = rows * inverse_frequencies(flat, num_weights, grad.dtype());
                  Tensor grad_weight = index_add(zeros({num_weights, dim}, grad.dtype()), 0, flat, rows);
                  if (padding >= 0) grad_weight = index_fill(grad_weight, 0, scalar_tensor(padding, int64), 0.0);
                  return Gradients{grad_weight};
                });
}

}  // namespace nabla
