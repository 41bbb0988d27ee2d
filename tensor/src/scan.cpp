// Scans along an axis: each line (see axis_lines.hpp) is one running sum or product. Lines are
// independent, so threads split them; when the axis is not the last, the running values of a whole
// row of `inner` neighbouring lines advance together, so the inner loop reads and writes memory in
// order and vectorises.
#include "nabla/tensor/scan.hpp"

#include <algorithm>
#include <type_traits>
#include <vector>

#include "axis_lines.hpp"
#include "nabla/tensor/simd.hpp"
#include "nabla/tensor/threads.hpp"

namespace nabla::kernels {

namespace {

constexpr int64_t kScanGrain = 16384;  // elements per thread, at least

// The dtype a scan returns, and the types it reads, accumulates and writes in.
DType scan_dtype(DType t) { return is_floating(t) ? t : DType::int64; }
template <class T> struct ScanTypes { using Acc = T; using Out = T; };
template <> struct ScanTypes<float> { using Acc = double; using Out = float; };
// Integers wrap around in unsigned arithmetic (signed overflow would be undefined).
template <> struct ScanTypes<int64_t> { using Acc = uint64_t; using Out = int64_t; };
template <> struct ScanTypes<int32_t> { using Acc = uint64_t; using Out = int64_t; };
template <> struct ScanTypes<uint8_t> { using Acc = uint64_t; using Out = int64_t; };
template <> struct ScanTypes<bool> { using Acc = uint64_t; using Out = int64_t; };

struct Plus {
  template <class A> A operator()(A a, A b) const { return a + b; }
  template <class A> static constexpr A identity() { return A(0); }
};
struct Times {
  template <class A> A operator()(A a, A b) const { return a * b; }
  template <class A> static constexpr A identity() { return A(1); }
};

// acc[i] = op(acc[i], row[i]); out[i] = acc[i]: one step of `n` neighbouring lines.
template <class T, class Acc, class Out, class Op>
NABLA_SIMD_CLONES void scan_step(const T* __restrict row, Acc* __restrict acc, Out* __restrict out, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    acc[i] = Op{}(acc[i], static_cast<Acc>(row[i]));
    out[i] = static_cast<Out>(acc[i]);
  }
}

template <class T, class Op>
void scan_kernel(const detail::AxisLines& lines, bool reverse, Tensor& result) {
  using Acc = typename ScanTypes<T>::Acc;
  using Out = typename ScanTypes<T>::Out;
  const T* in = lines.input.data<T>();
  Out* out = result.data<Out>();
  const int64_t O = lines.outer, R = lines.extent, I = lines.inner;
  if (I == 1) {
    // Contiguous lines. A running value is a chain of dependent adds (or multiplies), so eight
    // lines advance together: eight independent chains keep the arithmetic units busy.
    parallel_for(0, O, std::max<int64_t>(1, kScanGrain / std::max<int64_t>(R, 1)), [&](int64_t lo, int64_t hi) {
      constexpr int64_t kTogether = 8;
      int64_t o = lo;
      for (; o + kTogether <= hi; o += kTogether) {
        const T* x = in + o * R;
        Out* y = out + o * R;
        Acc acc[kTogether];
        for (int64_t k = 0; k < kTogether; ++k) acc[k] = Op::template identity<Acc>();
        for (int64_t step = 0; step < R; ++step) {
          const int64_t r = reverse ? R - 1 - step : step;
          for (int64_t k = 0; k < kTogether; ++k) {
            acc[k] = Op{}(acc[k], static_cast<Acc>(x[k * R + r]));
            y[k * R + r] = static_cast<Out>(acc[k]);
          }
        }
      }
      for (; o < hi; ++o) {
        const T* x = in + o * R;
        Out* y = out + o * R;
        Acc acc = Op::template identity<Acc>();
        if (reverse) {
          for (int64_t r = R - 1; r >= 0; --r) y[r] = static_cast<Out>(acc = Op{}(acc, static_cast<Acc>(x[r])));
        } else {
          for (int64_t r = 0; r < R; ++r) y[r] = static_cast<Out>(acc = Op{}(acc, static_cast<Acc>(x[r])));
        }
      }
    });
    return;
  }
  // Work in units of (o, inner range) so each thread owns distinct lines.
  parallel_for(0, O * I, std::max<int64_t>(1, kScanGrain / std::max<int64_t>(R, 1)), [&](int64_t lo, int64_t hi) {
    std::vector<Acc> acc;
    for (int64_t start = lo; start < hi;) {
      const int64_t o = start / I;
      const int64_t i0 = start % I;
      const int64_t n = std::min(I - i0, hi - start);
      acc.assign(static_cast<size_t>(n), Op::template identity<Acc>());
      for (int64_t step = 0; step < R; ++step) {
        const int64_t r = reverse ? R - 1 - step : step;
        const int64_t at = (o * R + r) * I + i0;
        scan_step<T, Acc, Out, Op>(in + at, acc.data(), out + at, n);
      }
      start += n;
    }
  });
}

template <class Op>
Tensor scan(const Tensor& x, int64_t axis, bool reverse, const char* op) {
  const detail::AxisLines lines = detail::lines_along(x, axis, op);
  Tensor result = Tensor::empty(x.shape(), scan_dtype(x.dtype()));
  if (result.numel() == 0) return result;
  dispatch(x.dtype(), [&](auto tag) { scan_kernel<decltype(tag), Op>(lines, reverse, result); });
  return result;
}

}  // namespace

