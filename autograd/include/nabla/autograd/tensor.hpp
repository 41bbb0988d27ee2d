#pragma once
// Tensor: the one type a nabla user holds. A handle to an n-d array (its values, a
// kernels::Tensor from the tensor layer) together with its autograd state: whether it requires a
// gradient, the gradient backward() accumulated into it, and — when a recorded op computed it —
// the Node that did. Copies are handles that share everything, values and autograd state alike,
// as torch::Tensor's do.
//
// Every op is a free function (nabla::sum(x, {1})) and, where PyTorch has the method, a method
// of the same name (x.sum({1})). Ops that have a gradient record themselves on the tape when an
// input requires grad; ops that have none (comparisons, argmax, integer results) return tensors
// that require no grad.
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "nabla/tensor.hpp"

namespace nabla {

class Node;
class Tensor;
struct TensorImpl;
struct ValuesIndices;

struct BackwardOptions {
  bool retain_graph = false;  // keep the graph (and its saved tensors) for another backward
  bool create_graph = false;  // record the backward pass itself, for higher-order gradients
};

// A function run on a tensor's gradient during backward (register_hook). Returning a defined
// tensor replaces the gradient; returning an undefined one keeps it.
using TensorHook = std::function<Tensor(const Tensor&)>;
// A function run on a leaf after backward accumulated a gradient into its grad() (what
// data-parallel training uses to start communicating a gradient as soon as it is complete).
using PostAccumulateGradHook = std::function<void(Tensor&)>;

class Tensor {
 public:
  Tensor() = default;
  // A leaf holding `values`: a tensor autograd tracks when requires_grad is set, but that no
  // recorded op produced. Implicit, so the tensor layer's arrays convert where a Tensor is expected.
  Tensor(kernels::Tensor values, bool requires_grad = false);  // NOLINT(google-explicit-constructor)
  // The output of the recorded op `grad_fn` (how ops are written: see nabla/autograd/node.hpp).
  Tensor(kernels::Tensor values, std::shared_ptr<Node> grad_fn);

  // ---- what it holds
  bool defined() const { return impl_ != nullptr; }
  DType dtype() const { return raw().dtype(); }
  const Shape& shape() const { return raw().shape(); }
  const Shape& sizes() const { return raw().shape(); }  // PyTorch's name for shape()
  int64_t dim() const { return raw().dim(); }
  int64_t size(int64_t axis) const { return raw().size(axis); }
  int64_t numel() const { return raw().numel(); }
  const Strides& strides() const { return raw().strides(); }
  int64_t stride(int64_t axis) const { return raw().stride(axis); }
  bool is_contiguous() const { return raw().is_contiguous(); }
  bool is_floating_point() const { return is_floating(dtype()); }
  // The value of a one-element tensor, converted to T.
  template <class T = double>
  T item() const { return raw().item<T>(); }
  // The element at a full index (negative indices count from the end), converted to T.
  template <class T = double>
  T at(std::initializer_list<int64_t> index) const { return raw().at<T>(index); }
  // All elements in row-major order, converted to T.
  template <class T>
  std::vector<T> to_vector() const { return raw().to_vector<T>(); }
  // Pointer to the first element; T must match dtype() exactly. Writes through it bypass autograd.
  template <class T>
  T* data_ptr() const { return raw().data<T>(); }
  void* data_ptr() const { return raw().raw_data(); }
  // The values beneath, as the tensor layer's array: what an op's forward computes on.
  const kernels::Tensor& raw() const;
  // The same values without autograd state (PyTorch's .data; the same as detach()).
  Tensor data() const { return detach(); }
  // Makes this leaf (every handle to it) hold new_data's values instead, shape and dtype
  // included, keeping its autograd identity: what Module::to(dtype) and loading weights use.
  // Its gradient is dropped.
  void set_data(const Tensor& new_data) const;

