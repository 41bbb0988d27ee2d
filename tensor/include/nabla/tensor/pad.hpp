#pragma once
// Padding, as torch.nn.functional.pad: `pad` holds (before, after) counts for the last axis, then
// for the one before it, and so on — pad = {1, 1, 2, 0} adds one column on each side of the last
// axis and two rows before the second-last.
//   constant   the new elements are `value`; negative counts crop (any number of trailing axes)
//   reflect    mirror images without repeating the edge: [1 2 3] padded by 2 -> [3 2 1 2 3 2 1];
//              each count must be smaller than its axis
//   replicate  copies of the edge element: [1 2 3] -> [1 1 1 2 3 3 3]
//   circular   the tensor wraps around: [1 2 3] -> [2 3 1 2 3 1 2]; each count at most the axis
//              extent (it wraps at most once); a negative count on one side crops first
// reflect, replicate and circular pad 1, 2 or 3 trailing axes of a tensor with one or two more
// axes than that ([C, W] or [N, C, W] for 1, and so on), as PyTorch's, and take no value.
#include <cstdint>
#include <vector>

#include "nabla/tensor/tensor.hpp"

namespace nabla {

enum class PadMode { constant, reflect, replicate, circular };

const char* pad_mode_name(PadMode mode);

}  // namespace nabla

namespace nabla::kernels {

Tensor pad(const Tensor& x, const std::vector<int64_t>& pad, PadMode mode = PadMode::constant, double value = 0.0);

// The adjoint of pad for the gradient of a tensor of `input_shape`: each element of grad added
// to the input element it was copied from (constant mode: the padding is dropped, a crop).
Tensor pad_backward(const Tensor& grad, const Shape& input_shape, const std::vector<int64_t>& pad, PadMode mode);

}  // namespace nabla::kernels
