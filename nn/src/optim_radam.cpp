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
  T sign, l2, shrink, beta1, one_minus_beta1, beta2, one_minus_beta2, bias_correction1, lr, bias_correction2_sqrt,
      eps, rect;
  bool rectified;
};

template <class T>
NABLA_SIMD_CLONES void radam_update(T* __restrict p, const T* __restrict g, T* __restrict m, T* __restrict v,
                                    int64_t n, const RAdamConstants<T> c) {
  for (int64_t k = 0; k < n; ++k) {
    const T pk = p[k] * c.shrink;
    const T gk = c.sign * g[k] + c.l2 * pk;
    const T mk = c.beta1 * m[k] + c.one_minus_beta1 * gk;
    const T vk = c.beta2 * v[k] + c.one_minus_beta2 * gk * gk;
    m[k] = mk;
    v[k] = vk;
    const T step = mk / c.bias_correction1 * c.lr;
    p[k] = c.rectified ? pk - step * (c.bias_correction2_sqrt / (std::sqrt(vk) + c.eps)) * c.rect : pk - step;
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
        const bool decoupled = o.decoupled_weight_decay;
        dispatch_floating(values.dtype(), [&](auto tag) {
          using T = decltype(tag);
          T* p = values.data<T>();
          const T* g = grad.data<T>();
          T* m = exp_avg.data<T>();
          T* v = exp_avg_sq.data<T>();
          const RAdamConstants<T> c{static_cast<T>(detail::gradient_sign(o.maximize)),
                                    static_cast<T>(decoupled ? 0.0 : o.weight_decay),
                                    static_cast<T>(decoupled ? 1.0 - o.lr * o.weight_decay : 1.0),
                                    static_cast<T>(o.beta1),
                                    static_cast<T>(1.0 - o.beta1),
                                    static_cast<T>(o.beta2),
                                    static_cast<T>(1.0 - o.beta2),
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
