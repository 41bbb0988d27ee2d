// The transposed convolution: conv2d's input adjoint as an op of its own (PyTorch's
// conv_transpose2d), so its backward is conv2d's other two kernels.
#include <algorithm>

#include "nabla/autograd/detail/adjoints.hpp"
#include "nabla/autograd/factories.hpp"
#include "nabla/autograd/functions.hpp"
#include "nabla/autograd/node.hpp"
#include "conv_records.hpp"

namespace nabla {

// z = B_in(x, w) + b, where B_in is conv2d's input adjoint with x in the place of grad_output.
// B_in is linear in x with adjoint conv2d(., w), and linear in w with dL/dw = B_w(gz, x); db sums
// gz over N, H, W. Output rows and columns that output_padding adds past the last tap receive
// nothing from x or w, so their gradient is dropped (sliced off) before the two kernels.
Tensor conv_transpose2d(const Tensor& x, const Tensor& weight, const Tensor& bias, const Conv2dParams& params,
                        Size2d output_padding) {
  if (!x.defined() || !weight.defined()) fail("conv_transpose2d: the input or the weight is undefined");
  kernels::Tensor out = kernels::conv_transpose2d(x.raw(), weight.raw(), bias.defined() ? bias.raw() : kernels::Tensor(),
                                                  params, output_padding);
  // The rows and columns conv2d maps back onto x: all but output_padding beyond stride - 1.
  const Size2d reached{out.size(2) - std::max<int64_t>(0, output_padding.h - (params.stride.h - 1)),
                       out.size(3) - std::max<int64_t>(0, output_padding.w - (params.stride.w - 1))};
  return record("conv_transpose2d", {x, weight, bias}, std::move(out),
                [input = save(x), saved_weight = save(weight), params, reached](const Tensor& grad,
                                                                               const NeedsInputGrad& needs_input_grad) {
                  const Tensor& x = input.get();
                  const Tensor& w = saved_weight.get();
                  const Tensor grad_bias = needs_input_grad[2] ? sum(sum(grad, {2, 3}), {0}) : Tensor();
                  if (reached.h < 1 || reached.w < 1) {  // no output position depends on x or w
                    return Gradients{needs_input_grad[0] ? zeros(x.shape(), x.dtype()) : Tensor(),
                                     needs_input_grad[1] ? zeros(w.shape(), w.dtype()) : Tensor(), grad_bias};
                  }
                  Tensor g = grad;
                  if (grad.shape()[2] != reached.h) g = slice(g, 2, 0, reached.h);
                  if (grad.shape()[3] != reached.w) g = slice(g, 3, 0, reached.w);
                  if (needs_input_grad[0] && needs_input_grad[1]) {  // one kernel: it unfolds g once for both
                    auto [grad_x, grad_w] = kernels::conv2d_and_backward_weight(g.raw(), w.raw(), x.raw(), params);
                    return Gradients{detail::record_conv2d(g, w, Tensor(), params, std::move(grad_x)),
                                     detail::record_backward_weight(g, x, params, std::move(grad_w)), grad_bias};
                  }
                  return Gradients{needs_input_grad[0] ? conv2d(g, w, Tensor(), params) : Tensor(),
                                   needs_input_grad[1] ? detail::conv2d_backward_weight(g, x, w.shape(), params) : Tensor(),
                                   grad_bias};
                });
}

}  // namespace nabla
