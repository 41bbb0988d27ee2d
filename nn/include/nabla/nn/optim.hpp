#pragma once
// Optimisers, as torch.optim's: the same names, options, defaults and update formulas. Each holds
// handles to the parameters it updates (in groups: see optimizer.hpp) and per-parameter state
// (momentum buffers, moments). step() reads each parameter's grad() and updates its storage in
// place, without recording on the tape, in one fused loop per parameter. Parameters without a
// gradient (unused in the last backward) are skipped.
//
// Every optimiser is built from a parameter list or from groups, with its options struct or just
// an lr:  nn::Adam(model->parameters(), {.lr = 1e-3, .weight_decay = 1e-4}),  nn::Adam(params, 1e-3).
#include <concepts>
#include <map>
#include <string>
#include <vector>

#include "nabla/nn/optimizer.hpp"

namespace nabla::nn {

// Every optimiser's constructors: from groups or one list, with options or an lr.
#define NABLA_OPTIMIZER_CONSTRUCTORS(Name, Options)                                                       \
  Name(std::vector<ParamGroup> groups, const Options& options);                                          \
  Name(std::vector<Tensor> parameters, const Options& options)                                          \
      : Name(std::vector<ParamGroup>{ParamGroup{std::move(parameters), {}, {}}}, options) {}             \
  Name(std::vector<ParamGroup> groups, double lr) : Name(std::move(groups), Options{.lr = lr}) {}         \
  Name(std::vector<Tensor> parameters, double lr) : Name(std::move(parameters), Options{.lr = lr}) {}

// ---------------------------------------------------------------------------------------------
// SGD

struct SGDOptions {
  double lr = 0.01;
  double momentum = 0.0;
  double dampening = 0.0;
  double weight_decay = 0.0;
  bool nesterov = false;
  bool maximize = false;  // ascend the objective instead of descending it
  template <class F>
  void for_each_option(F&& f) {
    f("lr", lr), f("momentum", momentum), f("dampening", dampening), f("weight_decay", weight_decay);
    f("nesterov", nesterov), f("maximize", maximize);
  }
};

// Stochastic gradient descent with PyTorch's momentum, dampening, Nesterov and L2 weight decay.
class SGD : public Optimizer {
 public:
  NABLA_OPTIMIZER_CONSTRUCTORS(SGD, SGDOptions)
  using Optimizer::step;
  void step() override;
  std::string type_name() const override { return "SGD"; }

 protected:
  void check_options(const ParamGroup& group, size_t group_index) const override;
  std::vector<std::string> buffer_names() const override { return {"step", "momentum_buffer"}; }
};

// ---------------------------------------------------------------------------------------------
// Adam and AdamW

struct AdamOptions {
  double lr = 1e-3;
  double beta1 = 0.9;  // PyTorch's betas[0]
  double beta2 = 0.999;  // PyTorch's betas[1]
  double eps = 1e-8;
  double weight_decay = 0.0;  // Adam: added to the gradient (L2); AdamW: decoupled
  bool amsgrad = false;
  bool maximize = false;
  template <class F>
  void for_each_option(F&& f) {
    f("lr", lr), f("beta1", beta1), f("beta2", beta2), f("eps", eps), f("weight_decay", weight_decay);
    f("amsgrad", amsgrad), f("maximize", maximize);
  }
};

// AdamW's options: Adam's, with PyTorch's AdamW default weight decay of 0.01.
struct AdamWOptions {
  double lr = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 1e-2;
  bool amsgrad = false;
  bool maximize = false;
  template <class F>
  void for_each_option(F&& f) {
    f("lr", lr), f("beta1", beta1), f("beta2", beta2), f("eps", eps), f("weight_decay", weight_decay);
    f("amsgrad", amsgrad), f("maximize", maximize);
  }
};

class Adam : public Optimizer {
 public:
  NABLA_OPTIMIZER_CONSTRUCTORS(Adam, AdamOptions)
  using Optimizer::step;
  void step() override;
  std::string type_name() const override { return decoupled_ ? "AdamW" : "Adam"; }

 protected:
  Adam(std::vector<ParamGroup> groups, std::map<std::string, double> defaults, bool decoupled);
  void check_options(const ParamGroup& group, size_t group_index) const override;
  std::vector<std::string> buffer_names() const override { return {"step", "exp_avg", "exp_avg_sq", "max_exp_avg_sq"}; }

