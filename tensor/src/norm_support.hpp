#pragma once
// Private: what the normalisation kernels (batch_norm.cpp, group_norm.cpp, layer_norm.cpp) share.
#include <cstdint>

#include "nabla/tensor/simd.hpp"
#include "nabla/tensor/tensor.hpp"

namespace nabla::kernels::detail {

// A backward's incoming gradient must have the input's shape: "<op> backward: the gradient has
// shape [..], the input [..]".
inline void check_gradient_shape(const char* op, const Tensor& grad_output, const Tensor& x) {
  if (!grad_output.defined() || grad_output.shape() != x.shape()) {
    fail("{} backward: the gradient has shape {}, the input {}", op,
         grad_output.defined() ? to_string(grad_output.shape()) : "undefined", x.shape());
  }
}

namespace {  // internal linkage: each kernel file gets its own multi-versioned copy

// y[j] = x[j] * scale + shift: a channel's normalisation once its statistics are known.
template <class T>
NABLA_SIMD_CLONES void scale_shift(const T* __restrict x, T* __restrict y, T scale, T shift, int64_t n) {
  for (int64_t j = 0; j < n; ++j) y[j] = x[j] * scale + shift;
}

}  // namespace

}  // namespace nabla::kernels::detail
