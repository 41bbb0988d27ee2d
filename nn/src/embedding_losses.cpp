// Losses on embeddings and rankings: cosine_embedding_loss, margin_ranking_loss,
// hinge_embedding_loss, triplet_margin_loss, and ctc_loss's functional form. PyTorch's formulas
// and shape rules, composed of differentiable ops.
#include <vector>

#include "loss_support.hpp"
#include "nabla/nn/losses.hpp"
#include "nabla/nn/similarity.hpp"

namespace nabla::nn::functional {

using detail::reduce;

Tensor cosine_embedding_loss(const Tensor& input1, const Tensor& input2, const Tensor& target,
                             const CosineEmbeddingLossOptions& options) {
  const char* op = "cosine_embedding_loss";
  detail::check_floating(input1, op, "input1");
  detail::check_floating(input2, op, "input2");
  detail::check_defined(target, op, "target");
  const int64_t target_dims = target.dim();
  if (target_dims > 1) fail("{}: 0-d or 1-d target expected, multi-target not supported, got shape {}", op, target.shape());
  if (target_dims == 1 && (input1.dim() != 2 || input2.dim() != 2)) {
    fail("{}: a 1-d target expects 2-d inputs [N, D], but found inputs with shapes {} and {}", op, input1.shape(),
         input2.shape());
  }
  if (target_dims == 0 && (input1.dim() != 1 || input2.dim() != 1)) {
    fail("{}: a 0-d target expects 1-d inputs [D], but found inputs with shapes {} and {}", op, input1.shape(),
         input2.shape());
  }
  // PyTorch's own cosine here: sum(x1 x2) / sqrt((|x1|^2 + 1e-12) (|x2|^2 + 1e-12)).
  constexpr double kEpsilon = 1e-12;
  const Dims axis{target_dims};
  const Tensor product = sum(input1 * input2, axis);
  const Tensor squared1 = sum(input1 * input1, axis) + kEpsilon;
  const Tensor squared2 = sum(input2 * input2, axis) + kEpsilon;
  const Tensor cosine = product / sqrt(squared1 * squared2);
  const Tensor similar = where(eq(target, 1.0), 1.0 - cosine, 0.0);
  const Tensor dissimilar = where(eq(target, -1.0), clamp_min(cosine - options.margin, 0.0), 0.0);
  return reduce(similar + dissimilar, options.reduction);
}

Tensor margin_ranking_loss(const Tensor& input1, const Tensor& input2, const Tensor& target,
                           const MarginRankingLossOptions& options) {
  const char* op = "margin_ranking_loss";
  detail::check_floating(input1, op, "input1");
  detail::check_floating(input2, op, "input2");
  detail::check_defined(target, op, "target");
  if (input1.dim() != input2.dim() || input1.dim() != target.dim()) {
    fail("{}: all input tensors should have the same number of dimensions, got input1 {}, input2 {}, target {}", op,
         input1.shape(), input2.shape(), target.shape());
  }
  return reduce(clamp_min(neg(target) * (input1 - input2) + options.margin, 0.0), options.reduction);
}

Tensor hinge_embedding_loss(const Tensor& input, const Tensor& target, const HingeEmbeddingLossOptions& options) {
  const char* op = "hinge_embedding_loss";
  detail::check_floating(input, op, "input");
  detail::check_defined(target, op, "target");
  // Targets other than 1 take the margin term, other than -1 the input itself (so a 0 takes both),
  // as PyTorch's.
  const Tensor margin_term = where(ne(target, 1.0), clamp_min(options.margin - input, 0.0), 0.0);
  const Tensor input_term = where(ne(target, -1.0), input, 0.0);
  return reduce(margin_term + input_term, options.reduction);
}

Tensor triplet_margin_loss(const Tensor& anchor, const Tensor& positive, const Tensor& negative,
                           const TripletMarginLossOptions& options) {
  const char* op = "triplet_margin_loss";
  detail::check_floating(anchor, op, "anchor");
  detail::check_floating(positive, op, "positive");
  detail::check_floating(negative, op, "negative");
  if (anchor.dim() != positive.dim() || positive.dim() != negative.dim()) {
    fail("{}: all inputs should have the same number of dimensions but got {}-d, {}-d and {}-d inputs (shapes {}, {}, {})",
         op, anchor.dim(), positive.dim(), negative.dim(), anchor.shape(), positive.shape(), negative.shape());
  }
  const Tensor to_positive = pairwise_distance(anchor, positive, options.p, options.eps);
  Tensor to_negative = pairwise_distance(anchor, negative, options.p, options.eps);
  if (options.swap) to_negative = minimum(to_negative, pairwise_distance(positive, negative, options.p, options.eps));
  return reduce(clamp_min(to_positive - to_negative + options.margin, 0.0), options.reduction);
}

Tensor ctc_loss(const Tensor& log_probs, const Tensor& targets, const Tensor& input_lengths,
                const Tensor& target_lengths, const CTCLossOptions& options) {
  return nabla::ctc_loss(log_probs, targets, input_lengths, target_lengths, options.blank, options.reduction,
                         options.zero_infinity);
}

Tensor ctc_loss(const Tensor& log_probs, const Tensor& targets, const std::vector<int64_t>& input_lengths,
                const std::vector<int64_t>& target_lengths, const CTCLossOptions& options) {
  return ctc_loss(log_probs, targets, from_vector(input_lengths, {static_cast<int64_t>(input_lengths.size())}),
                  from_vector(target_lengths, {static_cast<int64_t>(target_lengths.size())}), options);
}

}  // namespace nabla::nn::functional
