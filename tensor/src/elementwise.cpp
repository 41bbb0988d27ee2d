#include "nabla/tensor/elementwise.hpp"

#include <algorithm>
#include <bit>
#include <cmath>

#include "elementwise_ops.hpp"
#include "loops.hpp"
#include "activation_math.hpp"  // the vector paths of the issue-13 activations
#include "fast_math.hpp"
#include "vector_math.hpp"
#include "nabla/tensor/simd.hpp"

namespace nabla {

Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op) {
  const int64_t ndim = std::max(a.size(), b.size());
  Shape out = Dims::filled(ndim, 1);
  for (int64_t i = 0; i < ndim; ++i) {
    const int64_t ea = i < ndim - a.size() ? 1 : a[i - (ndim - a.size())];
    const int64_t eb = i < ndim - b.size() ? 1 : b[i - (ndim - b.size())];
    if (ea != eb && ea != 1 && eb != 1) {
      fail("{}: shapes {} and {} cannot be broadcast together (axis {}: {} vs {})", op, a, b, i, ea, eb);
    }
    out[i] = ea == 1 ? eb : ea;
  }
  return out;
}

}  // namespace nabla

namespace nabla::kernels {

using detail::arithmetic_dtype;
using detail::binary;
using detail::check_defined;
using detail::float_unary;
using detail::floating_dtype;
using detail::scalar_like;
using detail::unary;

namespace {

template <class Op>
Tensor compare(const Tensor& a, const Tensor& b, const char* name, Op op) {
  const DType compute = arithmetic_dtype(a, b, name);
  return binary(a, b, name, compute, DType::bool_, [op](auto x, auto y) { return static_cast<bool>(op(x, y)); });
}

}  // namespace

// On bool, add is logical or and mul logical and (the bool of the integer result), as in PyTorch.
Tensor add(const Tensor& a, const Tensor& b) {
  const DType t = arithmetic_dtype(a, b, "add");
  return binary(a, b, "add", t, t, [](auto x, auto y) { return detail::wrapping_add(x, y); });
}
Tensor sub(const Tensor& a, const Tensor& b) {
  const DType t = arithmetic_dtype(a, b, "sub");
  // PyTorch's rule and its advice: a bool minus anything is more likely a mask inverted by mistake.
  if (a.dtype() == DType::bool_ && b.dtype() == DType::bool_) {
    fail("sub: subtracting two bool tensors (shapes {} and {}) is not supported; use logical_xor(a, b) instead",
         a.shape(), b.shape());
  }
  if (a.dtype() == DType::bool_ || b.dtype() == DType::bool_) {
    fail("sub: subtraction with a bool tensor (shapes {} and {}, dtypes {} and {}) is not supported; to invert a "
         "mask use logical_not(mask), else convert with .to(nabla::int64) first", a.shape(), b.shape(), a.dtype(),
         b.dtype());
  }
  return binary(a, b, "sub", t, t, [](auto x, auto y) { return detail::wrapping_sub(x, y); });
}
Tensor mul(const Tensor& a, const Tensor& b) {
  const DType t = arithmetic_dtype(a, b, "mul");
  return binary(a, b, "mul", t, t, [](auto x, auto y) { return detail::wrapping_mul(x, y); });
}
Tensor div(const Tensor& a, const Tensor& b) {
  const DType t = floating_dtype(arithmetic_dtype(a, b, "div"));
  return binary(a, b, "div", t, t, [](auto x, auto y) { return x / y; });
}
Tensor pow(const Tensor& base, const Tensor& exponent) {
  const DType t = floating_dtype(arithmetic_dtype(base, exponent, "pow"));
  return binary(base, exponent, "pow", t, t, [](auto x, auto y) { return std::pow(x, y); });
}
Tensor maximum(const Tensor& a, const Tensor& b) {
  const DType t = arithmetic_dtype(a, b, "maximum");
  // NaN propagates (as in PyTorch): x > y is false for NaN, so test it explicitly.
  return binary(a, b, "maximum", t, t, [](auto x, auto y) { return (x > y || x != x) ? x : y; });
}
Tensor minimum(const Tensor& a, const Tensor& b) {
  const DType t = arithmetic_dtype(a, b, "minimum");
  return binary(a, b, "minimum", t, t, [](auto x, auto y) { return (x < y || x != x) ? x : y; });
}

Tensor add(const Tensor& a, double b) { return add(a, scalar_like(a, b)); }
Tensor sub(const Tensor& a, double b) { return sub(a, scalar_like(a, b)); }
Tensor sub(double a, const Tensor& b) { return sub(scalar_like(b, a), b); }
Tensor mul(const Tensor& a, double b) { return mul(a, scalar_like(a, b)); }
Tensor div(const Tensor& a, double b) { return div(a, scalar_like(a, b)); }
Tensor div(double a, const Tensor& b) { return div(scalar_like(b, a), b); }
Tensor maximum(const Tensor& a, double b) { return maximum(a, scalar_like(a, b)); }
Tensor minimum(const Tensor& a, double b) { return minimum(a, scalar_like(a, b)); }

Tensor pow(const Tensor& base, double exponent) {
  check_defined(base, "pow");
  if (exponent == 2.0) return float_unary(base, "pow", [](auto x) { return x * x; });
  if (exponent == 1.0) return base.to(floating_dtype(base.dtype())).clone();
  if (exponent == 0.5) return float_unary(base, "pow", [](auto x) { return std::sqrt(x); });
  if (exponent == -1.0) return float_unary(base, "pow", [](auto x) { return decltype(x)(1) / x; });
  return float_unary(base, "pow", [exponent](auto x) {
    using T = decltype(x);
    return std::pow(x, static_cast<T>(exponent));
  });
}

Tensor neg(const Tensor& x) {
  check_defined(x, "neg");
  if (x.dtype() == DType::uint8) fail("neg: cannot negate a uint8 tensor; convert with .to(nabla::int64) first");
  if (x.dtype() == DType::bool_) {
    fail("neg: negating a bool tensor (shape {}) is not supported; to invert a mask use logical_not(mask)", x.shape());
  }
  return unary(x, "neg", x.dtype(), [](auto v) {
    using T = decltype(v);
    if constexpr (std::is_integral_v<T>) {
      return detail::wrapping_sub(T(0), v);  // -INT64_MIN wraps to itself, as in PyTorch
    } else {
      return -v;  // -(0.0) is -0.0
    }
  });
}

namespace {

// sigmoid over contiguous floats: exp of -|x| only, so nothing overflows.
NABLA_SIMD_CLONES void sigmoid_floats(const float* __restrict x, float* __restrict y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = detail::fast_sigmoid(x[i]);
}

// The vectorised path of an element-wise function: a contiguous float32 tensor through an array
// kernel, in parallel chunks. Empty (undefined) when x does not qualify.
Tensor map_contiguous_floats(const Tensor& x, void (*kernel)(const float* __restrict, float* __restrict, int64_t)) {
  if (!x.defined() || x.dtype() != float32 || !x.is_contiguous()) return {};
  Tensor out = Tensor::empty(x.shape(), float32);
  const float* in = x.data<float>();
  float* result = out.data<float>();
  parallel_for(0, x.numel(), detail::kParallelGrain, [&](int64_t lo, int64_t hi) {
    kernel(in + lo, result + lo, hi - lo);
  });
  return out;
}

}  // namespace

namespace detail {
NABLA_SIMD_CLONES void exp_floats(const float* __restrict in, float* __restrict out, int64_t n) {
  for (int64_t i = 0; i < n; ++i) out[i] = exp_float(in[i]);  // fast_math.hpp
}
}  // namespace detail

// The point-wise ops of nabla/tensor/pointwise.def: a vectorised path for contiguous float32
// where the entry names one, else a loop over any layout.
namespace {
constexpr void (*none)(const float* __restrict, float* __restrict, int64_t) = nullptr;

using detail::exp_floats;

// The dtypes column of pointwise.def: floating — integer and bool input computes in float32;
// numeric — the input's dtype, bool refused (as PyTorch refuses abs, relu, floor, ... on bool);
// any — the input's dtype, bool included.
enum class PointwiseDtypes { floating, numeric, any };

template <PointwiseDtypes Dtypes, class Op>
Tensor pointwise(const Tensor& x, const char* name,
                 void (*vector_kernel)(const float* __restrict, float* __restrict, int64_t), Op op) {
  check_defined(x, name);
  if (vector_kernel != nullptr) {
    if (Tensor fast = map_contiguous_floats(x, vector_kernel); fast.defined()) return fast;
  }
  if constexpr (Dtypes == PointwiseDtypes::floating) {
    return float_unary(x, name, op);
  } else {
    if (Dtypes == PointwiseDtypes::numeric && x.dtype() == DType::bool_) {
      fail("{}: not defined for bool tensors (shape {}); convert with .to(nabla::int64) or .to(nabla::float32) first",
           name, x.shape());
    }
    return unary(x, name, x.dtype(), op);
  }
}

// Rounding an integer leaves it as it is (std::floor of an int64 would go through double and
// round values above 2^53). round is half to even, as PyTorch's (std::rint in the default
// rounding mode).
template <class T> T floor_value(T x) { if constexpr (std::is_floating_point_v<T>) return std::floor(x); else return x; }
template <class T> T ceil_value(T x) { if constexpr (std::is_floating_point_v<T>) return std::ceil(x); else return x; }
template <class T> T round_half_even(T x) { if constexpr (std::is_floating_point_v<T>) return std::rint(x); else return x; }
template <class T> T abs_value(T x) {
  if constexpr (std::is_floating_point_v<T>) {
    return std::fabs(x);  // abs(-0.0) is +0.0
  } else {
    return x < T(0) ? detail::wrapping_sub(T(0), x) : x;  // abs(INT64_MIN) wraps to itself, as in PyTorch
  }
}
template <class T> T trunc_value(T x) { if constexpr (std::is_floating_point_v<T>) return std::trunc(x); else return x; }
}  // namespace

#define NABLA_DTYPES_floating PointwiseDtypes::floating
#define NABLA_DTYPES_numeric PointwiseDtypes::numeric
#define NABLA_DTYPES_any PointwiseDtypes::any

#define NABLA_POINTWISE_KERNEL(name, dtypes, forward, vector_kernel)                                      \
  Tensor name(const Tensor& input) {                                                                      \
    return pointwise<NABLA_DTYPES_##dtypes>(input, #name, vector_kernel, [](auto x) {                     \
      using T = decltype(x);                                                                              \
      return static_cast<T>(forward);                                                                     \
    });                                                                                                   \
  }
