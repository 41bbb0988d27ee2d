// masked_select, advanced indexing (index, index_put_), index_fill_ and take_along_dim. Index
// tensors are checked before any memory is touched. Negative indices follow PyTorch: index,
// index_put_ and index_fill_ count them from the end (as Python's x[idx] does), while
// take_along_dim refuses them (as torch.gather does).
#include <algorithm>
#include <vector>

#include "elementwise_ops.hpp"
#include "nabla/tensor/elementwise.hpp"
#include "nabla/tensor/error.hpp"
#include "nabla/tensor/factories.hpp"
#include "nabla/tensor/index.hpp"

namespace nabla::kernels {
namespace {

void check_defined(const Tensor& x, const char* op, const char* name) {
  if (!x.defined()) fail("{}: {} is undefined (default-constructed)", op, name);
}

void check_int64(const Tensor& index, const char* op, const char* name) {
  if (!index.defined()) fail("{}: {} is undefined (default-constructed)", op, name);
  if (index.dtype() != int64) {
    fail("{}: {} must be an int64 tensor, got {} (convert with .to(int64); for a mask use masked_select, "
         "masked_fill or where)",
         op, name, index.dtype());
  }
}

// The write PyTorch refuses too: an expanded view names one element several times.
void check_writable(const Tensor& x, const char* op) {
  for (int64_t i = 0; i < x.dim(); ++i) {
    if (x.strides()[i] == 0 && x.shape()[i] > 1) {
      fail("{}: the tensor of shape {} is an expanded view (stride 0 on axis {}); in-place writes would overlap. "
           "Call .clone() first.",
           op, x.shape(), i);
    }
  }
}

// Wraps index (-extent <= index < extent) once, or fails naming the op, the axis and its size.
int64_t wrapped(int64_t index, int64_t extent, int64_t axis, const Shape& shape, const char* op) {
  if (index < -extent || index >= extent) {
    fail("{}: index {} is out of range for axis {} of size {} (shape {}); valid indices are {} to {}", op, index, axis,
         extent, shape, -extent, extent - 1);
  }
  return index < 0 ? index + extent : index;
}

// Where advanced indexing reads or writes: for each position of the broadcast index shape, the
// element offset (through x's strides) of the slice over x's remaining axes.
struct IndexedSlices {
  Shape index_shape;                 // the index tensors broadcast together
  Shape result_shape;                // index_shape + x's remaining axes
  std::vector<int64_t> offsets;      // one per element of index_shape, row-major
};

IndexedSlices indexed_slices(const Tensor& x, const std::vector<Tensor>& indices, const char* op) {
  check_defined(x, op, "the tensor");
  const int64_t count = static_cast<int64_t>(indices.size());
  if (count == 0) fail("{}: no index tensors given; give one int64 tensor per leading axis to index", op);
  if (count > x.dim()) {
    fail("{}: too many indices for a tensor of shape {}: {} index tensors for {} axes", op, x.shape(), count, x.dim());
  }
  IndexedSlices slices;
  for (int64_t j = 0; j < count; ++j) {
    check_int64(indices[static_cast<size_t>(j)], op, "every index");
    slices.index_shape = j == 0 ? indices[0].shape() : broadcast_shapes(slices.index_shape, indices[static_cast<size_t>(j)].shape(), op);
  }
  slices.result_shape = slices.index_shape;
  for (int64_t axis = count; axis < x.dim(); ++axis) slices.result_shape.push_back(x.size(axis));

  const int64_t n = shape_numel(slices.index_shape);
  slices.offsets.assign(static_cast<size_t>(n), x.offset());
  for (int64_t j = 0; j < count; ++j) {
    const std::vector<int64_t> values =
        indices[static_cast<size_t>(j)].expand(slices.index_shape).contiguous().to_vector<int64_t>();
    for (int64_t p = 0; p < n; ++p) {
      slices.offsets[static_cast<size_t>(p)] += wrapped(values[static_cast<size_t>(p)], x.size(j), j, x.shape(), op) * x.stride(j);
    }
  }
  return slices;
}

// True when `from` broadcasts to exactly `to` (right-aligned; size-1 axes stretch).
bool broadcasts_to(const Shape& from, const Shape& to) {
  if (from.size() > to.size()) return false;
  for (int64_t i = 1; i <= from.size(); ++i) {
    const int64_t extent = from[from.size() - i];
    if (extent != 1 && extent != to[to.size() - i]) return false;
  }
  return true;
}

// x's remaining axes (after the indexed ones), as a shape and strides.
struct Rest {
  Shape shape;
  Strides strides;
  int64_t numel = 1;
  bool contiguous = true;
};
Rest rest_of(const Tensor& x, int64_t first_axis) {
  Rest rest;
  for (int64_t axis = first_axis; axis < x.dim(); ++axis) {
    rest.shape.push_back(x.size(axis));
    rest.strides.push_back(x.stride(axis));
  }
  rest.numel = shape_numel(rest.shape);
  rest.contiguous = rest.numel <= 1 || Tensor(x.storage(), x.dtype(), rest.shape, rest.strides, 0).is_contiguous();
  return rest;
}

}  // namespace

Tensor masked_select(const Tensor& x, const Tensor& mask) {
  check_defined(x, "masked_select", "the tensor");
  check_defined(mask, "masked_select", "the mask");
  check_mask(mask, "masked_select");  // bool, or uint8 (non-zero is true), as PyTorch's
  const Shape shape = broadcast_shapes(x.shape(), mask.shape(), "masked_select");
  // Truth as bool, both laid out over the broadcast shape.
  const Tensor truth = mask.to(DType::bool_).expand(shape).contiguous();
  const Tensor values = x.expand(shape).contiguous();
  const bool* keep = truth.data<bool>();
  const int64_t n = truth.numel();
  const int64_t count = std::count(keep, keep + n, true);
  Tensor out = Tensor::empty({count}, x.dtype());
  dispatch(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* in = values.data<T>();
    T* o = out.data<T>();
    for (int64_t i = 0; i < n; ++i) {
      if (keep[i]) *o++ = in[i];
    }
  });
  return out;
}