Tensor cumsum(const Tensor& x, int64_t axis) { return scan<Plus>(x, axis, false, "cumsum"); }
Tensor cumprod(const Tensor& x, int64_t axis) { return scan<Times>(x, axis, false, "cumprod"); }
Tensor reverse_cumsum(const Tensor& x, int64_t axis) { return scan<Plus>(x, axis, true, "reverse_cumsum"); }

Tensor cumprod_backward(const Tensor& grad, const Tensor& input, int64_t axis) {
  if (!grad.defined() || !input.defined()) fail("cumprod_backward: an operand is undefined");
  if (grad.shape() != input.shape()) {
    fail("cumprod_backward: grad of shape {} does not match the input's shape {}", grad.shape(), input.shape());
  }
  if (!is_floating(input.dtype()) || grad.dtype() != input.dtype()) {
    fail("cumprod_backward: needs float tensors of one dtype, got grad {} and input {}", grad.dtype(), input.dtype());
  }
  const detail::AxisLines lines = detail::lines_along(input, axis, "cumprod_backward");
  const Tensor g = grad.contiguous();
  Tensor result = Tensor::empty(input.shape(), input.dtype());
  if (result.numel() == 0) return result;
  const int64_t O = lines.outer, R = lines.extent, I = lines.inner;
  dispatch_floating(input.dtype(), [&](auto tag) {
    using T = decltype(tag);
    using Acc = typename ScanTypes<T>::Acc;
    const T* x = lines.input.data<T>();
    const T* gp = g.data<T>();
    T* out = result.data<T>();
    // For line element j: grad_input[j] = E[j] * S[j], with E[j] = x[0] * ... * x[j-1] (the
    // exclusive running product) and S[j] = g[j] + x[j+1] * S[j+1] (S[n-1] = g[n-1]), so no
    // division: a zero in the line is no special case.
    parallel_for(0, O * I, std::max<int64_t>(1, kScanGrain / std::max<int64_t>(R, 1)), [&](int64_t lo, int64_t hi) {
      for (int64_t line = lo; line < hi; ++line) {
        const int64_t base = (line / I) * R * I + line % I;
        Acc s = 0, next = 0;
        for (int64_t r = R - 1; r >= 0; --r) {
          const int64_t at = base + r * I;
          s = static_cast<Acc>(gp[at]) + next * s;
          out[at] = static_cast<T>(s);
          next = static_cast<Acc>(x[at]);
        }
        Acc e = 1;
        for (int64_t r = 0; r < R; ++r) {
          const int64_t at = base + r * I;
          out[at] = static_cast<T>(e * static_cast<Acc>(out[at]));
          e *= static_cast<Acc>(x[at]);
        }
      }
    });
  });
  return result;
}

}  // namespace nabla::kernels
