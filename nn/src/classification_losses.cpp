// Classification losses: cross_entropy (class indices through the fused rows op, probabilities
// composed), nll_loss, binary cross-entropy from probabilities and from logits, multi_margin_loss.
// PyTorch's semantics throughout, weights and ignore_index included.
#include <cmath>
#include <vector>

#include "loss_support.hpp"
#include "nabla/nn/losses.hpp"

namespace nabla::nn::functional {

namespace detail {

bool check_class_range(const Tensor& target, int64_t classes, int64_t ignore_index, const char* op) {
  bool any_ignored = false;
  const std::vector<int64_t> values = target.contiguous().to_vector<int64_t>();
  for (size_t i = 0; i < values.size(); ++i) {
    const int64_t t = values[i];
    if (t == ignore_index) {
      any_ignored = true;
    } else if (t < 0 || t >= classes) {
      fail("{}: target contains class {}, but the scores have {} classes (valid: 0 to {}, or ignore_index {}); first "
           "at flat position {}",
           op, t, classes, classes - 1, ignore_index, i);
    }
  }
  return any_ignored;
}

}  // namespace detail

namespace {

using detail::check_class_weight;
using detail::reduce;

// The class axis: 1 for [N, C, d...], 0 for one sample [C].
int64_t class_axis(const Tensor& scores) { return scores.dim() == 1 ? 0 : 1; }

// Class-index targets for scores [N, C, d...] (target [N, d...]) or [C] (target []).
void check_class_targets(const Tensor& scores, const Tensor& target, const char* op) {
  if (!scores.defined() || scores.dim() < 1) {
    fail("{}: scores must be [N, C], [N, C, d...] or one sample [C], got {}", op,
         scores.defined() ? to_string(scores.shape()) : std::string("undefined"));
  }
  if (!is_floating(scores.dtype())) fail("{}: scores must be float32 or float64, got {}", op, scores.dtype());
  if (!target.defined() || target.dtype() != int64) {
    fail("{}: target must be int64 class indices, got {}", op,
         target.defined() ? fmt::format("{} of shape {}", target.dtype(), target.shape()) : std::string("undefined"));
  }
  Shape expected = scores.shape();
  expected.erase(class_axis(scores));
  if (target.shape() != expected) {
    fail("{}: target of shape {} does not match scores of shape {} (expected target shape {}; scores are [N, C], "
         "[N, C, d...] or one sample [C])",
         op, target.shape(), scores.shape(), expected);
  }
}

// Moves the class axis last and flattens: [N, C, d...] -> [N*d..., C], target -> [N*d...]; one
// sample [C] becomes one row.
std::pair<Tensor, Tensor> as_rows(const Tensor& scores, const Tensor& target) {
  if (scores.dim() == 1) return {scores.unsqueeze(0), target.reshape({1})};
  if (scores.dim() == 2) return {scores, target};
  Dims order{0};
  for (int64_t i = 2; i < scores.dim(); ++i) order.push_back(i);
  order.push_back(1);
  return {reshape(permute(scores, order), {-1, scores.shape()[1]}), target.reshape({-1})};
}

Tensor shaped_like_target(const Tensor& loss, const Tensor& target, Reduction reduction) {
  return reduction == Reduction::none ? reshape(loss, target.shape()) : loss;
}

// Ignored targets replaced by class 0 (so that they can index), and the rows' validity as 1/0 in `dtype`.
struct MaskedTargets {
  Tensor safe;   // int64, the target's shape
  Tensor valid;  // dtype, the target's shape
};
MaskedTargets mask_ignored(const Tensor& target, int64_t ignore_index, DType dtype) {
  std::vector<int64_t> safe = target.contiguous().to_vector<int64_t>();
  std::vector<double> valid(safe.size(), 1.0);
  for (size_t i = 0; i < safe.size(); ++i) {
    if (safe[i] == ignore_index) {
      safe[i] = 0;
      valid[i] = 0.0;
    }
  }
  return {from_vector(safe, target.shape()), from_vector(valid, target.shape()).to(dtype)};
}

// The weight of each target's class (0 where ignored), the target's shape.
Tensor target_weights(const MaskedTargets& targets, const Tensor& weight) {
  if (!weight.defined()) return targets.valid;
  return index_select(weight, 0, targets.safe.reshape({-1})).reshape(targets.safe.shape()) * targets.valid;
}

// weight [C] shaped to broadcast along the class axis of scores.
Tensor along_classes(const Tensor& weight, const Tensor& scores) {
  Shape shape = Dims::filled(scores.dim(), 1);
  shape[class_axis(scores)] = weight.size(0);
  return weight.reshape(shape);
}

// PyTorch's cross_entropy_loss_prob_target.
Tensor cross_entropy_probabilities(const Tensor& logits, const Tensor& target, const CrossEntropyOptions& options) {
  if (options.ignore_index >= 0) {
    fail("cross_entropy: ignore_index is not supported for floating point target (class probabilities), got "
         "ignore_index {}",
         options.ignore_index);
  }
  const int64_t axis = class_axis(logits);
  const int64_t classes = logits.size(axis);
  const Tensor log_probs = log_softmax(logits, axis);
  const Tensor smoothed = options.label_smoothing > 0.0
                              ? target * (1.0 - options.label_smoothing) + options.label_smoothing / static_cast<double>(classes)
                              : target;
  Tensor product = log_probs * smoothed;
  if (options.weight.defined()) product = product * along_classes(options.weight, logits);
  switch (options.reduction) {
    case Reduction::none: return neg(sum(product, {axis}));
    case Reduction::sum: return neg(sum(product));
    case Reduction::mean: {
      // Per position (N * d...), not per element; no positions: 0 / 0 = NaN.
      const double positions = classes == 0 ? 0.0 : static_cast<double>(logits.numel() / classes);
      return neg(sum(product)) / positions;
    }
  }
  return product;
}

// PyTorch's composed cross_entropy (log_softmax, nll_loss and the smoothing term): what the fused
// op computes, for a weight that requires grad.
Tensor cross_entropy_composed(const Tensor& logits, const Tensor& target, const CrossEntropyOptions& options) {
  const int64_t axis = class_axis(logits);
  const Tensor log_probs = log_softmax(logits, axis);
  const Tensor nll = nll_loss(log_probs, target, {options.weight, options.ignore_index, options.reduction});
  if (options.label_smoothing == 0.0) return nll;
  const MaskedTargets targets = mask_ignored(target, options.ignore_index, logits.dtype());
  const Tensor weighted = options.weight.defined() ? log_probs * along_classes(options.weight, logits) : log_probs;
  const Tensor smooth = neg(sum(weighted, {axis})) * targets.valid;
  Tensor smooth_loss;
  switch (options.reduction) {
    case Reduction::none: smooth_loss = smooth; break;
    case Reduction::sum: smooth_loss = sum(smooth); break;
    case Reduction::mean: smooth_loss = sum(smooth) / sum(target_weights(targets, options.weight)); break;
  }
  const double classes = static_cast<double>(logits.size(axis));
  return nll * (1.0 - options.label_smoothing) + smooth_loss * (options.label_smoothing / classes);
}

}  // namespace

Tensor nll_loss(const Tensor& log_probs, const Tensor& target, const NLLLossOptions& options) {
  check_class_targets(log_probs, target, "nll_loss");
  const int64_t classes = log_probs.size(class_axis(log_probs));
  check_class_weight(options.weight, classes, "nll_loss");
  const bool any_ignored = detail::check_class_range(target, classes, options.ignore_index, "nll_loss");
  auto [rows, flat_target] = as_rows(log_probs, target);
  if (!options.weight.defined() && !any_ignored) {
    const Tensor picked = squeeze(gather(rows, 1, flat_target.unsqueeze(1)), 1);
    return shaped_like_target(reduce(neg(picked), options.reduction), target, options.reduction);
  }
  const MaskedTargets targets = mask_ignored(flat_target, options.ignore_index, rows.dtype());
  const Tensor picked = squeeze(gather(rows, 1, targets.safe.unsqueeze(1)), 1);
  const Tensor weights = target_weights(targets, options.weight);
  const Tensor losses = neg(picked) * weights;
  switch (options.reduction) {
    case Reduction::none: return reshape(losses, target.shape());
    case Reduction::sum: return sum(losses);
    case Reduction::mean: return sum(losses) / sum(weights);  // all ignored: 0 / 0 = NaN, as PyTorch's
  }
  return losses;
}

Tensor nll_loss(const Tensor& log_probs, const Tensor& target, Reduction reduction) {
  return nll_loss(log_probs, target, NLLLossOptions{.reduction = reduction});
}

Tensor cross_entropy(const Tensor& logits, const Tensor& target, const CrossEntropyOptions& options) {
  if (!(options.label_smoothing >= 0.0 && options.label_smoothing < 1.0)) {
    fail("cross_entropy: label_smoothing must be in [0, 1), got {}", options.label_smoothing);
  }
  if (logits.defined() && target.defined() && logits.dim() >= 1 && target.shape() == logits.shape()) {
    // Targets of the logits' shape are class probabilities, as PyTorch decides.
    if (!is_floating(target.dtype())) {
      fail("cross_entropy: expected floating point type for target with class probabilities (the logits' shape {}), "
           "got {}",
           logits.shape(), target.dtype());
    }
    if (!is_floating(logits.dtype())) fail("cross_entropy: logits must be float32 or float64, got {}", logits.dtype());
    check_class_weight(options.weight, logits.size(class_axis(logits)), "cross_entropy");
    return cross_entropy_probabilities(logits, target, options);
  }
  check_class_targets(logits, target, "cross_entropy");
  check_class_weight(options.weight, logits.size(class_axis(logits)), "cross_entropy");
  if (options.weight.defined() && options.weight.requires_grad() && is_grad_enabled()) {
    return cross_entropy_composed(logits, target, options);
  }
  auto [rows, flat_target] = as_rows(logits, target);
  // One fused op (it checks the classes as it reads them), reduced inside: no separate mean (and
  // mean backward) per training step.
  const Tensor loss = cross_entropy_rows(rows, flat_target, options.label_smoothing, options.reduction, options.weight,
                                         options.ignore_index);
  return shaped_like_target(loss, target, options.reduction);
}

Tensor binary_cross_entropy(const Tensor& probs, const Tensor& target, const BinaryCrossEntropyOptions& options) {
  detail::check_floating(probs, "binary_cross_entropy", "input");
  detail::check_defined(target, "binary_cross_entropy", "target");
  if (probs.shape() != target.shape()) {
    fail("binary_cross_entropy: input of shape {} and target of shape {} differ; please ensure they have the same size",
         probs.shape(), target.shape());
  }
  detail::check_weight_broadcasts(options.weight, probs.shape(), "binary_cross_entropy", "weight");
  if (probs.numel() > 0 && (nabla::min(probs.raw()).item<double>() < 0.0 || nabla::max(probs.raw()).item<double>() > 1.0)) {
    fail("binary_cross_entropy: inputs must be probabilities in [0, 1] (apply sigmoid, or use "
         "binary_cross_entropy_with_logits)");
  }
  // log is floored near -100 (as PyTorch does) so p = 0 or 1 gives a finite loss and gradient.
  const double floor = std::exp(-100.0);
  const Tensor log_p = log(maximum(probs, floor));
  const Tensor log_not_p = log(maximum(1.0 - probs, floor));
  Tensor loss = neg(target * log_p + (1.0 - target) * log_not_p);
  if (options.weight.defined()) loss = loss * options.weight;
  return reduce(loss, options.reduction);
}

Tensor binary_cross_entropy(const Tensor& probs, const Tensor& target, Reduction reduction) {
  return binary_cross_entropy(probs, target, BinaryCrossEntropyOptions{.reduction = reduction});
}

namespace {

// log(1 + exp(-z)), stably and smooth at 0 (its slope there is -1/2, as the true function's): each
// branch is evaluated where it cannot overflow, its argument clamped to the side it serves.
Tensor softplus_of_negated(const Tensor& z) {
  const Tensor for_positive = log(exp(neg(clamp_min(z, 0.0))) + 1.0);
  const Tensor for_negative = log(exp(clamp_max(z, 0.0)) + 1.0) - z;
  return where(ge(z, 0.0), for_positive, for_negative);
}

}  // namespace

Tensor binary_cross_entropy_with_logits(const Tensor& logits, const Tensor& target,
                                        const BinaryCrossEntropyWithLogitsOptions& options) {
  const char* op = "binary_cross_entropy_with_logits";
  detail::check_floating(logits, op, "input");
  detail::check_defined(target, op, "target");
  if (logits.shape() != target.shape()) {
    fail("{}: target size {} must be the same as input size {}", op, target.shape(), logits.shape());
  }
  detail::check_weight_broadcasts(options.weight, logits.shape(), op, "weight");
  detail::check_weight_broadcasts(options.pos_weight, logits.shape(), op, "pos_weight");
  // (1 - y) z + log(1 + exp(-z)), the log term weighted by 1 + (pos_weight - 1) y.
  const Tensor log_term = softplus_of_negated(logits);
  Tensor loss = options.pos_weight.defined() ? (1.0 - target) * logits + ((options.pos_weight - 1.0) * target + 1.0) * log_term
                                             : (1.0 - target) * logits + log_term;
  if (options.weight.defined()) loss = loss * options.weight;
  return reduce(loss, options.reduction);
}

Tensor binary_cross_entropy_with_logits(const Tensor& logits, const Tensor& target, Reduction reduction) {
  return binary_cross_entropy_with_logits(logits, target, BinaryCrossEntropyWithLogitsOptions{.reduction = reduction});
}

Tensor multi_margin_loss(const Tensor& input, const Tensor& target, const MultiMarginLossOptions& options) {
  const char* op = "multi_margin_loss";
  if (options.p != 1 && options.p != 2) fail("{}: only p == 1 and p == 2 supported, got p = {}", op, options.p);
  detail::check_floating(input, op, "input");
  const bool valid_input = (input.dim() == 2 && input.size(1) != 0) || (input.dim() == 1 && input.size(0) != 0) ||
                           input.dim() == 0;
  if (!valid_input) {
    fail("{}: expected a non-empty vector [C] or matrix [N, C] (N may be 0), got shape {}", op, input.shape());
  }
  const Tensor scores = input.dim() == 2 ? input : input.reshape({1, -1});
  const int64_t samples = scores.size(0), classes = scores.size(1);
  if (!target.defined() || target.dtype() != int64) {
    fail("{}: target must be int64 class indices, got {}", op,
         target.defined() ? fmt::format("{}", target.dtype()) : std::string("undefined"));
  }
  if (target.dim() > 1 || target.numel() != samples) {
    fail("{}: inconsistent target size, got: {} for input of shape {} (expected [{}])", op, target.shape(),
         input.shape(), samples);
  }
  check_class_weight(options.weight, classes, op);
  const std::vector<int64_t> classes_of = target.contiguous().to_vector<int64_t>();
  for (size_t i = 0; i < classes_of.size(); ++i) {
    if (classes_of[i] < 0 || classes_of[i] >= classes) {
      fail("{}: target out of range: class {} at position {}, for {} classes", op, classes_of[i], i, classes);
    }
  }
  const Tensor column = target.reshape({samples, 1});
  const Tensor at_target = gather(scores, 1, column);  // [N, 1]
  // Every class but the target's: margin - x[t] + x[j], hinged (and squared for p = 2).
  const Tensor others(kernels::scatter_add(kernels::ones({samples, classes}, scores.dtype()), 1, column.raw(),
                                           kernels::full({samples, 1}, -1.0, scores.dtype())));
  Tensor hinge = relu(scores - at_target + options.margin);
  if (options.p == 2) hinge = hinge * hinge;
  hinge = hinge * others;
  if (options.weight.defined()) hinge = hinge * index_select(options.weight, 0, target.reshape({-1})).unsqueeze(1);
  const Tensor losses = sum(hinge, {1}) / static_cast<double>(classes);
  return options.reduction == Reduction::none ? losses.reshape(target.shape()) : reduce(losses, options.reduction);
}

}  // namespace nabla::nn::functional
