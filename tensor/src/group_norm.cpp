// Group normalisation (nabla/tensor/fused_layers.hpp). With x contiguous, the values of one
// (sample, group) pair are one contiguous run, so each pair is a row: two passes for its
// statistics, then one pass writing y = x * scale + shift with a per-channel scale and shift (as
// PyTorch's kernel does). Backward: one pass for per-(sample, channel) sums, one for dx.
#include <algorithm>
#include <cmath>
#include <vector>

#include "loops.hpp"
#include "nabla/tensor/fused_layers.hpp"
#include "nabla/tensor/simd.hpp"
#include "nabla/tensor/threads.hpp"
#include "norm_support.hpp"
#include "nabla/tensor/mixed_dtypes.hpp"

namespace nabla::kernels {

namespace {

struct GroupShape {
  int64_t batch = 0, channels = 0, groups = 0;
  int64_t positions = 1;  // elements per (sample, channel)
  int64_t channels_per_group() const { return channels / groups; }
  int64_t group_size() const { return channels_per_group() * positions; }
};

GroupShape check_group_norm(const Tensor& x, int64_t num_groups, const Tensor& weight, const Tensor& bias) {
  if (!x.defined() || !is_floating(x.dtype())) {
    fail("group_norm: input must be a float tensor, got {}", x.defined() ? fmt::format("{}", x.dtype()) : "undefined");
  }
  if (x.dim() < 2) fail("group_norm: input must be [N, C, ...], got shape {}", x.shape());
  GroupShape s{.batch = x.size(0), .channels = x.size(1), .groups = num_groups};
  if (num_groups < 1 || s.channels % num_groups != 0) {
    fail("group_norm: the {} channels of an input of shape {} cannot be split into {} groups (num_groups must divide "
         "the channel count)", s.channels, x.shape(), num_groups);
  }
  for (int64_t i = 2; i < x.dim(); ++i) s.positions *= x.size(i);
  for (const Tensor* p : {&weight, &bias}) {
    if (p->defined()) check_same_dtype("group_norm", "input", x.dtype(), p == &weight ? "weight" : "bias", p->dtype());
    if (p->defined() && (p->dim() != 1 || p->size(0) != s.channels || p->dtype() != x.dtype())) {
      fail("group_norm: {} has shape {} and dtype {}, expected [{}] of {} (one value per channel)",
           p == &weight ? "weight" : "bias", p->shape(), p->dtype(), s.channels, x.dtype());
    }
  }
  return s;
}

}  // namespace

GroupNormForward group_norm(const Tensor& x_in, int64_t num_groups, const Tensor& weight_in, const Tensor& bias_in,
                            double eps) {
  const GroupShape s = check_group_norm(x_in, num_groups, weight_in, bias_in);
  if (!(eps >= 0.0)) fail("group_norm: eps must be non-negative, got {}", eps);
  const Tensor x = x_in.contiguous();
  const Tensor weight = weight_in.defined() ? weight_in.contiguous() : Tensor();
  const Tensor bias = bias_in.defined() ? bias_in.contiguous() : Tensor();
  const int64_t rows = s.batch * s.groups, length = s.group_size(), per_group = s.channels_per_group();
  GroupNormForward result;
  result.output = Tensor::empty(x.shape(), x.dtype());
  result.mean = Tensor::empty({s.batch, s.groups}, x.dtype());
  result.rstd = Tensor::empty({s.batch, s.groups}, x.dtype());
  if (rows == 0) return result;
  dispatch_floating(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* px = x.data<T>();
    T* py = result.output.data<T>();
    T* pm = result.mean.data<T>();
    T* pr = result.rstd.data<T>();
    const T* pw = weight.defined() ? weight.data<T>() : nullptr;
    const T* pb = bias.defined() ? bias.data<T>() : nullptr;
    const int64_t grain = std::max<int64_t>(1, detail::kParallelGrain / std::max<int64_t>(length, 1));
    parallel_for(0, rows, grain, [&](int64_t lo, int64_t hi) {
      for (int64_t r = lo; r < hi; ++r) {
        const T* xr = px + r * length;
        double sum = 0.0;
        for (int64_t j = 0; j < length; ++j) sum += static_cast<double>(xr[j]);
        const double mean = length > 0 ? sum / static_cast<double>(length) : 0.0;
        double squares = 0.0;
        for (int64_t j = 0; j < length; ++j) {
          const double d = static_cast<double>(xr[j]) - mean;
          squares += d * d;
        }
        const double var = length > 0 ? squares / static_cast<double>(length) : 0.0;
        const double rstd = 1.0 / std::sqrt(var + eps);
        pm[r] = static_cast<T>(mean);
        pr[r] = static_cast<T>(rstd);
        const int64_t first_channel = (r % s.groups) * per_group;
        for (int64_t c = 0; c < per_group; ++c) {
          const int64_t channel = first_channel + c;
          const double scale = rstd * (pw ? static_cast<double>(pw[channel]) : 1.0);
          const double shift = (pb ? static_cast<double>(pb[channel]) : 0.0) - mean * scale;
          detail::scale_shift<T>(xr + c * s.positions, py + r * length + c * s.positions, static_cast<T>(scale),
                         static_cast<T>(shift), s.positions);
        }
      }
    });
  });
  return result;
}

