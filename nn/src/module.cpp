#include "nabla/nn/module.hpp"

#include <algorithm>

namespace nabla::nn {

Tensor Module::forward(const Tensor&) {
  fail("{}: this module does not define forward(const Tensor&); call its own forward with the arguments it takes",
       type_name());
}

Tensor Module::operator()(const Tensor& input) {
  Tensor output = forward(input);
  if (output.defined()) {
    last_output_shape_ = output.shape();
    has_run_ = true;
  }
  return output;
}

void Module::check_new_name(const std::string& name, const char* what) const {
  if (name.empty() || name.find('.') != std::string::npos) {
    fail("{}: name '{}' must be non-empty and contain no '.' (dots join nested names)", what, name);
  }
  auto taken = [&](const auto& list) {
    return std::any_of(list.begin(), list.end(), [&](const auto& entry) { return entry.first == name; });
  };
  if (taken(parameters_) || taken(buffers_) || taken(children_)) {
    fail("{}: {} already has a parameter, buffer or child named '{}'", what, type_name(), name);
  }
}

Tensor Module::register_parameter(const std::string& name, const Tensor& value, bool requires_grad) {
  check_new_name(name, "register_parameter");
  if (!value.defined()) fail("register_parameter: '{}' is undefined", name);
  // A leaf of its own over the value's (contiguous) storage: the parameter's history starts here.
  Tensor parameter(value.raw().contiguous(), requires_grad);
  parameters_.emplace_back(name, parameter);
  return parameter;
}

Tensor Module::register_buffer(const std::string& name, const Tensor& value) {
  check_new_name(name, "register_buffer");
  if (!value.defined()) fail("register_buffer: '{}' is undefined", name);
  Tensor buffer(value.raw().contiguous());
  buffers_.emplace_back(name, buffer);
  return buffer;
}

void Module::add_child(const std::string& name, std::shared_ptr<Module> module) {
  check_new_name(name, "register_module");
  if (!module) fail("register_module: '{}' is a null module", name);
  module->train(training_);
  children_.emplace_back(name, std::move(module));
}

void Module::collect_parameters(const std::string& prefix, bool recurse,
                                std::vector<std::pair<std::string, Tensor>>& out) const {
  for (const auto& [name, parameter] : parameters_) out.emplace_back(prefix + name, parameter);
  if (!recurse) return;
  for (const auto& [name, child] : children_) child->collect_parameters(prefix + name + ".", true, out);
}

void Module::collect_buffers(const std::string& prefix, bool recurse, std::vector<std::pair<std::string, Tensor>>& out) const {
  for (const auto& [name, buffer] : buffers_) out.emplace_back(prefix + name, buffer);
  if (!recurse) return;
  for (const auto& [name, child] : children_) child->collect_buffers(prefix + name + ".", true, out);
}

std::vector<std::pair<std::string, Tensor>> Module::named_parameters(bool recurse) const {
  std::vector<std::pair<std::string, Tensor>> out;
  collect_parameters("", recurse, out);
  return out;
}

std::vector<Tensor> Module::parameters(bool recurse) const {
  std::vector<Tensor> out;
  for (auto& [name, parameter] : named_parameters(recurse)) out.push_back(parameter);
  return out;
}

std::vector<std::pair<std::string, Tensor>> Module::named_buffers(bool recurse) const {
  std::vector<std::pair<std::string, Tensor>> out;
  collect_buffers("", recurse, out);
  return out;
}

std::vector<Tensor> Module::buffers(bool recurse) const {
  std::vector<Tensor> out;
  for (auto& [name, buffer] : named_buffers(recurse)) out.push_back(buffer);
  return out;
}

std::vector<std::shared_ptr<Module>> Module::children() const {
  std::vector<std::shared_ptr<Module>> out;
  for (const auto& [name, child] : children_) out.push_back(child);
  return out;
}

int64_t Module::parameter_count() const {
  int64_t total = 0;
  for (const Tensor& parameter : parameters()) total += parameter.numel();
  return total;
}

void Module::train(bool on) {
  training_ = on;
  for (auto& [name, child] : children_) child->train(on);
}

void Module::zero_grad() {
  for (Tensor& parameter : parameters()) parameter.zero_grad();
}

void Module::summarise(const std::string& prefix, int depth, std::vector<std::vector<std::string>>& rows) const {
  int64_t own = 0;
  for (const auto& [name, parameter] : parameters_) own += parameter.numel();
  const std::string args = extra_repr();
  rows.push_back({std::string(static_cast<size_t>(depth) * 2, ' ') + (prefix.empty() ? "(root)" : prefix),
                  type_name() + (args.empty() ? "" : "(" + args + ")"), has_run_ ? to_string(last_output_shape_) : "-",
                  own ? fmt::format("{}", own) : ""});
  for (const auto& [name, child] : children_) {
    child->summarise(prefix.empty() ? name : prefix + "." + name, depth + 1, rows);
  }
}

std::string Module::summary() const {
  std::vector<std::vector<std::string>> rows{{"name", "module", "output shape", "parameters"}};
  summarise("", 0, rows);
  std::vector<size_t> widths(4, 0);
  for (const auto& row : rows) {
    for (size_t c = 0; c < 4; ++c) widths[c] = std::max(widths[c], row[c].size());
  }
  std::string out;
  for (const auto& row : rows) {
    out += fmt::format("{:<{}}  {:<{}}  {:<{}}  {:>{}}\n", row[0], widths[0], row[1], widths[1], row[2], widths[2],
                       row[3], widths[3]);
  }
  int64_t trainable = 0;
  for (const Tensor& parameter : parameters()) {
    if (parameter.requires_grad()) trainable += parameter.numel();
  }
  out += fmt::format("total parameters: {} ({} trainable)\n", parameter_count(), trainable);
  return out;
}

Sequential::Sequential(std::initializer_list<std::shared_ptr<Module>> modules) {
  for (const auto& module : modules) push_back(module);
}

Sequential::Sequential(const std::vector<std::shared_ptr<Module>>& modules) {
  for (const auto& module : modules) push_back(module);
}

Sequential& Sequential::push_back(std::shared_ptr<Module> module) {
  return push_back(std::to_string(size()), std::move(module));
}

Sequential& Sequential::push_back(const std::string& name, std::shared_ptr<Module> module) {
  add_child(name, std::move(module));
  return *this;
}

std::shared_ptr<Module> Sequential::operator[](size_t index) const {
  if (index >= size()) fail("Sequential: index {} is out of range for {} modules", index, size());
  return named_children()[index].second;
}

Tensor Sequential::forward(const Tensor& input) {
  Tensor x = input;
  for (const auto& [name, child] : named_children()) {
    try {
      x = (*child)(x);
    } catch (const Error& e) {
      // Name the layer, so a shape mismatch deep in a model says where it happened.
      const std::string what = e.what();
      if (what.rfind("Sequential", 0) == 0) throw;
      fail("Sequential: layer {} ({}) failed on input of shape {}: {}", name, child->type_name(), x.shape(), what);
    }
  }
  return x;
}

}  // namespace nabla::nn
