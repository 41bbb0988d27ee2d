// Batch normalisation with batch statistics as one recorded op (fused_layers.hpp): the fused
// kernels forward and backward, and the composed form it is differentiated through when backward
// itself is recorded.
#include "nabla/autograd/detail/recompute.hpp"
#include "nabla/autograd/functions.hpp"
#include "nabla/autograd/fused_layers.hpp"
#include "nabla/autograd/node.hpp"

namespace nabla {

namespace {

kernels::Tensor raw_or_undefined(const Tensor& t) { return t.defined() ? t.raw() : kernels::Tensor(); }
Tensor wrap(const kernels::Tensor& t) { return t.defined() ? Tensor(t) : Tensor(); }

// native_batch_norm's output written with differentiable ops: the reference, and the
// second-derivative path.
Tensor batch_norm_composite(const Tensor& x, const Tensor& weight, const Tensor& bias, double eps) {
  Dims axes{0};
  Shape per_channel = Dims::filled(x.dim(), 1);
  per_channel[1] = x.size(1);
  for (int64_t i = 2; i < x.dim(); ++i) axes.push_back(i);
  const Tensor centered = x - x.mean(axes, true);
  Tensor out = centered / sqrt((centered * centered).mean(axes, true) + eps);
  if (weight.defined()) out = out * weight.reshape(per_channel);
  if (bias.defined()) out = out + bias.reshape(per_channel);
  return out;
}

}  // namespace

NativeBatchNorm native_batch_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, double eps) {
  if (!x.defined()) fail("batch_norm: the input is undefined");
  kernels::BatchNormForward forward =
      kernels::batch_norm(x.raw(), raw_or_undefined(weight), raw_or_undefined(bias), eps);  // checks
  NativeBatchNorm result{.output = Tensor(), .mean = Tensor(forward.mean), .var = Tensor(forward.var)};
  kernels::Tensor out = forward.output;
  result.output = record("batch_norm", {x, weight, bias}, std::move(out),
                         [saved_x = save(x), saved_w = save(weight), saved_b = save(bias), forward = std::move(forward),
                          eps](const Tensor& grad, const NeedsInputGrad& needs_input_grad) {
                           const Tensor& x = saved_x.get();
                           const Tensor& w = saved_w.get();
                           if (is_grad_enabled()) {
                             auto composite = [eps](const std::vector<Tensor>& in) {
                               return std::vector<Tensor>{batch_norm_composite(in[0], in[1], in[2], eps)};
                             };
                             return detail::recompute_gradients("batch_norm", composite, {x, w, saved_b.get()}, {grad},
                                                                needs_input_grad);
                           }
                           const kernels::BatchNormGradients g = kernels::batch_norm_backward(
                               grad.raw(), x.raw(), forward, raw_or_undefined(w), needs_input_grad[0],
                               needs_input_grad[1], needs_input_grad[2]);
                           return Gradients{wrap(g.x), wrap(g.weight), wrap(g.bias)};
                         });
  return result;
}

}  // namespace nabla
