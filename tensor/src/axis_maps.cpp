#include "axis_maps.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>

#include "contiguous_ref.hpp"
#include "convert.hpp"
#include "elementwise_ops.hpp"
#include "loops.hpp"
#include "nabla/tensor/error.hpp"
#include "nabla/tensor/factories.hpp"
#include "nabla/tensor/threads.hpp"

namespace nabla::kernels::detail {
namespace {

// A stretch of the innermost map: output positions [out_begin, out_begin + length) read source
// positions source_begin, source_begin + step, ... (step -1, 0 or 1), or the fill value.
struct Run {
  int64_t out_begin = 0;
  int64_t length = 1;
  int64_t source_begin = 0;
  int64_t step = 1;
  bool fill = false;
};

std::vector<Run> runs_of(const AxisMap& map) {
  std::vector<Run> runs;
  const int64_t n = static_cast<int64_t>(map.size());
  auto at = [&map](int64_t i) { return map[static_cast<size_t>(i)]; };
  for (int64_t i = 0; i < n;) {
    Run run{.out_begin = i, .length = 1, .source_begin = at(i), .step = 1, .fill = at(i) == kFill};
    if (run.fill) {
      while (i + run.length < n && at(i + run.length) == kFill) ++run.length;
    } else if (i + 1 < n && at(i + 1) != kFill && std::abs(at(i + 1) - at(i)) <= 1) {
      run.step = at(i + 1) - at(i);
      while (i + run.length < n && at(i + run.length) != kFill &&
             at(i + run.length) == at(i + run.length - 1) + run.step) {
        ++run.length;
      }
    }
    runs.push_back(run);
    i += run.length;
  }
  return runs;
}

// Walks the planes (every axis but the last two) of the maps' index space in row-major order,
// keeping the element offset of the plane's source start (through `strides`) and whether an
// outer map reads the fill value there.
class PlaneCursor {
 public:
  PlaneCursor(const std::vector<AxisMap>& maps, const Strides& strides, int64_t axes, int64_t first_plane)
      : maps_(maps), strides_(strides), axes_(axes) {
    int64_t rest = first_plane;
    for (int64_t axis = axes_ - 1; axis >= 0; --axis) {
      const int64_t extent = extent_of(axis);
      position_[static_cast<size_t>(axis)] = rest % extent;
      rest /= extent;
    }
    for (int64_t axis = 0; axis < axes_; ++axis) add(axis, +1);
  }

  int64_t offset() const { return offset_; }
  bool fills() const { return fill_axes_ > 0; }

  void next() {
    for (int64_t axis = axes_ - 1; axis >= 0; --axis) {
      int64_t& position = position_[static_cast<size_t>(axis)];
      add(axis, -1);
      if (++position < extent_of(axis)) {
        add(axis, +1);
        return;
      }
      position = 0;
      add(axis, +1);
    }
  }

 private:
  int64_t extent_of(int64_t axis) const { return static_cast<int64_t>(maps_[static_cast<size_t>(axis)].size()); }
  // Adds (sign +1) or removes (-1) axis's share of the offset at its current position.
  void add(int64_t axis, int64_t sign) {
    const int64_t source = maps_[static_cast<size_t>(axis)][static_cast<size_t>(position_[static_cast<size_t>(axis)])];
    if (source == kFill) {
      fill_axes_ += sign;
    } else {
      offset_ += sign * source * strides_[axis];
    }
  }

