// Fused primitives behind the common layers. Each could be composed from smaller ops; as one node
// with one formula it records and runs faster, and its backward is still written with
// differentiable ops, so higher-order gradients keep working.
#include <algorithm>

#include "nabla/autograd/detail/adjoints.hpp"
#include "nabla/autograd/factories.hpp"
#include "nabla/autograd/functions.hpp"
#include "nabla/autograd/grad_mode.hpp"
#include "nabla/autograd/node.hpp"
#include "conv_records.hpp"

namespace nabla {

Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias) {
  if (!x.defined() || !weight.defined()) fail("linear: the input or the weight is undefined");
  kernels::Tensor out = kernels::linear(x.raw(), weight.raw(), bias.defined() ? bias.raw() : kernels::Tensor());
  return record("linear", {x, weight, bias}, std::move(out),
                [input = save(x), saved_weight = save(weight)](const Tensor& grad, const NeedsInputGrad& needs_input_grad) {
                  const Tensor& x = input.get();
                  const Tensor& w = saved_weight.get();
                  const int64_t in = w.shape()[1], out = w.shape()[0];
                  // dW = grad^T x over all leading axes; db = grad summed to [out] by the engine. (2-d x
                  // and grad, the common case, skip the reshapes: each would be an op of its own.)
                  Tensor grad_weight;
                  if (needs_input_grad[1]) {
                    const bool rows = x.dim() == 2;
                    grad_weight = matmul(transpose(rows ? grad : reshape(grad, {-1, out}), 0, 1), rows ? x : reshape(x, {-1, in}));
                  }
                  return Gradients{needs_input_grad[0] ? matmul(grad, w) : Tensor(), grad_weight,
                                   needs_input_grad[2] ? grad : Tensor()};
                });
}

Tensor cross_entropy_rows(const Tensor& logits, const Tensor& target, double label_smoothing, Reduction reduction,
                          const Tensor& weight, int64_t ignore_index) {
  if (!target.defined()) fail("cross_entropy: the target is undefined");
  const kernels::Tensor no_weight;
  return record("cross_entropy", {logits},
                kernels::cross_entropy_rows(logits.raw(), target.raw(), label_smoothing, reduction,
                                            weight.defined() ? weight.raw() : no_weight, ignore_index),
                [saved_logits = save(logits), target = target.detach(), label_smoothing, reduction,
                 weight = weight.defined() ? weight.detach() : Tensor(), ignore_index](const Tensor& grad) {
                  return Gradients{detail::cross_entropy_rows_backward(saved_logits.get(), target, grad, label_smoothing,
                                                                       reduction, weight, ignore_index)};
                });
}

