// F.interpolate, pixel (un)shuffle and unflatten, and their modules. interpolate resolves
// PyTorch's arguments (size or scale factors, the recompute rule) and calls the recorded
// upsample2d op; the others are reshapes and one permute, differentiable as they are.
#include "nabla/nn/resampling.hpp"

#include <cmath>

#include <fmt/ranges.h>

namespace nabla::nn {

namespace {
bool is_nearest(Interpolation mode) { return mode == Interpolation::nearest || mode == Interpolation::nearest_exact; }
}  // namespace

namespace functional {

namespace {

// One value for every spatial axis, or one per axis.
template <class T>
std::vector<T> per_axis(const std::vector<T>& values, int64_t spatial, const Tensor& x, const char* name) {
  if (values.size() == 1) return std::vector<T>(static_cast<size_t>(spatial), values[0]);
  if (static_cast<int64_t>(values.size()) != spatial) {
    fail("interpolate: the input of shape {} has {} spatial axes but {} has {} values; give one per spatial axis or one "
         "for all",
         x.shape(), spatial, name, values.size());
  }
  return values;
}

}  // namespace

Tensor interpolate(const Tensor& x, const InterpolateOptions& options) {
  const Interpolation mode = options.mode;
  if (!x.defined() || (x.dim() != 3 && x.dim() != 4)) {
    fail("interpolate: input must be [N, C, L] or [N, C, H, W], got shape {}", x.defined() ? x.shape() : Shape{});
  }
  if (mode == Interpolation::linear && x.dim() != 3) {
    fail("interpolate: linear mode needs a 3-d input [N, C, L], got shape {}; use bilinear for [N, C, H, W]", x.shape());
  }
  if (mode == Interpolation::bilinear && x.dim() != 4) {
    fail("interpolate: bilinear mode needs a 4-d input [N, C, H, W], got shape {}; use linear for [N, C, L]", x.shape());
  }
  if (is_nearest(mode) && options.align_corners) {
    fail("interpolate: align_corners can only be set with the interpolating modes linear and bilinear, not {}",
         interpolation_name(mode));
  }
  const bool has_size = !options.size.empty(), has_scale = !options.scale_factor.empty();
  if (has_size && has_scale) fail("interpolate: give only one of size or scale_factor");
  if (!has_size && !has_scale) fail("interpolate: give either size or scale_factor");
  if (has_size && options.recompute_scale_factor.value_or(false)) {
    fail("interpolate: recompute_scale_factor is not meaningful with an explicit size");
  }
  const int64_t spatial = x.dim() - 2;
  std::vector<int64_t> out(static_cast<size_t>(spatial));
  std::vector<std::optional<double>> scales(static_cast<size_t>(spatial));
  if (has_size) {
    out = per_axis(options.size, spatial, x, "size");
  } else {
    const std::vector<double> factors = per_axis(options.scale_factor, spatial, x, "scale_factor");
    for (int64_t i = 0; i < spatial; ++i) {
      const auto at = static_cast<size_t>(i);
      out[at] = static_cast<int64_t>(std::floor(static_cast<double>(x.shape()[2 + i]) * factors[at]));
      // Unless recomputed, the positions are mapped back with 1 / scale_factor (PyTorch 1.13's default).
      if (!options.recompute_scale_factor.value_or(false)) scales[at] = factors[at];
    }
  }
  for (int64_t i = 0; i < spatial; ++i) {
    if (out[static_cast<size_t>(i)] < 1 || x.shape()[2 + i] < 1) {
      fail("interpolate: input and output sizes must be positive, got input of shape {} and output size {}", x.shape(),
           Shape(out));
    }
  }
  Upsample2dParams params{mode, options.align_corners.value_or(false), std::nullopt, std::nullopt};
  if (spatial == 1) {
    params.scale_w = scales[0];
    return squeeze(upsample2d(unsqueeze(x, 2), {1, out[0]}, params), 2);
  }
  params.scale_h = scales[0];
  params.scale_w = scales[1];
  return upsample2d(x, {out[0], out[1]}, params);
}

Tensor pixel_shuffle(const Tensor& x, int64_t upscale_factor) {
  const int64_t r = upscale_factor;
  if (!x.defined() || x.dim() < 3) {
    fail("pixel_shuffle: input must have at least 3 axes [*, C*r*r, H, W], got shape {}", x.defined() ? x.shape() : Shape{});
  }
  if (r < 1) fail("pixel_shuffle: upscale_factor must be positive, got {}", r);
  const Shape& shape = x.shape();
  const int64_t batch_axes = x.dim() - 3;
  const int64_t channels = shape[batch_axes], height = shape[batch_axes + 1], width = shape[batch_axes + 2];
  if (channels % (r * r) != 0) {
    fail("pixel_shuffle: the input of shape {} has {} channels, which is not divisible by upscale_factor^2 = {}", shape,
         channels, r * r);
  }
  Shape split, merged;
  Dims order;
  for (int64_t i = 0; i < batch_axes; ++i) {
    split.push_back(shape[i]);
    merged.push_back(shape[i]);
    order.push_back(i);
  }
  // [*, C, r, r, H, W] -> [*, C, H, r, W, r] -> [*, C, H*r, W*r]
  for (int64_t extent : {channels / (r * r), r, r, height, width}) split.push_back(extent);
  for (int64_t axis : {0, 3, 1, 4, 2}) order.push_back(batch_axes + axis);
  for (int64_t extent : {channels / (r * r), height * r, width * r}) merged.push_back(extent);
  return reshape(permute(reshape(x, split), order), merged);
}

Tensor pixel_unshuffle(const Tensor& x, int64_t downscale_factor) {
  const int64_t r = downscale_factor;
  if (!x.defined() || x.dim() < 3) {
    fail("pixel_unshuffle: input must have at least 3 axes [*, C, H*r, W*r], got shape {}", x.defined() ? x.shape() : Shape{});
  }
  if (r < 1) fail("pixel_unshuffle: downscale_factor must be positive, got {}", r);
  const Shape& shape = x.shape();
  const int64_t batch_axes = x.dim() - 3;
  const int64_t channels = shape[batch_axes], height = shape[batch_axes + 1], width = shape[batch_axes + 2];
  if (height % r != 0 || width % r != 0) {
    fail("pixel_unshuffle: the input of shape {} has height {} and width {}, which must both be divisible by "
         "downscale_factor {}",
         shape, height, width, r);
  }
  Shape split, merged;
  Dims order;
  for (int64_t i = 0; i < batch_axes; ++i) {
    split.push_back(shape[i]);
    merged.push_back(shape[i]);
    order.push_back(i);
  }
  // [*, C, H, r, W, r] -> [*, C, r, r, H, W] -> [*, C*r*r, H, W]
  for (int64_t extent : {channels, height / r, r, width / r, r}) split.push_back(extent);
  for (int64_t axis : {0, 2, 4, 1, 3}) order.push_back(batch_axes + axis);
  for (int64_t extent : {channels * r * r, height / r, width / r}) merged.push_back(extent);
  return reshape(permute(reshape(x, split), order), merged);
}

Tensor unflatten(const Tensor& x, int64_t axis, const Shape& sizes) {
  if (!x.defined()) fail("unflatten: the input is undefined");
  const int64_t rank = x.dim();
  if (axis < -rank || axis >= rank || rank == 0) {
    fail("unflatten: axis {} is out of range for the input of shape {}", axis, x.shape());
  }
  if (axis < 0) axis += rank;
  if (sizes.size() == 0) fail("unflatten: sizes must be non-empty");
  const int64_t extent = x.shape()[axis];
  int64_t known = 1, inferred = -1;
  for (int64_t i = 0; i < static_cast<int64_t>(sizes.size()); ++i) {
    if (sizes[i] == -1 && inferred < 0) {
      inferred = i;
    } else if (sizes[i] < 0) {
      fail("unflatten: sizes {} may hold one -1 and otherwise non-negative sizes", sizes);
    } else {
      known *= sizes[i];
    }
  }
  Shape resolved = sizes;
  if (inferred >= 0) {
    if (known == 0 || extent % known != 0) {
      fail("unflatten: sizes {} cannot be made to multiply up to the size {} of axis {} of the input of shape {}", sizes,
           extent, axis, x.shape());
    }
    resolved[inferred] = extent / known;
  } else if (known != extent) {
    fail("unflatten: sizes {} don't multiply up to the size {} of axis {} of the input of shape {}", sizes, extent, axis,
         x.shape());
  }
  Shape shape;
  for (int64_t i = 0; i < rank; ++i) {
    if (i != axis) {
      shape.push_back(x.shape()[i]);
      continue;
    }
    for (int64_t extent_i : resolved) shape.push_back(extent_i);
  }
  return reshape(x, shape);
}

}  // namespace functional

namespace {

std::string join(const std::vector<int64_t>& values) {
  return values.size() == 1 ? fmt::format("{}", values[0]) : fmt::format("({})", fmt::join(values, ", "));
}
std::string join(const std::vector<double>& values) {
  return values.size() == 1 ? fmt::format("{}", values[0]) : fmt::format("({})", fmt::join(values, ", "));
}

}  // namespace

Upsample::Upsample(const UpsampleOptions& options) : options_(options) {
  // What does not depend on the input is checked here, where the layer is built.
  if (options.size.empty() == options.scale_factor.empty()) fail("Upsample: give exactly one of size or scale_factor");
  if (is_nearest(options.mode) && options.align_corners) {
    fail("Upsample: align_corners can only be set with the interpolating modes linear and bilinear, not {}",
         interpolation_name(options.mode));
  }
}

std::string Upsample::extra_repr() const {
  std::string out = options_.size.empty() ? "scale_factor=" + join(options_.scale_factor) : "size=" + join(options_.size);
  out += fmt::format(", mode={}", interpolation_name(options_.mode));
  if (options_.align_corners) out += fmt::format(", align_corners={}", *options_.align_corners);
  return out;
}

PixelShuffle::PixelShuffle(int64_t upscale_factor) : upscale_factor_(upscale_factor) {
  if (upscale_factor < 1) fail("PixelShuffle: upscale_factor must be positive, got {}", upscale_factor);
}

PixelUnshuffle::PixelUnshuffle(int64_t downscale_factor) : downscale_factor_(downscale_factor) {
  if (downscale_factor < 1) fail("PixelUnshuffle: downscale_factor must be positive, got {}", downscale_factor);
}

Unflatten::Unflatten(int64_t dim, const Shape& unflattened_size) : dim_(dim), unflattened_size_(unflattened_size) {
  if (unflattened_size.size() == 0) fail("Unflatten: unflattened_size must be non-empty");
}

std::string Unflatten::extra_repr() const {
  return fmt::format("dim={}, unflattened_size={}", dim_, unflattened_size_);
}

}  // namespace nabla::nn
