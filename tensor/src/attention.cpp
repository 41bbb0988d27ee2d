// Scaled dot-product attention (nabla/tensor/fused_layers.hpp): for each (batch, head) pair, the
// scores q k^T, the masked softmax and the weighted sum of v in one pass over one [L, S] block,
// the pairs in parallel. Tiny blocks (a vision transformer's 16 x 16 x 16) use plain loops: an
// OpenBLAS call costs more than their arithmetic.
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "blas.hpp"
#include "fast_math.hpp"
#include "nabla/tensor/elementwise.hpp"
#include "nabla/tensor/factories.hpp"
#include "nabla/tensor/fused_layers.hpp"
#include "nabla/tensor/threads.hpp"

namespace nabla::kernels {

namespace {

// C = alpha op(A) op(B) + beta C (row-major, as detail::gemm): BLAS for big blocks, loops for tiny.
template <class T>
void block_gemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, T alpha, const T* a, int64_t lda, const T* b,
                int64_t ldb, T beta, T* c, int64_t ldc) {
  if (m * n * k >= (int64_t{1} << 15)) {
    detail::gemm<T>(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    return;
  }
  for (int64_t i = 0; i < m; ++i) {
    T* crow = c + i * ldc;
    for (int64_t j = 0; j < n; ++j) crow[j] = beta == T(0) ? T(0) : beta * crow[j];
  }
  if (!tb) {  // B is [k, n]: rank-one updates along contiguous rows of B and C
    for (int64_t i = 0; i < m; ++i) {
      T* crow = c + i * ldc;
      for (int64_t p = 0; p < k; ++p) {
        const T scale = alpha * (ta ? a[p * lda + i] : a[i * lda + p]);
        const T* brow = b + p * ldb;
        for (int64_t j = 0; j < n; ++j) crow[j] += scale * brow[j];
      }
    }
  } else {  // B is [n, k]: dot products of rows
    for (int64_t i = 0; i < m; ++i) {
      for (int64_t j = 0; j < n; ++j) {
        const T* brow = b + j * ldb;
        T sum = T(0);
        if (!ta) {
          const T* arow = a + i * lda;
          for (int64_t p = 0; p < k; ++p) sum += arow[p] * brow[p];
        } else {
          for (int64_t p = 0; p < k; ++p) sum += a[p * lda + i] * brow[p];
        }
        c[i * ldc + j] += alpha * sum;
      }
    }
  }
}

template <class T>
T fast_exp(T x) {
  if constexpr (std::is_same_v<T, float>) {
    return detail::exp_float(x);
  } else {
    return std::exp(x);
  }
}

// In-place softmax of one row; a row with no allowed position (all -inf) becomes NaN, as PyTorch's.
template <class T>
void softmax_row(T* row, int64_t n) {
  T largest = -std::numeric_limits<T>::infinity();
  for (int64_t j = 0; j < n; ++j) largest = row[j] > largest ? row[j] : largest;
  if (largest == -std::numeric_limits<T>::infinity()) {
    for (int64_t j = 0; j < n; ++j) row[j] = std::numeric_limits<T>::quiet_NaN();
    return;
  }
  T total = T(0);
  for (int64_t j = 0; j < n; ++j) {
    // Masked positions (-inf) get exactly 0, as from std::exp.
    row[j] = row[j] == -std::numeric_limits<T>::infinity() ? T(0) : fast_exp(row[j] - largest);
    total += row[j];
  }
  const T inverse = T(1) / total;
  for (int64_t j = 0; j < n; ++j) row[j] *= inverse;
}

void check_attention(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& mask) {
  for (const Tensor* t : {&q, &k, &v}) {
    if (!t->defined() || t->dim() != 3) fail("attention: q, k and v must be [N, L, E], [N, S, E], [N, S, Ev]");
  }
  if (q.size(0) != k.size(0) || q.size(0) != v.size(0) || q.size(2) != k.size(2) || k.size(1) != v.size(1)) {
    fail("attention: shapes q {}, k {}, v {} do not fit (q [N, L, E], k [N, S, E], v [N, S, Ev])", q.shape(), k.shape(),
         v.shape());
  }
  if (!is_floating(q.dtype()) || k.dtype() != q.dtype() || v.dtype() != q.dtype()) {
    fail("attention: q, k and v must share one float dtype, got {}, {} and {}", q.dtype(), k.dtype(), v.dtype());
  }
  if (mask.defined()) {
    const Shape ls{q.size(1), k.size(1)};
    const Shape nls{q.size(0), q.size(1), k.size(1)};
    if (mask.shape() != ls && mask.shape() != nls) {
      fail("attention: the mask has shape {}, expected {} or {}", mask.shape(), ls, nls);
    }
  }
}

}  // namespace

AttentionForward attention(const Tensor& q_in, const Tensor& k_in, const Tensor& v_in, const Tensor& mask_in,
                           bool causal, double scale, double dropout_p, Generator& generator) {
  check_attention(q_in, k_in, v_in, mask_in);
  if (!(dropout_p >= 0.0 && dropout_p < 1.0)) fail("attention: dropout_p must be in [0, 1), got {}", dropout_p);
  const Tensor q = q_in.contiguous(), k = k_in.contiguous(), v = v_in.contiguous();
  const Tensor mask = mask_in.defined() ? mask_in.to(q.dtype()).contiguous() : Tensor();
  const int64_t N = q.size(0), L = q.size(1), S = k.size(1), E = q.size(2), Ev = v.size(2);
  AttentionForward result;
  result.output = Tensor::empty({N, L, Ev}, q.dtype());
  result.probabilities = Tensor::empty({N, L, S}, q.dtype());
  if (dropout_p > 0.0) {
    result.keep = mul(bernoulli({N, L, S}, 1.0 - dropout_p, q.dtype(), generator), 1.0 / (1.0 - dropout_p));
  }
  dispatch_floating(q.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* pq = q.data<T>();
    const T* pk = k.data<T>();
    const T* pv = v.data<T>();
    const T* pmask = mask.defined() ? mask.data<T>() : nullptr;
    const bool mask_per_pair = mask.defined() && mask.dim() == 3;
    const T* pkeep = result.keep.defined() ? result.keep.data<T>() : nullptr;
    T* pp = result.probabilities.data<T>();
    T* po = result.output.data<T>();
    parallel_for(0, N, std::max<int64_t>(1, 4096 / std::max<int64_t>(L * S, 1)), [&](int64_t lo, int64_t hi) {
      std::vector<T> dropped(pkeep ? static_cast<size_t>(L * S) : 0);
      for (int64_t n = lo; n < hi; ++n) {
        T* scores = pp + n * L * S;
        block_gemm<T>(false, true, L, S, E, static_cast<T>(scale), pq + n * L * E, E, pk + n * S * E, E, T(0), scores, S);
        const T* m = pmask ? pmask + (mask_per_pair ? n * L * S : 0) : nullptr;
        for (int64_t i = 0; i < L; ++i) {
          T* row = scores + i * S;
          if (m) {
            for (int64_t j = 0; j < S; ++j) row[j] += m[i * S + j];
          }
          if (causal) {
            for (int64_t j = i + 1; j < S; ++j) row[j] = -std::numeric_limits<T>::infinity();
          }
          softmax_row(row, S);
        }
        const T* weights = scores;
        if (pkeep) {
          const T* keep = pkeep + n * L * S;
          for (int64_t e = 0; e < L * S; ++e) dropped[e] = scores[e] * keep[e];
          weights = dropped.data();
        }
        block_gemm<T>(false, false, L, Ev, S, T(1), weights, S, pv + n * S * Ev, Ev, T(0), po + n * L * Ev, Ev);
      }
    });
  });
  return result;
}

