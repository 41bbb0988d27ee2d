#pragma once
// The base of every optimiser: parameter groups (torch.optim's param_groups), per-parameter state,
// step(closure), and state()/load_state() for resuming exactly.
//
// An optimiser takes either one list of parameters, all with the options it was given:
//   nn::SGD optimizer(model->parameters(), {.lr = 0.1, .momentum = 0.9});
// or several groups, each with options of its own; an option a group does not give takes the
// optimiser's value (PyTorch's per-parameter options):
//   nn::SGD optimizer({{.params = model->features->parameters()},
//                      {.params = model->classifier->parameters(), .options = {{"lr", 1e-3}}}},
//                     {.lr = 1e-2, .momentum = 0.9});
// Options are named as the fields of the optimiser's options struct ("lr", "momentum", "beta1",
// "weight_decay", ...); flags ("nesterov", "amsgrad") are 0 or 1. After construction every group
// holds every option, and param_groups() lets a schedule (or you) change them between steps,
// exactly as PyTorch's `optimizer.param_groups[i]['lr'] = ...`.
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "nabla/autograd.hpp"

namespace nabla::nn {

// One group of parameters with its own options.
struct ParamGroup {
  std::vector<Tensor> params = {};
  // Options by name; absent ones take the optimiser's default when the group is added.
  std::map<std::string, double> options = {};
  // The lr a schedule counts from (PyTorch's 'initial_lr'): set by the first scheduler built on
  // the optimiser, so that later schedulers (and SequentialLR) start from the same base.
  std::optional<double> initial_lr = std::nullopt;

  double lr() const { return option("lr"); }
  void set_lr(double lr) { set_option("lr", lr); }
  // The option's value; throws naming the options the group has when `name` is not one of them.
  double option(const std::string& name) const;
  // Changes an option the group has (it is checked at the next step()); refuses unknown names.
  void set_option(const std::string& name, double value);
  bool has_option(const std::string& name) const { return options.count(name) != 0; }
};

// Re-evaluates the model and returns the loss (zero the gradients and call backward inside).
using LossClosure = std::function<Tensor()>;

class Optimizer {
 public:
  virtual ~Optimizer() = default;
  Optimizer(const Optimizer&) = delete;
  Optimizer& operator=(const Optimizer&) = delete;

  virtual void step() = 0;
  // PyTorch's step(closure): runs the closure with gradients enabled, then steps, and returns the
  // closure's loss. LBFGS evaluates it several times per step; the others once.
  virtual Tensor step(const LossClosure& closure);
  // Sets every parameter's gradient back to undefined.
  void zero_grad();

  // ---- groups and options
  std::vector<ParamGroup>& param_groups() { return groups_; }
  const std::vector<ParamGroup>& param_groups() const { return groups_; }
  // Adds a group after construction (PyTorch's add_param_group): its options default to the
  // optimiser's, its parameters must not be in another group.
  void add_param_group(ParamGroup group);
  // The options every group falls back to (the options struct the optimiser was built with).
  const std::map<std::string, double>& defaults() const { return defaults_; }
  // The first group's lr (the lr, when there is one group; param_groups() for the others).
  double lr() const;
  // Sets every group's lr.
  void set_lr(double lr);
  // Every group's parameters, in order: parameter i in state() is parameters()[i].
  const std::vector<Tensor>& parameters() const { return parameters_; }
  virtual std::string type_name() const = 0;

  // All state needed to resume exactly, as named tensors:
  //   "type" (the type_name bytes), "step", "parameters" (count), "groups" (count),
  //   "group.<g>.params" (the indices of its parameters), "group.<g>.<option>", "group.<g>.initial_lr",
  //   "<i>.shape", "<i>.<buffer>" ("0.exp_avg", "3.momentum_buffer", "0.step").
  // load_state refuses state from another optimiser type, with other groups or for parameters of
  // other shapes (naming the difference), and changes nothing when it refuses. It restores every
  // group's options (its lr included), as PyTorch's load_state_dict does.
  std::map<std::string, Tensor> state() const;
  void load_state(const std::map<std::string, Tensor>& state);

