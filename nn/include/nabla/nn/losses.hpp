#pragma once
// The loss functions of nn::functional, as PyTorch's torch.nn.functional: the same names, options,
// defaults, reductions and shape rules (the module forms, nn::CrossEntropyLoss and the rest, are in
// nabla/nn/loss_modules.hpp). Every loss is a composition of differentiable ops or a recorded
// primitive with its own gradient (cross_entropy's fused rows, ctc_loss), so every one is twice
// differentiable; the exceptions are said where they are declared.
//
// Options come as designated initialisers in PyTorch's keyword order:
//   F::cross_entropy(logits, target, {.weight = class_weights, .ignore_index = 0, .label_smoothing = 0.1})
//
// Reductions: Reduction::mean (the default), sum, or none (one loss per element or sample). Where
// the two inputs are compared element by element (mse, l1, smooth_l1, huber) their shapes must be
// equal: PyTorch broadcasts them with a warning that the result is likely wrong; nabla refuses.
#include <vector>

#include "nabla/autograd.hpp"

namespace nabla::nn::functional {

using nabla::Reduction;  // mean, sum or none (nabla/tensor/loss.hpp)

// ---- classification

struct CrossEntropyOptions {
  Tensor weight{};              // [C]: a weight per class (undefined: all 1)
  int64_t ignore_index = -100;  // targets of this class add nothing and leave the mean's denominator
  Reduction reduction = Reduction::mean;
  double label_smoothing = 0.0;  // in [0, 1): mixes the target with the uniform distribution
};
// Cross-entropy of logits [N, C] (or [N, C, d...], or one sample [C]) against either
//   - int64 class indices [N] (or [N, d...], or []): with weights the mean is
//     sum_i w[t_i] * loss_i / sum_i w[t_i] over the targets not ignored, as PyTorch's; or
//   - class probabilities of the logits' shape (float): loss_i = -sum_c w_c * p_ic * log_softmax(x)_ic,
//     the mean over the N * d... positions (ignore_index must then be negative, as PyTorch's).
// Class indices take one fused op (log-softmax, pick, smoothing, weights and reduction together);
// a weight that requires grad takes the composed form, which differentiates it too.
Tensor cross_entropy(const Tensor& logits, const Tensor& target, const CrossEntropyOptions& options = {});

struct NLLLossOptions {
  Tensor weight{};  // [C]
  int64_t ignore_index = -100;
  Reduction reduction = Reduction::mean;
};
// Negative log-likelihood of log-probabilities [N, C] (or [N, C, d...], or [C]) at int64 class
// indices [N] (or [N, d...], or []): loss_i = -w[t_i] * input[i][t_i]; the mean divides by
// sum_i w[t_i] over the targets not ignored (no weights: their count).
Tensor nll_loss(const Tensor& log_probs, const Tensor& target, const NLLLossOptions& options);
Tensor nll_loss(const Tensor& log_probs, const Tensor& target, Reduction reduction = Reduction::mean);

struct BinaryCrossEntropyOptions {
  Tensor weight{};  // broadcast to the input's shape: a weight per element
  Reduction reduction = Reduction::mean;
};
// Binary cross-entropy of probabilities in [0, 1] against targets of the same shape:
// -w * (y log p + (1 - y) log(1 - p)), each log clamped at -100 as PyTorch's.
Tensor binary_cross_entropy(const Tensor& probs, const Tensor& target, const BinaryCrossEntropyOptions& options);
Tensor binary_cross_entropy(const Tensor& probs, const Tensor& target, Reduction reduction = Reduction::mean);

struct BinaryCrossEntropyWithLogitsOptions {
  Tensor weight{};  // broadcast to the input's shape
  Reduction reduction = Reduction::mean;
  Tensor pos_weight{};  // broadcast to the input's shape from the last axis: [C] weighs each class's positives
};
// The same from logits z, computed stably:
//   w * ((1 - y) z + (1 + (pos_weight - 1) y) * log(1 + exp(-z))).
Tensor binary_cross_entropy_with_logits(const Tensor& logits, const Tensor& target,
                                        const BinaryCrossEntropyWithLogitsOptions& options);
Tensor binary_cross_entropy_with_logits(const Tensor& logits, const Tensor& target,
                                        Reduction reduction = Reduction::mean);

struct MultiMarginLossOptions {
  int64_t p = 1;  // 1 or 2
  double margin = 1.0;
  Tensor weight{};  // [C]
  Reduction reduction = Reduction::mean;
};
// Multi-class hinge loss of scores [N, C] (or [C]) at int64 classes [N] (or [] / [1]):
//   loss_i = sum_{j != t} w[t] * max(0, margin - x[t] + x[j])^p / C.
Tensor multi_margin_loss(const Tensor& input, const Tensor& target, const MultiMarginLossOptions& options = {});

struct CTCLossOptions {
  int64_t blank = 0;
  Reduction reduction = Reduction::mean;  // mean divides each loss by its target length, then averages
  bool zero_infinity = false;             // infinite losses (and their gradients) become 0
};
// Connectionist temporal classification: log_probs [T, N, C] (a log_softmax over C), targets
// int64 padded [N, S] or concatenated 1-d, input_lengths and target_lengths int64 [N] (one
// sample: [T, C], [S], and one length each). One recorded op, its gradient the beta recursion
// (nabla/autograd/ctc.hpp has the details, and how its gradient relates to PyTorch's); second
// derivatives are taken through the same recursion written with differentiable ops.
Tensor ctc_loss(const Tensor& log_probs, const Tensor& targets, const Tensor& input_lengths,
                const Tensor& target_lengths, const CTCLossOptions& options = {});
Tensor ctc_loss(const Tensor& log_probs, const Tensor& targets, const std::vector<int64_t>& input_lengths,
                const std::vector<int64_t>& target_lengths, const CTCLossOptions& options = {});

// ---- regression (input and target of one shape)

Tensor mse_loss(const Tensor& input, const Tensor& target, Reduction reduction = Reduction::mean);
Tensor l1_loss(const Tensor& input, const Tensor& target, Reduction reduction = Reduction::mean);

struct SmoothL1LossOptions {
  Reduction reduction = Reduction::mean;
  double beta = 1.0;  // >= 0; 0 is l1_loss
};
// 0.5 d^2 / beta where |d| < beta, else |d| - 0.5 beta (d = input - target).
Tensor smooth_l1_loss(const Tensor& input, const Tensor& target, const SmoothL1LossOptions& options = {});

struct HuberLossOptions {
  Reduction reduction = Reduction::mean;
  double delta = 1.0;  // > 0
};
// 0.5 d^2 where |d| < delta, else delta * (|d| - 0.5 delta): smooth_l1_loss times delta (beta = delta).
Tensor huber_loss(const Tensor& input, const Tensor& target, const HuberLossOptions& options = {});

// kl_div's reductions: Reduction's three and batchmean, the sum divided by the batch size
// (input.size(0)), which is the KL divergence PyTorch recommends (its 'mean' divides by every element).
//   F::kl_div(log_q, p, {.reduction = F::KLDivReduction::batchmean})   or   {.reduction = Reduction::sum}
struct KLDivReduction {
  enum Kind { mean, sum, none, batchmean };
  constexpr KLDivReduction(Kind kind = mean) : kind(kind) {}  // NOLINT(google-explicit-constructor)
  constexpr KLDivReduction(Reduction reduction)               // NOLINT(google-explicit-constructor)
      : kind(reduction == Reduction::sum ? sum : reduction == Reduction::none ? none : mean) {}
  Kind kind;
};
struct KLDivOptions {
  KLDivReduction reduction = KLDivReduction::mean;
  bool log_target = false;  // the target holds log-probabilities
};
// Pointwise KL divergence of input (log-probabilities) from target (probabilities):
// target * (log(target) - input), 0 where target is 0; with log_target, exp(target) * (target - input).
// input and target broadcast.
Tensor kl_div(const Tensor& input, const Tensor& target, const KLDivOptions& options = {});

struct PoissonNLLLossOptions {
  bool log_input = true;  // input is log(rate): exp(input) - target * input; else input - target * log(input + eps)
  bool full = false;      // add Stirling's approximation of log(target!) where target > 1
  double eps = 1e-8;
  Reduction reduction = Reduction::mean;
};
// Negative log-likelihood of targets under a Poisson distribution with the given rate; input and
// target broadcast.
Tensor poisson_nll_loss(const Tensor& input, const Tensor& target, const PoissonNLLLossOptions& options = {});

// ---- embeddings and ranking

struct CosineEmbeddingLossOptions {
  double margin = 0.0;
  Reduction reduction = Reduction::mean;
};
// x1, x2 [N, D] with target [N] (or [D], [D] with a 0-d target) of 1 or -1: 1 - cos(x1, x2) for 1,
// max(0, cos(x1, x2) - margin) for -1 (any other target adds 0).
Tensor cosine_embedding_loss(const Tensor& input1, const Tensor& input2, const Tensor& target,
                             const CosineEmbeddingLossOptions& options = {});

struct MarginRankingLossOptions {
  double margin = 0.0;
  Reduction reduction = Reduction::mean;
};
// max(0, -target * (input1 - input2) + margin): target 1 ranks input1 higher, -1 input2. The three
// must have the same number of dimensions, and broadcast.
Tensor margin_ranking_loss(const Tensor& input1, const Tensor& input2, const Tensor& target,
                           const MarginRankingLossOptions& options = {});

struct HingeEmbeddingLossOptions {
  double margin = 1.0;
  Reduction reduction = Reduction::mean;
};
// input where target is 1, max(0, margin - input) where it is -1 (input and target broadcast).
Tensor hinge_embedding_loss(const Tensor& input, const Tensor& target, const HingeEmbeddingLossOptions& options = {});

struct TripletMarginLossOptions {
  double margin = 1.0;
  double p = 2.0;     // the norm of pairwise_distance
  double eps = 1e-6;  // added to the differences, as pairwise_distance's
  bool swap = false;  // use the distance positive-negative when it is smaller than anchor-negative
  Reduction reduction = Reduction::mean;
};
// max(0, margin + d(anchor, positive) - d(anchor, negative)) with d = pairwise_distance; the three
// have the same number of dimensions and broadcast ([N, D], or [D] for one triplet).
Tensor triplet_margin_loss(const Tensor& anchor, const Tensor& positive, const Tensor& negative,
                           const TripletMarginLossOptions& options = {});

}  // namespace nabla::nn::functional
