#pragma once
// Learning-rate schedules, as torch.optim.lr_scheduler's: the same names, arguments, defaults and
// sequences. A schedule sets the lr of every parameter group, each from its own base lr (the
// group's lr when the first schedule was built on the optimiser: ParamGroup::initial_lr).
//
// step() advances the schedule by one step: call it once per epoch or once per batch, whichever
// unit the schedule's arguments count in (OneCycleLR and CyclicLR count batches by nature;
// epoch() is the number of step() calls, PyTorch's last_epoch). Building a schedule sets the lrs
// for step 0, as PyTorch's do.
//
// As in PyTorch, step() uses each schedule's chainable (recursive) form, which multiplies the lr
// the group has now, so that schedules compose (ChainedScheduler) and an lr changed by hand is
// followed; set_epoch() jumps with the closed form of the base lr (to resume a run).
#include <array>
#include <functional>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include "nabla/nn/optim.hpp"

namespace nabla::nn {

// One value for every parameter group, or one per group: .max_lr = 0.1 or .max_lr = {0.1, 0.01}.
class PerGroup {
 public:
  PerGroup() = default;
  PerGroup(double value) : values_{value} {}  // NOLINT(google-explicit-constructor)
  PerGroup(std::initializer_list<double> values) : values_(values) {}
  PerGroup(std::vector<double> values) : values_(std::move(values)) {}  // NOLINT(google-explicit-constructor)
  bool empty() const { return values_.empty(); }
  // The value of each of `groups` groups; throws naming `what` when the count does not match.
  std::vector<double> for_groups(size_t groups, const std::string& what) const;

 private:
  std::vector<double> values_;
};

class Scheduler {
 public:
  explicit Scheduler(Optimizer& optimizer);
  virtual ~Scheduler() = default;
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  // Advances one step and sets every group's lr for it.
  virtual void step();
  // The number of step() calls so far (PyTorch's last_epoch).
  int64_t epoch() const { return epoch_; }
  // Jumps to `epoch` (when resuming a run) and sets every group's lr to that epoch's value.
  virtual void set_epoch(int64_t epoch);
  // The first group's base lr, and every group's.
  double base_lr() const { return base_lrs_.front(); }
  const std::vector<double>& base_lrs() const { return base_lrs_; }
  // The lrs the last step set (PyTorch's get_last_lr()).
  const std::vector<double>& last_lr() const { return last_lr_; }
  Optimizer& optimizer() const { return optimizer_; }

 protected:
  // PyTorch's get_lr(): every group's lr for epoch_ (just advanced), from the lrs the groups have
  // now (the chainable form). May change other options (momentum, for the cyclic schedules).
  virtual std::vector<double> get_lr() = 0;
  // PyTorch's _get_closed_form_lr(): every group's lr at epoch_ from its base lr. By default
  // get_lr() (right for schedules that are not recursive).
  virtual std::vector<double> closed_form_lr() { return get_lr(); }
  // PyTorch's _initial_step(): the lrs of step 0. Each schedule's constructor ends with it, after
  // its checks (a refused schedule leaves the optimiser as it was); it adopts the base lrs first
  // unless the schedule chose its own.
  void initial_step();
  // base_lrs() := every group's initial_lr, set to its lr where the group has none yet.
  void adopt_base_lrs();
  // Sets every group's lr (and last_lr()).
  void set_lrs(const std::vector<double>& lrs);
  // The lr each group has now.
  std::vector<double> current_lrs() const;
  // The name for messages ("StepLR").
  virtual std::string name() const = 0;

  Optimizer& optimizer_;
  std::vector<double> base_lrs_;
  int64_t epoch_ = 0;
  std::vector<double> last_lr_;

