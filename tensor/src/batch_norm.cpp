// Batch normalisation with batch statistics (nabla/tensor/fused_layers.hpp): per block of
// channels, two passes over its N rows for the means and biased variances, one writing
// y = x * scale + shift with each channel's scale and shift; backward, one pass for the sums of dy
// and dy * x and one writing dx = a * dy + b * x + c. Channels are independent, so they are the
// parallel axis.
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

// A block of channels [c, c + cb) holds, in each sample, cb planes of `positions` values: one
// contiguous row of w = cb * positions values, `stride` from one sample's row to the next. The
// helpers below stream over the batch row by row, keeping one double accumulator (or one
// coefficient) per value of the row: long vectorised loops with no chain of dependent additions,
// however small the planes (DCGAN's are 3x3 to 14x14, where a loop per plane ran a few values).

// acc[i] = sum over samples of x[i].
template <class T>
NABLA_SIMD_CLONES void block_sums(const T* __restrict x, int64_t batch, int64_t stride, int64_t w,
                                  double* __restrict acc) {
  for (int64_t i = 0; i < w; ++i) acc[i] = 0.0;
  for (int64_t n = 0; n < batch; ++n) {
    const T* row = x + n * stride;
    for (int64_t i = 0; i < w; ++i) acc[i] += static_cast<double>(row[i]);
  }
}

// acc[i] = sum over samples of (x[i] - mean[i])^2.
template <class T>
NABLA_SIMD_CLONES void block_squared_deviations(const T* __restrict x, const double* __restrict mean, int64_t batch,
                                                int64_t stride, int64_t w, double* __restrict acc) {
  for (int64_t i = 0; i < w; ++i) acc[i] = 0.0;
  for (int64_t n = 0; n < batch; ++n) {
    const T* row = x + n * stride;
    for (int64_t i = 0; i < w; ++i) {
      const double d = static_cast<double>(row[i]) - mean[i];
      acc[i] += d * d;
    }
  }
}

// y = x * scale[i] + shift[i] in every sample's row.
template <class T>
NABLA_SIMD_CLONES void block_scale_shift(const T* __restrict x, T* __restrict y, const T* __restrict scale,
                                         const T* __restrict shift, int64_t batch, int64_t stride, int64_t w) {
  for (int64_t n = 0; n < batch; ++n) {
    for (int64_t i = 0; i < w; ++i) y[n * stride + i] = x[n * stride + i] * scale[i] + shift[i];
  }
}

// sum_dy[i] and sum_dy_x[i]: sums over samples of dy[i] and of dy[i] * x[i].
template <class T>
NABLA_SIMD_CLONES void block_gradient_sums(const T* __restrict dy, const T* __restrict x, int64_t batch,
                                           int64_t stride, int64_t w, double* __restrict sum_dy,
                                           double* __restrict sum_dy_x) {
  for (int64_t i = 0; i < w; ++i) sum_dy[i] = sum_dy_x[i] = 0.0;
  for (int64_t n = 0; n < batch; ++n) {
    const T* g = dy + n * stride;
    const T* v = x + n * stride;
    for (int64_t i = 0; i < w; ++i) {
      const double gi = static_cast<double>(g[i]);
      sum_dy[i] += gi;
      sum_dy_x[i] += gi * static_cast<double>(v[i]);
    }
  }
}

// dx = a[i] * dy + b[i] * x + c[i] in every sample's row.
template <class T>
NABLA_SIMD_CLONES void block_affine_pair(const T* __restrict dy, const T* __restrict x, T* __restrict dx,
                                         const T* __restrict a, const T* __restrict b, const T* __restrict c,
                                         int64_t batch, int64_t stride, int64_t w) {
  for (int64_t n = 0; n < batch; ++n) {
    const int64_t o = n * stride;
    for (int64_t i = 0; i < w; ++i) dx[o + i] = a[i] * dy[o + i] + b[i] * x[o + i] + c[i];
  }
}

// The sum of one plane's `positions` accumulators.
double plane_total(const double* acc, int64_t positions) {
  double total = 0.0;
  for (int64_t p = 0; p < positions; ++p) total += acc[p];
  return total;
}

// Fills each plane's `positions` entries of `row` with its channel's value.
template <class V, class U>
void spread(const U* per_channel, int64_t channels, int64_t positions, V* row) {
  for (int64_t k = 0; k < channels; ++k) std::fill_n(row + k * positions, positions, static_cast<V>(per_channel[k]));
}

// Values per row of a channel block: the accumulators stay in L1 (at least one channel a block).
constexpr int64_t kBlockValues = 2048;

