#pragma once
// Second derivatives for fused ops whose backward is a kernel (recurrent layers, attention): when a
// graph of the backward itself is being recorded (create_graph), the op's backward formula calls
// recompute_gradients, which re-runs the op written with differentiable ops (its "composite") and
// differentiates that. The result is an op of its own over the original inputs and gradients, so
// any order of derivatives works; the fast kernel serves the common first-order case.
#include <functional>
#include <vector>

#include "nabla/autograd/node.hpp"

namespace nabla::detail {

using Composite = std::function<std::vector<Tensor>(const std::vector<Tensor>& inputs)>;

// The gradients of composite(inputs) weighted by grad_outputs (one per composite output, undefined
// for zero), one per input (undefined where !needs_input_grad[i]), as differentiable functions of
// the inputs and of grad_outputs. `name` names the recorded op in errors and anomaly reports.
Gradients recompute_gradients(const char* name, const Composite& composite, const std::vector<Tensor>& inputs,
                              const std::vector<Tensor>& grad_outputs, const NeedsInputGrad& needs_input_grad);

}  // namespace nabla::detail
