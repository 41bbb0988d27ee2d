// Fused primitives for the common layers. Each could be composed from smaller ops; as one node
// with one formula it records and runs faster, and its backward is still written with
// differentiable ops, so higher-order gradients keep working.
#include "nabla/autograd/functions.hpp"
#include "nabla/autograd/node.hpp"

namespace nabla {

Variable linear(const Variable& x, const Variable& weight, const Variable& bias) {
  Tensor out = nabla::linear(x.data(), weight.data(), bias.defined() ? bias.data() : Tensor());
  return record("linear", {x, weight, bias}, std::move(out),
                [sx = save(x), sw = save(weight), x_needs = x.requires_grad(), w_needs = weight.requires_grad()](
                    const Variable& g) {
                  const Variable& xv = sx.get();
                  const Variable& wv = sw.get();
                  const int64_t in = wv.shape()[1], out = wv.shape()[0];
                  // dW = g^T x over all leading axes; db = g summed to [out] by the engine. (2-d x
                  // and g, the common case, skip the reshapes: each would be an op of its own.)
                  Variable grad_w;
                  if (w_needs) {
                    const bool rows = xv.dim() == 2;
                    grad_w = matmul(transpose(rows ? g : reshape(g, {-1, out}), 0, 1), rows ? xv : reshape(xv, {-1, in}));
                  }
                  return Gradients{x_needs ? matmul(g, wv) : Variable(), grad_w, g};
                });
}

Variable cross_entropy_rows(const Variable& logits, const Tensor& target, double label_smoothing, Reduction reduction) {
  return record("cross_entropy", {logits}, nabla::cross_entropy_rows(logits.data(), target, label_smoothing, reduction),
                [sx = save(logits), target, label_smoothing, reduction](const Variable& g) {
                  return Gradients{cross_entropy_rows_backward(sx.get(), target, g, label_smoothing, reduction)};
                });
}

// out = (s - q) * g[:, None] with s = softmax(x) and g the per-row weights (grad itself, or the
// reduced loss's grad times each row's share): linear in g, and in x through s, whose Jacobian is
// diag(s) - s s^T. So for an upstream gradient u:  dL/dg = sum_j u (s - q) (per row, then summed
// and scaled back to grad for a reduced loss), dL/dx = g[:, None] * (u s - s * sum_j(u s)).
Variable cross_entropy_rows_backward(const Variable& logits, const Tensor& target, const Variable& grad,
                                     double label_smoothing, Reduction reduction) {
  Tensor out = nabla::cross_entropy_rows_backward(logits.data(), target, grad.data(), label_smoothing, reduction);
  return record("cross_entropy_rows_backward", {logits, grad}, std::move(out),
                [sx = save(logits), sg = save(grad), target, label_smoothing, reduction](const Variable& u) {
                  const Variable& x = sx.get();
                  const Variable& g = sg.get();
                  const int64_t rows = x.shape()[0], classes = x.shape()[1];
                  Tensor q = full(x.shape(), label_smoothing / static_cast<double>(classes), x.dtype());
                  q = nabla::scatter_add(q, 1, target.reshape({-1, 1}),
                                         full({rows, 1}, 1.0 - label_smoothing, x.dtype()));
                  const Variable s = softmax(x, 1);
                  const Variable us = u * s;
                  const Variable grad_rows = sum(u * (s - Variable(q)), {1});
                  Variable g_rows = g, grad_g = grad_rows;
                  if (reduction != Reduction::none) {
                    const double share =
                        reduction == Reduction::mean ? 1.0 / static_cast<double>(std::max<int64_t>(rows, 1)) : 1.0;
                    g_rows = expand(reshape(g, {1}) * share, {rows});
                    grad_g = reshape(sum(grad_rows) * share, g.shape());
                  }
                  return Gradients{(us - s * sum(us, {1}, true)) * unsqueeze(g_rows, 1), grad_g};
                });
}

}  // namespace nabla

namespace nabla {

// The two adjoints of conv2d as recorded ops, given their already computed values.
namespace {

// z = B_in(g, w) is linear in g (its adjoint is conv(., w)) and in w (dL/dw = B_w(gz, g)).
Variable record_backward_input(const Variable& grad_output, const Variable& weight, const Conv2dParams& params,
                               Tensor out) {
  return record("conv2d_backward_input", {grad_output, weight}, std::move(out),
                [sg = save(grad_output), sw = save(weight), g_needs = grad_output.requires_grad(),
                 w_needs = weight.requires_grad(), params](const Variable& gz) {
                  return Gradients{g_needs ? conv2d(gz, sw.get(), Variable(), params) : Variable(),
                                   w_needs ? conv2d_backward_weight(gz, sg.get(), sw->shape(), params) : Variable()};
                });
}

// z = B_w(x, g) is linear in x (dL/dx = B_in(g, gz)) and in g (dL/dg = conv(x, gz)).
Variable record_backward_weight(const Variable& x, const Variable& grad_output, const Conv2dParams& params,
                                Tensor out) {
  return record("conv2d_backward_weight", {x, grad_output}, std::move(out),
                [sx = save(x), sg = save(grad_output), x_needs = x.requires_grad(),
                 g_needs = grad_output.requires_grad(), params](const Variable& gz) {
                  return Gradients{x_needs ? conv2d_backward_input(sg.get(), gz, sx->shape(), params) : Variable(),
                                   g_needs ? conv2d(sx.get(), gz, Variable(), params) : Variable()};
                });
}

}  // namespace

// y = conv(x, w) + b. With gy = dL/dy:  dL/dx = conv_backward_input(gy, w),
// dL/dw = conv_backward_weight(x, gy), dL/db = gy summed over N, H, W. When both x and w need
// gradients, one kernel computes both (it shares work between them) and each is recorded as its
// own op, exactly as if computed apart.
Variable conv2d(const Variable& x, const Variable& weight, const Variable& bias, const Conv2dParams& params) {
  Tensor out = nabla::conv2d(x.data(), weight.data(), bias.defined() ? bias.data() : Tensor(), params);
  return record("conv2d", {x, weight, bias}, std::move(out),
                [sx = save(x), sw = save(weight), x_needs = x.requires_grad(), w_needs = weight.requires_grad(),
                 b_needs = bias.defined() && bias.requires_grad(), params](const Variable& g) {
                  const Variable& xv = sx.get();
                  const Variable& wv = sw.get();
                  const Variable gb = b_needs ? sum(sum(g, {2, 3}), {0}) : Variable();
                  if (x_needs && w_needs) {
                    auto [gx, gw] = nabla::conv2d_backward(xv.data(), g.data(), wv.data(), params);
                    return Gradients{record_backward_input(g, wv, params, std::move(gx)),
                                     record_backward_weight(xv, g, params, std::move(gw)), gb};
                  }
                  return Gradients{x_needs ? conv2d_backward_input(g, wv, xv.shape(), params) : Variable(),
                                   w_needs ? conv2d_backward_weight(xv, g, wv.shape(), params) : Variable(), gb};
                });
}

Variable conv2d_backward_input(const Variable& grad_output, const Variable& weight, const Shape& input_shape,
                               const Conv2dParams& params) {
  return record_backward_input(grad_output, weight, params,
                               nabla::conv2d_backward_input(grad_output.data(), weight.data(), input_shape, params));
}

Variable conv2d_backward_weight(const Variable& x, const Variable& grad_output, const Shape& weight_shape,
                                const Conv2dParams& params) {
  return record_backward_weight(x, grad_output, params,
                                nabla::conv2d_backward_weight(x.data(), grad_output.data(), weight_shape, params));
}

}  // namespace nabla