// Runs fn(c, cb) over the channels [lo, hi) in blocks of cb channels, handing each a thread's
// scratch of `doubles_per_value` doubles per value of the largest block's row.
template <class Fn>
void for_each_channel_block(const ChannelShape& s, int64_t lo, int64_t hi, int64_t doubles_per_value, Fn&& fn) {
  const int64_t per_block = std::clamp<int64_t>(kBlockValues / std::max<int64_t>(s.positions, 1), 1, hi - lo);
  const Tensor scratch = Tensor::empty({doubles_per_value * per_block * s.positions}, float64);
  for (int64_t c = lo; c < hi; c += per_block) fn(c, std::min(per_block, hi - c), scratch.data<double>());
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
      // Scratch per value of a block's row: its accumulator, its channel's mean, scale and shift.
      for_each_channel_block(s, lo, hi, 4, [&](int64_t c0, int64_t cb, double* scratch) {
        const int64_t w = cb * s.positions;
        double* acc = scratch;
        double* mean_row = scratch + w;
        T* scale_row = reinterpret_cast<T*>(scratch + 2 * w);
        T* shift_row = reinterpret_cast<T*>(scratch + 3 * w);
        double mean[kBlockValues], scale[kBlockValues], shift[kBlockValues];  // per channel of the block
        block_sums<T>(px + s.offset(0, c0), s.batch, stride, w, acc);
        for (int64_t k = 0; k < cb; ++k) mean[k] = plane_total(acc + k * s.positions, s.positions) / count;
        spread(mean, cb, s.positions, mean_row);
        block_squared_deviations<T>(px + s.offset(0, c0), mean_row, s.batch, stride, w, acc);
        for (int64_t k = 0; k < cb; ++k) {
          const int64_t c = c0 + k;
          const double var = plane_total(acc + k * s.positions, s.positions) / count;
          const double rstd = 1.0 / std::sqrt(var + eps);
          pm[c] = static_cast<T>(mean[k]);
          pv[c] = static_cast<T>(var);
          pr[c] = static_cast<T>(rstd);
          scale[k] = rstd * (pw ? static_cast<double>(pw[c]) : 1.0);
          shift[k] = (pb ? static_cast<double>(pb[c]) : 0.0) - mean[k] * scale[k];
        }
        spread(scale, cb, s.positions, scale_row);
        spread(shift, cb, s.positions, shift_row);
        block_scale_shift<T>(px + s.offset(0, c0), py + s.offset(0, c0), scale_row, shift_row, s.batch, stride, w);
      });
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
      // Scratch per value of a block's row: its two sums, then its channel's a, b and c0.
      for_each_channel_block(s, lo, hi, 5, [&](int64_t c0, int64_t cb, double* scratch) {
        const int64_t w = cb * s.positions;
        double* sum_dy_row = scratch;
        double* sum_dy_x_row = scratch + w;
        T* a_row = reinterpret_cast<T*>(scratch + 2 * w);
        T* b_row = reinterpret_cast<T*>(scratch + 3 * w);
        T* c_row = reinterpret_cast<T*>(scratch + 4 * w);
        double a[kBlockValues], b[kBlockValues], c_term[kBlockValues];  // per channel of the block
        block_gradient_sums<T>(pdy + s.offset(0, c0), px + s.offset(0, c0), s.batch, stride, w, sum_dy_row,
                               sum_dy_x_row);
        for (int64_t k = 0; k < cb; ++k) {
          const int64_t c = c0 + k;
          const double sum_dy = plane_total(sum_dy_row + k * s.positions, s.positions);
          const double sum_dy_x = plane_total(sum_dy_x_row + k * s.positions, s.positions);
          const double mean = pm[c], rstd = pr[c];
          const double sum_dy_xhat = (sum_dy_x - mean * sum_dy) * rstd;
          if (pdw) pdw[c] = static_cast<T>(sum_dy_xhat);
          if (pdb) pdb[c] = static_cast<T>(sum_dy);
          // With g = dy * w: dx = rstd * (g - mean(g) - xhat * mean(g * xhat)) over the channel's
          // values, that is dx = a * dy + b * x + c0.
          const double weight_c = pw ? static_cast<double>(pw[c]) : 1.0;
          a[k] = rstd * weight_c;
          b[k] = -rstd * rstd * weight_c * sum_dy_xhat / count;
          c_term[k] = -rstd * weight_c * sum_dy / count - b[k] * mean;
        }
        if (!pdx) return;
        spread(a, cb, s.positions, a_row);
        spread(b, cb, s.positions, b_row);
        spread(c_term, cb, s.positions, c_row);
        block_affine_pair<T>(pdy + s.offset(0, c0), px + s.offset(0, c0), pdx + s.offset(0, c0), a_row, b_row, c_row,
                             s.batch, stride, w);
      });
    });
  });
  return grads;
}

}  // namespace nabla::kernels
