#pragma once
// The ops on Tensors, as free functions (each with a method twin on Tensor where PyTorch has one).
// Differentiable ops record their backward formula beside their forward (autograd/src/ops_*.cpp);
// ops without a gradient (comparisons, argmax, ...) return tensors that require no grad.
#include <initializer_list>
#include <optional>
#include <string_view>
#include <vector>

#include "nabla/autograd/tensor.hpp"

namespace nabla {

// ---- element-wise (broadcasting). Binary ops compute in promote_types(a, b); a scalar operand
// decides the dtype only when its kind is higher (bool < integer < float): see
// nabla/tensor/elementwise.hpp.
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
// sqrt, tanh, erf, sigmoid, relu (gradient 0 at 0), abs (gradient sign(x)), sign (gradient 0),
// sin, cos, tan, asin, acos, atan, sinh, cosh, log1p, expm1, log2, log10, rsqrt, reciprocal,
// square, floor, ceil, round (half to even), trunc (gradient 0), frac (gradient 1).
#define NABLA_POINTWISE_OP(name) Tensor name(const Tensor& x);
#define NABLA_POINTWISE_SELF(name, dtypes, forward, vector_kernel, derivative, domain) NABLA_POINTWISE_OP(name)
#define NABLA_POINTWISE_RESULT(name, dtypes, forward, vector_kernel, derivative, domain) NABLA_POINTWISE_OP(name)
#define NABLA_POINTWISE_NO_GRAD(name, dtypes, forward, domain) NABLA_POINTWISE_OP(name)
#include "nabla/tensor/pointwise.def"
#undef NABLA_POINTWISE_OP
Tensor clamp(const Tensor& x, double low, double high);  // gradient 1 inside [low, high]
Tensor clamp_min(const Tensor& x, double low);
Tensor clamp_max(const Tensor& x, double high);
// a where mask is true, else b (all three broadcast); the mask is not differentiated. Masks are
// bool (or uint8, non-zero meaning true, which PyTorch still accepts).
Tensor where(const Tensor& mask, const Tensor& a, const Tensor& b);
Tensor where(const Tensor& mask, const Tensor& a, double b);
Tensor where(const Tensor& mask, double a, const Tensor& b);
// x with `value` where mask is true (mask broadcasts to x's shape).
Tensor masked_fill(const Tensor& x, const Tensor& mask, double value);
// ---- issue 13: math
// atan2(self, other): the angle of the point (other, self), in [-pi, pi].
Tensor atan2(const Tensor& self, const Tensor& other);
// Remainders of self / other: fmod's has self's sign (C's fmod), remainder's other's (Python's %).
// Integer tensors stay integer (dividing by zero is an error). Gradients as PyTorch's: grad for
// self, -grad * trunc(self / other) (fmod) or -grad * floor(self / other) (remainder) for other.
Tensor fmod(const Tensor& self, const Tensor& other);
Tensor fmod(const Tensor& self, double other);
Tensor remainder(const Tensor& self, const Tensor& other);
Tensor remainder(const Tensor& self, double other);
Tensor remainder(double self, const Tensor& other);  // differentiable in other (PyTorch's is not)
// NaN, +inf and -inf replaced by nan, posinf and neginf (by default 0, the dtype's largest and its
// lowest finite value). The gradient passes where x is finite and is 0 elsewhere.
Tensor nan_to_num(const Tensor& x, double nan = 0.0, std::optional<double> posinf = std::nullopt,
                  std::optional<double> neginf = std::nullopt);
// ---- issue 13: leaky_relu as one recorded op (nn::functional::leaky_relu is this function)
// x where x > 0, else x * negative_slope; the gradient at 0 is negative_slope, as PyTorch's.
Tensor leaky_relu(const Tensor& x, double negative_slope = 0.01);

// ---- comparisons and logic: bool masks, no gradient
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
// Logic on truth values: non-zero (NaN included) is true.
Tensor logical_not(const Tensor& x);
Tensor logical_and(const Tensor& a, const Tensor& b);
Tensor logical_or(const Tensor& a, const Tensor& b);
Tensor logical_xor(const Tensor& a, const Tensor& b);
// ---- issue 13: math
// Where x is NaN, +-inf, or neither; integer and bool tensors are always finite.
Tensor isnan(const Tensor& x);
Tensor isinf(const Tensor& x);
Tensor isfinite(const Tensor& x);
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

// ---- issue 13: reductions, scans, sorting
// Product of all elements (0-d), or along one axis; integers multiply in int64. The gradient is
// exact with zeros in the input (one zero or several), as PyTorch's.
Tensor prod(const Tensor& x);
Tensor prod(const Tensor& x, int64_t axis, bool keepdim = false);
// sqrt(var(x, axes, keepdim, correction)); the gradient is 0 where the deviation is 0. Call it as
// x.std() or nabla::std(x): under `using namespace nabla` a bare std(x) is ambiguous.
Tensor std(const Tensor& x, const Dims& axes = {}, bool keepdim = false, int64_t correction = 1);
// Vector p-norm over axes (empty: every axis) for any real p, inf (max |x|), -inf (min |x|) and 0
// (count of non-zeros). Gradients as PyTorch's: 0 at a zero norm for p = 2 (the subgradient 0),
// sign(x) for p = 1, ties of the inf-norm share.
Tensor norm(const Tensor& x, double p = 2.0, const Dims& axes = {}, bool keepdim = false);
// p = "fro": the Frobenius norm (the 2-norm over at most two axes); "nuc" is refused.
Tensor norm(const Tensor& x, std::string_view p, const Dims& axes = {}, bool keepdim = false);
// Whether every / any element over axes is non-zero (NaN is non-zero); the comparisons' dtype, no
// gradient.
Tensor all(const Tensor& x, const Dims& axes = {}, bool keepdim = false);
Tensor any(const Tensor& x, const Dims& axes = {}, bool keepdim = false);
// Running sum / product along an axis; integers scan in int64. cumprod's gradient is exact with
// zeros in the input, as PyTorch's.
Tensor cumsum(const Tensor& x, int64_t axis);
Tensor cumprod(const Tensor& x, int64_t axis);
// Sorting and selecting along an axis (NaN above every number; equal values keep their order, so
// every sort is stable). Indices are int64; gradients flow through the values to the selected
// indices.
ValuesIndices sort(const Tensor& x, int64_t axis = -1, bool descending = false, bool stable = false);
Tensor argsort(const Tensor& x, int64_t axis = -1, bool descending = false, bool stable = false);  // no gradient
// The k largest (largest = false: smallest), sorted unless sorted = false.
ValuesIndices topk(const Tensor& x, int64_t k, int64_t axis = -1, bool largest = true, bool sorted = true);
// The k-th smallest along axis, k counted from 1.
ValuesIndices kthvalue(const Tensor& x, int64_t k, int64_t axis = -1, bool keepdim = false);
// The lower median of all elements (0-d; ties share the gradient; NaN for an empty tensor), or
// along an axis; NaN if any element is NaN.
Tensor median(const Tensor& x);
ValuesIndices median(const Tensor& x, int64_t axis, bool keepdim = false);
// The most frequent value along axis (the smallest among equally frequent ones) and the index of
// its last occurrence.
ValuesIndices mode(const Tensor& x, int64_t axis = -1, bool keepdim = false);

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
// The elements of x where mask is true (a bool or uint8 mask; x and mask broadcast), as a 1-d tensor.
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
// relu(conv2d(x, weight, bias)) as one recorded op whose kernel writes each output once, already
// through relu (nn::Sequential runs a Conv2d followed by a ReLU this way). Same values and
// gradients as the two ops, second derivatives included.
Tensor conv2d_relu(const Tensor& x, const Tensor& weight, const Tensor& bias = {}, const Conv2dParams& params = {});
// max_pool2d(relu(conv2d(x, weight, bias)), 2x2 window, stride 2) as one recorded op (Sequential
// runs Conv2d, ReLU, MaxPool2d(2) this way): values and each winner's index, as max_pool2d's.
// Where Winograd applies the convolution's output is pooled as it is computed and never stored.
ValuesIndices conv2d_relu_max_pool2d(const Tensor& x, const Tensor& weight, const Tensor& bias = {},
                                     const Conv2dParams& params = {});
// Max pooling: values [N, C, OH, OW] and int64 indices of each winner within its H*W input plane.
ValuesIndices max_pool2d(const Tensor& x, const Window2d& window);
// divisor_override, when set, replaces the window's element count as the divisor.
Tensor avg_pool2d(const Tensor& x, const Window2d& window, bool count_include_pad = true,
                  std::optional<int64_t> divisor_override = std::nullopt);
// Per-row cross-entropy of logits [N, C] against int64 classes [N], with label smoothing eps:
// loss = logsumexp(x) - (1 - eps) * x[target] - eps * mean(x), per row ([N]) or reduced to their
// mean or sum. Gradient: softmax(x) - q, where q is the smoothed one-hot target; a target outside
// [0, C) is an error naming the row. Class weights [C] and ignore_index as PyTorch's (the mean
// divides by the summed weights of the rows not ignored; nabla/tensor/loss.hpp has the formula);
// the weights are constants here (nn::functional::cross_entropy differentiates them when asked).
Tensor cross_entropy_rows(const Tensor& logits, const Tensor& target, double label_smoothing = 0.0,
                          Reduction reduction = Reduction::none, const Tensor& weight = {}, int64_t ignore_index = -100);

// ---- issue 13: einsum
// Einstein summation, as torch.einsum: "ij,jk->ik", "bij,bjk->bik", "ii->i" (a diagonal), "ii"
// (a trace), "...ij,...jk" (broadcast batch axes); without "->" the output is the labels used once,
// in alphabetical order (upper case first), after the ellipsis axes. Size-1 axes broadcast. Built
// of permute, reshape, diagonal views, sum, mul and matmul, so it is differentiable to any order.
Tensor einsum(std::string_view equation, const std::vector<Tensor>& operands);

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
