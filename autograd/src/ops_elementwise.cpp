// Element-wise ops: forward on tensors, backward formulas beside them.
#include <cmath>

#include "nabla/autograd/functions.hpp"
#include "nabla/autograd/node.hpp"

namespace nabla {

namespace {
// Saves x only when `needed` (its partner needs a gradient that uses it), to keep memory low.
SavedVariable save_if(bool needed, const Variable& x) { return needed ? save(x) : SavedVariable(); }
}  // namespace

Variable add(const Variable& a, const Variable& b) {
  return record("add", {a, b}, nabla::add(a.data(), b.data()), [](const Variable& g) { return Gradients{g, g}; });
}

Variable sub(const Variable& a, const Variable& b) {
  return record("sub", {a, b}, nabla::sub(a.data(), b.data()), [](const Variable& g) { return Gradients{g, neg(g)}; });
}

Variable mul(const Variable& a, const Variable& b) {
  return record("mul", {a, b}, nabla::mul(a.data(), b.data()),
                [sa = save_if(b.requires_grad(), a), sb = save_if(a.requires_grad(), b)](const Variable& g) {
                  const Variable& av = sa.get();
                  const Variable& bv = sb.get();
                  return Gradients{bv.defined() ? g * bv : Variable(), av.defined() ? g * av : Variable()};
                });
}

Variable div(const Variable& a, const Variable& b) {
  // d(a/b)/da = 1/b, d(a/b)/db = -a/b^2 = -out/b.
  return record("div", {a, b}, nabla::div(a.data(), b.data()),
                [sb = save(b), b_needs = b.requires_grad()](const Variable& g, const Variable& out) {
                  const Variable& bv = sb.get();
                  return Gradients{g / bv, b_needs ? neg(g * out / bv) : Variable()};
                });
}

Variable pow(const Variable& base, const Variable& exponent) {
  return record("pow", {base, exponent}, nabla::pow(base.data(), exponent.data()),
                [sa = save(base), sb = save(exponent), b_needs = exponent.requires_grad()](const Variable& g,
                                                                                           const Variable& out) {
                  const Variable& a = sa.get();
                  const Variable& b = sb.get();
                  // d/da = b * a^(b-1); d/db = out * log(a) (taken as 0 where a == 0, as PyTorch does).
                  Variable grad_b;
                  if (b_needs) {
                    const Tensor positive = gt(a.data(), 0.0);
                    grad_b = g * where(positive, out * log(where(positive, a, Variable(ones_like(a.data())))),
                                       Variable(zeros_like(out.data())));
                  }
                  return Gradients{g * b * pow(a, b - 1.0), grad_b};
                });
}

namespace {
// Gradient share for `a` in maximum/minimum: 1 where a wins, 0.5 at ties, 0 where b wins.
Tensor winner_share(const Tensor& a, const Tensor& b, bool is_max) {
  const Tensor wins = is_max ? gt(a, b) : lt(a, b);
  return nabla::add(wins.to(promote_types(a.dtype(), b.dtype())), nabla::mul(eq(a, b), 0.5));
}

Variable extreme_pair(const Variable& a, const Variable& b, bool is_max) {
  Tensor out = is_max ? nabla::maximum(a.data(), b.data()) : nabla::minimum(a.data(), b.data());
  return record(is_max ? "maximum" : "minimum", {a, b}, std::move(out),
                [share = winner_share(a.data(), b.data(), is_max)](const Variable& g) {
                  return Gradients{g * share, g * nabla::sub(1.0, share)};
                });
}
}  // namespace

Variable maximum(const Variable& a, const Variable& b) { return extreme_pair(a, b, true); }
Variable minimum(const Variable& a, const Variable& b) { return extreme_pair(a, b, false); }
Variable maximum(const Variable& a, double b) { return extreme_pair(a, Variable(full({}, b, a.dtype())), true); }
Variable minimum(const Variable& a, double b) { return extreme_pair(a, Variable(full({}, b, a.dtype())), false); }

Variable add(const Variable& a, double b) {
  return record("add", {a}, nabla::add(a.data(), b), [](const Variable& g) { return Gradients{g}; });
}
Variable sub(const Variable& a, double b) {
  return record("sub", {a}, nabla::sub(a.data(), b), [](const Variable& g) { return Gradients{g}; });
}
Variable sub(double a, const Variable& b) {
  return record("sub", {b}, nabla::sub(a, b.data()), [](const Variable& g) { return Gradients{neg(g)}; });
}
Variable mul(const Variable& a, double b) {
  return record("mul", {a}, nabla::mul(a.data(), b), [b](const Variable& g) { return Gradients{g * b}; });
}
Variable div(const Variable& a, double b) {
  return record("div", {a}, nabla::div(a.data(), b), [b](const Variable& g) { return Gradients{g / b}; });
}
Variable div(double a, const Variable& b) {
  // d(a/b)/db = -a/b^2 = -out/b
  return record("div", {b}, nabla::div(a, b.data()), [sb = save(b)](const Variable& g, const Variable& out) {
    return Gradients{neg(g * out / sb.get())};
  });
}

Variable pow(const Variable& base, double exponent) {
  return record("pow", {base}, nabla::pow(base.data(), exponent), [sa = save(base), exponent](const Variable& g) {
    if (exponent == 0.0) return Gradients{Variable()};
    if (exponent == 1.0) return Gradients{g};
    if (exponent == 2.0) return Gradients{g * sa.get() * 2.0};
    return Gradients{g * pow(sa.get(), exponent - 1.0) * exponent};
  });
}

Variable neg(const Variable& x) {
  return record("neg", {x}, nabla::neg(x.data()), [](const Variable& g) { return Gradients{neg(g)}; });
}

Variable exp(const Variable& x) {
  return record("exp", {x}, nabla::exp(x.data()), [](const Variable& g, const Variable& out) { return Gradients{g * out}; });
}

Variable log(const Variable& x) {
  return record("log", {x}, nabla::log(x.data()), [sx = save(x)](const Variable& g) { return Gradients{g / sx.get()}; });
}

Variable sqrt(const Variable& x) {
  return record("sqrt", {x}, nabla::sqrt(x.data()),
                [](const Variable& g, const Variable& out) { return Gradients{g / (out * 2.0)}; });
}

Variable abs(const Variable& x) {
  return record("abs", {x}, nabla::abs(x.data()),
                [sign_x = nabla::sign(x.data())](const Variable& g) { return Gradients{g * sign_x}; });
}

Variable sign(const Variable& x) {
  return record("sign", {x}, nabla::sign(x.data()), [](const Variable&) { return Gradients{Variable()}; });
}

Variable tanh(const Variable& x) {
  return record("tanh", {x}, nabla::tanh(x.data()),
                [](const Variable& g, const Variable& out) { return Gradients{g * (1.0 - out * out)}; });
}

Variable erf(const Variable& x) {
  // d/dx erf(x) = 2/sqrt(pi) * exp(-x^2)
  return record("erf", {x}, nabla::erf(x.data()), [sx = save(x)](const Variable& g) {
    const Variable& xv = sx.get();
    return Gradients{g * exp(neg(xv * xv)) * 1.1283791670955126};
  });
}

Variable sigmoid(const Variable& x) {
  return record("sigmoid", {x}, nabla::sigmoid(x.data()),
                [](const Variable& g, const Variable& out) { return Gradients{sigmoid_backward(g, out)}; });
}

Variable sigmoid_backward(const Variable& grad_output, const Variable& output) {
  // z = g y (1 - y): dz/dg = y (1 - y), dz/dy = g (1 - 2 y).
  return record("sigmoid_backward", {grad_output, output}, nabla::sigmoid_backward(grad_output.data(), output.data()),
                [sg = save(grad_output), sy = save(output)](const Variable& u) {
                  const Variable& g = sg.get();
                  const Variable& y = sy.get();
                  return Gradients{sigmoid_backward(u, y), u * g * (1.0 - 2.0 * y)};
                });
}

Variable relu(const Variable& x) {
  // The mask is a constant: relu'' is 0 almost everywhere.
  return record("relu", {x}, nabla::relu(x.data()), [](const Variable& g, const Variable& out) {
    return Gradients{relu_backward(g, out.data())};
  });
}

Variable relu_backward(const Variable& grad_output, const Tensor& output) {
  return record("relu_backward", {grad_output}, nabla::relu_backward(grad_output.data(), output),
                [output](const Variable& g) { return Gradients{relu_backward(g, output)}; });
}

Variable clamp(const Variable& x, double low, double high) {
  Tensor out = nabla::clamp(x.data(), low, high);
  return record("clamp", {x}, std::move(out), [inside = nabla::mul(ge(x.data(), low), le(x.data(), high))](const Variable& g) {
    return Gradients{g * inside.to(g.dtype())};
  });
}

Variable where(const Tensor& mask, const Variable& a, const Variable& b) {
  return record("where", {a, b}, nabla::where(mask, a.data(), b.data()), [mask](const Variable& g) {
    const Variable zero(zeros({}, g.dtype()));
    return Gradients{where(mask, g, zero), where(mask, zero, g)};
  });
}

}  // namespace nabla
