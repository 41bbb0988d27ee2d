#pragma once
// Learning-rate schedules. Each reads the optimiser's lr when built (the base lr), and step() sets
// the lr for the next epoch (call it once per epoch, after the optimiser's steps), with the same
// sequences as PyTorch's schedulers.
#include <vector>

#include "nabla/nn/optim.hpp"

namespace nabla::nn {

class Scheduler {
 public:
  explicit Scheduler(Optimizer& optimizer);
  virtual ~Scheduler() = default;
  virtual void step();
  int64_t epoch() const { return epoch_; }
  // Jumps to `epoch` (when resuming a run) and sets the optimiser's lr to that epoch's value.
  void set_epoch(int64_t epoch);
  double base_lr() const { return base_lr_; }

 protected:
  // The lr for `epoch` (0 = before any step).
  virtual double lr_at(int64_t epoch) const = 0;
  Optimizer& optimizer_;
  double base_lr_;
  int64_t epoch_ = 0;
};

// lr = base * gamma^(epoch / step_size)
class StepLR : public Scheduler {
 public:
  StepLR(Optimizer& optimizer, int64_t step_size, double gamma = 0.1);

 protected:
  double lr_at(int64_t epoch) const override;

 private:
  int64_t step_size_;
  double gamma_;
};

// lr = base * gamma^(number of milestones <= epoch)
class MultiStepLR : public Scheduler {
 public:
  MultiStepLR(Optimizer& optimizer, std::vector<int64_t> milestones, double gamma = 0.1);

 protected:
  double lr_at(int64_t epoch) const override;

 private:
  std::vector<int64_t> milestones_;
  double gamma_;
};

// lr = eta_min + (base - eta_min) * (1 + cos(pi * epoch / t_max)) / 2
class CosineAnnealingLR : public Scheduler {
 public:
  CosineAnnealingLR(Optimizer& optimizer, int64_t t_max, double eta_min = 0.0);

 protected:
  double lr_at(int64_t epoch) const override;

 private:
  int64_t t_max_;
  double eta_min_;
};

// Linear warm-up: the factor goes from start_factor to 1 over warmup_steps, then stays 1
// (PyTorch's LinearLR with end_factor 1).
class LinearWarmupLR : public Scheduler {
 public:
  LinearWarmupLR(Optimizer& optimizer, int64_t warmup_steps, double start_factor = 1.0 / 3.0);

 protected:
  double lr_at(int64_t epoch) const override;

 private:
  int64_t warmup_steps_;
  double start_factor_;
};

struct ReduceLROnPlateauOptions {
  bool maximize = false;    // false: the metric should go down (a loss)
  double factor = 0.1;      // lr *= factor on a plateau
  int64_t patience = 10;    // epochs without improvement tolerated
  double threshold = 1e-4;  // relative improvement that counts
  int64_t cooldown = 0;     // epochs to wait after a reduction
  double min_lr = 0.0;
};

// Cuts the lr when a metric stops improving; step(metric) once per epoch.
class ReduceLROnPlateau {
 public:
  ReduceLROnPlateau(Optimizer& optimizer, const ReduceLROnPlateauOptions& options = {});
  void step(double metric);
  int64_t bad_epochs() const { return bad_epochs_; }

 private:
  Optimizer& optimizer_;
  ReduceLROnPlateauOptions options_;
  double best_;
  int64_t bad_epochs_ = 0;
  int64_t cooldown_left_ = 0;
};

}  // namespace nabla::nn
