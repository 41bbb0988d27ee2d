#pragma once
// The functional API: every layer's computation as a plain function of variables, for users who
// don't want modules. All are compositions of differentiable ops (no hand-written backward).
#include <string_view>

#include "nabla/autograd.hpp"
#include "nabla/nn/losses.hpp"      // the losses: cross_entropy, nll_loss, mse_loss, ctc_loss, ...
#include "nabla/nn/similarity.hpp"  // cosine_similarity, pairwise_distance, normalize

namespace nabla::nn::functional {

// x @ weight^T + bias; x is [..., in], weight [out, in], bias [out] (optional).
Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias = {});

// 2-d convolution (cross-correlation, as in PyTorch): x [N, C, H, W], weight [O, C/groups, kh, kw],
// bias [O] (optional). im2col + one batched matmul.
Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias = {}, Size2d stride = 1,
                Size2d padding = 0, Size2d dilation = 1, int64_t groups = 1);

// stride {0, 0} (the default) means stride = kernel.
Tensor max_pool2d(const Tensor& x, Size2d kernel, Size2d stride = {}, Size2d padding = 0, Size2d dilation = 1);
Tensor avg_pool2d(const Tensor& x, Size2d kernel, Size2d stride = {}, Size2d padding = 0,
                    bool count_include_pad = true);
// Averages over the PyTorch adaptive regions so the output is output_size (any input size).
Tensor adaptive_avg_pool2d(const Tensor& x, Size2d output_size);

// Zeroes each element with probability p and scales the rest by 1/(1-p) when training.
Tensor dropout(const Tensor& x, double p, bool training, Generator& generator = default_generator());

// Normalises over every axis but 1 (channels). Training uses batch statistics and updates the
// running ones in place (running = (1 - momentum) * running + momentum * batch, unbiased var);
// evaluation uses the running statistics.
Tensor batch_norm(const Tensor& x, Tensor running_mean, Tensor running_var, const Tensor& weight,
                    const Tensor& bias, bool training, double momentum = 0.1, double eps = 1e-5);

Tensor leaky_relu(const Tensor& x, double negative_slope = 0.01);
// GELU: x * Phi(x) with the exact erf form (approximate "none"), or PyTorch's tanh approximation
// (approximate "tanh"): 0.5 x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3))).
Tensor gelu(const Tensor& x, std::string_view approximate = "none");

// issue 13: F.pad is nabla::pad ((before, after) counts, last axis first; constant, reflect,
// replicate or circular: see nabla/tensor/pad.hpp).
using nabla::pad;
using nabla::PadMode;

}  // namespace nabla::nn::functional
