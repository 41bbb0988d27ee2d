// RAdam, as torch.optim.RAdam:
//   g = g (or -g with maximize);  decoupled: p *= 1 - lr * weight_decay, else g += weight_decay * p
//   m = beta1 * m + (1 - beta1) * g,  v = beta2 * v + (1 - beta2) * g^2
//   rho_inf = 2 / (1 - beta2) - 1,  rho_t = rho_inf - 2 t beta2^t / (1 - beta2^t)
//   rho_t > 5:  p -= m / (1 - beta1^t) * lr * sqrt(1 - beta2^t) / (sqrt(v) + eps) * rect
//               rect = sqrt((rho_t - 4)(rho_t - 2) rho_inf / ((rho_inf - 4)(rho_inf - 2) rho_t))
//   otherwise:  p -= m / (1 - beta1^t) * lr          (the variance estimate is not yet usable)
#include "optim_support.hpp"

namespace nabla::nn {

namespace {

RAdamOptions checked_options(const ParamGroup& group, const std::string& where) {
  const auto o = detail::options_from_map<RAdamOptions>(group.options, where);
  detail::check_beta(o.beta1, "beta1", where);
  detail::check_beta(o.beta2, "beta2", where);
  detail::check_non_negative(o.eps, "eps", where);
  detail::check_non_negative(o.weight_decay, "weight_decay", where);
  return o;
}

template <class T>
struct RAdamConstants {
  detail::MomentConstants<T> moments;
  T bias_correction1, lr, bias_correction2_sqrt, eps, rect;
  bool rectified;
};

template <class T>
NABLA_SIMD_CLONES void radam_update(T* __restrict p, const T* __restrict g, T* __restrict m, T* __restrict v,
                                    int64_t n, const RAdamConstants<T> c) {
  for (int64_t k = 0; k < n; ++k) {
    const detail::Moments<T> e = detail::update_moments(c.moments, p[k], g[k], m[k], v[k]);
    const T step = e.m / c.bias_correction1 * c.lr;
    p[k] = c.rectified ? e.p - step * (c.bias_correction2_sqrt / (std::sqrt(e.v) + c.eps)) * c.rect : e.p - step;
  }
}

}  // namespace

RAdam::RAdam(std::vector<ParamGroup> groups, const RAdamOptions& options)
    : Optimizer(std::move(groups), detail::options_to_map(options)) {
  for (size_t g = 0; g < param_groups().size(); ++g) check_options(param_groups()[g], g);
}

void RAdam::check_options(const ParamGroup& group, size_t group_index) const {
  checked_options(group, where(group_index));
}

void RAdam::step() {
  RAdamOptions o;  // the options of the group being stepped
  for_each_gradient(
      [&](size_t group_index) { o = checked_options(param_groups()[group_index], where(group_index)); },
      [&](size_t i, const kernels::Tensor& values, const kernels::Tensor& grad) {
        const int64_t t = ++*buffer(i, detail::kStepBuffer).data<int64_t>();
        kernels::Tensor exp_avg = buffer(i, "exp_avg");
        kernels::Tensor exp_avg_sq = buffer(i, "exp_avg_sq");
        const double step = static_cast<double>(t);
        const double bias_correction1 = 1.0 - std::pow(o.beta1, step);
        const double bias_correction2 = 1.0 - std::pow(o.beta2, step);
        const double rho_inf = 2.0 / (1.0 - o.beta2) - 1.0;
        const double rho_t = rho_inf - 2.0 * step * std::pow(o.beta2, step) / bias_correction2;
        const bool rectified = rho_t > 5.0;
        const double rect =
            rectified ? std::sqrt((rho_t - 4.0) * (rho_t - 2.0) * rho_inf / ((rho_inf - 4.0) * (rho_inf - 2.0) * rho_t))
                      : 0.0;
        dispatch_floating(values.dtype(), [&](auto tag) {
          using T = decltype(tag);
          T* p = values.data<T>();
          const T* g = grad.data<T>();
          T* m = exp_avg.data<T>();
          T* v = exp_avg_sq.data<T>();
          const RAdamConstants<T> c{detail::moment_constants<T>(o.maximize, o.lr, o.weight_decay,
                                                                o.decoupled_weight_decay, o.beta1, o.beta2),
                                    static_cast<T>(bias_correction1),
                                    static_cast<T>(o.lr),
                                    static_cast<T>(std::sqrt(bias_correction2)),
                                    static_cast<T>(o.eps),
                                    static_cast<T>(rect),
                                    rectified};
          detail::for_each_chunk(values.numel(), [&](int64_t begin, int64_t end) {
            radam_update<T>(p + begin, g + begin, m + begin, v + begin, end - begin, c);
          });
        });
      });
}

}  // namespace nabla::nn
