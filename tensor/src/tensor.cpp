#include "nabla/tensor/tensor.hpp"

#include <algorithm>
#include <cmath>

#include "convert.hpp"
#include "elementwise_ops.hpp"
#include "loops.hpp"
#include "nabla/tensor/elementwise.hpp"
#include "nabla/tensor/factories.hpp"
#include "nabla/tensor/shape_check.hpp"

namespace nabla::kernels {

Tensor::Tensor(std::shared_ptr<Storage> storage, DType dtype, Shape shape, Strides strides, int64_t offset)
    : storage_(std::move(storage)), shape_(shape), strides_(strides), offset_(offset), dtype_(dtype) {
  check_shape(shape_);  // the one place every shape passes (issue 17): no tensor's counts can wrap
}

Tensor Tensor::empty(const Shape& shape, DType dtype) {
  const Strides strides = contiguous_strides(shape);  // checks the shape first
  const int64_t n = shape_numel(shape);
  return Tensor(Storage::allocate(static_cast<size_t>(n) * itemsize(dtype)), dtype, shape, strides, 0);
}

int64_t Tensor::size(int64_t axis) const { return shape_[normalize_axis(axis, dim(), "size")]; }
int64_t Tensor::stride(int64_t axis) const { return strides_[normalize_axis(axis, dim(), "stride")]; }

bool Tensor::is_contiguous() const {
  // No elements, no layout to get wrong (and contiguous_strides gives [3, 1, 1] for [3, 3, 0],
  // which the loop below would reject).
  if (numel() == 0) return true;
  int64_t expected = 1;
  for (int64_t i = dim() - 1; i >= 0; --i) {
    if (shape_[i] == 1) continue;
    if (strides_[i] != expected) return false;
    expected *= shape_[i];
  }
  return true;
}

void* Tensor::raw_data() const {
  if (!storage_) fail("data: the tensor is undefined (default-constructed)");
  return static_cast<char*>(storage_->data()) + offset_ * static_cast<int64_t>(itemsize(dtype_));
}

void Tensor::check_dtype(DType expected, const char* op) const {
  if (!storage_) fail("{}: the tensor is undefined (default-constructed)", op);
  if (dtype_ != expected) fail("{}: expected a {} tensor, got {} (convert with .to({}))", op, expected, dtype_, expected);
}

namespace {
// Converts straight to T (not through double, which would round int64 values above 2^53), as
// .to() would (detail::convert: NaN read as an integer is defined too).
template <class T>
T read_element(const Tensor& x, int64_t element_offset) {
  return dispatch(x.dtype(), [&](auto tag) -> T {
    using S = decltype(tag);
    return detail::convert<T>(static_cast<const S*>(x.raw_data())[element_offset]);
  });
}
}  // namespace

template <class T>
T Tensor::item() const {
  if (numel() != 1) fail("item: the tensor has {} elements (shape {}); item() needs exactly one", numel(), shape_);
  return read_element<T>(*this, 0);
}

template <class T>
T Tensor::at(std::initializer_list<int64_t> index) const {
  if (static_cast<int64_t>(index.size()) != dim()) {
    fail("at: {} indices given for a tensor of shape {}; give one per axis", index.size(), shape_);
  }
  int64_t offset = 0;
  int64_t axis = 0;
  for (int64_t i : index) {
    const int64_t extent = shape_[axis];
    const int64_t wrapped = i < 0 ? i + extent : i;
    if (wrapped < 0 || wrapped >= extent) {
      fail("at: index {} is out of range for axis {} of size {} (shape {})", i, axis, extent, shape_);
    }
    offset += wrapped * strides_[axis];
    ++axis;
  }
  return read_element<T>(*this, offset);
}

template <class T>
std::vector<T> Tensor::to_vector() const {
  Tensor packed = contiguous().to(dtype_v<T>);
  const T* p = packed.data<T>();
  return std::vector<T>(p, p + packed.numel());  // std::vector<bool> too: it copies element by element
}

#define NABLA_INSTANTIATE_ACCESSORS(T) \
  template T Tensor::item<T>() const; \
  template T Tensor::at<T>(std::initializer_list<int64_t>) const;
NABLA_INSTANTIATE_ACCESSORS(float)
NABLA_INSTANTIATE_ACCESSORS(double)
NABLA_INSTANTIATE_ACCESSORS(int64_t)
NABLA_INSTANTIATE_ACCESSORS(int32_t)
NABLA_INSTANTIATE_ACCESSORS(uint8_t)
NABLA_INSTANTIATE_ACCESSORS(bool)
#undef NABLA_INSTANTIATE_ACCESSORS
template std::vector<float> Tensor::to_vector<float>() const;
template std::vector<double> Tensor::to_vector<double>() const;
template std::vector<int64_t> Tensor::to_vector<int64_t>() const;
template std::vector<int32_t> Tensor::to_vector<int32_t>() const;
template std::vector<uint8_t> Tensor::to_vector<uint8_t>() const;
template std::vector<bool> Tensor::to_vector<bool>() const;

// ---- copies and conversions ---------------------------------------------------------------

Tensor Tensor::contiguous() const {
  if (is_contiguous()) return *this;
  return clone();
}

Tensor Tensor::clone() const {
  if (!defined()) return {};
  Tensor out = Tensor::empty(shape_, dtype_);
  detail::copy_into(out, *this);
  return out;
}

Tensor Tensor::to(DType dtype) const {
  if (!defined()) fail("to: the tensor is undefined");
  if (dtype == dtype_) return *this;
  Tensor out = Tensor::empty(shape_, dtype);
  detail::copy_into(out, *this);
  return out;
}

// ---- views --------------------------------------------------------------------------------

namespace {

// Replaces a single -1 in `shape` by what makes numel match; checks the count.
Shape infer_shape(const Shape& requested, int64_t numel, const Shape& from, const char* op) {
  Shape shape = requested;
  int64_t known = 1;
  int64_t bound = 1;  // product of max(extent, 1): checked, so `known` cannot overflow either
  int64_t infer_at = -1;
  for (int64_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == -1) {
      if (infer_at >= 0) fail("{}: only one axis may be -1, got {}", op, requested);
      infer_at = i;
    } else if (shape[i] < 0) {
      fail("{}: invalid extent {} in shape {}", op, shape[i], requested);
    } else {
      if (__builtin_mul_overflow(bound, std::max<int64_t>(shape[i], 1), &bound) || bound > kMaxShapeElements) {
        fail("{}: shape {} is too large: its extents multiply to more than 2^60, the most elements a tensor can "
             "have", op, requested);
      }
      known *= shape[i];
    }
  }
  if (infer_at >= 0) {
    if (known == 0 || numel % known != 0) {
      fail("{}: cannot reshape tensor of shape {} ({} elements) into {}", op, from, numel, requested);
    }
    shape[infer_at] = numel / known;
  } else if (known != numel) {
    fail("{}: cannot reshape tensor of shape {} ({} elements) into {} ({} elements)", op, from, numel,
         requested, known);
  }
  return shape;
}

// Strides for viewing (shape, strides) as new_shape without copying, if possible (the
// algorithm numpy and PyTorch use: match groups of old axes to groups of new axes).
bool view_strides(const Shape& shape, const Strides& strides, const Shape& new_shape, Strides& out) {
  out = Dims::filled(new_shape.size(), 0);
  if (shape_numel(shape) == 0 || shape.empty()) {  // nothing to match up: empty, or one element of a 0-d tensor
    out = contiguous_strides(new_shape);
    return true;
  }
  int64_t view_d = new_shape.size() - 1;
  int64_t chunk_base_stride = strides.empty() ? 1 : strides.back();
  int64_t tensor_numel = 1;
  int64_t view_numel = 1;
  for (int64_t d = shape.size() - 1; d >= 0; --d) {
    tensor_numel *= shape[d];
    if (d == 0 || (shape[d - 1] != 1 && strides[d - 1] != tensor_numel * chunk_base_stride)) {
      while (view_d >= 0 && (view_numel < tensor_numel || new_shape[view_d] == 1)) {
        out[view_d] = view_numel * chunk_base_stride;
        view_numel *= new_shape[view_d];
        --view_d;
      }
      if (view_numel != tensor_numel) return false;
      if (d > 0) {
        chunk_base_stride = strides[d - 1];
        tensor_numel = 1;
        view_numel = 1;
      }
    }
  }
  return view_d == -1;
}

}  // namespace

