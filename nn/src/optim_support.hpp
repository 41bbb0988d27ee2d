#pragma once
// What every optimiser's update loop shares: splitting a large parameter across threads, and
// reading a parameter's gradient as a contiguous array of its dtype.
#include <string>

#include "nabla/nn/optim.hpp"
#include "nabla/tensor/simd.hpp"
#include "nabla/tensor/threads.hpp"

namespace nabla::nn::detail {

// Updates are elementwise and memory-bound: below this many elements one thread is fastest.
constexpr int64_t kParallelThreshold = int64_t{1} << 16;

// Runs body(begin, end) over [0, n), split across threads only for large parameters. The body
// holds the whole fused update loop, so std::function is called once per chunk, not per element.
template <class Body>
void for_each_chunk(int64_t n, const Body& body) {
  if (n <= kParallelThreshold) {
    body(int64_t{0}, n);
  } else {
    parallel_for(0, n, kParallelThreshold / 2, body);
  }
}

// The gradient of parameter `index` as a contiguous tensor of the parameter's dtype and shape, or
// an undefined tensor when backward did not reach the parameter. Copies only in the rare case
// that the gradient is a strided view or of another dtype.
kernels::Tensor gradient_of(const Tensor& parameter, size_t index, const std::string& optimizer);

// Per-parameter step counters are 0-d int64 tensors.
inline constexpr const char* kStepBuffer = "step";

// +1, or -1 when the options say maximize (the gradient is negated before anything else).
inline double gradient_sign(bool maximize) { return maximize ? -1.0 : 1.0; }

// ---- the Adam family (Adam/AdamW, NAdam, RAdam): the gradient's sign, weight decay and the two
// moment estimates, the same in each; what they do with the moments differs.
// Weight decay is an L2 term added to the gradient (l2 = weight_decay, shrink = 1), or decoupled:
// the parameter shrunk by 1 - lr * weight_decay first (l2 = 0).
template <class T>
struct MomentConstants {
  T sign, l2, shrink, beta1, one_minus_beta1, beta2, one_minus_beta2;
};
template <class T>
MomentConstants<T> moment_constants(bool maximize, double lr, double weight_decay, bool decoupled, double beta1,
                                    double beta2) {
  // 1 - beta in double, then rounded once (as PyTorch passes it), not 1 - float(beta).
  return {static_cast<T>(gradient_sign(maximize)),
          static_cast<T>(decoupled ? 0.0 : weight_decay),
          static_cast<T>(decoupled ? 1.0 - lr * weight_decay : 1.0),
          static_cast<T>(beta1),
          static_cast<T>(1.0 - beta1),
          static_cast<T>(beta2),
          static_cast<T>(1.0 - beta2)};
}

// One element: the parameter after decoupled decay, the gradient with its L2 term, and m and v
// updated (and written back). Inlined into each optimiser's vectorised loop.
template <class T>
struct Moments {
  T p, g, m, v;
};
template <class T>
[[gnu::always_inline]] inline Moments<T> update_moments(const MomentConstants<T>& c, T p, T g, T& m, T& v) {
  const T pk = p * c.shrink;
  const T gk = c.sign * g + c.l2 * pk;
  m = c.beta1 * m + c.one_minus_beta1 * gk;
  v = c.beta2 * v + c.one_minus_beta2 * gk * gk;
  return {pk, gk, m, v};
}

// Common option checks: "SGD: momentum must be >= 0, got -1".
void check_non_negative(double value, const char* name, const std::string& where);
void check_beta(double value, const char* name, const std::string& where);  // in [0, 1)

}  // namespace nabla::nn::detail
