// Products whose left operand has few rows: a batch of 16 to 64 inputs times a weight matrix, as
// in a linear layer's forward (x W^T) and its input gradient (g W).
//
// OpenBLAS 0.3.21's AVX-512 kernels run these at 65-75 % of a core's peak (Zen 5: 135-155 of
// 215 GFLOP/s on 64x512x784), because each call packs all of op(B), the weight matrix, into
// panels before multiplying. Computed as its transpose instead, C^T = op(B)^T A^T, the batch lies
// across the lanes of up to four vectors, a tile of C^T (up to 12 outputs by the whole batch)
// stays in registers for a block of k, and each weight is read once, straight from B, as a
// broadcast: nothing of B is copied. Only A (the batch, k x 64 floats per block) is packed,
// transposed, and C^T goes back through a 16x16 transpose that also applies alpha, beta and a
// bias. This ran 1.2-1.3x faster than OpenBLAS on the shapes of the MNIST mlp, cnn and lstm (single
// thread, 180-199 GFLOP/s) and 1.3-1.9x on batches of 16-48; on smaller n or k it is no faster,
// so those stay with OpenBLAS (few_rows_gemm_applies).
//
// Each element of C is the sum over k in order, in single precision, whatever the thread split.
#include "gemm_avx512.hpp"

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <utility>
#include <vector>

#include "nabla/tensor/error.hpp"

#if NABLA_AVX512_GEMM
#include "gemm_avx512_tile.hpp"
#endif

namespace nabla::kernels::detail {

namespace {

// NABLA_GEMM=openblas sends every product to OpenBLAS (to compare results or speed with it);
// unset or auto lets nabla's kernels take the shapes they are faster on.
bool nabla_gemm_allows_own_kernels() {
  const char* requested = std::getenv("NABLA_GEMM");
  const std::string_view choice = requested ? requested : "";
  if (choice.empty() || choice == "auto") return true;
  if (choice == "openblas") return false;
  fail("NABLA_GEMM={}: expected openblas (every matrix product on OpenBLAS) or auto (unset: nabla's AVX-512 "
       "kernels where they are faster)",
       choice);
}

// Whether the CPU runs this build's AVX-512 versions (false when the build has none).
bool cpu_has_avx512_version() {
#if !NABLA_AVX512_GEMM
  return false;
#elif NABLA_SIMD_DISPATCH
  __builtin_cpu_init();
  return __builtin_cpu_supports("x86-64-v4") != 0;
#else
  return true;  // compiled for AVX-512 (-march)
#endif
}

}  // namespace

bool cpu_runs_avx512_gemm() {
  static const bool runs = nabla_gemm_allows_own_kernels() && cpu_has_avx512_version();
  return runs;
}

#if NABLA_AVX512_GEMM
namespace {

constexpr int64_t kMinRows = 16, kMaxRows = 64;  // of A: one to four vectors of 16 lanes
constexpr int64_t kMinSize = 64;                 // n and k: below this OpenBLAS was as fast
// k per block: the packed block of A^T (kDepth x 64 floats, 64 KB) stays in L2 while the tiles
// stream B past it.
constexpr int64_t kDepth = 256;
// Columns of C per chunk: the chunk of C^T (kWidth x 64 floats) waits in a buffer until its last
// block of k, then is transposed into C.
constexpr int64_t kWidth = 256;

// A thread's scratch, grown as needed and kept, aligned for whole-vector loads.
class AlignedBuffer {
 public:
  float* get(int64_t floats) {
    if (static_cast<int64_t>(storage_.size()) < floats + 16) storage_.resize(static_cast<size_t>(floats + 16));
    const auto address = reinterpret_cast<uintptr_t>(storage_.data());
    return reinterpret_cast<float*>((address + 63) & ~uintptr_t{63});
  }

