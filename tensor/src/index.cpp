// Gathering and scattering by int64 indices, and joining tensors. Indices must lie in [0, size):
// negative indices are refused, not wrapped, so an off-by-one upstream shows up as an error.
#include "nabla/tensor/index.hpp"

#include <algorithm>
#include <array>
#include <cstring>
#include <vector>

#include "elementwise_ops.hpp"
#include "nabla/tensor/error.hpp"
#include "nabla/tensor/threads.hpp"

namespace nabla::kernels {
namespace {

constexpr int64_t kParallelWork = 1 << 16;  // bytes or elements moved per thread, at least

void check_index_tensor(const Tensor& index, const char* op) {
  if (!index.defined()) fail("{}: the index tensor is undefined", op);
  if (index.dtype() != int64) {
    fail("{}: index must be an int64 tensor, got {} (convert with .to(int64))", op, index.dtype());
  }
}

void check_defined(const Tensor& x, const char* op, const char* name) {
  if (!x.defined()) fail("{}: {} is undefined (default-constructed)", op, name);
}

void check_in_range(int64_t value, int64_t axis, int64_t extent, const char* op) {
  if (value < 0 || value >= extent) {
    fail("{}: index {} is out of range for axis {} of size {}; indices must be in [0, {}) (negative ones are refused, "
         "as by torch.{})", op, value, axis, extent, extent, op);
  }
}

// The 1-d index of index_select/index_add as a checked, contiguous vector.
std::vector<int64_t> checked_index_vector(const Tensor& index, int64_t axis, int64_t extent, const char* op) {
  check_index_tensor(index, op);
  if (index.dim() != 1) fail("{}: index must be 1-d, got shape {}", op, index.shape());
  std::vector<int64_t> values = index.to_vector<int64_t>();
  for (int64_t value : values) check_in_range(value, axis, extent, op);
  return values;
}

// x viewed as [outer, extent, inner] around `axis`.
struct AxisSplit {
  int64_t outer = 1;
  int64_t inner = 1;
};
AxisSplit split_at(const Shape& shape, int64_t axis) {
  AxisSplit split;
  for (int64_t i = 0; i < axis; ++i) split.outer *= shape[i];
  for (int64_t i = axis + 1; i < shape.size(); ++i) split.inner *= shape[i];
  return split;
}

// Calls fn(x_offset, y_offset) for every innermost row of `shape`, in row-major order, with two
// operands' element offsets at the row's start (given their strides over `shape`'s axes).
template <class Fn>
void for_each_row(const Shape& shape, const Strides& x_strides, const Strides& y_strides, Fn&& fn) {
  const int64_t ndim = shape.size();
  int64_t rows = 1;
  for (int64_t i = 0; i + 1 < ndim; ++i) rows *= shape[i];
  if (shape_numel(shape) == 0) return;
  std::array<int64_t, Dims::kMaxDims> position{};
  int64_t x_offset = 0, y_offset = 0;
  for (int64_t row = 0; row < rows; ++row) {
    fn(x_offset, y_offset);
    for (int64_t axis = ndim - 2; axis >= 0; --axis) {
      const size_t a = static_cast<size_t>(axis);
      if (++position[a] < shape[axis]) {
        x_offset += x_strides[axis];
        y_offset += y_strides[axis];
        break;
      }
      x_offset -= (shape[axis] - 1) * x_strides[axis];
      y_offset -= (shape[axis] - 1) * y_strides[axis];
      position[a] = 0;
    }
  }
}

// Strides of x with `axis` zeroed: the offset of everything but the indexed axis.
Strides without_axis(const Strides& strides, int64_t axis) {
  Strides out = strides;
  out[axis] = 0;
  return out;
}

// Checks the rank and extents gather/scatter_add need: index has the rank of `data` and fits it
// on every axis but `axis`.
void check_gather_shapes(const Tensor& data, const Tensor& index, int64_t axis, const char* op,
                         const char* data_name) {
  if (index.dim() != data.dim()) {
    fail("{}: index must have the rank of {} ({}), got index shape {} and {} shape {}", op, data_name,
         data.dim(), index.shape(), data_name, data.shape());
  }
  for (int64_t i = 0; i < data.dim(); ++i) {
    if (i != axis && index.size(i) > data.size(i)) {
      fail("{}: index shape {} does not fit {} shape {} on axis {} ({} > {}); only axis {} may be larger",
           op, index.shape(), data_name, data.shape(), i, index.size(i), data.size(i), axis);
    }
  }
}

void check_same_dtype(const Tensor& base, const Tensor& source, const char* op) {
  if (source.dtype() != base.dtype()) {
    fail("{}: source dtype {} does not match base dtype {} (convert with .to({}))", op, source.dtype(),
         base.dtype(), base.dtype());
  }
}

}  // namespace

Tensor index_select(const Tensor& x, int64_t axis_in, const Tensor& index) {
  check_defined(x, "index_select", "x");
  const int64_t axis = normalize_axis(axis_in, x.dim(), "index_select");
  const int64_t extent = x.size(axis);
  const std::vector<int64_t> ids = checked_index_vector(index, axis, extent, "index_select");
  const int64_t count = static_cast<int64_t>(ids.size());

  Shape out_shape = x.shape();
  out_shape[axis] = count;
  Tensor out = Tensor::empty(out_shape, x.dtype());
  if (out.numel() == 0) return out;

  // Whole slices are byte copies, whatever the dtype.
  const Tensor source = x.contiguous();
  const AxisSplit split = split_at(x.shape(), axis);
  const int64_t slice_bytes = split.inner * static_cast<int64_t>(itemsize(x.dtype()));
  const char* src = static_cast<const char*>(source.raw_data());
  char* dst = static_cast<char*>(out.raw_data());
  const int64_t slices = split.outer * count;
  parallel_for(0, slices, std::max<int64_t>(1, kParallelWork / std::max<int64_t>(slice_bytes, 1)),
               [&](int64_t lo, int64_t hi) {
    for (int64_t s = lo; s < hi; ++s) {
      const int64_t o = s / count, j = s % count;
      std::memcpy(dst + s * slice_bytes, src + (o * extent + ids[static_cast<size_t>(j)]) * slice_bytes,
                  static_cast<size_t>(slice_bytes));
    }
  });
  return out;
}

Tensor index_add(const Tensor& base, int64_t axis_in, const Tensor& index, const Tensor& source) {
  check_defined(base, "index_add", "base");
  check_defined(source, "index_add", "source");
  const int64_t axis = normalize_axis(axis_in, base.dim(), "index_add");
  const int64_t extent = base.size(axis);
  const std::vector<int64_t> ids = checked_index_vector(index, axis, extent, "index_add");
  const int64_t count = static_cast<int64_t>(ids.size());
  check_same_dtype(base, source, "index_add");
  Shape expected = base.shape();
  expected[axis] = count;
  if (source.shape() != expected) {
    fail("index_add: source shape {} does not match {} (base shape {} with axis {} of size {}, one "
         "slice per index)", source.shape(), expected, base.shape(), axis, count);
  }

  Tensor out = base.clone();
  if (out.numel() == 0 || count == 0) return out;
  const Tensor src = source.contiguous();
  const AxisSplit split = split_at(base.shape(), axis);
  dispatch(base.dtype(), [&](auto tag) {
    using T = decltype(tag);
    T* out_data = out.data<T>();
    const T* src_data = src.data<T>();
    // Repeated indices add into the same slice, so threads split the outer axis only.
    const int64_t grain = std::max<int64_t>(1, kParallelWork / std::max<int64_t>(count * split.inner, 1));
    parallel_for(0, split.outer, grain, [&](int64_t lo, int64_t hi) {
      for (int64_t o = lo; o < hi; ++o) {
        for (int64_t j = 0; j < count; ++j) {
          T* to = out_data + (o * extent + ids[static_cast<size_t>(j)]) * split.inner;
          const T* from = src_data + (o * count + j) * split.inner;
          for (int64_t i = 0; i < split.inner; ++i) to[i] = detail::wrapping_add(to[i], from[i]);
        }
      }
    });
  });
  return out;
}

Tensor gather(const Tensor& x, int64_t axis_in, const Tensor& index_in) {
  check_defined(x, "gather", "x");
  check_index_tensor(index_in, "gather");
  const int64_t axis = normalize_axis(axis_in, x.dim(), "gather");
  check_gather_shapes(x, index_in, axis, "gather", "x");

  Tensor out = Tensor::empty(index_in.shape(), x.dtype());
  if (out.numel() == 0) return out;
  const Tensor index = index_in.contiguous();
  const int64_t* ids = index.data<int64_t>();
  const int64_t extent = x.size(axis);
  const int64_t last = x.dim() - 1;
  const int64_t row_length = index.size(last);
  // Check every index before touching memory; the copy below can then run unchecked.
  for (int64_t i = 0; i < index.numel(); ++i) check_in_range(ids[i], axis, extent, "gather");

  const Strides x_strides = without_axis(x.strides(), axis);
  const int64_t axis_stride = x.stride(axis);
  const int64_t last_stride = axis == last ? 0 : x.stride(last);
  dispatch(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* x_data = x.data<T>();
    T* out_data = out.data<T>();
    int64_t row = 0;
    for_each_row(index.shape(), x_strides, x_strides, [&](int64_t x_offset, int64_t) {
      const int64_t* row_ids = ids + row * row_length;
      T* to = out_data + row * row_length;
      for (int64_t j = 0; j < row_length; ++j) {
        to[j] = x_data[x_offset + j * last_stride + row_ids[j] * axis_stride];
      }
      ++row;
    });
  });
  return out;
}

