// The activations' float32 vector paths (activation_math.hpp) and fused backward passes
// (nabla/tensor/activations.hpp). Straight-line math from fast_math.hpp, so the loops vectorise.
#include "nabla/tensor/activations.hpp"

#include "activation_math.hpp"
#include "fast_math.hpp"
#include "loops.hpp"
#include "nabla/tensor/simd.hpp"

namespace nabla::kernels {

namespace detail {

NABLA_SIMD_CLONES void silu_floats(const float* __restrict in, float* __restrict out, int64_t n) {
  for (int64_t i = 0; i < n; ++i) out[i] = in[i] * fast_sigmoid(in[i]);
}

// tanh(log(1 + e)) with e = exp(x) is e (e + 2) / (e (e + 2) + 2): no log, no tanh. Above 20 the
// ratio is 1 in float, so x is clamped there and e (e + 2) stays finite.
NABLA_SIMD_CLONES void mish_floats(const float* __restrict in, float* __restrict out, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const float x = in[i];
    const float e = exp_float(x < 20.0f ? x : 20.0f);
    const float m = e * (e + 2.0f);
    const float y = x * (m / (m + 2.0f));
    out[i] = x != x ? x : y;
  }
}

NABLA_SIMD_CLONES void selu_floats(const float* __restrict in, float* __restrict out, int64_t n) {
  constexpr float scale = 1.0507009873554805f;
  const float negative_scale = 1.6732632423543772f * scale;
  for (int64_t i = 0; i < n; ++i) {
    const float x = in[i];
    const float e = exp_float(x < 0.0f ? x : 0.0f);  // exp of the negative side only: never overflows
    out[i] = x > 0.0f ? scale * x : (e - 1.0f) * negative_scale;
  }
}

}  // namespace detail

Tensor silu_backward(const Tensor& grad_output, const Tensor& self) {
  if (!grad_output.defined() || !self.defined()) fail("silu_backward: an operand is undefined");
  if (grad_output.shape() != self.shape()) {
    fail("silu_backward: grad_output of shape {} does not match the input's shape {}", grad_output.shape(), self.shape());
  }
  if (grad_output.dtype() != self.dtype() || !is_floating(self.dtype())) {
    fail("silu_backward: needs float tensors of one dtype, got {} and {}", grad_output.dtype(), self.dtype());
  }
  Tensor out = Tensor::empty(self.shape(), self.dtype());
  if (out.numel() == 0) return out;
  dispatch_floating(self.dtype(), [&](auto tag) {
    using T = decltype(tag);
    detail::binary_loop<T, T>(out, grad_output, self, [](T g, T x) {
      const T s = detail::fast_sigmoid(x);
      return g * s * (T(1) + x * (T(1) - s));
    });
  });
  return out;
}

Tensor leaky_relu(const Tensor& x, double negative_slope) {
  if (!x.defined()) fail("leaky_relu: the input is undefined");
  if (!is_floating(x.dtype())) fail("leaky_relu: needs a float tensor, got {} (convert with .to(float32))", x.dtype());
  Tensor out = Tensor::empty(x.shape(), x.dtype());
  if (out.numel() == 0) return out;
  dispatch_floating(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T slope = static_cast<T>(negative_slope);
    detail::unary_loop<T, T>(out, x, [slope](T v) { return v > T(0) ? v : v * slope; });
  });
  return out;
}

Tensor leaky_relu_backward(const Tensor& grad_output, const Tensor& self, double negative_slope) {
  if (!grad_output.defined() || !self.defined()) fail("leaky_relu_backward: an operand is undefined");
  if (grad_output.shape() != self.shape()) {
    fail("leaky_relu_backward: grad_output of shape {} does not match the input's shape {}", grad_output.shape(),
         self.shape());
  }
  if (grad_output.dtype() != self.dtype() || !is_floating(self.dtype())) {
    fail("leaky_relu_backward: needs float tensors of one dtype, got {} and {}", grad_output.dtype(), self.dtype());
  }
  Tensor out = Tensor::empty(self.shape(), self.dtype());
  if (out.numel() == 0) return out;
  dispatch_floating(self.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T slope = static_cast<T>(negative_slope);
    detail::binary_loop<T, T>(out, grad_output, self, [slope](T g, T x) { return x > T(0) ? g : g * slope; });
  });
  return out;
}

}  // namespace nabla::kernels