 protected:
  Optimizer(std::vector<ParamGroup> groups, std::map<std::string, double> defaults);

  // Checks one group's options (called by each optimiser's constructor for its groups, and by
  // load_state before it changes anything); throws naming the group when there are several.
  virtual void check_options(const ParamGroup& group, size_t group_index) const = 0;
  // "SGD" or "SGD: group 1" (for messages).
  std::string where(size_t group_index) const;

  // Index (in parameters()) of group g's first parameter.
  size_t group_offset(size_t group_index) const { return group_offsets_.at(group_index); }
  // The loop of an element-wise optimiser's step(): runs without recording and counts the step;
  // per group calls begin_group(group_index) (the optimiser reads and checks its options there),
  // then for each of the group's parameters that backward reached update(i, values, gradient), i
  // the parameter's index in parameters() and the gradient contiguous in its dtype; then bumps the
  // parameter's version (what autograd checks to catch tensors changed in place after saving).
  void for_each_gradient(const std::function<void(size_t group_index)>& begin_group,
                         const std::function<void(size_t i, const kernels::Tensor& values,
                                                  const kernels::Tensor& gradient)>& update);
  // Per-parameter state, created on first use: "step" as an int64 scalar; others like the
  // parameter, filled with `initial` (zeros unless given).
  kernels::Tensor& buffer(size_t parameter_index, const std::string& name, double initial = 0.0);
  bool has_buffer(size_t parameter_index, const std::string& name) const;
  // The dtype and shape a buffer must have; "step" is int64 []; the rest are like the parameter.
  // An optimiser with scalar buffers of its own (NAdam's mu_product) says so here.
  virtual std::pair<DType, Shape> buffer_spec(const std::string& name, const Tensor& parameter) const;
  // The names of the per-parameter buffers this optimiser may keep ("step", "exp_avg", ...):
  // load_state refuses any other, so that a foreign or altered state is not carried into later saves.
  virtual std::vector<std::string> buffer_names() const = 0;

  // State that belongs to no parameter (LBFGS's history): entries whose names the optimiser
  // chooses (they must not start with a digit or "group."). load_extra_state checks everything
  // before it changes anything.
  virtual std::map<std::string, Tensor> extra_state() const { return {}; }
  virtual void check_extra_state(const std::map<std::string, Tensor>& extra) const;
  virtual void load_extra_state(const std::map<std::string, Tensor>& extra) {}

  int64_t step_count_ = 0;

 private:
  void add_group(ParamGroup group);
  void check_parameters() const;

  std::vector<ParamGroup> groups_;
  std::map<std::string, double> defaults_;
  std::vector<Tensor> parameters_;
  std::vector<size_t> group_offsets_;
  std::vector<std::map<std::string, kernels::Tensor>> buffers_;
};

namespace detail {
// Reads an options struct from a group (fields the map lacks keep their defaults) and writes one
// into a map; each options struct lists its fields in for_each_option. Flags must be 0 or 1 and
// counts whole numbers, else the error names the option.
template <class Options>
std::map<std::string, double> options_to_map(Options options) {
  std::map<std::string, double> out;
  options.for_each_option([&](const char* name, auto& field) { out[name] = static_cast<double>(field); });
  return out;
}
void check_flag_option(const char* name, double value, const std::string& where);
void check_count_option(const char* name, double value, const std::string& where);
template <class Options>
Options options_from_map(const std::map<std::string, double>& map, const std::string& where) {
  Options options;
  options.for_each_option([&](const char* name, auto& field) {
    auto it = map.find(name);
    if (it == map.end()) return;
    using Field = std::remove_reference_t<decltype(field)>;
    if constexpr (std::is_same_v<Field, bool>) {
      check_flag_option(name, it->second, where);
      field = it->second != 0.0;
    } else if constexpr (std::is_integral_v<Field>) {
      check_count_option(name, it->second, where);
      field = static_cast<Field>(it->second);
    } else {
      field = it->second;
    }
  });
  return options;
}
}  // namespace detail

}  // namespace nabla::nn
