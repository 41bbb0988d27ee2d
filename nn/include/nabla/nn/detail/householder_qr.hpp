#pragma once
// The QR decomposition orthogonal_ needs, in float64, with no LAPACK: Householder reflections in
// LAPACK's convention (dgeqrf's R_jj = -sign(a_jj) * |column|), so Q and R are those
// torch.linalg.qr(mode="reduced") gives before any sign fix.
#include <cstdint>
#include <vector>

namespace nabla::nn::detail {

struct QR {
  int64_t rows = 0, cols = 0, k = 0;  // k = min(rows, cols)
  std::vector<double> q;  // rows x k, row-major, orthonormal columns
  std::vector<double> r;  // k x cols, row-major, upper triangular
};

// `a` is rows x cols, row-major.
QR householder_qr(const std::vector<double>& a, int64_t rows, int64_t cols);

}  // namespace nabla::nn::detail
