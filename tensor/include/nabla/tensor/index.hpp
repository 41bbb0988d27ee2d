#pragma once
// Gathering and scattering by int64 indices; joining tensors.
#include <vector>

#include "nabla/tensor/tensor.hpp"

namespace nabla::kernels {

// Slices of x along axis at the positions in a 1-d int64 index (repeats allowed).
Tensor index_select(const Tensor& x, int64_t axis, const Tensor& index);
// Adds source's slices into a copy of base at index positions along axis (the adjoint of
// index_select; repeated indices accumulate).
Tensor index_add(const Tensor& base, int64_t axis, const Tensor& index, const Tensor& source);
// out[i][j][k] = x[i][index[i][j][k]][k] for axis 1 (like torch.gather): index has x's rank and
// every non-axis extent at most x's.
Tensor gather(const Tensor& x, int64_t axis, const Tensor& index);
// A copy of base with source added at the gathered positions (the adjoint of gather).
Tensor scatter_add(const Tensor& base, int64_t axis, const Tensor& index, const Tensor& source);

// Joins tensors of equal shape except along axis.
Tensor concat(const std::vector<Tensor>& tensors, int64_t axis = 0);
// Joins tensors of equal shape along a new axis.
Tensor stack(const std::vector<Tensor>& tensors, int64_t axis = 0);

}  // namespace nabla::kernels