 private:
  std::vector<float> storage_;
};

#if NABLA_SIMD_DISPATCH
#pragma GCC push_options
#pragma GCC target("arch=x86-64-v4")
#endif

// t[r][0..16V) (+)= sum over kk < depth of op(B)[kk][r] * at[kk][0..16V), for the tile's R
// columns of op(B), which start at b and step by b_column (B^T: ldb; B: 1); b_depth steps kk.
// accumulate: add to what t holds (a later block of k) rather than start from zero.
template <int V, int R>
void tile(const float* b, int64_t b_column, int64_t b_depth, const float* at, int64_t depth, float* t,
          bool accumulate) {
  constexpr int64_t kPitch = 16 * V;
  __m512 sums[R][V];
  // Every loop over the tile unrolled: the sums then live in registers, not in an array.
#pragma GCC unroll 12
  for (int r = 0; r < R; ++r) {
#pragma GCC unroll 4
    for (int v = 0; v < V; ++v) sums[r][v] = accumulate ? _mm512_load_ps(t + r * kPitch + 16 * v) : _mm512_setzero_ps();
  }
  for (int64_t kk = 0; kk < depth; ++kk) {
    __m512 batch[V];
#pragma GCC unroll 4
    for (int v = 0; v < V; ++v) batch[v] = _mm512_load_ps(at + kk * kPitch + 16 * v);
    const float* weights = b + kk * b_depth;
#pragma GCC unroll 12
    for (int r = 0; r < R; ++r) {
      const __m512 weight = _mm512_set1_ps(weights[r * b_column]);
#pragma GCC unroll 4
      for (int v = 0; v < V; ++v) sums[r][v] = _mm512_fmadd_ps(weight, batch[v], sums[r][v]);
    }
  }
#pragma GCC unroll 12
  for (int r = 0; r < R; ++r) {
#pragma GCC unroll 4
    for (int v = 0; v < V; ++v) _mm512_store_ps(t + r * kPitch + 16 * v, sums[r][v]);
  }
}


using TileFn = void (*)(const float*, int64_t, int64_t, const float*, int64_t, float*, bool);
template <int V, int... Columns>
constexpr std::array<TileFn, sizeof...(Columns)> tiles_up_to(std::integer_sequence<int, Columns...>) {
  return {&tile<V, Columns + 1>...};
}

// The 16x16 transpose of the rows in[0..16) (one vector each). Inlined, so that the vectors stay
// in registers.
[[gnu::always_inline]] inline void transpose16(__m512 (&in)[16]) {
  __m512 pairs[16];
  for (int i = 0; i < 8; ++i) {
    pairs[2 * i] = _mm512_unpacklo_ps(in[2 * i], in[2 * i + 1]);
    pairs[2 * i + 1] = _mm512_unpackhi_ps(in[2 * i], in[2 * i + 1]);
  }
  for (int i = 0; i < 4; ++i) {
    const __m512d a = _mm512_castps_pd(pairs[4 * i]), b = _mm512_castps_pd(pairs[4 * i + 1]);
    const __m512d c = _mm512_castps_pd(pairs[4 * i + 2]), d = _mm512_castps_pd(pairs[4 * i + 3]);
    in[4 * i] = _mm512_castpd_ps(_mm512_unpacklo_pd(a, c));
    in[4 * i + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(a, c));
    in[4 * i + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(b, d));
    in[4 * i + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(b, d));
  }
  // in[4i + q] now holds, in its 128-bit lane L, column 4L + q of rows 4i..4i+3.
  for (int q = 0; q < 4; ++q) {
    const __m512 low01 = _mm512_shuffle_f32x4(in[q], in[4 + q], 0x44), high01 = _mm512_shuffle_f32x4(in[q], in[4 + q], 0xEE);
    const __m512 low23 = _mm512_shuffle_f32x4(in[8 + q], in[12 + q], 0x44);
    const __m512 high23 = _mm512_shuffle_f32x4(in[8 + q], in[12 + q], 0xEE);
    pairs[q] = _mm512_shuffle_f32x4(low01, low23, 0x88);
    pairs[4 + q] = _mm512_shuffle_f32x4(low01, low23, 0xDD);
    pairs[8 + q] = _mm512_shuffle_f32x4(high01, high23, 0x88);
    pairs[12 + q] = _mm512_shuffle_f32x4(high01, high23, 0xDD);
  }
  for (int i = 0; i < 16; ++i) in[i] = pairs[i];
}

// at[kk][i] = a[i][kk] for kk < depth, i < m, and 0 for m <= i < pitch (the lanes past the batch).
// Sixteen rows at a time along k: sixteen streams the prefetchers follow (all 64 rows at once were
// too many for them).
void pack_transposed(const float* a, int64_t lda, int64_t m, int64_t depth, float* at, int64_t pitch) {
  const int64_t whole = depth / 16 * 16;
  for (int64_t i0 = 0; i0 < pitch; i0 += 16) {
    const int64_t rows = std::min<int64_t>(16, m - i0);
    for (int64_t kk = 0; kk < whole; kk += 16) {
      __m512 block[16];
      for (int i = 0; i < 16; ++i) block[i] = i < rows ? _mm512_loadu_ps(a + (i0 + i) * lda + kk) : _mm512_setzero_ps();
      transpose16(block);
      for (int q = 0; q < 16; ++q) _mm512_store_ps(at + (kk + q) * pitch + i0, block[q]);
    }
  }
  for (int64_t kk = whole; kk < depth; ++kk) {
    for (int64_t i = 0; i < pitch; ++i) at[kk * pitch + i] = i < m ? a[i * lda + kk] : 0.0f;
  }
}

struct Epilogue {
  float alpha, beta;
  const float* bias;  // of the chunk's columns, or null
  float apply(float sum, int64_t j, const float* old) const {
    float value = alpha * sum + (bias ? bias[j] : 0.0f);
    return beta == 0.0f ? value : value + beta * *old;
  }
};

// c[i][j] = epilogue(t[j][i]) for j < width, i < m: the chunk of C^T (pitch floats per column of C)
// into C. Sixteen rows of C at a time, each written along the chunk: when C's rows are far apart
// (the cnn's fc1 input gradient, 64 x 9216), writing 16 columns of all 64 rows in turn kept 64
// store streams open and ran that product at 150 GFLOP/s; this order, 170 (single thread).
void unpack_transposed(const float* t, int64_t pitch, int64_t width, int64_t m, const Epilogue& e, float* c,
                       int64_t ldc) {
  const __m512 alpha = _mm512_set1_ps(e.alpha), beta = _mm512_set1_ps(e.beta);
  const int64_t whole = width / 16 * 16;
  for (int64_t i0 = 0; i0 < m; i0 += 16) {
    for (int64_t j0 = 0; j0 < whole; j0 += 16) {
      const __m512 bias = e.bias ? _mm512_loadu_ps(e.bias + j0) : _mm512_setzero_ps();
      __m512 block[16];
      for (int j = 0; j < 16; ++j) block[j] = _mm512_load_ps(t + (j0 + j) * pitch + i0);
      transpose16(block);
      const int64_t rows = std::min<int64_t>(16, m - i0);
      for (int64_t i = 0; i < rows; ++i) {
        float* out = c + (i0 + i) * ldc + j0;
        __m512 value = _mm512_fmadd_ps(alpha, block[i], bias);
        if (e.beta != 0.0f) value = _mm512_fmadd_ps(beta, _mm512_loadu_ps(out), value);
        _mm512_storeu_ps(out, value);
      }
    }
  }
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t j = whole; j < width; ++j) c[i * ldc + j] = e.apply(t[j * pitch + i], j, c + i * ldc + j);
  }
}

