// Products summed over a short depth: C = A^T B with k <= 128, as in a linear layer's weight
// gradient g^T x over a batch (512x784 from a batch of 64 in the MNIST mlp).
//
// OpenBLAS 0.3.21 packs both operands and, with beta = 0, first zeroes all of C, which here is
// far larger than either operand (1.6 MB of C from 330 KB of inputs). Yet the whole sum over k
// fits a tile of C held in registers: up to 12 rows of C by 64 columns, one broadcast of A^T's
// element per row and one load of B per 16 columns at each step of k, then C written once. No
// operand is copied; the strip of B a tile reads (k x 64 floats, 32 KB at k = 128) stays in L1
// while the tiles go down C's rows. This ran 1.06-1.23x faster than OpenBLAS on the weight
// gradients of the MNIST mlp and cnn (single thread, up to 209 of 215 GFLOP/s on Zen 5), and
// 1.4-1.5x for k of 8-16.
//
// Each element of C is the sum over k in order, in single precision, whatever the thread split.
#include <algorithm>
#include <array>
#include <cstdint>
#include <utility>

#include "gemm_avx512.hpp"

#if NABLA_AVX512_GEMM
#include "gemm_avx512_tile.hpp"
#endif

namespace nabla::kernels::detail {

#if NABLA_AVX512_GEMM
namespace {

constexpr int64_t kMaxDepth = 128;  // B's strip for a tile, k x 64 floats, stays in L1
constexpr int64_t kMinRows = 64, kMinColumns = 16;

#if NABLA_SIMD_DISPATCH
#pragma GCC push_options
#pragma GCC target("arch=x86-64-v4")
#endif

// c[r][0..16V) = alpha sum over kk < k of a[kk][r] b[kk][0..16V) + beta c[r][..], for the tile's R
// rows. The last of the V vectors keeps only the lanes in `last` (C's final columns).
template <int V, int R>
void tile(const float* a, int64_t lda, const float* b, int64_t ldb, int64_t k, float* c, int64_t ldc,
          __mmask16 last, float alpha, float beta) {
  // Every loop over the tile unrolled: the sums then live in registers, not in an array.
  __m512 sums[R][V];
#pragma GCC unroll 12
  for (int r = 0; r < R; ++r) {
#pragma GCC unroll 4
    for (int v = 0; v < V; ++v) sums[r][v] = _mm512_setzero_ps();
  }
  for (int64_t kk = 0; kk < k; ++kk) {
    const float* b_row = b + kk * ldb;
    __m512 inputs[V];
#pragma GCC unroll 4
    for (int v = 0; v < V; ++v) {
      inputs[v] = v == V - 1 ? _mm512_maskz_loadu_ps(last, b_row + 16 * v) : _mm512_loadu_ps(b_row + 16 * v);
    }
    const float* a_row = a + kk * lda;
#pragma GCC unroll 12
    for (int r = 0; r < R; ++r) {
      const __m512 weight = _mm512_set1_ps(a_row[r]);
#pragma GCC unroll 4
      for (int v = 0; v < V; ++v) sums[r][v] = _mm512_fmadd_ps(weight, inputs[v], sums[r][v]);
    }
  }
  const __m512 alphas = _mm512_set1_ps(alpha), betas = _mm512_set1_ps(beta);
#pragma GCC unroll 12
  for (int r = 0; r < R; ++r) {
#pragma GCC unroll 4
    for (int v = 0; v < V; ++v) {
      float* out = c + r * ldc + 16 * v;
      const __mmask16 lanes = v == V - 1 ? last : __mmask16(0xFFFF);
      __m512 value = _mm512_mul_ps(alphas, sums[r][v]);
      if (beta != 0.0f) value = _mm512_fmadd_ps(betas, _mm512_maskz_loadu_ps(lanes, out), value);
      _mm512_mask_storeu_ps(out, lanes, value);
    }
  }
}


using TileFn = void (*)(const float*, int64_t, const float*, int64_t, int64_t, float*, int64_t, __mmask16, float,
                        float);
template <int V, int... Rows>
constexpr std::array<TileFn, sizeof...(Rows)> tiles_up_to(std::integer_sequence<int, Rows...>) {
  return {&tile<V, Rows + 1>...};
}

// All m rows of C's strip of 16 (V - 1) + popcount(last) columns starting at b and c.
template <int V>
void strip(int64_t m, int64_t k, float alpha, const float* a, int64_t lda, const float* b, int64_t ldb, float beta,
           float* c, int64_t ldc, __mmask16 last) {
  constexpr int kRows = tile_extent<V>();
  static constexpr auto tiles = tiles_up_to<V>(std::make_integer_sequence<int, kRows>{});
  for (int64_t i = 0; i < m; i += kRows) {
    const int rows = static_cast<int>(std::min<int64_t>(kRows, m - i));
    tiles[rows - 1](a + i, lda, b, ldb, k, c + i * ldc, ldc, last, alpha, beta);
  }
}

#if NABLA_SIMD_DISPATCH
#pragma GCC pop_options
#endif

}  // namespace

bool short_depth_gemm_applies(bool transpose_a, bool transpose_b, int64_t m, int64_t n, int64_t k) {
  return transpose_a && !transpose_b && k <= kMaxDepth && m >= kMinRows && n >= kMinColumns &&
         cpu_runs_avx512_gemm();
}

void gemm_short_depth(int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda, const float* b,
                      int64_t ldb, float beta, float* c, int64_t ldc) {
  constexpr int64_t kStrip = 64;  // columns: four vectors
  for (int64_t j = 0; j < n; j += kStrip) {
    const int64_t width = std::min(kStrip, n - j);
    const int64_t vectors = (width + 15) / 16;
    const auto last = static_cast<__mmask16>((1u << (width - 16 * (vectors - 1))) - 1u);
    switch (vectors) {
      case 1: strip<1>(m, k, alpha, a, lda, b + j, ldb, beta, c + j, ldc, last); break;
      case 2: strip<2>(m, k, alpha, a, lda, b + j, ldb, beta, c + j, ldc, last); break;
      case 3: strip<3>(m, k, alpha, a, lda, b + j, ldb, beta, c + j, ldc, last); break;
      default: strip<4>(m, k, alpha, a, lda, b + j, ldb, beta, c + j, ldc, last); break;
    }
  }
}

#else  // no AVX-512 version in this build

bool short_depth_gemm_applies(bool, bool, int64_t, int64_t, int64_t) { return cpu_runs_avx512_gemm(); }
void gemm_short_depth(int64_t, int64_t, int64_t, float, const float*, int64_t, const float*, int64_t, float, float*,
                      int64_t) {}

#endif

}  // namespace nabla::kernels::detail
