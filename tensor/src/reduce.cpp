#include "nabla/tensor/reduce.hpp"

#include <array>
#include <cmath>
#include <limits>
#include <vector>

#include "nabla/tensor/elementwise.hpp"
#include "nabla/tensor/factories.hpp"
#include "nabla/tensor/simd.hpp"
#include "nabla/tensor/threads.hpp"
#include "row_sums.hpp"

namespace nabla::kernels {

namespace {

constexpr int64_t kReduceGrain = 16384;

// Every reduction runs on a contiguous tensor viewed as [outer, reduced, inner]: the reduced axes
// are made one contiguous middle block (by a permuted copy when they are not already).
struct ReduceLayout {
  Tensor input;          // contiguous
  int64_t outer = 1;
  int64_t reduced = 1;
  int64_t inner = 1;
  Shape keep_shape;      // the result's shape with keepdim=true
  Shape result_shape;    // the result's shape for the requested keepdim
};

ReduceLayout plan_reduction(const Tensor& x, const Dims& axes, bool keepdim, const char* op) {
  if (!x.defined()) fail("{}: the input tensor is undefined", op);
  const int64_t ndim = x.dim();
  std::array<bool, Dims::kMaxDims> is_reduced{};
  if (axes.empty()) {
    for (int64_t i = 0; i < ndim; ++i) is_reduced[static_cast<size_t>(i)] = true;
  } else {
    for (int64_t axis : axes) {
      const int64_t a = normalize_axis(axis, ndim, op);
      if (is_reduced[static_cast<size_t>(a)]) fail("{}: axis {} is listed twice in {}", op, a, axes);
      is_reduced[static_cast<size_t>(a)] = true;
    }
  }
  ReduceLayout layout;
  int64_t first = ndim, last = -1;
  for (int64_t i = 0; i < ndim; ++i) {
    const bool r = is_reduced[static_cast<size_t>(i)];
    layout.keep_shape.push_back(r ? 1 : x.shape()[i]);
    if (!r || keepdim) layout.result_shape.push_back(r ? 1 : x.shape()[i]);
    if (r && x.shape()[i] != 1) {
      first = std::min(first, i);
      last = std::max(last, i);
    }
  }
  // Are the (non-trivial) reduced axes one contiguous block first..last?
  bool block = true;
  for (int64_t i = first; i <= last; ++i) {
    if (!is_reduced[static_cast<size_t>(i)] && x.shape()[i] != 1) block = false;
  }
  if (block) {
    layout.input = x.contiguous();
    if (last < 0) {  // nothing (or only size-1 axes) to reduce
      layout.outer = x.numel();
    } else {
      for (int64_t i = 0; i < first; ++i) layout.outer *= x.shape()[i];
      for (int64_t i = first; i <= last; ++i) layout.reduced *= x.shape()[i];
      for (int64_t i = last + 1; i < ndim; ++i) layout.inner *= x.shape()[i];
    }
  } else {
    Dims order;
    for (int64_t i = 0; i < ndim; ++i) {
      if (!is_reduced[static_cast<size_t>(i)]) order.push_back(i);
    }
    for (int64_t i = 0; i < ndim; ++i) {
      if (is_reduced[static_cast<size_t>(i)]) order.push_back(i);
    }
    layout.input = x.permute(order).contiguous();
    for (int64_t i = 0; i < ndim; ++i) {
      (is_reduced[static_cast<size_t>(i)] ? layout.reduced : layout.outer) *= x.shape()[i];
    }
  }
  return layout;
}

// The dtype sums are accumulated and returned in: integers and bools count in int64, as in PyTorch.
DType sum_dtype(DType t) { return is_floating(t) ? t : DType::int64; }
template <class T> struct Accumulator { using type = T; };
template <> struct Accumulator<float> { using type = double; };
template <> struct Accumulator<int32_t> { using type = int64_t; };
template <> struct Accumulator<uint8_t> { using type = int64_t; };
template <> struct Accumulator<bool> { using type = int64_t; };

// acc[i] += row[i], widening float32 to double: the inner loop of summing rows, vectorised.
template <class T, class Acc>
NABLA_SIMD_CLONES void add_row(const T* __restrict row, Acc* __restrict acc, int64_t n) {
  for (int64_t i = 0; i < n; ++i) acc[i] += static_cast<Acc>(row[i]);
}

// The sum of a contiguous run of n values, float32 accumulated in double. 32 independent partial
// sums: four AVX-512 registers of doubles, so the additions' latency is hidden (with 8, one
// register's chain of dependent additions set the pace, about 2 values a cycle).
template <class T, class Acc>
NABLA_SIMD_CLONES Acc row_sum(const T* __restrict row, int64_t n) {
  constexpr int kLanes = 32;
  Acc lanes[kLanes] = {};
  int64_t r = 0;
  for (; r + kLanes <= n; r += kLanes) {
    for (int k = 0; k < kLanes; ++k) lanes[k] += static_cast<Acc>(row[r + k]);
  }
  for (int k = 0; r < n; ++r, ++k) lanes[k] += static_cast<Acc>(row[r]);
  Acc total = 0;
  for (int k = 0; k < kLanes; ++k) total += lanes[k];
  return total;
}

}  // namespace

template <class T>
T detail::sum_of_row(const T* row, int64_t n) {
  return static_cast<T>(row_sum<T, typename Accumulator<T>::type>(row, n));
}
template float detail::sum_of_row(const float*, int64_t);
template double detail::sum_of_row(const double*, int64_t);

namespace {

template <class T, class Out>
void sum_kernel(const ReduceLayout& layout, Out* out) {
  const T* in = layout.input.data<T>();
  const int64_t O = layout.outer, R = layout.reduced, I = layout.inner;
  if (I == 1) {
    // Each output is the sum of a contiguous run of R values.
    using Acc = typename Accumulator<T>::type;
    parallel_for(0, O, std::max<int64_t>(1, kReduceGrain / std::max<int64_t>(R, 1)), [&](int64_t lo, int64_t hi) {
      for (int64_t o = lo; o < hi; ++o) out[o] = static_cast<Out>(row_sum<T, Acc>(in + o * R, R));
    });
    return;
  }
  // Reduced block in the middle: add whole contiguous rows of `inner` values, into an Acc
  // buffer so float32 accumulates in double here too.
  using Acc = typename Accumulator<T>::type;
  parallel_for(0, O * I, std::max<int64_t>(1, kReduceGrain / std::max<int64_t>(R, 1)), [&](int64_t lo, int64_t hi) {
    std::vector<Acc> acc;
    // Work in units of (o, inner range) so each thread owns distinct outputs.
    for (int64_t start = lo; start < hi;) {
      const int64_t o = start / I;
      const int64_t i0 = start % I;
      const int64_t i1 = std::min(I, i0 + (hi - start));
      acc.assign(static_cast<size_t>(i1 - i0), Acc(0));
      for (int64_t r = 0; r < R; ++r) add_row(in + (o * R + r) * I + i0, acc.data(), i1 - i0);
      Out* dst = out + o * I + i0;
      for (int64_t i = 0; i < i1 - i0; ++i) dst[i] = static_cast<Out>(acc[static_cast<size_t>(i)]);
      start += i1 - i0;
    }
  });
}

// Max (is_max) or min over the reduced block, with the first index of the extreme value.
// NaN counts as the extreme (it propagates, as in PyTorch).
template <class T>
void extreme_kernel(const ReduceLayout& layout, bool is_max, T* values, int64_t* indices) {
  const T* in = layout.input.data<T>();
  const int64_t O = layout.outer, R = layout.reduced, I = layout.inner;
  auto better = [is_max](T candidate, T best) {
    if constexpr (std::is_floating_point_v<T>) {
      if (std::isnan(candidate)) return !std::isnan(best);
    }
    return is_max ? candidate > best : candidate < best;
  };
  parallel_for(0, O, std::max<int64_t>(1, kReduceGrain / std::max<int64_t>(R * I, 1)), [&](int64_t lo, int64_t hi) {
    for (int64_t o = lo; o < hi; ++o) {
      for (int64_t i = 0; i < I; ++i) {
        const T* p = in + o * R * I + i;
        T best = p[0];
        int64_t best_index = 0;
        for (int64_t r = 1; r < R; ++r) {
          const T v = p[r * I];
          if (better(v, best)) {
            best = v;
            best_index = r;
          }
        }
        if (values) values[o * I + i] = best;
        if (indices) indices[o * I + i] = best_index;
      }
    }
  });
}

ValuesIndices extreme(const Tensor& x, int64_t axis, bool keepdim, bool is_max, bool want_values,
                      const char* op) {
  if (!x.defined()) fail("{}: the input tensor is undefined", op);
  const int64_t a = normalize_axis(axis, x.dim(), op);
  if (x.shape()[a] == 0) fail("{}: cannot reduce over axis {} of size 0 (shape {})", op, a, x.shape());
  // (A size-1 axis leaves nothing to reduce: the planner lays it out as [numel, 1, 1].)
  const ReduceLayout layout = plan_reduction(x, Dims{a}, keepdim, op);
  ValuesIndices result;
  result.indices = Tensor::empty(layout.result_shape, DType::int64);
  if (want_values) result.values = Tensor::empty(layout.result_shape, x.dtype());
  if (result.indices.numel() == 0) return result;
  dispatch(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    extreme_kernel<T>(layout, is_max, want_values ? result.values.data<T>() : nullptr, result.indices.data<int64_t>());
  });
  return result;
}

Tensor extreme_values(const Tensor& x, const Dims& axes, bool keepdim, bool is_max, const char* op) {
  ReduceLayout layout = plan_reduction(x, axes, keepdim, op);
  if (layout.reduced == 0 || (x.numel() == 0 && axes.empty())) {
    fail("{}: cannot reduce an empty selection (shape {}, axes {})", op, x.shape(), axes);
  }
  Tensor out = Tensor::empty(layout.result_shape, x.dtype());
  if (out.numel() == 0) return out;
  dispatch(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    extreme_kernel<T>(layout, is_max, out.data<T>(), nullptr);
  });
  return out;
}

}  // namespace

