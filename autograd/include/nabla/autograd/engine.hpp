#pragma once
// Reverse-mode differentiation over the recorded graph.
#include <functional>
#include <vector>

#include "nabla/autograd/tensor.hpp"

namespace nabla::autograd {

// Accumulates d(outputs)/d(leaf) into every leaf's grad(). grad_outputs[i] (default: 1 for a
// scalar output) weights outputs[i]. The graph is freed afterwards unless retain_graph is set.
void backward(const std::vector<Tensor>& outputs, const std::vector<Tensor>& grad_outputs = {},
              BackwardOptions options = {});

struct GradOptions {
  bool retain_graph = false;  // create_graph implies it
  bool create_graph = false;
  bool allow_unused = false;  // else an input the outputs do not depend on is an error
};

// The gradients of outputs with respect to inputs, returned without touching any grad().
// With create_graph the results have history, so they can be differentiated again.
std::vector<Tensor> grad(const std::vector<Tensor>& outputs, const std::vector<Tensor>& inputs,
                           const std::vector<Tensor>& grad_outputs = {}, GradOptions options = {});

// Runs `callback` when the backward pass running on this thread ends, after every gradient of
// the pass has been accumulated and every post-accumulate hook has run (PyTorch's
// Variable._execution_engine.queue_callback). Call it from a hook during backward; callbacks run
// in the order queued, and are dropped if the pass throws. DistributedDataParallel waits for its
// gradient all-reduces this way, so the optimiser step needs no extra call.
void queue_callback(std::function<void()> callback);

}  // namespace nabla::autograd
