// Layer normalisation (nabla/tensor/fused_layers.hpp): one pass for the statistics and one for
// the output per row, forward; one pass per row backward, with the weight and bias gradients
// summed per thread and combined once.
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

void check_layer_norm(const Tensor& x, int64_t normalized, const Tensor& weight, const Tensor& bias) {
  if (!x.defined() || !is_floating(x.dtype())) {
    fail("layer_norm: input must be a float tensor, got {}", x.defined() ? fmt::format("{}", x.dtype()) : "undefined");
  }
  if (normalized < 1 || x.numel() % normalized != 0) {
    fail("layer_norm: cannot normalise groups of {} elements of an input of shape {}", normalized, x.shape());
  }
  for (const Tensor* p : {&weight, &bias}) {
    if (p->defined()) check_same_dtype("layer_norm", "input", x.dtype(), p == &weight ? "weight" : "bias", p->dtype());
    if (p->defined() && (p->numel() != normalized || p->dtype() != x.dtype())) {
      fail("layer_norm: {} has shape {} and dtype {}, expected {} elements of {}", p == &weight ? "weight" : "bias",
           p->shape(), p->dtype(), normalized, x.dtype());
    }
  }
}

template <class T>
NABLA_SIMD_CLONES void normalise_row(const T* __restrict x, T* __restrict y, const T* __restrict w, const T* __restrict b,
                                     T mean, T rstd, int64_t n) {
  for (int64_t j = 0; j < n; ++j) {
    T v = (x[j] - mean) * rstd;
    if (w) v *= w[j];
    if (b) v += b[j];
    y[j] = v;
  }
}

// The row's mean and biased variance, in double: two passes over the (cached) row.
template <class T>
void row_statistics(const T* x, int64_t n, double& mean, double& var) {
  double sum = 0.0;
  for (int64_t j = 0; j < n; ++j) sum += static_cast<double>(x[j]);
  mean = sum / static_cast<double>(n);
  double squares = 0.0;
  for (int64_t j = 0; j < n; ++j) {
    const double d = static_cast<double>(x[j]) - mean;
    squares += d * d;
  }
  var = squares / static_cast<double>(n);
}

}  // namespace

LayerNormForward layer_norm(const Tensor& x_in, int64_t normalized, const Tensor& weight_in, const Tensor& bias_in,
                            double eps) {
  check_layer_norm(x_in, normalized, weight_in, bias_in);
  const Tensor x = x_in.contiguous();
  const Tensor weight = weight_in.defined() ? weight_in.contiguous() : Tensor();
  const Tensor bias = bias_in.defined() ? bias_in.contiguous() : Tensor();
  const int64_t rows = x.numel() / normalized;
  LayerNormForward result;
  result.output = Tensor::empty(x.shape(), x.dtype());
  result.mean = Tensor::empty({rows}, x.dtype());
  result.rstd = Tensor::empty({rows}, x.dtype());
  dispatch_floating(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* px = x.data<T>();
    T* py = result.output.data<T>();
    T* pm = result.mean.data<T>();
    T* pr = result.rstd.data<T>();
    const T* pw = weight.defined() ? weight.data<T>() : nullptr;
    const T* pb = bias.defined() ? bias.data<T>() : nullptr;
    const int64_t grain = std::max<int64_t>(1, detail::kParallelGrain / normalized);
    parallel_for(0, rows, grain, [&](int64_t lo, int64_t hi) {
      for (int64_t r = lo; r < hi; ++r) {
        double mean = 0.0, var = 0.0;
        row_statistics(px + r * normalized, normalized, mean, var);
        const double rstd = 1.0 / std::sqrt(var + eps);
        pm[r] = static_cast<T>(mean);
        pr[r] = static_cast<T>(rstd);
        normalise_row<T>(px + r * normalized, py + r * normalized, pw, pb, static_cast<T>(mean), static_cast<T>(rstd),
                         normalized);
      }
    });
  });
  return result;
}