Tensor Tensor::view(const Shape& requested) const {
  const Shape shape = infer_shape(requested, numel(), shape_, "view");
  Strides strides;
  if (!view_strides(shape_, strides_, shape, strides)) {
    fail("view: a tensor of shape {} with strides {} cannot be viewed as {} without copying (use reshape)",
         shape_, strides_, shape);
  }
  return Tensor(storage_, dtype_, shape, strides, offset_);
}

Tensor Tensor::reshape(const Shape& requested) const {
  const Shape shape = infer_shape(requested, numel(), shape_, "reshape");
  Strides strides;
  if (view_strides(shape_, strides_, shape, strides)) return Tensor(storage_, dtype_, shape, strides, offset_);
  return clone().view(shape);
}

Tensor Tensor::flatten(int64_t start_axis, int64_t end_axis) const {
  if (dim() == 0) return reshape({1});
  const int64_t start = normalize_axis(start_axis, dim(), "flatten");
  const int64_t end = normalize_axis(end_axis, dim(), "flatten");
  if (start > end) fail("flatten: start axis {} comes after end axis {}", start_axis, end_axis);
  Shape shape;
  for (int64_t i = 0; i < start; ++i) shape.push_back(shape_[i]);
  int64_t merged = 1;
  for (int64_t i = start; i <= end; ++i) merged *= shape_[i];
  shape.push_back(merged);
  for (int64_t i = end + 1; i < dim(); ++i) shape.push_back(shape_[i]);
  return reshape(shape);
}

