// Batch normalisation with batch statistics (nabla/tensor/fused_layers.hpp): per channel, two
// passes over its N planes for the mean and biased variance, one writing y = x * scale + shift
// with the channel's scale and shift; backward, one pass for the channel's sums of dy and dy * x
// and one writing dx = a * dy + b * x + c. Channels are independent, so they are the parallel axis.
#include <algorithm>
#include <cmath>

#include "loops.hpp"
#include "nabla/tensor/fused_layers.hpp"
#include "nabla/tensor/mixed_dtypes.hpp"
#include "nabla/tensor/simd.hpp"
#include "nabla/tensor/threads.hpp"
#include "norm_support.hpp"

namespace nabla::kernels {

namespace {

struct ChannelShape {
  int64_t batch = 0, channels = 0;
  int64_t positions = 1;  // elements per (sample, channel) plane
  int64_t count() const { return batch * positions; }  // values per channel
  int64_t offset(int64_t n, int64_t c) const { return (n * channels + c) * positions; }
};

ChannelShape check_batch_norm(const Tensor& x, const Tensor& weight, const Tensor& bias) {
  if (!x.defined() || !is_floating(x.dtype())) {
    fail("batch_norm: input must be a float tensor, got {}", x.defined() ? fmt::format("{}", x.dtype()) : "undefined");
  }
  if (x.dim() < 2) fail("batch_norm: input must be [N, C, ...], got shape {}", x.shape());
  ChannelShape s{.batch = x.size(0), .channels = x.size(1)};
  for (int64_t i = 2; i < x.dim(); ++i) s.positions *= x.size(i);
  for (const Tensor* p : {&weight, &bias}) {
    if (p->defined()) check_same_dtype("batch_norm", "input", x.dtype(), p == &weight ? "weight" : "bias", p->dtype());
    if (p->defined() && (p->dim() != 1 || p->size(0) != s.channels)) {
      fail("batch_norm: {} has shape {}, expected [{}] (one value per channel of an input of shape {})",
           p == &weight ? "weight" : "bias", p->shape(), s.channels, x.shape());
    }
  }
  return s;
}

// A channel's values are N planes of `positions` contiguous values, `stride` apart. Each helper
// below takes one channel whole: a call per plane cost more than the work on DCGAN's 4x4 to 14x14
// planes.
//
// Sums are widened to double and kept in eight independent lanes across all of the channel's
// planes: the compiler vectorises them (one running sum would be a serial chain of additions it
// may not reorder).
template <class T>
NABLA_SIMD_CLONES double channel_sum(const T* __restrict x, int64_t planes, int64_t stride, int64_t n) {
  double lanes[8] = {}, total = 0.0;
  for (int64_t p = 0; p < planes; ++p) {
    const T* plane = x + p * stride;
    int64_t j = 0;
    for (; j + 8 <= n; j += 8) {
      for (int k = 0; k < 8; ++k) lanes[k] += static_cast<double>(plane[j + k]);
    }
    for (; j < n; ++j) total += static_cast<double>(plane[j]);
  }
  for (int k = 0; k < 8; ++k) total += lanes[k];
  return total;
}

// Sum of (x - mean)^2 over a channel.
template <class T>
NABLA_SIMD_CLONES double channel_squared_deviations(const T* __restrict x, double mean, int64_t planes,
                                                    int64_t stride, int64_t n) {
  double lanes[8] = {}, total = 0.0;
  for (int64_t p = 0; p < planes; ++p) {
    const T* plane = x + p * stride;
    int64_t j = 0;
    for (; j + 8 <= n; j += 8) {
      for (int k = 0; k < 8; ++k) {
        const double d = static_cast<double>(plane[j + k]) - mean;
        lanes[k] += d * d;
      }
    }
    for (; j < n; ++j) {
      const double d = static_cast<double>(plane[j]) - mean;
      total += d * d;
    }
  }
  for (int k = 0; k < 8; ++k) total += lanes[k];
  return total;
}

// y = x * scale + shift over a channel.
template <class T>
NABLA_SIMD_CLONES void channel_scale_shift(const T* __restrict x, T* __restrict y, T scale, T shift, int64_t planes,
                                           int64_t stride, int64_t n) {
  for (int64_t p = 0; p < planes; ++p) {
    for (int64_t j = 0; j < n; ++j) y[p * stride + j] = x[p * stride + j] * scale + shift;
  }
}

// sum(dy) and sum(dy * x) over a channel.
template <class T>
NABLA_SIMD_CLONES void channel_gradient_sums(const T* __restrict dy, const T* __restrict x, int64_t planes,
                                             int64_t stride, int64_t n, double& sum_dy, double& sum_dy_x) {
  double dy_lanes[8] = {}, product_lanes[8] = {};
  for (int64_t p = 0; p < planes; ++p) {
    const T* g = dy + p * stride;
    const T* v = x + p * stride;
    int64_t j = 0;
    for (; j + 8 <= n; j += 8) {
      for (int k = 0; k < 8; ++k) {
        const double gk = static_cast<double>(g[j + k]);
        dy_lanes[k] += gk;
        product_lanes[k] += gk * static_cast<double>(v[j + k]);
      }
    }
    for (; j < n; ++j) {
      sum_dy += static_cast<double>(g[j]);
      sum_dy_x += static_cast<double>(g[j]) * static_cast<double>(v[j]);
    }
  }
  for (int k = 0; k < 8; ++k) {
    sum_dy += dy_lanes[k];
    sum_dy_x += product_lanes[k];
  }
}

// dx = a * dy + b * x + c over a channel.
template <class T>
NABLA_SIMD_CLONES void channel_affine_pair(const T* __restrict dy, const T* __restrict x, T* __restrict dx, T a, T b,
                                           T c, int64_t planes, int64_t stride, int64_t n) {
  for (int64_t p = 0; p < planes; ++p) {
    for (int64_t j = 0; j < n; ++j) dx[p * stride + j] = a * dy[p * stride + j] + b * x[p * stride + j] + c;
  }
}

// Channels per task: enough elements per task to be worth a thread.
int64_t channel_grain(const ChannelShape& s) {
  return std::max<int64_t>(1, detail::kParallelGrain / std::max<int64_t>(s.count(), 1));
}

}  // namespace

BatchNormForward batch_norm(const Tensor& x_in, const Tensor& weight_in, const Tensor& bias_in, double eps) {
  const ChannelShape s = check_batch_norm(x_in, weight_in, bias_in);
  if (!(eps >= 0.0)) fail("batch_norm: eps must be non-negative, got {}", eps);
  if (s.count() < 1) fail("batch_norm: no values to normalise in an input of shape {}", x_in.shape());
  const Tensor x = x_in.contiguous();
  const Tensor weight = weight_in.defined() ? weight_in.contiguous() : Tensor();
  const Tensor bias = bias_in.defined() ? bias_in.contiguous() : Tensor();
  BatchNormForward result;
  result.output = Tensor::empty(x.shape(), x.dtype());
  result.mean = Tensor::empty({s.channels}, x.dtype());
  result.var = Tensor::empty({s.channels}, x.dtype());
  result.rstd = Tensor::empty({s.channels}, x.dtype());
  dispatch_floating(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* px = x.data<T>();
    T* py = result.output.data<T>();
    T* pm = result.mean.data<T>();
    T* pv = result.var.data<T>();
    T* pr = result.rstd.data<T>();
    const T* pw = weight.defined() ? weight.data<T>() : nullptr;
    const T* pb = bias.defined() ? bias.data<T>() : nullptr;
    const double count = static_cast<double>(s.count());
    const int64_t stride = s.channels * s.positions;  // from one sample's plane to the next's
    parallel_for(0, s.channels, channel_grain(s), [&](int64_t lo, int64_t hi) {
      for (int64_t c = lo; c < hi; ++c) {
        const double mean = channel_sum<T>(px + s.offset(0, c), s.batch, stride, s.positions) / count;
        const double var =
            channel_squared_deviations<T>(px + s.offset(0, c), mean, s.batch, stride, s.positions) / count;
        const double rstd = 1.0 / std::sqrt(var + eps);
        pm[c] = static_cast<T>(mean);
        pv[c] = static_cast<T>(var);
        pr[c] = static_cast<T>(rstd);
        const double scale = rstd * (pw ? static_cast<double>(pw[c]) : 1.0);
        const double shift = (pb ? static_cast<double>(pb[c]) : 0.0) - mean * scale;
        channel_scale_shift<T>(px + s.offset(0, c), py + s.offset(0, c), static_cast<T>(scale), static_cast<T>(shift),
                               s.batch, stride, s.positions);
      }
    });
  });
  return result;
}

