// NAdam, as torch.optim.NAdam (with PyTorch 2.0's fix of mu_product_next, pytorch#92699):
//   g = g (or -g with maximize);  decoupled: p *= 1 - lr * weight_decay, else g += weight_decay * p
//   mu = beta1 * (1 - 0.5 * 0.96^(t * momentum_decay)),  mu_next likewise at t + 1
//   mu_product *= mu   (per parameter, from 1; kept in float64)
//   m = beta1 * m + (1 - beta1) * g,  v = beta2 * v + (1 - beta2) * g^2
//   denominator = sqrt(v / (1 - beta2^t)) + eps
//   p -= lr * (1 - mu) / (1 - mu_product) * g / denominator
//   p -= lr * mu_next / (1 - mu_product * mu_next) * m / denominator
#include "optim_support.hpp"

namespace nabla::nn {

namespace {

constexpr const char* kMuProduct = "mu_product";

NAdamOptions checked_options(const ParamGroup& group, const std::string& where) {
  const auto o = detail::options_from_map<NAdamOptions>(group.options, where);
  detail::check_beta(o.beta1, "beta1", where);
  detail::check_beta(o.beta2, "beta2", where);
  detail::check_non_negative(o.eps, "eps", where);
  detail::check_non_negative(o.weight_decay, "weight_decay", where);
  detail::check_non_negative(o.momentum_decay, "momentum_decay", where);
  return o;
}

template <class T>
struct NAdamConstants {
  detail::MomentConstants<T> moments;
  T bias_correction2, eps, grad_step, avg_step;
};

template <class T>
NABLA_SIMD_CLONES void nadam_update(T* __restrict p, const T* __restrict g, T* __restrict m, T* __restrict v,
                                    int64_t n, const NAdamConstants<T> c) {
  for (int64_t k = 0; k < n; ++k) {
    const detail::Moments<T> e = detail::update_moments(c.moments, p[k], g[k], m[k], v[k]);
    const T denominator = std::sqrt(e.v / c.bias_correction2) + c.eps;
    p[k] = (e.p - c.grad_step * (e.g / denominator)) - c.avg_step * (e.m / denominator);
  }
}

}  // namespace

NAdam::NAdam(std::vector<ParamGroup> groups, const NAdamOptions& options)
    : Optimizer(std::move(groups), detail::options_to_map(options)) {
  for (size_t g = 0; g < param_groups().size(); ++g) check_options(param_groups()[g], g);
}

void NAdam::check_options(const ParamGroup& group, size_t group_index) const {
  checked_options(group, where(group_index));
}

std::pair<DType, Shape> NAdam::buffer_spec(const std::string& name, const Tensor& parameter) const {
  if (name == kMuProduct) return {float64, Shape{}};
  return Optimizer::buffer_spec(name, parameter);
}

void NAdam::step() {
  NAdamOptions o;  // the options of the group being stepped
  for_each_gradient(
      [&](size_t group_index) { o = checked_options(param_groups()[group_index], where(group_index)); },
      [&](size_t i, const kernels::Tensor& values, const kernels::Tensor& grad) {
        const int64_t t = ++*buffer(i, detail::kStepBuffer).data<int64_t>();
        double& mu_product = *buffer(i, kMuProduct, 1.0).data<double>();
        kernels::Tensor exp_avg = buffer(i, "exp_avg");
        kernels::Tensor exp_avg_sq = buffer(i, "exp_avg_sq");
        const double step = static_cast<double>(t);
        const double mu = o.beta1 * (1.0 - 0.5 * std::pow(0.96, step * o.momentum_decay));
        const double mu_next = o.beta1 * (1.0 - 0.5 * std::pow(0.96, (step + 1.0) * o.momentum_decay));
        mu_product *= mu;
        const double mu_product_next = mu_product * mu_next;
        dispatch_floating(values.dtype(), [&](auto tag) {
          using T = decltype(tag);
          T* p = values.data<T>();
          const T* g = grad.data<T>();
          T* m = exp_avg.data<T>();
          T* v = exp_avg_sq.data<T>();
          const NAdamConstants<T> c{detail::moment_constants<T>(o.maximize, o.lr, o.weight_decay,
                                                                o.decoupled_weight_decay, o.beta1, o.beta2),
                                    static_cast<T>(1.0 - std::pow(o.beta2, step)),
                                    static_cast<T>(o.eps),
                                    static_cast<T>(o.lr * (1.0 - mu) / (1.0 - mu_product)),
                                    static_cast<T>(o.lr * mu_next / (1.0 - mu_product_next))};
          detail::for_each_chunk(values.numel(), [&](int64_t begin, int64_t end) {
            nadam_update<T>(p + begin, g + begin, m + begin, v + begin, end - begin, c);
          });
        });
      });
}

}  // namespace nabla::nn
