#pragma once
// Private to the loss files: reductions, the shape checks every loss shares, and class targets.
#include <string>

#include "nabla/nn/losses.hpp"

namespace nabla::nn::functional::detail {

// PyTorch's apply_loss_reduction: the mean (NaN for no elements), the sum, or the losses as they are.
inline Tensor reduce(const Tensor& loss, Reduction reduction) {
  switch (reduction) {
    case Reduction::mean: return mean(loss);
    case Reduction::sum: return sum(loss);
    case Reduction::none: return loss;
  }
  return loss;
}

inline void check_defined(const Tensor& t, const char* op, const char* name) {
  if (!t.defined()) fail("{}: {} is undefined", op, name);
}

inline void check_floating(const Tensor& t, const char* op, const char* name) {
  check_defined(t, op, name);
  if (!is_floating(t.dtype())) fail("{}: {} must be float32 or float64, got {}", op, name, t.dtype());
}

// Element-wise losses compare input and target of one shape (PyTorch broadcasts with a warning
// that the result is likely wrong; nabla refuses).
inline void check_same_shape(const Tensor& input, const Tensor& target, const char* op) {
  check_floating(input, op, "input");
  check_defined(target, op, "target");
  if (input.shape() != target.shape()) {
    fail("{}: input of shape {} and target of shape {} differ (reshape one to match; PyTorch would broadcast them "
         "with a warning)",
         op, input.shape(), target.shape());
  }
}

// A weight broadcast to `shape` (the loss's), refused when it would enlarge it, as PyTorch's.
inline void check_weight_broadcasts(const Tensor& weight, const Shape& shape, const char* op, const char* name) {
  if (!weight.defined()) return;
  const int64_t dims = static_cast<int64_t>(shape.size()), weight_dims = weight.dim();
  bool fits = weight_dims <= dims;
  for (int64_t i = 1; fits && i <= weight_dims; ++i) {
    const int64_t size = weight.shape()[weight_dims - i];
    fits = size == 1 || size == shape[dims - i];
  }
  if (!fits) {
    fail("{}: {} of shape {} does not broadcast to the input's shape {} (without enlarging it); its sizes must be 1 or "
         "the input's, aligned from the last axis",
         op, name, weight.shape(), shape);
  }
}

// Class weights: one per class, [C].
inline void check_class_weight(const Tensor& weight, int64_t classes, const char* op) {
  if (!weight.defined()) return;
  check_floating(weight, op, "weight");
  if (weight.dim() != 1 || weight.size(0) != classes) {
    fail("{}: weight tensor should be defined either for all {} classes or no classes but got weight tensor of shape: {}",
         op, classes, weight.shape());
  }
}

// int64 class targets: each in [0, classes) unless it is ignore_index. Returns whether any was ignored.
bool check_class_range(const Tensor& target, int64_t classes, int64_t ignore_index, const char* op);

inline std::string reduction_name(Reduction reduction) {
  return reduction == Reduction::mean ? "mean" : reduction == Reduction::sum ? "sum" : "none";
}

}  // namespace nabla::nn::functional::detail
