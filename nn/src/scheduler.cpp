#include "nabla/nn/scheduler.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>

namespace nabla::nn {

// Each schedule is a closed form of the epoch, so the lr never drifts from rounding over many
// epochs and a schedule can be resumed by its epoch alone. Constructors set the lr for epoch 0
// (a warm-up starts below the base lr), as PyTorch's schedulers do when built.

Scheduler::Scheduler(Optimizer& optimizer) : optimizer_(optimizer), base_lr_(optimizer.lr()) {}

void Scheduler::step() {
  ++epoch_;
  optimizer_.set_lr(lr_at(epoch_));
}

void Scheduler::set_epoch(int64_t epoch) {
  if (epoch < 0) fail("Scheduler::set_epoch: epoch must be non-negative, got {}", epoch);
  epoch_ = epoch;
  optimizer_.set_lr(lr_at(epoch_));
}

// ---- StepLR

StepLR::StepLR(Optimizer& optimizer, int64_t step_size, double gamma)
    : Scheduler(optimizer), step_size_(step_size), gamma_(gamma) {
  if (step_size < 1) fail("StepLR: step_size must be >= 1 epoch, got {}", step_size);
  if (!(gamma > 0.0) || !std::isfinite(gamma)) fail("StepLR: gamma must be finite and > 0, got {}", gamma);
  optimizer_.set_lr(lr_at(0));
}

double StepLR::lr_at(int64_t epoch) const {
  return base_lr_ * std::pow(gamma_, static_cast<double>(epoch / step_size_));
}

// ---- MultiStepLR

MultiStepLR::MultiStepLR(Optimizer& optimizer, std::vector<int64_t> milestones, double gamma)
    : Scheduler(optimizer), milestones_(std::move(milestones)), gamma_(gamma) {
  if (!(gamma > 0.0) || !std::isfinite(gamma)) fail("MultiStepLR: gamma must be finite and > 0, got {}", gamma);
  for (int64_t milestone : milestones_) {
    if (milestone < 1) fail("MultiStepLR: milestones are epochs >= 1, got {}", milestone);
  }
  // As in PyTorch, order does not matter and a repeated milestone multiplies by gamma once per copy.
  std::sort(milestones_.begin(), milestones_.end());
  optimizer_.set_lr(lr_at(0));
}

double MultiStepLR::lr_at(int64_t epoch) const {
  const auto passed = std::upper_bound(milestones_.begin(), milestones_.end(), epoch) - milestones_.begin();
  return base_lr_ * std::pow(gamma_, static_cast<double>(passed));
}

// ---- CosineAnnealingLR

CosineAnnealingLR::CosineAnnealingLR(Optimizer& optimizer, int64_t t_max, double eta_min)
    : Scheduler(optimizer), t_max_(t_max), eta_min_(eta_min) {
  if (t_max < 1) fail("CosineAnnealingLR: t_max must be >= 1 epoch, got {}", t_max);
  if (!(eta_min >= 0.0) || !std::isfinite(eta_min)) {
    fail("CosineAnnealingLR: eta_min must be finite and >= 0, got {}", eta_min);
  }
  optimizer_.set_lr(lr_at(0));
}

double CosineAnnealingLR::lr_at(int64_t epoch) const {
  const double phase = std::numbers::pi * static_cast<double>(epoch) / static_cast<double>(t_max_);
  return eta_min_ + (base_lr_ - eta_min_) * (1.0 + std::cos(phase)) / 2.0;
}

// ---- LinearWarmupLR

LinearWarmupLR::LinearWarmupLR(Optimizer& optimizer, int64_t warmup_steps, double start_factor)
    : Scheduler(optimizer), warmup_steps_(warmup_steps), start_factor_(start_factor) {
  if (warmup_steps < 1) fail("LinearWarmupLR: warmup_steps must be >= 1, got {}", warmup_steps);
  if (!(start_factor > 0.0 && start_factor <= 1.0)) {
    fail("LinearWarmupLR: start_factor must be in (0, 1], got {}", start_factor);
  }
  optimizer_.set_lr(lr_at(0));
}

double LinearWarmupLR::lr_at(int64_t epoch) const {
  const double progress = static_cast<double>(std::min(epoch, warmup_steps_)) / static_cast<double>(warmup_steps_);
  return base_lr_ * (start_factor_ + (1.0 - start_factor_) * progress);
}

// ---- ReduceLROnPlateau (PyTorch's threshold_mode 'rel')

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
  if (!(options.min_lr >= 0.0) || !std::isfinite(options.min_lr)) {
    fail("ReduceLROnPlateau: min_lr must be finite and >= 0, got {}", options.min_lr);
  }
}

void ReduceLROnPlateau::step(double metric) {
  // A NaN metric never counts as an improvement (every comparison with it is false).
  const bool improved = options_.maximize ? metric > best_ * (1.0 + options_.threshold)
                                          : metric < best_ * (1.0 - options_.threshold);
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
  if (bad_epochs_ > options_.patience) {
    const double old_lr = optimizer_.lr();
    const double new_lr = std::max(old_lr * options_.factor, options_.min_lr);
    // PyTorch's eps: changes smaller than this are not worth making.
    if (old_lr - new_lr > 1e-8) optimizer_.set_lr(new_lr);
    cooldown_left_ = options_.cooldown;
    bad_epochs_ = 0;
  }
}

}  // namespace nabla::nn
