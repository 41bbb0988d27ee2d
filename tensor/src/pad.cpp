// pad (torch.nn.functional.pad) and its adjoint. Every mode is an index map per padded axis (the
// source element each output position copies, or the fill value), so the forward is one pass over
// the output through gather_axis_maps and the adjoint one pass over the gradient through
// scatter_add_axis_maps (replicated and reflected elements were read more than once and
// accumulate their gradients).
#include "nabla/tensor/pad.hpp"

#include <algorithm>
#include <string>

#include <fmt/ranges.h>

#include "axis_maps.hpp"
#include "nabla/tensor/error.hpp"

namespace nabla {

const char* pad_mode_name(PadMode mode) {
  switch (mode) {
    case PadMode::constant: return "constant";
    case PadMode::reflect: return "reflect";
    case PadMode::replicate: return "replicate";
    case PadMode::circular: return "circular";
  }
  return "?";
}

}  // namespace nabla

namespace nabla::kernels {
namespace {

using detail::AxisMap;
using detail::kFill;

std::string list_string(const std::vector<int64_t>& values) { return fmt::format("[{}]", fmt::join(values, ", ")); }

// The source position of each output position along one padded axis of extent n, with `before`
// and `after` elements added (negative: removed). The checks are PyTorch's, in its order.
AxisMap padded_axis_map(int64_t n, int64_t before, int64_t after, PadMode mode, int64_t axis, const Shape& shape) {
  const int64_t out = n + before + after;
  const char* name = pad_mode_name(mode);
  if (mode == PadMode::reflect && (before >= n || after >= n)) {
    fail("pad: reflect padding must be smaller than the padded axis, got ({}, {}) for axis {} of size {} (shape {}); "
         "pad less, or use replicate or circular padding",
         before, after, axis, n, shape);
  }
  if (mode == PadMode::replicate && n == 0) {
    fail("pad: replicate padding has no edge element to copy: axis {} of shape {} is empty", axis, shape);
  }
  if (mode == PadMode::circular && (before > n || after > n)) {
    fail("pad: circular padding wraps around at most once, got ({}, {}) for axis {} of size {} (shape {}); each "
         "count must be at most {}",
         before, after, axis, n, shape, n);
  }
  if (-before > n || -after > n) {
    fail("pad: padding ({}, {}) crops more elements than axis {} of shape {} has ({})", before, after, axis, shape, n);
  }
  if (out < 0 || (out == 0 && (mode == PadMode::reflect || mode == PadMode::replicate))) {
    fail("pad: padding ({}, {}) of axis {} (size {}, shape {}) leaves {} elements; crop less (at least {} must remain "
         "in {} mode)",
         before, after, axis, n, shape, out, mode == PadMode::constant || mode == PadMode::circular ? 0 : 1, name);
  }

  AxisMap map(static_cast<size_t>(out));
  if (mode == PadMode::circular) {
    // Negative counts crop first; the positive ones then wrap around what is left (PyTorch's order).
    const int64_t first = std::max<int64_t>(-before, 0);
    const int64_t kept = n - first - std::max<int64_t>(-after, 0);
    if (std::max(before, after) > kept) {
      fail("pad: circular padding ({}, {}) of axis {} (size {}, shape {}) crops it to {} elements first, which the "
           "padding would wrap around more than once",
           before, after, axis, n, shape, kept);
    }
    for (int64_t o = 0; o < out; ++o) {
      const int64_t p = o - std::max<int64_t>(before, 0);
      map[static_cast<size_t>(o)] = first + ((p % kept) + kept) % kept;
    }
    return map;
  }
  for (int64_t o = 0; o < out; ++o) {
    const int64_t j = o - before;  // the position in x; outside [0, n) in the padding
    int64_t source = j;
    if (j < 0 || j >= n) {
      switch (mode) {
        case PadMode::constant: source = kFill; break;
        case PadMode::reflect: source = j < 0 ? -j : 2 * (n - 1) - j; break;
        case PadMode::replicate: source = std::clamp<int64_t>(j, 0, n - 1); break;
        case PadMode::circular: break;  // handled above
      }
    }
    map[static_cast<size_t>(o)] = source;
  }
  return map;
}

// One map per axis of `shape`: identity for the axes `pad` leaves alone.
std::vector<AxisMap> pad_maps(const Shape& shape, const std::vector<int64_t>& pad, PadMode mode, const char* op) {
  const int64_t ndim = shape.size();
  const int64_t padded = static_cast<int64_t>(pad.size()) / 2;
  if (pad.size() % 2 != 0) {
    fail("{}: the pad list {} has an odd number of entries; give (before, after) pairs, the last axis first", op,
         list_string(pad));
  }
  if (padded > ndim) {
    fail("{}: the pad list {} pads {} axes, but the tensor of shape {} has only {}", op, list_string(pad), padded,
         shape, ndim);
  }
  if (mode != PadMode::constant && (padded < 1 || padded > 3 || (ndim != padded + 1 && ndim != padded + 2))) {
    fail("{}: {} padding takes 2, 4 or 6 pad entries for a tensor with one or two more axes than it pads ([C, W] or "
         "[N, C, W] for 2 entries, [C, H, W] or [N, C, H, W] for 4, [C, D, H, W] or [N, C, D, H, W] for 6), got {} "
         "for shape {}; constant padding takes any",
         op, pad_mode_name(mode), list_string(pad), shape);
  }
  std::vector<AxisMap> maps;
  for (int64_t axis = 0; axis < ndim; ++axis) {
    const int64_t pair = ndim - 1 - axis;  // the last axis is padded by pad[0], pad[1]
    if (pair < padded) {
      maps.push_back(padded_axis_map(shape[axis], pad[static_cast<size_t>(2 * pair)],
                                     pad[static_cast<size_t>(2 * pair + 1)], mode, axis, shape));
    } else {
      AxisMap identity(static_cast<size_t>(shape[axis]));
      for (size_t i = 0; i < identity.size(); ++i) identity[i] = static_cast<int64_t>(i);
      maps.push_back(std::move(identity));
    }
  }
  return maps;
}

}  // namespace

Tensor pad(const Tensor& x, const std::vector<int64_t>& pad, PadMode mode, double value) {
  if (!x.defined()) fail("pad: the tensor is undefined (default-constructed)");
  if (mode != PadMode::constant && value != 0.0) {
    fail("pad: {} padding takes no value (got {}); the value is for constant padding only", pad_mode_name(mode), value);
  }
  return detail::gather_axis_maps(x, pad_maps(x.shape(), pad, mode, "pad"), value);
}

Tensor pad_backward(const Tensor& grad, const Shape& input_shape, const std::vector<int64_t>& pad, PadMode mode) {
  if (!grad.defined()) fail("pad_backward: the gradient is undefined (default-constructed)");
  const std::vector<AxisMap> maps = pad_maps(input_shape, pad, mode, "pad_backward");
  Shape padded_shape;
  for (const AxisMap& map : maps) padded_shape.push_back(static_cast<int64_t>(map.size()));
  if (grad.shape() != padded_shape) {
    fail("pad_backward: gradient of shape {} does not match the padded shape {} (input shape {}, pad {})", grad.shape(),
         padded_shape, input_shape, list_string(pad));
  }
  if (mode == PadMode::constant) {
    // Each input element was copied once: the adjoint is the crop that drops the padding.
    std::vector<int64_t> crop(pad.size());
    std::transform(pad.begin(), pad.end(), crop.begin(), [](int64_t count) { return -count; });
    return kernels::pad(grad, crop);
  }
  return detail::scatter_add_axis_maps(grad, input_shape, maps);
}

}  // namespace nabla::kernels