Tensor sum(const Tensor& x, const Dims& axes, bool keepdim) {
  ReduceLayout layout = plan_reduction(x, axes, keepdim, "sum");
  const DType out_dtype = sum_dtype(x.dtype());
  Tensor out = Tensor::empty(layout.result_shape, out_dtype);
  if (out.numel() == 0) return out;
  if (layout.reduced == 0) return out.fill_(0.0);
  dispatch(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    dispatch(out_dtype, [&](auto out_tag) {
      using Out = decltype(out_tag);
      if constexpr (std::is_same_v<Out, T> || (std::is_same_v<Out, int64_t> && std::is_integral_v<T>)) {
        sum_kernel<T, Out>(layout, out.data<Out>());
      }
    });
  });
  return out;
}

Tensor mean(const Tensor& x, const Dims& axes, bool keepdim) {
  if (!x.defined()) fail("mean: the input tensor is undefined");
  if (!is_floating(x.dtype())) fail("mean: needs a float tensor, got {} (convert with .to(nabla::float32))", x.dtype());
  const ReduceLayout layout = plan_reduction(x, axes, keepdim, "mean");
  if (layout.reduced == 0) fail("mean: cannot average an empty selection (shape {}, axes {})", x.shape(), axes);
  Tensor total = sum(x, axes, keepdim);
  total.mul_(1.0 / static_cast<double>(layout.reduced));
  return total;
}

