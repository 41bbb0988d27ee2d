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

// ---- issue 13: shape and indexing

// The elements of x where mask is true, as a 1-d tensor in row-major order; x and mask broadcast
// together (as torch.masked_select). The mask is bool (or uint8, non-zero meaning true).
Tensor masked_select(const Tensor& x, const Tensor& mask);
// Advanced indexing x[indices[0], indices[1], ...]: the int64 index tensors broadcast together to
// a shape B and pick along x's leading axes; the result has shape B + x's remaining axes.
// Negative indices count from the end (as in PyTorch's indexing); out-of-range ones are an error.
Tensor index(const Tensor& x, const std::vector<Tensor>& indices);
// x[indices] = values (values broadcast to the shape index() would give), in place; with
// accumulate the values are added instead, repeated positions summing. Without accumulate a
// position named more than once takes the value of the last index naming it (PyTorch leaves
// that case undefined; nabla writes in index order).
const Tensor& index_put_(const Tensor& x, const std::vector<Tensor>& indices, const Tensor& values,
                         bool accumulate = false);
Tensor index_put(const Tensor& x, const std::vector<Tensor>& indices, const Tensor& values, bool accumulate = false);
// The slices of x at `index` (1-d or 0-d int64, negative from the end) along axis set to value.
const Tensor& index_fill_(const Tensor& x, int64_t axis, const Tensor& index, double value);
Tensor index_fill(const Tensor& x, int64_t axis, const Tensor& index, double value);
// torch.take_along_dim: x and indices broadcast on every axis but `axis`, then gather along it.
// Without an axis, both are flattened.
Tensor take_along_dim(const Tensor& x, const Tensor& indices);
Tensor take_along_dim(const Tensor& x, const Tensor& indices, int64_t axis);

}  // namespace nabla::kernels
