#pragma once
// Private: the sum of one contiguous row as sum() computes it over trailing axes (reduce.cpp), for
// kernels that sum rows they hold in a buffer and must agree with sum() to the last bit.
#include <cstdint>

namespace nabla::kernels::detail {

// float32 accumulated in double, then rounded; float64 in double.
template <class T>
T sum_of_row(const T* row, int64_t n);

}  // namespace nabla::kernels::detail