Tensor var(const Tensor& x, const Dims& axes, bool keepdim, int64_t correction) {
  if (!x.defined()) fail("var: the input tensor is undefined");
  if (!is_floating(x.dtype())) fail("var: needs a float tensor, got {}", x.dtype());
  const ReduceLayout layout = plan_reduction(x, axes, keepdim, "var");
  const int64_t count = layout.reduced;
  if (count - correction <= 0) {
    fail("var: {} elements with correction {} leave no degrees of freedom (shape {}, axes {})", count, correction,
         x.shape(), axes);
  }
  const Tensor centered = sub(x, mean(x, axes, true));
  Tensor total = sum(mul(centered, centered), axes, keepdim);
  total.mul_(1.0 / static_cast<double>(count - correction));
  return total;
}

Tensor logsumexp(const Tensor& x, const Dims& axes, bool keepdim) {
  if (!x.defined()) fail("logsumexp: the input tensor is undefined");
  if (!is_floating(x.dtype())) fail("logsumexp: needs a float tensor, got {}", x.dtype());
  // Checked first so a bad axis is reported as logsumexp's, not amax's.
  const Shape result_shape = plan_reduction(x, axes, false, "logsumexp").result_shape;
  Tensor shift = amax(x, axes, true);
  // An all -inf (or +inf) slice would give inf - inf = NaN: shift those by 0 instead.
  shift = where(eq(abs(shift), std::numeric_limits<double>::infinity()), zeros_like(shift), shift);
  Tensor result = add(log(sum(exp(sub(x, shift)), axes, true)), shift);
  if (!keepdim) result = result.reshape(result_shape);
  return result;
}

