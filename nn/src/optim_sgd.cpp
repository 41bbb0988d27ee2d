// SGD, as torch.optim.SGD:
//   d = g (or -g with maximize) + weight_decay * p
//   b = d on the first step, else momentum * b + (1 - dampening) * d
//   d = d + momentum * b (Nesterov) or b
//   p -= lr * d
#include "optim_support.hpp"

namespace nabla::nn {

namespace {

SGDOptions checked_options(const ParamGroup& group, const std::string& where) {
  const auto o = detail::options_from_map<SGDOptions>(group.options, where);
  detail::check_non_negative(o.momentum, "momentum", where);
  detail::check_non_negative(o.weight_decay, "weight_decay", where);
  if (!std::isfinite(o.dampening)) fail("{}: dampening must be finite, got {}", where, o.dampening);
  if (o.nesterov && (o.momentum <= 0.0 || o.dampening != 0.0)) {
    fail("{}: Nesterov momentum needs momentum > 0 and dampening 0, got momentum {} and dampening {}", where,
         o.momentum, o.dampening);
  }
  return o;
}

template <class T>
struct SgdConstants {
  T sign, lr, weight_decay, momentum, keep;
  bool nesterov, first_step;
};

// One pass over a parameter, restrict pointers and constants by value so that it vectorises; the
// plain case (no momentum) gets its own loop.
template <class T>
NABLA_SIMD_CLONES void sgd_update(T* __restrict p, const T* __restrict g, T* __restrict b, int64_t n,
                                  const SgdConstants<T> c) {
  if (!b) {
    for (int64_t k = 0; k < n; ++k) p[k] -= c.lr * (c.sign * g[k] + c.weight_decay * p[k]);
    return;
  }
  for (int64_t k = 0; k < n; ++k) {
    T d = c.sign * g[k] + c.weight_decay * p[k];
    const T bk = c.first_step ? d : c.momentum * b[k] + c.keep * d;
    b[k] = bk;
    d = c.nesterov ? d + c.momentum * bk : bk;
    p[k] -= c.lr * d;
  }
}

}  // namespace

SGD::SGD(std::vector<ParamGroup> groups, const SGDOptions& options)
    : Optimizer(std::move(groups), detail::options_to_map(options)) {
  for (size_t g = 0; g < param_groups().size(); ++g) check_options(param_groups()[g], g);
}

void SGD::check_options(const ParamGroup& group, size_t group_index) const {
  checked_options(group, where(group_index));
}

void SGD::step() {
  SGDOptions o;  // the options of the group being stepped
  for_each_gradient(
      [&](size_t group_index) { o = checked_options(param_groups()[group_index], where(group_index)); },
      [&](size_t i, const kernels::Tensor& values, const kernels::Tensor& grad) {
        const bool use_momentum = o.momentum != 0.0;
        bool first_step = false;
        kernels::Tensor momentum_buffer;
        if (use_momentum) {
          int64_t& steps = *buffer(i, detail::kStepBuffer).data<int64_t>();
          first_step = steps == 0;
          ++steps;
          momentum_buffer = buffer(i, "momentum_buffer");
        }
        dispatch_floating(values.dtype(), [&](auto tag) {
          using T = decltype(tag);
          T* p = values.data<T>();
          const T* g = grad.data<T>();
          T* b = use_momentum ? momentum_buffer.data<T>() : nullptr;
          const SgdConstants<T> c{static_cast<T>(detail::gradient_sign(o.maximize)),
                                  static_cast<T>(o.lr),
                                  static_cast<T>(o.weight_decay),
                                  static_cast<T>(o.momentum),
                                  static_cast<T>(1.0 - o.dampening),
                                  o.nesterov,
                                  first_step};
          detail::for_each_chunk(values.numel(), [&](int64_t begin, int64_t end) {
            sgd_update<T>(p + begin, g + begin, b ? b + begin : nullptr, end - begin, c);
          });
        });
      });
}

}  // namespace nabla::nn
