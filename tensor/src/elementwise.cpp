#include "nabla/tensor/elementwise.hpp"

#include <algorithm>
#include <bit>
#include <cmath>

#include "loops.hpp"
#include "fast_math.hpp"
#include "vector_math.hpp"
#include "nabla/tensor/simd.hpp"
#include "nabla/tensor/factories.hpp"

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

namespace {

void check_defined(const Tensor& x, const char* op) {
  if (!x.defined()) fail("{}: an operand is undefined (default-constructed tensor)", op);
}

// The dtype a scalar operand takes next to a tensor of dtype `t`.
DType scalar_dtype(DType t, double value) {
  if (is_floating(t)) return t;
  if (std::nearbyint(value) == value && t == DType::int64) return t;
  if (std::nearbyint(value) == value && value >= 0 && value <= 255 && t == DType::uint8) return t;
  return std::nearbyint(value) == value ? DType::int64 : DType::float32;
}

Tensor scalar_like(const Tensor& x, double value) { return scalar_tensor(value, scalar_dtype(x.dtype(), value)); }

// Runs a binary kernel: out[i] = op(a[i], b[i]) computed in dtype `compute`, stored as `out_dtype`.
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
      if constexpr (std::is_same_v<To, T> || std::is_same_v<To, uint8_t>) {
        detail::binary_loop<To, T>(out, a, b, [&](T x, T y) { return static_cast<To>(op(x, y)); });
      }
    });
  });
  return out;
}

DType arithmetic_dtype(const Tensor& a, const Tensor& b, const char* name) {
  check_defined(a, name);
  check_defined(b, name);
  return promote_types(a.dtype(), b.dtype());
}

// Float ops on integer input compute in float32 (as PyTorch does).
DType floating_dtype(DType t) { return is_floating(t) ? t : DType::float32; }

template <class Op>
Tensor unary(const Tensor& x_in, const char* name, DType compute, Op op) {
  check_defined(x_in, name);
  const Tensor x = x_in.to(compute);
  Tensor out = Tensor::empty(x.shape(), compute);
  if (out.numel() == 0) return out;
  dispatch(compute, [&](auto tag) {
    using T = decltype(tag);
    detail::unary_loop<T, T>(out, x, [&](T v) { return static_cast<T>(op(v)); });
  });
  return out;
}

// For math that only exists on floats: integer input computes in float32.
template <class Op>
Tensor float_unary(const Tensor& x_in, const char* name, Op op) {
  check_defined(x_in, name);
  const DType compute = floating_dtype(x_in.dtype());
  const Tensor x = x_in.to(compute);
  Tensor out = Tensor::empty(x.shape(), compute);
  if (out.numel() == 0) return out;
  dispatch_floating(compute, [&](auto tag) {
    using T = decltype(tag);
    detail::unary_loop<T, T>(out, x, [&](T v) { return static_cast<T>(op(v)); });
  });
  return out;
}

template <class Op>
Tensor compare(const Tensor& a, const Tensor& b, const char* name, Op op) {
  const DType compute = arithmetic_dtype(a, b, name);
  return binary(a, b, name, compute, DType::uint8, [op](auto x, auto y) { return static_cast<uint8_t>(op(x, y)); });
}

}  // namespace

Tensor add(const Tensor& a, const Tensor& b) {
  const DType t = arithmetic_dtype(a, b, "add");
  return binary(a, b, "add", t, t, [](auto x, auto y) { return x + y; });
}
Tensor sub(const Tensor& a, const Tensor& b) {
  const DType t = arithmetic_dtype(a, b, "sub");
  return binary(a, b, "sub", t, t, [](auto x, auto y) { return x - y; });
}
Tensor mul(const Tensor& a, const Tensor& b) {
  const DType t = arithmetic_dtype(a, b, "mul");
  return binary(a, b, "mul", t, t, [](auto x, auto y) { return x * y; });
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
  return unary(x, "neg", x.dtype(), [](auto v) { return -v; });
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

// floating: integer input computes in float32; any: the input's dtype.
template <bool FloatingOnly, class Op>
Tensor pointwise(const Tensor& x, const char* name,
                 void (*vector_kernel)(const float* __restrict, float* __restrict, int64_t), Op op) {
  check_defined(x, name);
  if (vector_kernel != nullptr) {
    if (Tensor fast = map_contiguous_floats(x, vector_kernel); fast.defined()) return fast;
  }
  if constexpr (FloatingOnly) {
    return float_unary(x, name, op);
  } else {
    return unary(x, name, x.dtype(), op);
  }
}
}  // namespace

#define NABLA_DTYPES_floating true
#define NABLA_DTYPES_any false

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
                [](auto g, auto y) { return y > decltype(y)(0) ? g : decltype(g)(0); });
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
    return std::clamp(v, static_cast<T>(low), static_cast<T>(high));
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

Tensor where(const Tensor& mask_in, const Tensor& a_in, const Tensor& b_in) {
  check_defined(mask_in, "where");
  const DType t = arithmetic_dtype(a_in, b_in, "where");
  const Shape shape = broadcast_shapes(broadcast_shapes(mask_in.shape(), a_in.shape(), "where"), b_in.shape(), "where");
  const Tensor& mask = mask_in;  // any dtype: non-zero means true
  const Tensor a = a_in.to(t);
  const Tensor b = b_in.to(t);
  Tensor out = Tensor::empty(shape, t);
  if (out.numel() == 0) return out;
  auto plan = detail::make_plan<4>(shape, {out.strides(), detail::broadcast_strides(mask, shape),
                                           detail::broadcast_strides(a, shape), detail::broadcast_strides(b, shape)});
  dispatch(t, [&](auto tag) {
    using T = decltype(tag);
    dispatch(mask.dtype(), [&](auto mask_tag) {
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
    });
  });
  return out;
}

bool allclose(const Tensor& a, const Tensor& b, double rtol, double atol) {
  const Tensor close = binary(a, b, "allclose", DType::float64, DType::uint8, [rtol, atol](double x, double y) {
    if (std::isnan(x) || std::isnan(y)) return false;
    if (x == y) return true;  // equal infinities
    if (std::isinf(x) || std::isinf(y)) return false;  // else inf <= rtol * inf would pass
    return std::abs(x - y) <= atol + rtol * std::abs(y);
  });
  for (uint8_t v : close.to_vector<uint8_t>()) {
    if (!v) return false;
  }
  return true;
}

bool equal(const Tensor& a, const Tensor& b) {
  check_defined(a, "equal");
  check_defined(b, "equal");
  if (a.shape() != b.shape()) return false;
  for (uint8_t v : eq(a, b).to_vector<uint8_t>()) {
    if (!v) return false;
  }
  return true;
}

}  // namespace nabla::kernels
