#pragma once
// Resampling of NCHW images (PyTorch's upsample_* kernels, behind F.interpolate and nn.Upsample).
// Every mode is separable: output row i reads input rows h0(i), h1(i) with weights l0(i), l1(i)
// (nearest: one row, weight 1), and likewise for columns, so one kernel and its adjoint serve all.
// The index formulas are PyTorch 1.13's (aten/src/ATen/native/UpSample.h), computed in the
// tensor's precision as it does, so indices and weights agree exactly:
//   scale   = align_corners ? (in - 1) / (out - 1) (0 when out == 1)
//                           : (scale_factor given ? 1 / scale_factor : in / out)
//   nearest:        src = min(floor(dst * scale), in - 1)
//   nearest_exact:  src = min(floor((dst + 0.5) * scale), in - 1)
//   linear:         real = align_corners ? dst * scale : max((dst + 0.5) * scale - 0.5, 0);
//                   h0 = floor(real), h1 = min(h0 + 1, in - 1), l1 = real - h0, l0 = 1 - l1
//                   (and an axis whose output size equals its input size is copied as it is)
#include <cstdint>
#include <optional>
#include <vector>

#include "nabla/tensor/conv_kernels.hpp"
#include "nabla/tensor/tensor.hpp"

namespace nabla {

// linear and bilinear compute the same thing (bilinear is linear along both axes of an image;
// linear is the 1-d name); the names are PyTorch's modes.
enum class Interpolation { nearest, nearest_exact, linear, bilinear };
const char* interpolation_name(Interpolation mode);  // "nearest", "nearest-exact", ...

struct Upsample2dParams {
  Interpolation mode = Interpolation::nearest;
  bool align_corners = false;  // linear modes only
  // The scale factors the output positions are mapped back with (PyTorch passes the user's
  // scale_factor here unless recompute_scale_factor); unset: input size / output size.
  std::optional<double> scale_h = std::nullopt;
  std::optional<double> scale_w = std::nullopt;
};

// How one axis is sampled: output position i reads index0[i] and index1[i] with weights
// lambda0[i] and lambda1[i] (nearest: index1 = index0, lambda1 = 0).
struct InterpolationAxis {
  std::vector<int64_t> index0, index1;
  std::vector<double> lambda0, lambda1;
};
// The sampling of an axis of `in` positions at `out` positions, in the precision of `dtype`.
InterpolationAxis interpolation_axis(int64_t in, int64_t out, Interpolation mode, bool align_corners,
                                     std::optional<double> scale, DType dtype);

}  // namespace nabla

namespace nabla::kernels {

// x [N, C, H, W] -> [N, C, output_size.h, output_size.w].
Tensor upsample2d(const Tensor& x, Size2d output_size, const Upsample2dParams& params);
// The adjoint: grad_output [N, C, OH, OW] added back into zeros of input_shape [N, C, H, W].
Tensor upsample2d_backward(const Tensor& grad_output, const Shape& input_shape, const Upsample2dParams& params);

}  // namespace nabla::kernels
