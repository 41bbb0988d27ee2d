#pragma once
// Private: float32 math in straight-line code, so that loops calling it vectorise (std::exp and
// std::tanh are a library call per element). Used by the element-wise kernels (exp, sigmoid) and
// the fused recurrent and attention kernels.
#include <bit>
#include <cmath>
#include <cstdint>

namespace nabla::kernels::detail {

// exp(x) for floats in straight-line code, so that loops calling it vectorise (std::exp is a call
// per element). x = n ln2 + r with |r| <= ln2 / 2 (n = x / ln2 rounded); exp(r) by Cephes' expf polynomial; 2^n applied
// in two halves so that each factor is a normal float and the product underflows to 0 or
// overflows to inf where exp does. Within 2 ulp of std::exp; NaN stays NaN.
inline float exp_float(float x) {
  const float clamped = x > 89.0f ? 89.0f : (x > -104.0f ? x : -104.0f);  // NaN -> -104, selected away below
  // n = round(x / ln2); adding and removing 1.5 * 2^23 rounds to an integer without a call that
  // would stop vectorisation (floor vectorises only without -ftrapping-math).
  const float n = (clamped * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
  float r = clamped - n * 0.693359375f;
  r = r - n * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  const float y = p * r * r + r + 1.0f;
  const int32_t k = static_cast<int32_t>(n);
  const int32_t half = k / 2;
  const float scale_a = std::bit_cast<float>((half + 127) << 23);
  const float scale_b = std::bit_cast<float>((k - half + 127) << 23);
  const float result = y * scale_a * scale_b;
  return x != x ? x : result;
}

// sigmoid(x) from exp of -|x| only, so nothing overflows.
inline float fast_sigmoid(float x) {
  const float e = exp_float(-std::fabs(x));
  const float positive = 1.0f / (1.0f + e);
  return x >= 0.0f ? positive : e * positive;
}

// tanh(x): Cephes' tanhf, an odd polynomial for |x| < 0.625 (where 1 - 2/(e^2x + 1) would lose
// digits to cancellation), else from exp; within a few ulp of std::tanh. NaN stays NaN.
inline float fast_tanh(float x) {
  const float a = std::fabs(x);
  const float z = x * x;
  const float small = ((((-5.70498872745e-3f * z + 2.06390887954e-2f) * z - 5.37397155531e-2f) * z +
                        1.33314422036e-1f) * z - 3.33332819422e-1f) * z * x + x;
  const float e = exp_float(2.0f * (a > 9.0f ? 9.0f : a));
  const float large = 1.0f - 2.0f / (e + 1.0f);
  const float signed_large = x < 0.0f ? -large : large;
  return x != x ? x : (a < 0.625f ? small : signed_large);
}

// The same for double: the standard functions (float64 is for checking, not speed).
inline double fast_sigmoid(double x) {
  if (x >= 0.0) return 1.0 / (1.0 + std::exp(-x));
  const double e = std::exp(x);
  return e / (1.0 + e);
}
inline double fast_tanh(double x) { return std::tanh(x); }

}  // namespace nabla::kernels::detail
