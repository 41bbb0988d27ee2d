// Element-wise math beyond arithmetic: logic on truth values, tests for NaN and infinity,
// nan_to_num, and the binary functions atan2, fmod and remainder. (The unary functions are
// entries of nabla/tensor/pointwise.def, made in elementwise.cpp.)
#include <algorithm>
#include <cmath>
#include <limits>

#include "elementwise_ops.hpp"

namespace nabla::kernels {

using detail::arithmetic_dtype;
using detail::binary;
using detail::check_defined;
using detail::floating_dtype;
using detail::predicate;
using detail::scalar_like;

// ---- logic: non-zero (NaN included) is true

Tensor logical_not(const Tensor& x) {
  return predicate(x, "logical_not", [](auto v) { return v == decltype(v)(0); });
}

namespace {
template <class Op>
Tensor logical(const Tensor& a, const Tensor& b, const char* name, Op op) {
  // Read in the promoted dtype: a conversion there never turns a non-zero value into zero.
  const DType compute = arithmetic_dtype(a, b, name);
  return binary(a, b, name, compute, DType::bool_, [op](auto x, auto y) {
    using T = decltype(x);
    return op(x != T(0), y != T(0));
  });
}
}  // namespace

Tensor logical_and(const Tensor& a, const Tensor& b) {
  return logical(a, b, "logical_and", [](bool x, bool y) { return x && y; });
}
Tensor logical_or(const Tensor& a, const Tensor& b) {
  return logical(a, b, "logical_or", [](bool x, bool y) { return x || y; });
}
Tensor logical_xor(const Tensor& a, const Tensor& b) {
  return logical(a, b, "logical_xor", [](bool x, bool y) { return x != y; });
}

// ---- NaN and infinity (integers and bools are always finite)

Tensor isnan(const Tensor& x) {
  return predicate(x, "isnan", [](auto v) {
    if constexpr (std::is_floating_point_v<decltype(v)>) {
      return v != v;
    } else {
      return false;
    }
  });
}

Tensor isinf(const Tensor& x) {
  return predicate(x, "isinf", [](auto v) {
    using T = decltype(v);
    if constexpr (std::is_floating_point_v<T>) {
      return std::fabs(v) == std::numeric_limits<T>::infinity();
    } else {
      return false;
    }
  });
}

Tensor isfinite(const Tensor& x) {
  return predicate(x, "isfinite", [](auto v) {
    using T = decltype(v);
    if constexpr (std::is_floating_point_v<T>) {
      return std::fabs(v) < std::numeric_limits<T>::infinity();  // false for NaN too
    } else {
      return true;
    }
  });
}

Tensor nan_to_num(const Tensor& x, double nan, std::optional<double> posinf, std::optional<double> neginf) {
  check_defined(x, "nan_to_num");
  if (!is_floating(x.dtype())) return x.clone();  // nothing to replace, as in PyTorch
  return detail::unary(x, "nan_to_num", x.dtype(), [&](auto v) {
    using T = decltype(v);
    // A replacement beyond float32's range becomes +-inf in float32 (IEEE rounding), as in PyTorch.
    const T nan_value = static_cast<T>(nan);
    const T posinf_value = posinf ? static_cast<T>(*posinf) : std::numeric_limits<T>::max();
    const T neginf_value = neginf ? static_cast<T>(*neginf) : std::numeric_limits<T>::lowest();
    constexpr T inf = std::numeric_limits<T>::infinity();
    return v != v ? nan_value : (v == inf ? posinf_value : (v == -inf ? neginf_value : v));
  });
}

// ---- atan2, fmod, remainder

Tensor atan2(const Tensor& self, const Tensor& other) {
  const DType t = floating_dtype(arithmetic_dtype(self, other, "atan2"));
  return binary(self, other, "atan2", t, t, [](auto y, auto x) {
    if constexpr (std::is_floating_point_v<decltype(y)>) return std::atan2(y, x);
    return y;  // not reached: t is a float dtype
  });
}

namespace {
// The dtype fmod/remainder compute in; integer division by zero is an error (as PyTorch's
// ZeroDivisionError), float division by zero gives NaN.
DType division_dtype(const Tensor& self, const Tensor& other, const char* name) {
  const DType t = arithmetic_dtype(self, other, name);
  if (t == DType::bool_) {
    fail("{}: not defined for bool tensors (shapes {} and {}); convert with .to(nabla::int64) first", name,
         self.shape(), other.shape());
  }
  if (!is_floating(t)) {
    const Tensor zero_divisor = eq(other, 0.0);
    const bool* p = zero_divisor.contiguous().data<bool>();
    if (std::any_of(p, p + zero_divisor.numel(), [](bool v) { return v; })) {
      fail("{}: integer division by zero (the divisor of shape {} has a zero element); convert to a float dtype "
           "to get NaN there instead", name, other.shape());
    }
  }
  return t;
}

// C's fmod for integers: the remainder of division truncated toward zero, with the dividend's
// sign. x % -1 is 0 for every x: written out because INT64_MIN % -1 overflows (undefined in C++,
// a crash on x86).
template <class T>
T integer_fmod(T x, T y) {
  if constexpr (std::is_signed_v<T>) {
    if (y == T(-1)) return T(0);
  }
  return static_cast<T>(x % y);
}
}  // namespace

Tensor fmod(const Tensor& self, const Tensor& other) {
  const DType t = division_dtype(self, other, "fmod");
  return binary(self, other, "fmod", t, t, [](auto x, auto y) {
    using T = decltype(x);
    if constexpr (std::is_floating_point_v<T>) {
      return std::fmod(x, y);
    } else {
      return integer_fmod(x, y);
    }
  });
}

Tensor remainder(const Tensor& self, const Tensor& other) {
  const DType t = division_dtype(self, other, "remainder");
  // Python's %: the remainder of division rounded toward -inf, with the divisor's sign (as
  // PyTorch computes it: fmod, then moved by one divisor when the signs differ).
  return binary(self, other, "remainder", t, t, [](auto x, auto y) {
    using T = decltype(x);
    T mod;
    if constexpr (std::is_floating_point_v<T>) {
      mod = std::fmod(x, y);
    } else {
      mod = integer_fmod(x, y);
    }
    if constexpr (std::is_signed_v<T>) {
      if (mod != T(0) && ((y < T(0)) != (mod < T(0)))) mod = static_cast<T>(mod + y);
    }
    return mod;
  });
}

Tensor fmod(const Tensor& self, double other) { return fmod(self, scalar_like(self, other)); }
Tensor remainder(const Tensor& self, double other) { return remainder(self, scalar_like(self, other)); }
Tensor remainder(double self, const Tensor& other) { return remainder(scalar_like(other, self), other); }

}  // namespace nabla::kernels
