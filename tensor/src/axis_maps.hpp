#pragma once
// Private: copying through one index map per axis. pad (every mode), flip, roll, repeat and tile
// all read output element (i0, ..., in) from input element (map0[i0], ..., mapn[in]) — or write a
// fill value where a map says -1 — so one kernel does them all, in one pass over the output. The
// innermost map is cut into runs (consecutive, reversed or repeated sources, or fill), so a row
// is a few block copies rather than a lookup per element. Its adjoint adds each element back to
// where it was read from: the gradient of reflect/replicate/circular padding and of repeat.
#include <cstdint>
#include <vector>

#include "nabla/tensor/tensor.hpp"

namespace nabla::kernels::detail {

// Source position along one axis for each output position; kFill: the fill value.
using AxisMap = std::vector<int64_t>;
constexpr int64_t kFill = -1;

// out[i0, ..., in] = x[maps[0][i0], ..., maps[n][in]] (fill where any map gives kFill). The output
// has one axis per map, of the map's length, and x's dtype; x may have any strides.
Tensor gather_axis_maps(const Tensor& x, const std::vector<AxisMap>& maps, double fill = 0.0);

// The adjoint: zeros of `shape` with every element of grad added at the position it was read
// from (elements that read the fill value are dropped). grad's shape is the maps' lengths.
Tensor scatter_add_axis_maps(const Tensor& grad, const Shape& shape, const std::vector<AxisMap>& maps);

}  // namespace nabla::kernels::detail
