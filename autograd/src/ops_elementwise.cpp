// Element-wise ops: forward on the tensor layer's kernels, backward formulas beside them.
#include <cmath>
#include <limits>

#include "nabla/autograd/detail/adjoints.hpp"
#include "nabla/autograd/factories.hpp"
#include "nabla/autograd/functions.hpp"
#include "nabla/autograd/node.hpp"

namespace nabla {

// ---- arithmetic

Tensor add(const Tensor& a, const Tensor& b) {
  return record("add", {a, b}, kernels::add(a.raw(), b.raw()), [](const Tensor& grad) { return Gradients{grad, grad}; });
}

Tensor sub(const Tensor& a, const Tensor& b) {
  return record("sub", {a, b}, kernels::sub(a.raw(), b.raw()),
                [](const Tensor& grad, const NeedsInputGrad& needs_input_grad) {
                  return Gradients{grad, needs_input_grad[1] ? -grad : Tensor()};
                });
}

Tensor mul(const Tensor& a, const Tensor& b) {
  return record("mul", {a, b}, kernels::mul(a.raw(), b.raw()),
                [self = save(a), other = save(b)](const Tensor& grad, const NeedsInputGrad& needs_input_grad) {
                  return Gradients{needs_input_grad[0] ? grad * other.get() : Tensor(),
                                   needs_input_grad[1] ? grad * self.get() : Tensor()};
                });
}

Tensor div(const Tensor& a, const Tensor& b) {
  // d(a/b)/da = 1/b, d(a/b)/db = -a/b^2 = -result/b.
  return record("div", {a, b}, kernels::div(a.raw(), b.raw()),
                [other = save(b)](const Tensor& grad, const Tensor& result, const NeedsInputGrad& needs_input_grad) {
                  const Tensor& b = other.get();
                  return Gradients{needs_input_grad[0] ? grad / b : Tensor(),
                                   needs_input_grad[1] ? -(grad * result / b) : Tensor()};
                });
}

Tensor pow(const Tensor& base, const Tensor& exponent) {
  return record("pow", {base, exponent}, kernels::pow(base.raw(), exponent.raw()),
                [self = save(base), saved_exponent = save(exponent)](const Tensor& grad, const Tensor& result,
                                                                      const NeedsInputGrad& needs_input_grad) {
                  const Tensor& a = self.get();
                  const Tensor& b = saved_exponent.get();
                  // d/da = b * a^(b-1); d/db = result * log(a), taken as 0 where a == 0 (as PyTorch does).
                  Tensor grad_exponent;
                  if (needs_input_grad[1]) {
                    const Tensor positive = gt(a, 0.0);
                    grad_exponent = grad * where(positive, result * log(where(positive, a, 1.0)), 0.0);
                  }
                  return Gradients{needs_input_grad[0] ? grad * b * pow(a, b - 1.0) : Tensor(), grad_exponent};
                });
}

namespace {
// Gradient share for `a` in maximum/minimum: 1 where a wins, 0.5 at ties, 0 where b wins.
kernels::Tensor winner_share(const kernels::Tensor& a, const kernels::Tensor& b, bool is_max) {
  const kernels::Tensor wins = is_max ? kernels::gt(a, b) : kernels::lt(a, b);
  return kernels::add(wins.to(promote_types(a.dtype(), b.dtype())), kernels::mul(kernels::eq(a, b), 0.5));
}

Tensor extreme_pair(const Tensor& a, const Tensor& b, bool is_max) {
  kernels::Tensor out = is_max ? kernels::maximum(a.raw(), b.raw()) : kernels::minimum(a.raw(), b.raw());
  return record(is_max ? "maximum" : "minimum", {a, b}, std::move(out),
                [share = Tensor(winner_share(a.raw(), b.raw(), is_max))](const Tensor& grad) {
                  return Gradients{grad * share, grad * (1.0 - share)};
                });
}

// A scalar operand as a 0-d tensor of x's dtype.
Tensor scalar_like(const Tensor& x, double value) { return Tensor(kernels::full({}, value, x.dtype())); }
}  // namespace

Tensor maximum(const Tensor& a, const Tensor& b) { return extreme_pair(a, b, true); }
Tensor minimum(const Tensor& a, const Tensor& b) { return extreme_pair(a, b, false); }
Tensor maximum(const Tensor& a, double b) { return extreme_pair(a, scalar_like(a, b), true); }
Tensor minimum(const Tensor& a, double b) { return extreme_pair(a, scalar_like(a, b), false); }

Tensor add(const Tensor& a, double b) {
  return record("add", {a}, kernels::add(a.raw(), b), [](const Tensor& grad) { return Gradients{grad}; });
}
Tensor sub(const Tensor& a, double b) {
  return record("sub", {a}, kernels::sub(a.raw(), b), [](const Tensor& grad) { return Gradients{grad}; });
}
Tensor sub(double a, const Tensor& b) {
  return record("sub", {b}, kernels::sub(a, b.raw()), [](const Tensor& grad) { return Gradients{-grad}; });
}
Tensor mul(const Tensor& a, double b) {
  return record("mul", {a}, kernels::mul(a.raw(), b), [b](const Tensor& grad) { return Gradients{grad * b}; });
}
Tensor div(const Tensor& a, double b) {
  return record("div", {a}, kernels::div(a.raw(), b), [b](const Tensor& grad) { return Gradients{grad / b}; });
}
Tensor div(double a, const Tensor& b) {
  // d(a/b)/db = -a/b^2 = -result/b
  return record("div", {b}, kernels::div(a, b.raw()), [other = save(b)](const Tensor& grad, const Tensor& result) {
    return Gradients{-(grad * result / other.get())};
  });
}

Tensor pow(const Tensor& base, double exponent) {
  return record("pow", {base}, kernels::pow(base.raw(), exponent), [self = save(base), exponent](const Tensor& grad) {
    if (exponent == 0.0) return Gradients{Tensor()};
    if (exponent == 1.0) return Gradients{grad};
    if (exponent == 2.0) return Gradients{grad * self.get() * 2.0};
    return Gradients{grad * pow(self.get(), exponent - 1.0) * exponent};
  });
}

Tensor neg(const Tensor& x) {
  return record("neg", {x}, kernels::neg(x.raw()), [](const Tensor& grad) { return Gradients{neg(grad)}; });
}

// ---- the point-wise math ops of nabla/tensor/pointwise.def

#define NABLA_POINTWISE_SELF(name, dtypes, forward, vector_kernel, derivative, domain)                   \
  Tensor name(const Tensor& input) {                                                                   \
    return record(#name, {input}, kernels::name(input.raw()), [saved = save(input)](const Tensor& grad) { \
      const Tensor& self = saved.get();                                                                \
      return Gradients{derivative};                                                                    \
    });                                                                                                \
  }