#define NABLA_POINTWISE_SELF(name, dtypes, forward, vector_kernel, derivative, domain) \
  NABLA_POINTWISE_KERNEL(name, dtypes, forward, vector_kernel)
#define NABLA_POINTWISE_RESULT(name, dtypes, forward, vector_kernel, derivative, domain) \
  NABLA_POINTWISE_KERNEL(name, dtypes, forward, vector_kernel)
#define NABLA_POINTWISE_NO_GRAD(name, dtypes, forward, domain) NABLA_POINTWISE_KERNEL(name, dtypes, forward, none)
#include "nabla/tensor/pointwise.def"
#undef NABLA_POINTWISE_KERNEL

namespace {
// An activation's backward from its output: same shapes, one float dtype.
void check_activation_backward(const Tensor& grad_output, const Tensor& output, const char* op) {
  check_defined(grad_output, op);
  check_defined(output, op);
  if (grad_output.shape() != output.shape()) {
    fail("{}: grad_output of shape {} does not match the output's shape {}", op, grad_output.shape(), output.shape());
  }
  if (grad_output.dtype() != output.dtype() || !is_floating(output.dtype())) {
    fail("{}: needs float tensors of one dtype, got {} and {}", op, grad_output.dtype(), output.dtype());
  }
}
}  // namespace