GroupNormGradients group_norm_backward(const Tensor& grad_output, const Tensor& x_in, const GroupNormForward& forward,
                                       const Tensor& weight_in, bool want_x, bool want_weight, bool want_bias) {
  detail::check_gradient_shape("group_norm", grad_output, x_in);
  const GroupShape s = check_group_norm(x_in, forward.mean.defined() ? forward.mean.size(1) : 0, weight_in, Tensor());
  const Tensor x = x_in.contiguous();
  const Tensor dy = grad_output.contiguous();
  const Tensor weight = weight_in.defined() ? weight_in.contiguous() : Tensor();
  const int64_t length = s.group_size(), per_group = s.channels_per_group(), plane = s.positions;
  const int64_t planes = s.batch * s.channels;
  GroupNormGradients grads;
  if (want_x) grads.x = Tensor::empty(x.shape(), x.dtype());
  dispatch_floating(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* px = x.data<T>();
    const T* pdy = dy.data<T>();
    const T* pm = forward.mean.data<T>();
    const T* pr = forward.rstd.data<T>();
    const T* pw = weight.defined() ? weight.data<T>() : nullptr;
    // Per (sample, channel): sum(dy * x) and sum(dy).
    std::vector<double> dy_x(static_cast<size_t>(planes)), dy_sum(static_cast<size_t>(planes));
    const int64_t grain = std::max<int64_t>(1, detail::kParallelGrain / std::max<int64_t>(plane, 1));
    parallel_for(0, planes, grain, [&](int64_t lo, int64_t hi) {
      for (int64_t p = lo; p < hi; ++p) {
        const T* xp = px + p * plane;
        const T* gp = pdy + p * plane;
        double product = 0.0, total = 0.0;
        for (int64_t j = 0; j < plane; ++j) {
          product += static_cast<double>(gp[j]) * static_cast<double>(xp[j]);
          total += static_cast<double>(gp[j]);
        }
        dy_x[static_cast<size_t>(p)] = product;
        dy_sum[static_cast<size_t>(p)] = total;
      }
    });
    if (want_x) {
      T* pdx = grads.x.data<T>();
      const int64_t rows = s.batch * s.groups;
      const int64_t row_grain = std::max<int64_t>(1, detail::kParallelGrain / std::max<int64_t>(length, 1));
      parallel_for(0, rows, row_grain, [&](int64_t lo, int64_t hi) {
        for (int64_t r = lo; r < hi; ++r) {
          const int64_t n = r / s.groups, first_channel = (r % s.groups) * per_group;
          const double mean = pm[r], rstd = pr[r];
          // With g = dy * weight: dx = rstd * (g - mean(g) - xhat * mean(g * xhat)) over the group,
          // which per channel is dx = a_c * dy + b * x + c.
          double sum_g = 0.0, sum_g_x = 0.0;
          for (int64_t c = 0; c < per_group; ++c) {
            const int64_t channel = first_channel + c;
            const size_t p = static_cast<size_t>(n * s.channels + channel);
            const double w = pw ? static_cast<double>(pw[channel]) : 1.0;
            sum_g += w * dy_sum[p];
            sum_g_x += w * dy_x[p];
          }
          const double count = static_cast<double>(length);
          const double sum_g_xhat = (sum_g_x - mean * sum_g) * rstd;
          const double b = -rstd * rstd * sum_g_xhat / count;
          const double c0 = -rstd * sum_g / count - b * mean;
          for (int64_t c = 0; c < per_group; ++c) {
            const int64_t channel = first_channel + c;
            const double a = rstd * (pw ? static_cast<double>(pw[channel]) : 1.0);
            const T* xp = px + r * length + c * plane;
            const T* gp = pdy + r * length + c * plane;
            T* dxp = pdx + r * length + c * plane;
            const T ta = static_cast<T>(a), tb = static_cast<T>(b), tc = static_cast<T>(c0);
            for (int64_t j = 0; j < plane; ++j) dxp[j] = ta * gp[j] + tb * xp[j] + tc;
          }
        }
      });
    }
    if (want_weight || want_bias) {
      // dweight[c] = sum_n (sum(dy * x) - mean * sum(dy)) * rstd; dbias[c] = sum_n sum(dy).
      Tensor dw = want_weight ? Tensor::empty({s.channels}, x.dtype()) : Tensor();
      Tensor db = want_bias ? Tensor::empty({s.channels}, x.dtype()) : Tensor();
      for (int64_t channel = 0; channel < s.channels; ++channel) {
        double weight_sum = 0.0, bias_sum = 0.0;
        for (int64_t n = 0; n < s.batch; ++n) {
          const size_t p = static_cast<size_t>(n * s.channels + channel);
          const int64_t r = n * s.groups + channel / per_group;
          weight_sum += (dy_x[p] - static_cast<double>(pm[r]) * dy_sum[p]) * static_cast<double>(pr[r]);
          bias_sum += dy_sum[p];
        }
        if (want_weight) dw.data<T>()[channel] = static_cast<T>(weight_sum);
        if (want_bias) db.data<T>()[channel] = static_cast<T>(bias_sum);
      }
      grads.weight = dw;
      grads.bias = db;
    }
  });
  return grads;
}

}  // namespace nabla::kernels
