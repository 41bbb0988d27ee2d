// Householder QR in float64 (LAPACK's dgeqrf and dorgqr, unblocked): small matrices only, for
// initialisation, so clarity over speed.
#include "nabla/nn/detail/householder_qr.hpp"

#include <cmath>

#include "nabla/tensor/error.hpp"

namespace nabla::nn::detail {

QR householder_qr(const std::vector<double>& a, int64_t rows, int64_t cols) {
  if (rows < 0 || cols < 0 || static_cast<int64_t>(a.size()) != rows * cols) {
    fail("householder_qr: {} values do not make a {} x {} matrix", a.size(), rows, cols);
  }
  const int64_t k = std::min(rows, cols);
  std::vector<double> work = a;  // R grows in the upper triangle, the reflectors below the diagonal
  auto at = [&](int64_t i, int64_t j) -> double& { return work[static_cast<size_t>(i * cols + j)]; };
  std::vector<double> tau(static_cast<size_t>(k), 0.0);

  for (int64_t j = 0; j < k; ++j) {
    // dlarfg: the reflector H = I - tau v v^T (v_0 = 1) that maps column j below the diagonal to
    // beta e_0, beta = -sign(alpha) * norm.
    const double alpha = at(j, j);
    double xnorm = 0.0;
    for (int64_t i = j + 1; i < rows; ++i) xnorm = std::hypot(xnorm, at(i, j));
    if (xnorm == 0.0) continue;  // already zero below the diagonal: H = I (tau 0)
    const double beta = -std::copysign(std::hypot(alpha, xnorm), alpha);
    tau[static_cast<size_t>(j)] = (beta - alpha) / beta;
    const double scale = 1.0 / (alpha - beta);
    for (int64_t i = j + 1; i < rows; ++i) at(i, j) *= scale;
    at(j, j) = beta;
    // apply H to the columns on the right: A -= tau v (v^T A)
    for (int64_t c = j + 1; c < cols; ++c) {
      double dot = at(j, c);
      for (int64_t i = j + 1; i < rows; ++i) dot += at(i, j) * at(i, c);
      dot *= tau[static_cast<size_t>(j)];
      at(j, c) -= dot;
      for (int64_t i = j + 1; i < rows; ++i) at(i, c) -= dot * at(i, j);
    }
  }

  QR out;
  out.rows = rows, out.cols = cols, out.k = k;
  out.r.assign(static_cast<size_t>(k * cols), 0.0);
  for (int64_t i = 0; i < k; ++i) {
    for (int64_t j = i; j < cols; ++j) out.r[static_cast<size_t>(i * cols + j)] = at(i, j);
  }
  // dorg2r: Q = H_0 H_1 ... H_{k-1} applied to the first k columns of the identity, from the last
  // reflector to the first.
  out.q.assign(static_cast<size_t>(rows * k), 0.0);
  auto q = [&](int64_t i, int64_t j) -> double& { return out.q[static_cast<size_t>(i * k + j)]; };
  for (int64_t i = 0; i < k; ++i) q(i, i) = 1.0;
  for (int64_t j = k - 1; j >= 0; --j) {
    const double t = tau[static_cast<size_t>(j)];
    if (t == 0.0) continue;
    for (int64_t c = 0; c < k; ++c) {
      double dot = q(j, c);
      for (int64_t i = j + 1; i < rows; ++i) dot += at(i, j) * q(i, c);
      dot *= t;
      q(j, c) -= dot;
      for (int64_t i = j + 1; i < rows; ++i) q(i, c) -= dot * at(i, j);
    }
  }
  return out;
}

}  // namespace nabla::nn::detail
