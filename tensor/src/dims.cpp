#include "nabla/tensor/dims.hpp"

#include <algorithm>

#include "nabla/tensor/error.hpp"
#include "nabla/tensor/shape_check.hpp"

namespace nabla {

namespace {
void check_capacity(int64_t n) {
  if (n > Dims::kMaxDims) {
    fail("shape: {} dimensions requested, nabla supports at most {}", n, Dims::kMaxDims);
  }
}
}  // namespace

Dims::Dims(std::initializer_list<int64_t> values) : Dims(std::span<const int64_t>(values.begin(), values.size())) {}

Dims::Dims(std::span<const int64_t> values) {
  check_capacity(static_cast<int64_t>(values.size()));
  size_ = static_cast<int64_t>(values.size());
  for (size_t i = 0; i < values.size(); ++i) values_[i] = values[i];
}

Dims Dims::filled(int64_t n, int64_t value) {
  Dims dims;
  dims.resize(n, value);
  return dims;
}

void Dims::push_back(int64_t value) {
  check_capacity(size_ + 1);
  values_[static_cast<size_t>(size_++)] = value;
}

void Dims::insert(int64_t position, int64_t value) {
  check_capacity(size_ + 1);
  for (int64_t i = size_; i > position; --i) values_[static_cast<size_t>(i)] = values_[static_cast<size_t>(i - 1)];
  values_[static_cast<size_t>(position)] = value;
  ++size_;
}

void Dims::erase(int64_t position) {
  for (int64_t i = position; i + 1 < size_; ++i) values_[static_cast<size_t>(i)] = values_[static_cast<size_t>(i + 1)];
  --size_;
}

void Dims::resize(int64_t n, int64_t value) {
  check_capacity(n);
  for (int64_t i = size_; i < n; ++i) values_[static_cast<size_t>(i)] = value;
  size_ = n;
}

bool operator==(const Dims& a, const Dims& b) {
  if (a.size_ != b.size_) return false;
  for (int64_t i = 0; i < a.size_; ++i) {
    if (a[i] != b[i]) return false;
  }
  return true;
}

// ---- shape checks (issue 17) ----------------------------------------------------------------
void check_shape(const Shape& shape) {
  int64_t product = 1;
  for (int64_t extent : shape) {
    if (extent < 0) {
      fail("shape {} has negative extent {}; every extent must be 0 or more", shape, extent);
    }
    if (__builtin_mul_overflow(product, std::max<int64_t>(extent, 1), &product) || product > kMaxShapeElements) {
      fail("shape {} is too large: its extents multiply (a zero extent counting as 1) to more than 2^60, the most "
           "elements a tensor can have; the sizes are corrupt or mistyped",
           shape);
    }
  }
}

int64_t shape_numel(const Shape& shape) {
  // Checked cheaply on every call (numel() of a tensor is hot); on a suspect shape the full check
  // throws its message.
  int64_t bound = 1;
  int64_t n = 1;
  for (int64_t extent : shape) {
    if (extent < 0 || __builtin_mul_overflow(bound, std::max<int64_t>(extent, 1), &bound) ||
        bound > kMaxShapeElements) {
      check_shape(shape);
    }
    n *= extent;  // |n| <= bound: cannot overflow
  }
  return n;
}

Strides contiguous_strides(const Shape& shape) {
  check_shape(shape);  // so the running product below cannot overflow
  Strides strides = Dims::filled(shape.size(), 1);
  int64_t running = 1;
  for (int64_t i = shape.size() - 1; i >= 0; --i) {
    strides[i] = running;
    running *= std::max<int64_t>(shape[i], 1);
  }
  return strides;
}
// ---- end shape checks ------------------------------------------------------------------------

int64_t normalize_axis(int64_t axis, int64_t ndim, const char* op) {
  const int64_t wrapped = axis < 0 ? axis + ndim : axis;
  if (wrapped < 0 || wrapped >= ndim) {
    if (ndim == 0) fail("{}: axis {} given for a 0-d tensor, which has no axes", op, axis);
    fail("{}: axis {} is out of range for a {}-d tensor (expected {} to {})", op, axis, ndim, -ndim, ndim - 1);
  }
  return wrapped;
}

std::string to_string(const Dims& dims) {
  std::string out = "[";
  for (int64_t i = 0; i < dims.size(); ++i) {
    if (i) out += ", ";
    out += std::to_string(dims[i]);
  }
  return out + "]";
}

}  // namespace nabla