namespace detail {

// out = (s * a - q) * g[:, None] with s = softmax(x), a and q the per-row coefficients of the
// targets (nabla/tensor/loss.hpp) and g the per-row weights (grad itself, or the reduced loss's
// grad times each row's share): linear in g, and in x through s, whose Jacobian is
// diag(s) - s s^T. So for an upstream gradient u:  dL/dg = sum_j u (s a - q) (per row, then
// summed and scaled back to grad for a reduced loss), dL/dx = (g a)[:, None] * (u s - s * sum_j(u s)).
Tensor cross_entropy_rows_backward(const Tensor& logits, const Tensor& target, const Tensor& grad,
                                   double label_smoothing, Reduction reduction, const Tensor& weight,
                                   int64_t ignore_index) {
  const kernels::Tensor no_weight;
  kernels::Tensor out = kernels::cross_entropy_rows_backward(logits.raw(), target.raw(), grad.raw(), label_smoothing,
                                                             reduction, weight.defined() ? weight.raw() : no_weight,
                                                             ignore_index);
  return record("cross_entropy_rows_backward", {logits, grad}, std::move(out),
                [saved_logits = save(logits), saved_grad = save(grad), target = target.detach(), label_smoothing,
                 reduction, weight = weight.defined() ? weight.detach() : Tensor(), ignore_index](const Tensor& u) {
                  const Tensor& x = saved_logits.get();
                  const Tensor& g = saved_grad.get();
                  const int64_t rows = x.shape()[0], classes = x.shape()[1];
                  const kernels::CrossEntropyRowsCoefficients coefficients = kernels::cross_entropy_rows_coefficients(
                      target.raw(), classes, x.dtype(), label_smoothing, weight.defined() ? weight.raw() : kernels::Tensor(),
                      ignore_index);
                  const Tensor scale(coefficients.scale);
                  const Tensor s = softmax(x, 1);
                  const Tensor us = u * s;
                  const Tensor grad_rows = sum(u * (s * unsqueeze(scale, 1) - Tensor(coefficients.q)), {1});
                  Tensor g_rows = g, grad_g = grad_rows;
                  if (reduction != Reduction::none) {
                    // (Every row ignored: the mean is 0 / 0 and no row has a gradient; 0, not inf * 0.)
                    const double share = reduction != Reduction::mean ? 1.0
                                         : coefficients.total_weight > 0.0 ? 1.0 / coefficients.total_weight
                                                                          : 0.0;
                    g_rows = expand(reshape(g, {1}) * share, {rows});
                    grad_g = reshape(sum(grad_rows) * share, g.shape());
                  }
                  return Gradients{(us - s * sum(us, {1}, true)) * unsqueeze(g_rows * scale, 1), grad_g};
                });
}

// The two adjoints of conv2d as recorded ops, given their already computed values (conv_records.hpp).

// z = B_in(g, w) is linear in g (its adjoint is conv(., w)) and in w (dL/dw = B_w(gz, g)).
Tensor record_backward_input(const Tensor& grad_output, const Tensor& weight, const Conv2dParams& params,
                             kernels::Tensor out) {
  return record("conv2d_backward_input", {grad_output, weight}, std::move(out),
                [saved_grad = save(grad_output), saved_weight = save(weight), params](const Tensor& grad,
                                                                                   const NeedsInputGrad& needs_input_grad) {
                  return Gradients{
                      needs_input_grad[0] ? conv2d(grad, saved_weight.get(), Tensor(), params) : Tensor(),
                      needs_input_grad[1] ? conv2d_backward_weight(grad, saved_grad.get(), saved_weight->shape(), params)
                                          : Tensor()};
                });
}

// z = B_w(x, g) is linear in x (dL/dx = B_in(g, gz)) and in g (dL/dg = conv(x, gz)).
Tensor record_backward_weight(const Tensor& x, const Tensor& grad_output, const Conv2dParams& params, kernels::Tensor out) {
  return record("conv2d_backward_weight", {x, grad_output}, std::move(out),
                [input = save(x), saved_grad = save(grad_output), params](const Tensor& grad,
                                                                         const NeedsInputGrad& needs_input_grad) {
                  return Gradients{
                      needs_input_grad[0] ? conv2d_backward_input(saved_grad.get(), grad, input->shape(), params) : Tensor(),
                      needs_input_grad[1] ? conv2d(input.get(), grad, Tensor(), params) : Tensor()};
                });
}

Tensor conv2d_backward_input(const Tensor& grad_output, const Tensor& weight, const Shape& input_shape,
                             const Conv2dParams& params) {
  return record_backward_input(grad_output, weight, params,
                               kernels::conv2d_backward_input(grad_output.raw(), weight.raw(), input_shape, params));
}

Tensor conv2d_backward_weight(const Tensor& x, const Tensor& grad_output, const Shape& weight_shape,
                              const Conv2dParams& params) {
  return record_backward_weight(x, grad_output, params,
                                kernels::conv2d_backward_weight(x.raw(), grad_output.raw(), weight_shape, params));
}

// The two adjoints of conv2d given the gradient of a 2x2, stride-2 max pooling of its output:
// B_in(S gp, w) and B_w(x, S gp), with S gp = max_pool2d_backward(gp, indices, conv_out) (the
// scatter to the winners) and S^T its adjoint, gather_winners. Both are linear in each argument:
//   d/dgp <u, B_in(S gp, w)> = S^T conv(u, w),   d/dw = B_w(u, S gp);
//   d/dx  <u, B_w(x, S gp)>  = B_in(S gp, u),    d/dgp = S^T conv(x, u).
// Their second derivatives thus need S gp in full; their values (kernels::conv2d_backward_pooled)
// do not.
namespace {

Shape conv_output_shape(const Shape& input_shape, const Shape& weight_shape, const Conv2dParams& params) {
  const Window2d window{.kernel = {weight_shape[2], weight_shape[3]}, .stride = params.stride,
                        .padding = params.padding, .dilation = params.dilation};
  const Size2d out = window_output_size({input_shape[2], input_shape[3]}, window, "conv2d");
  return {input_shape[0], weight_shape[0], out.h, out.w};
}

Tensor record_backward_input_pooled(const Tensor& grad_pooled, const Tensor& indices, const Tensor& weight,
                                    const Shape& input_shape, const Conv2dParams& params, kernels::Tensor out) {
  return record("conv2d_backward_input_pooled", {grad_pooled, weight}, std::move(out),
                [saved_grad = save(grad_pooled), indices = indices.detach(), saved_weight = save(weight), input_shape,
                 params](const Tensor& grad, const NeedsInputGrad& needs_input_grad) {
                  const Tensor& w = saved_weight.get();
                  return Gradients{
                      needs_input_grad[0] ? gather_winners(conv2d(grad, w, Tensor(), params), indices) : Tensor(),
                      needs_input_grad[1]
                          ? conv2d_backward_weight(grad,
                                                   max_pool2d_backward(saved_grad.get(), indices,
                                                                       conv_output_shape(input_shape, w.shape(), params)),
                                                   w.shape(), params)
                          : Tensor()};
                });
}

Tensor record_backward_weight_pooled(const Tensor& x, const Tensor& grad_pooled, const Tensor& indices,
                                     const Shape& weight_shape, const Conv2dParams& params, kernels::Tensor out) {
  return record("conv2d_backward_weight_pooled", {x, grad_pooled}, std::move(out),
                [input = save(x), saved_grad = save(grad_pooled), indices = indices.detach(), weight_shape,
                 params](const Tensor& grad, const NeedsInputGrad& needs_input_grad) {
                  const Tensor& x = input.get();
                  return Gradients{
                      needs_input_grad[0]
                          ? conv2d_backward_input(max_pool2d_backward(saved_grad.get(), indices,
                                                                      conv_output_shape(x.shape(), weight_shape, params)),
                                                  grad, x.shape(), params)
                          : Tensor(),
                      needs_input_grad[1] ? gather_winners(conv2d(x, grad, Tensor(), params), indices) : Tensor()};
                });
}

}  // namespace

Tensor conv2d_backward_input_pooled(const Tensor& grad_pooled, const Tensor& indices, const Tensor& weight,
                                    const Shape& input_shape, const Conv2dParams& params) {
  const kernels::Tensor grad_output = kernels::max_pool2d_backward(
      grad_pooled.raw(), indices.raw(), conv_output_shape(input_shape, weight.shape(), params));
  return record_backward_input_pooled(grad_pooled, indices, weight, input_shape, params,
                                      kernels::conv2d_backward_input(grad_output, weight.raw(), input_shape, params));
}

Tensor conv2d_backward_weight_pooled(const Tensor& x, const Tensor& grad_pooled, const Tensor& indices,
                                     const Shape& weight_shape, const Conv2dParams& params) {
  const kernels::Tensor grad_output = kernels::max_pool2d_backward(
      grad_pooled.raw(), indices.raw(), conv_output_shape(x.shape(), weight_shape, params));
  return record_backward_weight_pooled(x, grad_pooled, indices, weight_shape, params,
                                       kernels::conv2d_backward_weight(x.raw(), grad_output, weight_shape, params));
}

}  // namespace detail