#define NABLA_POINTWISE_RESULT(name, dtypes, forward, vector_kernel, derivative, domain)                \
  Tensor name(const Tensor& input) {                                                                   \
    return record(#name, {input}, kernels::name(input.raw()),                                          \
                  [](const Tensor& grad, const Tensor& result) { return Gradients{derivative}; });     \
  }
#define NABLA_POINTWISE_NO_GRAD(name, dtypes, forward, domain)                                          \
  Tensor name(const Tensor& input) {                                                                   \
    return record(#name, {input}, kernels::name(input.raw()),                                          \
                  [](const Tensor& grad) { return Gradients{zeros_like(grad)}; });                     \
  }
#include "nabla/tensor/pointwise.def"

namespace detail {

Tensor sigmoid_backward(const Tensor& grad_output, const Tensor& output) {
  // z = g y (1 - y): dz/dg = y (1 - y), dz/dy = g (1 - 2 y).
  return record("sigmoid_backward", {grad_output, output}, kernels::sigmoid_backward(grad_output.raw(), output.raw()),
                [saved_grad = save(grad_output), saved_output = save(output)](const Tensor& grad,
                                                                             const NeedsInputGrad& needs_input_grad) {
                  const Tensor& y = saved_output.get();
                  return Gradients{needs_input_grad[0] ? sigmoid_backward(grad, y) : Tensor(),
                                   needs_input_grad[1] ? grad * saved_grad.get() * (1.0 - 2.0 * y) : Tensor()};
                });
}

Tensor relu_backward(const Tensor& grad_output, const Tensor& output) {
  // Linear in grad_output; the mask (output > 0) is a constant, so relu'' is 0 almost everywhere.
  return record("relu_backward", {grad_output}, kernels::relu_backward(grad_output.raw(), output.raw()),
                [output = output.detach()](const Tensor& grad) { return Gradients{relu_backward(grad, output)}; });
}

}  // namespace detail

