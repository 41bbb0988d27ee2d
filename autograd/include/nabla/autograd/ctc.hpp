#pragma once
// Connectionist temporal classification loss as one recorded op: the forward (alpha) recursion in
// log space and, for its gradient, the backward (beta) recursion, as kernels
// (nabla/tensor/ctc.hpp). Second derivatives come from the same recursion written with
// differentiable ops (ctc_loss_composite, through detail::recompute_gradients).
#include "nabla/autograd/tensor.hpp"
#include "nabla/tensor/loss.hpp"

namespace nabla {

// PyTorch's torch.ctc_loss. log_probs [T, N, C]: log-probabilities (a log_softmax over C) of T
// frames of N samples; targets int64, padded [N, S] (S at least the longest target) or all the
// targets concatenated (1-d, sum(target_lengths) labels); input_lengths, target_lengths int64 [N]
// (inputs at most T frames). One sample: log_probs [T, C], targets [S], lengths of shape [] or [1].
// Reduction::none gives the [N] losses (a 0-d one for one sample), sum their sum, and mean divides
// each by its target length (at least 1) before averaging over the batch, as PyTorch's.
// zero_infinity turns infinite losses (a target no alignment fits) and their gradients into zeros.
// The gradient is the derivative with respect to log_probs; PyTorch's adds exp(log_probs), which a
// log_softmax's backward removes: the two give the same gradient for the logits.
Tensor ctc_loss(const Tensor& log_probs, const Tensor& targets, const Tensor& input_lengths,
                const Tensor& target_lengths, int64_t blank = 0, Reduction reduction = Reduction::mean,
                bool zero_infinity = false);

// The same computed with differentiable ops, frame by frame (impossible states hold -1e30 rather
// than -inf, so that no gradient meets inf - inf): the reference ctc_loss is tested against, and
// what its second derivatives are taken from.
Tensor ctc_loss_composite(const Tensor& log_probs, const Tensor& targets, const Tensor& input_lengths,
                          const Tensor& target_lengths, int64_t blank = 0, Reduction reduction = Reduction::mean,
                          bool zero_infinity = false);

}  // namespace nabla
