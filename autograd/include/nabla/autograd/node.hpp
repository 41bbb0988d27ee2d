#pragma once
// How an op joins the tape. Every differentiable op (built-in or user-defined) is written the
// same way: compute the forward on tensors, then call record() with the inputs, the output and a
// backward lambda that maps the output's gradient to one gradient per input:
//
//   Variable exp(const Variable& x) {
//     return record("exp", {x}, nabla::exp(x.data()),
//                   [](const Variable& grad, const Variable& out) { return Gradients{grad * out}; });
//   }
//
// The lambda captures only what backward needs (use save() for inputs, so in-place changes are
// caught); declaring a second parameter asks for the op's own output. Gradients are written with
// differentiable ops, so backward of backward works. Return an undefined Variable for an input
// that gets no gradient. Broadcasting is undone by the engine: a gradient may have the output's
// broadcast shape, it is summed back to the input's shape in one place.
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <optional>
#include <span>
#include <type_traits>
#include <vector>

#include "nabla/autograd/grad_mode.hpp"
#include "nabla/autograd/variable.hpp"

namespace nabla {

using Gradients = std::vector<Variable>;

// A variable an op keeps for its backward, with the storage version it had when saved. get()
// refuses it if it was modified in place since.
class SavedVariable {
 public:
  SavedVariable() = default;
  explicit SavedVariable(const Variable& variable);
  const Variable& get() const;
  const Variable& operator*() const { return get(); }
  const Variable* operator->() const { return &get(); }

 private:
  Variable variable_;
  uint64_t version_ = 0;
};
inline SavedVariable save(const Variable& variable) { return SavedVariable(variable); }

// Where an input's gradient goes: the node that produced it, or the leaf itself.
struct Edge {
  std::shared_ptr<Node> node;
  std::shared_ptr<VariableImpl> leaf;
  Shape shape;  // the input's shape and dtype: gradients are reduced/cast to these
  DType dtype = DType::float32;
  bool needs_grad() const { return node != nullptr || leaf != nullptr; }
};

// One recorded op: its input edges and its backward formula.
class Node {
 public:
  explicit Node(const char* name) : name_(name) {}
  virtual ~Node();
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  const char* name() const { return name_; }
  // Gradients for each input from the output's gradient. `self` owns this node; it lets the op's
  // output be rebuilt with its history for higher-order gradients.
  virtual Gradients apply(const Variable& grad_output, const std::shared_ptr<Node>& self) = 0;
  // Frees what backward saved; a later apply() throws the "graph freed" error.
  virtual void release_saved() = 0;
  bool released() const { return released_; }

  std::vector<Edge> edges;
  Shape output_shape;
  DType output_dtype = DType::float32;

  // Engine scratch state, valid during one backward pass.
  Variable pending_grad;
  int64_t dependencies = 0;
  uint64_t visit = 0;  // the stamp of the last pass that reached this node
  std::weak_ptr<VariableImpl> retained_output;  // set by retain_grad()

 protected:
  bool released_ = false;

 private:
  const char* name_;
};

namespace detail {

bool any_requires_grad(std::span<const Variable> inputs);
// True when every element is finite (non-float tensors always are). Used by anomaly mode.
bool all_finite(const Tensor& t);
void check_forward_anomaly(const char* name, std::span<const Variable> inputs, const Tensor& output);
Variable connect(std::shared_ptr<Node> node, std::span<const Variable> inputs, Tensor output);
[[noreturn]] void throw_released(const char* name);
void check_saved_version(const char* name, const Tensor& saved, uint64_t version);

template <class Backward>
class LambdaNode final : public Node {
 public:
  static constexpr bool kWantsOutput = std::is_invocable_v<Backward&, const Variable&, const Variable&>;

  LambdaNode(const char* name, Backward backward, const Tensor& output) : Node(name), backward_(std::move(backward)) {
    if constexpr (kWantsOutput) {
      saved_output_ = output;
      saved_version_ = output.storage()->version();
    }
  }

  Gradients apply(const Variable& grad_output, const std::shared_ptr<Node>& self) override {
    if (!backward_) throw_released(name());
    if constexpr (kWantsOutput) {
      check_saved_version(name(), saved_output_, saved_version_);
      return (*backward_)(grad_output, Variable(saved_output_, self));
    } else {
      return (*backward_)(grad_output);
    }
  }

  void release_saved() override {
    backward_.reset();
    saved_output_ = Tensor();
    released_ = true;
  }

 private:
  std::optional<Backward> backward_;
  Tensor saved_output_;
  uint64_t saved_version_ = 0;
};

}  // namespace detail

// Wraps `output` as a Variable and, when grad mode is on and an input requires grad, records the
// op so backward() can run `backward`. Ops that need no gradient cost nothing beyond the forward.
template <class Backward>
Variable record(const char* name, std::span<const Variable> inputs, Tensor output, Backward&& backward) {
  if (is_anomaly_enabled()) detail::check_forward_anomaly(name, inputs, output);
  if (!is_grad_enabled() || !detail::any_requires_grad(inputs)) return Variable(std::move(output));
  using Lambda = std::decay_t<Backward>;
  auto node = std::make_shared<detail::LambdaNode<Lambda>>(name, std::forward<Backward>(backward), output);
  return detail::connect(std::move(node), inputs, std::move(output));
}

template <class Backward>
Variable record(const char* name, std::initializer_list<Variable> inputs, Tensor output, Backward&& backward) {
  return record(name, std::span<const Variable>(inputs.begin(), inputs.size()), std::move(output),
                std::forward<Backward>(backward));
}

}  // namespace nabla
