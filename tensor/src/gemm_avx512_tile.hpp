#pragma once
// Private, for the sources of the AVX-512 GEMM kernels (gemm_few_rows.cpp, gemm_short_depth.cpp)
// when NABLA_AVX512_GEMM: the intrinsics, and the register budget both kernels' tiles keep to.
#include <immintrin.h>

// GCC 12's AVX-512 intrinsics start some results from _mm512_undefined_ps(), which
// -Wuninitialized reports wherever they are inlined.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

namespace nabla::kernels::detail {

// A tile's other side, for V vectors along one side: 24 sums (of 32 registers) for V = 2..4, and
// no more than 12 for V = 1, each a row or column of a matrix that the prefetchers must follow.
template <int V>
constexpr int tile_extent() {
  return V == 4 ? 6 : V == 3 ? 8 : 12;
}

}  // namespace nabla::kernels::detail
