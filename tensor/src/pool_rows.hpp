#pragma once
// Private: one output row of the common 2x2, stride-2 max pooling, shared by the pooling kernel
// (conv_kernels.cpp) and the Winograd output transform that pools as it writes (winograd.cpp).
#include <cstdint>

namespace nabla::kernels::detail {

// The common 2x2, stride-2 window without padding, one output row from two input rows: written
// so that it vectorises. The same rule as the general kernel: the first of equal maxima wins, and
// the first NaN wins and propagates. Indices count from first_index (the top row's first value)
// in a plane in_w wide: top and bottom may be rows of a scratch buffer standing for that plane.
template <class T, bool kIndices>
inline void max_pool_2x2_row(const T* __restrict top, const T* __restrict bottom, T* __restrict values,
                             int64_t* __restrict indices, int64_t first_index, int64_t in_w, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    T best = top[2 * i];
    int64_t best_index = first_index + 2 * i;
    const T candidates[3] = {top[2 * i + 1], bottom[2 * i], bottom[2 * i + 1]};
    const int64_t offsets[3] = {1, in_w, in_w + 1};
    for (int k = 0; k < 3; ++k) {
      const T v = candidates[k];
      const bool take = v > best || (v != v && best == best);
      best = take ? v : best;
      best_index = take ? first_index + 2 * i + offsets[k] : best_index;
    }
    values[i] = best;
    if constexpr (kIndices) indices[i] = best_index;
  }
}

}  // namespace nabla::kernels::detail