// The product with V vectors of batch (m <= 16 V).
template <int V>
void multiply(bool transpose_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
              const float* b, int64_t ldb, float beta, const float* bias, float* c, int64_t ldc) {
  constexpr int64_t kPitch = 16 * V;
  constexpr int kColumns = tile_extent<V>();
  static constexpr auto tiles = tiles_up_to<V>(std::make_integer_sequence<int, kColumns>{});
  // Reused between calls: 64 KB each at most.
  thread_local AlignedBuffer packed_buffer, sums_buffer;
  float* packed = packed_buffer.get(std::min(k, kDepth) * kPitch);
  float* sums = sums_buffer.get(std::min(n, kWidth) * kPitch);
  const int64_t b_column = transpose_b ? ldb : 1, b_depth = transpose_b ? 1 : ldb;
  // One block of k is packed once for all chunks; more are packed again for each chunk.
  const bool one_block = k <= kDepth;
  if (one_block) pack_transposed(a, lda, m, k, packed, kPitch);
  for (int64_t j0 = 0; j0 < n; j0 += kWidth) {
    const int64_t width = std::min(kWidth, n - j0);
    for (int64_t k0 = 0; k0 < k; k0 += kDepth) {
      const int64_t depth = std::min(kDepth, k - k0);
      if (!one_block) pack_transposed(a + k0, lda, m, depth, packed, kPitch);
      for (int64_t j = 0; j < width; j += kColumns) {
        const int columns = static_cast<int>(std::min<int64_t>(kColumns, width - j));
        tiles[columns - 1](b + (j0 + j) * b_column + k0 * b_depth, b_column, b_depth, packed, depth,
                           sums + j * kPitch, k0 > 0);
      }
    }
    unpack_transposed(sums, kPitch, width, m, Epilogue{alpha, beta, bias ? bias + j0 : nullptr}, c + j0, ldc);
  }
}

#if NABLA_SIMD_DISPATCH
#pragma GCC pop_options
#endif

}  // namespace

bool few_rows_gemm_applies(bool transpose_a, int64_t m, int64_t n, int64_t k) {
  return !transpose_a && m >= kMinRows && m <= kMaxRows && n >= kMinSize && k >= kMinSize && cpu_runs_avx512_gemm();
}

void gemm_few_rows(bool transpose_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
                   const float* b, int64_t ldb, float beta, const float* bias, float* c, int64_t ldc) {
  switch ((m + 15) / 16) {
    case 1: return multiply<1>(transpose_b, m, n, k, alpha, a, lda, b, ldb, beta, bias, c, ldc);
    case 2: return multiply<2>(transpose_b, m, n, k, alpha, a, lda, b, ldb, beta, bias, c, ldc);
    case 3: return multiply<3>(transpose_b, m, n, k, alpha, a, lda, b, ldb, beta, bias, c, ldc);
    default: return multiply<4>(transpose_b, m, n, k, alpha, a, lda, b, ldb, beta, bias, c, ldc);
  }
}

#else  // no AVX-512 version in this build

// Still reads NABLA_GEMM, so that a wrong value is reported on every machine.
bool few_rows_gemm_applies(bool, int64_t, int64_t, int64_t) { return cpu_runs_avx512_gemm(); }
void gemm_few_rows(bool, int64_t, int64_t, int64_t, float, const float*, int64_t, const float*, int64_t, float,
                   const float*, float*, int64_t) {}

#endif

}  // namespace nabla::kernels::detail