namespace {

// A bias's gradient: grad [N, C, H, W] summed over N, H and W.
Tensor channel_sums(const Tensor& grad) { return sum(sum(grad, {2, 3}), {0}); }

// y = conv(x, w) + b. With gy = dL/dy:  dL/dx = conv_backward_input(gy, w),
// dL/dw = conv_backward_weight(x, gy), dL/db = gy summed over N, H, W. When both x and w need
// gradients, one kernel computes both (it shares work between them) and each is recorded as its
// own op, exactly as if computed apart. kept_columns: the columns the forward kept (or none), which
// the weight gradient reads rather than unfolding x again.
Gradients conv2d_gradients(const Tensor& grad, const Tensor& x, const Tensor& w, const Conv2dParams& params,
                           const kernels::Tensor& kept_columns, const NeedsInputGrad& needs_input_grad) {
  const Tensor grad_bias = needs_input_grad[2] ? channel_sums(grad) : Tensor();
  if (needs_input_grad[0] && needs_input_grad[1]) {
    auto [grad_x, grad_w] = kernels::conv2d_backward(x.raw(), grad.raw(), w.raw(), params, kept_columns);
    return Gradients{detail::record_backward_input(grad, w, params, std::move(grad_x)),
                     detail::record_backward_weight(x, grad, params, std::move(grad_w)), grad_bias};
  }
  return Gradients{needs_input_grad[0] ? detail::conv2d_backward_input(grad, w, x.shape(), params) : Tensor(),
                   needs_input_grad[1] ? detail::record_backward_weight(
                                             x, grad, params,
                                             kernels::conv2d_backward_weight(x.raw(), grad.raw(), w.shape(), params,
                                                                             kept_columns))
                                       : Tensor(),
                   grad_bias};
}

// The forward keeps its columns for the backward when the weight will want its gradient.
bool keep_columns_for(const Tensor& weight) { return is_grad_enabled() && weight.requires_grad(); }

}  // namespace

