#pragma once
// Reductions over any set of axes (negative axes count from the end; an empty set means every
// axis). keepdim keeps reduced axes with size 1 so the result broadcasts against the input.
#include <string_view>

#include "nabla/tensor/tensor.hpp"

namespace nabla::kernels {

Tensor sum(const Tensor& x, const Dims& axes = {}, bool keepdim = false);
Tensor mean(const Tensor& x, const Dims& axes = {}, bool keepdim = false);
// Variance with `correction` subtracted from the count (1: unbiased, 0: population).
Tensor var(const Tensor& x, const Dims& axes = {}, bool keepdim = false, int64_t correction = 1);
// log(sum(exp(x))) computed stably (shifted by the max).
Tensor logsumexp(const Tensor& x, const Dims& axes = {}, bool keepdim = false);
Tensor amax(const Tensor& x, const Dims& axes = {}, bool keepdim = false);
Tensor amin(const Tensor& x, const Dims& axes = {}, bool keepdim = false);

// Values and int64 indices of the max/min along one axis. Ties resolve to the first index.
struct ValuesIndices {
  Tensor values;
  Tensor indices;
};
ValuesIndices max(const Tensor& x, int64_t axis, bool keepdim = false);
ValuesIndices min(const Tensor& x, int64_t axis, bool keepdim = false);
Tensor max(const Tensor& x);  // 0-d: the largest element
Tensor min(const Tensor& x);
Tensor argmax(const Tensor& x, int64_t axis, bool keepdim = false);
Tensor argmin(const Tensor& x, int64_t axis, bool keepdim = false);
Tensor argmax(const Tensor& x);  // 0-d int64: flat index of the first largest element

// Sums x over the axes it was broadcast along, so the result has `shape` (which x's shape must
// broadcast from). This is how gradients of broadcast operands are reduced.
Tensor sum_to(const Tensor& x, const Shape& shape);

// ---- issue 13: reductions, scans, sorting (scans in scan.hpp, sorting in sort.hpp)
// Product of all elements (0-d), or along one axis. Integers multiply in int64 (wrapping) and
// return int64, as sum does; an empty product is 1.
Tensor prod(const Tensor& x);
Tensor prod(const Tensor& x, int64_t axis, bool keepdim = false);
// Standard deviation, sqrt(var(x, axes, keepdim, correction)). Float tensors only.
Tensor std(const Tensor& x, const Dims& axes = {}, bool keepdim = false, int64_t correction = 1);
// Vector p-norm over axes (empty: every axis), (sum |x|^p)^(1/p) for any real p; p = inf is
// max |x|, -inf min |x|, 0 the count of non-zeros. Float tensors only; NaN propagates.
Tensor norm(const Tensor& x, double p = 2.0, const Dims& axes = {}, bool keepdim = false);
// p = "fro": the Frobenius norm, the 2-norm of the elements over at most two axes ("nuc" is refused).
Tensor norm(const Tensor& x, std::string_view p, const Dims& axes = {}, bool keepdim = false);
// Whether every / any element over axes is non-zero (NaN counts as non-zero; an empty all is true,
// an empty any false). The result has the dtype comparisons return (uint8 input keeps uint8, as in
// PyTorch).
Tensor all(const Tensor& x, const Dims& axes = {}, bool keepdim = false);
Tensor any(const Tensor& x, const Dims& axes = {}, bool keepdim = false);

}  // namespace nabla::kernels