  // ---- autograd state
  bool requires_grad() const;
  // Marks a leaf as needing gradients (an error on a non-leaf: its history decides). Returns
  // this tensor, so `auto w = randn({3, 4}).requires_grad_();` works.
  const Tensor& requires_grad_(bool enabled = true) const;
  bool is_leaf() const;
  const std::shared_ptr<Node>& grad_fn() const;
  // The gradient accumulated by backward() (leaves, and non-leaves that called retain_grad()).
  // Undefined until a backward reaches this tensor.
  const Tensor& grad() const;
  // The gradient slot itself: assign an undefined Tensor to clear it.
  Tensor& mutable_grad() const;
  void set_grad(const Tensor& gradient) const;
  // Sets the gradient back to undefined (the next backward starts from nothing).
  void zero_grad() const;
  // Asks backward() to store this non-leaf's gradient in grad() too.
  void retain_grad() const;
  bool retains_grad() const;
  // Runs `hook` on this tensor's gradient each time backward computes it (before it is
  // accumulated into grad() for a leaf); the hook may return a replacement. Returns its handle.
  int64_t register_hook(TensorHook hook) const;
  // Runs `hook` on this leaf each time backward has accumulated a gradient into its grad().
  int64_t register_post_accumulate_grad_hook(PostAccumulateGradHook hook) const;
  // Removes a hook by the handle its registration returned.
  void remove_hook(int64_t handle) const;
  // Backpropagates from this tensor. A scalar needs no grad_output (it is 1); otherwise pass a
  // tensor of this tensor's shape.
  void backward(const Tensor& grad_output = {}, BackwardOptions options = {}) const;
  // The same values, cut from the graph: requires no grad and records nothing.
  Tensor detach() const;

  // ---- copies and conversions (differentiable)
  Tensor contiguous() const;  // this tensor if already contiguous, else a packed copy
  Tensor clone() const;
  Tensor to(DType dtype) const;  // this tensor if already of that dtype
  Tensor type_as(const Tensor& other) const { return to(other.dtype()); }

  // ---- views and shape (differentiable; views share storage)
  Tensor reshape(const Shape& shape) const;
  Tensor view(const Shape& shape) const;
  Tensor reshape_as(const Tensor& other) const { return reshape(other.shape()); }
  Tensor view_as(const Tensor& other) const { return view(other.shape()); }
  Tensor flatten(int64_t start_axis = 0, int64_t end_axis = -1) const;
  Tensor transpose(int64_t axis0, int64_t axis1) const;
  Tensor t() const;
  Tensor permute(const Dims& order) const;
  Tensor squeeze() const;
  Tensor squeeze(int64_t axis) const;
  Tensor unsqueeze(int64_t axis) const;
  Tensor slice(int64_t axis, int64_t start, int64_t end, int64_t step = 1) const;
  Tensor narrow(int64_t axis, int64_t start, int64_t length) const;
  Tensor select(int64_t axis, int64_t index) const;
  Tensor operator[](int64_t index) const { return select(0, index); }
  Tensor expand(const Shape& shape) const;
  Tensor expand_as(const Tensor& other) const { return expand(other.shape()); }
  Tensor index_select(int64_t axis, const Tensor& index) const;
  Tensor gather(int64_t axis, const Tensor& index) const;
  Tensor masked_fill(const Tensor& mask, double value) const;
  // ---- issue 13: shape and indexing (see functions.hpp)
  std::vector<Tensor> split(int64_t split_size, int64_t axis = 0) const;
  std::vector<Tensor> split(std::initializer_list<int64_t> split_sizes, int64_t axis = 0) const;
  std::vector<Tensor> split(const std::vector<int64_t>& split_sizes, int64_t axis = 0) const;
  std::vector<Tensor> split_with_sizes(const std::vector<int64_t>& split_sizes, int64_t axis = 0) const;
  std::vector<Tensor> chunk(int64_t chunks, int64_t axis = 0) const;
  std::vector<Tensor> unbind(int64_t axis = 0) const;
  Tensor flip(const Dims& axes) const;
  Tensor roll(const Dims& shifts, const Dims& axes = {}) const;
  Tensor roll(int64_t shift, int64_t axis) const;
  Tensor repeat(const Dims& repeats) const;
  Tensor tile(const Dims& reps) const;
  Tensor tril(int64_t diagonal = 0) const;
  Tensor triu(int64_t diagonal = 0) const;
  Tensor diag(int64_t diagonal = 0) const;
  Tensor masked_select(const Tensor& mask) const;
  Tensor index(const std::vector<Tensor>& indices) const;
  Tensor index_put(const std::vector<Tensor>& indices, const Tensor& values, bool accumulate = false) const;
  Tensor index_fill(int64_t axis, const Tensor& index, double value) const;
  Tensor take_along_dim(const Tensor& indices) const;
  Tensor take_along_dim(const Tensor& indices, int64_t axis) const;

