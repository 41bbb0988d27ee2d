#include "nabla/autograd/variable.hpp"

#include "nabla/autograd/engine.hpp"
#include "nabla/autograd/functions.hpp"
#include "nabla/autograd/node.hpp"

namespace nabla {

namespace detail {
void drop_node(std::shared_ptr<Node>&& node);
}

VariableImpl::~VariableImpl() { detail::drop_node(std::move(grad_fn)); }

Variable::Variable(Tensor data, bool requires_grad) {
  if (!data.defined()) return;  // an undefined tensor gives an undefined variable
  impl_ = std::make_shared<VariableImpl>();
  impl_->data = std::move(data);
  if (requires_grad) requires_grad_(true);
}

Variable::Variable(Tensor data, std::shared_ptr<Node> grad_fn) {
  impl_ = std::make_shared<VariableImpl>();
  impl_->data = std::move(data);
  impl_->grad_fn = std::move(grad_fn);
  impl_->requires_grad = impl_->grad_fn != nullptr;
}

namespace {
const VariableImpl& checked(const std::shared_ptr<VariableImpl>& impl, const char* what) {
  if (!impl) fail("{}: the variable is undefined (default-constructed)", what);
  return *impl;
}
const Variable kUndefinedVariable;
const std::shared_ptr<Node> kNoNode;
}  // namespace

const Tensor& Variable::data() const { return checked(impl_, "data").data; }
bool Variable::requires_grad() const { return impl_ && impl_->requires_grad; }
bool Variable::is_leaf() const { return !impl_ || !impl_->grad_fn; }
const std::shared_ptr<Node>& Variable::grad_fn() const { return impl_ ? impl_->grad_fn : kNoNode; }
const Variable& Variable::grad() const { return impl_ ? impl_->grad : kUndefinedVariable; }

Variable& Variable::requires_grad_(bool enabled) {
  checked(impl_, "requires_grad_");
  if (impl_->grad_fn) {
    fail("requires_grad_: only leaves can change requires_grad; this variable was computed by '{}' "
         "(use detach() to get a leaf)", impl_->grad_fn->name());
  }
  if (enabled && !is_floating(impl_->data.dtype())) {
    fail("requires_grad_: only float tensors can require gradients, this one is {}", impl_->data.dtype());
  }
  impl_->requires_grad = enabled;
  return *this;
}

void Variable::set_grad(const Variable& gradient) {
  checked(impl_, "set_grad");
  if (gradient.defined() && gradient.shape() != shape()) {
    fail("set_grad: gradient of shape {} does not match the variable's shape {}", gradient.shape(), shape());
  }
  impl_->grad = gradient;
}

void Variable::zero_grad() {
  if (impl_) impl_->grad = Variable();
}

void Variable::retain_grad() {
  checked(impl_, "retain_grad");
  if (!impl_->requires_grad) fail("retain_grad: the variable does not require grad, so it gets no gradient");
  if (!impl_->grad_fn) return;  // leaves always keep their gradient
  impl_->retains_grad = true;
  impl_->grad_fn->retained_output = impl_;
}

void Variable::backward(const Tensor& grad_output, BackwardOptions options) const {
  checked(impl_, "backward");
  std::vector<Variable> grads;
  if (grad_output.defined()) grads.emplace_back(grad_output);
  autograd::backward({*this}, grads, options);
}

Variable Variable::detach() const { return Variable(data(), false); }

Variable Variable::reshape(const Shape& shape) const { return nabla::reshape(*this, shape); }
Variable Variable::view(const Shape& shape) const { return nabla::view(*this, shape); }
Variable Variable::flatten(int64_t start_axis, int64_t end_axis) const { return nabla::flatten(*this, start_axis, end_axis); }
Variable Variable::transpose(int64_t axis0, int64_t axis1) const { return nabla::transpose(*this, axis0, axis1); }
Variable Variable::t() const {
  if (dim() != 2) fail("t: expects a 2-d variable, got shape {} (use transpose(a, b) or permute)", shape());
  return nabla::transpose(*this, 0, 1);
}
Variable Variable::permute(const Dims& order) const { return nabla::permute(*this, order); }
Variable Variable::squeeze() const { return nabla::squeeze(*this); }
Variable Variable::squeeze(int64_t axis) const { return nabla::squeeze(*this, axis); }
Variable Variable::unsqueeze(int64_t axis) const { return nabla::unsqueeze(*this, axis); }
Variable Variable::slice(int64_t axis, int64_t start, int64_t end, int64_t step) const {
  return nabla::slice(*this, axis, start, end, step);
}
Variable Variable::narrow(int64_t axis, int64_t start, int64_t length) const { return nabla::narrow(*this, axis, start, length); }
Variable Variable::select(int64_t axis, int64_t index) const { return nabla::select(*this, axis, index); }
Variable Variable::expand(const Shape& shape) const { return nabla::expand(*this, shape); }
Variable Variable::to(DType dtype) const { return nabla::to(*this, dtype); }

// In-place ops write the result into this variable's storage (bumping its version, so any
// backward that saved the old values refuses to run) and, when recorded, make the op's node this
// variable's history. The op itself is computed on a copy of the old values, so the recorded
// graph keeps what it saw.
namespace {
template <class Compute>
Variable& in_place(Variable& self, const Variable& other, const char* op, Compute compute) {
  const auto& impl = self.impl();
  if (!impl) fail("{}: the variable is undefined", op);
  const bool recording = is_grad_enabled() && (impl->requires_grad || (other.defined() && other.requires_grad()));
  if (!recording) {
    impl->data.copy_(compute(Variable(impl->data)).data());
    return self;
  }
  if (impl->requires_grad && !impl->grad_fn) {
    fail("{}: a leaf variable that requires grad cannot be modified in place while recording "
         "(wrap the update in NoGradGuard, as optimisers do)", op);
  }
  const Variable old = impl->grad_fn ? Variable(impl->data.clone(), impl->grad_fn) : Variable(impl->data.clone());
  const Variable result = compute(old);
  impl->data.copy_(result.data());
  impl->grad_fn = result.grad_fn();
  impl->requires_grad = result.requires_grad();
  return self;
}
}  // namespace

Variable& Variable::add_(const Variable& other) {
  return in_place(*this, other, "add_", [&](const Variable& x) { return nabla::add(x, other); });
}
Variable& Variable::sub_(const Variable& other) {
  return in_place(*this, other, "sub_", [&](const Variable& x) { return nabla::sub(x, other); });
}
Variable& Variable::mul_(const Variable& other) {
  return in_place(*this, other, "mul_", [&](const Variable& x) { return nabla::mul(x, other); });
}
Variable& Variable::add_(double value) {
  return in_place(*this, Variable(), "add_", [&](const Variable& x) { return nabla::add(x, value); });
}
Variable& Variable::mul_(double value) {
  return in_place(*this, Variable(), "mul_", [&](const Variable& x) { return nabla::mul(x, value); });
}

}  // namespace nabla
