// Adamax, as torch.optim.Adamax (Adam with an infinity norm):
//   g = g (or -g with maximize) + weight_decay * p
//   m = beta1 * m + (1 - beta1) * g
//   u = max(beta2 * u, |g| + eps)
//   p -= lr / (1 - beta1^t) * m / u
#include "optim_support.hpp"

namespace nabla::nn {

namespace {

AdamaxOptions checked_options(const ParamGroup& group, const std::string& where) {
  const auto o = detail::options_from_map<AdamaxOptions>(group.options, where);
  detail::check_beta(o.beta1, "beta1", where);
  detail::check_beta(o.beta2, "beta2", where);
  detail::check_non_negative(o.eps, "eps", where);
  detail::check_non_negative(o.weight_decay, "weight_decay", where);
  return o;
}

template <class T>
struct AdamaxConstants {
  T sign, weight_decay, beta1, one_minus_beta1, beta2, eps, clr;
};

template <class T>
NABLA_SIMD_CLONES void adamax_update(T* __restrict p, const T* __restrict g, T* __restrict m, T* __restrict u,
                                     int64_t n, const AdamaxConstants<T> c) {
  for (int64_t k = 0; k < n; ++k) {
    const T gk = c.sign * g[k] + c.weight_decay * p[k];
    const T mk = c.beta1 * m[k] + c.one_minus_beta1 * gk;
    const T uk = std::max(c.beta2 * u[k], std::abs(gk) + c.eps);
    m[k] = mk;
    u[k] = uk;
    p[k] -= c.clr * (mk / uk);
  }
}

}  // namespace

Adamax::Adamax(std::vector<ParamGroup> groups, const AdamaxOptions& options)
    : Optimizer(std::move(groups), detail::options_to_map(options)) {
  for (size_t g = 0; g < param_groups().size(); ++g) check_options(param_groups()[g], g);
}

void Adamax::check_options(const ParamGroup& group, size_t group_index) const {
  checked_options(group, where(group_index));
}

void Adamax::step() {
  AdamaxOptions o;  // the options of the group being stepped
  for_each_gradient(
      [&](size_t group_index) { o = checked_options(param_groups()[group_index], where(group_index)); },
      [&](size_t i, const kernels::Tensor& values, const kernels::Tensor& grad) {
        const int64_t t = ++*buffer(i, detail::kStepBuffer).data<int64_t>();
        kernels::Tensor exp_avg = buffer(i, "exp_avg");
        kernels::Tensor exp_inf = buffer(i, "exp_inf");
        const double clr = o.lr / (1.0 - std::pow(o.beta1, static_cast<double>(t)));
        dispatch_floating(values.dtype(), [&](auto tag) {
          using T = decltype(tag);
          T* p = values.data<T>();
          const T* g = grad.data<T>();
          T* m = exp_avg.data<T>();
          T* u = exp_inf.data<T>();
          const AdamaxConstants<T> c{static_cast<T>(detail::gradient_sign(o.maximize)),
                                     static_cast<T>(o.weight_decay),
                                     static_cast<T>(o.beta1),
                                     static_cast<T>(1.0 - o.beta1),
                                     static_cast<T>(o.beta2),
                                     static_cast<T>(o.eps),
                                     static_cast<T>(clr)};
          detail::for_each_chunk(values.numel(), [&](int64_t begin, int64_t end) {
            adamax_update<T>(p + begin, g + begin, m + begin, u + begin, end - begin, c);
          });
        });
      });
}

}  // namespace nabla::nn
