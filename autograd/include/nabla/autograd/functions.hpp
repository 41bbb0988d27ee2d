#pragma once
// Differentiable ops on Variables. Each has the same meaning as its tensor twin in nabla/tensor;
// its backward formula sits beside its forward in autograd/src/ops_*.cpp. Tensors convert to
// constant Variables implicitly, so a Variable op accepts either.
#include <vector>

#include "nabla/autograd/variable.hpp"

namespace nabla {

// ---- element-wise (broadcasting)
Variable add(const Variable& a, const Variable& b);
Variable sub(const Variable& a, const Variable& b);
Variable mul(const Variable& a, const Variable& b);
Variable div(const Variable& a, const Variable& b);
Variable pow(const Variable& base, const Variable& exponent);
Variable maximum(const Variable& a, const Variable& b);  // ties split the gradient evenly
Variable minimum(const Variable& a, const Variable& b);
Variable maximum(const Variable& a, double b);
Variable minimum(const Variable& a, double b);
Variable add(const Variable& a, double b);
Variable sub(const Variable& a, double b);
Variable sub(double a, const Variable& b);
Variable mul(const Variable& a, double b);
Variable div(const Variable& a, double b);
Variable div(double a, const Variable& b);
Variable pow(const Variable& base, double exponent);
Variable neg(const Variable& x);
Variable exp(const Variable& x);
Variable log(const Variable& x);
Variable sqrt(const Variable& x);
Variable abs(const Variable& x);   // gradient sign(x) (0 at 0)
Variable sign(const Variable& x);  // gradient 0
Variable tanh(const Variable& x);
Variable erf(const Variable& x);
Variable sigmoid(const Variable& x);
Variable relu(const Variable& x);  // gradient 0 at 0
// grad_output where output > 0, else 0: relu's gradient as one op (linear in grad_output).
Variable relu_backward(const Variable& grad_output, const Tensor& output);
// g * y * (1 - y): sigmoid's backward from its output y, differentiable in both.
Variable sigmoid_backward(const Variable& grad_output, const Variable& output);
Variable clamp(const Variable& x, double low, double high);  // gradient 1 inside [low, high]
// a where mask is non-zero, else b; the mask is not differentiated.
Variable where(const Tensor& mask, const Variable& a, const Variable& b);

// ---- reductions
Variable sum(const Variable& x, const Dims& axes = {}, bool keepdim = false);
Variable mean(const Variable& x, const Dims& axes = {}, bool keepdim = false);
Variable var(const Variable& x, const Dims& axes = {}, bool keepdim = false, int64_t correction = 1);
Variable logsumexp(const Variable& x, const Dims& axes = {}, bool keepdim = false);
Variable amax(const Variable& x, const Dims& axes = {}, bool keepdim = false);  // ties share the gradient
Variable amin(const Variable& x, const Dims& axes = {}, bool keepdim = false);
struct VariableIndices {
  Variable values;
  Tensor indices;
};
// Max/min along an axis; the gradient goes to the (first) index that won.
VariableIndices max(const Variable& x, int64_t axis, bool keepdim = false);
VariableIndices min(const Variable& x, int64_t axis, bool keepdim = false);
Variable sum_to(const Variable& x, const Shape& shape);
Variable softmax(const Variable& x, int64_t axis);
Variable log_softmax(const Variable& x, int64_t axis);

// ---- shape and views
Variable reshape(const Variable& x, const Shape& shape);
Variable view(const Variable& x, const Shape& shape);
Variable flatten(const Variable& x, int64_t start_axis = 0, int64_t end_axis = -1);
Variable transpose(const Variable& x, int64_t axis0, int64_t axis1);
Variable permute(const Variable& x, const Dims& order);
Variable squeeze(const Variable& x);
Variable squeeze(const Variable& x, int64_t axis);
Variable unsqueeze(const Variable& x, int64_t axis);
Variable slice(const Variable& x, int64_t axis, int64_t start, int64_t end, int64_t step = 1);
Variable narrow(const Variable& x, int64_t axis, int64_t start, int64_t length);
Variable select(const Variable& x, int64_t axis, int64_t index);
Variable expand(const Variable& x, const Shape& shape);
Variable to(const Variable& x, DType dtype);
Variable clone(const Variable& x);
// The adjoint of slice: zeros of `shape` with `x` placed at the slice.
Variable slice_backward(const Variable& x, const Shape& shape, int64_t axis, int64_t start, int64_t end,
                        int64_t step);
Variable concat(const std::vector<Variable>& xs, int64_t axis = 0);
Variable stack(const std::vector<Variable>& xs, int64_t axis = 0);
Variable index_select(const Variable& x, int64_t axis, const Tensor& index);
Variable index_add(const Variable& base, int64_t axis, const Tensor& index, const Variable& source);
Variable gather(const Variable& x, int64_t axis, const Tensor& index);
Variable scatter_add(const Variable& base, int64_t axis, const Tensor& index, const Variable& source);

// ---- linear algebra and convolution kernels
Variable matmul(const Variable& a, const Variable& b);
Variable im2col(const Variable& x, const Window2d& window);
Variable col2im(const Variable& columns, const Shape& image_shape, const Window2d& window);
VariableIndices max_pool2d(const Variable& x, const Window2d& window);
// max_pool2d's adjoint: grad_output added at the winners (`indices`) in a zero input-shaped image.
Variable max_pool2d_backward(const Variable& grad_output, const Tensor& indices, const Shape& input_shape);
Variable avg_pool2d(const Variable& x, const Window2d& window, bool count_include_pad = true);
Variable avg_pool2d_backward(const Variable& grad_output, const Shape& input_shape, const Window2d& window,
                             bool count_include_pad = true);

// ---- fused primitives behind nn's layers (one node each instead of a chain of small ones)
// x [..., in] @ weight[out, in]^T + bias [out] (bias optional).
Variable linear(const Variable& x, const Variable& weight, const Variable& bias = {});
// 2-d convolution and its two adjoints. The three are linear in each argument and each one's
// gradient is written with the other two, so convolutions have second derivatives too.
Variable conv2d(const Variable& x, const Variable& weight, const Variable& bias = {}, const Conv2dParams& params = {});
Variable conv2d_backward_input(const Variable& grad_output, const Variable& weight, const Shape& input_shape,
                               const Conv2dParams& params);
Variable conv2d_backward_weight(const Variable& x, const Variable& grad_output, const Shape& weight_shape,
                                const Conv2dParams& params);
// Per-row cross-entropy of logits [N, C] against int64 classes [N], with label smoothing eps:
// loss = logsumexp(x) - (1 - eps) * x[target] - eps * mean(x), per row ([N]) or reduced to their
// mean or sum. Gradient: softmax(x) - q, where q is the smoothed one-hot target; a target outside
// [0, C) is an error naming the row.
Variable cross_entropy_rows(const Variable& logits, const Tensor& target, double label_smoothing = 0.0,
                            Reduction reduction = Reduction::none);
// Its gradient, (softmax(x) - q) * g[:, None] with g = grad per row (or the reduced loss's grad,
// shared out), as an op of its own (one fused pass) whose derivatives in logits and grad give
// cross-entropy second derivatives.
Variable cross_entropy_rows_backward(const Variable& logits, const Tensor& target, const Variable& grad,
                                     double label_smoothing = 0.0, Reduction reduction = Reduction::none);

// ---- operators
inline Variable operator+(const Variable& a, const Variable& b) { return add(a, b); }
inline Variable operator-(const Variable& a, const Variable& b) { return sub(a, b); }
inline Variable operator*(const Variable& a, const Variable& b) { return mul(a, b); }
inline Variable operator/(const Variable& a, const Variable& b) { return div(a, b); }
inline Variable operator+(const Variable& a, double b) { return add(a, b); }
inline Variable operator-(const Variable& a, double b) { return sub(a, b); }
inline Variable operator*(const Variable& a, double b) { return mul(a, b); }
inline Variable operator/(const Variable& a, double b) { return div(a, b); }
inline Variable operator+(double a, const Variable& b) { return add(b, a); }
inline Variable operator-(double a, const Variable& b) { return sub(a, b); }
inline Variable operator*(double a, const Variable& b) { return mul(b, a); }
inline Variable operator/(double a, const Variable& b) { return div(a, b); }
inline Variable operator-(const Variable& x) { return neg(x); }

}  // namespace nabla
