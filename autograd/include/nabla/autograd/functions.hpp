#pragma once
// The ops on Tensors, as free functions (each with a method twin on Tensor where PyTorch has one).
// Differentiable ops record their backward formula beside their forward (autograd/src/ops_*.cpp);
// ops without a gradient (comparisons, argmax, ...) return tensors that require no grad.
#include <initializer_list>
#include <optional>
#include <vector>

#include "nabla/autograd/tensor.hpp"

namespace nabla {

// ---- element-wise (broadcasting). Binary ops compute in promote_types(a, b); a scalar operand
// takes the tensor's dtype.
Tensor add(const Tensor& a, const Tensor& b);
Tensor sub(const Tensor& a, const Tensor& b);
Tensor mul(const Tensor& a, const Tensor& b);
Tensor div(const Tensor& a, const Tensor& b);
Tensor pow(const Tensor& base, const Tensor& exponent);  // d/d(exponent) is 0 where base == 0
Tensor maximum(const Tensor& a, const Tensor& b);  // ties split the gradient evenly
Tensor minimum(const Tensor& a, const Tensor& b);
Tensor maximum(const Tensor& a, double b);
Tensor minimum(const Tensor& a, double b);
Tensor add(const Tensor& a, double b);
Tensor sub(const Tensor& a, double b);
Tensor sub(double a, const Tensor& b);
Tensor mul(const Tensor& a, double b);
Tensor div(const Tensor& a, double b);
Tensor div(double a, const Tensor& b);
Tensor pow(const Tensor& base, double exponent);
Tensor neg(const Tensor& x);
// The point-wise math ops of nabla/tensor/pointwise.def, each with its derivative there: exp, log,
// sqrt, tanh, erf, sigmoid, relu (gradient 0 at 0), abs (gradient sign(x)), sign (gradient 0), ...
#define NABLA_POINTWISE_OP(name) Tensor name(const Tensor& x);
#define NABLA_POINTWISE_SELF(name, dtypes, forward, vector_kernel, derivative, domain) NABLA_POINTWISE_OP(name)
#define NABLA_POINTWISE_RESULT(name, dtypes, forward, vector_kernel, derivative, domain) NABLA_POINTWISE_OP(name)
#define NABLA_POINTWISE_NO_GRAD(name, dtypes, forward, domain) NABLA_POINTWISE_OP(name)
#include "nabla/tensor/pointwise.def"
#undef NABLA_POINTWISE_OP
Tensor clamp(const Tensor& x, double low, double high);  // gradient 1 inside [low, high]
Tensor clamp_min(const Tensor& x, double low);
Tensor clamp_max(const Tensor& x, double high);
// a where mask is non-zero, else b (all three broadcast); the mask is not differentiated.
Tensor where(const Tensor& mask, const Tensor& a, const Tensor& b);
Tensor where(const Tensor& mask, const Tensor& a, double b);
Tensor where(const Tensor& mask, double a, const Tensor& b);
// x with `value` where mask is non-zero (mask broadcasts to x's shape).
Tensor masked_fill(const Tensor& x, const Tensor& mask, double value);

// ---- comparisons and logic: uint8 masks (1 where true), no gradient
Tensor eq(const Tensor& a, const Tensor& b);
Tensor ne(const Tensor& a, const Tensor& b);
Tensor lt(const Tensor& a, const Tensor& b);
Tensor le(const Tensor& a, const Tensor& b);
Tensor gt(const Tensor& a, const Tensor& b);
Tensor ge(const Tensor& a, const Tensor& b);
Tensor eq(const Tensor& a, double b);
Tensor ne(const Tensor& a, double b);
Tensor lt(const Tensor& a, double b);
Tensor le(const Tensor& a, double b);
Tensor gt(const Tensor& a, double b);
Tensor ge(const Tensor& a, double b);
// Logic on truth values: non-zero is true.
Tensor logical_not(const Tensor& x);
Tensor logical_and(const Tensor& a, const Tensor& b);
Tensor logical_or(const Tensor& a, const Tensor& b);
Tensor logical_xor(const Tensor& a, const Tensor& b);
// True when every element of a and b (broadcast) satisfies |a - b| <= atol + rtol * |b|.
bool allclose(const Tensor& a, const Tensor& b, double rtol = 1e-5, double atol = 1e-8);
// True when shapes are equal and every element is equal.
bool equal(const Tensor& a, const Tensor& b);

// ---- reductions (axes: any set, negative from the end; empty = all; keepdim keeps them as 1)
Tensor sum(const Tensor& x, const Dims& axes = {}, bool keepdim = false);  // integers sum in int64
Tensor mean(const Tensor& x, const Dims& axes = {}, bool keepdim = false);
// Variance with `correction` subtracted from the count (1: unbiased, 0: population).
Tensor var(const Tensor& x, const Dims& axes = {}, bool keepdim = false, int64_t correction = 1);
Tensor logsumexp(const Tensor& x, const Dims& axes = {}, bool keepdim = false);
Tensor amax(const Tensor& x, const Dims& axes = {}, bool keepdim = false);  // ties share the gradient
Tensor amin(const Tensor& x, const Dims& axes = {}, bool keepdim = false);
// Max/min along an axis; the gradient goes to the (first) index that won.
ValuesIndices max(const Tensor& x, int64_t axis, bool keepdim = false);
ValuesIndices min(const Tensor& x, int64_t axis, bool keepdim = false);
Tensor max(const Tensor& x);  // 0-d: the largest element (ties share the gradient)
Tensor min(const Tensor& x);
// int64 indices of the max/min along an axis (first on ties); no gradient.
Tensor argmax(const Tensor& x, int64_t axis, bool keepdim = false);
Tensor argmin(const Tensor& x, int64_t axis, bool keepdim = false);
Tensor argmax(const Tensor& x);  // 0-d int64: flat index of the first largest element
Tensor argmin(const Tensor& x);
// Sums x over the axes it was broadcast along, so the result has `shape`.
Tensor sum_to(const Tensor& x, const Shape& shape);
Tensor softmax(const Tensor& x, int64_t axis);
Tensor log_softmax(const Tensor& x, int64_t axis);

// ---- shape and views (views share storage with their input)
Tensor reshape(const Tensor& x, const Shape& shape);
Tensor view(const Tensor& x, const Shape& shape);
Tensor flatten(const Tensor& x, int64_t start_axis = 0, int64_t end_axis = -1);
Tensor transpose(const Tensor& x, int64_t axis0, int64_t axis1);
Tensor permute(const Tensor& x, const Dims& order);
Tensor squeeze(const Tensor& x);
Tensor squeeze(const Tensor& x, int64_t axis);
Tensor unsqueeze(const Tensor& x, int64_t axis);
// Elements start, start+step, ... < end along axis; start/end clamp like Python slices. The step
// must be positive, as in PyTorch (reverse an axis with flip).
Tensor slice(const Tensor& x, int64_t axis, int64_t start, int64_t end, int64_t step = 1);
Tensor narrow(const Tensor& x, int64_t axis, int64_t start, int64_t length);
Tensor select(const Tensor& x, int64_t axis, int64_t index);  // removes `axis`
Tensor expand(const Tensor& x, const Shape& shape);  // -1 keeps an axis; size-1 axes broadcast
Tensor broadcast_to(const Tensor& x, const Shape& shape);
Tensor contiguous(const Tensor& x);
Tensor to(const Tensor& x, DType dtype);
Tensor clone(const Tensor& x);
// Joins tensors of equal shape except along axis (cat is PyTorch's name for it).
Tensor concat(const std::vector<Tensor>& tensors, int64_t axis = 0);
Tensor cat(const std::vector<Tensor>& tensors, int64_t axis = 0);
// Joins tensors of equal shape along a new axis.
Tensor stack(const std::vector<Tensor>& tensors, int64_t axis = 0);
// Slices of x along axis at the positions in a 1-d int64 index (repeats allowed).
Tensor index_select(const Tensor& x, int64_t axis, const Tensor& index);
// A copy of base with source's slices added at index positions along axis (repeats accumulate).
Tensor index_add(const Tensor& base, int64_t axis, const Tensor& index, const Tensor& source);
// out[i][j][k] = x[i][index[i][j][k]][k] for axis 1 (like torch.gather).
Tensor gather(const Tensor& x, int64_t axis, const Tensor& index);
// A copy of base with source added at the gathered positions (the adjoint of gather).
Tensor scatter_add(const Tensor& base, int64_t axis, const Tensor& index, const Tensor& source);

// ---- issue 13: shape and indexing
// Pieces of split_size along axis (the last one smaller when the extent is not a multiple); views.
std::vector<Tensor> split(const Tensor& x, int64_t split_size, int64_t axis = 0);
// Pieces of the given sizes (adding up to the extent of axis); views. A brace list is a list of
// sizes: split(x, {5}) is one piece of 5, as Python's x.split([5]); split(x, 5) pieces of 5.
std::vector<Tensor> split(const Tensor& x, std::initializer_list<int64_t> split_sizes, int64_t axis = 0);
std::vector<Tensor> split(const Tensor& x, const std::vector<int64_t>& split_sizes, int64_t axis = 0);
std::vector<Tensor> split_with_sizes(const Tensor& x, const std::vector<int64_t>& split_sizes, int64_t axis = 0);
// At most `chunks` views of ceil(extent / chunks) along axis (fewer when they run out, as PyTorch's).
std::vector<Tensor> chunk(const Tensor& x, int64_t chunks, int64_t axis = 0);
// The slices along axis, each a view without that axis.
std::vector<Tensor> unbind(const Tensor& x, int64_t axis = 0);
// x with the order of elements reversed along each of `axes` (a copy: slice steps must be positive).
Tensor flip(const Tensor& x, const Dims& axes);
// Elements shifted by shifts[i] along axes[i], wrapping around; without axes x is rolled as a flat
// list by the one shift and keeps its shape.
Tensor roll(const Tensor& x, const Dims& shifts, const Dims& axes = {});
Tensor roll(const Tensor& x, int64_t shift, int64_t axis);
// x tiled repeats[i] times along axis i (at least one count per axis; extra leading counts add axes).
Tensor repeat(const Tensor& x, const Dims& repeats);
// repeat, missing leading counts taken as 1 (torch.tile).
Tensor tile(const Tensor& x, const Dims& reps);
// The lower/upper triangle of the last two axes (column - row <= / >= diagonal), the rest 0.
Tensor tril(const Tensor& x, int64_t diagonal = 0);
Tensor triu(const Tensor& x, int64_t diagonal = 0);
// 1-d x: the square matrix with x on that diagonal; 2-d x: a copy of that diagonal.
Tensor diag(const Tensor& x, int64_t diagonal = 0);
// torch.nn.functional.pad: (before, after) counts for the last axis first, then the one before, ...
// Modes constant (value; negative counts crop), reflect, replicate, circular: see nabla/tensor/pad.hpp.
Tensor pad(const Tensor& x, const std::vector<int64_t>& pad, PadMode mode = PadMode::constant, double value = 0.0);
// The elements of x where mask is non-zero (any mask dtype; x and mask broadcast), as a 1-d tensor.
Tensor masked_select(const Tensor& x, const Tensor& mask);
// x[indices[0], indices[1], ...]: int64 index tensors (broadcast together, negative from the end)
// picking along x's leading axes; the result is their broadcast shape + x's remaining axes.
Tensor index(const Tensor& x, const std::vector<Tensor>& indices);
// A copy of x with x[indices] = values (values broadcast; dtypes must match), or += with
// accumulate. Without accumulate a position named twice takes the last value named for it
// (PyTorch leaves that undefined), and only that value gets a gradient.
Tensor index_put(const Tensor& x, const std::vector<Tensor>& indices, const Tensor& values, bool accumulate = false);
// A copy of x with the slices at `index` (1-d or 0-d int64, negative from the end) along axis set to value.
Tensor index_fill(const Tensor& x, int64_t axis, const Tensor& index, double value);
// torch.take_along_dim: gather along axis after broadcasting x and indices on the other axes;
// without an axis, of the flattened x at the flattened indices. Indices must lie in [0, size).
Tensor take_along_dim(const Tensor& x, const Tensor& indices);
Tensor take_along_dim(const Tensor& x, const Tensor& indices, int64_t axis);

// ---- linear algebra, convolution and pooling
// NumPy matmul: 1-d operands become a row/column; batch axes broadcast.
Tensor matmul(const Tensor& a, const Tensor& b);
Tensor mm(const Tensor& a, const Tensor& b);  // 2-d only
// x [..., in] @ weight[out, in]^T + bias [out] (bias optional), as one recorded op.
Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias = {});
// 2-d convolution (cross-correlation): x [N, C, H, W], weight [O, C/groups, kh, kw], bias [O].
// Its gradients are its two adjoints, differentiable in turn, so convolutions have second
// derivatives too.
Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias = {}, const Conv2dParams& params = {});
// Max pooling: values [N, C, OH, OW] and int64 indices of each winner within its H*W input plane.
ValuesIndices max_pool2d(const Tensor& x, const Window2d& window);
// divisor_override, when set, replaces the window's element count as the divisor.
Tensor avg_pool2d(const Tensor& x, const Window2d& window, bool count_include_pad = true,
                  std::optional<int64_t> divisor_override = std::nullopt);
