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

// Common option checks: "SGD: momentum must be >= 0, got -1".
void check_non_negative(double value, const char* name, const std::string& where);
void check_beta(double value, const char* name, const std::string& where);  // in [0, 1)

}  // namespace nabla::nn::detail
