#pragma once
// Shape checks (issue 17): every shape a tensor takes is checked here, once, so that no tensor's
// element count, strides or byte offsets can wrap around. kernels::Tensor's constructor runs the
// check, and shape_numel / contiguous_strides (dims.hpp) refuse through it any shape it refuses.
#include <cstdint>

#include "nabla/tensor/dims.hpp"

namespace nabla {

// The most elements a tensor may have, counting each zero extent as 1 (so that the strides and
// byte offsets of empty tensors and of their views fit in int64 too): 2^60, more than any machine
// holds.
inline constexpr int64_t kMaxShapeElements = int64_t{1} << 60;

// Throws naming the shape unless every extent is >= 0 and the product of max(extent, 1), computed
// with overflow-checked multiplication, is at most kMaxShapeElements.
void check_shape(const Shape& shape);

}  // namespace nabla
