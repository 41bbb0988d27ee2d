// The loss modules: options held, weights registered as buffers, forward calling nn::functional.
#include "nabla/nn/loss_modules.hpp"

#include <fmt/format.h>

#include "loss_support.hpp"

namespace nabla::nn {

namespace F = functional;
using functional::detail::reduction_name;

namespace {

// Registers a defined weight as a buffer and hands back the registered handle (which to(dtype)
// converts in place, so the options see the converted values); an undefined one stays undefined.
Tensor weight_buffer(Module& module, const char* name, const Tensor& weight) {
  return weight.defined() ? module.register_buffer(name, weight.detach()) : Tensor();
}

std::string with_reduction(const std::string& text, Reduction reduction) {
  return (text.empty() ? "" : text + ", ") + "reduction=" + reduction_name(reduction);
}

std::string weight_note(const Tensor& weight, const char* name = "weight") {
  return weight.defined() ? fmt::format("{}={}", name, to_string(weight.shape())) : std::string();
}

std::string join(const std::string& a, const std::string& b) { return a.empty() ? b : b.empty() ? a : a + ", " + b; }

}  // namespace

// ---- classification

CrossEntropyLoss::CrossEntropyLoss(const F::CrossEntropyOptions& options) : options_(options) {
  options_.weight = weight_buffer(*this, "weight", options.weight);
}
Tensor CrossEntropyLoss::forward(const Tensor& input, const Tensor& target) { return F::cross_entropy(input, target, options_); }
std::string CrossEntropyLoss::extra_repr() const {
  std::string text = join(weight_note(options_.weight), fmt::format("ignore_index={}", options_.ignore_index));
  text = with_reduction(text, options_.reduction);
  if (options_.label_smoothing != 0.0) text += fmt::format(", label_smoothing={}", options_.label_smoothing);
  return text;
}

NLLLoss::NLLLoss(const F::NLLLossOptions& options) : options_(options) {
  options_.weight = weight_buffer(*this, "weight", options.weight);
}
Tensor NLLLoss::forward(const Tensor& input, const Tensor& target) { return F::nll_loss(input, target, options_); }
std::string NLLLoss::extra_repr() const {
  return with_reduction(join(weight_note(options_.weight), fmt::format("ignore_index={}", options_.ignore_index)),
                        options_.reduction);
}

BCELoss::BCELoss(const F::BinaryCrossEntropyOptions& options) : options_(options) {
  options_.weight = weight_buffer(*this, "weight", options.weight);
}
Tensor BCELoss::forward(const Tensor& input, const Tensor& target) {
  return F::binary_cross_entropy(input, target, options_);
}
std::string BCELoss::extra_repr() const { return with_reduction(weight_note(options_.weight), options_.reduction); }

BCEWithLogitsLoss::BCEWithLogitsLoss(const F::BinaryCrossEntropyWithLogitsOptions& options) : options_(options) {
  options_.weight = weight_buffer(*this, "weight", options.weight);
  options_.pos_weight = weight_buffer(*this, "pos_weight", options.pos_weight);
}
Tensor BCEWithLogitsLoss::forward(const Tensor& input, const Tensor& target) {
  return F::binary_cross_entropy_with_logits(input, target, options_);
}
std::string BCEWithLogitsLoss::extra_repr() const {
  return with_reduction(join(weight_note(options_.weight), weight_note(options_.pos_weight, "pos_weight")),
                        options_.reduction);
}

MultiMarginLoss::MultiMarginLoss(const F::MultiMarginLossOptions& options) : options_(options) {
  options_.weight = weight_buffer(*this, "weight", options.weight);
}
Tensor MultiMarginLoss::forward(const Tensor& input, const Tensor& target) {
  return F::multi_margin_loss(input, target, options_);
}
std::string MultiMarginLoss::extra_repr() const {
  return with_reduction(join(fmt::format("p={}, margin={}", options_.p, options_.margin), weight_note(options_.weight)),
                        options_.reduction);
}

CTCLoss::CTCLoss(const F::CTCLossOptions& options) : options_(options) {}
Tensor CTCLoss::forward(const Tensor& log_probs, const Tensor& targets, const Tensor& input_lengths,
                        const Tensor& target_lengths) {
  return F::ctc_loss(log_probs, targets, input_lengths, target_lengths, options_);
}
std::string CTCLoss::extra_repr() const {
  return with_reduction(fmt::format("blank={}", options_.blank), options_.reduction) +
         (options_.zero_infinity ? ", zero_infinity=true" : "");
}

// ---- regression

Tensor MSELoss::forward(const Tensor& input, const Tensor& target) { return F::mse_loss(input, target, reduction_); }
std::string MSELoss::extra_repr() const { return with_reduction("", reduction_); }

Tensor L1Loss::forward(const Tensor& input, const Tensor& target) { return F::l1_loss(input, target, reduction_); }
std::string L1Loss::extra_repr() const { return with_reduction("", reduction_); }

SmoothL1Loss::SmoothL1Loss(const F::SmoothL1LossOptions& options) : options_(options) {
  if (options.beta < 0.0) fail("SmoothL1Loss: beta must be non-negative, got {}", options.beta);
}
Tensor SmoothL1Loss::forward(const Tensor& input, const Tensor& target) {
  return F::smooth_l1_loss(input, target, options_);
}
std::string SmoothL1Loss::extra_repr() const {
  return with_reduction("", options_.reduction) + fmt::format(", beta={}", options_.beta);
}

HuberLoss::HuberLoss(const F::HuberLossOptions& options) : options_(options) {
  if (!(options.delta > 0.0)) fail("HuberLoss: delta must be positive, got {}", options.delta);
}
Tensor HuberLoss::forward(const Tensor& input, const Tensor& target) { return F::huber_loss(input, target, options_); }
std::string HuberLoss::extra_repr() const {
  return with_reduction("", options_.reduction) + fmt::format(", delta={}", options_.delta);
}

Tensor KLDivLoss::forward(const Tensor& input, const Tensor& target) { return F::kl_div(input, target, options_); }
std::string KLDivLoss::extra_repr() const {
  static constexpr const char* kNames[] = {"mean", "sum", "none", "batchmean"};
  return fmt::format("reduction={}, log_target={}", kNames[options_.reduction.kind], options_.log_target);
}

Tensor PoissonNLLLoss::forward(const Tensor& input, const Tensor& target) {
  return F::poisson_nll_loss(input, target, options_);
}
std::string PoissonNLLLoss::extra_repr() const {
  return with_reduction(fmt::format("log_input={}, full={}, eps={}", options_.log_input, options_.full, options_.eps),
                        options_.reduction);
}

// ---- embeddings and ranking

Tensor CosineEmbeddingLoss::forward(const Tensor& input1, const Tensor& input2, const Tensor& target) {
  return F::cosine_embedding_loss(input1, input2, target, options_);
}
std::string CosineEmbeddingLoss::extra_repr() const {
  return with_reduction(fmt::format("margin={}", options_.margin), options_.reduction);
}

Tensor MarginRankingLoss::forward(const Tensor& input1, const Tensor& input2, const Tensor& target) {
  return F::margin_ranking_loss(input1, input2, target, options_);
}
std::string MarginRankingLoss::extra_repr() const {
  return with_reduction(fmt::format("margin={}", options_.margin), options_.reduction);
}

Tensor HingeEmbeddingLoss::forward(const Tensor& input, const Tensor& target) {
  return F::hinge_embedding_loss(input, target, options_);
}
std::string HingeEmbeddingLoss::extra_repr() const {
  return with_reduction(fmt::format("margin={}", options_.margin), options_.reduction);
}

Tensor TripletMarginLoss::forward(const Tensor& anchor, const Tensor& positive, const Tensor& negative) {
  return F::triplet_margin_loss(anchor, positive, negative, options_);
}
std::string TripletMarginLoss::extra_repr() const {
  return with_reduction(fmt::format("margin={}, p={}, eps={}, swap={}", options_.margin, options_.p, options_.eps,
                                    options_.swap),
                        options_.reduction);
}

// ---- distances

Tensor CosineSimilarity::forward(const Tensor& x1, const Tensor& x2) { return F::cosine_similarity(x1, x2, dim_, eps_); }
std::string CosineSimilarity::extra_repr() const { return fmt::format("dim={}, eps={}", dim_, eps_); }

Tensor PairwiseDistance::forward(const Tensor& x1, const Tensor& x2) {
  return F::pairwise_distance(x1, x2, p_, eps_, keepdim_);
}
std::string PairwiseDistance::extra_repr() const { return fmt::format("p={}, eps={}, keepdim={}", p_, eps_, keepdim_); }

}  // namespace nabla::nn