Tensor clamp(const Tensor& x, double low, double high) {
  kernels::Tensor out = kernels::clamp(x.raw(), low, high);
  return record("clamp", {x}, std::move(out),
                [inside = Tensor(kernels::mul(kernels::ge(x.raw(), low), kernels::le(x.raw(), high)))](const Tensor& grad) {
                  return Gradients{grad * inside.to(grad.dtype())};
                });
}
Tensor clamp_min(const Tensor& x, double low) { return clamp(x, low, std::numeric_limits<double>::infinity()); }
Tensor clamp_max(const Tensor& x, double high) { return clamp(x, -std::numeric_limits<double>::infinity(), high); }

Tensor where(const Tensor& mask, const Tensor& a, const Tensor& b) {
  return record("where", {a, b}, kernels::where(mask.raw(), a.raw(), b.raw()),
                [mask = mask.detach()](const Tensor& grad, const NeedsInputGrad& needs_input_grad) {
                  const Tensor zero(kernels::zeros({}, grad.dtype()));
                  return Gradients{needs_input_grad[0] ? where(mask, grad, zero) : Tensor(),
                                   needs_input_grad[1] ? where(mask, zero, grad) : Tensor()};
                });
}
Tensor where(const Tensor& mask, const Tensor& a, double b) { return where(mask, a, scalar_like(a, b)); }
Tensor where(const Tensor& mask, double a, const Tensor& b) { return where(mask, scalar_like(b, a), b); }

Tensor masked_fill(const Tensor& x, const Tensor& mask, double value) {
  kernels::check_mask(mask.defined() ? mask.raw() : kernels::Tensor(), "masked_fill");
  if (broadcast_shapes(mask.shape(), x.shape(), "masked_fill") != x.shape()) {
    fail("masked_fill: a mask of shape {} does not broadcast to the tensor's shape {}", mask.shape(), x.shape());
  }
  return where(mask, scalar_like(x, value), x);
}

// ---- comparisons and logic: no gradient

Tensor eq(const Tensor& a, const Tensor& b) { return Tensor(kernels::eq(a.raw(), b.raw())); }
Tensor ne(const Tensor& a, const Tensor& b) { return Tensor(kernels::ne(a.raw(), b.raw())); }
Tensor lt(const Tensor& a, const Tensor& b) { return Tensor(kernels::lt(a.raw(), b.raw())); }
Tensor le(const Tensor& a, const Tensor& b) { return Tensor(kernels::le(a.raw(), b.raw())); }
Tensor gt(const Tensor& a, const Tensor& b) { return Tensor(kernels::gt(a.raw(), b.raw())); }
Tensor ge(const Tensor& a, const Tensor& b) { return Tensor(kernels::ge(a.raw(), b.raw())); }
Tensor eq(const Tensor& a, double b) { return Tensor(kernels::eq(a.raw(), b)); }
Tensor ne(const Tensor& a, double b) { return Tensor(kernels::ne(a.raw(), b)); }
Tensor lt(const Tensor& a, double b) { return Tensor(kernels::lt(a.raw(), b)); }
Tensor le(const Tensor& a, double b) { return Tensor(kernels::le(a.raw(), b)); }
Tensor gt(const Tensor& a, double b) { return Tensor(kernels::gt(a.raw(), b)); }
Tensor ge(const Tensor& a, double b) { return Tensor(kernels::ge(a.raw(), b)); }
Tensor logical_not(const Tensor& x) { return Tensor(kernels::logical_not(x.raw())); }
Tensor logical_and(const Tensor& a, const Tensor& b) { return Tensor(kernels::logical_and(a.raw(), b.raw())); }
Tensor logical_or(const Tensor& a, const Tensor& b) { return Tensor(kernels::logical_or(a.raw(), b.raw())); }
Tensor logical_xor(const Tensor& a, const Tensor& b) { return Tensor(kernels::logical_xor(a.raw(), b.raw())); }
bool allclose(const Tensor& a, const Tensor& b, double rtol, double atol) { return kernels::allclose(a.raw(), b.raw(), rtol, atol); }
bool equal(const Tensor& a, const Tensor& b) { return kernels::equal(a.raw(), b.raw()); }

}  // namespace nabla
