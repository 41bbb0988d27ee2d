#pragma once
// Private: the strided iteration every element-wise kernel runs on. Operands are described by
// their element strides in the output's index space (0 along broadcast axes); adjacent axes
// that are contiguous for every operand are merged, so a contiguous tensor is one flat loop.
#include <algorithm>
#include <array>
#include <cstdint>

#include "nabla/tensor/dims.hpp"
#include "nabla/tensor/tensor.hpp"
#include "nabla/tensor/threads.hpp"

namespace nabla::kernels::detail {

// Elements per chunk below which a kernel stays on one thread.
constexpr int64_t kParallelGrain = 8192;

template <int K>
struct LoopPlan {
  Shape shape;                       // merged iteration shape (innermost last)
  std::array<Strides, K> strides;    // per operand
};

// Strides of `x` when broadcast to `shape` (x's shape must broadcast to it).
inline Strides broadcast_strides(const Tensor& x, const Shape& shape) {
  Strides out = Dims::filled(shape.size(), 0);
  const int64_t lead = shape.size() - x.dim();
  for (int64_t i = 0; i < x.dim(); ++i) {
    out[lead + i] = x.shape()[i] == 1 ? 0 : x.strides()[i];
  }
  return out;
}

template <int K>
LoopPlan<K> make_plan(const Shape& shape, const std::array<Strides, K>& strides) {
  LoopPlan<K> plan;
  for (int64_t axis = 0; axis < shape.size(); ++axis) {
    if (shape[axis] == 1) continue;  // size-1 axes contribute nothing
    const int64_t last = plan.shape.size() - 1;
    bool mergeable = last >= 0;
    for (int k = 0; k < K && mergeable; ++k) {
      mergeable = plan.strides[k][last] == strides[k][axis] * shape[axis];
    }
    if (mergeable) {
      plan.shape[last] *= shape[axis];
      for (int k = 0; k < K; ++k) plan.strides[k][last] = strides[k][axis];
    } else {
      plan.shape.push_back(shape[axis]);
      for (int k = 0; k < K; ++k) plan.strides[k].push_back(strides[k][axis]);
    }
  }
  if (plan.shape.empty()) {  // a single element
    plan.shape.push_back(1);
    for (int k = 0; k < K; ++k) plan.strides[k].push_back(0);
  }
  return plan;
}

// Calls inner(offsets, n, inner_strides) for every innermost row of the plan, where offsets are
// each operand's element offset at the row start. Rows are split across threads when large.
template <int K, class Inner>
void for_each_row(const LoopPlan<K>& plan, Inner&& inner) {
  const int64_t ndim = plan.shape.size();
  const int64_t row_length = plan.shape[ndim - 1];
  std::array<int64_t, K> inner_strides;
  for (int k = 0; k < K; ++k) inner_strides[k] = plan.strides[k][ndim - 1];
  int64_t rows = 1;
  for (int64_t i = 0; i + 1 < ndim; ++i) rows *= plan.shape[i];

  if (rows == 1) {
    // One long row: split the row itself.
    const int64_t grain = kParallelGrain;
    parallel_for(0, row_length, grain, [&](int64_t lo, int64_t hi) {
      std::array<int64_t, K> offsets;
      for (int k = 0; k < K; ++k) offsets[k] = lo * inner_strides[k];
      inner(offsets, hi - lo, inner_strides);
    });
    return;
  }
  const int64_t grain = std::max<int64_t>(1, kParallelGrain / std::max<int64_t>(row_length, 1));
  parallel_for(0, rows, grain, [&](int64_t lo, int64_t hi) {
    // Decompose the first row index into a multi-index over the outer axes.
    std::array<int64_t, Dims::kMaxDims> index{};
    int64_t rest = lo;
    for (int64_t axis = ndim - 2; axis >= 0; --axis) {
      index[static_cast<size_t>(axis)] = rest % plan.shape[axis];
      rest /= plan.shape[axis];
    }
    std::array<int64_t, K> offsets{};
    for (int k = 0; k < K; ++k) {
      for (int64_t axis = 0; axis + 1 < ndim; ++axis) offsets[k] += index[static_cast<size_t>(axis)] * plan.strides[k][axis];
    }
    for (int64_t row = lo; row < hi; ++row) {
      inner(offsets, row_length, inner_strides);
      // Advance the multi-index (odometer), updating offsets incrementally.
      for (int64_t axis = ndim - 2; axis >= 0; --axis) {
        const size_t a = static_cast<size_t>(axis);
        if (++index[a] < plan.shape[axis]) {
          for (int k = 0; k < K; ++k) offsets[k] += plan.strides[k][axis];
          break;
        }
        for (int k = 0; k < K; ++k) offsets[k] -= (plan.shape[axis] - 1) * plan.strides[k][axis];
        index[a] = 0;
      }
    }
  });
}

// out = op(x) element-wise; out is a fresh contiguous tensor of x's shape (or broadcast shape).
// Tout/Tin are C++ types; out and x already allocated/broadcast by the caller.
template <class Tout, class Tin, class Op>
void unary_loop(const Tensor& out, const Tensor& x, Op op) {
  Tout* po = static_cast<Tout*>(out.raw_data());
  const Tin* px = static_cast<const Tin*>(x.raw_data());
  auto plan = make_plan<2>(out.shape(), {out.strides(), broadcast_strides(x, out.shape())});
  for_each_row<2>(plan, [&](const std::array<int64_t, 2>& off, int64_t n, const std::array<int64_t, 2>& st) {
    // A copy of op on this frame: its captures (a slope, a scale) then cannot alias the output,
    // so they stay in registers and the loops vectorise; through `op` they are reloaded after
    // every store.
    const Op f = op;
    Tout* o = po + off[0];
    const Tin* a = px + off[1];
    if (st[0] == 1 && st[1] == 1) {
      for (int64_t i = 0; i < n; ++i) o[i] = f(a[i]);
    } else if (st[0] == 1 && st[1] == 0) {
      const Tout v = f(a[0]);
      for (int64_t i = 0; i < n; ++i) o[i] = v;
    } else {
      for (int64_t i = 0; i < n; ++i) o[i * st[0]] = f(a[i * st[1]]);
    }
  });
}

template <class Tout, class Tin, class Op>
void binary_loop(const Tensor& out, const Tensor& x, const Tensor& y, Op op) {
  Tout* po = static_cast<Tout*>(out.raw_data());
  const Tin* px = static_cast<const Tin*>(x.raw_data());
  const Tin* py = static_cast<const Tin*>(y.raw_data());
  auto plan = make_plan<3>(out.shape(), {out.strides(), broadcast_strides(x, out.shape()),
                                         broadcast_strides(y, out.shape())});
  for_each_row<3>(plan, [&](const std::array<int64_t, 3>& off, int64_t n, const std::array<int64_t, 3>& st) {
    const Op f = op;  // as in unary_loop: captures kept out of the output's reach
    Tout* o = po + off[0];
    const Tin* a = px + off[1];
    const Tin* b = py + off[2];
    if (st[0] == 1 && st[1] == 1 && st[2] == 1) {
      for (int64_t i = 0; i < n; ++i) o[i] = f(a[i], b[i]);
    } else if (st[0] == 1 && st[1] == 1 && st[2] == 0) {
      const Tin bv = b[0];
      for (int64_t i = 0; i < n; ++i) o[i] = f(a[i], bv);
    } else if (st[0] == 1 && st[1] == 0 && st[2] == 1) {
      const Tin av = a[0];
      for (int64_t i = 0; i < n; ++i) o[i] = f(av, b[i]);
    } else {
      for (int64_t i = 0; i < n; ++i) o[i * st[0]] = f(a[i * st[1]], b[i * st[2]]);
    }
  });
}

// Copies (with conversion) src into dst; src broadcasts to dst's shape.
void copy_into(const Tensor& dst, const Tensor& src);

}  // namespace nabla::kernels::detail