Tensor amax(const Tensor& x, const Dims& axes, bool keepdim) { return extreme_values(x, axes, keepdim, true, "amax"); }
Tensor amin(const Tensor& x, const Dims& axes, bool keepdim) { return extreme_values(x, axes, keepdim, false, "amin"); }
ValuesIndices max(const Tensor& x, int64_t axis, bool keepdim) { return extreme(x, axis, keepdim, true, true, "max"); }
ValuesIndices min(const Tensor& x, int64_t axis, bool keepdim) { return extreme(x, axis, keepdim, false, true, "min"); }
Tensor max(const Tensor& x) { return extreme_values(x, {}, false, true, "max"); }
Tensor min(const Tensor& x) { return extreme_values(x, {}, false, false, "min"); }
Tensor argmax(const Tensor& x, int64_t axis, bool keepdim) {
  return extreme(x, axis, keepdim, true, false, "argmax").indices;
}
Tensor argmin(const Tensor& x, int64_t axis, bool keepdim) {
  return extreme(x, axis, keepdim, false, false, "argmin").indices;
}
Tensor argmax(const Tensor& x) {
  if (!x.defined()) fail("argmax: the input tensor is undefined");
  if (x.numel() == 0) fail("argmax: the tensor of shape {} is empty", x.shape());
  return argmax(x.reshape({-1}), 0, false);
}

Tensor sum_to(const Tensor& x, const Shape& shape) {
  if (!x.defined()) fail("sum_to: the input tensor is undefined");
  if (x.shape() == shape) return x;
  if (broadcast_shapes(x.shape(), shape, "sum_to") != x.shape()) {
    fail("sum_to: shape {} does not broadcast to {}, so {} cannot be summed back to it", shape, x.shape(), x.shape());
  }
  const int64_t lead = x.dim() - shape.size();
  Dims axes;
  for (int64_t i = 0; i < x.dim(); ++i) {
    if (i < lead || (shape[i - lead] == 1 && x.shape()[i] != 1)) axes.push_back(i);
  }
  if (axes.empty()) return x.reshape(shape);
  if (axes.size() == lead && x.is_contiguous() && is_floating(x.dtype()) && x.numel() > 0) {
    // Only leading axes summed away (a bias gradient, [batch, features] -> [features]): x is
    // already the [1, rows, inner] layout sum_kernel reads, so skip the planner, whose set-up
    // costs as much as this whole sum on a training step's small tensors.
    ReduceLayout layout;
    layout.input = x;
    layout.inner = shape_numel(shape);
    layout.reduced = x.numel() / layout.inner;
    Tensor out = Tensor::empty(shape, x.dtype());
    dispatch_floating(x.dtype(), [&](auto tag) {
      using T = decltype(tag);
      sum_kernel<T, T>(layout, out.data<T>());
    });
    return out;
  }
  return sum(x, axes, true).reshape(shape);
}

}  // namespace nabla::kernels
