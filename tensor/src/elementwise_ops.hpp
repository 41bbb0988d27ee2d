#pragma once
// Private: what element-wise kernels are written with (elementwise.cpp, math.cpp): operand
// checks, the dtype rules (PyTorch's type promotion, and how a scalar operand joins a tensor),
// and runners that apply a per-element function over any layout with broadcasting.
#include <cmath>
#include <limits>
#include <type_traits>

#include "loops.hpp"
#include "nabla/tensor/elementwise.hpp"
#include "nabla/tensor/factories.hpp"

namespace nabla::kernels::detail {

inline void check_defined(const Tensor& x, const char* op) {
  if (!x.defined()) fail("{}: an operand is undefined (default-constructed tensor)", op);
}

// The dtype a scalar operand takes next to a tensor of dtype `t`. nabla's scalars are doubles, so
// an integral value (2.0 as much as 2) plays PyTorch's int scalar and a fractional one its float
// scalar; as in PyTorch a scalar only decides the dtype when its kind is higher than the tensor's
// (bool < integer < float): an int32 tensor times 3 stays int32, a bool tensor plus 1 is int64,
// an integer tensor times 0.5 is float32. Where PyTorch would wrap an integral scalar around to
// fit the tensor's type (uint8 + 300 == 44), nabla widens to int64 instead.
inline DType scalar_dtype(DType t, double value) {
  if (is_floating(t)) return t;
  if (!std::isfinite(value) || std::nearbyint(value) != value) return DType::float32;  // PyTorch's float scalar
  const bool fits_uint8 = value >= 0 && value <= 255;
  const bool fits_int32 = value >= std::numeric_limits<int32_t>::min() && value <= std::numeric_limits<int32_t>::max();
  if ((t == DType::uint8 && fits_uint8) || (t == DType::int32 && fits_int32)) return t;
  return DType::int64;
}

inline Tensor scalar_like(const Tensor& x, double value) { return scalar_tensor(value, scalar_dtype(x.dtype(), value)); }

inline DType arithmetic_dtype(const Tensor& a, const Tensor& b, const char* name) {
  check_defined(a, name);
  check_defined(b, name);
  return promote_types(a.dtype(), b.dtype());
}

// Float ops on integer or bool input compute in float32 (as PyTorch does).
inline DType floating_dtype(DType t) { return is_floating(t) ? t : DType::float32; }

// Integer a + b, a - b, a * b wrap around on overflow (two's complement, as PyTorch's integer
// arithmetic does), computed in the unsigned type so that overflow is not undefined behaviour.
// Floats and bool (where + is or and * is and) compute as they are.
template <class T>
constexpr T wrapping_add(T a, T b) {
  if constexpr (std::is_integral_v<T> && std::is_signed_v<T>) {
    using U = std::make_unsigned_t<T>;
    return static_cast<T>(static_cast<U>(a) + static_cast<U>(b));
  } else {
    return static_cast<T>(a + b);
  }
}
template <class T>
constexpr T wrapping_sub(T a, T b) {
  if constexpr (std::is_integral_v<T> && std::is_signed_v<T>) {
    using U = std::make_unsigned_t<T>;
    return static_cast<T>(static_cast<U>(a) - static_cast<U>(b));
  } else {
    return static_cast<T>(a - b);
  }
}
template <class T>
constexpr T wrapping_mul(T a, T b) {
  if constexpr (std::is_integral_v<T> && std::is_signed_v<T>) {
    using U = std::make_unsigned_t<T>;
    return static_cast<T>(static_cast<U>(a) * static_cast<U>(b));
  } else {
    return static_cast<T>(a * b);
  }
}

// A bound (of clamp) as T: for an integer type, first brought into T's range, so that an infinite
// bound (clamp_min's upper one) means "no bound" instead of undefined behaviour.
template <class T>
T bound_as(double value) {
  if constexpr (std::is_floating_point_v<T>) {
    return static_cast<T>(value);
  } else {
    if (value <= static_cast<double>(std::numeric_limits<T>::lowest())) return std::numeric_limits<T>::lowest();
    if (value >= static_cast<double>(std::numeric_limits<T>::max())) return std::numeric_limits<T>::max();
    return static_cast<T>(value);
  }
}

// Runs a binary kernel: out[i] = op(a[i], b[i]) computed in dtype `compute`, stored as `out_dtype`
// (the compute dtype, or bool for comparisons and logic).
template <class Op>
Tensor binary(const Tensor& a_in, const Tensor& b_in, const char* name, DType compute, DType out_dtype, Op op) {
  const Shape shape = broadcast_shapes(a_in.shape(), b_in.shape(), name);
  const Tensor a = a_in.to(compute);
  const Tensor b = b_in.to(compute);
  Tensor out = Tensor::empty(shape, out_dtype);
  if (out.numel() == 0) return out;
  dispatch(compute, [&](auto tag) {
    using T = decltype(tag);
    dispatch(out_dtype, [&](auto out_tag) {
      using To = decltype(out_tag);
      if constexpr (std::is_same_v<To, T> || std::is_same_v<To, bool>) {
        binary_loop<To, T>(out, a, b, [&](T x, T y) { return static_cast<To>(op(x, y)); });
      }
    });
  });
  return out;
}

// out[i] = op(x[i]) computed and stored in dtype `compute`.
template <class Op>
Tensor unary(const Tensor& x_in, const char* name, DType compute, Op op) {
  check_defined(x_in, name);
  const Tensor x = x_in.to(compute);
  Tensor out = Tensor::empty(x.shape(), compute);
  if (out.numel() == 0) return out;
  dispatch(compute, [&](auto tag) {
    using T = decltype(tag);
    unary_loop<T, T>(out, x, [&](T v) { return static_cast<T>(op(v)); });
  });
  return out;
}

// For math that only exists on floats: integer and bool input computes in float32.
template <class Op>
Tensor float_unary(const Tensor& x_in, const char* name, Op op) {
  check_defined(x_in, name);
  const DType compute = floating_dtype(x_in.dtype());
  const Tensor x = x_in.to(compute);
  Tensor out = Tensor::empty(x.shape(), compute);
  if (out.numel() == 0) return out;
  dispatch_floating(compute, [&](auto tag) {
    using T = decltype(tag);
    unary_loop<T, T>(out, x, [&](T v) { return static_cast<T>(op(v)); });
  });
  return out;
}

// A bool result of op(x[i]), read in x's own dtype (isnan, logical_not, ...).
template <class Op>
Tensor predicate(const Tensor& x, const char* name, Op op) {
  check_defined(x, name);
  Tensor out = Tensor::empty(x.shape(), DType::bool_);
  if (out.numel() == 0) return out;
  dispatch(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    unary_loop<bool, T>(out, x, [&](T v) { return static_cast<bool>(op(v)); });
  });
  return out;
}

}  // namespace nabla::kernels::detail