Tensor index(const Tensor& x, const std::vector<Tensor>& indices) {
  const IndexedSlices slices = indexed_slices(x, indices, "index");
  const Rest rest = rest_of(x, static_cast<int64_t>(indices.size()));
  Tensor out = Tensor::empty(slices.result_shape, x.dtype());
  if (out.numel() == 0) return out;
  dispatch(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* base = static_cast<const T*>(x.storage()->data());
    T* o = out.data<T>();
    for (int64_t offset : slices.offsets) {
      if (rest.contiguous) {
        std::copy_n(base + offset, rest.numel, o);
      } else {
        Tensor(out.storage(), out.dtype(), rest.shape, contiguous_strides(rest.shape), o - out.data<T>())
            .copy_(Tensor(x.storage(), x.dtype(), rest.shape, rest.strides, offset));
      }
      o += rest.numel;
    }
  });
  return out;
}

namespace {
// index_put_ and index_put, errors named as the caller's op.
const Tensor& put(const Tensor& x, const std::vector<Tensor>& indices, const Tensor& values, bool accumulate,
                  const char* op) {
  check_defined(values, op, "values");
  const IndexedSlices slices = indexed_slices(x, indices, op);
  check_writable(x, op);
  if (values.dtype() != x.dtype()) {
    fail("{}: values have dtype {} but the tensor has dtype {}; they must match (convert with .to({}))", op,
         values.dtype(), x.dtype(), x.dtype());
  }
  if (!broadcasts_to(values.shape(), slices.result_shape)) {
    fail("{}: values of shape {} cannot be broadcast to the indexed shape {} (index shape {} followed by the "
         "tensor's remaining axes)",
         op, values.shape(), slices.result_shape, slices.index_shape);
  }
  x.storage()->bump_version();
  if (shape_numel(slices.result_shape) == 0) return x;
  const Rest rest = rest_of(x, static_cast<int64_t>(indices.size()));
  // Values that alias x are copied first, so that no write is read back as a value.
  const Tensor expanded = values.expand(slices.result_shape);
  const Tensor source = values.shares_storage(x) ? expanded.clone() : expanded.contiguous();
  dispatch(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    T* base = static_cast<T*>(x.storage()->data());
    const T* v = source.data<T>();
    // In index order, so that a position named twice keeps the last value (or sums them all).
    for (int64_t offset : slices.offsets) {
      if (rest.contiguous) {
        T* target = base + offset;
        if (accumulate) {
          for (int64_t i = 0; i < rest.numel; ++i) target[i] = detail::wrapping_add(target[i], v[i]);
        } else {
          std::copy_n(v, rest.numel, target);
        }
      } else {
        const Tensor target(x.storage(), x.dtype(), rest.shape, rest.strides, offset);
        const Tensor slice(source.storage(), source.dtype(), rest.shape, contiguous_strides(rest.shape), v - source.data<T>());
        if (accumulate) {
          target.add_(slice);
        } else {
          target.copy_(slice);
        }
      }
      v += rest.numel;
    }
  });
  return x;
}
}  // namespace

