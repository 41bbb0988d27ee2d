#pragma once
// Connectionist temporal classification (Graves et al., ICML 2006), as PyTorch's ctc_loss: the
// negative log-likelihood of a target sequence summed over every alignment of it to the input
// frames, by the forward (alpha) recursion in log space, and its gradient by the backward (beta)
// recursion. Each sample is independent; samples run in parallel.
//
// A target l of length L is extended with blanks to l' = (blank, l1, blank, l2, ..., lL, blank),
// 2L + 1 states. With lp[t][c] the log-probabilities of one sample:
//   alpha[0][0] = lp[0][blank], alpha[0][1] = lp[0][l1], every other alpha[0][s] = -inf;
//   alpha[t][s] = lp[t][l'_s] + logsumexp(alpha[t-1][s], alpha[t-1][s-1], alpha[t-1][s-2]),
//                 the last only when l'_s is not blank and l'_s != l'_{s-2} (no skipping a blank
//                 between repeated labels);
//   loss = -logsumexp(alpha[T-1][2L], alpha[T-1][2L-1])   (T: the sample's input length).
// beta runs the same recursion from the end, and with gamma[t][s] = alpha + beta - lp[t][l'_s] the
// log-posterior of passing state s at frame t (plus the log-likelihood),
//   d loss / d lp[t][c] = -exp(logsumexp_{s: l'_s = c} (alpha[t][s] + beta[t][s]) + loss - lp[t][c]).
// That is the derivative with respect to log_probs themselves; PyTorch's kernel returns it plus
// exp(lp) (the derivative with respect to the logits of a log_softmax, which log_softmax's own
// backward maps to the same logits gradient), so the two agree after a log_softmax.
#include "nabla/tensor/tensor.hpp"

namespace nabla::kernels {

struct CtcForward {
  Tensor loss;                // [N]: -log p(target | input); inf when no alignment exists (0 with zero_infinity)
  Tensor neg_log_likelihood;  // [N]: the same before zero_infinity
  Tensor log_alpha;           // [N, T, 2 * max(target_lengths) + 1] float64: the forward variables
};

// log_probs [T, N, C] float32/float64; targets int64, padded [N, S] (S at least the longest target)
// or the targets concatenated, 1-d of sum(target_lengths); input_lengths and target_lengths int64 [N],
// each input length in [0, T]. Targets are classes in [0, C); blank is one of the C classes.
CtcForward ctc_loss_forward(const Tensor& log_probs, const Tensor& targets, const Tensor& input_lengths,
                            const Tensor& target_lengths, int64_t blank, bool zero_infinity);

// The gradient of sum_n grad[n] * loss[n] with respect to log_probs ([T, N, C]; zero past each
// sample's input length, and for a sample whose loss zero_infinity turned to 0). grad is [N].
Tensor ctc_loss_backward(const Tensor& grad, const Tensor& log_probs, const Tensor& targets, const Tensor& input_lengths,
                         const Tensor& target_lengths, const CtcForward& forward, int64_t blank, bool zero_infinity);

}  // namespace nabla::kernels
