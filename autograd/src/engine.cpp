// The backward pass: seed the outputs' gradients, then run each recorded op's backward once all
// the ops that consumed its output have delivered their gradients (Kahn's algorithm), handing the
// results to the ops before it or to the leaves. Each concern is its own small function below:
// ordering (collect_graph), accumulation (accumulate, deliver_to_leaf), hooks (run_hooks),
// broadcasting (fit_to_input), error context (apply_node), freeing (release_saved), and the
// end-of-pass work (post-accumulate hooks once per leaf, queued callbacks).
#include "nabla/autograd/engine.hpp"

#include <atomic>
#include <functional>
#include <unordered_map>

#include "nabla/autograd/functions.hpp"
#include "nabla/autograd/node.hpp"

namespace nabla::autograd {

namespace {

// Adds `increment` to `total` (which may be undefined).
void accumulate(Tensor& total, const Tensor& increment) {
  if (!increment.defined()) return;
  total = total.defined() ? add(total, increment) : increment;
}

// Runs hooks on a gradient in registration order; a hook may replace it.
Tensor run_hooks(const std::vector<std::pair<int64_t, TensorHook>>& hooks, Tensor gradient) {
  for (const auto& [handle, hook] : hooks) {
    Tensor replaced = hook(gradient);
    if (!replaced.defined()) continue;
    if (replaced.shape() != gradient.shape()) {
      fail("register_hook: a hook returned a gradient of shape {} for a tensor whose gradient has shape {}",
           replaced.shape(), gradient.shape());
    }
    gradient = std::move(replaced);
  }
  return gradient;
}

// The one place broadcasting is undone: a gradient arriving with the output's (broadcast) shape
// is summed back to its input's shape, and cast to its dtype.
Tensor fit_to_input(const Tensor& gradient, const Edge& edge, const Node& node, size_t input) {
  Tensor g = gradient;
  if (g.shape() != edge.shape) g = sum_to(g, edge.shape);
  if (g.dtype() != edge.dtype) g = to(g, edge.dtype);
  if (g.shape() != edge.shape) {
    fail("backward of '{}': gradient for input {} has shape {}, expected {}", node.name(), input, g.shape(), edge.shape);
  }
  return g;
}

void check_backward_anomaly(const Node& node, size_t input, const Tensor& g) {
  if (!detail::all_finite(g.raw())) {
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

// Leaves with post-accumulate hooks, with how many of this pass's edges still lead to each and
// whether one delivered a gradient: their hooks run once per pass, when the last edge is done, on
// the total (as PyTorch's). Only hooked leaves are counted, so a plain pass hashes nothing.
struct PendingLeaf {
  int64_t edges = 0;
  bool received = false;
};
using PendingLeaves = std::unordered_map<const TensorImpl*, PendingLeaf>;

// Visits the nodes reachable from the roots, stamping each one, resetting its scratch state and
// counting the edges that point at it from the others (and at hooked leaves).
void collect_graph(const std::vector<Node*>& roots, uint64_t stamp, PendingLeaves& hooked_leaves) {
  std::vector<Node*> stack;
  auto visit = [&](Node* node) {
    if (node->visit == stamp) return;
    node->visit = stamp;
    node->dependencies = 0;
    node->pending_grad = Tensor();
    stack.push_back(node);
  };
  for (Node* root : roots) visit(root);
  while (!stack.empty()) {  // iterative: graphs may be 100,000+ nodes deep
    Node* node = stack.back();
    stack.pop_back();
    for (const Edge& edge : node->edges) {
      if (edge.leaf && !edge.leaf->post_accumulate_hooks.empty()) ++hooked_leaves[edge.leaf.get()].edges;
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

// grad() mode: the inputs asked for, keyed by their node (non-leaf) or impl (leaf), and their
// gradients. backward() mode has none and accumulates into the leaves' grad() instead.
struct Targets {
  std::unordered_map<const Node*, size_t> nodes;
  std::unordered_map<const TensorImpl*, size_t> leaves;
  std::vector<Tensor> results;
};

struct Pass {
  bool retain_graph = false;
  bool create_graph = false;
  Targets* targets = nullptr;
};

void deliver_to_leaf(const std::shared_ptr<TensorImpl>& leaf, Tensor g, const Pass& pass) {
  if (!leaf->hooks.empty()) g = run_hooks(leaf->hooks, std::move(g));
  if (pass.targets) {
    auto it = pass.targets->leaves.find(leaf.get());
    if (it != pass.targets->leaves.end()) accumulate(pass.targets->results[it->second], g);
    return;
  }
  Tensor& stored = leaf->grad;
  if (!stored.defined()) {
    // Gradients may share storage with other gradients (add passes its incoming gradient on to
    // both inputs); own the stored one so in-place changes by the user stay local. Stored
    // gradients are contiguous, so optimisers run flat loops over them.
    const bool owned = g.raw().storage().use_count() == 1 && g.raw().is_contiguous();
    stored = (pass.create_graph || owned) ? g : Tensor(g.raw().clone());
  } else {
    stored = pass.create_graph ? add(stored, g) : Tensor(kernels::add(stored.raw(), g.raw()));
  }
}

void run_post_accumulate_hooks(const std::shared_ptr<TensorImpl>& leaf) {
  Tensor leaf_tensor = Tensor::from_impl(leaf);
  // A copy: a hook may remove itself.
  const auto hooks = leaf->post_accumulate_hooks;
  for (const auto& [handle, hook] : hooks) hook(leaf_tensor);
}

// One edge into a leaf is done (with a gradient or without one); after the last, its hooks run.
void leaf_edge_done(const std::shared_ptr<TensorImpl>& leaf, bool delivered, PendingLeaves& hooked_leaves,
                    const Pass& pass) {
  if (pass.targets || hooked_leaves.empty()) return;
  auto it = hooked_leaves.find(leaf.get());
  if (it == hooked_leaves.end()) return;
  it->second.received = it->second.received || delivered;
  if (--it->second.edges > 0) return;
  const bool received = it->second.received;
  hooked_leaves.erase(it);
  if (received) run_post_accumulate_hooks(leaf);
}

// Callbacks queued (queue_callback) during the pass running on this thread; run when it ends.
thread_local std::vector<std::function<void()>>* queued_callbacks = nullptr;

// Installs a fresh callback list for one pass and restores the enclosing pass's (a hook may run
// a backward of its own) when it ends, normally or by an exception.
struct CallbackScope {
  std::vector<std::function<void()>> callbacks;
  std::vector<std::function<void()>>* previous = queued_callbacks;
  CallbackScope() { queued_callbacks = &callbacks; }
  ~CallbackScope() { queued_callbacks = previous; }
  void run_all() {
    for (size_t i = 0; i < callbacks.size(); ++i) {  // by index: a callback may queue another
      std::function<void()> callback = std::move(callbacks[i]);
      callback();
    }
    callbacks.clear();
  }
};

// Runs one node's backward formula, naming the node in any error raised inside it.
Gradients apply_node(Node& node, const std::shared_ptr<Node>& owner, const Tensor& grad_output, bool create_graph) {
  if (node.released()) detail::throw_released(node.name());
  set_grad_enabled(create_graph);
  Gradients input_grads;
  try {
    input_grads = node.apply(grad_output, owner);
  } catch (const Error& e) {
    const std::string what = e.what();
    if (what.rfind("backward", 0) == 0 || what.rfind("anomaly: backward of", 0) == 0) throw;
    if (what.rfind("anomaly: ", 0) == 0) {
      // An op inside this node's backward formula (e.g. sqrt's division) produced NaN/Inf: name
      // the node whose backward it was, not just the op within it.
      fail("anomaly: backward of '{}': {}", node.name(), what.substr(9));
    }
    fail("backward of '{}': {}", node.name(), what);
  }
  if (input_grads.size() != node.edges.size()) {
    fail("backward of '{}' returned {} gradients for {} inputs", node.name(), input_grads.size(), node.edges.size());
  }
  return input_grads;
}

// The gradient a node's output receives, after its hooks, handed to retain_grad() and grad().
Tensor receive_output_grad(Node& node, Tensor grad_output, const Pass& pass) {
  if (grad_output.defined() && !node.output_hooks.empty()) grad_output = run_hooks(node.output_hooks, std::move(grad_output));
  if (auto retained = node.retained_output.lock()) {
    retained->grad = grad_output.defined() ? (pass.create_graph ? grad_output : grad_output.detach()) : Tensor();
  }
  if (pass.targets) {
    auto it = pass.targets->nodes.find(&node);
    if (it != pass.targets->nodes.end()) accumulate(pass.targets->results[it->second], grad_output);
  }
  return grad_output;
}

Tensor seed_for(const Tensor& out, const std::vector<Tensor>& grad_outputs, size_t i) {
  if (!out.defined()) fail("backward: output {} is undefined", i);
  if (!out.requires_grad()) {
    fail("backward: output {} (shape {}) does not require grad and has no grad_fn: nothing it depends on "
         "requires grad (mark inputs with requires_grad_(), and do not compute it under NoGradGuard)",
         i, out.shape());
  }
  if (grad_outputs.empty() || !grad_outputs[i].defined()) {
    if (out.numel() != 1) {
      fail("backward: output {} has shape {}; gradients can be implied only for scalar outputs, so pass "
           "a grad_output of that shape", i, out.shape());
    }
    return Tensor(kernels::ones(out.shape(), out.dtype()));
  }
  const Tensor& seed = grad_outputs[i];
  if (seed.shape() != out.shape()) {
    fail("backward: grad_output {} has shape {} but its output has shape {}", i, seed.shape(), out.shape());
  }
  return seed;
}

void run(const std::vector<Tensor>& outputs, const std::vector<Tensor>& grad_outputs, const Pass& pass) {
  if (outputs.empty()) fail("backward: no outputs given");
  if (!grad_outputs.empty() && grad_outputs.size() != outputs.size()) {
    fail("backward: {} outputs but {} grad_outputs; give one per output (or none for scalars)", outputs.size(),
         grad_outputs.size());
  }
  // Seeds. node_seeds keeps the roots alive while we run; edges own every other node.
  std::vector<Node*> roots;
  std::vector<std::pair<std::shared_ptr<Node>, Tensor>> node_seeds;
  std::vector<std::pair<std::shared_ptr<TensorImpl>, Tensor>> leaf_seeds;
  for (size_t i = 0; i < outputs.size(); ++i) {
    Tensor seed = seed_for(outputs[i], grad_outputs, i);
    if (outputs[i].grad_fn()) {
      roots.push_back(outputs[i].grad_fn().get());
      node_seeds.emplace_back(outputs[i].grad_fn(), std::move(seed));
    } else {
      leaf_seeds.emplace_back(outputs[i].impl(), std::move(seed));
    }
  }
  CallbackScope callbacks;
  const uint64_t stamp = next_stamp();
  PendingLeaves hooked_leaves;
  collect_graph(roots, stamp, hooked_leaves);
  for (auto& [node, seed] : node_seeds) accumulate(node->pending_grad, seed);
  // An output that is itself a leaf counts as one more edge into it (it may also be reached
  // through the graph, from another output).
  for (auto& [leaf, seed] : leaf_seeds) {
    if (!leaf->post_accumulate_hooks.empty()) ++hooked_leaves[leaf.get()].edges;
  }
  for (auto& [leaf, seed] : leaf_seeds) {
    deliver_to_leaf(leaf, seed, pass);
    leaf_edge_done(leaf, true, hooked_leaves, pass);
  }

  // Process nodes once all their consumers have delivered.
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
    Tensor grad_output = receive_output_grad(*node, std::move(node->pending_grad), pass);
    node->pending_grad = Tensor();

    Gradients input_grads;
    if (grad_output.defined()) input_grads = apply_node(*node, node, grad_output, pass.create_graph);
    if (!pass.retain_graph) node->release_saved();
    // Drop our reference first, so a gradient that is a view of it (transpose's) is delivered to
    // its leaf without a defensive copy.
    grad_output = Tensor();

    for (size_t i = 0; i < node->edges.size(); ++i) {
      const Edge& edge = node->edges[i];
      if (!edge.needs_grad()) continue;
      Tensor g;
      if (i < input_grads.size() && input_grads[i].defined()) {
        g = fit_to_input(input_grads[i], edge, *node, i);
        if (is_anomaly_enabled()) check_backward_anomaly(*node, i, g);
      }
      if (edge.node) {
        accumulate(edge.node->pending_grad, g);
        if (--edge.node->dependencies == 0) ready.push_back(edge.node);
      } else {
        const bool delivered = g.defined();
        if (delivered) deliver_to_leaf(edge.leaf, std::move(g), pass);
        leaf_edge_done(edge.leaf, delivered, hooked_leaves, pass);
      }
    }
  }
  callbacks.run_all();
}

}  // namespace

void queue_callback(std::function<void()> callback) {
  if (!queued_callbacks) {
    fail("queue_callback: no backward pass is running on this thread; queue callbacks from a hook during "
         "backward (they run when that pass has accumulated every gradient)");
  }
  if (!callback) fail("queue_callback: the callback is empty");
  queued_callbacks->push_back(std::move(callback));
}

void backward(const std::vector<Tensor>& outputs, const std::vector<Tensor>& grad_outputs, BackwardOptions options) {
  run(outputs, grad_outputs, {.retain_graph = options.retain_graph || options.create_graph, .create_graph = options.create_graph});
}

std::vector<Tensor> grad(const std::vector<Tensor>& outputs, const std::vector<Tensor>& inputs,
                         const std::vector<Tensor>& grad_outputs, GradOptions options) {
  Targets targets;
  targets.results.resize(inputs.size());
  for (size_t i = 0; i < inputs.size(); ++i) {
    const Tensor& input = inputs[i];
    if (!input.defined() || !input.requires_grad()) {
      fail("grad: input {} does not require grad, so it has no gradient (call requires_grad_() on it)", i);
    }
    if (input.grad_fn()) {
      targets.nodes.emplace(input.grad_fn().get(), i);
    } else {
      targets.leaves.emplace(input.impl().get(), i);
    }
  }
  run(outputs, grad_outputs,
      {.retain_graph = options.retain_graph || options.create_graph, .create_graph = options.create_graph, .targets = &targets});
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
