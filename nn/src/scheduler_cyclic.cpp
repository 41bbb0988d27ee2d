// The schedules that cycle: CosineAnnealingWarmRestarts, CyclicLR and OneCycleLR (the last two
// also cycle the momentum, or Adam's beta1, inversely to the lr, as PyTorch's do).
#include <algorithm>
#include <cmath>
#include <numbers>

#include "nabla/nn/scheduler.hpp"

namespace nabla::nn {

namespace {

// The option a schedule cycles as momentum: "momentum" (SGD, RMSprop) or "beta1" (the Adams).
std::string momentum_option(const Optimizer& optimizer, const char* who) {
  if (optimizer.defaults().count("momentum")) return "momentum";
  if (optimizer.defaults().count("beta1")) return "beta1";
  fail("{}: the optimiser ({}) has no momentum or beta1 option to cycle; pass cycle_momentum = false", who,
       optimizer.type_name());
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// CosineAnnealingWarmRestarts

CosineAnnealingWarmRestarts::CosineAnnealingWarmRestarts(Optimizer& optimizer, int64_t t_0, int64_t t_mult,
                                                         double eta_min)
    : Scheduler(optimizer), t_0_(t_0), t_mult_(t_mult), eta_min_(eta_min), t_i_(static_cast<double>(t_0)) {
  if (t_0 < 1) fail("CosineAnnealingWarmRestarts: t_0 must be a positive number of steps, got {}", t_0);
  if (t_mult < 1) fail("CosineAnnealingWarmRestarts: t_mult must be an integer >= 1, got {}", t_mult);
  if (!(eta_min >= 0.0) || !std::isfinite(eta_min)) {
    fail("CosineAnnealingWarmRestarts: eta_min must be finite and >= 0, got {}", eta_min);
  }
  initial_step();
}

std::vector<double> CosineAnnealingWarmRestarts::get_lr() {
  std::vector<double> lrs;
  for (double base : base_lrs_) {
    lrs.push_back(eta_min_ + (base - eta_min_) * (1.0 + std::cos(std::numbers::pi * t_cur_ / t_i_)) / 2.0);
  }
  return lrs;
}

void CosineAnnealingWarmRestarts::step() {
  if (epoch_ < 0) {  // the initial step
    step(0.0);
    return;
  }
  ++epoch_;
  t_cur_ += 1.0;
  if (t_cur_ >= t_i_) {  // a restart
    t_cur_ -= t_i_;
    t_i_ *= static_cast<double>(t_mult_);
  }
  set_lrs(get_lr());
}

// T_cur and T_i at a given (possibly fractional) epoch. PyTorch finds the cycle with a float
// logarithm, which can land one cycle short at exact powers of t_mult; walking the cycles is exact.
void CosineAnnealingWarmRestarts::step(double epoch) {
  if (!(epoch >= 0.0) || !std::isfinite(epoch)) {
    fail("CosineAnnealingWarmRestarts: expected a non-negative epoch, got {}", epoch);
  }
  const double t_0 = static_cast<double>(t_0_);
  if (epoch < t_0) {
    t_i_ = t_0;
    t_cur_ = epoch;
  } else if (t_mult_ == 1) {
    t_i_ = t_0;
    t_cur_ = std::fmod(epoch, t_0);
  } else {
    double start = 0.0, length = t_0;
    while (start + length <= epoch) {
      start += length;
      length *= static_cast<double>(t_mult_);
    }
    t_i_ = length;
    t_cur_ = epoch - start;
  }
  epoch_ = static_cast<int64_t>(std::floor(epoch));
  set_lrs(get_lr());
}

// ---------------------------------------------------------------------------------------------
// CyclicLR

CyclicLR::CyclicLR(Optimizer& optimizer, const CyclicLROptions& options) : Scheduler(optimizer), options_(options) {
  const size_t groups = optimizer.param_groups().size();
  const std::vector<double> base_lrs = options.base_lr.for_groups(groups, "CyclicLR: base_lr");
  max_lrs_ = options.max_lr.for_groups(groups, "CyclicLR: max_lr");
  for (size_t g = 0; g < groups; ++g) {
    if (!(base_lrs[g] >= 0.0) || !std::isfinite(base_lrs[g]) || !(max_lrs_[g] >= 0.0) || !std::isfinite(max_lrs_[g])) {
      fail("CyclicLR: base_lr and max_lr must be finite and >= 0, got {} and {} for group {}", base_lrs[g], max_lrs_[g],
           g);
    }
  }
  if (options.step_size_up < 1) fail("CyclicLR: step_size_up must be >= 1, got {}", options.step_size_up);
  if (options.step_size_down < 0) {
    fail("CyclicLR: step_size_down must be >= 1 (or 0: as step_size_up), got {}", options.step_size_down);
  }
  const double up = static_cast<double>(options.step_size_up);
  const double down = options.step_size_down > 0 ? static_cast<double>(options.step_size_down) : up;
  total_size_ = up + down;
  step_ratio_ = up / total_size_;
  if (!options.scale_fn) {
    if (options.mode != "triangular" && options.mode != "triangular2" && options.mode != "exp_range") {
      fail("CyclicLR: mode must be 'triangular', 'triangular2' or 'exp_range' (or give a scale_fn), got '{}'",
           options.mode);
    }
    // The built-in policies scale by cycle, except exp_range, which decays with every step.
    options_.scale_mode = options.mode == "exp_range" ? "iterations" : "cycle";
  } else if (options.scale_mode != "cycle" && options.scale_mode != "iterations") {
    fail("CyclicLR: scale_mode must be 'cycle' or 'iterations', got '{}'", options.scale_mode);
  }
  if (options.cycle_momentum) {
    const std::string momentum = momentum_option(optimizer, "CyclicLR");
    use_beta1_ = momentum == "beta1";
    const std::vector<double> base_momentums = options.base_momentum.for_groups(groups, "CyclicLR: base_momentum");
    max_momentums_ = options.max_momentum.for_groups(groups, "CyclicLR: max_momentum");
    for (size_t g = 0; g < groups; ++g) optimizer.param_groups()[g].options[momentum] = base_momentums[g];
    base_momentums_ = base_momentums;
  }
  // As PyTorch: the groups start at base_lr, which is also what the schedule counts from.
  for (size_t g = 0; g < groups; ++g) optimizer.param_groups()[g].options["lr"] = base_lrs[g];
  adopt_base_lrs();
  base_lrs_ = base_lrs;
  initial_step();
}

double CyclicLR::scale(double x) const {
  if (options_.scale_fn) return options_.scale_fn(x);
  if (options_.mode == "triangular") return 1.0;
  if (options_.mode == "triangular2") return 1.0 / std::pow(2.0, x - 1.0);
  return std::pow(options_.gamma, x);  // exp_range
}

std::vector<double> CyclicLR::get_lr() {
  const double iteration = static_cast<double>(epoch_);
  const double cycle = std::floor(1.0 + iteration / total_size_);
  const double x = 1.0 + iteration / total_size_ - cycle;
  const double scale_factor = x <= step_ratio_ ? x / step_ratio_ : (x - 1.0) / (step_ratio_ - 1.0);
  const double scaled = scale(options_.scale_mode == "cycle" ? cycle : iteration);
  std::vector<double> lrs;
  for (size_t g = 0; g < base_lrs_.size(); ++g) {
    const double base_height = (max_lrs_[g] - base_lrs_[g]) * scale_factor;
    lrs.push_back(base_lrs_[g] + base_height * scaled);
  }
  if (options_.cycle_momentum) {
    auto& groups = optimizer_.param_groups();
    for (size_t g = 0; g < base_momentums_.size() && g < groups.size(); ++g) {
      const double base_height = (max_momentums_[g] - base_momentums_[g]) * scale_factor;
      groups[g].options[use_beta1_ ? "beta1" : "momentum"] = max_momentums_[g] - base_height * scaled;
    }
  }
  return lrs;
}

// ---------------------------------------------------------------------------------------------
// OneCycleLR

namespace {
enum Anchor { kInitialLr = 0, kMaxLr = 1, kMinLr = 2, kMaxMomentum = 0, kBaseMomentum = 1 };
}  // namespace

OneCycleLR::OneCycleLR(Optimizer& optimizer, const OneCycleLROptions& options)
    : Scheduler(optimizer), options_(options) {
  if (options.total_steps < 0) fail("OneCycleLR: total_steps must be a positive integer, got {}", options.total_steps);
  if (options.total_steps > 0) {
    total_steps_ = options.total_steps;
  } else if (options.epochs != 0 || options.steps_per_epoch != 0) {
    if (options.epochs < 1) fail("OneCycleLR: epochs must be a positive integer, got {}", options.epochs);
    if (options.steps_per_epoch < 1) {
      fail("OneCycleLR: steps_per_epoch must be a positive integer, got {}", options.steps_per_epoch);
    }
    total_steps_ = options.epochs * options.steps_per_epoch;
  } else {
    fail("OneCycleLR: you must define either total_steps or (epochs and steps_per_epoch)");
  }
  const double total = static_cast<double>(total_steps_);
  if (options.three_phase) {
    phases_ = {{options.pct_start * total - 1.0, kInitialLr, kMaxLr, kMaxMomentum, kBaseMomentum},
               {2.0 * options.pct_start * total - 2.0, kMaxLr, kInitialLr, kBaseMomentum, kMaxMomentum},
               {total - 1.0, kInitialLr, kMinLr, kMaxMomentum, kMaxMomentum}};
  } else {
    phases_ = {{options.pct_start * total - 1.0, kInitialLr, kMaxLr, kMaxMomentum, kBaseMomentum},
               {total - 1.0, kMaxLr, kMinLr, kBaseMomentum, kMaxMomentum}};
  }
  if (!(options.pct_start >= 0.0 && options.pct_start <= 1.0)) {
    fail("OneCycleLR: pct_start must be between 0 and 1, got {}", options.pct_start);
  }
  if (options.anneal_strategy != "cos" && options.anneal_strategy != "linear") {
    fail("OneCycleLR: anneal_strategy must be one of 'cos' or 'linear', got '{}'", options.anneal_strategy);
  }
  if (!(options.div_factor > 0.0) || !(options.final_div_factor > 0.0)) {
    fail("OneCycleLR: div_factor and final_div_factor must be > 0, got {} and {}", options.div_factor,
         options.final_div_factor);
  }
  const size_t groups = optimizer.param_groups().size();
  const std::vector<double> max_lrs = options.max_lr.for_groups(groups, "OneCycleLR: max_lr");
  for (double max_lr : max_lrs) {
    if (!(max_lr >= 0.0) || !std::isfinite(max_lr)) fail("OneCycleLR: max_lr must be finite and >= 0, got {}", max_lr);
  }
  std::string momentum;
  std::vector<double> max_momentums, base_momentums;
  if (options.cycle_momentum) {
    momentum = momentum_option(optimizer, "OneCycleLR");
    use_beta1_ = momentum == "beta1";
    max_momentums = options.max_momentum.for_groups(groups, "OneCycleLR: max_momentum");
    base_momentums = options.base_momentum.for_groups(groups, "OneCycleLR: base_momentum");
  }

  // ---- checks done: set the groups up as PyTorch does
  for (size_t g = 0; g < groups; ++g) {
    ParamGroup& group = optimizer.param_groups()[g];
    const double initial_lr = max_lrs[g] / options.div_factor;
    group.initial_lr = initial_lr;
    lr_anchors_.push_back({initial_lr, max_lrs[g], initial_lr / options.final_div_factor});
    if (options.cycle_momentum) {
      group.options[momentum] = max_momentums[g];
      momentum_anchors_.push_back({max_momentums[g], base_momentums[g]});
    }
  }
  initial_step();
}

double OneCycleLR::anneal(double start, double end, double pct) const {
  if (options_.anneal_strategy == "cos") return end + (start - end) / 2.0 * (std::cos(std::numbers::pi * pct) + 1.0);
  return (end - start) * pct + start;
}

std::vector<double> OneCycleLR::get_lr() {
  const double step_num = static_cast<double>(epoch_);
  if (epoch_ > total_steps_) {
    fail("OneCycleLR: tried to step {} times; the specified number of total steps is {} (build the schedule with the "
         "number of batches you train for)",
         epoch_ + 1, total_steps_);
  }
  auto& groups = optimizer_.param_groups();
  std::vector<double> lrs;
  for (size_t g = 0; g < lr_anchors_.size(); ++g) {
    double start_step = 0.0;
    for (size_t i = 0; i < phases_.size(); ++i) {
      const Phase& phase = phases_[i];
      if (step_num <= phase.end_step || i + 1 == phases_.size()) {
        const double pct = (step_num - start_step) / (phase.end_step - start_step);
        lrs.push_back(anneal(lr_anchors_[g][phase.start_lr], lr_anchors_[g][phase.end_lr], pct));
        if (options_.cycle_momentum && g < groups.size()) {
          groups[g].options[use_beta1_ ? "beta1" : "momentum"] =
              anneal(momentum_anchors_[g][phase.start_momentum], momentum_anchors_[g][phase.end_momentum], pct);
        }
        break;
      }
      start_step = phase.end_step;
    }
  }
  return lrs;
}

}  // namespace nabla::nn
