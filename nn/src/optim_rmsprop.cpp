// RMSprop, as torch.optim.RMSprop:
//   g = g (or -g with maximize) + weight_decay * p
//   s = alpha * s + (1 - alpha) * g^2
//   centered: a = alpha * a + (1 - alpha) * g, denominator = sqrt(s - a^2) + eps; else sqrt(s) + eps
//   momentum: b = momentum * b + g / denominator, p -= lr * b;  else p -= lr * g / denominator
#include "optim_support.hpp"

namespace nabla::nn {

namespace {

RMSpropOptions checked_options(const ParamGroup& group, const std::string& where) {
  const auto o = detail::options_from_map<RMSpropOptions>(group.options, where);
  detail::check_non_negative(o.alpha, "alpha", where);
  detail::check_non_negative(o.eps, "eps", where);
  detail::check_non_negative(o.momentum, "momentum", where);
  detail::check_non_negative(o.weight_decay, "weight_decay", where);
  return o;
}

}  // namespace

RMSprop::RMSprop(std::vector<ParamGroup> groups, const RMSpropOptions& options)
    : Optimizer(std::move(groups), detail::options_to_map(options)) {
  for (size_t g = 0; g < param_groups().size(); ++g) check_options(param_groups()[g], g);
}

void RMSprop::check_options(const ParamGroup& group, size_t group_index) const {
  checked_options(group, where(group_index));
}

void RMSprop::step() {
  RMSpropOptions o;  // the options of the group being stepped
  for_each_gradient(
      [&](size_t group_index) { o = checked_options(param_groups()[group_index], where(group_index)); },
      [&](size_t i, const kernels::Tensor& values, const kernels::Tensor& grad) {
        kernels::Tensor square_avg = buffer(i, "square_avg");
        kernels::Tensor grad_avg = o.centered ? buffer(i, "grad_avg") : kernels::Tensor();
        kernels::Tensor momentum_buffer = o.momentum > 0.0 ? buffer(i, "momentum_buffer") : kernels::Tensor();
        dispatch_floating(values.dtype(), [&](auto tag) {
          using T = decltype(tag);
          T* p = values.data<T>();
          const T* g = grad.data<T>();
          T* s = square_avg.data<T>();
          T* a = o.centered ? grad_avg.data<T>() : nullptr;
          T* b = o.momentum > 0.0 ? momentum_buffer.data<T>() : nullptr;
          const T sign = static_cast<T>(detail::gradient_sign(o.maximize));
          const T lr = static_cast<T>(o.lr);
          const T alpha = static_cast<T>(o.alpha);
          const T one_minus_alpha = static_cast<T>(1.0 - o.alpha);
          const T eps = static_cast<T>(o.eps);
          const T weight_decay = static_cast<T>(o.weight_decay);
          const T momentum = static_cast<T>(o.momentum);
          detail::for_each_chunk(values.numel(), [&](int64_t begin, int64_t end) {
            for (int64_t k = begin; k < end; ++k) {
              const T gk = sign * g[k] + weight_decay * p[k];
              s[k] = alpha * s[k] + one_minus_alpha * gk * gk;
              T variance = s[k];
              if (a) {
                a[k] = alpha * a[k] + one_minus_alpha * gk;
                variance -= a[k] * a[k];
              }
              // s >= a^2 in exact arithmetic; clamp so rounding cannot make the root NaN.
              const T denominator = std::sqrt(std::max(variance, T(0))) + eps;
              if (b) {
                b[k] = momentum * b[k] + gk / denominator;
                p[k] -= lr * b[k];
              } else {
                p[k] -= lr * gk / denominator;
              }
            }
          });
        });
      });
}

}  // namespace nabla::nn
