// The Tensor handle: its autograd state, and its methods (each forwards to the free function of
// the same name in functions.hpp, where the op and its backward live).
#include "nabla/autograd/tensor.hpp"

#include <atomic>

#include "nabla/autograd/engine.hpp"
#include "nabla/autograd/factories.hpp"
#include "nabla/autograd/functions.hpp"
#include "nabla/autograd/node.hpp"

namespace nabla {

namespace detail {
void drop_node(std::shared_ptr<Node>&& node);
}

TensorImpl::~TensorImpl() { detail::drop_node(std::move(grad_fn)); }

Tensor::Tensor(kernels::Tensor values, bool requires_grad) {
  if (!values.defined()) return;  // an undefined array gives an undefined tensor
  impl_ = std::make_shared<TensorImpl>();
  impl_->values = std::move(values);
  if (requires_grad) requires_grad_(true);
}

Tensor::Tensor(kernels::Tensor values, std::shared_ptr<Node> grad_fn) {
  impl_ = std::make_shared<TensorImpl>();
  impl_->values = std::move(values);
  impl_->grad_fn = std::move(grad_fn);
  impl_->requires_grad = impl_->grad_fn != nullptr;
}

namespace {
TensorImpl& checked(const std::shared_ptr<TensorImpl>& impl, const char* what) {
  if (!impl) fail("{}: the tensor is undefined (default-constructed)", what);
  return *impl;
}
const Tensor kUndefinedTensor;
const std::shared_ptr<Node> kNoNode;
}  // namespace

const kernels::Tensor& Tensor::raw() const { return checked(impl_, "tensor").values; }
bool Tensor::requires_grad() const { return impl_ && impl_->requires_grad; }
bool Tensor::is_leaf() const { return !impl_ || !impl_->grad_fn; }
const std::shared_ptr<Node>& Tensor::grad_fn() const { return impl_ ? impl_->grad_fn : kNoNode; }
const Tensor& Tensor::grad() const { return impl_ ? impl_->grad : kUndefinedTensor; }
Tensor& Tensor::mutable_grad() const { return checked(impl_, "mutable_grad").grad; }

const Tensor& Tensor::requires_grad_(bool enabled) const {
  TensorImpl& impl = checked(impl_, "requires_grad_");
  if (impl.grad_fn) {
    fail("requires_grad_: only leaves can change requires_grad; this tensor was computed by '{}' "
         "(use detach() to get a leaf)", impl.grad_fn->name());
  }
  if (enabled && !is_floating(impl.values.dtype())) {
    fail("requires_grad_: only float tensors can require gradients, this one is {}", impl.values.dtype());
  }
  impl.requires_grad = enabled;
  return *this;
}

void Tensor::set_grad(const Tensor& gradient) const {
  checked(impl_, "set_grad");
  if (gradient.defined() && gradient.shape() != shape()) {
    fail("set_grad: gradient of shape {} does not match the tensor's shape {}", gradient.shape(), shape());
  }
  impl_->grad = gradient;
}

void Tensor::zero_grad() const {
  if (impl_) impl_->grad = Tensor();
}

void Tensor::retain_grad() const {
  TensorImpl& impl = checked(impl_, "retain_grad");
  if (!impl.requires_grad) fail("retain_grad: the tensor does not require grad, so it gets no gradient");
  if (!impl.grad_fn) return;  // leaves always keep their gradient
  impl.grad_fn->retained_output = impl_;
}

bool Tensor::retains_grad() const {
  if (!impl_ || !impl_->grad_fn) return false;
  return impl_->grad_fn->retained_output.lock() == impl_;
}

namespace {
int64_t next_hook_handle() {
  static std::atomic<int64_t> counter{0};
  return ++counter;
}
}  // namespace

int64_t Tensor::register_hook(TensorHook hook) const {
  TensorImpl& impl = checked(impl_, "register_hook");
  if (!impl.requires_grad) {
    fail("register_hook: the tensor does not require grad, so no gradient will reach the hook");
  }
  if (!hook) fail("register_hook: the hook is empty");
  const int64_t handle = next_hook_handle();
  // A non-leaf's gradient arrives at the op that computed it; a leaf's at the leaf itself.
  if (impl.grad_fn) {
    impl.grad_fn->output_hooks.emplace_back(handle, std::move(hook));
  } else {
    impl.hooks.emplace_back(handle, std::move(hook));
  }
  return handle;
}

int64_t Tensor::register_post_accumulate_grad_hook(PostAccumulateGradHook hook) const {
  TensorImpl& impl = checked(impl_, "register_post_accumulate_grad_hook");
  if (impl.grad_fn || !impl.requires_grad) {
    fail("register_post_accumulate_grad_hook: only a leaf that requires grad accumulates a gradient "
         "(this one is {})", impl.grad_fn ? "the output of an op" : "a leaf that does not require grad");
  }
  if (!hook) fail("register_post_accumulate_grad_hook: the hook is empty");
  const int64_t handle = next_hook_handle();
  impl.post_accumulate_hooks.emplace_back(handle, std::move(hook));
  return handle;
}

void Tensor::remove_hook(int64_t handle) const {
  TensorImpl& impl = checked(impl_, "remove_hook");
  auto drop = [handle](auto& hooks) {
    return std::erase_if(hooks, [handle](const auto& entry) { return entry.first == handle; }) > 0;
  };
  if (drop(impl.hooks) || drop(impl.post_accumulate_hooks)) return;
  if (impl.grad_fn && drop(impl.grad_fn->output_hooks)) return;
  fail("remove_hook: no hook with handle {} is registered on this tensor", handle);
}

void Tensor::backward(const Tensor& grad_output, BackwardOptions options) const {
  checked(impl_, "backward");
  std::vector<Tensor> grads;
  if (grad_output.defined()) grads.push_back(grad_output);
  autograd::backward({*this}, grads, options);
}

Tensor Tensor::detach() const { return Tensor(raw(), false); }

void Tensor::set_data(const Tensor& new_data) const {
  TensorImpl& impl = checked(impl_, "set_data");
  if (!new_data.defined()) fail("set_data: the new data is undefined");
  if (impl.grad_fn) fail("set_data: only a leaf's values can be replaced; this tensor was computed by '{}'", impl.grad_fn->name());
  if (impl.requires_grad && !is_floating(new_data.dtype())) {
    fail("set_data: this tensor requires grad, so its values must be float, got {}", new_data.dtype());
  }
  impl.values = new_data.raw();
  impl.grad = Tensor();
}

// ---- methods: each is its free function

Tensor Tensor::contiguous() const { return nabla::contiguous(*this); }
Tensor Tensor::clone() const { return nabla::clone(*this); }
Tensor Tensor::to(DType dtype) const { return nabla::to(*this, dtype); }

Tensor Tensor::reshape(const Shape& shape) const { return nabla::reshape(*this, shape); }
Tensor Tensor::view(const Shape& shape) const { return nabla::view(*this, shape); }
Tensor Tensor::flatten(int64_t start_axis, int64_t end_axis) const { return nabla::flatten(*this, start_axis, end_axis); }
Tensor Tensor::transpose(int64_t axis0, int64_t axis1) const { return nabla::transpose(*this, axis0, axis1); }
Tensor Tensor::t() const {
  if (dim() != 2) fail("t: expects a 2-d tensor, got shape {} (use transpose(a, b) or permute)", shape());
  return nabla::transpose(*this, 0, 1);
}
Tensor Tensor::permute(const Dims& order) const { return nabla::permute(*this, order); }
Tensor Tensor::squeeze() const { return nabla::squeeze(*this); }
Tensor Tensor::squeeze(int64_t axis) const { return nabla::squeeze(*this, axis); }
Tensor Tensor::unsqueeze(int64_t axis) const { return nabla::unsqueeze(*this, axis); }
Tensor Tensor::slice(int64_t axis, int64_t start, int64_t end, int64_t step) const {
  return nabla::slice(*this, axis, start, end, step);
}
Tensor Tensor::narrow(int64_t axis, int64_t start, int64_t length) const { return nabla::narrow(*this, axis, start, length); }
Tensor Tensor::select(int64_t axis, int64_t index) const { return nabla::select(*this, axis, index); }
Tensor Tensor::expand(const Shape& shape) const { return nabla::expand(*this, shape); }
Tensor Tensor::index_select(int64_t axis, const Tensor& index) const { return nabla::index_select(*this, axis, index); }
Tensor Tensor::gather(int64_t axis, const Tensor& index) const { return nabla::gather(*this, axis, index); }
Tensor Tensor::masked_fill(const Tensor& mask, double value) const { return nabla::masked_fill(*this, mask, value); }
// issue 13: shape and indexing
std::vector<Tensor> Tensor::split(int64_t split_size, int64_t axis) const { return nabla::split(*this, split_size, axis); }
std::vector<Tensor> Tensor::split(std::initializer_list<int64_t> split_sizes, int64_t axis) const {
  return nabla::split(*this, split_sizes, axis);
}
std::vector<Tensor> Tensor::split(const std::vector<int64_t>& split_sizes, int64_t axis) const {
  return nabla::split(*this, split_sizes, axis);
}
std::vector<Tensor> Tensor::split_with_sizes(const std::vector<int64_t>& split_sizes, int64_t axis) const {
  return nabla::split_with_sizes(*this, split_sizes, axis);
}
std::vector<Tensor> Tensor::chunk(int64_t chunks, int64_t axis) const { return nabla::chunk(*this, chunks, axis); }
std::vector<Tensor> Tensor::unbind(int64_t axis) const { return nabla::unbind(*this, axis); }
Tensor Tensor::flip(const Dims& axes) const { return nabla::flip(*this, axes); }
Tensor Tensor::roll(const Dims& shifts, const Dims& axes) const { return nabla::roll(*this, shifts, axes); }
Tensor Tensor::roll(int64_t shift, int64_t axis) const { return nabla::roll(*this, shift, axis); }
Tensor Tensor::repeat(const Dims& repeats) const { return nabla::repeat(*this, repeats); }
Tensor Tensor::tile(const Dims& reps) const { return nabla::tile(*this, reps); }
Tensor Tensor::tril(int64_t diagonal) const { return nabla::tril(*this, diagonal); }
Tensor Tensor::triu(int64_t diagonal) const { return nabla::triu(*this, diagonal); }
Tensor Tensor::diag(int64_t diagonal) const { return nabla::diag(*this, diagonal); }
Tensor Tensor::masked_select(const Tensor& mask) const { return nabla::masked_select(*this, mask); }
Tensor Tensor::index(const std::vector<Tensor>& indices) const { return nabla::index(*this, indices); }
Tensor Tensor::index_put(const std::vector<Tensor>& indices, const Tensor& values, bool accumulate) const {
  return nabla::index_put(*this, indices, values, accumulate);
}
Tensor Tensor::index_fill(int64_t axis, const Tensor& index, double value) const {
  return nabla::index_fill(*this, axis, index, value);
}
Tensor Tensor::take_along_dim(const Tensor& indices) const { return nabla::take_along_dim(*this, indices); }
Tensor Tensor::take_along_dim(const Tensor& indices, int64_t axis) const {
  return nabla::take_along_dim(*this, indices, axis);
}

Tensor Tensor::add(const Tensor& other) const { return nabla::add(*this, other); }
Tensor Tensor::add(double other) const { return nabla::add(*this, other); }
Tensor Tensor::sub(const Tensor& other) const { return nabla::sub(*this, other); }
Tensor Tensor::sub(double other) const { return nabla::sub(*this, other); }
Tensor Tensor::mul(const Tensor& other) const { return nabla::mul(*this, other); }
Tensor Tensor::mul(double other) const { return nabla::mul(*this, other); }
Tensor Tensor::div(const Tensor& other) const { return nabla::div(*this, other); }
Tensor Tensor::div(double other) const { return nabla::div(*this, other); }
Tensor Tensor::pow(const Tensor& exponent) const { return nabla::pow(*this, exponent); }
Tensor Tensor::pow(double exponent) const { return nabla::pow(*this, exponent); }
Tensor Tensor::maximum(const Tensor& other) const { return nabla::maximum(*this, other); }
Tensor Tensor::minimum(const Tensor& other) const { return nabla::minimum(*this, other); }
Tensor Tensor::neg() const { return nabla::neg(*this); }
Tensor Tensor::clamp(double low, double high) const { return nabla::clamp(*this, low, high); }
Tensor Tensor::clamp_min(double low) const { return nabla::clamp_min(*this, low); }
Tensor Tensor::clamp_max(double high) const { return nabla::clamp_max(*this, high); }
// ---- issue 13: math
Tensor Tensor::atan2(const Tensor& other) const { return nabla::atan2(*this, other); }
Tensor Tensor::fmod(const Tensor& other) const { return nabla::fmod(*this, other); }
Tensor Tensor::fmod(double other) const { return nabla::fmod(*this, other); }
Tensor Tensor::remainder(const Tensor& other) const { return nabla::remainder(*this, other); }
Tensor Tensor::remainder(double other) const { return nabla::remainder(*this, other); }
Tensor Tensor::nan_to_num(double nan, std::optional<double> posinf, std::optional<double> neginf) const {
  return nabla::nan_to_num(*this, nan, posinf, neginf);
}
#define NABLA_POINTWISE_METHOD(name) \
  Tensor Tensor::name() const { return nabla::name(*this); }
#define NABLA_POINTWISE_SELF(name, dtypes, forward, vector_kernel, derivative, domain) NABLA_POINTWISE_METHOD(name)
#define NABLA_POINTWISE_RESULT(name, dtypes, forward, vector_kernel, derivative, domain) NABLA_POINTWISE_METHOD(name)
#define NABLA_POINTWISE_NO_GRAD(name, dtypes, forward, domain) NABLA_POINTWISE_METHOD(name)
#include "nabla/tensor/pointwise.def"
#undef NABLA_POINTWISE_METHOD
Tensor Tensor::softmax(int64_t axis) const { return nabla::softmax(*this, axis); }
Tensor Tensor::log_softmax(int64_t axis) const { return nabla::log_softmax(*this, axis); }
Tensor Tensor::matmul(const Tensor& other) const { return nabla::matmul(*this, other); }
Tensor Tensor::mm(const Tensor& other) const { return nabla::mm(*this, other); }

Tensor Tensor::eq(const Tensor& other) const { return nabla::eq(*this, other); }
Tensor Tensor::eq(double other) const { return nabla::eq(*this, other); }
Tensor Tensor::ne(const Tensor& other) const { return nabla::ne(*this, other); }
Tensor Tensor::ne(double other) const { return nabla::ne(*this, other); }
Tensor Tensor::lt(const Tensor& other) const { return nabla::lt(*this, other); }
Tensor Tensor::lt(double other) const { return nabla::lt(*this, other); }
Tensor Tensor::le(const Tensor& other) const { return nabla::le(*this, other); }
Tensor Tensor::le(double other) const { return nabla::le(*this, other); }
Tensor Tensor::gt(const Tensor& other) const { return nabla::gt(*this, other); }
Tensor Tensor::gt(double other) const { return nabla::gt(*this, other); }
Tensor Tensor::ge(const Tensor& other) const { return nabla::ge(*this, other); }
Tensor Tensor::ge(double other) const { return nabla::ge(*this, other); }
Tensor Tensor::logical_not() const { return nabla::logical_not(*this); }
Tensor Tensor::logical_and(const Tensor& other) const { return nabla::logical_and(*this, other); }
Tensor Tensor::logical_or(const Tensor& other) const { return nabla::logical_or(*this, other); }
Tensor Tensor::logical_xor(const Tensor& other) const { return nabla::logical_xor(*this, other); }
// ---- issue 13: math
Tensor Tensor::isnan() const { return nabla::isnan(*this); }
Tensor Tensor::isinf() const { return nabla::isinf(*this); }
Tensor Tensor::isfinite() const { return nabla::isfinite(*this); }
bool Tensor::equal(const Tensor& other) const { return nabla::equal(*this, other); }
bool Tensor::allclose(const Tensor& other, double rtol, double atol) const { return nabla::allclose(*this, other, rtol, atol); }

Tensor Tensor::sum(const Dims& axes, bool keepdim) const { return nabla::sum(*this, axes, keepdim); }
Tensor Tensor::mean(const Dims& axes, bool keepdim) const { return nabla::mean(*this, axes, keepdim); }
Tensor Tensor::var(const Dims& axes, bool keepdim, int64_t correction) const {
  return nabla::var(*this, axes, keepdim, correction);
}
Tensor Tensor::logsumexp(const Dims& axes, bool keepdim) const { return nabla::logsumexp(*this, axes, keepdim); }
Tensor Tensor::amax(const Dims& axes, bool keepdim) const { return nabla::amax(*this, axes, keepdim); }
Tensor Tensor::amin(const Dims& axes, bool keepdim) const { return nabla::amin(*this, axes, keepdim); }
Tensor Tensor::max() const { return nabla::max(*this); }
Tensor Tensor::min() const { return nabla::min(*this); }
ValuesIndices Tensor::max(int64_t axis, bool keepdim) const { return nabla::max(*this, axis, keepdim); }
ValuesIndices Tensor::min(int64_t axis, bool keepdim) const { return nabla::min(*this, axis, keepdim); }
Tensor Tensor::argmax() const { return nabla::argmax(*this); }
Tensor Tensor::argmax(int64_t axis, bool keepdim) const { return nabla::argmax(*this, axis, keepdim); }
Tensor Tensor::argmin() const { return nabla::argmin(*this); }
Tensor Tensor::argmin(int64_t axis, bool keepdim) const { return nabla::argmin(*this, axis, keepdim); }
// ---- issue 13: reductions, scans, sorting
Tensor Tensor::prod() const { return nabla::prod(*this); }
Tensor Tensor::prod(int64_t axis, bool keepdim) const { return nabla::prod(*this, axis, keepdim); }
Tensor Tensor::std(const Dims& axes, bool keepdim, int64_t correction) const {
  return nabla::std(*this, axes, keepdim, correction);
}
Tensor Tensor::norm(double p, const Dims& axes, bool keepdim) const { return nabla::norm(*this, p, axes, keepdim); }
Tensor Tensor::norm(std::string_view p, const Dims& axes, bool keepdim) const {
  return nabla::norm(*this, p, axes, keepdim);
}
Tensor Tensor::all(const Dims& axes, bool keepdim) const { return nabla::all(*this, axes, keepdim); }
Tensor Tensor::any(const Dims& axes, bool keepdim) const { return nabla::any(*this, axes, keepdim); }
Tensor Tensor::cumsum(int64_t axis) const { return nabla::cumsum(*this, axis); }
Tensor Tensor::cumprod(int64_t axis) const { return nabla::cumprod(*this, axis); }
ValuesIndices Tensor::sort(int64_t axis, bool descending, bool stable) const {
  return nabla::sort(*this, axis, descending, stable);
}
Tensor Tensor::argsort(int64_t axis, bool descending, bool stable) const {
  return nabla::argsort(*this, axis, descending, stable);
}
ValuesIndices Tensor::topk(int64_t k, int64_t axis, bool largest, bool sorted) const {
  return nabla::topk(*this, k, axis, largest, sorted);
}
ValuesIndices Tensor::kthvalue(int64_t k, int64_t axis, bool keepdim) const {
  return nabla::kthvalue(*this, k, axis, keepdim);
}
Tensor Tensor::median() const { return nabla::median(*this); }
ValuesIndices Tensor::median(int64_t axis, bool keepdim) const { return nabla::median(*this, axis, keepdim); }
ValuesIndices Tensor::mode(int64_t axis, bool keepdim) const { return nabla::mode(*this, axis, keepdim); }
Tensor Tensor::multinomial(int64_t num_samples, bool replacement, Generator& generator) const {
  return nabla::multinomial(*this, num_samples, replacement, generator);
}

// ---- in place
//
// Without recording (no grad mode, or nothing requires grad) the tensor layer's in-place kernel
// writes the storage directly. When the op must be recorded, it is computed out of place on a copy
// of the old values (so the recorded graph keeps what it saw), the result is written into this
// tensor's storage (bumping its version, so a backward that saved the old values refuses to run),
// and the op's node becomes this tensor's history.
namespace {
template <class Direct, class Compute>
const Tensor& in_place(const Tensor& self, const Tensor& other, const char* op, Direct direct, Compute compute) {
  TensorImpl& impl = checked(self.impl(), op);
  const bool recording = is_grad_enabled() && (impl.requires_grad || (other.defined() && other.requires_grad()));
  if (!recording) {
    direct(impl.values);
    return self;
  }
  if (impl.requires_grad && !impl.grad_fn) {
    fail("{}: a leaf tensor that requires grad cannot be modified in place while recording "
         "(wrap the update in NoGradGuard, as optimisers do)", op);
  }
  if (impl.is_view) {
    fail("{}: this tensor is a view of another (from a slice, select, reshape, ...) and the change would "
         "have to be recorded; nabla does not record in-place changes through views. Compute the new "
         "values out of place (torch-style x = x + y, or cat/stack the pieces), or clone() the view first",
         op);
  }
  const Tensor old = impl.grad_fn ? Tensor(impl.values.clone(), impl.grad_fn) : Tensor(impl.values.clone());
  const Tensor result = compute(old);
  impl.values.copy_(result.raw());
  impl.grad_fn = result.grad_fn();
  impl.requires_grad = result.requires_grad();
  return self;
}
}  // namespace

const Tensor& Tensor::add_(const Tensor& other, double alpha) const {
  return in_place(
      *this, other, "add_", [&](const kernels::Tensor& v) { v.add_(other.raw(), alpha); },
      [&](const Tensor& x) { return alpha == 1.0 ? nabla::add(x, other) : nabla::add(x, nabla::mul(other, alpha)); });
}
const Tensor& Tensor::add_(double value) const {
  return in_place(
      *this, Tensor(), "add_", [&](const kernels::Tensor& v) { v.add_(value); },
      [&](const Tensor& x) { return nabla::add(x, value); });
}
const Tensor& Tensor::sub_(const Tensor& other) const {
  return in_place(
      *this, other, "sub_", [&](const kernels::Tensor& v) { v.sub_(other.raw()); },
      [&](const Tensor& x) { return nabla::sub(x, other); });
}
const Tensor& Tensor::sub_(double value) const { return add_(-value); }
const Tensor& Tensor::mul_(const Tensor& other) const {
  return in_place(
      *this, other, "mul_", [&](const kernels::Tensor& v) { v.mul_(other.raw()); },
      [&](const Tensor& x) { return nabla::mul(x, other); });
}
const Tensor& Tensor::mul_(double value) const {
  return in_place(
      *this, Tensor(), "mul_", [&](const kernels::Tensor& v) { v.mul_(value); },
      [&](const Tensor& x) { return nabla::mul(x, value); });
}
const Tensor& Tensor::div_(const Tensor& other) const {
  return in_place(
      *this, other, "div_", [&](const kernels::Tensor& v) { v.div_(other.raw()); },
      [&](const Tensor& x) { return nabla::div(x, other); });
}
const Tensor& Tensor::div_(double value) const {
  return in_place(
      *this, Tensor(), "div_", [&](const kernels::Tensor& v) { v.div_(value); },
      [&](const Tensor& x) { return nabla::div(x, value); });
}
const Tensor& Tensor::fill_(double value) const {
  // The old values get no gradient from a fill: the result is a constant.
  return in_place(
      *this, Tensor(), "fill_", [&](const kernels::Tensor& v) { v.fill_(value); },
      [&](const Tensor& x) { return Tensor(kernels::full(x.shape(), value, x.dtype())); });
}
const Tensor& Tensor::zero_() const { return fill_(0.0); }
const Tensor& Tensor::copy_(const Tensor& source) const {
  return in_place(
      *this, source, "copy_", [&](const kernels::Tensor& v) { v.copy_(source.raw()); },
      [&](const Tensor& x) { return nabla::expand(nabla::to(source, x.dtype()), x.shape()); });
}
const Tensor& Tensor::clamp_(double low, double high) const {
  return in_place(
      *this, Tensor(), "clamp_", [&](const kernels::Tensor& v) { v.clamp_(low, high); },
      [&](const Tensor& x) { return nabla::clamp(x, low, high); });
}
const Tensor& Tensor::masked_fill_(const Tensor& mask, double value) const {
  kernels::check_mask(mask.defined() ? mask.raw() : kernels::Tensor(), "masked_fill_");
  return in_place(
      *this, Tensor(), "masked_fill_",
      [&](const kernels::Tensor& v) { v.copy_(kernels::where(mask.raw(), kernels::full({}, value, v.dtype()), v)); },
      [&](const Tensor& x) { return nabla::masked_fill(x, mask, value); });
}

// ---- issue 13: random fills. Recorded or not, the new values are constants drawn from the
// generator: under recording the tensor's history is replaced by none (as fill_'s is), and a leaf
// that requires grad refuses, as for every in-place op.
const Tensor& Tensor::uniform_(double from, double to, Generator& generator) const {
  return in_place(
      *this, Tensor(), "uniform_", [&](const kernels::Tensor& v) { kernels::uniform_(v, from, to, generator); },
      [&](const Tensor& x) { return Tensor(kernels::uniform_(x.raw(), from, to, generator)); });
}
const Tensor& Tensor::normal_(double mean, double stddev, Generator& generator) const {
  return in_place(
      *this, Tensor(), "normal_", [&](const kernels::Tensor& v) { kernels::normal_(v, mean, stddev, generator); },
      [&](const Tensor& x) { return Tensor(kernels::normal_(x.raw(), mean, stddev, generator)); });
}
const Tensor& Tensor::bernoulli_(double p, Generator& generator) const {
  return in_place(
      *this, Tensor(), "bernoulli_", [&](const kernels::Tensor& v) { kernels::bernoulli_(v, p, generator); },
      [&](const Tensor& x) { return Tensor(kernels::bernoulli_(x.raw(), p, generator)); });
}
const Tensor& Tensor::bernoulli_(const Tensor& p, Generator& generator) const {
  if (!p.defined()) fail("bernoulli_: the probability tensor is undefined");
  return in_place(
      *this, Tensor(), "bernoulli_", [&](const kernels::Tensor& v) { kernels::bernoulli_(v, p.raw(), generator); },
      [&](const Tensor& x) { return Tensor(kernels::bernoulli_(x.raw(), p.raw(), generator)); });
}

// issue 13: index_put_ and index_fill_
namespace {
std::vector<kernels::Tensor> raw_indices(const std::vector<Tensor>& indices, const char* op) {
  std::vector<kernels::Tensor> raw;
  for (const Tensor& index : indices) {
    if (!index.defined()) fail("{}: index tensor {} is undefined (default-constructed)", op, raw.size());
    raw.push_back(index.raw());
  }
  return raw;
}
}  // namespace

const Tensor& Tensor::index_put_(const std::vector<Tensor>& indices, const Tensor& values, bool accumulate) const {
  if (!values.defined()) fail("index_put_: values are undefined (default-constructed)");
  return in_place(
      *this, values, "index_put_",
      [&](const kernels::Tensor& v) { kernels::index_put_(v, raw_indices(indices, "index_put_"), values.raw(), accumulate); },
      [&](const Tensor& x) { return nabla::index_put(x, indices, values, accumulate); });
}
const Tensor& Tensor::index_fill_(int64_t axis, const Tensor& index, double value) const {
  if (!index.defined()) fail("index_fill_: index is undefined (default-constructed)");
  return in_place(
      *this, Tensor(), "index_fill_", [&](const kernels::Tensor& v) { kernels::index_fill_(v, axis, index.raw(), value); },
      [&](const Tensor& x) { return nabla::index_fill(x, axis, index, value); });
}

// ---- printing

std::string to_string(const Tensor& x) {
  if (!x.defined()) return "tensor(undefined)";
  std::string out = kernels::to_string(x.raw());
  if (x.grad_fn()) {
    out += fmt::format("\n(grad_fn: {})", x.grad_fn()->name());
  } else if (x.requires_grad()) {
    out += "\n(requires_grad)";
  }
  return out;
}

std::ostream& operator<<(std::ostream& out, const Tensor& x) { return out << to_string(x); }

}  // namespace nabla