  friend class SequentialLR;
  friend class ChainedScheduler;
};

// lr = lambda(epoch) * base lr: one function for every group, or one per group.
class LambdaLR : public Scheduler {
 public:
  using Lambda = std::function<double(int64_t epoch)>;
  LambdaLR(Optimizer& optimizer, Lambda lr_lambda);
  LambdaLR(Optimizer& optimizer, std::vector<Lambda> lr_lambdas);

 protected:
  std::vector<double> get_lr() override;
  std::string name() const override { return "LambdaLR"; }

 private:
  std::vector<Lambda> lr_lambdas_;
};

// lr *= lambda(epoch) each step (from epoch 1).
class MultiplicativeLR : public Scheduler {
 public:
  using Lambda = std::function<double(int64_t epoch)>;
  MultiplicativeLR(Optimizer& optimizer, Lambda lr_lambda);
  MultiplicativeLR(Optimizer& optimizer, std::vector<Lambda> lr_lambdas);

 protected:
  std::vector<double> get_lr() override;
  std::vector<double> closed_form_lr() override;  // base lr * lambda(1) * ... * lambda(epoch)
  std::string name() const override { return "MultiplicativeLR"; }

 private:
  std::vector<Lambda> lr_lambdas_;
};

// lr = base * gamma^(epoch / step_size)
class StepLR : public Scheduler {
 public:
  StepLR(Optimizer& optimizer, int64_t step_size, double gamma = 0.1);

 protected:
  std::vector<double> get_lr() override;
  std::vector<double> closed_form_lr() override;
  std::string name() const override { return "StepLR"; }

 private:
  int64_t step_size_;
  double gamma_;
};

// lr = base * gamma^(number of milestones <= epoch)
class MultiStepLR : public Scheduler {
 public:
  MultiStepLR(Optimizer& optimizer, std::vector<int64_t> milestones, double gamma = 0.1);

 protected:
  std::vector<double> get_lr() override;
  std::vector<double> closed_form_lr() override;
  std::string name() const override { return "MultiStepLR"; }

 private:
  std::vector<int64_t> milestones_;  // sorted; a repeated milestone counts once per copy
  double gamma_;
};

// lr = base * factor until epoch total_iters, then base.
class ConstantLR : public Scheduler {
 public:
  ConstantLR(Optimizer& optimizer, double factor = 1.0 / 3.0, int64_t total_iters = 5);

 protected:
  std::vector<double> get_lr() override;
  std::vector<double> closed_form_lr() override;
  std::string name() const override { return "ConstantLR"; }

 private:
  double factor_;
  int64_t total_iters_;
};

// The factor goes linearly from start_factor to end_factor over total_iters epochs, then stays.
class LinearLR : public Scheduler {
 public:
  LinearLR(Optimizer& optimizer, double start_factor = 1.0 / 3.0, double end_factor = 1.0, int64_t total_iters = 5);

 protected:
  std::vector<double> get_lr() override;
  std::vector<double> closed_form_lr() override;
  std::string name() const override { return "LinearLR"; }

  double start_factor_;
  double end_factor_;
  int64_t total_iters_;
};

// Linear warm-up: LinearLR with end_factor 1 over warmup_steps.
class LinearWarmupLR : public LinearLR {
 public:
  LinearWarmupLR(Optimizer& optimizer, int64_t warmup_steps, double start_factor = 1.0 / 3.0);

 protected:
  std::string name() const override { return "LinearWarmupLR"; }
};

// lr = base * gamma^epoch
class ExponentialLR : public Scheduler {
 public:
  ExponentialLR(Optimizer& optimizer, double gamma);

 protected:
  std::vector<double> get_lr() override;
  std::vector<double> closed_form_lr() override;
  std::string name() const override { return "ExponentialLR"; }

 private:
  double gamma_;
};

// lr = base * (1 - min(epoch, total_iters) / total_iters)^power
class PolynomialLR : public Scheduler {
 public:
  PolynomialLR(Optimizer& optimizer, int64_t total_iters = 5, double power = 1.0);

