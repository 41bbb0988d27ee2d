// Schedules made of schedules: SequentialLR (one after another) and ChainedScheduler (all at once).
#include <algorithm>

#include "nabla/nn/scheduler.hpp"

namespace nabla::nn {

namespace {

void check_children(const std::vector<std::shared_ptr<Scheduler>>& schedulers, const Optimizer& optimizer,
                    const char* who) {
  if (schedulers.empty()) fail("{}: needs at least one scheduler", who);
  for (size_t i = 0; i < schedulers.size(); ++i) {
    if (!schedulers[i]) fail("{}: scheduler {} is null", who, i);
    if (&schedulers[i]->optimizer() != &optimizer) {
      fail("{}: scheduler {} belongs to another optimiser; all must schedule the same optimiser", who, i);
    }
  }
}

Optimizer& optimizer_of_first(const std::vector<std::shared_ptr<Scheduler>>& schedulers, const char* who) {
  if (schedulers.empty() || !schedulers[0]) fail("{}: needs at least one scheduler", who);
  return schedulers[0]->optimizer();
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// SequentialLR, as PyTorch's: building it resets the lrs to the groups' initial lrs and runs the
// first schedule's initial step; at each milestone the next schedule starts from its step 0.

SequentialLR::SequentialLR(Optimizer& optimizer, std::vector<std::shared_ptr<Scheduler>> schedulers,
                           std::vector<int64_t> milestones)
    : Scheduler(optimizer), schedulers_(std::move(schedulers)), milestones_(std::move(milestones)) {
  check_children(schedulers_, optimizer, "SequentialLR");
  if (milestones_.size() + 1 != schedulers_.size()) {
    fail("SequentialLR: expects one milestone fewer than schedulers, got {} schedulers and {} milestones",
         schedulers_.size(), milestones_.size());
  }
  for (size_t i = 0; i < milestones_.size(); ++i) {
    if (milestones_[i] < 1 || (i > 0 && milestones_[i] <= milestones_[i - 1])) {
      fail("SequentialLR: milestones must be increasing steps >= 1, got {} at position {}", milestones_[i], i);
    }
  }
  adopt_base_lrs();
  for (size_t g = 0; g < base_lrs_.size(); ++g) optimizer.param_groups()[g].options["lr"] = base_lrs_[g];
  for (const auto& scheduler : schedulers_) scheduler->epoch_ -= 1;  // undo their initial steps
  schedulers_[0]->initial_step();
  epoch_ = 0;
  last_lr_ = schedulers_[0]->last_lr();
}

// Which schedule runs at `epoch`: the number of milestones passed.
size_t SequentialLR::schedule_at(int64_t epoch) const {
  return static_cast<size_t>(std::upper_bound(milestones_.begin(), milestones_.end(), epoch) - milestones_.begin());
}

void SequentialLR::step() {
  ++epoch_;
  const size_t index = schedule_at(epoch_);
  Scheduler& scheduler = *schedulers_[index];
  if (index > 0 && milestones_[index - 1] == epoch_) {
    scheduler.set_epoch(0);  // PyTorch's step(0): the closed form at step 0
  } else {
    scheduler.step();
  }
  last_lr_ = scheduler.last_lr();
}

void SequentialLR::set_epoch(int64_t epoch) {
  if (epoch < 0) fail("SequentialLR::set_epoch: epoch must be non-negative, got {}", epoch);
  const size_t index = schedule_at(epoch);
  Scheduler& scheduler = *schedulers_[index];
  scheduler.set_epoch(index > 0 ? epoch - milestones_[index - 1] : epoch);
  epoch_ = epoch;
  last_lr_ = scheduler.last_lr();
}

// ---------------------------------------------------------------------------------------------
// ChainedScheduler

ChainedScheduler::ChainedScheduler(std::vector<std::shared_ptr<Scheduler>> schedulers)
    : Scheduler(optimizer_of_first(schedulers, "ChainedScheduler")), schedulers_(std::move(schedulers)) {
  check_children(schedulers_, optimizer_, "ChainedScheduler");
  adopt_base_lrs();
  last_lr_ = current_lrs();
}

void ChainedScheduler::step() {
  for (const auto& scheduler : schedulers_) scheduler->step();
  ++epoch_;
  last_lr_ = current_lrs();
}

void ChainedScheduler::set_epoch(int64_t epoch) {
  if (epoch < 0) fail("ChainedScheduler::set_epoch: epoch must be non-negative, got {}", epoch);
  for (size_t g = 0; g < base_lrs_.size(); ++g) optimizer_.param_groups()[g].options["lr"] = base_lrs_[g];
  for (const auto& scheduler : schedulers_) scheduler->initial_step();
  epoch_ = 0;
  for (int64_t e = 0; e < epoch; ++e) step();
  last_lr_ = current_lrs();
}

}  // namespace nabla::nn
