#pragma once
// Private: a tensor seen as [outer, extent, inner] lines around one axis, the layout of every op
// that works along a single axis (scans, sorts, products along an axis). Line (o, i) holds the
// elements o * extent * inner + r * inner + i for r in [0, extent) of the contiguous input.
#include <cstdint>

#include "nabla/tensor/tensor.hpp"

namespace nabla::kernels::detail {

struct AxisLines {
  Tensor input;  // contiguous
  int64_t axis = 0;  // normalised (0 for a 0-d tensor, which is one line of one element)
  int64_t outer = 1;
  int64_t extent = 1;
  int64_t inner = 1;
  int64_t lines() const { return outer * inner; }
};

// x as lines along axis. A 0-d tensor accepts axis 0 or -1, as in PyTorch.
inline AxisLines lines_along(const Tensor& x, int64_t axis, const char* op) {
  if (!x.defined()) fail("{}: the input tensor is undefined", op);
  AxisLines lines;
  lines.axis = normalize_axis(axis, x.dim() == 0 ? 1 : x.dim(), op);
  lines.input = x.contiguous();
  if (x.dim() == 0) return lines;
  for (int64_t i = 0; i < lines.axis; ++i) lines.outer *= x.shape()[i];
  lines.extent = x.shape()[lines.axis];
  for (int64_t i = lines.axis + 1; i < x.dim(); ++i) lines.inner *= x.shape()[i];
  return lines;
}

}  // namespace nabla::kernels::detail