 protected:
  std::vector<double> get_lr() override;
  std::vector<double> closed_form_lr() override;
  std::string name() const override { return "PolynomialLR"; }

 private:
  int64_t total_iters_;
  double power_;
};

// lr = eta_min + (base - eta_min) * (1 + cos(pi * epoch / t_max)) / 2
class CosineAnnealingLR : public Scheduler {
 public:
  CosineAnnealingLR(Optimizer& optimizer, int64_t t_max, double eta_min = 0.0);

 protected:
  std::vector<double> get_lr() override;
  std::vector<double> closed_form_lr() override;
  std::string name() const override { return "CosineAnnealingLR"; }

 private:
  int64_t t_max_;
  double eta_min_;
};

// Cosine annealing with warm restarts (SGDR): lr = eta_min + (base - eta_min) * (1 + cos(pi *
// T_cur / T_i)) / 2, where T_cur counts the steps since the last restart and T_i, the length of the
// current cycle, starts at t_0 and is multiplied by t_mult at each restart.
class CosineAnnealingWarmRestarts : public Scheduler {
 public:
  CosineAnnealingWarmRestarts(Optimizer& optimizer, int64_t t_0, int64_t t_mult = 1, double eta_min = 0.0);
  void step() override;
  // PyTorch's step(epoch) with a fractional epoch: per-batch use as `step(epoch + i / iters)`.
  void step(double epoch);
  void set_epoch(int64_t epoch) override { step(static_cast<double>(epoch)); }
  double t_cur() const { return t_cur_; }
  double t_i() const { return t_i_; }

 protected:
  std::vector<double> get_lr() override;
  std::string name() const override { return "CosineAnnealingWarmRestarts"; }

 private:
  int64_t t_0_;
  int64_t t_mult_;
  double eta_min_;
  double t_i_;
  double t_cur_ = -1.0;
};

struct CyclicLROptions {
  PerGroup base_lr = {};  // the lower bound of the cycle (required); the groups' lrs are set to it
  PerGroup max_lr = {};   // the upper bound (required)
  int64_t step_size_up = 2000;
  int64_t step_size_down = 0;        // 0: the same as step_size_up (PyTorch's None)
  std::string mode = "triangular";  // "triangular", "triangular2" or "exp_range"
  double gamma = 1.0;               // exp_range's gamma^iterations
  std::function<double(double)> scale_fn = nullptr;  // a custom policy; mode is then ignored
  std::string scale_mode = "cycle";        // what a custom scale_fn receives: "cycle" or "iterations"
  bool cycle_momentum = true;  // cycle the momentum (or beta1) inversely to the lr
  PerGroup base_momentum = 0.8;
  PerGroup max_momentum = 0.9;
};

// The cyclical learning rate policy (CLR): the lr goes between base_lr and max_lr in cycles of
// step_size_up + step_size_down steps (call step() after each batch).
class CyclicLR : public Scheduler {
 public:
  CyclicLR(Optimizer& optimizer, const CyclicLROptions& options);

 protected:
  std::vector<double> get_lr() override;
  std::string name() const override { return "CyclicLR"; }

 private:
  double scale(double x) const;
  CyclicLROptions options_;
  std::vector<double> max_lrs_;
  double total_size_;
  double step_ratio_;
  bool use_beta1_ = false;
  std::vector<double> base_momentums_, max_momentums_;
};

struct OneCycleLROptions {
  PerGroup max_lr = {};  // required
  int64_t total_steps = 0;      // or epochs * steps_per_epoch when 0
  int64_t epochs = 0;
  int64_t steps_per_epoch = 0;
  double pct_start = 0.3;               // the share of the steps spent increasing the lr
  std::string anneal_strategy = "cos";  // "cos" or "linear"
  bool cycle_momentum = true;           // cycle the momentum (or beta1) inversely to the lr
  PerGroup base_momentum = 0.85;
  PerGroup max_momentum = 0.95;
  double div_factor = 25.0;        // initial lr = max_lr / div_factor
  double final_div_factor = 1e4;   // minimum lr = initial lr / final_div_factor
  bool three_phase = false;        // up, down to the initial lr, then to the minimum
};

// The 1cycle policy: the lr rises from max_lr / div_factor to max_lr, then falls far below the
// start; call step() after each batch, total_steps times.
class OneCycleLR : public Scheduler {
 public:
  OneCycleLR(Optimizer& optimizer, const OneCycleLROptions& options);
  int64_t total_steps() const { return total_steps_; }