  // ---- element-wise (broadcasting)
  Tensor add(const Tensor& other) const;
  Tensor add(double other) const;
  Tensor sub(const Tensor& other) const;
  Tensor sub(double other) const;
  Tensor mul(const Tensor& other) const;
  Tensor mul(double other) const;
  Tensor div(const Tensor& other) const;
  Tensor div(double other) const;
  Tensor pow(const Tensor& exponent) const;
  Tensor pow(double exponent) const;
  Tensor maximum(const Tensor& other) const;
  Tensor minimum(const Tensor& other) const;
  Tensor neg() const;
  Tensor clamp(double low, double high) const;
  Tensor clamp_min(double low) const;
  Tensor clamp_max(double high) const;
  // ---- issue 13: math
  Tensor atan2(const Tensor& other) const;
  Tensor fmod(const Tensor& other) const;
  Tensor fmod(double other) const;
  Tensor remainder(const Tensor& other) const;
  Tensor remainder(double other) const;
  Tensor nan_to_num(double nan = 0.0, std::optional<double> posinf = std::nullopt,
                    std::optional<double> neginf = std::nullopt) const;
#define NABLA_POINTWISE_METHOD(name) Tensor name() const;
#define NABLA_POINTWISE_SELF(name, dtypes, forward, vector_kernel, derivative, domain) NABLA_POINTWISE_METHOD(name)
#define NABLA_POINTWISE_RESULT(name, dtypes, forward, vector_kernel, derivative, domain) NABLA_POINTWISE_METHOD(name)
#define NABLA_POINTWISE_NO_GRAD(name, dtypes, forward, domain) NABLA_POINTWISE_METHOD(name)
#include "nabla/tensor/pointwise.def"
#undef NABLA_POINTWISE_METHOD
  Tensor softmax(int64_t axis) const;
  Tensor log_softmax(int64_t axis) const;
  Tensor matmul(const Tensor& other) const;
  Tensor mm(const Tensor& other) const;

  // ---- comparisons and logic: bool masks, no gradient
  Tensor eq(const Tensor& other) const;
  Tensor eq(double other) const;
  Tensor ne(const Tensor& other) const;
  Tensor ne(double other) const;
  Tensor lt(const Tensor& other) const;
  Tensor lt(double other) const;
  Tensor le(const Tensor& other) const;
  Tensor le(double other) const;
  Tensor gt(const Tensor& other) const;
  Tensor gt(double other) const;
  Tensor ge(const Tensor& other) const;
  Tensor ge(double other) const;
  Tensor logical_not() const;
  Tensor logical_and(const Tensor& other) const;
  Tensor logical_or(const Tensor& other) const;
  Tensor logical_xor(const Tensor& other) const;
  // ---- issue 13: math
  Tensor isnan() const;
  Tensor isinf() const;
  Tensor isfinite() const;
  bool equal(const Tensor& other) const;
  bool allclose(const Tensor& other, double rtol = 1e-5, double atol = 1e-8) const;

  // ---- reductions (axes: any set, negative from the end; empty = all)
  Tensor sum(const Dims& axes = {}, bool keepdim = false) const;
  Tensor mean(const Dims& axes = {}, bool keepdim = false) const;
  Tensor var(const Dims& axes = {}, bool keepdim = false, int64_t correction = 1) const;
  Tensor logsumexp(const Dims& axes = {}, bool keepdim = false) const;
  Tensor amax(const Dims& axes = {}, bool keepdim = false) const;
  Tensor amin(const Dims& axes = {}, bool keepdim = false) const;
  Tensor max() const;  // the largest element (0-d)
  Tensor min() const;
  ValuesIndices max(int64_t axis, bool keepdim = false) const;
  ValuesIndices min(int64_t axis, bool keepdim = false) const;
  Tensor argmax() const;  // flat index of the first largest element (0-d int64)
  Tensor argmax(int64_t axis, bool keepdim = false) const;
  Tensor argmin() const;
  Tensor argmin(int64_t axis, bool keepdim = false) const;
  // ---- issue 13: reductions, scans, sorting
  Tensor prod() const;
  Tensor prod(int64_t axis, bool keepdim = false) const;
  Tensor std(const Dims& axes = {}, bool keepdim = false, int64_t correction = 1) const;
  Tensor norm(double p = 2.0, const Dims& axes = {}, bool keepdim = false) const;
  Tensor norm(std::string_view p, const Dims& axes = {}, bool keepdim = false) const;
  Tensor all(const Dims& axes = {}, bool keepdim = false) const;
  Tensor any(const Dims& axes = {}, bool keepdim = false) const;
  Tensor cumsum(int64_t axis) const;
  Tensor cumprod(int64_t axis) const;
  ValuesIndices sort(int64_t axis = -1, bool descending = false, bool stable = false) const;
  Tensor argsort(int64_t axis = -1, bool descending = false, bool stable = false) const;
  ValuesIndices topk(int64_t k, int64_t axis = -1, bool largest = true, bool sorted = true) const;
  ValuesIndices kthvalue(int64_t k, int64_t axis = -1, bool keepdim = false) const;
  Tensor median() const;
  ValuesIndices median(int64_t axis, bool keepdim = false) const;
  ValuesIndices mode(int64_t axis = -1, bool keepdim = false) const;
  Tensor multinomial(int64_t num_samples, bool replacement = false, Generator& generator = default_generator()) const;