Tensor relu_backward(const Tensor& grad_output, const Tensor& output) {
  check_activation_backward(grad_output, output, "relu_backward");
  return binary(grad_output, output, "relu_backward", output.dtype(), output.dtype(),
                // PyTorch's threshold_backward: 0 where y <= 0, so a NaN output passes its gradient.
                [](auto g, auto y) { return y <= decltype(y)(0) ? decltype(g)(0) : g; });
}
Tensor sigmoid_backward(const Tensor& grad_output, const Tensor& output) {
  check_activation_backward(grad_output, output, "sigmoid_backward");
  return binary(grad_output, output, "sigmoid_backward", output.dtype(), output.dtype(),
                [](auto g, auto y) { return g * y * (decltype(y)(1) - y); });
}

Tensor clamp(const Tensor& x, double low, double high) {
  check_defined(x, "clamp");
  if (low > high) fail("clamp: low {} is greater than high {}", low, high);
  return unary(x, "clamp", x.dtype(), [low, high](auto v) {
    using T = decltype(v);
    return std::clamp(v, detail::bound_as<T>(low), detail::bound_as<T>(high));
  });
}

Tensor eq(const Tensor& a, const Tensor& b) { return compare(a, b, "eq", [](auto x, auto y) { return x == y; }); }
Tensor ne(const Tensor& a, const Tensor& b) { return compare(a, b, "ne", [](auto x, auto y) { return x != y; }); }
Tensor lt(const Tensor& a, const Tensor& b) { return compare(a, b, "lt", [](auto x, auto y) { return x < y; }); }
Tensor le(const Tensor& a, const Tensor& b) { return compare(a, b, "le", [](auto x, auto y) { return x <= y; }); }
Tensor gt(const Tensor& a, const Tensor& b) { return compare(a, b, "gt", [](auto x, auto y) { return x > y; }); }
Tensor ge(const Tensor& a, const Tensor& b) { return compare(a, b, "ge", [](auto x, auto y) { return x >= y; }); }
Tensor eq(const Tensor& a, double b) { return eq(a, scalar_like(a, b)); }
Tensor ne(const Tensor& a, double b) { return ne(a, scalar_like(a, b)); }
Tensor lt(const Tensor& a, double b) { return lt(a, scalar_like(a, b)); }
Tensor le(const Tensor& a, double b) { return le(a, scalar_like(a, b)); }
Tensor gt(const Tensor& a, double b) { return gt(a, scalar_like(a, b)); }
Tensor ge(const Tensor& a, double b) { return ge(a, scalar_like(a, b)); }

