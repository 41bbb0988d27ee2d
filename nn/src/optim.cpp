// The Optimizer base: parameter groups, per-parameter buffers, step(closure), state and resume.
#include <algorithm>
#include <charconv>
#include <cmath>
#include <set>

#include "optim_support.hpp"

namespace nabla::nn {

namespace detail {

kernels::Tensor gradient_of(const Tensor& parameter, size_t index, const std::string& optimizer) {
  const Tensor& grad = parameter.grad();
  if (!grad.defined()) return {};
  kernels::Tensor g = grad.raw();
  if (g.shape() != parameter.shape()) {
    fail("{}.step: parameter {} has shape {} but its gradient has shape {}; the gradient must match the parameter",
         optimizer, index, parameter.shape(), g.shape());
  }
  if (g.dtype() != parameter.dtype()) g = g.to(parameter.dtype());
  return g.contiguous();
}

void check_non_negative(double value, const char* name, const std::string& where) {
  if (!(value >= 0.0) || !std::isfinite(value)) fail("{}: {} must be finite and >= 0, got {}", where, name, value);
}

void check_beta(double value, const char* name, const std::string& where) {
  if (!(value >= 0.0 && value < 1.0)) fail("{}: {} must be in [0, 1), got {}", where, name, value);
}

void check_flag_option(const char* name, double value, const std::string& where) {
  if (value != 0.0 && value != 1.0) fail("{}: option '{}' is a flag (0 or 1), got {}", where, name, value);
}

void check_count_option(const char* name, double value, const std::string& where) {
  if (!std::isfinite(value) || value != std::floor(value)) {
    fail("{}: option '{}' is a count (a whole number), got {}", where, name, value);
  }
}

}  // namespace detail

namespace {

using detail::kStepBuffer;

std::string option_names(const std::map<std::string, double>& options) {
  std::string names;
  for (const auto& [name, value] : options) names += (names.empty() ? "" : ", ") + name;
  return names;
}

void check_lr(double lr, const std::string& where) {
  if (!(lr >= 0.0) || !std::isfinite(lr)) fail("{}: the learning rate must be finite and >= 0, got {}", where, lr);
}

// The scalar in a one-element state tensor, or a clear error naming the entry.
void check_scalar_entry(const std::map<std::string, Tensor>& state, const std::string& name, DType dtype,
                        const std::string& optimizer) {
  auto it = state.find(name);
  if (it == state.end()) {
    fail("{}.load_state: the state has no '{}' entry; pass a map made by Optimizer::state()", optimizer, name);
  }
  if (!it->second.defined() || it->second.dtype() != dtype || it->second.numel() != 1) {
    fail("{}.load_state: entry '{}' must be a one-element {} tensor, got {} of shape {}", optimizer, name, dtype,
         it->second.defined() ? std::string(dtype_name(it->second.dtype())) : "undefined",
         it->second.defined() ? to_string(it->second.shape()) : "-");
  }
}

// Splits "<index>.<name>" into its parts; false when the key has another form.
bool parse_indexed_key(const std::string& key, size_t& index, std::string& name) {
  const size_t dot = key.find('.');
  if (dot == std::string::npos || dot == 0 || dot + 1 == key.size()) return false;
  const char* first = key.data();
  const char* last = key.data() + dot;
  auto [end, error] = std::from_chars(first, last, index);
  if (error != std::errc() || end != last) return false;
  name = key.substr(dot + 1);
  return true;
}

Tensor int64_scalar(int64_t value) {
  Tensor out = zeros({}, int64);
  out.data_ptr<int64_t>()[0] = value;
  return out;
}

// "[0, 1, 2]" (at most 8 shown).
std::string list_text(const std::vector<int64_t>& values) {
  std::string out = "[";
  for (size_t i = 0; i < values.size() && i < 8; ++i) out += (i ? ", " : "") + std::to_string(values[i]);
  if (values.size() > 8) out += fmt::format(", ... ({} in all)", values.size());
  return out + "]";
}

constexpr const char* kGroupPrefix = "group.";

}  // namespace

// ---------------------------------------------------------------------------------------------
// ParamGroup

double ParamGroup::option(const std::string& name) const {
  auto it = options.find(name);
  if (it == options.end()) {
    fail("ParamGroup: no option '{}' (this group has: {})", name, options.empty() ? "none" : option_names(options));
  }
  return it->second;
}

void ParamGroup::set_option(const std::string& name, double value) {
  auto it = options.find(name);
  if (it == options.end()) {
    fail("ParamGroup::set_option: no option '{}' (this group has: {}); options are fixed by the optimiser's type",
         name, options.empty() ? "none" : option_names(options));
  }
  if (name == "lr") check_lr(value, "ParamGroup::set_lr");
  it->second = value;
}

// ---------------------------------------------------------------------------------------------
// Optimizer

Optimizer::Optimizer(std::vector<ParamGroup> groups, std::map<std::string, double> defaults)
    : defaults_(std::move(defaults)) {
  size_t total = 0;
  for (const ParamGroup& group : groups) total += group.params.size();
  if (total == 0) {
    fail("Optimizer: got an empty parameter list; pass model.parameters() of a model that has parameters");
  }
  for (ParamGroup& group : groups) add_group(std::move(group));
  check_parameters();
}

std::string Optimizer::where(size_t group_index) const {
  return groups_.size() > 1 ? fmt::format("{}: group {}", type_name(), group_index) : type_name();
}

void Optimizer::add_group(ParamGroup group) {
  const size_t index = groups_.size();
  for (const auto& [name, value] : group.options) {
    if (!defaults_.count(name)) {
      fail("Optimizer: group {} has option '{}', which this optimiser does not have (its options: {})", index, name,
           option_names(defaults_));
    }
  }
  for (const auto& [name, value] : defaults_) group.options.emplace(name, value);  // keeps the group's own
  if (group.options.count("lr")) check_lr(group.options.at("lr"), fmt::format("Optimizer: group {}", index));
  group_offsets_.push_back(parameters_.size());
  for (size_t k = 0; k < group.params.size(); ++k) {
    const Tensor& parameter = group.params[k];
    const size_t i = parameters_.size();
    if (!parameter.defined()) fail("Optimizer: parameter {} is undefined", i);
    if (!is_floating(parameter.dtype())) {
      fail("Optimizer: parameter {} has dtype {}; only float32 and float64 parameters can be optimised", i,
           parameter.dtype());
    }
    if (!parameter.raw().is_contiguous()) {
      fail("Optimizer: parameter {} (shape {}, strides {}) is not contiguous; register a contiguous tensor "
           "(for example its clone())",
           i, parameter.shape(), parameter.raw().strides());
    }
    parameters_.push_back(parameter);
  }
  buffers_.resize(parameters_.size());
  groups_.push_back(std::move(group));
}

// Parameters over overlapping memory would be updated twice per step (the same tensor in two
// groups is the common case). Disjoint slices of one storage are fine.
void Optimizer::check_parameters() const {
  std::vector<std::pair<uintptr_t, size_t>> ranges;  // (first byte, parameter index)
  for (size_t i = 0; i < parameters_.size(); ++i) {
    if (parameters_[i].numel() == 0) continue;
    ranges.emplace_back(reinterpret_cast<uintptr_t>(parameters_[i].raw().raw_data()), i);
  }
  std::sort(ranges.begin(), ranges.end());
  for (size_t r = 1; r < ranges.size(); ++r) {
    const kernels::Tensor& previous = parameters_[ranges[r - 1].second].raw();
    const uintptr_t previous_end =
        ranges[r - 1].first + static_cast<uintptr_t>(previous.numel()) * itemsize(previous.dtype());
    if (ranges[r].first < previous_end) {
      const auto [first, second] = std::minmax(ranges[r - 1].second, ranges[r].second);
      fail("Optimizer: parameters {} and {} overlap in memory, so each step would update them twice; pass each "
           "parameter once{}",
           first, second, groups_.size() > 1 ? " (in one group only)" : "");
    }
  }
}

void Optimizer::add_param_group(ParamGroup group) {
  // Checked on copies, so a refused group leaves the optimiser as it was.
  const auto groups = groups_;
  const auto parameters = parameters_;
  const auto offsets = group_offsets_;
  const size_t buffer_count = buffers_.size();
  try {
    add_group(std::move(group));
    check_parameters();
    check_options(groups_.back(), groups_.size() - 1);
  } catch (...) {
    groups_ = groups;
    parameters_ = parameters;
    group_offsets_ = offsets;
    buffers_.resize(buffer_count);
    throw;
  }
}

Tensor Optimizer::step(const LossClosure& closure) {
  Tensor loss;
  if (closure) {
    EnableGradGuard enable_grad;
    loss = closure();
  }
  step();
  return loss;
}

void Optimizer::for_each_gradient(
    const std::function<void(size_t group_index)>& begin_group,
    const std::function<void(size_t i, const kernels::Tensor& values, const kernels::Tensor& gradient)>& update) {
  NoGradGuard no_grad;
  ++step_count_;
  for (size_t group_index = 0; group_index < groups_.size(); ++group_index) {
    begin_group(group_index);
    const ParamGroup& group = groups_[group_index];
    for (size_t k = 0; k < group.params.size(); ++k) {
      const size_t i = group_offset(group_index) + k;
      const Tensor& parameter = group.params[k];
      const kernels::Tensor gradient = detail::gradient_of(parameter, i, type_name());
      if (!gradient.defined()) continue;
      update(i, parameter.raw(), gradient);
      parameter.raw().storage()->bump_version();
    }
  }
}

void Optimizer::zero_grad() {
  for (const Tensor& parameter : parameters_) parameter.zero_grad();
}

double Optimizer::lr() const { return groups_.front().options.at("lr"); }

void Optimizer::set_lr(double lr) {
  check_lr(lr, type_name());
  for (ParamGroup& group : groups_) group.options["lr"] = lr;
}

std::pair<DType, Shape> Optimizer::buffer_spec(const std::string& name, const Tensor& parameter) const {
  if (name == kStepBuffer) return {int64, Shape{}};
  return {parameter.dtype(), parameter.shape()};
}

kernels::Tensor& Optimizer::buffer(size_t parameter_index, const std::string& name, double initial) {
  auto& buffers = buffers_.at(parameter_index);
  auto it = buffers.find(name);
  if (it == buffers.end()) {
    const auto [dtype, shape] = buffer_spec(name, parameters_[parameter_index]);
    kernels::Tensor fresh = kernels::zeros(shape, dtype);
    if (initial != 0.0) fresh.fill_(initial);
    it = buffers.emplace(name, std::move(fresh)).first;
  }
  return it->second;
}

bool Optimizer::has_buffer(size_t parameter_index, const std::string& name) const {
  return buffers_.at(parameter_index).count(name) != 0;
}

void Optimizer::check_extra_state(const std::map<std::string, Tensor>& extra) const {
  if (!extra.empty()) {
    fail("{}.load_state: unexpected entry '{}' (entries are type, step, parameters, groups, group.<g>.<option> and "
         "<index>.<name>)",
         type_name(), extra.begin()->first);
  }
}

// Every tensor is a copy: later steps don't change a state already taken.
std::map<std::string, Tensor> Optimizer::state() const {
  std::map<std::string, Tensor> out;
  const std::string type = type_name();
  out["type"] = from_vector(std::vector<uint8_t>(type.begin(), type.end()));
  out["step"] = int64_scalar(step_count_);
  out["parameters"] = int64_scalar(static_cast<int64_t>(parameters_.size()));
  out["groups"] = int64_scalar(static_cast<int64_t>(groups_.size()));
  for (size_t g = 0; g < groups_.size(); ++g) {
    const ParamGroup& group = groups_[g];
    std::vector<int64_t> indices(group.params.size());
    for (size_t k = 0; k < indices.size(); ++k) indices[k] = static_cast<int64_t>(group_offsets_[g] + k);
    out[fmt::format("group.{}.params", g)] = from_vector(indices, {static_cast<int64_t>(indices.size())});
    for (const auto& [name, value] : group.options) out[fmt::format("group.{}.{}", g, name)] = scalar_tensor(value, float64);
    if (group.initial_lr) out[fmt::format("group.{}.initial_lr", g)] = scalar_tensor(*group.initial_lr, float64);
  }
  for (size_t i = 0; i < parameters_.size(); ++i) {
    out[fmt::format("{}.shape", i)] = from_vector(parameters_[i].shape().vec(), {parameters_[i].dim()});
    for (const auto& [name, tensor] : buffers_[i]) out[fmt::format("{}.{}", i, name)] = tensor.clone();
  }
  for (const auto& [name, tensor] : extra_state()) out[name] = tensor.clone();
  return out;
}

void Optimizer::load_state(const std::map<std::string, Tensor>& state) {
  const std::string me = type_name();

  // ---- check everything first: a refused state leaves this optimiser untouched
  auto type_it = state.find("type");
  if (type_it == state.end()) {
    fail("{}.load_state: the state has no 'type' entry; pass a map made by Optimizer::state()", me);
  }
  const Tensor& type_tensor = type_it->second;
  if (!type_tensor.defined() || type_tensor.dtype() != uint8 || type_tensor.dim() != 1) {
    fail("{}.load_state: entry 'type' must be a 1-d uint8 tensor holding the optimiser's name", me);
  }
  const std::vector<uint8_t> type_bytes = type_tensor.to_vector<uint8_t>();
  const std::string type(type_bytes.begin(), type_bytes.end());
  if (type != me) {
    fail("{}.load_state: this is {} state, not {} state; load it into an optimiser of the type that saved it", me,
         type, me);
  }
  check_scalar_entry(state, "step", int64, me);
  check_scalar_entry(state, "parameters", int64, me);
  const int64_t step = state.at("step").item<int64_t>();
  if (step < 0) fail("{}.load_state: entry 'step' holds {}, expected >= 0", me, step);
  const int64_t count = state.at("parameters").item<int64_t>();
  if (count != static_cast<int64_t>(parameters_.size())) {
    fail("{}.load_state: the state is for {} parameters but this optimiser has {}; build the optimiser over the "
         "same model",
         me, count, parameters_.size());
  }

  // Groups: their number, which parameters each holds, and their options. A state written before
  // nabla had groups holds only "lr": it is one group of every parameter.
  std::vector<ParamGroup> groups = groups_;
  const bool legacy = !state.count("groups");
  if (legacy) {
    if (groups_.size() != 1) {
      fail("{}.load_state: the state has one parameter group (it has no 'groups' entry) but this optimiser has {}",
           me, groups_.size());
    }
    check_scalar_entry(state, "lr", float64, me);
    groups[0].options["lr"] = state.at("lr").item<double>();
  } else {
    check_scalar_entry(state, "groups", int64, me);
    const int64_t group_count = state.at("groups").item<int64_t>();
    if (group_count != static_cast<int64_t>(groups_.size())) {
      fail("{}.load_state: the state has {} parameter groups but this optimiser has {}; build the optimiser with the "
           "same groups",
           me, group_count, groups_.size());
    }
  }
  std::vector<std::map<std::string, kernels::Tensor>> buffers(parameters_.size());
  std::map<std::string, Tensor> extra;
  std::set<size_t> shapes_seen;
  std::set<size_t> groups_seen;
  for (const auto& [key, tensor] : state) {
    if (key == "type" || key == "step" || key == "parameters" || key == "groups" || (legacy && key == "lr")) continue;
    if (!tensor.defined()) fail("{}.load_state: entry '{}' is undefined", me, key);
    size_t index = 0;
    std::string name;
    if (key.rfind(kGroupPrefix, 0) == 0) {
      if (legacy || !parse_indexed_key(key.substr(std::char_traits<char>::length(kGroupPrefix)), index, name)) {
        fail("{}.load_state: unexpected entry '{}' (group entries are group.<g>.<option>)", me, key);
      }
      if (index >= groups.size()) {
        fail("{}.load_state: entry '{}' refers to group {}, but there are only {}", me, key, index, groups.size());
      }
      ParamGroup& group = groups[index];
      if (name == "params") {
        if (tensor.dtype() != int64 || tensor.dim() != 1) {
          fail("{}.load_state: entry '{}' must be a 1-d int64 tensor of parameter indices", me, key);
        }
        std::vector<int64_t> mine(group.params.size());
        for (size_t k = 0; k < mine.size(); ++k) mine[k] = static_cast<int64_t>(group_offsets_[index] + k);
        const std::vector<int64_t> saved = tensor.to_vector<int64_t>();
        if (saved != mine) {
          fail("{}.load_state: group {} holds parameters {} in the state but {} here; build the optimiser with the "
               "same groups",
               me, index, list_text(saved), list_text(mine));
        }
        groups_seen.insert(index);
        continue;
      }
      if (tensor.dtype() != float64 || tensor.numel() != 1) {
        fail("{}.load_state: entry '{}' must be a one-element float64 tensor", me, key);
      }
      if (name == "initial_lr") {
        group.initial_lr = tensor.item<double>();
      } else if (group.options.count(name)) {
        group.options[name] = tensor.item<double>();
      } else {
        fail("{}.load_state: entry '{}' is option '{}', which {} does not have (its options: {})", me, key, name, me,
             option_names(defaults_));
      }
      continue;
    }
    if (!parse_indexed_key(key, index, name)) {
      extra.emplace(key, tensor);
      continue;
    }
    if (index >= parameters_.size()) {
      fail("{}.load_state: entry '{}' refers to parameter {}, but there are only {}", me, key, index,
           parameters_.size());
    }
    const Tensor& parameter = parameters_[index];
    if (name == "shape") {
      if (tensor.dtype() != int64 || tensor.dim() != 1 || tensor.numel() > Dims::kMaxDims) {
        fail("{}.load_state: entry '{}' must be a 1-d int64 tensor holding a shape", me, key);
      }
      const Shape saved_shape(tensor.to_vector<int64_t>());
      if (saved_shape != parameter.shape()) {
        fail("{}.load_state: parameter {} has shape {} in the state but {} here; the state belongs to another model",
             me, index, saved_shape, parameter.shape());
      }
      shapes_seen.insert(index);
      continue;
    }
    const std::vector<std::string> known = buffer_names();
    if (std::find(known.begin(), known.end(), name) == known.end()) {
      std::string list;
      for (const std::string& buffer_name : known) list += (list.empty() ? "" : ", ") + buffer_name;
      fail("{}.load_state: entry '{}' names buffer '{}', which {} does not keep (its buffers: {}); the state was "
           "written by another optimiser or altered",
           me, key, name, me, list.empty() ? "none" : list);
    }
    const auto [expected_dtype, expected_shape] = buffer_spec(name, parameter);
    if (tensor.shape() != expected_shape || tensor.dtype() != expected_dtype) {
      fail("{}.load_state: entry '{}' is {} {} in the state but must be {} {} to match parameter {}", me, key,
           tensor.dtype(), tensor.shape(), expected_dtype, expected_shape, index);
    }
    buffers[index][name] = tensor.raw().clone();
  }
  if (shapes_seen.size() != parameters_.size()) {
    for (size_t i = 0; i < parameters_.size(); ++i) {
      if (!shapes_seen.count(i)) fail("{}.load_state: the state has no '{}.shape' entry", me, i);
    }
  }
  if (!legacy && groups_seen.size() != groups_.size()) {
    for (size_t g = 0; g < groups_.size(); ++g) {
      if (!groups_seen.count(g)) fail("{}.load_state: the state has no 'group.{}.params' entry", me, g);
    }
  }
  for (size_t g = 0; g < groups.size(); ++g) {
    check_lr(groups[g].options.at("lr"), fmt::format("{}.load_state: group {}", me, g));
    check_options(groups[g], g);
  }
  check_extra_state(extra);

  // ---- all checks passed: replace
  step_count_ = step;
  buffers_ = std::move(buffers);
  groups_ = std::move(groups);
  load_extra_state(extra);
}

}  // namespace nabla::nn