Tensor scatter_add(const Tensor& base, int64_t axis_in, const Tensor& index_in, const Tensor& source) {
  check_defined(base, "scatter_add", "base");
  check_defined(source, "scatter_add", "source");
  check_index_tensor(index_in, "scatter_add");
  const int64_t axis = normalize_axis(axis_in, base.dim(), "scatter_add");
  check_gather_shapes(base, index_in, axis, "scatter_add", "base");
  check_same_dtype(base, source, "scatter_add");
  if (source.dim() != index_in.dim()) {
    fail("scatter_add: source must have the rank of index ({}), got source shape {} and index shape {}",
         index_in.dim(), source.shape(), index_in.shape());
  }
  for (int64_t i = 0; i < source.dim(); ++i) {
    if (index_in.size(i) > source.size(i)) {
      fail("scatter_add: index shape {} is larger than source shape {} on axis {}; source needs a "
           "value for every index", index_in.shape(), source.shape(), i);
    }
  }

  Tensor out = base.clone();
  if (index_in.numel() == 0) return out;
  const Tensor index = index_in.contiguous();
  const int64_t* ids = index.data<int64_t>();
  const int64_t extent = base.size(axis);
  for (int64_t i = 0; i < index.numel(); ++i) check_in_range(ids[i], axis, extent, "scatter_add");

  const int64_t last = base.dim() - 1;
  const int64_t row_length = index.size(last);
  const Strides out_strides = without_axis(out.strides(), axis);
  const int64_t axis_stride = out.stride(axis);
  const int64_t out_last_stride = axis == last ? 0 : out.stride(last);
  const int64_t source_last_stride = source.stride(last);
  dispatch(base.dtype(), [&](auto tag) {
    using T = decltype(tag);
    T* out_data = out.data<T>();
    const T* source_data = source.data<T>();
    int64_t row = 0;
    // Serial: several indices may name the same element.
    for_each_row(index.shape(), out_strides, source.strides(),
                 [&](int64_t out_offset, int64_t source_offset) {
      const int64_t* row_ids = ids + row * row_length;
      for (int64_t j = 0; j < row_length; ++j) {
        T& target = out_data[out_offset + j * out_last_stride + row_ids[j] * axis_stride];
        target = detail::wrapping_add(target, source_data[source_offset + j * source_last_stride]);
      }
      ++row;
    });
  });
  return out;
}

