#include "nabla/autograd/engine.hpp"

#include <atomic>
#include <unordered_map>

#include "nabla/autograd/functions.hpp"
#include "nabla/autograd/node.hpp"

namespace nabla::autograd {

namespace {

// Adds `increment` to `total` (which may be undefined).
void accumulate(Variable& total, const Variable& increment) {
  if (!increment.defined()) return;
  total = total.defined() ? add(total, increment) : increment;
}

// The one place broadcasting is undone: a gradient arriving with the output's (broadcast) shape
// is summed back to its input's shape, and cast to its dtype.
Variable fit_to_input(const Variable& gradient, const Edge& edge, const Node& node, size_t input) {
  Variable g = gradient;
  if (g.shape() != edge.shape) g = sum_to(g, edge.shape);
  if (g.dtype() != edge.dtype) g = to(g, edge.dtype);
  if (g.shape() != edge.shape) {
    fail("backward of '{}': gradient for input {} has shape {}, expected {}", node.name(), input, g.shape(), edge.shape);
  }
  return g;
}

void check_backward_anomaly(const Node& node, size_t input, const Variable& g) {
  if (!detail::all_finite(g.data())) {
    std::string shapes;
    for (size_t i = 0; i < node.edges.size(); ++i) shapes += (i ? ", " : "") + to_string(node.edges[i].shape);
    fail("anomaly: backward of '{}' produced NaN or Inf in the gradient for input {} (input shapes: {}; "
         "output shape {})", node.name(), input, shapes, node.output_shape);
  }
}

// Each backward pass marks the nodes it reaches with a fresh stamp (Node::visit), instead of
// keeping a hash set: a training step's graph is small, and hashing allocated per node.
uint64_t next_stamp() {
  static std::atomic<uint64_t> counter{0};
  return counter.fetch_add(1, std::memory_order_relaxed) + 1;
}

// Visits the nodes reachable from the roots, stamping each one, resetting its scratch state and
// counting the edges that point at it from the others.
void collect_graph(const std::vector<Node*>& roots, uint64_t stamp) {
  std::vector<Node*> stack;
  auto visit = [&](Node* node) {
    if (node->visit == stamp) return;
    node->visit = stamp;
    node->dependencies = 0;
    node->pending_grad = Variable();
    stack.push_back(node);
  };
  for (Node* root : roots) visit(root);
  while (!stack.empty()) {  // iterative: graphs may be 100,000+ nodes deep
    Node* node = stack.back();
    stack.pop_back();
    for (const Edge& edge : node->edges) {
      Node* next = edge.node.get();
      if (!next) continue;
      visit(next);
      ++next->dependencies;
    }
  }
}

// Restores the caller's grad mode when backward ends (it switches it per node).
struct GradModeRestore {
  bool previous = is_grad_enabled();
  ~GradModeRestore() { set_grad_enabled(previous); }
};

struct Targets {
  // grad() mode: the inputs asked for, keyed by their node (non-leaf) or impl (leaf).
  std::unordered_map<const Node*, size_t> nodes;
  std::unordered_map<const VariableImpl*, size_t> leaves;
  std::vector<Variable> results;
};

void run(const std::vector<Variable>& outputs, const std::vector<Variable>& grad_outputs, bool retain_graph,
         bool create_graph, Targets* targets) {
  if (outputs.empty()) fail("backward: no outputs given");
  if (!grad_outputs.empty() && grad_outputs.size() != outputs.size()) {
    fail("backward: {} outputs but {} grad_outputs; give one per output (or none for scalars)", outputs.size(),
         grad_outputs.size());
  }
  // Seeds.
  std::vector<Node*> roots;
  std::vector<std::pair<std::shared_ptr<Node>, Variable>> node_seeds;
  std::vector<std::pair<std::shared_ptr<VariableImpl>, Variable>> leaf_seeds;
  for (size_t i = 0; i < outputs.size(); ++i) {
    const Variable& out = outputs[i];
    if (!out.defined()) fail("backward: output {} is undefined", i);
    if (!out.requires_grad()) {
      fail("backward: output {} (shape {}) does not require grad and has no grad_fn: nothing it depends on "
           "requires grad (mark inputs with requires_grad_(), and do not compute it under NoGradGuard)",
           i, out.shape());
    }
    Variable seed;
    if (grad_outputs.empty() || !grad_outputs[i].defined()) {
      if (out.numel() != 1) {
        fail("backward: output {} has shape {}; gradients can be implied only for scalar outputs, so pass "
             "a grad_output of that shape", i, out.shape());
      }
      seed = Variable(ones(out.shape(), out.dtype()));
    } else {
      seed = grad_outputs[i];
      if (seed.shape() != out.shape()) {
        fail("backward: grad_output {} has shape {} but its output has shape {}", i, seed.shape(), out.shape());
      }
    }
    if (out.grad_fn()) {
      roots.push_back(out.grad_fn().get());
      node_seeds.emplace_back(out.grad_fn(), seed);
    } else {
      leaf_seeds.emplace_back(out.impl(), seed);
    }
  }

  // node_seeds keeps the roots alive while we run; edges own every other node.
  const uint64_t stamp = next_stamp();
  collect_graph(roots, stamp);
  for (auto& [node, seed] : node_seeds) accumulate(node->pending_grad, seed);

  auto deliver_to_leaf = [&](const std::shared_ptr<VariableImpl>& leaf, const Variable& g) {
    if (targets) {
      auto it = targets->leaves.find(leaf.get());
      if (it != targets->leaves.end()) accumulate(targets->results[it->second], g);
      return;
    }
    Variable& stored = leaf->grad;
    if (!stored.defined()) {
      // Gradients may share storage with other gradients (add passes its incoming gradient on
      // to both inputs); own the stored one so in-place changes by the user stay local.
      // Stored gradients are contiguous, so optimisers run flat loops over them.
      const bool owned = g.data().storage().use_count() == 1 && g.data().is_contiguous();
      stored = (create_graph || owned) ? g : Variable(g.data().clone());
    } else {
      stored = create_graph ? add(stored, g) : Variable(nabla::add(stored.data(), g.data()));
    }
  };
  for (auto& [leaf, seed] : leaf_seeds) deliver_to_leaf(leaf, seed);

  // Process nodes once all their consumers have delivered (Kahn's algorithm).
  std::vector<std::shared_ptr<Node>> ready;
  for (auto& [node, seed] : node_seeds) {
    if (node->dependencies == 0 && node->visit == stamp) {
      node->visit = 0;  // queued once, even when several outputs share it
      ready.push_back(node);
    }
  }
  GradModeRestore restore_mode;
  while (!ready.empty()) {
    std::shared_ptr<Node> node = std::move(ready.back());
    ready.pop_back();
    Variable grad_output = std::move(node->pending_grad);
    node->pending_grad = Variable();

    if (auto retained = node->retained_output.lock()) {
      retained->grad = grad_output.defined() ? (create_graph ? grad_output : Variable(grad_output.data())) : Variable();
    }
    if (targets) {
      auto it = targets->nodes.find(node.get());
      if (it != targets->nodes.end()) accumulate(targets->results[it->second], grad_output);
    }

    Gradients input_grads;
    if (grad_output.defined()) {
      if (node->released()) detail::throw_released(node->name());
      set_grad_enabled(create_graph);
      try {
        input_grads = node->apply(grad_output, node);
      } catch (const Error& e) {
        const std::string what = e.what();
        if (what.rfind("backward", 0) == 0 || what.rfind("anomaly: backward of", 0) == 0) throw;
        if (what.rfind("anomaly: ", 0) == 0) {
          // An op inside this node's backward formula (e.g. sqrt's division) produced NaN/Inf:
          // name the node whose backward it was, not just the op within it.
          fail("anomaly: backward of '{}': {}", node->name(), what.substr(9));
        }
        fail("backward of '{}': {}", node->name(), what);
      }
      if (input_grads.size() != node->edges.size()) {
        fail("backward of '{}' returned {} gradients for {} inputs", node->name(), input_grads.size(),
             node->edges.size());
      }
    }
    if (!retain_graph) node->release_saved();
    // Drop our reference first, so a gradient that is a view of it (transpose's) is delivered to
    // its leaf without a defensive copy.
    grad_output = Variable();

    for (size_t i = 0; i < node->edges.size(); ++i) {
      const Edge& edge = node->edges[i];
      if (!edge.needs_grad()) continue;
      Variable g;
      if (i < input_grads.size() && input_grads[i].defined()) {
        g = fit_to_input(input_grads[i], edge, *node, i);
        if (is_anomaly_enabled()) check_backward_anomaly(*node, i, g);
      }
      if (edge.node) {
        accumulate(edge.node->pending_grad, g);
        if (--edge.node->dependencies == 0) ready.push_back(edge.node);
      } else if (g.defined()) {
        deliver_to_leaf(edge.leaf, g);
      }
    }
  }
}

}  // namespace

void backward(const std::vector<Variable>& outputs, const std::vector<Variable>& grad_outputs,
              BackwardOptions options) {
  run(outputs, grad_outputs, options.retain_graph || options.create_graph, options.create_graph, nullptr);
}

std::vector<Variable> grad(const std::vector<Variable>& outputs, const std::vector<Variable>& inputs,
                           const std::vector<Variable>& grad_outputs, GradOptions options) {
  Targets targets;
  targets.results.resize(inputs.size());
  for (size_t i = 0; i < inputs.size(); ++i) {
    const Variable& input = inputs[i];
    if (!input.defined() || !input.requires_grad()) {
      fail("grad: input {} does not require grad, so it has no gradient (call requires_grad_() on it)", i);
    }
    if (input.grad_fn()) {
      targets.nodes.emplace(input.grad_fn().get(), i);
    } else {
      targets.leaves.emplace(input.impl().get(), i);
    }
  }
  run(outputs, grad_outputs, options.retain_graph || options.create_graph, options.create_graph, &targets);
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (!targets.results[i].defined()) {
      if (!options.allow_unused) {
        fail("grad: input {} (shape {}) was not used to compute the outputs; pass allow_unused = true "
             "to get an undefined gradient instead", i, inputs[i].shape());
      }
    } else if (!options.create_graph) {
      targets.results[i] = targets.results[i].detach();
    }
  }
  return targets.results;
}

}  // namespace nabla::autograd
