#pragma once
// The functional API: every layer's computation as a plain function of variables, for users who
// don't want modules. All are compositions of differentiable ops (no hand-written backward).
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "nabla/autograd.hpp"
#include "nabla/nn/losses.hpp"      // the losses: cross_entropy, nll_loss, mse_loss, ctc_loss, ...
#include "nabla/nn/padding.hpp"
#include "nabla/nn/similarity.hpp"  // cosine_similarity, pairwise_distance, normalize

namespace nabla::nn::functional {

// x @ weight^T + bias; x is [..., in], weight [out, in], bias [out] (optional).
Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias = {});

// 2-d convolution (cross-correlation, as in PyTorch): x [N, C, H, W], weight [O, C/groups, kh, kw],
// bias [O] (optional). im2col + GEMM (Winograd for 3x3). padding: sizes, nn::same (stride 1
// only; an even kernel pads one more at the bottom/right) or nn::valid.
Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias = {}, Size2d stride = 1,
                Padding padding = 0, Size2d dilation = 1, int64_t groups = 1);

// stride {0, 0} (the default) means stride = kernel. ceil_mode rounds the output size up (the last
// window must start inside the input or its left padding).
Tensor max_pool2d(const Tensor& x, Size2d kernel, Size2d stride = {}, Size2d padding = 0, Size2d dilation = 1,
                  bool ceil_mode = false);
// count_include_pad divides by the window's size within the padded input, else by its in-bounds
// part; divisor_override replaces either.
Tensor avg_pool2d(const Tensor& x, Size2d kernel, Size2d stride = {}, Size2d padding = 0, bool ceil_mode = false,
                  bool count_include_pad = true, std::optional<int64_t> divisor_override = std::nullopt);
// Averages over the PyTorch adaptive regions so the output is output_size (any input size).
Tensor adaptive_avg_pool2d(const Tensor& x, Size2d output_size);

// ---- issue 13: convolution, pooling and resampling (the modules: nabla/nn/conv.hpp, pooling.hpp,
// resampling.hpp). 1-d forms take [N, C, L] and run as their 2-d forms on [N, C, 1, L] views.
// x [N, C, L], weight [O, C/groups, k], bias [O].
Tensor conv1d(const Tensor& x, const Tensor& weight, const Tensor& bias = {}, int64_t stride = 1, Padding1d padding = 0,
              int64_t dilation = 1, int64_t groups = 1);
// x [N, C_in, H, W], weight [C_in, C_out/groups, kh, kw], bias [C_out] -> [N, C_out, OH, OW],
// OH = (H - 1) * stride - 2 * padding + dilation * (kh - 1) + output_padding + 1 (PyTorch's order
// of arguments: groups before dilation).
Tensor conv_transpose2d(const Tensor& x, const Tensor& weight, const Tensor& bias = {}, Size2d stride = 1,
                        Size2d padding = 0, Size2d output_padding = 0, int64_t groups = 1, Size2d dilation = 1);
// x [N, C_in, L], weight [C_in, C_out/groups, k], bias [C_out].
Tensor conv_transpose1d(const Tensor& x, const Tensor& weight, const Tensor& bias = {}, int64_t stride = 1,
                        int64_t padding = 0, int64_t output_padding = 0, int64_t groups = 1, int64_t dilation = 1);

// Max pooling with the int64 index of each winner within its H*W plane (within L for 1-d).
ValuesIndices max_pool2d_with_indices(const Tensor& x, Size2d kernel, Size2d stride = {}, Size2d padding = 0,
                                      Size2d dilation = 1, bool ceil_mode = false);
// stride 0 (the default) means stride = kernel.
Tensor max_pool1d(const Tensor& x, int64_t kernel, int64_t stride = 0, int64_t padding = 0, int64_t dilation = 1,
                  bool ceil_mode = false);
ValuesIndices max_pool1d_with_indices(const Tensor& x, int64_t kernel, int64_t stride = 0, int64_t padding = 0,
                                      int64_t dilation = 1, bool ceil_mode = false);
Tensor avg_pool1d(const Tensor& x, int64_t kernel, int64_t stride = 0, int64_t padding = 0, bool ceil_mode = false,
                  bool count_include_pad = true);
// Maxima over PyTorch's adaptive regions (output i covers inputs [floor(i*in/out), ceil((i+1)*in/out))).
Tensor adaptive_max_pool2d(const Tensor& x, Size2d output_size);
ValuesIndices adaptive_max_pool2d_with_indices(const Tensor& x, Size2d output_size);
Tensor adaptive_max_pool1d(const Tensor& x, int64_t output_size);
ValuesIndices adaptive_max_pool1d_with_indices(const Tensor& x, int64_t output_size);
Tensor adaptive_avg_pool1d(const Tensor& x, int64_t output_size);

using nabla::Interpolation;  // nearest, nearest_exact, linear (3-d input), bilinear (4-d input)
// F.interpolate's arguments. Give size or scale_factor: one number for every spatial axis, or one
// per axis ({H, W} for 4-d input).
struct InterpolateOptions {
  std::vector<int64_t> size = {};          // the output's spatial size
  std::vector<double> scale_factor = {};   // output size = floor(input size * scale_factor)
  Interpolation mode = Interpolation::nearest;
  std::optional<bool> align_corners = std::nullopt;  // linear modes only; unset means false
  // true: map output positions back with input/output sizes rather than 1/scale_factor (unset
  // means false, PyTorch 1.13's default).
  std::optional<bool> recompute_scale_factor = std::nullopt;
};
// Resamples [N, C, L] (nearest, nearest_exact, linear) or [N, C, H, W] (nearest, nearest_exact,
// bilinear) with PyTorch's index formulas.
Tensor interpolate(const Tensor& x, const InterpolateOptions& options);
// [*, C*r*r, H, W] -> [*, C, H*r, W*r], and back.
Tensor pixel_shuffle(const Tensor& x, int64_t upscale_factor);
Tensor pixel_unshuffle(const Tensor& x, int64_t downscale_factor);
// Splits axis into the axes of `sizes` (one of them may be -1); a view where the strides allow.
Tensor unflatten(const Tensor& x, int64_t axis, const Shape& sizes);

// Zeroes each element with probability p and scales the rest by 1/(1-p) when training.
Tensor dropout(const Tensor& x, double p, bool training, Generator& generator = default_generator());

// Normalises over every axis but 1 (channels). Training uses batch statistics and updates the
// running ones in place (running = (1 - momentum) * running + momentum * batch, unbiased var);
// evaluation uses the running statistics.
Tensor batch_norm(const Tensor& x, Tensor running_mean, Tensor running_var, const Tensor& weight,
                    const Tensor& bias, bool training, double momentum = 0.1, double eps = 1e-5);

using nabla::leaky_relu;  // leaky_relu(x, negative_slope = 0.01): one recorded op (functions.hpp)
// GELU: x * Phi(x) with the exact erf form (approximate "none"), or PyTorch's tanh approximation
// (approximate "tanh"): 0.5 x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3))).
Tensor gelu(const Tensor& x, std::string_view approximate = "none");

// issue 13: F.pad is nabla::pad ((before, after) counts, last axis first; constant, reflect,
// replicate or circular: see nabla/tensor/pad.hpp).
using nabla::pad;
using nabla::PadMode;

}  // namespace nabla::nn::functional
