// Group normalisation as one recorded op (fused_layers.hpp): the fused kernels forward and
// backward, and the composed form it is differentiated through when backward itself is recorded.
#include "nabla/autograd/detail/recompute.hpp"
#include "nabla/autograd/functions.hpp"
#include "nabla/autograd/fused_layers.hpp"
#include "nabla/autograd/node.hpp"

namespace nabla {

namespace {

kernels::Tensor raw_or_undefined(const Tensor& t) { return t.defined() ? t.raw() : kernels::Tensor(); }
Tensor wrap(const kernels::Tensor& t) { return t.defined() ? Tensor(t) : Tensor(); }

// group_norm written with differentiable ops: the reference, and the second-derivative path.
Tensor group_norm_composite(const Tensor& x, int64_t num_groups, const Tensor& weight, const Tensor& bias, double eps) {
  const int64_t batch = x.size(0), channels = x.size(1);
  const int64_t group_size = batch * channels > 0 ? x.numel() / (batch * num_groups) : 0;
  const Tensor grouped = x.reshape({batch, num_groups, group_size});
  const Tensor centered = grouped - grouped.mean({2}, true);
  Tensor out = (centered / sqrt((centered * centered).mean({2}, true) + eps)).reshape(x.shape());
  Shape per_channel = Dims::filled(x.dim() - 1, 1);
  per_channel[0] = channels;
  if (weight.defined()) out = out * weight.reshape(per_channel);
  if (bias.defined()) out = out + bias.reshape(per_channel);
  return out;
}

}  // namespace

Tensor group_norm(const Tensor& x, int64_t num_groups, const Tensor& weight, const Tensor& bias, double eps) {
  if (!x.defined()) fail("group_norm: the input is undefined");
  kernels::GroupNormForward forward =
      kernels::group_norm(x.raw(), num_groups, raw_or_undefined(weight), raw_or_undefined(bias), eps);  // checks
  kernels::Tensor out = forward.output;
  return record("group_norm", {x, weight, bias}, std::move(out),
                [saved_x = save(x), saved_w = save(weight), saved_b = save(bias), forward = std::move(forward),
                 num_groups, eps](const Tensor& grad, const NeedsInputGrad& needs_input_grad) {
                  const Tensor& x = saved_x.get();
                  const Tensor& w = saved_w.get();
                  if (is_grad_enabled()) {
                    auto composite = [num_groups, eps](const std::vector<Tensor>& in) {
                      return std::vector<Tensor>{group_norm_composite(in[0], num_groups, in[1], in[2], eps)};
                    };
                    return detail::recompute_gradients("group_norm", composite, {x, w, saved_b.get()}, {grad},
                                                       needs_input_grad);
                  }
                  const kernels::GroupNormGradients g =
                      kernels::group_norm_backward(grad.raw(), x.raw(), forward, raw_or_undefined(w), needs_input_grad[0],
                                                   needs_input_grad[1], needs_input_grad[2]);
                  return Gradients{wrap(g.x), wrap(g.weight), wrap(g.bias)};
                });
}

}  // namespace nabla
