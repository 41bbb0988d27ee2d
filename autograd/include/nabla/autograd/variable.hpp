#pragma once
// Variable: a Tensor that autograd can differentiate through. A Variable wraps its values (a
// Tensor), whether it requires a gradient, and — when it was computed by a recorded op — the
// Node that produced it. Copies share everything (like tensors, they are handles).
#include <memory>

#include "nabla/tensor.hpp"

namespace nabla {

class Node;
struct VariableImpl;

struct BackwardOptions {
  bool retain_graph = false;  // keep the graph (and its saved tensors) for another backward
  bool create_graph = false;  // record the backward pass itself, for higher-order gradients
};

class Variable {
 public:
  Variable() = default;
  // A leaf: a tensor autograd may track (when requires_grad) but that no recorded op produced.
  Variable(Tensor data, bool requires_grad = false);  // implicit: tensors mix freely with variables
  // A non-leaf: the output of `grad_fn` (used by op implementations, see nabla/autograd/node.hpp).
  Variable(Tensor data, std::shared_ptr<Node> grad_fn);

  bool defined() const { return impl_ != nullptr; }
  // The values. Changing them in place bypasses autograd (as tensor.data does in PyTorch).
  const Tensor& data() const;
  DType dtype() const { return data().dtype(); }
  const Shape& shape() const { return data().shape(); }
  int64_t dim() const { return data().dim(); }
  int64_t size(int64_t axis) const { return data().size(axis); }
  int64_t numel() const { return data().numel(); }
  template <class T = double>
  T item() const { return data().item<T>(); }

  // ---- autograd state
  bool requires_grad() const;
  // Marks a leaf as needing gradients (an error on a non-leaf: its history decides).
  Variable& requires_grad_(bool enabled = true);
  bool is_leaf() const;
  const std::shared_ptr<Node>& grad_fn() const;
  // The gradient accumulated by backward() (leaves, and non-leaves that called retain_grad()).
  // Undefined until a backward reaches this variable.
  const Variable& grad() const;
  void set_grad(const Variable& gradient);
  // Sets the gradient back to undefined (the next backward starts from nothing).
  void zero_grad();
  // Asks backward() to store this non-leaf's gradient in grad() too.
  void retain_grad();
  // Backpropagates from this variable. A scalar needs no grad_output (it is 1); otherwise pass a
  // tensor of this variable's shape.
  void backward(const Tensor& grad_output = {}, BackwardOptions options = {}) const;
  // Same values, cut from the graph: requires no grad and records nothing.
  Variable detach() const;

  // ---- views and shape ops (differentiable; see nabla/autograd/functions.hpp for the rest)
  Variable reshape(const Shape& shape) const;
  Variable view(const Shape& shape) const;
  Variable flatten(int64_t start_axis = 0, int64_t end_axis = -1) const;
  Variable transpose(int64_t axis0, int64_t axis1) const;
  Variable t() const;
  Variable permute(const Dims& order) const;
  Variable squeeze() const;
  Variable squeeze(int64_t axis) const;
  Variable unsqueeze(int64_t axis) const;
  Variable slice(int64_t axis, int64_t start, int64_t end, int64_t step = 1) const;
  Variable narrow(int64_t axis, int64_t start, int64_t length) const;
  Variable select(int64_t axis, int64_t index) const;
  Variable expand(const Shape& shape) const;
  Variable to(DType dtype) const;

  // ---- in-place arithmetic. On a tensor autograd tracks, the op is recorded and later uses of
  // this variable see the new history; saved copies of the old values are detected by version.
  Variable& add_(const Variable& other);
  Variable& sub_(const Variable& other);
  Variable& mul_(const Variable& other);
  Variable& add_(double value);
  Variable& mul_(double value);

  // Identity of the underlying variable (two handles to one variable compare equal).
  bool is_same(const Variable& other) const { return impl_ == other.impl_; }
  const std::shared_ptr<VariableImpl>& impl() const { return impl_; }

 private:
  std::shared_ptr<VariableImpl> impl_;
};

// The shared state behind Variable handles.
struct VariableImpl {
  Tensor data;
  Variable grad;
  std::shared_ptr<Node> grad_fn;
  bool requires_grad = false;
  bool retains_grad = false;
  ~VariableImpl();
};

}  // namespace nabla