  // ---- in place (const, like the handle: the elements change, not what the handle points at).
  // When autograd tracks the tensor (it requires grad, or the operand does) the op
  // is recorded and later uses see the new history; a leaf that requires grad, and a view, refuse
  // (wrap updates in NoGradGuard, as optimisers do). Saved copies of the old values are detected.
  const Tensor& add_(const Tensor& other, double alpha = 1.0) const;
  const Tensor& add_(double value) const;
  const Tensor& sub_(const Tensor& other) const;
  const Tensor& sub_(double value) const;
  const Tensor& mul_(const Tensor& other) const;
  const Tensor& mul_(double value) const;
  const Tensor& div_(const Tensor& other) const;
  const Tensor& div_(double value) const;
  const Tensor& fill_(double value) const;
  const Tensor& zero_() const;
  const Tensor& copy_(const Tensor& source) const;  // source broadcasts to this shape; dtype converts
  const Tensor& clamp_(double low, double high) const;
  const Tensor& masked_fill_(const Tensor& mask, double value) const;
  // ---- issue 13: random fills (no gradient: the new values are constants). Reproducible through
  // the generator: x.uniform_(a, b, g) holds what uniform(x.shape(), a, b, x.dtype(), g) would.
  const Tensor& uniform_(double from = 0.0, double to = 1.0, Generator& generator = default_generator()) const;
  const Tensor& normal_(double mean = 0.0, double stddev = 1.0, Generator& generator = default_generator()) const;
  const Tensor& bernoulli_(double p = 0.5, Generator& generator = default_generator()) const;
  const Tensor& bernoulli_(const Tensor& p, Generator& generator = default_generator()) const;  // p broadcasts
  // issue 13: x[indices] = values (or += with accumulate; see index_put), and index_fill in place.
  const Tensor& index_put_(const std::vector<Tensor>& indices, const Tensor& values, bool accumulate = false) const;
  const Tensor& index_fill_(int64_t axis, const Tensor& index, double value) const;

  // Identity of the underlying tensor (two handles to one tensor compare equal).
  bool is_same(const Tensor& other) const { return impl_ == other.impl_; }
  const std::shared_ptr<TensorImpl>& impl() const { return impl_; }
  // A handle to an existing tensor's state (what the engine gives hooks).
  static Tensor from_impl(std::shared_ptr<TensorImpl> impl) {
    Tensor handle;
    handle.impl_ = std::move(impl);
    return handle;
  }

 private:
  std::shared_ptr<TensorImpl> impl_;
};

// Values and int64 indices of a max/min along an axis (the gradient flows through the values).
struct ValuesIndices {
  Tensor values;
  Tensor indices;
};

// What a Tensor handle points at.
struct TensorImpl {
  kernels::Tensor values;
  Tensor grad;
  std::shared_ptr<Node> grad_fn;
  bool requires_grad = false;
  // Shares its values' storage with the tensor it was viewed from: in-place ops that would have
  // to be recorded are refused on it.
  bool is_view = false;
  // Hooks of a leaf (a non-leaf's live on the op that computed it: Node::output_hooks).
  std::vector<std::pair<int64_t, TensorHook>> hooks;
  std::vector<std::pair<int64_t, PostAccumulateGradHook>> post_accumulate_hooks;
  ~TensorImpl();
};

// "tensor([[1, 2], [3, 4]], float32, requires_grad)"-style text; see nabla/tensor/format.hpp.
std::string to_string(const Tensor& x);
std::ostream& operator<<(std::ostream& out, const Tensor& x);

}  // namespace nabla

template <>
struct fmt::formatter<nabla::Tensor> : fmt::formatter<std::string> {
  auto format(const nabla::Tensor& x, fmt::format_context& ctx) const {
    return fmt::formatter<std::string>::format(nabla::to_string(x), ctx);
  }
};
