#pragma once
// The functional API: every layer's computation as a plain function of variables, for users who
// don't want modules. All are compositions of differentiable ops (no hand-written backward).
#include "nabla/autograd.hpp"

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
// GELU: x * Phi(x) with the exact erf form, or the tanh approximation.
Tensor gelu(const Tensor& x, bool tanh_approximation = false);

// issue 13: F.pad is nabla::pad ((before, after) counts, last axis first; constant, reflect,
// replicate or circular: see nabla/tensor/pad.hpp).
using nabla::pad;
using nabla::PadMode;

using nabla::Reduction;  // mean, sum or none (nabla/tensor/loss.hpp)

struct CrossEntropyOptions {
  Reduction reduction = Reduction::mean;
  double label_smoothing = 0.0;  // in [0, 1): mixes the target with the uniform distribution
};
// Cross-entropy from logits [N, C] (or [N, C, ...]) and int64 class indices [N] (or [N, ...]),
// computed through a stable log-softmax.
Tensor cross_entropy(const Tensor& logits, const Tensor& target, CrossEntropyOptions options = {});
// Negative log-likelihood of log-probabilities [N, C] at int64 class indices [N].
Tensor nll_loss(const Tensor& log_probs, const Tensor& target, Reduction reduction = Reduction::mean);
Tensor mse_loss(const Tensor& input, const Tensor& target, Reduction reduction = Reduction::mean);
// Binary cross-entropy of probabilities in [0, 1] (logs clamped at -100, as PyTorch does).
Tensor binary_cross_entropy(const Tensor& probs, const Tensor& target, Reduction reduction = Reduction::mean);
// The same from logits, computed stably: max(z, 0) - z * y + log(1 + exp(-|z|)).
Tensor binary_cross_entropy_with_logits(const Tensor& logits, const Tensor& target,
                                          Reduction reduction = Reduction::mean);

}  // namespace nabla::nn::functional
