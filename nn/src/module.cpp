#include "nabla/nn/module.hpp"

#include <cxxabi.h>

#include <algorithm>
#include <cstdlib>
#include <optional>
#include <typeinfo>

#include "nabla/nn/layers.hpp"

namespace nabla::nn {

Tensor Module::forward(const Tensor&) {
  fail("{}: this module does not define forward(const Tensor&); call its own forward with the arguments it takes",
       type_name());
}

Tensor Module::operator()(const Tensor& input) {
  if (has_forward_hooks()) return detail::call_with_hooks(*this, input);
  Tensor output = forward(input);
  note_output(detail::describe_output(output));
  return output;
}

// ---- forward hooks ------------------------------------------------------------------------------

namespace detail {
struct ModuleHooks {
  int64_t next_id = 0;
  std::vector<std::pair<int64_t, ForwardPreHook>> pre;
  std::vector<std::pair<int64_t, ForwardHook>> post;
  bool empty() const { return pre.empty() && post.empty(); }
};
}  // namespace detail

void HookHandle::remove() {
  if (auto hooks = hooks_.lock()) {
    std::erase_if(hooks->pre, [&](const auto& entry) { return entry.first == id_; });
    std::erase_if(hooks->post, [&](const auto& entry) { return entry.first == id_; });
  }
  hooks_.reset();
}

bool HookHandle::active() const {
  auto hooks = hooks_.lock();
  if (!hooks) return false;
  auto has = [&](const auto& list) {
    return std::any_of(list.begin(), list.end(), [&](const auto& entry) { return entry.first == id_; });
  };
  return has(hooks->pre) || has(hooks->post);
}

HookHandle Module::add_forward_pre_hook(ForwardPreHook hook) {
  if (!hook) fail("{}.register_forward_pre_hook: the hook is empty", type_name());
  if (!hooks_) hooks_ = std::make_shared<detail::ModuleHooks>();
  const int64_t id = hooks_->next_id++;
  hooks_->pre.emplace_back(id, std::move(hook));
  return HookHandle(hooks_, id);
}

HookHandle Module::add_forward_hook(ForwardHook hook) {
  if (!hook) fail("{}.register_forward_hook: the hook is empty", type_name());
  if (!hooks_) hooks_ = std::make_shared<detail::ModuleHooks>();
  const int64_t id = hooks_->next_id++;
  hooks_->post.emplace_back(id, std::move(hook));
  return HookHandle(hooks_, id);
}

bool Module::has_forward_hooks() const { return hooks_ && !hooks_->empty(); }

std::vector<Tensor> Module::run_forward_pre_hooks(std::vector<Tensor> inputs) {
  if (!hooks_) return inputs;
  const auto hooks = hooks_->pre;  // a copy: a hook may remove itself
  for (const auto& [id, hook] : hooks) {
    std::optional<std::vector<Tensor>> replaced = hook(*this, inputs);
    if (!replaced) continue;
    if (replaced->size() != inputs.size()) {
      fail("{}: a forward pre-hook returned {} tensors for a call with {} tensor arguments; return as many as it "
           "received (or std::nullopt to keep them)",
           type_name(), replaced->size(), inputs.size());
    }
    inputs = std::move(*replaced);
  }
  return inputs;
}

std::optional<std::vector<Tensor>> Module::run_forward_hooks(const std::vector<Tensor>& inputs,
                                                             const std::vector<Tensor>& outputs) {
  if (!hooks_) return std::nullopt;
  const auto hooks = hooks_->post;
  std::optional<std::vector<Tensor>> current;
  for (const auto& [id, hook] : hooks) {
    std::optional<std::vector<Tensor>> replaced = hook(*this, inputs, current ? *current : outputs);
    if (!replaced) continue;
    if (replaced->size() != outputs.size()) {
      fail("{}: a forward hook returned {} tensors for an output of {}; return as many as it received (or "
           "std::nullopt to keep them){}",
           type_name(), replaced->size(), outputs.size(),
           outputs.empty() ? " (a hook can replace only Tensors: a Tensor result, or the Tensors of a tuple, pair or "
                             "vector)"
                           : "");
    }
    current = std::move(*replaced);
  }
  return current;
}

std::string Module::type_name() const {
  // The C++ class name without its namespaces: "ResidualNet" for examples::ResidualNet.
  int status = 0;
  const char* mangled = typeid(*this).name();
  char* demangled = abi::__cxa_demangle(mangled, nullptr, nullptr, &status);
  std::string name = status == 0 && demangled ? demangled : mangled;
  std::free(demangled);
  const size_t template_start = name.find('<');
  const size_t last_colon = name.rfind("::", template_start);
  return last_colon == std::string::npos ? name : name.substr(last_colon + 2);
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
  if (!value.is_leaf()) {
    fail("register_parameter: '{}' was computed by an op from tensors that require grad; a parameter must be a leaf "
         "(register value.detach())", name);
  }
  // The tensor itself is the parameter (as in PyTorch), so the caller's handle trains too; only a
  // non-contiguous one is replaced by a packed copy, since optimisers run flat loops.
  const Tensor parameter = value.is_contiguous() ? value : Tensor(value.raw().contiguous());
  parameter.requires_grad_(requires_grad);
  parameters_.emplace_back(name, parameter);
  return parameter;
}

Tensor Module::register_buffer(const std::string& name, const Tensor& value) {
  check_new_name(name, "register_buffer");
  if (!value.defined()) fail("register_buffer: '{}' is undefined", name);
  const Tensor buffer = value.is_contiguous() && !value.requires_grad() ? value : Tensor(value.raw().contiguous());
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

void Module::collect_modules(const std::string& prefix, std::vector<std::pair<std::string, Module*>>& out) {
  out.emplace_back(prefix, this);
  for (const auto& [name, child] : children_) child->collect_modules(prefix.empty() ? name : prefix + "." + name, out);
}

std::vector<std::pair<std::string, Module*>> Module::named_modules() {
  std::vector<std::pair<std::string, Module*>> out;
  collect_modules("", out);
  return out;
}

std::vector<Module*> Module::modules() {
  std::vector<Module*> out;
  for (const auto& [name, module] : named_modules()) out.push_back(module);
  return out;
}

Module& Module::apply(const std::function<void(Module&)>& fn) {
  for (const auto& [name, child] : children_) child->apply(fn);
  fn(*this);
  return *this;
}

Module& Module::to(DType dtype) {
  if (!is_floating(dtype)) fail("Module::to: parameters must stay floating point; got {} (use float32 or float64)", dtype);
  NoGradGuard no_grad;
  auto convert = [dtype](const Tensor& tensor) {
    if (!tensor.defined() || !is_floating(tensor.dtype()) || tensor.dtype() == dtype) return;
    tensor.set_data(tensor.to(dtype));
  };
  for (const auto& [name, parameter] : named_parameters()) convert(parameter);
  for (const auto& [name, buffer] : named_buffers()) convert(buffer);
  return *this;
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
                  type_name() + (args.empty() ? "" : "(" + args + ")"), last_output_shape_.empty() ? "-" : last_output_shape_,
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

namespace {
// A Conv2d followed by a ReLU runs as one op (Conv2d::forward_relu: the same values and
// gradients, one pass fewer over the activations), unless a hook must see the pair apart. Exact
// types only: a subclass may have changed what either does.
bool fuses_with_relu(const Module& layer, const Module& next) {
  return typeid(layer) == typeid(Conv2d) && typeid(next) == typeid(ReLU) && !layer.has_forward_hooks() &&
         !next.has_forward_hooks();
}

// A fusable Conv2d + ReLU followed by MaxPool2d(2) run as one op, nabla::conv2d_relu_max_pool2d
// (where Winograd computes the convolution, its output is pooled as it is made and never stored),
// when the convolution pads with zeros by given sizes and the pooling is the plain 2x2 window of
// stride 2. Returns the convolution's parameters then.
std::optional<Conv2dParams> fused_triple(const Module& layer, const Module& next, const Module& after) {
  if (!fuses_with_relu(layer, next) || typeid(after) != typeid(MaxPool2d) || after.has_forward_hooks()) return {};
  const Pool2dOptions& pool = static_cast<const MaxPool2d&>(after).options();
  const bool plain_pool = pool.kernel_size == Size2d(2) && (pool.stride == Size2d(0) || pool.stride == Size2d(2)) &&
                          pool.padding == Size2d(0) && pool.dilation == Size2d(1) && !pool.ceil_mode;
  const Conv2dOptions& conv = static_cast<const Conv2d&>(layer).options();
  if (!plain_pool || conv.padding_mode != PaddingMode::zeros || conv.padding.is_same()) return {};
  return Conv2dParams{conv.stride, conv.padding.sizes(), conv.dilation, conv.groups};
}

// Runs the triple fused_triple accepted on x, noting each layer's output for summary().
Tensor run_fused_triple(Module& layer, Module& next, Module& after, const Conv2dParams& params, const Tensor& x) {
  const auto& conv = static_cast<const Conv2d&>(layer);
  Tensor pooled = conv2d_relu_max_pool2d(x, conv.weight, conv.bias, params).values;
  const Size2d out = window_output_size({x.size(2), x.size(3)},
                                        Window2d{conv.options().kernel_size, params.stride, params.padding, params.dilation},
                                        "Conv2d");
  const std::string conv_shape = to_string(Shape{x.size(0), conv.options().out_channels, out.h, out.w});
  layer.note_output(conv_shape);
  next.note_output(conv_shape);
  after.note_output(detail::describe_output(pooled));
  return pooled;
}
}  // namespace

Tensor Sequential::forward(const Tensor& input) {
  Tensor x = input;
  const auto& layers = named_children();
  for (size_t i = 0; i < layers.size(); ++i) {
    const auto& [name, child] = layers[i];
    try {
      if (i + 2 < layers.size()) {
        if (const auto params = fused_triple(*child, *layers[i + 1].second, *layers[i + 2].second)) {
          x = run_fused_triple(*child, *layers[i + 1].second, *layers[i + 2].second, *params, x);
          i += 2;
          continue;
        }
      }
      if (i + 1 < layers.size() && fuses_with_relu(*child, *layers[i + 1].second)) {
        x = static_cast<Conv2d&>(*child).forward_relu(x);
        const std::string shape = detail::describe_output(x);
        child->note_output(shape);  // what summary() shows for each layer
        layers[++i].second->note_output(shape);
        continue;
      }
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

namespace nabla::nn {

ModuleList& ModuleList::push_back(std::shared_ptr<Module> module) {
  add_child(std::to_string(size()), module);
  modules_.push_back(std::move(module));
  return *this;
}

std::shared_ptr<Module> ModuleList::operator[](size_t index) const {
  if (index >= size()) fail("ModuleList: index {} is out of range for {} modules", index, size());
  return modules_[index];
}

ModuleDict::ModuleDict(const std::vector<std::pair<std::string, std::shared_ptr<Module>>>& modules) {
  for (const auto& [key, module] : modules) insert(key, module);
}

ModuleDict& ModuleDict::insert(const std::string& key, std::shared_ptr<Module> module) {
  add_child(key, std::move(module));
  return *this;
}

bool ModuleDict::contains(const std::string& key) const {
  return std::any_of(named_children().begin(), named_children().end(), [&](const auto& entry) { return entry.first == key; });
}

std::vector<std::string> ModuleDict::keys() const {
  std::vector<std::string> out;
  for (const auto& [key, module] : named_children()) out.push_back(key);
  return out;
}

std::shared_ptr<Module> ModuleDict::operator[](const std::string& key) const {
  for (const auto& [name, module] : named_children()) {
    if (name == key) return module;
  }
  std::string known;
  for (const auto& [name, module] : named_children()) known += (known.empty() ? "" : ", ") + name;
  fail("ModuleDict: no module named '{}' (it holds: {})", key, known.empty() ? "nothing" : known);
}

namespace detail {
void throw_module_type(const std::string& where, const Module& found, const char* wanted) {
  int status = 0;
  char* demangled = abi::__cxa_demangle(wanted, nullptr, nullptr, &status);
  const std::string wanted_name = status == 0 && demangled ? demangled : wanted;
  std::free(demangled);
  fail("{}: the module there is a {}, not a {}", where, found.type_name(), wanted_name);
}
}  // namespace detail

}  // namespace nabla::nn
