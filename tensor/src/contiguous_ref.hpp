#pragma once
// Private: a contiguous tensor for a kernel to read, without copying the handle when the tensor
// already is contiguous. Copying a Tensor bumps its storage's atomic reference count (~10 ns
// with the matching drop), which on the small tensors of a training step costs more than the
// arithmetic; `const Tensor x = x_in.contiguous()` pays it every call.
#include "nabla/tensor/tensor.hpp"

namespace nabla::kernels::detail {

class ContiguousRef {
 public:
  explicit ContiguousRef(const Tensor& x) : packed_(x.is_contiguous() ? Tensor() : x.clone()), tensor_(pick(x)) {}
  explicit ContiguousRef(Tensor&&) = delete;  // would refer to a temporary
  ContiguousRef(const ContiguousRef&) = delete;
  ContiguousRef& operator=(const ContiguousRef&) = delete;

  const Tensor& operator*() const { return tensor_; }
  const Tensor* operator->() const { return &tensor_; }

 private:
  const Tensor& pick(const Tensor& x) const { return packed_.defined() ? packed_ : x; }

  Tensor packed_;  // defined only when x needed packing
  const Tensor& tensor_;
};

}  // namespace nabla::kernels::detail
