// The Scheduler base and the schedules of one formula (PyTorch's get_lr and _get_closed_form_lr,
// line for line), and ReduceLROnPlateau.
#include "nabla/nn/scheduler.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>

namespace nabla::nn {

namespace {

void check_gamma(double gamma, const char* who) {
  if (!(gamma > 0.0) || !std::isfinite(gamma)) fail("{}: gamma must be finite and > 0, got {}", who, gamma);
}

// Python's a % b for b > 0: never negative.
int64_t floor_mod(int64_t a, int64_t b) { return ((a % b) + b) % b; }

}  // namespace

std::vector<double> PerGroup::for_groups(size_t groups, const std::string& what) const {
  if (values_.empty()) fail("{}: no value given", what);
  if (values_.size() == 1) return std::vector<double>(groups, values_[0]);
  if (values_.size() != groups) {
    fail("{}: expected {} values (one per parameter group), got {}", what, groups, values_.size());
  }
  return values_;
}

// ---------------------------------------------------------------------------------------------
// Scheduler

Scheduler::Scheduler(Optimizer& optimizer) : optimizer_(optimizer) {}

// As PyTorch, the first schedule built on an optimiser records each group's lr as its initial_lr;
// every schedule counts from the initial_lrs, so a second schedule on the same optimiser starts
// from the same base, not from the lr the first one set.
void Scheduler::adopt_base_lrs() {
  base_lrs_.clear();
  for (ParamGroup& group : optimizer_.param_groups()) {
    if (!group.initial_lr) group.initial_lr = group.lr();
    base_lrs_.push_back(*group.initial_lr);
  }
}

std::vector<double> Scheduler::current_lrs() const {
  std::vector<double> lrs;
  for (const ParamGroup& group : optimizer_.param_groups()) lrs.push_back(group.lr());
  return lrs;
}

void Scheduler::set_lrs(const std::vector<double>& lrs) {
  auto& groups = optimizer_.param_groups();
  if (lrs.size() != groups.size() || base_lrs_.size() != groups.size()) {
    fail("{}: the optimiser has {} parameter groups but the schedule was built for {}; build the schedule after "
         "add_param_group",
         name(), groups.size(), base_lrs_.size());
  }
  for (size_t g = 0; g < groups.size(); ++g) {
    // Only finiteness is checked: PyTorch's schedules may go below 0 (OneCycleLR's linear annealing
    // one step past its end) and a step there must not stop a run that PyTorch would finish.
    if (!std::isfinite(lrs[g])) {
      fail("{}: the schedule gives group {} the lr {} at step {}; an lr must be finite", name(), g, lrs[g], epoch_);
    }
    groups[g].options["lr"] = lrs[g];
  }
  last_lr_ = lrs;
}

void Scheduler::step() {
  ++epoch_;
  try {
    set_lrs(get_lr());
  } catch (...) {
    --epoch_;  // a refused step (OneCycleLR past its end) leaves the schedule where it was
    throw;
  }
}

void Scheduler::initial_step() {
  if (base_lrs_.empty()) adopt_base_lrs();
  epoch_ = -1;
  step();
}

void Scheduler::set_epoch(int64_t epoch) {
  if (epoch < 0) fail("{}::set_epoch: epoch must be non-negative, got {}", name(), epoch);
  epoch_ = epoch;
  set_lrs(closed_form_lr());
}

// ---------------------------------------------------------------------------------------------
// LambdaLR and MultiplicativeLR

namespace {
template <class Lambda>
std::vector<Lambda> one_per_group(std::vector<Lambda> lambdas, size_t groups, const char* who) {
  for (const Lambda& lambda : lambdas) {
    if (!lambda) fail("{}: a lambda is empty", who);
  }
  if (lambdas.size() == 1 && groups > 1) lambdas.resize(groups, lambdas[0]);
  if (lambdas.size() != groups) {
    fail("{}: expected {} lr_lambdas (one per parameter group), got {}", who, groups, lambdas.size());
  }
  return lambdas;
}
}  // namespace

LambdaLR::LambdaLR(Optimizer& optimizer, Lambda lr_lambda)
    : LambdaLR(optimizer, std::vector<Lambda>{std::move(lr_lambda)}) {}

LambdaLR::LambdaLR(Optimizer& optimizer, std::vector<Lambda> lr_lambdas)
    : Scheduler(optimizer),
      lr_lambdas_(one_per_group(std::move(lr_lambdas), optimizer.param_groups().size(), "LambdaLR")) {
  initial_step();
}

std::vector<double> LambdaLR::get_lr() {
  std::vector<double> lrs;
  for (size_t g = 0; g < base_lrs_.size(); ++g) lrs.push_back(base_lrs_[g] * lr_lambdas_[g](epoch_));
  return lrs;
}

MultiplicativeLR::MultiplicativeLR(Optimizer& optimizer, Lambda lr_lambda)
    : MultiplicativeLR(optimizer, std::vector<Lambda>{std::move(lr_lambda)}) {}

MultiplicativeLR::MultiplicativeLR(Optimizer& optimizer, std::vector<Lambda> lr_lambdas)
    : Scheduler(optimizer),
      lr_lambdas_(one_per_group(std::move(lr_lambdas), optimizer.param_groups().size(), "MultiplicativeLR")) {
  initial_step();
}

std::vector<double> MultiplicativeLR::get_lr() {
  std::vector<double> lrs = current_lrs();
  if (epoch_ > 0) {
    for (size_t g = 0; g < lrs.size(); ++g) lrs[g] *= lr_lambdas_[g](epoch_);
  }
  return lrs;
}

std::vector<double> MultiplicativeLR::closed_form_lr() {
  std::vector<double> lrs = base_lrs_;
  for (size_t g = 0; g < lrs.size(); ++g) {
    for (int64_t e = 1; e <= epoch_; ++e) lrs[g] *= lr_lambdas_[g](e);
  }
  return lrs;
}

// ---------------------------------------------------------------------------------------------
// StepLR

StepLR::StepLR(Optimizer& optimizer, int64_t step_size, double gamma)
    : Scheduler(optimizer), step_size_(step_size), gamma_(gamma) {
  if (step_size < 1) fail("StepLR: step_size must be >= 1 epoch, got {}", step_size);
  check_gamma(gamma, "StepLR");
  initial_step();
}

std::vector<double> StepLR::get_lr() {
  std::vector<double> lrs = current_lrs();
  if (epoch_ == 0 || epoch_ % step_size_ != 0) return lrs;
  for (double& lr : lrs) lr *= gamma_;
  return lrs;
}

std::vector<double> StepLR::closed_form_lr() {
  std::vector<double> lrs;
  for (double base : base_lrs_) lrs.push_back(base * std::pow(gamma_, static_cast<double>(epoch_ / step_size_)));
  return lrs;
}

// ---------------------------------------------------------------------------------------------
// MultiStepLR

MultiStepLR::MultiStepLR(Optimizer& optimizer, std::vector<int64_t> milestones, double gamma)
    : Scheduler(optimizer), milestones_(std::move(milestones)), gamma_(gamma) {
  check_gamma(gamma, "MultiStepLR");
  for (int64_t milestone : milestones_) {
    if (milestone < 1) fail("MultiStepLR: milestones are epochs >= 1, got {}", milestone);
  }
  // As in PyTorch, order does not matter and a repeated milestone multiplies by gamma once per copy.
  std::sort(milestones_.begin(), milestones_.end());
  initial_step();
}

std::vector<double> MultiStepLR::get_lr() {
  std::vector<double> lrs = current_lrs();
  const auto copies = std::count(milestones_.begin(), milestones_.end(), epoch_);
  if (copies == 0) return lrs;
  for (double& lr : lrs) lr *= std::pow(gamma_, static_cast<double>(copies));
  return lrs;
}

std::vector<double> MultiStepLR::closed_form_lr() {
  const auto passed = std::upper_bound(milestones_.begin(), milestones_.end(), epoch_) - milestones_.begin();
  std::vector<double> lrs;
  for (double base : base_lrs_) lrs.push_back(base * std::pow(gamma_, static_cast<double>(passed)));
  return lrs;
}

// ---------------------------------------------------------------------------------------------
// ConstantLR

ConstantLR::ConstantLR(Optimizer& optimizer, double factor, int64_t total_iters)
    : Scheduler(optimizer), factor_(factor), total_iters_(total_iters) {
  // 0 would make the recursive form divide by zero at total_iters.
  if (!(factor > 0.0 && factor <= 1.0)) fail("ConstantLR: factor must be in (0, 1], got {}", factor);
  if (total_iters < 0) fail("ConstantLR: total_iters must be >= 0, got {}", total_iters);
  initial_step();
}

std::vector<double> ConstantLR::get_lr() {
  std::vector<double> lrs = current_lrs();
  if (epoch_ == 0) {
    for (double& lr : lrs) lr *= factor_;
  } else if (epoch_ == total_iters_) {
    for (double& lr : lrs) lr *= 1.0 / factor_;
  }
  return lrs;
}

std::vector<double> ConstantLR::closed_form_lr() {
  std::vector<double> lrs;
  for (double base : base_lrs_) lrs.push_back(base * (factor_ + (epoch_ >= total_iters_ ? 1.0 - factor_ : 0.0)));
  return lrs;
}

// ---------------------------------------------------------------------------------------------
// LinearLR and LinearWarmupLR

LinearLR::LinearLR(Optimizer& optimizer, double start_factor, double end_factor, int64_t total_iters)
    : Scheduler(optimizer), start_factor_(start_factor), end_factor_(end_factor), total_iters_(total_iters) {
  if (!(start_factor > 0.0 && start_factor <= 1.0)) {
    fail("LinearLR: start_factor must be in (0, 1], got {}", start_factor);
  }
  if (!(end_factor >= 0.0 && end_factor <= 1.0)) fail("LinearLR: end_factor must be in [0, 1], got {}", end_factor);
  if (total_iters < 1) fail("LinearLR: total_iters must be >= 1, got {}", total_iters);
  initial_step();
}

std::vector<double> LinearLR::get_lr() {
  std::vector<double> lrs = current_lrs();
  if (epoch_ == 0) {
    for (double& lr : lrs) lr *= start_factor_;
    return lrs;
  }
  if (epoch_ > total_iters_) return lrs;
  const double change = end_factor_ - start_factor_;
  const double ratio =
      1.0 + change / (static_cast<double>(total_iters_) * start_factor_ + static_cast<double>(epoch_ - 1) * change);
  for (double& lr : lrs) lr *= ratio;
  return lrs;
}

std::vector<double> LinearLR::closed_form_lr() {
  const double progress =
      static_cast<double>(std::min(total_iters_, epoch_)) / static_cast<double>(total_iters_);
  std::vector<double> lrs;
  for (double base : base_lrs_) lrs.push_back(base * (start_factor_ + (end_factor_ - start_factor_) * progress));
  return lrs;
}

namespace {
int64_t checked_warmup_steps(int64_t warmup_steps, double start_factor) {
  if (warmup_steps < 1) fail("LinearWarmupLR: warmup_steps must be >= 1, got {}", warmup_steps);
  if (!(start_factor > 0.0 && start_factor <= 1.0)) {
    fail("LinearWarmupLR: start_factor must be in (0, 1], got {}", start_factor);
  }
  return warmup_steps;
}
}  // namespace

LinearWarmupLR::LinearWarmupLR(Optimizer& optimizer, int64_t warmup_steps, double start_factor)
    : LinearLR(optimizer, start_factor, 1.0, checked_warmup_steps(warmup_steps, start_factor)) {}

// ---------------------------------------------------------------------------------------------
// ExponentialLR

ExponentialLR::ExponentialLR(Optimizer& optimizer, double gamma) : Scheduler(optimizer), gamma_(gamma) {
  check_gamma(gamma, "ExponentialLR");
  initial_step();
}

std::vector<double> ExponentialLR::get_lr() {
  std::vector<double> lrs = current_lrs();
  if (epoch_ == 0) return lrs;
  for (double& lr : lrs) lr *= gamma_;
  return lrs;
}

std::vector<double> ExponentialLR::closed_form_lr() {
  std::vector<double> lrs;
  for (double base : base_lrs_) lrs.push_back(base * std::pow(gamma_, static_cast<double>(epoch_)));
  return lrs;
}

// ---------------------------------------------------------------------------------------------
// PolynomialLR

PolynomialLR::PolynomialLR(Optimizer& optimizer, int64_t total_iters, double power)
    : Scheduler(optimizer), total_iters_(total_iters), power_(power) {
  if (total_iters < 1) fail("PolynomialLR: total_iters must be >= 1, got {}", total_iters);
  if (!(power >= 0.0) || !std::isfinite(power)) fail("PolynomialLR: power must be finite and >= 0, got {}", power);
  initial_step();
}

std::vector<double> PolynomialLR::get_lr() {
  std::vector<double> lrs = current_lrs();
  if (epoch_ == 0 || epoch_ > total_iters_) return lrs;
  const double total = static_cast<double>(total_iters_);
  const double decay =
      std::pow((1.0 - static_cast<double>(epoch_) / total) / (1.0 - static_cast<double>(epoch_ - 1) / total), power_);
  for (double& lr : lrs) lr *= decay;
  return lrs;
}

std::vector<double> PolynomialLR::closed_form_lr() {
  const double progress = static_cast<double>(std::min(total_iters_, epoch_)) / static_cast<double>(total_iters_);
  std::vector<double> lrs;
  for (double base : base_lrs_) lrs.push_back(base * std::pow(1.0 - progress, power_));
  return lrs;
}

// ---------------------------------------------------------------------------------------------
// CosineAnnealingLR

CosineAnnealingLR::CosineAnnealingLR(Optimizer& optimizer, int64_t t_max, double eta_min)
    : Scheduler(optimizer), t_max_(t_max), eta_min_(eta_min) {
  if (t_max < 1) fail("CosineAnnealingLR: t_max must be >= 1 epoch, got {}", t_max);
  if (!(eta_min >= 0.0) || !std::isfinite(eta_min)) {
    fail("CosineAnnealingLR: eta_min must be finite and >= 0, got {}", eta_min);
  }
  initial_step();
}

// The recursive form: the ratio of consecutive closed forms applied to lr - eta_min, except right
// after each minimum (where the ratio's denominator is 0): there the step back up is added.
std::vector<double> CosineAnnealingLR::get_lr() {
  std::vector<double> lrs = current_lrs();
  if (epoch_ == 0) return lrs;
  const double pi = std::numbers::pi;
  const double t_max = static_cast<double>(t_max_);
  if (floor_mod(epoch_ - 1 - t_max_, 2 * t_max_) == 0) {
    for (size_t g = 0; g < lrs.size(); ++g) lrs[g] += (base_lrs_[g] - eta_min_) * (1.0 - std::cos(pi / t_max)) / 2.0;
    return lrs;
  }
  const double ratio = (1.0 + std::cos(pi * static_cast<double>(epoch_) / t_max)) /
                       (1.0 + std::cos(pi * static_cast<double>(epoch_ - 1) / t_max));
  for (double& lr : lrs) lr = ratio * (lr - eta_min_) + eta_min_;
  return lrs;
}

std::vector<double> CosineAnnealingLR::closed_form_lr() {
  const double phase = std::numbers::pi * static_cast<double>(epoch_) / static_cast<double>(t_max_);
  std::vector<double> lrs;
  for (double base : base_lrs_) lrs.push_back(eta_min_ + (base - eta_min_) * (1.0 + std::cos(phase)) / 2.0);
  return lrs;
}

// ---------------------------------------------------------------------------------------------
// ReduceLROnPlateau

ReduceLROnPlateau::ReduceLROnPlateau(Optimizer& optimizer, const ReduceLROnPlateauOptions& options)
    : optimizer_(optimizer),
      options_(options),
      best_(options.maximize ? -std::numeric_limits<double>::infinity() : std::numeric_limits<double>::infinity()) {
  if (!(options.factor >= 0.0 && options.factor < 1.0)) {
    fail("ReduceLROnPlateau: factor must be in [0, 1) so the lr goes down, got {}", options.factor);
  }
  if (options.patience < 0) fail("ReduceLROnPlateau: patience must be >= 0 epochs, got {}", options.patience);
  if (!(options.threshold >= 0.0) || !std::isfinite(options.threshold)) {
    fail("ReduceLROnPlateau: threshold must be finite and >= 0, got {}", options.threshold);
  }
  if (options.cooldown < 0) fail("ReduceLROnPlateau: cooldown must be >= 0 epochs, got {}", options.cooldown);
  min_lrs_ = options.min_lr.for_groups(optimizer.param_groups().size(), "ReduceLROnPlateau: min_lr");
  for (double min_lr : min_lrs_) {
    if (!(min_lr >= 0.0) || !std::isfinite(min_lr)) {
      fail("ReduceLROnPlateau: min_lr must be finite and >= 0, got {}", min_lr);
    }
  }
  for (const ParamGroup& group : optimizer.param_groups()) last_lr_.push_back(group.lr());
}

void ReduceLROnPlateau::step(double metric) {
  // A NaN metric never counts as an improvement (every comparison with it is false).
  bool improved = false;
  if (options_.threshold_abs) {
    improved = options_.maximize ? metric > best_ + options_.threshold : metric < best_ - options_.threshold;
  } else {
    improved = options_.maximize ? metric > best_ * (1.0 + options_.threshold)
                                 : metric < best_ * (1.0 - options_.threshold);
  }
  if (improved) {
    best_ = metric;
    bad_epochs_ = 0;
  } else {
    ++bad_epochs_;
  }
  if (cooldown_left_ > 0) {
    --cooldown_left_;
    bad_epochs_ = 0;  // epochs in cooldown don't count towards patience
  }
  auto& groups = optimizer_.param_groups();
  if (groups.size() != min_lrs_.size()) {
    fail("ReduceLROnPlateau: the optimiser has {} parameter groups but the schedule was built for {}", groups.size(),
         min_lrs_.size());
  }
  if (bad_epochs_ > options_.patience) {
    for (size_t g = 0; g < groups.size(); ++g) {
      const double old_lr = groups[g].lr();
      const double new_lr = std::max(old_lr * options_.factor, min_lrs_[g]);
      if (old_lr - new_lr > options_.eps) groups[g].options["lr"] = new_lr;
    }
    cooldown_left_ = options_.cooldown;
    bad_epochs_ = 0;
  }
  last_lr_.clear();
  for (const ParamGroup& group : groups) last_lr_.push_back(group.lr());
}

}  // namespace nabla::nn