Tensor detail::record_conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias, const Conv2dParams& params,
                             kernels::Tensor out, kernels::Tensor kept_columns) {
  return record("conv2d", {x, weight, bias}, std::move(out),
                [input = save(x), saved_weight = save(weight), params, kept_columns = std::move(kept_columns)](
                    const Tensor& grad, const NeedsInputGrad& needs_input_grad) {
                  return conv2d_gradients(grad, input.get(), saved_weight.get(), params, kept_columns, needs_input_grad);
                });
}

Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias, const Conv2dParams& params) {
  if (!x.defined() || !weight.defined()) fail("conv2d: the input or the weight is undefined");
  kernels::Tensor kept_columns;
  kernels::Tensor out = kernels::conv2d(x.raw(), weight.raw(), bias.defined() ? bias.raw() : kernels::Tensor(), params,
                                        /*relu=*/false, keep_columns_for(weight) ? &kept_columns : nullptr);
  return detail::record_conv2d(x, weight, bias, params, std::move(out), std::move(kept_columns));
}

// y = relu(z), z = conv(x, w) + b, in one pass over y. dL/dz = relu_backward(gy, y) (y > 0
// exactly where z > 0), then conv2d's gradients of z; both differentiable ops, as in the pair.
// When x needs no gradient (a first layer) and no graph is being built, one kernel computes the
// weight's and the bias's gradients without writing dL/dz whole: the same values, to the last bit.
Tensor conv2d_relu(const Tensor& x, const Tensor& weight, const Tensor& bias, const Conv2dParams& params) {
  if (!x.defined() || !weight.defined()) fail("conv2d_relu: the input or the weight is undefined");
  kernels::Tensor kept_columns;
  kernels::Tensor out = kernels::conv2d(x.raw(), weight.raw(), bias.defined() ? bias.raw() : kernels::Tensor(), params,
                                        /*relu=*/true, keep_columns_for(weight) ? &kept_columns : nullptr);
  return record("conv2d_relu", {x, weight, bias}, std::move(out),
                [input = save(x), saved_weight = save(weight), params, kept_columns = std::move(kept_columns)](
                    const Tensor& grad, const Tensor& result, const NeedsInputGrad& needs_input_grad) {
                  if (!needs_input_grad[0] && needs_input_grad[1] && !is_grad_enabled()) {
                    auto [grad_w, grad_b] = kernels::conv2d_relu_backward_weight_bias(
                        input.get().raw(), grad.raw(), result.raw(), saved_weight.get().shape(), params, kept_columns);
                    return Gradients{Tensor(), Tensor(std::move(grad_w)),
                                     needs_input_grad[2] ? Tensor(std::move(grad_b)) : Tensor()};
                  }
                  return conv2d_gradients(detail::relu_backward(grad, result), input.get(), saved_weight.get(), params,
                                          kept_columns, needs_input_grad);
                });
}

