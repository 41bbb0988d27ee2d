#pragma once
// The one door to BLAS (private). Everything that multiplies matrices calls gemm() here.
#include <cstdint>

namespace nabla::kernels::detail {

// C = alpha * op(A) * op(B) + beta * C, row-major; op(X) is X or X^T per the flag.
// op(A) is m x k, op(B) is k x n, C is m x n; lda/ldb/ldc are row strides in elements.
template <class T>
void gemm(bool transpose_a, bool transpose_b, int64_t m, int64_t n, int64_t k, T alpha,
          const T* a, int64_t lda, const T* b, int64_t ldb, T beta, T* c, int64_t ldc);

// C = op(A) * op(B) + bias, the bias row [n] added to every row of C (a linear layer's output).
template <class T>
void gemm_bias(bool transpose_a, bool transpose_b, int64_t m, int64_t n, int64_t k, const T* a, int64_t lda,
               const T* b, int64_t ldb, const T* bias, T* c, int64_t ldc);

// Tells OpenBLAS how many threads its own pool may use.
void blas_set_num_threads(int n);

}  // namespace nabla::kernels::detail