  const std::vector<AxisMap>& maps_;
  const Strides& strides_;
  int64_t axes_;
  std::array<int64_t, Dims::kMaxDims> position_{};
  int64_t offset_ = 0;
  int64_t fill_axes_ = 0;
};

// Calls fn(row, fills, offset) for the rows [lo, hi) of the maps' index space (every axis but the
// last): fills when an outer map reads the fill value there, else offset is the element offset of
// the row's source start through `strides`. Rows of one plane step through the second-last map directly, so
// the per-row cost is one lookup; the cursor moves once per plane.
template <class Fn>
void for_each_row(const std::vector<AxisMap>& maps, const Strides& strides, int64_t lo, int64_t hi, Fn&& fn) {
  const int64_t ndim = static_cast<int64_t>(maps.size());
  static const AxisMap kSingleRow{0};
  const AxisMap& row_map = ndim >= 2 ? maps[static_cast<size_t>(ndim - 2)] : kSingleRow;
  const int64_t row_stride = ndim >= 2 ? strides[ndim - 2] : 0;
  const int64_t rows_per_plane = static_cast<int64_t>(row_map.size());
  PlaneCursor plane(maps, strides, std::max<int64_t>(ndim - 2, 0), lo / rows_per_plane);
  for (int64_t row = lo; row < hi; plane.next()) {
    const int64_t r_end = std::min(rows_per_plane, row % rows_per_plane + (hi - row));
    for (int64_t r = row % rows_per_plane; r < r_end; ++r, ++row) {
      const int64_t source = row_map[static_cast<size_t>(r)];
      fn(row, plane.fills() || source == kFill, plane.offset() + source * row_stride);
    }
  }
}

Shape shape_of(const std::vector<AxisMap>& maps) {
  Shape shape;
  for (const AxisMap& map : maps) shape.push_back(static_cast<int64_t>(map.size()));
  return shape;
}

// True when no two positions of the map read the same source.
bool injective(const AxisMap& map, int64_t source_extent) {
  std::vector<bool> seen(static_cast<size_t>(source_extent), false);
  for (int64_t source : map) {
    if (source == kFill) continue;
    if (seen[static_cast<size_t>(source)]) return false;
    seen[static_cast<size_t>(source)] = true;
  }
  return true;
}

}  // namespace

Tensor gather_axis_maps(const Tensor& x, const std::vector<AxisMap>& maps, double fill) {
  if (static_cast<int64_t>(maps.size()) != x.dim()) {
    fail("gather_axis_maps: {} axis maps given for a tensor of shape {}", maps.size(), x.shape());
  }
  Tensor out = Tensor::empty(shape_of(maps), x.dtype());
  if (out.numel() == 0) return out;
  if (x.dim() == 0) {
    out.copy_(x);
    return out;
  }

  const std::vector<Run> runs = runs_of(maps.back());
  const int64_t row_length = out.shape().back();
  const int64_t rows = out.numel() / row_length;
  const int64_t inner_stride = x.strides().back();
  dispatch(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* source = static_cast<const T*>(x.raw_data());
    T* target = static_cast<T*>(out.raw_data());
    const T fill_value = detail::convert<T>(fill);  // NaN into an integer tensor is defined too
    const bool zero_fill = fill == 0.0 && !std::signbit(fill);  // all-zero bytes: memset
    auto fill_n = [&](T* o, int64_t n) {
      if (n <= 8) {  // padding is usually a few elements: a call would cost more than the stores
        for (int64_t k = 0; k < n; ++k) o[k] = fill_value;
      } else if (zero_fill) {
        std::memset(o, 0, static_cast<size_t>(n) * sizeof(T));
      } else {
        std::fill_n(o, n, fill_value);
      }
    };
    parallel_for(0, rows, std::max<int64_t>(1, kParallelGrain / row_length), [&](int64_t lo, int64_t hi) {
      for_each_row(maps, x.strides(), lo, hi, [&](int64_t row, bool fills, int64_t offset) {
        T* out_row = target + row * row_length;
        if (fills) {
          fill_n(out_row, row_length);
          return;
        }
        const T* source_row = source + offset;
        for (const Run& run : runs) {
          T* o = out_row + run.out_begin;
          if (run.fill) {
            fill_n(o, run.length);
          } else if (run.step == 1 && inner_stride == 1) {
            std::memcpy(o, source_row + run.source_begin, static_cast<size_t>(run.length) * sizeof(T));
          } else {
            const T* s = source_row + run.source_begin * inner_stride;
            const int64_t step = run.step * inner_stride;
            for (int64_t k = 0; k < run.length; ++k) o[k] = s[k * step];
          }
        }
      });
    });
  });
  return out;
}

Tensor scatter_add_axis_maps(const Tensor& grad_in, const Shape& shape, const std::vector<AxisMap>& maps) {
  if (static_cast<int64_t>(maps.size()) != shape.size() || shape_of(maps) != grad_in.shape()) {
    fail("scatter_add_axis_maps: gradient of shape {} does not match the maps' shape {} (into shape {})",
         grad_in.shape(), shape_of(maps), shape);
  }
  Tensor out = zeros(shape, grad_in.dtype());
  if (grad_in.numel() == 0 || out.numel() == 0) return out;
  const ContiguousRef grad(grad_in);
  if (shape.empty()) {
    out.copy_(*grad);
    return out;
  }

  const int64_t ndim = shape.size();
  const int64_t row_length = grad->shape().back();
  const int64_t rows = grad->numel() / row_length;
  // Rows that differ on a leading axis whose map never reads a position twice write disjoint parts
  // of out, so groups of them can run in parallel; rows within a group may collide and run in order.
  int64_t groups = 1;
  for (int64_t axis = 0; axis + 1 < ndim && injective(maps[static_cast<size_t>(axis)], shape[axis]); ++axis) {
    groups *= grad->shape()[axis];
  }
  const int64_t rows_per_group = rows / groups;
  const std::vector<Run> runs = runs_of(maps.back());
  dispatch(out.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* source = static_cast<const T*>(grad->raw_data());
    T* target = static_cast<T*>(out.raw_data());
    const int64_t grain = std::max<int64_t>(1, kParallelGrain / (rows_per_group * row_length));
    parallel_for(0, groups, grain, [&](int64_t lo, int64_t hi) {
      for_each_row(maps, out.strides(), lo * rows_per_group, hi * rows_per_group, [&](int64_t row, bool fills, int64_t offset) {
        if (fills) return;
        const T* grad_row = source + row * row_length;
        T* out_row = target + offset;
        for (const Run& run : runs) {
          if (run.fill) continue;
          const T* g = grad_row + run.out_begin;
          T* o = out_row + run.source_begin;
          for (int64_t k = 0; k < run.length; ++k) o[k * run.step] = detail::wrapping_add(o[k * run.step], g[k]);
        }
      });
    });
  });
  return out;
}

}  // namespace nabla::kernels::detail