// (values, indices) = max_pool2d(relu(conv(x, w) + b), 2x2, stride 2). The pooled gradient goes
// back as in the three ops: relu's mask at each winner (its pooled value > 0, since the winner is
// the pooled value), scattered to the winners (zero elsewhere), then conv2d's gradients. The last
// two run as conv2d's adjoints of the pooled gradient (detail::conv2d_backward_*_pooled), so that
// the full-size scattered gradient is never written when both are wanted. The bias gradient sums
// the masked pooled gradient: the scatter puts each of its values at exactly one place and zeros
// elsewhere, so the sums are the same, read from a quarter of the values. When no graph is being
// built and both x and w want gradients (a training step), one kernel computes all three, masking
// the pooled gradient an image at a time where it transforms it: the same values, to the last bit.
ValuesIndices conv2d_relu_max_pool2d(const Tensor& x, const Tensor& weight, const Tensor& bias, const Conv2dParams& params) {
  if (!x.defined() || !weight.defined()) fail("conv2d_relu_max_pool2d: the input or the weight is undefined");
  kernels::PoolResult pooled =
      kernels::conv2d_relu_max_pool2d(x.raw(), weight.raw(), bias.defined() ? bias.raw() : kernels::Tensor(), params);
  const Tensor indices(pooled.indices);
  Tensor values = record(
      "conv2d_relu_max_pool2d", {x, weight, bias}, std::move(pooled.values),
      [input = save(x), saved_weight = save(weight), indices, params](const Tensor& grad, const Tensor& result,
                                                                       const NeedsInputGrad& needs_input_grad) {
        const Tensor& x = input.get();
        const Tensor& w = saved_weight.get();
        if (needs_input_grad[0] && needs_input_grad[1] && !is_grad_enabled()) {  // no graph to record
          kernels::ConvGradients g =
              kernels::conv2d_relu_backward_pooled(x.raw(), grad.raw(), result.raw(), indices.raw(), w.raw(), params);
          return Gradients{Tensor(std::move(g.input)), Tensor(std::move(g.weight)),
                           needs_input_grad[2] ? Tensor(std::move(g.bias)) : Tensor()};
        }
        const Tensor grad_pooled = detail::relu_backward(grad, result);
        const Tensor grad_bias = needs_input_grad[2] ? channel_sums(grad_pooled) : Tensor();
        if (needs_input_grad[0] && needs_input_grad[1]) {  // one kernel for both, each recorded as its own op
          auto [grad_x, grad_w] =
              kernels::conv2d_backward_pooled(x.raw(), grad_pooled.raw(), indices.raw(), w.raw(), params);
          return Gradients{
              detail::record_backward_input_pooled(grad_pooled, indices, w, x.shape(), params, std::move(grad_x)),
              detail::record_backward_weight_pooled(x, grad_pooled, indices, w.shape(), params, std::move(grad_w)),
              grad_bias};
        }
        return Gradients{
            needs_input_grad[0] ? detail::conv2d_backward_input_pooled(grad_pooled, indices, w, x.shape(), params)
                                : Tensor(),
            needs_input_grad[1] ? detail::conv2d_backward_weight_pooled(x, grad_pooled, indices, w.shape(), params)
                                : Tensor(),
            grad_bias};
      });
  return {values, indices};
}

}  // namespace nabla
