#pragma once
// Private: math over contiguous arrays in vectorised loops (defined in elementwise.cpp, compiled
// for every instruction set NABLA_SIMD_CLONES builds).
#include <cstdint>

namespace nabla::kernels::detail {

// out[i] = exp(in[i]) for i in [0, n), within 2 ulp of std::exp (NaN stays NaN, overflow gives
// inf, underflow 0). The arrays must not overlap.
void exp_floats(const float* __restrict in, float* __restrict out, int64_t n);

}  // namespace nabla::kernels::detail
