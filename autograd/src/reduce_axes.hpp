#pragma once
// Private: shapes of reductions, shared by the ops that reduce over a set of axes.
#include <algorithm>
#include <cstdint>

#include "nabla/tensor/dims.hpp"

namespace nabla::detail {

// The input's shape with every reduced axis set to 1 (what keepdim = true gives); empty axes
// reduce every axis.
inline Shape keepdim_shape(const Shape& shape, const Dims& axes) {
  Shape out = shape;
  if (axes.empty()) {
    for (int64_t& extent : out) extent = 1;
    return out;
  }
  for (int64_t axis : axes) out[normalize_axis(axis, shape.size(), "reduce")] = 1;
  return out;
}

// How many elements each result of the reduction combines.
inline int64_t reduced_count(const Shape& shape, const Dims& axes) {
  if (axes.empty()) return shape_numel(shape);
  int64_t count = 1;
  for (int64_t axis : axes) count *= shape[normalize_axis(axis, shape.size(), "reduce")];
  return count;
}

}  // namespace nabla::detail
