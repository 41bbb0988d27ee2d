#include "nabla/tensor/ctc.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "nabla/tensor/error.hpp"
#include "nabla/tensor/factories.hpp"
#include "nabla/tensor/threads.hpp"

namespace nabla::kernels {

namespace {

constexpr double kNegInf = -std::numeric_limits<double>::infinity();

// log(exp(a) + exp(b) + exp(c)), shifted by the largest so nothing overflows; all -inf gives -inf.
double log_sum3(double a, double b, double c) {
  const double top = std::max({a, b, c});
  if (top == kNegInf) return kNegInf;
  return std::log(std::exp(a - top) + std::exp(b - top) + std::exp(c - top)) + top;
}

double log_add(double a, double b) { return log_sum3(a, b, kNegInf); }

// The checked problem: sizes, where each sample's labels start, and contiguous inputs.
struct CtcProblem {
  int64_t steps = 0, batch = 0, classes = 0;
  int64_t max_target_length = 0;  // the longest target: log_alpha holds 2 * it + 1 states
  std::vector<int64_t> input_lengths, target_lengths, target_offsets;
  Tensor log_probs, targets;

  int64_t states() const { return 2 * max_target_length + 1; }
};

std::vector<int64_t> lengths_of(const Tensor& lengths, int64_t batch, const char* name) {
  if (!lengths.defined() || lengths.dtype() != int64 || lengths.shape() != Shape{batch}) {
    fail("ctc_loss: {} must be int64 of shape [{}] (one length per sample), got {}", name, batch,
         lengths.defined() ? fmt::format("{} {}", lengths.dtype(), lengths.shape()) : std::string("undefined"));
  }
  const Tensor packed = lengths.contiguous();
  const int64_t* values = packed.data<int64_t>();
  return {values, values + batch};
}

CtcProblem check_problem(const Tensor& log_probs, const Tensor& targets, const Tensor& input_lengths,
                         const Tensor& target_lengths, int64_t blank) {
  if (!log_probs.defined() || log_probs.dim() != 3) {
    fail("ctc_loss: log_probs must be [T, N, C] (frames, samples, classes), got {}",
         log_probs.defined() ? to_string(log_probs.shape()) : std::string("undefined"));
  }
  if (!is_floating(log_probs.dtype())) fail("ctc_loss: log_probs must be float32 or float64, got {}", log_probs.dtype());
  CtcProblem p;
  p.steps = log_probs.size(0);
  p.batch = log_probs.size(1);
  p.classes = log_probs.size(2);
  if (blank < 0 || blank >= p.classes) {
    fail("ctc_loss: blank must be in label range [0, {}) (a class of log_probs of shape {}), got {}", p.classes,
         log_probs.shape(), blank);
  }
  p.input_lengths = lengths_of(input_lengths, p.batch, "input_lengths");
  p.target_lengths = lengths_of(target_lengths, p.batch, "target_lengths");
  int64_t total_length = 0;
  for (int64_t b = 0; b < p.batch; ++b) {
    const int64_t in = p.input_lengths[static_cast<size_t>(b)], out = p.target_lengths[static_cast<size_t>(b)];
    if (in < 0 || in > p.steps) {
      fail("ctc_loss: input_lengths must be in [0, T = {}] (T: log_probs' first dimension), got {} for sample {}",
           p.steps, in, b);
    }
    if (out < 0) fail("ctc_loss: target_lengths must be non-negative, got {} for sample {}", out, b);
    p.max_target_length = std::max(p.max_target_length, out);
    total_length += out;
  }
  if (!targets.defined() || targets.dtype() != int64) {
    fail("ctc_loss: targets must be int64 class indices, got {}",
         targets.defined() ? fmt::format("{}", targets.dtype()) : std::string("undefined"));
  }
  p.target_offsets.resize(static_cast<size_t>(p.batch));
  if (targets.dim() == 2) {
    if (targets.size(0) != p.batch || targets.size(1) < p.max_target_length) {
      fail("ctc_loss: padded targets of shape {} must be [N = {}, S] with S at least the longest target length {}",
           targets.shape(), p.batch, p.max_target_length);
    }
    for (int64_t b = 0; b < p.batch; ++b) p.target_offsets[static_cast<size_t>(b)] = b * targets.size(1);
  } else if (targets.dim() == 1) {
    if (targets.size(0) != total_length) {
      fail("ctc_loss: concatenated targets must hold sum(target_lengths) = {} labels, got shape {}", total_length,
           targets.shape());
    }
    int64_t offset = 0;
    for (int64_t b = 0; b < p.batch; ++b) {
      p.target_offsets[static_cast<size_t>(b)] = offset;
      offset += p.target_lengths[static_cast<size_t>(b)];
    }
  } else {
    fail("ctc_loss: targets must be padded [N, S] or the targets concatenated (1-d), got shape {}", targets.shape());
  }
  p.targets = targets.contiguous();
  const int64_t* labels = p.targets.data<int64_t>();
  for (int64_t b = 0; b < p.batch; ++b) {
    const int64_t* sample = labels + p.target_offsets[static_cast<size_t>(b)];
    for (int64_t i = 0; i < p.target_lengths[static_cast<size_t>(b)]; ++i) {
      if (sample[i] < 0 || sample[i] >= p.classes) {
        fail("ctc_loss: target {} of sample {} (label {}) is not a class of log_probs: labels must be in [0, {})",
             sample[i], b, i, p.classes);
      }
    }
  }
  p.log_probs = log_probs.contiguous();
  return p;
}

// One sample's view: its log-probabilities lp(t, c) (stride N * C between frames) and its
// extended labels l'(s).
template <class T>
struct Sample {
  const T* log_probs;  // at frame 0 of this sample
  int64_t frame_stride;
  const int64_t* labels;
  int64_t blank;

