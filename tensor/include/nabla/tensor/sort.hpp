#pragma once
// Sorting and selecting along one axis (negative counts from the end; a 0-d tensor is one line of
// one element). Values keep the input's dtype; indices are int64 positions along the axis. As in
// PyTorch, NaN orders above every number (+inf included) and -0.0 equals 0.0. Every sort is stable
// (equal elements keep their order; `stable` is there for PyTorch's signature), and a selection
// among equal elements takes them in that order too, so results never depend on the thread count.
#include "nabla/tensor/reduce.hpp"

namespace nabla::kernels {

ValuesIndices sort(const Tensor& x, int64_t axis = -1, bool descending = false, bool stable = false);
Tensor argsort(const Tensor& x, int64_t axis = -1, bool descending = false, bool stable = false);
// The k largest (largest = false: smallest) along axis, largest first (smallest first); with
// sorted = false, in no particular order.
ValuesIndices topk(const Tensor& x, int64_t k, int64_t axis = -1, bool largest = true, bool sorted = true);
// The k-th smallest along axis, counting from k = 1.
ValuesIndices kthvalue(const Tensor& x, int64_t k, int64_t axis = -1, bool keepdim = false);
// The lower median (the (n-1)/2-th smallest, from 0) of all elements (0-d), or along an axis with
// its index. NaN when the elements hold a NaN (the index is then the first NaN's); the median of
// an empty float tensor is NaN, as PyTorch's.
Tensor median(const Tensor& x);
ValuesIndices median(const Tensor& x, int64_t axis, bool keepdim = false);
// The most frequent value along axis (the smallest of equally frequent ones) and the index of its
// last occurrence.
ValuesIndices mode(const Tensor& x, int64_t axis = -1, bool keepdim = false);

}  // namespace nabla::kernels
