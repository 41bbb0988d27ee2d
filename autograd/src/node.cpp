#include "nabla/autograd/node.hpp"

#include <cmath>

#include "nabla/autograd/functions.hpp"

namespace nabla {

namespace detail {

// Graphs can be chains of 100,000+ nodes. Destroying one node drops its inputs' nodes, which
// would recurse once per link and overflow the stack; instead, nodes whose last owner is going
// away are queued here and destroyed one at a time by the outermost call.
namespace {
thread_local std::vector<std::shared_ptr<Node>>* t_deferred = nullptr;
}

void drop_node(std::shared_ptr<Node>&& node) {
  if (!node) return;
  if (node.use_count() > 1) {
    node.reset();
    return;
  }
  if (t_deferred) {
    t_deferred->push_back(std::move(node));
    return;
  }
  std::vector<std::shared_ptr<Node>> queue;
  t_deferred = &queue;
  queue.push_back(std::move(node));
  while (!queue.empty()) {
    std::shared_ptr<Node> next = std::move(queue.back());
    queue.pop_back();
    next.reset();  // may queue more
  }
  t_deferred = nullptr;
}

bool any_requires_grad(std::span<const Tensor> inputs) {
  for (const Tensor& input : inputs) {
    if (input.defined() && input.requires_grad()) return true;
  }
  return false;
}

bool all_finite(const kernels::Tensor& t) {
  if (!is_floating(t.dtype()) || t.numel() == 0) return true;
  const kernels::Tensor finite = kernels::eq(kernels::sub(t, t), 0.0);  // x - x is 0 exactly when x is finite
  return kernels::min(finite).item<int64_t>() == 1;
}

namespace {
std::string describe_inputs(std::span<const Tensor> inputs) {
  std::string out;
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (i) out += ", ";
    out += inputs[i].defined() ? fmt::format("{} {}", inputs[i].shape(), inputs[i].dtype()) : "undefined";
  }
  return out;
}
}  // namespace

void check_forward_anomaly(const char* name, std::span<const Tensor> inputs, const kernels::Tensor& output) {
  if (all_finite(output)) return;
  bool inputs_finite = true;
  for (const Tensor& input : inputs) {
    if (input.defined() && !all_finite(input.raw())) inputs_finite = false;
  }
  fail("anomaly: '{}' produced NaN or Inf in its output of shape {} (inputs: {}{})", name, output.shape(),
       describe_inputs(inputs), inputs_finite ? "; all inputs were finite" : "; some inputs were already non-finite");
}

Tensor connect(std::shared_ptr<Node> node, std::span<const Tensor> inputs, kernels::Tensor output) {
  node->edges.reserve(inputs.size());
  for (const Tensor& input : inputs) {
    Edge edge;
    if (input.defined()) {
      edge.shape = input.shape();
      edge.dtype = input.dtype();
      if (input.requires_grad()) {
        if (input.grad_fn()) {
          edge.node = input.grad_fn();
        } else {
          edge.leaf = input.impl();
        }
      }
    }
    node->edges.push_back(std::move(edge));
  }
  node->output_shape = output.shape();
  return Tensor(std::move(output), std::move(node));
}

const kernels::Tensor& unrecorded_values(const char* name, const Tensor& output) {
  if (!output.defined()) fail("record '{}': the forward result is undefined", name);
  if (output.grad_fn()) {
    fail("record '{}': the forward result was itself recorded (by '{}'), so the op would be recorded twice; compute "
         "the forward under NoGradGuard, or with kernels:: functions on the inputs' raw() arrays",
         name, output.grad_fn()->name());
  }
  return output.raw();
}

void throw_released(const char* name) {
  fail("backward: the graph through '{}' was already freed by an earlier backward(); pass "
       "retain_graph = true to the first backward if you need to backpropagate through it again",
       name);
}

void check_saved_version(const char* name, const kernels::Tensor& saved, uint64_t version) {
  const uint64_t now = saved.storage()->version();
  if (now != version) {
    fail("backward of '{}': a tensor of shape {} that it saved was modified by an in-place operation "
         "(version {} when saved, {} now). Use an out-of-place op (x = x + y instead of x.add_(y)) "
         "or clone() the tensor before changing it",
         name, saved.shape(), version, now);
  }
}

}  // namespace detail

Node::~Node() {
  for (Edge& edge : edges) detail::drop_node(std::move(edge.node));
}

SavedTensor::SavedTensor(const Tensor& tensor) : tensor_(tensor) {
  if (tensor.defined()) version_ = tensor.raw().storage()->version();
}

const Tensor& SavedTensor::get() const {
  if (tensor_.defined()) {
    const uint64_t now = tensor_.raw().storage()->version();
    if (now != version_) {
      fail("a tensor of shape {} saved for backward was modified by an in-place operation "
           "(version {} when saved, {} now). Use an out-of-place op (x = x + y instead of x.add_(y)) "
           "or clone() it before changing it",
           tensor_.shape(), version_, now);
    }
  }
  return tensor_;
}

}  // namespace nabla