 private:
  bool decoupled_;
};

// Adam with decoupled weight decay (p *= 1 - lr * weight_decay before the Adam update).
class AdamW : public Adam {
 public:
  AdamW(std::vector<ParamGroup> groups, const AdamWOptions& options);
  AdamW(std::vector<Tensor> parameters, const AdamWOptions& options)
      : AdamW(std::vector<ParamGroup>{ParamGroup{std::move(parameters), {}, {}}}, options) {}
  AdamW(std::vector<ParamGroup> groups, double lr) : AdamW(std::move(groups), AdamWOptions{.lr = lr}) {}
  AdamW(std::vector<Tensor> parameters, double lr) : AdamW(std::move(parameters), AdamWOptions{.lr = lr}) {}
  // An explicit nn::AdamOptions{...} is taken as is (its weight_decay defaults to 0). A template,
  // so that a braced {.lr = ...} picks AdamWOptions and its default weight decay of 0.01.
  template <std::same_as<AdamOptions> O>
  AdamW(std::vector<Tensor> parameters, const O& options) : AdamW(std::move(parameters), as_adamw(options)) {}
  template <std::same_as<AdamOptions> O>
  AdamW(std::vector<ParamGroup> groups, const O& options) : AdamW(std::move(groups), as_adamw(options)) {}

 private:
  static AdamWOptions as_adamw(const AdamOptions& o) {
    return {.lr = o.lr, .beta1 = o.beta1, .beta2 = o.beta2, .eps = o.eps, .weight_decay = o.weight_decay,
            .amsgrad = o.amsgrad, .maximize = o.maximize};
  }
};

// ---------------------------------------------------------------------------------------------
// RMSprop

struct RMSpropOptions {
  double lr = 1e-2;
  double alpha = 0.99;
  double eps = 1e-8;
  double weight_decay = 0.0;
  double momentum = 0.0;
  bool centered = false;
  bool maximize = false;
  template <class F>
  void for_each_option(F&& f) {
    f("lr", lr), f("alpha", alpha), f("eps", eps), f("weight_decay", weight_decay), f("momentum", momentum);
    f("centered", centered), f("maximize", maximize);
  }
};

class RMSprop : public Optimizer {
 public:
  NABLA_OPTIMIZER_CONSTRUCTORS(RMSprop, RMSpropOptions)
  using Optimizer::step;
  void step() override;
  std::string type_name() const override { return "RMSprop"; }

 protected:
  void check_options(const ParamGroup& group, size_t group_index) const override;
  std::vector<std::string> buffer_names() const override { return {"square_avg", "grad_avg", "momentum_buffer"}; }
};

// ---------------------------------------------------------------------------------------------
// Adagrad: per-element lr / sqrt(sum of squared gradients).

struct AdagradOptions {
  double lr = 1e-2;
  double lr_decay = 0.0;  // lr / (1 + (step - 1) * lr_decay)
  double weight_decay = 0.0;
  double initial_accumulator_value = 0.0;
  double eps = 1e-10;
  bool maximize = false;
  template <class F>
  void for_each_option(F&& f) {
    f("lr", lr), f("lr_decay", lr_decay), f("weight_decay", weight_decay);
    f("initial_accumulator_value", initial_accumulator_value), f("eps", eps), f("maximize", maximize);
  }
};

class Adagrad : public Optimizer {
 public:
  NABLA_OPTIMIZER_CONSTRUCTORS(Adagrad, AdagradOptions)
  using Optimizer::step;
  void step() override;
  std::string type_name() const override { return "Adagrad"; }

 protected:
  void check_options(const ParamGroup& group, size_t group_index) const override;
  std::vector<std::string> buffer_names() const override { return {"step", "sum"}; }
};

// ---------------------------------------------------------------------------------------------
// Adamax: Adam with the infinity norm in place of the second moment.

struct AdamaxOptions {
  double lr = 2e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0.0;
  bool maximize = false;
  template <class F>
  void for_each_option(F&& f) {
    f("lr", lr), f("beta1", beta1), f("beta2", beta2), f("eps", eps), f("weight_decay", weight_decay);
    f("maximize", maximize);
  }
};

class Adamax : public Optimizer {
 public:
  NABLA_OPTIMIZER_CONSTRUCTORS(Adamax, AdamaxOptions)
  using Optimizer::step;
  void step() override;
  std::string type_name() const override { return "Adamax"; }

 protected:
  void check_options(const ParamGroup& group, size_t group_index) const override;
  std::vector<std::string> buffer_names() const override { return {"step", "exp_avg", "exp_inf"}; }
};

// ---------------------------------------------------------------------------------------------
// NAdam: Adam with Nesterov momentum and PyTorch's momentum decay schedule.

struct NAdamOptions {
  double lr = 2e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0.0;
  double momentum_decay = 4e-3;
  bool decoupled_weight_decay = false;  // p *= 1 - lr * weight_decay (NAdamW), as PyTorch >= 2.1
  bool maximize = false;
  template <class F>
  void for_each_option(F&& f) {
    f("lr", lr), f("beta1", beta1), f("beta2", beta2), f("eps", eps), f("weight_decay", weight_decay);
    f("momentum_decay", momentum_decay), f("decoupled_weight_decay", decoupled_weight_decay), f("maximize", maximize);
  }
};

class NAdam : public Optimizer {
 public:
  NABLA_OPTIMIZER_CONSTRUCTORS(NAdam, NAdamOptions)
  using Optimizer::step;
  void step() override;
  std::string type_name() const override { return "NAdam"; }