LayerNormGradients layer_norm_backward(const Tensor& grad_output, const Tensor& x_in, const LayerNormForward& forward,
                                       const Tensor& weight_in, bool want_x, bool want_weight, bool want_bias) {
  detail::check_gradient_shape("layer_norm", grad_output, x_in);
  const Tensor x = x_in.contiguous();
  const Tensor dy = grad_output.contiguous();
  const Tensor weight = weight_in.defined() ? weight_in.contiguous() : Tensor();
  const int64_t rows = forward.mean.numel();
  const int64_t n = rows > 0 ? x.numel() / rows : 0;
  LayerNormGradients grads;
  if (want_x) grads.x = Tensor::empty(x.shape(), x.dtype());
  dispatch_floating(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* px = x.data<T>();
    const T* pdy = dy.data<T>();
    const T* pm = forward.mean.data<T>();
    const T* pr = forward.rstd.data<T>();
    const T* pw = weight.defined() ? weight.data<T>() : nullptr;
    T* pdx = want_x ? grads.x.data<T>() : nullptr;
    // Weight and bias gradients: per-chunk partial sums (a chunk per thread at most), combined after.
    const int threads = std::max(1, get_num_threads());
    std::vector<std::vector<double>> dw(static_cast<size_t>(threads)), db(static_cast<size_t>(threads));
    const int64_t chunk = (rows + threads - 1) / threads;
    parallel_for(0, threads, 1, [&](int64_t first, int64_t last) {
      for (int64_t part = first; part < last; ++part) {
        std::vector<double>& my_dw = dw[static_cast<size_t>(part)];
        std::vector<double>& my_db = db[static_cast<size_t>(part)];
        if (want_weight) my_dw.assign(static_cast<size_t>(n), 0.0);
        if (want_bias) my_db.assign(static_cast<size_t>(n), 0.0);
        const int64_t lo = part * chunk, hi = std::min(rows, lo + chunk);
        for (int64_t r = lo; r < hi; ++r) {
          const T* xr = px + r * n;
          const T* gr = pdy + r * n;
          const double mean = pm[r], rstd = pr[r];
          if (want_weight || want_bias) {
            for (int64_t j = 0; j < n; ++j) {
              const double xhat = (xr[j] - mean) * rstd;
              if (want_weight) my_dw[j] += gr[j] * xhat;
              if (want_bias) my_db[j] += gr[j];
            }
          }
          if (!want_x) continue;
          // dx = rstd * (g - mean(g) - xhat * mean(g * xhat)), g = dy * weight.
          double sum_g = 0.0, sum_g_xhat = 0.0;
          for (int64_t j = 0; j < n; ++j) {
            const double g = pw ? gr[j] * static_cast<double>(pw[j]) : gr[j];
            sum_g += g;
            sum_g_xhat += g * (xr[j] - mean) * rstd;
          }
          const double mean_g = sum_g / static_cast<double>(n), mean_g_xhat = sum_g_xhat / static_cast<double>(n);
          T* dxr = pdx + r * n;
          for (int64_t j = 0; j < n; ++j) {
            const double g = pw ? gr[j] * static_cast<double>(pw[j]) : gr[j];
            const double xhat = (xr[j] - mean) * rstd;
            dxr[j] = static_cast<T>(rstd * (g - mean_g - xhat * mean_g_xhat));
          }
        }
      }
    });
    auto combine = [&](const std::vector<std::vector<double>>& parts) {
      Tensor out = Tensor::empty({n}, x.dtype());
      T* p = out.data<T>();
      for (int64_t j = 0; j < n; ++j) {
        double total = 0.0;
        for (const auto& part : parts) total += part.empty() ? 0.0 : part[static_cast<size_t>(j)];
        p[j] = static_cast<T>(total);
      }
      return out;
    };
    if (want_weight) grads.weight = combine(dw);
    if (want_bias) grads.bias = combine(db);
  });
  return grads;
}

}  // namespace nabla::kernels