 protected:
  std::vector<double> get_lr() override;
  std::string name() const override { return "OneCycleLR"; }

 private:
  struct Phase {
    double end_step;
    int start_lr, end_lr, start_momentum, end_momentum;  // indices into a group's anchors
  };
  double anneal(double start, double end, double pct) const;
  OneCycleLROptions options_;
  int64_t total_steps_;
  std::vector<Phase> phases_;
  // Per group: {initial_lr, max_lr, min_lr} and {max_momentum, base_momentum}.
  std::vector<std::array<double, 3>> lr_anchors_;
  std::vector<std::array<double, 2>> momentum_anchors_;
  bool use_beta1_ = false;
};

// Runs `schedulers` one after another: the first until milestones[0], the next until
// milestones[1], and so on; each starts from its own step 0 at its milestone.
class SequentialLR : public Scheduler {
 public:
  SequentialLR(Optimizer& optimizer, std::vector<std::shared_ptr<Scheduler>> schedulers,
               std::vector<int64_t> milestones);
  void step() override;
  void set_epoch(int64_t epoch) override;

 protected:
  std::vector<double> get_lr() override { return current_lrs(); }
  std::string name() const override { return "SequentialLR"; }

 private:
  size_t schedule_at(int64_t epoch) const;
  std::vector<std::shared_ptr<Scheduler>> schedulers_;
  std::vector<int64_t> milestones_;
};

// Steps every scheduler at each step(), in order: their chainable forms compose (a warm-up times
// a decay).
class ChainedScheduler : public Scheduler {
 public:
  explicit ChainedScheduler(std::vector<std::shared_ptr<Scheduler>> schedulers);
  void step() override;
  // Replays the schedules from their start (they are recursive, so there is no closed form).
  void set_epoch(int64_t epoch) override;

 protected:
  std::vector<double> get_lr() override { return current_lrs(); }
  std::string name() const override { return "ChainedScheduler"; }

 private:
  std::vector<std::shared_ptr<Scheduler>> schedulers_;
};

struct ReduceLROnPlateauOptions {
  bool maximize = false;      // false: the metric should go down (PyTorch's mode "min")
  double factor = 0.1;        // lr *= factor on a plateau
  int64_t patience = 10;      // epochs without improvement tolerated
  double threshold = 1e-4;    // the improvement that counts
  bool threshold_abs = false; // false: relative to the best (PyTorch's threshold_mode "rel"); true: "abs"
  int64_t cooldown = 0;       // epochs to wait after a reduction
  PerGroup min_lr = 0.0;      // one for every group, or one per group
  double eps = 1e-8;          // changes smaller than this are not made
};

// Cuts every group's lr when a metric stops improving; step(metric) once per epoch.
class ReduceLROnPlateau {
 public:
  ReduceLROnPlateau(Optimizer& optimizer, const ReduceLROnPlateauOptions& options = {});
  void step(double metric);
  int64_t bad_epochs() const { return bad_epochs_; }
  const std::vector<double>& last_lr() const { return last_lr_; }

 private:
  Optimizer& optimizer_;
  ReduceLROnPlateauOptions options_;
  std::vector<double> min_lrs_;
  double best_;
  int64_t bad_epochs_ = 0;
  int64_t cooldown_left_ = 0;
  std::vector<double> last_lr_;
};

}  // namespace nabla::nn