Tensor Tensor::transpose(int64_t axis0, int64_t axis1) const {
  const int64_t a = normalize_axis(axis0, dim(), "transpose");
  const int64_t b = normalize_axis(axis1, dim(), "transpose");
  Shape shape = shape_;
  Strides strides = strides_;
  std::swap(shape[a], shape[b]);
  std::swap(strides[a], strides[b]);
  return Tensor(storage_, dtype_, shape, strides, offset_);
}

Tensor Tensor::t() const {
  if (dim() != 2) fail("t: expects a 2-d tensor, got shape {} (use transpose(a, b) or permute)", shape_);
  return transpose(0, 1);
}

Tensor Tensor::permute(const Dims& order) const {
  if (order.size() != dim()) fail("permute: order {} has {} axes, the tensor of shape {} has {}", order, order.size(), shape_, dim());
  Shape shape;
  Strides strides;
  std::array<bool, Dims::kMaxDims> used{};
  for (int64_t i = 0; i < order.size(); ++i) {
    const int64_t axis = normalize_axis(order[i], dim(), "permute");
    if (used[static_cast<size_t>(axis)]) fail("permute: axis {} appears twice in {}", axis, order);
    used[static_cast<size_t>(axis)] = true;
    shape.push_back(shape_[axis]);
    strides.push_back(strides_[axis]);
  }
  return Tensor(storage_, dtype_, shape, strides, offset_);
}

Tensor Tensor::squeeze() const {
  Shape shape;
  Strides strides;
  for (int64_t i = 0; i < dim(); ++i) {
    if (shape_[i] != 1) {
      shape.push_back(shape_[i]);
      strides.push_back(strides_[i]);
    }
  }
  return Tensor(storage_, dtype_, shape, strides, offset_);
}

Tensor Tensor::squeeze(int64_t axis) const {
  const int64_t a = normalize_axis(axis, dim(), "squeeze");
  if (shape_[a] != 1) return *this;
  Shape shape = shape_;
  Strides strides = strides_;
  shape.erase(a);
  strides.erase(a);
  return Tensor(storage_, dtype_, shape, strides, offset_);
}

Tensor Tensor::unsqueeze(int64_t axis) const {
  const int64_t a = normalize_axis(axis, dim() + 1, "unsqueeze");
  Shape shape = shape_;
  Strides strides = strides_;
  const int64_t stride = a < dim() ? strides_[a] * shape_[a] : 1;
  shape.insert(a, 1);
  strides.insert(a, stride);
  return Tensor(storage_, dtype_, shape, strides, offset_);
}

Tensor Tensor::slice(int64_t axis, int64_t start, int64_t end, int64_t step) const {
  const int64_t a = normalize_axis(axis, dim(), "slice");
  if (step <= 0) {
    // Negative steps would need negative strides, which PyTorch refuses too (x[::-1] is an error).
    fail("slice: step must be positive, got {} (axis {} of shape {}); to reverse an axis use flip(x, {{{}}}), "
         "then slice the result with a positive step", step, a, shape_, a);
  }
  const int64_t extent = shape_[a];
  auto clamp_index = [extent](int64_t i) {
    if (i < 0) i += extent;
    return std::clamp<int64_t>(i, 0, extent);
  };
  const int64_t lo = clamp_index(start);
  const int64_t hi = std::max(lo, clamp_index(end));
  Shape shape = shape_;
  Strides strides = strides_;
  // Written so that no step, however large, overflows: a step beyond the extent picks at most one
  // element, whose stride is then irrelevant.
  const int64_t effective_step = std::min<int64_t>(step, std::max<int64_t>(extent, 1));
  shape[a] = hi == lo ? 0 : 1 + (hi - lo - 1) / effective_step;
  strides[a] = strides_[a] * effective_step;
  return Tensor(storage_, dtype_, shape, strides, offset_ + lo * strides_[a]);
}

