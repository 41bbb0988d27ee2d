#pragma once
// Resampling and rearranging layers, as PyTorch's: Upsample (F.interpolate as a module: nearest,
// nearest-exact, linear and bilinear with align_corners), PixelShuffle / PixelUnshuffle (depth
// to space and back) and Unflatten (one axis into several).
//
//   nn::Upsample up({.scale_factor = {2.0}, .mode = Interpolation::bilinear, .align_corners = false});
//   nn::PixelShuffle shuffle(2);         // [N, 4C, H, W] -> [N, C, 2H, 2W]
//   nn::Unflatten unflatten(1, {64, 7, 7});  // [N, 3136] -> [N, 64, 7, 7]
#include <cstdint>
#include <string>

#include "nabla/nn/functional.hpp"
#include "nabla/nn/module.hpp"

namespace nabla::nn {

// PyTorch's Upsample arguments are F.interpolate's: size or scale_factor, mode, align_corners,
// recompute_scale_factor.
using UpsampleOptions = functional::InterpolateOptions;

class Upsample : public Module {
 public:
  explicit Upsample(const UpsampleOptions& options);
  Tensor forward(const Tensor& input) override { return functional::interpolate(input, options_); }
  std::string type_name() const override { return "Upsample"; }
  std::string extra_repr() const override;
  const UpsampleOptions& options() const { return options_; }

 private:
  UpsampleOptions options_;
};

// [*, C*r*r, H, W] -> [*, C, H*r, W*r]: output[c, h*r + i, w*r + j] = input[c*r*r + i*r + j, h, w].
class PixelShuffle : public Module {
 public:
  explicit PixelShuffle(int64_t upscale_factor);
  Tensor forward(const Tensor& input) override { return functional::pixel_shuffle(input, upscale_factor_); }
  std::string type_name() const override { return "PixelShuffle"; }
  std::string extra_repr() const override { return fmt::format("upscale_factor={}", upscale_factor_); }

 private:
  int64_t upscale_factor_;
};

// The inverse of PixelShuffle: [*, C, H*r, W*r] -> [*, C*r*r, H, W].
class PixelUnshuffle : public Module {
 public:
  explicit PixelUnshuffle(int64_t downscale_factor);
  Tensor forward(const Tensor& input) override { return functional::pixel_unshuffle(input, downscale_factor_); }
  std::string type_name() const override { return "PixelUnshuffle"; }
  std::string extra_repr() const override { return fmt::format("downscale_factor={}", downscale_factor_); }

 private:
  int64_t downscale_factor_;
};

// Splits axis `dim` of its input into unflattened_size (one entry may be -1): the inverse of Flatten.
class Unflatten : public Module {
 public:
  Unflatten(int64_t dim, const Shape& unflattened_size);
  Tensor forward(const Tensor& input) override { return functional::unflatten(input, dim_, unflattened_size_); }
  std::string type_name() const override { return "Unflatten"; }
  std::string extra_repr() const override;

 private:
  int64_t dim_;
  Shape unflattened_size_;
};

}  // namespace nabla::nn
