#pragma once
// How an op joins the tape. Every differentiable op (built-in or user-defined) is written the
// same way: compute the forward on the tensor layer's arrays (kernels::), then call record() with
// the inputs, the output and a backward lambda that maps the output's gradient to one gradient per
// input (the forward may also be computed with Tensor ops under NoGradGuard):
//
//   Tensor exp(const Tensor& self) {
//     return record("exp", {self}, kernels::exp(self.raw()),
//                   [](const Tensor& grad, const Tensor& result) { return Gradients{grad * result}; });
//   }
//
// The lambda captures only what backward needs (use save() for inputs, so that in-place changes
// are caught). Its parameters say what it wants, in the names of PyTorch's derivatives.yaml:
//   (const Tensor& grad)                                     the output's gradient
//   (const Tensor& grad, const Tensor& result)               ... and the op's own output
//   (const Tensor& grad, const NeedsInputGrad& needs_input_grad)
//   (const Tensor& grad, const Tensor& result, const NeedsInputGrad& needs_input_grad)
// needs_input_grad[i] says whether input i wants a gradient in this pass: skip the work for the
// others and return an undefined Tensor in their place. Gradients are written with differentiable
// ops, so backward of backward works. Broadcasting is undone by the engine: a gradient may have the
// output's broadcast shape; it is summed back to the input's shape in one place.
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <optional>
#include <span>
#include <type_traits>
#include <utility>
#include <vector>

#include "nabla/autograd/grad_mode.hpp"
#include "nabla/autograd/tensor.hpp"

namespace nabla {

using Gradients = std::vector<Tensor>;

// A tensor an op keeps for its backward, with the storage version it had when saved. get()
// refuses it if it was modified in place since.
class SavedTensor {
 public:
  SavedTensor() = default;
  explicit SavedTensor(const Tensor& tensor);
  const Tensor& get() const;
  const Tensor& operator*() const { return get(); }
  const Tensor* operator->() const { return &get(); }

 private:
  Tensor tensor_;
  uint64_t version_ = 0;
};
inline SavedTensor save(const Tensor& tensor) { return SavedTensor(tensor); }

// Where an input's gradient goes: the node that produced it, or the leaf itself.
struct Edge {
  std::shared_ptr<Node> node;
  std::shared_ptr<TensorImpl> leaf;
  Shape shape;  // the input's shape and dtype: gradients are reduced/cast to these
  DType dtype = DType::float32;
  bool needs_grad() const { return node != nullptr || leaf != nullptr; }
};

// Which inputs of an op want a gradient: needs_input_grad[i].
class NeedsInputGrad {
 public:
  explicit NeedsInputGrad(std::span<const Edge> edges) : edges_(edges) {}
  bool operator[](size_t input) const { return input < edges_.size() && edges_[input].needs_grad(); }

 private:
  std::span<const Edge> edges_;
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
  virtual Gradients apply(const Tensor& grad_output, const std::shared_ptr<Node>& self) = 0;
  // Frees what backward saved; a later apply() throws the "graph freed" error.
  virtual void release_saved() = 0;
  bool released() const { return released_; }

  std::vector<Edge> edges;
  Shape output_shape;
  // Hooks registered on the op's output (Tensor::register_hook on a non-leaf), run on its gradient.
  std::vector<std::pair<int64_t, TensorHook>> output_hooks;

  // Engine scratch state, valid during one backward pass.
  Tensor pending_grad;
  int64_t dependencies = 0;
  uint64_t visit = 0;  // the stamp of the last pass that reached this node
  std::weak_ptr<TensorImpl> retained_output;  // set by retain_grad()

 protected:
  bool released_ = false;

 private:
  const char* name_;
};

namespace detail {

bool any_requires_grad(std::span<const Tensor> inputs);
// True when every element is finite (non-float tensors always are). Used by anomaly mode.
bool all_finite(const kernels::Tensor& t);
void check_forward_anomaly(const char* name, std::span<const Tensor> inputs, const kernels::Tensor& output);
Tensor connect(std::shared_ptr<Node> node, std::span<const Tensor> inputs, kernels::Tensor output);
[[noreturn]] void throw_released(const char* name);
// The values of an op's forward result computed on Tensors; refuses one that was itself recorded.
const kernels::Tensor& unrecorded_values(const char* name, const Tensor& output);
void check_saved_version(const char* name, const kernels::Tensor& saved, uint64_t version);

template <class Backward>
class LambdaNode final : public Node {
 public:
  static constexpr bool kWantsMask = std::is_invocable_v<Backward&, const Tensor&, const NeedsInputGrad&> ||
                                     std::is_invocable_v<Backward&, const Tensor&, const Tensor&, const NeedsInputGrad&>;
  static constexpr bool kWantsOutput = std::is_invocable_v<Backward&, const Tensor&, const Tensor&> ||
                                       std::is_invocable_v<Backward&, const Tensor&, const Tensor&, const NeedsInputGrad&>;

  LambdaNode(const char* name, Backward backward, const kernels::Tensor& output)
      : Node(name), backward_(std::move(backward)) {
    if constexpr (kWantsOutput) {
      saved_output_ = output;
      saved_version_ = output.storage()->version();
    }
  }

  Gradients apply(const Tensor& grad_output, const std::shared_ptr<Node>& self) override {
    if (!backward_) throw_released(name());
    const NeedsInputGrad needs_input_grad(edges);
    if constexpr (kWantsOutput) {
      check_saved_version(name(), saved_output_, saved_version_);
      const Tensor result(saved_output_, self);
      if constexpr (kWantsMask) {
        return (*backward_)(grad_output, result, needs_input_grad);
      } else {
        return (*backward_)(grad_output, result);
      }
    } else if constexpr (kWantsMask) {
      return (*backward_)(grad_output, needs_input_grad);
    } else {
      return (*backward_)(grad_output);
    }
  }

  void release_saved() override {
    backward_.reset();
    saved_output_ = kernels::Tensor();
    released_ = true;
  }

 private:
  std::optional<Backward> backward_;
  kernels::Tensor saved_output_;
  uint64_t saved_version_ = 0;
};

}  // namespace detail

// Wraps `output` as a Tensor and, when grad mode is on and an input requires grad, records the op
// so backward() can run `backward`. Ops that need no gradient cost nothing beyond the forward.
template <class Backward>
Tensor record(const char* name, std::span<const Tensor> inputs, kernels::Tensor output, Backward&& backward) {
  if (is_anomaly_enabled()) detail::check_forward_anomaly(name, inputs, output);
  if (!is_grad_enabled() || !detail::any_requires_grad(inputs)) return Tensor(std::move(output));
  using Lambda = std::decay_t<Backward>;
  auto node = std::make_shared<detail::LambdaNode<Lambda>>(name, std::forward<Backward>(backward), output);
  return detail::connect(std::move(node), inputs, std::move(output));
}

template <class Backward>
Tensor record(const char* name, std::initializer_list<Tensor> inputs, kernels::Tensor output, Backward&& backward) {
  return record(name, std::span<const Tensor>(inputs.begin(), inputs.size()), std::move(output),
                std::forward<Backward>(backward));
}

// The same, for a forward computed with Tensor ops: compute it under NoGradGuard (so that it
// records nothing; a recorded result is refused), or on the inputs' raw() arrays with kernels::.
template <class Backward>
Tensor record(const char* name, std::initializer_list<Tensor> inputs, const Tensor& output, Backward&& backward) {
  return record(name, std::span<const Tensor>(inputs.begin(), inputs.size()), detail::unrecorded_values(name, output),
                std::forward<Backward>(backward));
}

}  // namespace nabla
