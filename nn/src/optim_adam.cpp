// Adam / AdamW, as torch.optim.Adam and AdamW (per-parameter step t, so a parameter that missed
// some steps is bias-corrected for the steps it took part in):
//   g = g (or -g with maximize)
//   Adam:  g = g + weight_decay * p          AdamW:  p *= 1 - lr * weight_decay
//   m = beta1 * m + (1 - beta1) * g
//   v = beta2 * v + (1 - beta2) * g^2        (amsgrad: v_max = max(v_max, v), used below for v)
//   p -= lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
#include "optim_support.hpp"

namespace nabla::nn {

namespace {

AdamOptions checked_options(const ParamGroup& group, const std::string& where) {
  const auto o = detail::options_from_map<AdamOptions>(group.options, where);
  detail::check_beta(o.beta1, "beta1", where);
  detail::check_beta(o.beta2, "beta2", where);
  detail::check_non_negative(o.eps, "eps", where);
  detail::check_non_negative(o.weight_decay, "weight_decay", where);
  return o;
}

template <class T>
struct AdamConstants {
  detail::MomentConstants<T> moments;
  T eps, step_size, bias_correction2_sqrt;
};

// One fused pass over a parameter. The constants arrive by value and the arrays as restrict
// pointers, so the compiler keeps everything in registers and vectorises (sqrt and division
// included); amsgrad gets its own loop rather than a branch per element.
template <class T>
NABLA_SIMD_CLONES void adam_update(T* __restrict p, const T* __restrict g, T* __restrict m, T* __restrict v,
                                   T* __restrict v_max, int64_t n, const AdamConstants<T> c) {
  if (!v_max) {
    for (int64_t k = 0; k < n; ++k) {
      const detail::Moments<T> e = detail::update_moments(c.moments, p[k], g[k], m[k], v[k]);
      p[k] = e.p - c.step_size * e.m / (std::sqrt(e.v) / c.bias_correction2_sqrt + c.eps);
    }
    return;
  }
  for (int64_t k = 0; k < n; ++k) {
    const detail::Moments<T> e = detail::update_moments(c.moments, p[k], g[k], m[k], v[k]);
    const T vmax = std::max(v_max[k], e.v);
    v_max[k] = vmax;
    p[k] = e.p - c.step_size * e.m / (std::sqrt(vmax) / c.bias_correction2_sqrt + c.eps);
  }
}

}  // namespace

Adam::Adam(std::vector<ParamGroup> groups, const AdamOptions& options)
    : Adam(std::move(groups), detail::options_to_map(options), /*decoupled=*/false) {}

Adam::Adam(std::vector<ParamGroup> groups, std::map<std::string, double> defaults, bool decoupled)
    : Optimizer(std::move(groups), std::move(defaults)), decoupled_(decoupled) {
  for (size_t g = 0; g < param_groups().size(); ++g) check_options(param_groups()[g], g);
}

AdamW::AdamW(std::vector<ParamGroup> groups, const AdamWOptions& options)
    : Adam(std::move(groups), detail::options_to_map(options), /*decoupled=*/true) {}

void Adam::check_options(const ParamGroup& group, size_t group_index) const {
  checked_options(group, where(group_index));
}

void Adam::step() {
  AdamOptions o;  // the options of the group being stepped
  for_each_gradient(
      [&](size_t group_index) { o = checked_options(param_groups()[group_index], where(group_index)); },
      [&](size_t i, const kernels::Tensor& values, const kernels::Tensor& grad) {
        int64_t& steps = *buffer(i, detail::kStepBuffer).data<int64_t>();
        const int64_t t = ++steps;
        kernels::Tensor exp_avg = buffer(i, "exp_avg");
        kernels::Tensor exp_avg_sq = buffer(i, "exp_avg_sq");
        kernels::Tensor max_exp_avg_sq = o.amsgrad ? buffer(i, "max_exp_avg_sq") : kernels::Tensor();

        const double bias_correction1 = 1.0 - std::pow(o.beta1, static_cast<double>(t));
        const double bias_correction2 = 1.0 - std::pow(o.beta2, static_cast<double>(t));
        dispatch_floating(values.dtype(), [&](auto tag) {
          using T = decltype(tag);
          T* p = values.data<T>();
          const T* g = grad.data<T>();
          T* m = exp_avg.data<T>();
          T* v = exp_avg_sq.data<T>();
          T* v_max = o.amsgrad ? max_exp_avg_sq.data<T>() : nullptr;
          const AdamConstants<T> c{
              detail::moment_constants<T>(o.maximize, o.lr, o.weight_decay, decoupled_, o.beta1, o.beta2),
              static_cast<T>(o.eps), static_cast<T>(o.lr / bias_correction1),
              static_cast<T>(std::sqrt(bias_correction2))};
          detail::for_each_chunk(values.numel(), [&](int64_t begin, int64_t end) {
            adam_update<T>(p + begin, g + begin, m + begin, v + begin, v_max ? v_max + begin : nullptr, end - begin, c);
          });
        });
      });
}

}  // namespace nabla::nn