  double lp(int64_t t, int64_t c) const { return static_cast<double>(log_probs[t * frame_stride + c]); }
  int64_t label(int64_t s) const { return s % 2 == 0 ? blank : labels[s / 2]; }
};

template <class T>
Sample<T> sample_of(const CtcProblem& p, int64_t b, int64_t blank) {
  return {p.log_probs.data<T>() + b * p.classes, p.batch * p.classes,
          p.targets.data<int64_t>() + p.target_offsets[static_cast<size_t>(b)], blank};
}

// The alpha recursion of one sample into alpha [T, states] (already -inf); returns the loss.
template <class T>
double forward_sample(const Sample<T>& x, int64_t input_length, int64_t target_length, int64_t states, double* alpha) {
  if (input_length == 0) return target_length == 0 ? 0.0 : std::numeric_limits<double>::infinity();
  const int64_t last = 2 * target_length;  // the final blank state
  alpha[0] = x.lp(0, x.blank);
  if (target_length > 0) alpha[1] = x.lp(0, x.label(1));
  for (int64_t t = 1; t < input_length; ++t) {
    const double* previous = alpha + (t - 1) * states;
    double* current = alpha + t * states;
    for (int64_t s = 0; s <= last; ++s) {
      const int64_t label = x.label(s);
      const double stay = previous[s];
      const double advance = s > 0 ? previous[s - 1] : kNegInf;
      const double skip = s > 1 && x.label(s - 2) != label ? previous[s - 2] : kNegInf;
      const double total = log_sum3(stay, advance, skip);
      current[s] = total == kNegInf ? kNegInf : total + x.lp(t, label);
    }
  }
  const double* end = alpha + (input_length - 1) * states;
  return -(target_length == 0 ? end[0] : log_add(end[last], end[last - 1]));
}

// The beta recursion of one sample, folded into grad [T, C] (stride N * C between frames) as it
// goes: per frame, the log-sum of alpha + beta over the states of each class, then the gradient.
template <class T>
void backward_sample(const Sample<T>& x, int64_t input_length, int64_t target_length, int64_t states,
                     const double* alpha, double nll, double grad, int64_t classes, T* out) {
  const int64_t last = 2 * target_length;
  std::vector<double> beta_next(static_cast<size_t>(states), kNegInf), beta(static_cast<size_t>(states), kNegInf);
  std::vector<double> alpha_beta(static_cast<size_t>(classes));  // per class, logsumexp of alpha + beta
  for (int64_t t = input_length - 1; t >= 0; --t) {
    std::fill(alpha_beta.begin(), alpha_beta.end(), kNegInf);
    const double* alpha_t = alpha + t * states;
    for (int64_t s = last; s >= 0; --s) {
      const int64_t label = x.label(s);
      if (t == input_length - 1) {
        beta[static_cast<size_t>(s)] = s >= last - 1 ? x.lp(t, label) : kNegInf;
      } else {
        const double stay = beta_next[static_cast<size_t>(s)];
        const double advance = s < last ? beta_next[static_cast<size_t>(s + 1)] : kNegInf;
        const double skip = s < last - 1 && x.label(s + 2) != label ? beta_next[static_cast<size_t>(s + 2)] : kNegInf;
        const double total = log_sum3(stay, advance, skip);
        beta[static_cast<size_t>(s)] = total == kNegInf ? kNegInf : total + x.lp(t, label);
      }
      const double both = alpha_t[s] + beta[static_cast<size_t>(s)];
      if (both != kNegInf) alpha_beta[static_cast<size_t>(label)] = log_add(alpha_beta[static_cast<size_t>(label)], both);
    }
    T* row = out + t * x.frame_stride;
    for (int64_t c = 0; c < classes; ++c) {
      const double lab = alpha_beta[static_cast<size_t>(c)];
      // No alignment through class c at frame t: no gradient (rather than exp(-inf + inf) when
      // lp is -inf too). An impossible target (nll = inf) gives NaN, as PyTorch's.
      const double value = lab == kNegInf && std::isfinite(nll) ? 0.0 : -std::exp(lab + nll - x.lp(t, c)) * grad;
      row[c] = static_cast<T>(value);
    }
    std::swap(beta, beta_next);
  }
}

}  // namespace

CtcForward ctc_loss_forward(const Tensor& log_probs, const Tensor& targets, const Tensor& input_lengths,
                            const Tensor& target_lengths, int64_t blank, bool zero_infinity) {
  const CtcProblem p = check_problem(log_probs, targets, input_lengths, target_lengths, blank);
  const int64_t states = p.states();
  CtcForward result;
  result.log_alpha = full({p.batch, p.steps, states}, kNegInf, float64);
  std::vector<double> nll(static_cast<size_t>(p.batch));
  dispatch_floating(p.log_probs.dtype(), [&](auto tag) {
    using T = decltype(tag);
    parallel_for(0, p.batch, 1, [&](int64_t lo, int64_t hi) {
      for (int64_t b = lo; b < hi; ++b) {
        double* alpha = result.log_alpha.data<double>() + b * p.steps * states;
        nll[static_cast<size_t>(b)] = forward_sample(sample_of<T>(p, b, blank), p.input_lengths[static_cast<size_t>(b)],
                                                     p.target_lengths[static_cast<size_t>(b)], states, alpha);
      }
    });
  });
  Tensor raw = from_vector(nll, {p.batch}).to(p.log_probs.dtype());
  result.neg_log_likelihood = raw;
  if (zero_infinity) {
    for (double& value : nll) value = std::isinf(value) ? 0.0 : value;
    result.loss = from_vector(nll, {p.batch}).to(p.log_probs.dtype());
  } else {
    result.loss = raw;
  }
  return result;
}

Tensor ctc_loss_backward(const Tensor& grad_in, const Tensor& log_probs, const Tensor& targets,
                         const Tensor& input_lengths, const Tensor& target_lengths, const CtcForward& forward,
                         int64_t blank, bool zero_infinity) {
  const CtcProblem p = check_problem(log_probs, targets, input_lengths, target_lengths, blank);
  if (!grad_in.defined() || grad_in.shape() != Shape{p.batch}) {
    fail("ctc_loss_backward: grad must be [{}] (one value per sample), got {}", p.batch,
         grad_in.defined() ? to_string(grad_in.shape()) : std::string("undefined"));
  }
  const Tensor grad = grad_in.to(float64).contiguous();
  const Tensor nll = forward.neg_log_likelihood.to(float64).contiguous();
  const int64_t states = p.states();
  Tensor result = zeros(p.log_probs.shape(), p.log_probs.dtype());
  dispatch_floating(p.log_probs.dtype(), [&](auto tag) {
    using T = decltype(tag);
    parallel_for(0, p.batch, 1, [&](int64_t lo, int64_t hi) {
      for (int64_t b = lo; b < hi; ++b) {
        const double loss = nll.data<double>()[b];
        const double g = grad.data<double>()[b];
        // Nothing flows back (an unused sample, or one zero_infinity dropped): its column stays 0.
        if (g == 0.0 || (zero_infinity && std::isinf(loss))) continue;
        const double* alpha = forward.log_alpha.data<double>() + b * p.steps * states;
        backward_sample(sample_of<T>(p, b, blank), p.input_lengths[static_cast<size_t>(b)],
                        p.target_lengths[static_cast<size_t>(b)], states, alpha, loss, g, p.classes,
                        result.data<T>() + b * p.classes);
      }
    });
  });
  return result;
}

}  // namespace nabla::kernels
