// Adagrad, as torch.optim.Adagrad:
//   g = g (or -g with maximize) + weight_decay * p
//   clr = lr / (1 + (t - 1) * lr_decay)
//   sum += g^2                          (sum starts at initial_accumulator_value)
//   p -= clr * g / (sqrt(sum) + eps)
#include "optim_support.hpp"

namespace nabla::nn {

namespace {

AdagradOptions checked_options(const ParamGroup& group, const std::string& where) {
  const auto o = detail::options_from_map<AdagradOptions>(group.options, where);
  detail::check_non_negative(o.lr_decay, "lr_decay", where);
  detail::check_non_negative(o.weight_decay, "weight_decay", where);
  detail::check_non_negative(o.initial_accumulator_value, "initial_accumulator_value", where);
  detail::check_non_negative(o.eps, "eps", where);
  return o;
}

template <class T>
NABLA_SIMD_CLONES void adagrad_update(T* __restrict p, const T* __restrict g, T* __restrict sum, int64_t n, T sign,
                                      T weight_decay, T clr, T eps) {
  for (int64_t k = 0; k < n; ++k) {
    const T gk = sign * g[k] + weight_decay * p[k];
    const T s = sum[k] + gk * gk;
    sum[k] = s;
    p[k] -= clr * (gk / (std::sqrt(s) + eps));
  }
}

}  // namespace

Adagrad::Adagrad(std::vector<ParamGroup> groups, const AdagradOptions& options)
    : Optimizer(std::move(groups), detail::options_to_map(options)) {
  for (size_t g = 0; g < param_groups().size(); ++g) {
    check_options(param_groups()[g], g);
    // As PyTorch, the state exists from the start: the sums hold initial_accumulator_value.
    const double initial = param_groups()[g].option("initial_accumulator_value");
    for (size_t k = 0; k < param_groups()[g].params.size(); ++k) {
      buffer(group_offset(g) + k, detail::kStepBuffer);
      buffer(group_offset(g) + k, "sum", initial);
    }
  }
}

void Adagrad::check_options(const ParamGroup& group, size_t group_index) const {
  checked_options(group, where(group_index));
}

void Adagrad::step() {
  AdagradOptions o;  // the options of the group being stepped
  for_each_gradient(
      [&](size_t group_index) { o = checked_options(param_groups()[group_index], where(group_index)); },
      [&](size_t i, const kernels::Tensor& values, const kernels::Tensor& grad) {
        const int64_t t = ++*buffer(i, detail::kStepBuffer).data<int64_t>();
        kernels::Tensor sum = buffer(i, "sum", o.initial_accumulator_value);
        const double clr = o.lr / (1.0 + static_cast<double>(t - 1) * o.lr_decay);
        dispatch_floating(values.dtype(), [&](auto tag) {
          using T = decltype(tag);
          T* p = values.data<T>();
          const T* g = grad.data<T>();
          T* s = sum.data<T>();
          const T sign = static_cast<T>(detail::gradient_sign(o.maximize));
          detail::for_each_chunk(values.numel(), [&](int64_t begin, int64_t end) {
            adagrad_update<T>(p + begin, g + begin, s + begin, end - begin, sign, static_cast<T>(o.weight_decay),
                              static_cast<T>(clr), static_cast<T>(o.eps));
          });
        });
      });
}

}  // namespace nabla::nn