BatchNormGradients batch_norm_backward(const Tensor& grad_output, const Tensor& x_in, const BatchNormForward& forward,
                                       const Tensor& weight_in, bool want_x, bool want_weight, bool want_bias) {
  detail::check_gradient_shape("batch_norm", grad_output, x_in);
  const ChannelShape s = check_batch_norm(x_in, weight_in, Tensor());
  const Tensor x = x_in.contiguous();
  const Tensor dy = grad_output.contiguous();
  const Tensor weight = weight_in.defined() ? weight_in.contiguous() : Tensor();
  BatchNormGradients grads;
  if (want_x) grads.x = Tensor::empty(x.shape(), x.dtype());
  if (want_weight) grads.weight = Tensor::empty({s.channels}, x.dtype());
  if (want_bias) grads.bias = Tensor::empty({s.channels}, x.dtype());
  dispatch_floating(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* px = x.data<T>();
    const T* pdy = dy.data<T>();
    const T* pm = forward.mean.data<T>();
    const T* pr = forward.rstd.data<T>();
    const T* pw = weight.defined() ? weight.data<T>() : nullptr;
    T* pdx = want_x ? grads.x.data<T>() : nullptr;
    T* pdw = want_weight ? grads.weight.data<T>() : nullptr;
    T* pdb = want_bias ? grads.bias.data<T>() : nullptr;
    const double count = static_cast<double>(s.count());
    const int64_t stride = s.channels * s.positions;  // from one sample's plane to the next's
    parallel_for(0, s.channels, channel_grain(s), [&](int64_t lo, int64_t hi) {
      for (int64_t c = lo; c < hi; ++c) {
        double sum_dy = 0.0, sum_dy_x = 0.0;
        channel_gradient_sums<T>(pdy + s.offset(0, c), px + s.offset(0, c), s.batch, stride, s.positions, sum_dy,
                                 sum_dy_x);
        const double mean = pm[c], rstd = pr[c];
        const double sum_dy_xhat = (sum_dy_x - mean * sum_dy) * rstd;
        if (pdw) pdw[c] = static_cast<T>(sum_dy_xhat);
        if (pdb) pdb[c] = static_cast<T>(sum_dy);
        if (!pdx) continue;
        // With g = dy * w: dx = rstd * (g - mean(g) - xhat * mean(g * xhat)) over the channel's
        // values, that is dx = a * dy + b * x + c0.
        const double w = pw ? static_cast<double>(pw[c]) : 1.0;
        const double a = rstd * w;
        const double b = -rstd * rstd * w * sum_dy_xhat / count;
        const double c0 = -rstd * w * sum_dy / count - b * mean;
        channel_affine_pair<T>(pdy + s.offset(0, c), px + s.offset(0, c), pdx + s.offset(0, c), static_cast<T>(a),
                               static_cast<T>(b), static_cast<T>(c0), s.batch, stride, s.positions);
      }
    });
  });
  return grads;
}

}  // namespace nabla::kernels
