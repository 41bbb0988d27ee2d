// ctc_loss as one recorded op (the alpha/beta kernels of nabla/tensor/ctc.hpp), and the same
// recursion with differentiable ops for references and second derivatives.
#include "nabla/autograd/ctc.hpp"

#include <algorithm>
#include <limits>
#include <vector>

#include "nabla/autograd/detail/recompute.hpp"
#include "nabla/autograd/factories.hpp"
#include "nabla/autograd/functions.hpp"
#include "nabla/autograd/node.hpp"
#include "nabla/tensor/ctc.hpp"

namespace nabla {

namespace {

// One sample's call ([T, C] log_probs) as a batch of one; `one_sample` says to drop the batch
// axis from the result again.
struct CtcBatch {
  Tensor log_probs, targets, input_lengths, target_lengths;
  bool one_sample = false;
};

CtcBatch as_batch(const Tensor& log_probs, const Tensor& targets, const Tensor& input_lengths,
                  const Tensor& target_lengths) {
  if (!log_probs.defined() || !targets.defined() || !input_lengths.defined() || !target_lengths.defined()) {
    fail("ctc_loss: log_probs, targets, input_lengths and target_lengths must all be defined");
  }
  if (log_probs.dim() != 2) return {log_probs, targets, input_lengths, target_lengths, false};
  auto one_length = [](const Tensor& lengths, const char* name) {
    if (lengths.numel() != 1 || lengths.dim() > 1) {
      fail("ctc_loss: for one sample (log_probs [T, C]) {} must hold one length (shape [] or [1]), got shape {}", name,
           lengths.shape());
    }
    return lengths.reshape({1});
  };
  if (targets.dim() != 1) {
    fail("ctc_loss: for one sample (log_probs [T, C]) targets must be 1-d [S], got shape {}", targets.shape());
  }
  return {log_probs.unsqueeze(1), targets.unsqueeze(0), one_length(input_lengths, "input_lengths"),
          one_length(target_lengths, "target_lengths"), true};
}

// none: the [N] losses (0-d for one sample); sum; mean: each divided by its target length (at
// least 1), then averaged.
Tensor reduce_losses(const Tensor& losses, const CtcBatch& batch, Reduction reduction) {
  switch (reduction) {
    case Reduction::none: return batch.one_sample ? losses.reshape({}) : losses;
    case Reduction::sum: return sum(losses);
    case Reduction::mean: return mean(losses / clamp_min(batch.target_lengths.to(losses.dtype()), 1.0));
  }
  return losses;
}

Tensor composite_losses(const Tensor& log_probs, const Tensor& targets, const Tensor& input_lengths,
                        const Tensor& target_lengths, int64_t blank, bool zero_infinity);

}  // namespace

Tensor ctc_loss(const Tensor& log_probs, const Tensor& targets, const Tensor& input_lengths,
                const Tensor& target_lengths, int64_t blank, Reduction reduction, bool zero_infinity) {
  const CtcBatch batch = as_batch(log_probs, targets, input_lengths, target_lengths);
  kernels::CtcForward forward = kernels::ctc_loss_forward(batch.log_probs.raw(), batch.targets.raw(),
                                                          batch.input_lengths.raw(), batch.target_lengths.raw(), blank,
                                                          zero_infinity);
  kernels::Tensor losses = forward.loss;
  const Tensor recorded = record(
      "ctc_loss", {batch.log_probs}, std::move(losses),
      [saved = save(batch.log_probs), targets = batch.targets.detach(), input_lengths = batch.input_lengths.detach(),
       target_lengths = batch.target_lengths.detach(), forward = std::move(forward), blank,
       zero_infinity](const Tensor& grad, const NeedsInputGrad& needs_input_grad) {
        if (is_grad_enabled()) {
          // A graph of this backward is being recorded: differentiate the composite instead.
          auto composite = [targets, input_lengths, target_lengths, blank, zero_infinity](const std::vector<Tensor>& in) {
            return std::vector<Tensor>{composite_losses(in[0], targets, input_lengths, target_lengths, blank, zero_infinity)};
          };
          return detail::recompute_gradients("ctc_loss", composite, {saved.get()}, {grad}, needs_input_grad);
        }
        return Gradients{Tensor(kernels::ctc_loss_backward(grad.raw(), saved->raw(), targets.raw(), input_lengths.raw(),
                                                           target_lengths.raw(), forward, blank, zero_infinity))};
      });
  return reduce_losses(recorded, batch, reduction);
}

Tensor ctc_loss_composite(const Tensor& log_probs, const Tensor& targets, const Tensor& input_lengths,
                          const Tensor& target_lengths, int64_t blank, Reduction reduction, bool zero_infinity) {
  const CtcBatch batch = as_batch(log_probs, targets, input_lengths, target_lengths);
  return reduce_losses(
      composite_losses(batch.log_probs, batch.targets, batch.input_lengths, batch.target_lengths, blank, zero_infinity),
      batch, reduction);
}

namespace {

// Stands for log(0) in the composite: exp of it is exactly 0 beside any reachable state, and a
// logsumexp of nothing but it is finite, so its gradient is 0, never NaN.
constexpr double kImpossible = -1e30;

Tensor composite_losses(const Tensor& log_probs, const Tensor& targets, const Tensor& input_lengths,
                        const Tensor& target_lengths, int64_t blank, bool zero_infinity) {
  // The kernel checks the call and says which samples no alignment fits (their loss is inf).
  const kernels::CtcForward reference = kernels::ctc_loss_forward(log_probs.raw(), targets.raw(), input_lengths.raw(),
                                                                  target_lengths.raw(), blank, false);
  const int64_t steps = log_probs.size(0), batch = log_probs.size(1);
  if (steps == 0) return Tensor(zero_infinity ? kernels::zeros_like(reference.loss) : reference.loss);  // no frames, no gradient
  const std::vector<int64_t> inputs = input_lengths.to_vector<int64_t>();
  const std::vector<int64_t> lengths = target_lengths.to_vector<int64_t>();
  const std::vector<int64_t> labels = targets.contiguous().to_vector<int64_t>();
  const int64_t longest = lengths.empty() ? 0 : *std::max_element(lengths.begin(), lengths.end());
  const int64_t states = 2 * longest + 1;

  // Per sample: the extended labels (blank, l1, blank, ..., blank, then blanks as padding), where a
  // state may be entered by skipping the blank before it, where the recursion starts and ends.
  std::vector<int64_t> extended(static_cast<size_t>(batch * states), blank), last(static_cast<size_t>(batch)),
      before_last(static_cast<size_t>(batch));
  std::vector<uint8_t> may_skip(static_cast<size_t>(batch * states), 0), starts(static_cast<size_t>(batch * states), 0),
      has_before_last(static_cast<size_t>(batch)), empty_input(static_cast<size_t>(batch)),
      impossible(static_cast<size_t>(batch));
  const std::vector<double> reference_loss = Tensor(reference.neg_log_likelihood).to_vector<double>();
  int64_t offset = 0;
  for (int64_t b = 0; b < batch; ++b) {
    const size_t n = static_cast<size_t>(b);
    const int64_t length = lengths[n];
    const int64_t first = targets.dim() == 2 ? b * targets.size(1) : offset;
    offset += length;
    for (int64_t i = 0; i < length; ++i) extended[static_cast<size_t>(b * states + 2 * i + 1)] = labels[static_cast<size_t>(first + i)];
    for (int64_t s = 2; s <= 2 * length; ++s) {
      const size_t k = static_cast<size_t>(b * states + s);
      may_skip[k] = extended[k] != blank && extended[k] != extended[k - 2];
    }
    starts[static_cast<size_t>(b * states)] = 1;
    if (length > 0) starts[static_cast<size_t>(b * states + 1)] = 1;
    last[n] = 2 * length;
    before_last[n] = std::max<int64_t>(2 * length - 1, 0);
    has_before_last[n] = length > 0;
    empty_input[n] = inputs[n] == 0;
    impossible[n] = reference_loss[n] == std::numeric_limits<double>::infinity();
  }
  const Tensor extended_labels = from_vector(extended, {batch, states});
  const Tensor skip_mask = from_vector(may_skip, {batch, states});
  auto padding = [&](int64_t width) { return full({batch, width}, kImpossible, log_probs.dtype()); };

  Tensor alpha = where(from_vector(starts, {batch, states}), gather(log_probs.select(0, 0), 1, extended_labels), kImpossible);
  for (int64_t t = 1; t < steps; ++t) {
    const Tensor stay = alpha;
    const Tensor advance = cat({padding(1), alpha.narrow(1, 0, states - 1)}, 1);
    const Tensor skip = states > 2 ? where(skip_mask, cat({padding(2), alpha.narrow(1, 0, states - 2)}, 1), kImpossible)
                                   : padding(states);
    const Tensor next = logsumexp(stack({stay, advance, skip}, 0), {0}) + gather(log_probs.select(0, t), 1, extended_labels);
    // Frames past a sample's input length leave its alpha as it was.
    alpha = where(unsqueeze(gt(input_lengths, t), 1), next, alpha);
  }
  const Tensor at_last = gather(alpha, 1, from_vector(last, {batch, 1}));
  const Tensor at_before_last =
      where(from_vector(has_before_last, {batch, 1}), gather(alpha, 1, from_vector(before_last, {batch, 1})), kImpossible);
  Tensor losses = neg(logsumexp(cat({at_last, at_before_last}, 1), {1}));
  // No frames: the empty target has probability 1; any other is impossible (and caught below).
  losses = where(from_vector(empty_input, {batch}), 0.0, losses);
  return where(from_vector(impossible, {batch}), zero_infinity ? 0.0 : std::numeric_limits<double>::infinity(), losses);
}

}  // namespace

}  // namespace nabla
