#pragma once
// Element-wise ops with NumPy broadcasting. Binary ops compute in promote_types(a, b); a scalar
// operand takes the tensor's dtype (an integer tensor meeting a fractional scalar becomes float32).
#include "nabla/tensor/tensor.hpp"

namespace nabla {

// The shape two shapes broadcast to; throws naming `op` and both shapes if they cannot.
Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op = "broadcast");

}  // namespace nabla::kernels

namespace nabla::kernels {

Tensor add(const Tensor& a, const Tensor& b);
Tensor sub(const Tensor& a, const Tensor& b);
Tensor mul(const Tensor& a, const Tensor& b);
Tensor div(const Tensor& a, const Tensor& b);
Tensor pow(const Tensor& base, const Tensor& exponent);
Tensor maximum(const Tensor& a, const Tensor& b);
Tensor minimum(const Tensor& a, const Tensor& b);
Tensor add(const Tensor& a, double b);
Tensor sub(const Tensor& a, double b);
Tensor sub(double a, const Tensor& b);
Tensor mul(const Tensor& a, double b);
Tensor div(const Tensor& a, double b);
Tensor div(double a, const Tensor& b);
Tensor pow(const Tensor& base, double exponent);
Tensor maximum(const Tensor& a, double b);
Tensor minimum(const Tensor& a, double b);

Tensor neg(const Tensor& x);
// The point-wise math ops of nabla/tensor/pointwise.def: exp, log, sqrt, tanh, erf, sigmoid,
// relu, abs, sign (-1, 0 or 1), ...
#define NABLA_POINTWISE_KERNEL(name) Tensor name(const Tensor& x);
#define NABLA_POINTWISE_SELF(name, dtypes, forward, vector_kernel, derivative, domain) NABLA_POINTWISE_KERNEL(name)
#define NABLA_POINTWISE_RESULT(name, dtypes, forward, vector_kernel, derivative, domain) NABLA_POINTWISE_KERNEL(name)
#define NABLA_POINTWISE_NO_GRAD(name, dtypes, forward, domain) NABLA_POINTWISE_KERNEL(name)
#include "nabla/tensor/pointwise.def"
#undef NABLA_POINTWISE_KERNEL
// ReLU's gradient in one pass: grad_output where output > 0, else 0 (shapes must match).
Tensor relu_backward(const Tensor& grad_output, const Tensor& output);
// grad_output * y * (1 - y), for y = sigmoid(x): sigmoid's backward in one pass.
Tensor sigmoid_backward(const Tensor& grad_output, const Tensor& output);
Tensor clamp(const Tensor& x, double low, double high);

// Comparisons return uint8 masks (1 where true).
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
// Elements of a where mask is non-zero, else of b; all three broadcast together.
Tensor where(const Tensor& mask, const Tensor& a, const Tensor& b);

// True when every element of a and b (broadcast) satisfies |a - b| <= atol + rtol * |b|.
bool allclose(const Tensor& a, const Tensor& b, double rtol = 1e-5, double atol = 1e-8);
// True when shapes are equal and every element is equal.
bool equal(const Tensor& a, const Tensor& b);

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

}  // namespace nabla