// Per-row cross-entropy of logits [N, C] against int64 classes [N], with label smoothing eps:
// loss = logsumexp(x) - (1 - eps) * x[target] - eps * mean(x), per row ([N]) or reduced to their
// mean or sum. Gradient: softmax(x) - q, where q is the smoothed one-hot target; a target outside
// [0, C) is an error naming the row.
Tensor cross_entropy_rows(const Tensor& logits, const Tensor& target, double label_smoothing = 0.0,
                          Reduction reduction = Reduction::none);

// ---- issue 13: convolution, pooling and resampling
// PyTorch's conv_transpose2d: x [N, C_in, H, W], weight [C_in, C_out/groups, kh, kw], bias [C_out]
// -> [N, C_out, (H-1)*stride - 2*padding + dilation*(kh-1) + output_padding + 1, ...]. It is
// conv2d's input adjoint, so its gradients are conv2d (for x) and conv2d's weight adjoint.
Tensor conv_transpose2d(const Tensor& x, const Tensor& weight, const Tensor& bias = {}, const Conv2dParams& params = {},
                        Size2d output_padding = 0);
// Max over PyTorch's adaptive regions (output row i covers input rows [floor(i*H/OH),
// ceil((i+1)*H/OH))): values [N, C, OH, OW] and int64 indices within each H*W plane. The gradient
// goes to the first maximum of each region (a NaN wins).
ValuesIndices adaptive_max_pool2d(const Tensor& x, Size2d output_size);
// Resamples x [N, C, H, W] to output_size by nearest, nearest-exact or (bi)linear interpolation
// with PyTorch's index formulas (nabla/tensor/interpolate.hpp); linear in x.
Tensor upsample2d(const Tensor& x, Size2d output_size, const Upsample2dParams& params);

