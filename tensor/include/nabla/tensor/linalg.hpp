#pragma once
// Matrix products on OpenBLAS (sgemm/dgemm). Transposed views are passed to BLAS as transpose
// flags, not copied.
#include <string>

#include "nabla/tensor/tensor.hpp"

namespace nabla::kernels {

// NumPy matmul semantics: 1-d operands are promoted to a row/column and the extra axis removed;
// batch axes (all but the last two) broadcast.
Tensor matmul(const Tensor& a, const Tensor& b);

// A fully connected layer's forward: x [..., in] times weight [out, in] transposed, plus bias [out]
// (optional), in one GEMM with the bias as its initial value.
Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias = {});

}  // namespace nabla::kernels

namespace nabla {

// Name of the OpenBLAS kernel set in use ("SkylakeX", "Haswell", ...).
std::string blas_core_name();

}  // namespace nabla