void check_mask(const Tensor& mask, const char* op) {
  if (!mask.defined()) fail("{}: the mask is undefined (default-constructed tensor)", op);
  if (mask.dtype() != DType::bool_ && mask.dtype() != DType::uint8) {
    fail("{}: the mask must be a bool tensor, got {} of shape {} (make one with a comparison such as x.ne(0), "
         "or convert with .to(nabla::bool_))", op, mask.dtype(), mask.shape());
  }
}

Tensor where(const Tensor& mask, const Tensor& a_in, const Tensor& b_in) {
  check_mask(mask, "where");
  const DType t = arithmetic_dtype(a_in, b_in, "where");
  const Shape shape = broadcast_shapes(broadcast_shapes(mask.shape(), a_in.shape(), "where"), b_in.shape(), "where");
  const Tensor a = a_in.to(t);
  const Tensor b = b_in.to(t);
  Tensor out = Tensor::empty(shape, t);
  if (out.numel() == 0) return out;
  auto plan = detail::make_plan<4>(shape, {out.strides(), detail::broadcast_strides(mask, shape),
                                           detail::broadcast_strides(a, shape), detail::broadcast_strides(b, shape)});
  dispatch(t, [&](auto tag) {
    using T = decltype(tag);
    // A bool mask, or a uint8 one (non-zero is true), which PyTorch still accepts.
    auto select = [&](auto mask_tag) {
      using M = decltype(mask_tag);
      T* po = static_cast<T*>(out.raw_data());
      const M* pm = static_cast<const M*>(mask.raw_data());
      const T* pa = static_cast<const T*>(a.raw_data());
      const T* pb = static_cast<const T*>(b.raw_data());
      detail::for_each_row<4>(plan, [&](const std::array<int64_t, 4>& off, int64_t n, const std::array<int64_t, 4>& st) {
        for (int64_t i = 0; i < n; ++i) {
          po[off[0] + i * st[0]] = pm[off[1] + i * st[1]] != M(0) ? pa[off[2] + i * st[2]] : pb[off[3] + i * st[3]];
        }
      });
    };
    if (mask.dtype() == DType::bool_) {
      select(bool{});
    } else {
      select(uint8_t{});
    }
  });
  return out;
}

bool allclose(const Tensor& a, const Tensor& b, double rtol, double atol) {
  const Tensor close = binary(a, b, "allclose", DType::float64, DType::bool_, [rtol, atol](double x, double y) {
    if (std::isnan(x) || std::isnan(y)) return false;
    if (x == y) return true;  // equal infinities
    if (std::isinf(x) || std::isinf(y)) return false;  // else inf <= rtol * inf would pass
    return std::abs(x - y) <= atol + rtol * std::abs(y);
  });
  const bool* p = close.data<bool>();
  return std::all_of(p, p + close.numel(), [](bool v) { return v; });
}

bool equal(const Tensor& a, const Tensor& b) {
  check_defined(a, "equal");
  check_defined(b, "equal");
  if (a.shape() != b.shape()) return false;
  const Tensor same = eq(a, b);
  const bool* p = same.data<bool>();
  return std::all_of(p, p + same.numel(), [](bool v) { return v; });
}

}  // namespace nabla::kernels