const Tensor& index_put_(const Tensor& x, const std::vector<Tensor>& indices, const Tensor& values, bool accumulate) {
  return put(x, indices, values, accumulate, "index_put_");
}

Tensor index_put(const Tensor& x, const std::vector<Tensor>& indices, const Tensor& values, bool accumulate) {
  check_defined(x, "index_put", "the tensor");
  const Tensor out = x.clone();
  put(out, indices, values, accumulate, "index_put");
  return out;
}

namespace {
// index_fill_ and index_fill, errors named as the caller's op.
const Tensor& fill_slices(const Tensor& x, int64_t axis_in, const Tensor& index, double value, const char* op) {
  check_defined(x, op, "the tensor");
  check_int64(index, op, "index");
  if (index.dim() > 1) fail("{}: index must be 1-d or 0-d, got shape {}", op, index.shape());
  const int64_t axis = normalize_axis(axis_in, x.dim(), op);
  const std::vector<int64_t> positions = index.to_vector<int64_t>();
  for (int64_t position : positions) wrapped(position, x.size(axis), axis, x.shape(), op);
  check_writable(x, op);
  x.storage()->bump_version();
  for (int64_t position : positions) x.select(axis, position).fill_(value);
  return x;
}
}  // namespace

const Tensor& index_fill_(const Tensor& x, int64_t axis, const Tensor& index, double value) {
  return fill_slices(x, axis, index, value, "index_fill_");
}

Tensor index_fill(const Tensor& x, int64_t axis, const Tensor& index, double value) {
  check_defined(x, "index_fill", "the tensor");
  const Tensor out = x.clone();
  fill_slices(out, axis, index, value, "index_fill");
  return out;
}

namespace {
// take_along_dim reads through gather, which refuses negative indices too; checking here first
// lets the message name the op the caller used.
void check_gather_range(const Tensor& indices, int64_t extent, int64_t axis, const Shape& shape) {
  for (int64_t value : indices.to_vector<int64_t>()) {
    if (value < 0 || value >= extent) {
      fail("take_along_dim: index {} is out of range for axis {} of size {} (shape {}); indices must be in [0, {}) "
           "(negative ones are refused, as by torch.take_along_dim)",
           value, axis, extent, shape, extent);
    }
  }
}
}  // namespace

Tensor take_along_dim(const Tensor& x, const Tensor& indices) {
  check_defined(x, "take_along_dim", "the tensor");
  check_int64(indices, "take_along_dim", "indices");
  const Tensor flat = x.reshape({-1});
  check_gather_range(indices, flat.numel(), 0, flat.shape());
  return gather(flat, 0, indices.reshape({-1}));
}

Tensor take_along_dim(const Tensor& x, const Tensor& indices, int64_t axis_in) {
  check_defined(x, "take_along_dim", "the tensor");
  check_int64(indices, "take_along_dim", "indices");
  if (x.dim() != indices.dim()) {
    fail("take_along_dim: the tensor (shape {}) and indices (shape {}) must have the same number of axes", x.shape(),
         indices.shape());
  }
  const int64_t axis = normalize_axis(axis_in, x.dim(), "take_along_dim");
  // Every axis but `axis` broadcasts; along it, x keeps its extent and indices theirs.
  Shape x_sizes = x.shape();
  x_sizes[axis] = indices.size(axis);
  const Tensor indices_broadcast = indices.expand(broadcast_shapes(x_sizes, indices.shape(), "take_along_dim"));
  Shape index_sizes = indices.shape();
  index_sizes[axis] = x.size(axis);
  const Tensor x_broadcast = x.expand(broadcast_shapes(index_sizes, x.shape(), "take_along_dim"));
  check_gather_range(indices, x.size(axis), axis, x.shape());
  return gather(x_broadcast, axis, indices_broadcast);
}

}  // namespace nabla::kernels