Tensor Tensor::narrow(int64_t axis, int64_t start, int64_t length) const {
  const int64_t a = normalize_axis(axis, dim(), "narrow");
  const int64_t begin = start < 0 ? start + shape_[a] : start;
  // length > size - begin rather than begin + length > size: no overflow for any length.
  if (begin < 0 || begin > shape_[a] || length < 0 || length > shape_[a] - begin) {
    fail("narrow: start {} and length {} do not fit axis {} of size {} (shape {}); start must lie in [{}, {}] and "
         "start + length (start counted from the end when negative) must not pass the end", start, length, a, shape_[a],
         shape_, -shape_[a], shape_[a]);
  }
  Shape shape = shape_;
  shape[a] = length;
  return Tensor(storage_, dtype_, shape, strides_, offset_ + begin * strides_[a]);
}

Tensor Tensor::select(int64_t axis, int64_t index) const {
  const int64_t a = normalize_axis(axis, dim(), "select");
  const int64_t i = index < 0 ? index + shape_[a] : index;
  if (i < 0 || i >= shape_[a]) {
    fail("select: index {} is out of range for axis {} of size {} (shape {})", index, a, shape_[a], shape_);
  }
  Shape shape = shape_;
  Strides strides = strides_;
  shape.erase(a);
  strides.erase(a);
  return Tensor(storage_, dtype_, shape, strides, offset_ + i * strides_[a]);
}

Tensor Tensor::expand(const Shape& requested) const {
  if (requested.size() < dim()) {
    fail("expand: cannot expand shape {} to {} (fewer axes)", shape_, requested);
  }
  const int64_t lead = requested.size() - dim();
  Shape shape = requested;
  Strides strides = Dims::filled(requested.size(), 0);
  for (int64_t i = 0; i < requested.size(); ++i) {
    if (i < lead) {
      if (requested[i] < 0) fail("expand: -1 is not allowed for new leading axis {} in {}", i, requested);
      continue;
    }
    const int64_t own = shape_[i - lead];
    const int64_t want = requested[i] == -1 ? own : requested[i];
    if (own == want) {
      strides[i] = strides_[i - lead];
    } else if (own == 1) {
      strides[i] = 0;
    } else {
      fail("expand: cannot expand shape {} to {} (axis {} has size {}, not 1)", shape_, requested, i, own);
    }
    shape[i] = want;
  }
  return Tensor(storage_, dtype_, shape, strides, offset_);
}

// ---- in-place -----------------------------------------------------------------------------

namespace {
void check_writable(const Tensor& x, const char* op) {
  if (!x.defined()) fail("{}: the tensor is undefined", op);
  // A broadcast view writes several elements to one location: refuse, as PyTorch does.
  for (int64_t i = 0; i < x.dim(); ++i) {
    if (x.strides()[i] == 0 && x.shape()[i] > 1) {
      fail("{}: the tensor of shape {} is an expanded view (stride 0 on axis {}); in-place writes "
           "would overlap. Call .clone() first.", op, x.shape(), i);
    }
  }
}
}  // namespace

const Tensor& Tensor::fill_(double value) const {
  check_writable(*this, "fill_");
  storage_->bump_version();
  if (numel() == 0) return *this;
  dispatch(dtype_, [&](auto tag) {
    using T = decltype(tag);
    const T v = detail::convert<T>(value);
    // Writes only: reading the old values first (as a unary op over the tensor would) reads memory
    // that may be uninitialised, which for bool is undefined behaviour (UBSan: "load of value 86").
    T* base = static_cast<T*>(raw_data());
    const auto plan = detail::make_plan<1>(shape(), {strides()});
    detail::for_each_row<1>(plan, [&](const std::array<int64_t, 1>& offset, int64_t n, const std::array<int64_t, 1>& step) {
      T* row = base + offset[0];
      if (step[0] == 1) {
        std::fill_n(row, n, v);
      } else {
        for (int64_t i = 0; i < n; ++i) row[i * step[0]] = v;
      }
    });
  });
  return *this;
}

