// Embedding lookups (nabla/tensor/fused_layers.hpp): a row gather forward, an index_add of rows
// backward, and PyTorch's in-place max_norm renormalisation.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "nabla/tensor/factories.hpp"
#include "nabla/tensor/fused_layers.hpp"
#include "nabla/tensor/threads.hpp"

namespace nabla::kernels {

namespace {

constexpr int64_t kParallelBytes = 1 << 16;  // bytes moved per thread, at least

void check_weight(const Tensor& weight, const char* op) {
  if (!weight.defined()) fail("{}: the weight is undefined", op);
  if (weight.dim() != 2) {
    fail("{}: weight must be 2-d [num_embeddings, embedding_dim], got shape {}", op, weight.shape());
  }
}

// The indices as a contiguous vector, each checked against [0, rows).
std::vector<int64_t> checked_indices(const Tensor& indices, int64_t rows, const char* op) {
  if (!indices.defined()) fail("{}: the indices are undefined", op);
  if (indices.dtype() != int64) {
    fail("{}: indices must be int64, got {} (convert with .to(int64); torch.embedding takes (weight, indices), "
         "F.embedding (input, weight))", op, indices.dtype());
  }
  std::vector<int64_t> values = indices.to_vector<int64_t>();
  for (const int64_t value : values) {
    if (value < 0 || value >= rows) {
      fail("{}: index {} is out of range for an embedding of {} rows (indices must be in [0, {}))", op, value, rows,
           rows);
    }
  }
  return values;
}

}  // namespace

Tensor embedding(const Tensor& weight_in, const Tensor& indices) {
  check_weight(weight_in, "embedding");
  const int64_t rows = weight_in.size(0), dim = weight_in.size(1);
  const std::vector<int64_t> ids = checked_indices(indices, rows, "embedding");
  Shape out_shape = indices.shape();
  out_shape.push_back(dim);
  Tensor out = Tensor::empty(out_shape, weight_in.dtype());
  if (out.numel() == 0) return out;
  const Tensor weight = weight_in.contiguous();
  const int64_t row_bytes = dim * static_cast<int64_t>(itemsize(weight.dtype()));
  const char* src = static_cast<const char*>(weight.raw_data());
  char* dst = static_cast<char*>(out.raw_data());
  const int64_t count = static_cast<int64_t>(ids.size());
  parallel_for(0, count, std::max<int64_t>(1, kParallelBytes / std::max<int64_t>(row_bytes, 1)), [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) {
      std::memcpy(dst + i * row_bytes, src + ids[static_cast<size_t>(i)] * row_bytes, static_cast<size_t>(row_bytes));
    }
  });
  return out;
}

Tensor embedding_backward(const Tensor& grad_in, const Tensor& indices, int64_t num_weights, int64_t padding_idx,
                          bool scale_grad_by_freq) {
  const std::vector<int64_t> ids = checked_indices(indices, num_weights, "embedding_backward");
  const int64_t count = static_cast<int64_t>(ids.size());
  if (!grad_in.defined() || !is_floating(grad_in.dtype()) || grad_in.dim() < 1 ||
      grad_in.numel() != count * grad_in.size(-1)) {
    fail("embedding_backward: grad must be a float tensor of shape [indices..., D] for indices of shape {}, got {}",
         indices.shape(), grad_in.defined() ? to_string(grad_in.shape()) : "undefined");
  }
  const int64_t dim = grad_in.size(-1);
  Tensor out = zeros({num_weights, dim}, grad_in.dtype());
  if (count == 0 || dim == 0) return out;
  const Tensor grad = grad_in.contiguous();
  std::vector<double> scale;
  if (scale_grad_by_freq) {
    std::vector<int64_t> occurrences(static_cast<size_t>(num_weights), 0);
    for (const int64_t id : ids) ++occurrences[static_cast<size_t>(id)];
    scale.resize(static_cast<size_t>(count));
    for (int64_t i = 0; i < count; ++i) {
      scale[static_cast<size_t>(i)] = 1.0 / static_cast<double>(occurrences[static_cast<size_t>(ids[static_cast<size_t>(i)])]);
    }
  }
  dispatch_floating(grad.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* g = grad.data<T>();
    T* w = out.data<T>();
    // Each thread owns a range of weight rows and scans every index for its own (as PyTorch's
    // embedding_dense_backward does): repeated indices accumulate without races.
    const int64_t grain = std::max<int64_t>(1, num_weights * kParallelBytes / std::max<int64_t>(count * dim * 8, 1));
    parallel_for(0, num_weights, grain, [&](int64_t lo, int64_t hi) {
      for (int64_t i = 0; i < count; ++i) {
        const int64_t row = ids[static_cast<size_t>(i)];
        if (row < lo || row >= hi || row == padding_idx) continue;
        T* to = w + row * dim;
        const T* from = g + i * dim;
        if (scale.empty()) {
          for (int64_t j = 0; j < dim; ++j) to[j] += from[j];
        } else {
          const T s = static_cast<T>(scale[static_cast<size_t>(i)]);
          for (int64_t j = 0; j < dim; ++j) to[j] += from[j] * s;
        }
      }
    });
  });
  return out;
}

const Tensor& embedding_renorm_(const Tensor& weight, const Tensor& indices, double max_norm, double norm_type) {
  check_weight(weight, "embedding_renorm_");
  if (!is_floating(weight.dtype())) fail("embedding_renorm_: weight must be a float tensor, got {}", weight.dtype());
  if (!(max_norm >= 0.0)) fail("embedding_renorm_: max_norm must be non-negative, got {}", max_norm);
  if (!(norm_type >= 0.0)) fail("embedding_renorm_: norm_type must be non-negative (or inf), got {}", norm_type);
  std::vector<int64_t> ids = checked_indices(indices, weight.size(0), "embedding_renorm_");
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  const int64_t dim = weight.size(1);
  dispatch_floating(weight.dtype(), [&](auto tag) {
    using T = decltype(tag);
    T* base = weight.data<T>();  // rows are reached through the strides: weight may be a view
    const int64_t row_stride = weight.stride(0), column_stride = weight.stride(1);
    for (const int64_t id : ids) {
      T* row = base + id * row_stride;
      double norm = 0.0;
      if (std::isinf(norm_type)) {
        for (int64_t j = 0; j < dim; ++j) norm = std::max(norm, std::abs(static_cast<double>(row[j * column_stride])));
      } else if (norm_type == 0.0) {
        for (int64_t j = 0; j < dim; ++j) norm += row[j * column_stride] != T(0) ? 1.0 : 0.0;
      } else {
        for (int64_t j = 0; j < dim; ++j) norm += std::pow(std::abs(static_cast<double>(row[j * column_stride])), norm_type);
        norm = std::pow(norm, 1.0 / norm_type);
      }
      if (norm > max_norm) {
        const double factor = max_norm / (norm + 1e-7);
        for (int64_t j = 0; j < dim; ++j) row[j * column_stride] = static_cast<T>(row[j * column_stride] * factor);
      }
    }
  });
  weight.storage()->bump_version();
  return weight;
}

}  // namespace nabla::kernels
