#pragma once
// Private: the float products nabla computes itself on CPUs with AVX-512, for shapes on which
// OpenBLAS 0.3.21 stays well below the hardware's peak: a batch of 16 to 64 rows times a weight
// matrix (gemm_few_rows.cpp), and a sum over a short depth of k <= 128, a weight gradient over a
// batch (gemm_short_depth.cpp). blas.cpp sends each product here when the *_applies test says so.
#include <cstdint>

#include "nabla/tensor/simd.hpp"  // NABLA_SIMD_DISPATCH

// 1 when this build has the AVX-512 versions: compiled beside the baseline code and chosen at run
// time (NABLA_SIMD_DISPATCH), or the whole build is for an AVX-512 -march.
#if NABLA_SIMD_DISPATCH || defined(__AVX512F__)
#define NABLA_AVX512_GEMM 1
#else
#define NABLA_AVX512_GEMM 0
#endif

namespace nabla::kernels::detail {

// Whether this CPU runs the AVX-512 versions (and this build has them).
bool cpu_runs_avx512_gemm();

// Whether gemm_few_rows takes this product: op(A) = A with 16 to 64 rows, n and k at least 64, on
// an AVX-512 CPU. Elsewhere OpenBLAS is as fast or faster.
bool few_rows_gemm_applies(bool transpose_a, int64_t m, int64_t n, int64_t k);

// C = alpha A op(B) + beta C, plus bias[j] in every row's column j when bias is not null, for A
// [m x k] row-major (lda) and op(B) [k x n] (B or B^T per transpose_b, row stride ldb). C is not
// read when beta is 0. Only for products few_rows_gemm_applies takes.
void gemm_few_rows(bool transpose_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
                   const float* b, int64_t ldb, float beta, const float* bias, float* c, int64_t ldc);

// Whether gemm_short_depth takes this product: op(A) = A^T and op(B) = B (a weight gradient g^T x),
// k at most 128, m at least 64 and n at least 16, on an AVX-512 CPU.
bool short_depth_gemm_applies(bool transpose_a, bool transpose_b, int64_t m, int64_t n, int64_t k);

// C = alpha A^T B + beta C for A [k x m] (lda) and B [k x n] (ldb), both row-major. C is not read
// when beta is 0. Only for products short_depth_gemm_applies takes.
void gemm_short_depth(int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda, const float* b,
                      int64_t ldb, float beta, float* c, int64_t ldc);

}  // namespace nabla::kernels::detail
