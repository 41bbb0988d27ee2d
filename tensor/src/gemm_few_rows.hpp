#pragma once
// Private: float products whose op(A) has few rows (16 to 64: a batch of inputs times a weight
// matrix), computed without BLAS on CPUs with AVX-512. See gemm_few_rows.cpp for why.
#include <cstdint>

namespace nabla::kernels::detail {

// Whether gemm_few_rows takes this product: float, op(A) = A with 16 to 64 rows, n and k at least
// 64, and a CPU with AVX-512. Elsewhere OpenBLAS is as fast or faster.
bool few_rows_gemm_applies(bool transpose_a, int64_t m, int64_t n, int64_t k);

// C = alpha A op(B) + beta C, plus bias[j] in every row's column j when bias is not null, for A
// [m x k] row-major (lda) and op(B) [k x n] (B or B^T per transpose_b, row stride ldb). C is not
// read when beta is 0. Only for products few_rows_gemm_applies takes.
void gemm_few_rows(bool transpose_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
                   const float* b, int64_t ldb, float beta, const float* bias, float* c, int64_t ldc);

}  // namespace nabla::kernels::detail