Tensor concat(const std::vector<Tensor>& tensors, int64_t axis_in) {
  if (tensors.empty()) fail("concat: no tensors given; pass at least one");
  for (size_t i = 0; i < tensors.size(); ++i) {
    if (!tensors[i].defined()) fail("concat: tensor {} is undefined (default-constructed)", i);
  }
  const Tensor& first = tensors[0];
  if (first.dim() == 0) fail("concat: 0-d tensors cannot be joined along an axis (use stack)");
  const int64_t axis = normalize_axis(axis_in, first.dim(), "concat");
  DType dtype = first.dtype();
  int64_t total = 0;
  for (size_t i = 0; i < tensors.size(); ++i) {
    const Tensor& t = tensors[i];
    bool compatible = t.dim() == first.dim();
    for (int64_t d = 0; compatible && d < t.dim(); ++d) compatible = d == axis || t.size(d) == first.size(d);
    if (!compatible) {
      fail("concat: tensor {} has shape {} but tensor 0 has shape {}; shapes must match except along "
           "axis {}", i, t.shape(), first.shape(), axis);
    }
    dtype = promote_types(dtype, t.dtype());
    total += t.size(axis);
  }
  Shape out_shape = first.shape();
  out_shape[axis] = total;
  Tensor out = Tensor::empty(out_shape, dtype);
  int64_t start = 0;
  for (const Tensor& t : tensors) {
    const int64_t length = t.size(axis);
    if (length > 0 && t.numel() > 0) out.narrow(axis, start, length).copy_(t);
    start += length;
  }
  return out;
}

Tensor stack(const std::vector<Tensor>& tensors, int64_t axis_in) {
  if (tensors.empty()) fail("stack: no tensors given; pass at least one");
  for (size_t i = 0; i < tensors.size(); ++i) {
    if (!tensors[i].defined()) fail("stack: tensor {} is undefined (default-constructed)", i);
    if (tensors[i].shape() != tensors[0].shape()) {
      fail("stack: tensor {} has shape {} but tensor 0 has shape {}; stack needs equal shapes", i,
           tensors[i].shape(), tensors[0].shape());
    }
  }
  if (tensors[0].dim() >= Dims::kMaxDims) {
    fail("stack: tensors of shape {} already have the maximum {} axes", tensors[0].shape(), Dims::kMaxDims);
  }
  const int64_t axis = normalize_axis(axis_in, tensors[0].dim() + 1, "stack");
  std::vector<Tensor> expanded;
  expanded.reserve(tensors.size());
  for (const Tensor& t : tensors) expanded.push_back(t.unsqueeze(axis));
  return concat(expanded, axis);
}

}  // namespace nabla::kernels
