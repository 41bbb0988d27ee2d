#pragma once
// Element-wise ops with NumPy broadcasting. Binary ops compute in promote_types(a, b), as PyTorch
// promotes. A scalar operand (a double) counts as an integer when it is integral, else as a float,
// and only decides the dtype when its kind is higher than the tensor's (bool < integer < float): an
// int32 tensor times 3 stays int32, a bool tensor plus 1 is int64, an integer tensor times 0.5 is
// float32. (Where PyTorch would wrap an integral scalar to fit a uint8/int32 tensor, nabla widens
// to int64.) Integer arithmetic wraps around on overflow; on bool, add is or and mul is and; sub
// and neg refuse bool (use logical_not / logical_xor), as PyTorch does.
#include <optional>

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

// Comparisons return bool masks.
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
// Elements of a where mask is true, else of b; all three broadcast together. The mask is bool (or
// uint8, non-zero meaning true, which PyTorch still accepts).
Tensor where(const Tensor& mask, const Tensor& a, const Tensor& b);
// Throws, naming `op`, unless mask is a bool (or uint8) tensor: the masks where and masked_fill read.
void check_mask(const Tensor& mask, const char* op);

// ---- issue 13: math
// Logic on truth values (non-zero, NaN included, is true), as bool.
Tensor logical_not(const Tensor& x);
Tensor logical_and(const Tensor& a, const Tensor& b);
Tensor logical_or(const Tensor& a, const Tensor& b);
Tensor logical_xor(const Tensor& a, const Tensor& b);
// bool masks; integer and bool tensors are never NaN or infinite.
Tensor isnan(const Tensor& x);
Tensor isinf(const Tensor& x);
Tensor isfinite(const Tensor& x);
// NaN, +inf and -inf replaced by `nan`, `posinf` and `neginf` (by default 0, the dtype's largest
// and its lowest finite value); an integer or bool tensor is copied unchanged.
Tensor nan_to_num(const Tensor& x, double nan = 0.0, std::optional<double> posinf = std::nullopt,
                  std::optional<double> neginf = std::nullopt);
// atan2(self, other) is the angle of the point (other, self), in [-pi, pi]; integers compute in float32.
Tensor atan2(const Tensor& self, const Tensor& other);
// Remainders of self / other: fmod's has self's sign (C's fmod, division truncated toward zero),
// remainder's has other's (Python's %, division rounded toward -inf). Integer tensors stay
// integer, and dividing them by zero is an error; floats give NaN.
Tensor fmod(const Tensor& self, const Tensor& other);
Tensor fmod(const Tensor& self, double other);
Tensor remainder(const Tensor& self, const Tensor& other);
Tensor remainder(const Tensor& self, double other);
Tensor remainder(double self, const Tensor& other);

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