 protected:
  void check_options(const ParamGroup& group, size_t group_index) const override;
  std::vector<std::string> buffer_names() const override { return {"step", "mu_product", "exp_avg", "exp_avg_sq"}; }
  std::pair<DType, Shape> buffer_spec(const std::string& name, const Tensor& parameter) const override;
};

// ---------------------------------------------------------------------------------------------
// RAdam: Adam with the variance rectification term (plain momentum SGD while rho_t <= 5).

struct RAdamOptions {
  double lr = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0.0;
  bool decoupled_weight_decay = false;  // p *= 1 - lr * weight_decay (RAdamW), as PyTorch >= 2.1
  bool maximize = false;
  template <class F>
  void for_each_option(F&& f) {
    f("lr", lr), f("beta1", beta1), f("beta2", beta2), f("eps", eps), f("weight_decay", weight_decay);
    f("decoupled_weight_decay", decoupled_weight_decay), f("maximize", maximize);
  }
};

class RAdam : public Optimizer {
 public:
  NABLA_OPTIMIZER_CONSTRUCTORS(RAdam, RAdamOptions)
  using Optimizer::step;
  void step() override;
  std::string type_name() const override { return "RAdam"; }

 protected:
  void check_options(const ParamGroup& group, size_t group_index) const override;
  std::vector<std::string> buffer_names() const override { return {"step", "exp_avg", "exp_avg_sq"}; }
};

// ---------------------------------------------------------------------------------------------
// LBFGS: limited-memory BFGS over all parameters as one flat vector, as torch.optim.LBFGS (one
// group only). Call step(closure); the closure zeroes the gradients, computes the loss, calls
// backward and returns the loss:
//   nn::LBFGS lbfgs(model->parameters(), {.lr = 1, .line_search_fn = "strong_wolfe"});
//   lbfgs.step([&] { lbfgs.zero_grad(); Tensor loss = F::mse_loss(model(x), y); loss.backward(); return loss; });
// The vectors are kept in float64 whatever the parameters' dtype.

struct LBFGSOptions {
  double lr = 1.0;
  int64_t max_iter = 20;  // iterations per step()
  int64_t max_eval = 0;   // closure evaluations per step(); 0 means max_iter * 5 / 4, as PyTorch's None
  double tolerance_grad = 1e-7;    // stop when max |gradient| <= this
  double tolerance_change = 1e-9;  // stop when the loss or the parameters change less than this
  int64_t history_size = 100;
  std::string line_search_fn = "";  // "" (a fixed step of lr) or "strong_wolfe"
  template <class F>
  void for_each_option(F&& f) {
    f("lr", lr), f("max_iter", max_iter), f("max_eval", max_eval), f("tolerance_grad", tolerance_grad);
    f("tolerance_change", tolerance_change), f("history_size", history_size);
  }
};

class LBFGS : public Optimizer {
 public:
  LBFGS(std::vector<Tensor> parameters, const LBFGSOptions& options = {});
  LBFGS(std::vector<ParamGroup> groups, const LBFGSOptions& options = {});
  // LBFGS needs the closure: step() alone throws saying so.
  void step() override;
  Tensor step(const LossClosure& closure) override;
  std::string type_name() const override { return "LBFGS"; }
  // Closure evaluations and iterations over the optimiser's life (PyTorch's func_evals, n_iter).
  int64_t function_evaluations() const { return func_evals_; }
  int64_t iterations() const { return n_iter_; }

 protected:
  void check_options(const ParamGroup& group, size_t group_index) const override;
  std::vector<std::string> buffer_names() const override { return {}; }
  std::map<std::string, Tensor> extra_state() const override;
  void check_extra_state(const std::map<std::string, Tensor>& extra) const override;
  void load_extra_state(const std::map<std::string, Tensor>& extra) override;

 private:
  using Vector = std::vector<double>;
  Vector gather_flat_grad() const;
  void add_to_parameters(double step_size, const Vector& direction);
  Vector parameter_values() const;
  void set_parameter_values(const Vector& values);
  std::pair<double, Vector> directional_evaluate(const LossClosure& closure, const Vector& x, double t,
                                                 const Vector& d);
  int64_t numel() const;

  std::string line_search_fn_;
  // PyTorch's state: everything the next step() continues from.
  int64_t func_evals_ = 0;
  int64_t n_iter_ = 0;
  Vector d_, prev_flat_grad_;
  double t_ = 0.0;
  double h_diag_ = 1.0;
  double prev_loss_ = 0.0;
  std::vector<Vector> old_dirs_, old_stps_;
  std::vector<double> ro_;
  bool has_history_ = false;  // d, t, prev_flat_grad exist (after the first iteration)
};

#undef NABLA_OPTIMIZER_CONSTRUCTORS

}  // namespace nabla::nn