const Tensor& Tensor::copy_(const Tensor& source) const {
  check_writable(*this, "copy_");
  if (broadcast_shapes(source.shape(), shape_, "copy_") != shape_) {
    fail("copy_: source of shape {} does not broadcast to the destination shape {}", source.shape(), shape_);
  }
  storage_->bump_version();
  // Copying from an overlapping view would read values already overwritten: copy via a temporary.
  const Tensor src = source.shares_storage(*this) ? source.clone() : source;
  detail::copy_into(*this, src);
  return *this;
}

namespace {
// this = op(this, other) in place; other broadcasts to this shape and is converted to this dtype.
template <class Op>
void inplace_binary(const Tensor& self, const Tensor& other_in, const char* op_name, Op op) {
  check_writable(self, op_name);
  if (broadcast_shapes(self.shape(), other_in.shape(), op_name) != self.shape()) {
    fail("{}: the operand of shape {} does not broadcast to the in-place target shape {}", op_name,
         other_in.shape(), self.shape());
  }
  Tensor other = other_in.to(self.dtype());
  if (other.shares_storage(self)) other = other.clone();
  self.storage()->bump_version();
  if (self.numel() == 0) return;
  dispatch(self.dtype(), [&](auto tag) {
    using T = decltype(tag);
    detail::binary_loop<T, T>(self, self, other, [&](T a, T b) { return static_cast<T>(op(a, b)); });
  });
}

// An integer tensor cannot hold x + 0.5 or x * 0.5 (or x + inf): refuse rather than truncate the
// scalar to 0.
void check_integral_scalar(const Tensor& self, double value, const char* op_name) {
  if (self.defined() && !is_floating(self.dtype()) && !(std::isfinite(value) && std::nearbyint(value) == value)) {
    fail("{}: cannot apply the non-integer scalar {} in place to an {} tensor (the result would be "
         "truncated); convert with .to(nabla::float32) first", op_name, value, self.dtype());
  }
}

template <class Op>
void inplace_unary(const Tensor& self, const char* op_name, Op op) {
  check_writable(self, op_name);
  self.storage()->bump_version();
  if (self.numel() == 0) return;
  dispatch(self.dtype(), [&](auto tag) {
    using T = decltype(tag);
    detail::unary_loop<T, T>(self, self, [&](T a) { return static_cast<T>(op(a)); });
  });
}
}  // namespace

const Tensor& Tensor::add_(const Tensor& other, double alpha) const {
  if (alpha == 1.0) {
    inplace_binary(*this, other, "add_", [](auto a, auto b) { return detail::wrapping_add(a, b); });
  } else {
    inplace_binary(*this, other, "add_", [alpha](auto a, auto b) {
      using T = decltype(a);
      return detail::wrapping_add(a, detail::wrapping_mul(detail::convert<T>(alpha), b));
    });
  }
  return *this;
}

const Tensor& Tensor::add_(double value) const {
  check_integral_scalar(*this, value, "add_");
  inplace_unary(*this, "add_", [value](auto a) {
    using T = decltype(a);
    return detail::wrapping_add(a, detail::convert<T>(value));
  });
  return *this;
}

const Tensor& Tensor::mul_(const Tensor& other) const {
  inplace_binary(*this, other, "mul_", [](auto a, auto b) { return detail::wrapping_mul(a, b); });
  return *this;
}

const Tensor& Tensor::mul_(double value) const {
  check_integral_scalar(*this, value, "mul_");
  inplace_unary(*this, "mul_", [value](auto a) {
    using T = decltype(a);
    return detail::wrapping_mul(a, detail::convert<T>(value));
  });
  return *this;
}

const Tensor& Tensor::div_(const Tensor& other) const {
  if (!is_floating(dtype_)) fail("div_: in-place division needs a float tensor, got {}", dtype_);
  inplace_binary(*this, other, "div_", [](auto a, auto b) { return a / b; });
  return *this;
}

const Tensor& Tensor::clamp_(double low, double high) const {
  if (low > high) fail("clamp_: low {} is greater than high {}", low, high);
  inplace_unary(*this, "clamp_", [low, high](auto a) {
    using T = decltype(a);
    return std::clamp(a, detail::bound_as<T>(low), detail::bound_as<T>(high));
  });
  return *this;
}

namespace detail {
void copy_into(const Tensor& dst, const Tensor& src) {
  if (dst.numel() == 0) return;
  dispatch(dst.dtype(), [&](auto out_tag) {
    using To = decltype(out_tag);
    dispatch(src.dtype(), [&](auto in_tag) {
      using Ti = decltype(in_tag);
      unary_loop<To, Ti>(dst, src, [](Ti v) { return convert<To>(v); });
    });
  });
}
}  // namespace detail

}  // namespace nabla::kernels