// ---- operators
inline Tensor operator+(const Tensor& a, const Tensor& b) { return add(a, b); }
inline Tensor operator-(const Tensor& a, const Tensor& b) { return sub(a, b); }
inline Tensor operator*(const Tensor& a, const Tensor& b) { return mul(a, b); }
inline Tensor operator/(const Tensor& a, const Tensor& b) { return div(a, b); }
inline Tensor operator+(const Tensor& a, double b) { return add(a, b); }
inline Tensor operator-(const Tensor& a, double b) { return sub(a, b); }
inline Tensor operator*(const Tensor& a, double b) { return mul(a, b); }
inline Tensor operator/(const Tensor& a, double b) { return div(a, b); }
inline Tensor operator+(double a, const Tensor& b) { return add(b, a); }
inline Tensor operator-(double a, const Tensor& b) { return sub(a, b); }
inline Tensor operator*(double a, const Tensor& b) { return mul(b, a); }
inline Tensor operator/(double a, const Tensor& b) { return div(a, b); }
inline Tensor operator-(const Tensor& x) { return neg(x); }
inline const Tensor& operator+=(const Tensor& a, const Tensor& b) { return a.add_(b); }
inline const Tensor& operator-=(const Tensor& a, const Tensor& b) { return a.sub_(b); }
inline const Tensor& operator*=(const Tensor& a, const Tensor& b) { return a.mul_(b); }
inline const Tensor& operator/=(const Tensor& a, const Tensor& b) { return a.div_(b); }
inline const Tensor& operator+=(const Tensor& a, double b) { return a.add_(b); }
inline const Tensor& operator-=(const Tensor& a, double b) { return a.sub_(b); }
inline const Tensor& operator*=(const Tensor& a, double b) { return a.mul_(b); }
inline const Tensor& operator/=(const Tensor& a, double b) { return a.div_(b); }

}  // namespace nabla
