#pragma once
// Private: the sum of one contiguous row as sum() computes it over trailing axes (reduce.cpp), for
// kernels that sum rows they hold in a buffer and must agree with sum() to the last bit.
#include <cstdint>

namespace nabla::kernels::detail {

// float32 accumulated in double, then rounded; float64 in double.
template <class T>
T sum_of_row(const T* row, int64_t n);

// One row of relu_backward(gy, y) (0 where y <= 0, so a NaN output passes its gradient) into
// `out`, and its sum as sum() over the trailing axes computes it: relu's gradient and the first
// step of a bias gradient, for kernels that fold them into their own reading of gy.
template <class T>
T relu_gradient_row(const T* __restrict gy, const T* __restrict y, T* __restrict out, int64_t n) {
  for (int64_t l = 0; l < n; ++l) {
    const T g = gy[l];  // read whether or not it is kept, so that the loop is vectorised
    out[l] = y[l] <= T(0) ? T(0) : g;
  }
  return sum_of_row(out, n);
}

}  // namespace nabla::kernels::detail