AttentionGradients attention_backward(const Tensor& grad_output, const Tensor& grad_weights, const Tensor& q_in,
                                      const Tensor& k_in, const Tensor& v_in, const AttentionForward& forward,
                                      double scale, bool want_q, bool want_k, bool want_v, bool want_mask) {
  const Tensor q = q_in.contiguous(), k = k_in.contiguous(), v = v_in.contiguous();
  const int64_t pairs = q.size(0);
  const Tensor dout = grad_output.defined() ? grad_output.contiguous() : zeros({pairs, q.size(1), v.size(2)}, q.dtype());
  const Tensor dweights = grad_weights.defined() ? grad_weights.contiguous() : Tensor();
  const int64_t N = q.size(0), L = q.size(1), S = k.size(1), E = q.size(2), Ev = v.size(2);
  if (dout.shape() != Shape{N, L, Ev}) fail("attention backward: the gradient has shape {}, expected [{}, {}, {}]", dout.shape(), N, L, Ev);
  AttentionGradients grads;
  if (want_q) grads.q = Tensor::empty({N, L, E}, q.dtype());
  if (want_k) grads.k = Tensor::empty({N, S, E}, q.dtype());
  if (want_v) grads.v = Tensor::empty({N, S, Ev}, q.dtype());
  if (want_mask) grads.mask = Tensor::empty({N, L, S}, q.dtype());
  dispatch_floating(q.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* pq = q.data<T>();
    const T* pk = k.data<T>();
    const T* pv = v.data<T>();
    const T* pdo = dout.data<T>();
    const T* pp = forward.probabilities.data<T>();
    const T* pkeep = forward.keep.defined() ? forward.keep.data<T>() : nullptr;
    const T* pdw = dweights.defined() ? dweights.data<T>() : nullptr;
    parallel_for(0, N, std::max<int64_t>(1, 4096 / std::max<int64_t>(L * S, 1)), [&](int64_t lo, int64_t hi) {
      std::vector<T> weights(pkeep ? static_cast<size_t>(L * S) : 0), dscores(static_cast<size_t>(want_mask ? 0 : L * S));
      for (int64_t n = lo; n < hi; ++n) {
        const T* p = pp + n * L * S;
        const T* used = p;  // the weights v was multiplied by (after dropout)
        if (pkeep) {
          const T* keep = pkeep + n * L * S;
          for (int64_t e = 0; e < L * S; ++e) weights[e] = p[e] * keep[e];
          used = weights.data();
        }
        const T* g = pdo + n * L * Ev;
        if (want_v) block_gemm<T>(true, false, S, Ev, L, T(1), used, S, g, Ev, T(0), grads.v.data<T>() + n * S * Ev, Ev);
        if (!want_q && !want_k && !want_mask) continue;
        // d(weights) = dO v^T (+ the weights' own gradient); through dropout; through softmax:
        // dS = P (dP - rowsum(dP P)). dS is also the additive mask's gradient.
        T* ds = want_mask ? grads.mask.data<T>() + n * L * S : dscores.data();
        if (pdw) std::copy(pdw + n * L * S, pdw + (n + 1) * L * S, ds);
        block_gemm<T>(false, true, L, S, Ev, T(1), g, Ev, pv + n * S * Ev, Ev, pdw ? T(1) : T(0), ds, S);
        if (pkeep) {
          const T* keep = pkeep + n * L * S;
          for (int64_t e = 0; e < L * S; ++e) ds[e] *= keep[e];
        }
        for (int64_t i = 0; i < L; ++i) {
          T* row = ds + i * S;
          const T* prow = p + i * S;
          T dot = T(0);
          for (int64_t j = 0; j < S; ++j) dot += prow[j] == T(0) ? T(0) : row[j] * prow[j];
          for (int64_t j = 0; j < S; ++j) row[j] = prow[j] == T(0) ? T(0) : prow[j] * (row[j] - dot);
        }
        if (want_q) {
          block_gemm<T>(false, false, L, E, S, static_cast<T>(scale), ds, S, pk + n * S * E, E, T(0),
                        grads.q.data<T>() + n * L * E, E);
        }
        if (want_k) {
          block_gemm<T>(true, false, S, E, L, static_cast<T>(scale), ds, S, pq + n * L * E, E, T(0),
                        grads.k.data<T>() + n * S * E, E);
        }
      }
    });
  });
  return grads;
}

}  // namespace nabla::kernels
