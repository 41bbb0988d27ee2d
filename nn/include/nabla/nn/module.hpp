#pragma once
// Module: the base of every layer and model. A module registers its parameters (tensors that
// require grad), buffers (tensors saved with the model but not trained, like batch-norm running
// statistics) and child modules by name; names nest with dots ("features.0.weight").
//
//   struct Net : nn::Module {
//     nn::Shared<nn::Linear> fc1 = register_module("fc1", nn::Linear(784, 128));
//     nn::Shared<nn::Linear> fc2 = register_module("fc2", nn::Linear(128, 10));
//     Tensor forward(const Tensor& x) { return fc2(relu(fc1(x))); }
//   };
//   auto net = nn::make<Net>();
//   Tensor logits = net(images);            // or net->forward(images)
//
// forward may take any arguments and return anything (a Tensor, a tuple, a struct): a module
// with two inputs and two outputs is declared the same way and called as net(a, b). Only a
// module that takes one Tensor and returns one can sit in a Sequential; it overrides the virtual
// forward(const Tensor&) so that Sequential can call it through a Module pointer.
#include <concepts>
#include <cstdint>
#include <functional>
#include <array>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "nabla/autograd.hpp"

namespace nabla::nn {

class Module;

// ---- forward hooks (types) ------------------------------------------------------------------
// A pre-hook sees the arguments of a call that are Tensors, in order; it may return replacements
// (as many), or std::nullopt to keep them. A forward hook sees those inputs (after the pre-hooks)
// and the Tensors of the output; it may return replacements for them. See Module's hooks section.
using ForwardPreHook =
    std::function<std::optional<std::vector<Tensor>>(Module& module, const std::vector<Tensor>& inputs)>;
using ForwardHook = std::function<std::optional<std::vector<Tensor>>(
    Module& module, const std::vector<Tensor>& inputs, const std::vector<Tensor>& outputs)>;

namespace detail {
struct ModuleHooks;
}

// What register_forward_hook returns: remove() takes the hook off its module (PyTorch's
// RemovableHandle). Removing twice, or after the module is gone, does nothing.
class HookHandle {
 public:
  HookHandle() = default;
  void remove();
  // True until remove() (and while the module lives).
  bool active() const;

 private:
  friend class Module;
  HookHandle(std::weak_ptr<detail::ModuleHooks> hooks, int64_t id) : hooks_(std::move(hooks)), id_(id) {}
  std::weak_ptr<detail::ModuleHooks> hooks_;
  int64_t id_ = -1;
};
// ---- end forward hooks (types) --------------------------------------------------------------

// A module held by shared ownership, callable like the module's forward: fc1(x) is
// fc1->forward(x), run through the module's call path (which notes output shapes for summary()).
// Converts to std::shared_ptr<Module> wherever a module is expected.
template <class M>
class Shared : public std::shared_ptr<M> {
 public:
  Shared() = default;
  Shared(std::nullptr_t) {}  // NOLINT(google-explicit-constructor)
  Shared(std::shared_ptr<M> module) : std::shared_ptr<M>(std::move(module)) {}  // NOLINT
  // Takes a module value into shared storage:
  //   nn::Shared<nn::Sequential> model = nn::Sequential{nn::Linear(784, 30), nn::Sigmoid(), nn::Linear(30, 10)};
  // (Braces create the layers left to right, as written, so they draw their initial weights from
  // the generator in that order; the arguments of a function call such as nn::make<Sequential>(...)
  // are evaluated in an order the compiler chooses.)
  template <class Value>
    requires std::same_as<std::remove_cvref_t<Value>, M> && (!std::is_lvalue_reference_v<Value>)
  Shared(Value&& module) : std::shared_ptr<M>(std::make_shared<M>(std::move(module))) {}  // NOLINT
  template <class... Args>
  decltype(auto) operator()(Args&&... args) const;
};

// Makes a module and hands it out shared: nn::make<nn::Linear>(784, 10).
template <class M, class... Args>
Shared<M> make(Args&&... args) {
  return Shared<M>(std::make_shared<M>(std::forward<Args>(args)...));
}

// Something a module can be built from: a module value (moved into shared storage) or a
// shared pointer to one.
template <class T>
concept ModuleValue = std::derived_from<std::remove_cvref_t<T>, Module>;
template <class T>
concept ModulePointer = requires(const T& pointer) {
  { std::shared_ptr<Module>(pointer) };
} && !ModuleValue<T>;
template <class T>
concept ModuleArgument = ModuleValue<T> || ModulePointer<T>;

class Module {
 public:
  Module() = default;
  virtual ~Module() = default;
  Module(const Module&) = delete;  // copies would alias parameters: modules are moved or shared
  Module& operator=(const Module&) = delete;
  Module(Module&&) noexcept = default;
  Module& operator=(Module&&) noexcept = default;

  // The one-tensor computation Sequential calls. A module with another signature declares its
  // own forward (hiding this one) and is called through nn::Shared or ->forward.
  virtual Tensor forward(const Tensor& input);
  // Calls forward and remembers the output's shape for summary().
  Tensor operator()(const Tensor& input);

  // ---- registration (each returns the handle to use)
  // The tensor itself becomes the parameter (a packed copy when it is not contiguous); it must be
  // a leaf. requires_grad is set on it.
  Tensor register_parameter(const std::string& name, const Tensor& value, bool requires_grad = true);
  Tensor register_buffer(const std::string& name, const Tensor& value);
  template <class M>
  Shared<M> register_module(const std::string& name, std::shared_ptr<M> module) {
    add_child(name, module);
    return Shared<M>(std::move(module));
  }
  // A module value is moved into shared storage: register_module("fc", nn::Linear(784, 10)).
  template <ModuleValue M>
  Shared<std::remove_cvref_t<M>> register_module(const std::string& name, M&& module) {
    return register_module(name, std::make_shared<std::remove_cvref_t<M>>(std::forward<M>(module)));
  }

  // ---- inspection
  std::vector<Tensor> parameters(bool recurse = true) const;
  std::vector<std::pair<std::string, Tensor>> named_parameters(bool recurse = true) const;
  std::vector<Tensor> buffers(bool recurse = true) const;
  std::vector<std::pair<std::string, Tensor>> named_buffers(bool recurse = true) const;
  std::vector<std::shared_ptr<Module>> children() const;
  const std::vector<std::pair<std::string, std::shared_ptr<Module>>>& named_children() const { return children_; }
  // This module and every module below it, depth first in registration order (this one first,
  // named ""), as PyTorch's modules() / named_modules().
  std::vector<Module*> modules();
  std::vector<std::pair<std::string, Module*>> named_modules();
  int64_t parameter_count() const;

  // ---- changing the whole model
  // Calls fn on every module below this one and then on this one (PyTorch's apply): the place for
  // a custom initialisation. Returns this module.
  Module& apply(const std::function<void(Module&)>& fn);
  // Converts every floating-point parameter and buffer to `dtype`, in place: every handle to them
  // (the layers' members, an optimiser built before) sees the new values. Integer buffers (a batch
  // count) keep their dtype, as in PyTorch. Gradients are dropped.
  Module& to(DType dtype);
  virtual void train(bool on = true);  // propagates to children
  void eval() { train(false); }
  bool is_training() const { return training_; }
  void zero_grad();

  // ---- description
  // Class name shown in summaries ("Linear"); by default the C++ class name.
  virtual std::string type_name() const;
  // The constructor arguments worth showing ("in_features=784, out_features=10, bias=true").
  virtual std::string extra_repr() const { return {}; }
  // A table of every module: name, type and arguments, output shape (once the module has run),
  // and parameter counts, with the total at the end.
  std::string summary() const;
  const std::string& last_output_shape() const { return last_output_shape_; }
  // Records what a call returned, for summary(): called by operator() and nn::Shared's call.
  void note_output(const std::string& shape) { last_output_shape_ = shape; }

  // ---- forward hooks (PyTorch's register_forward_pre_hook / register_forward_hook) ---------
  // Hooks run when the module is called: module(x) (operator()), or through an nn::Shared handle
  // with any arguments (net(a, b)); calling ->forward(...) directly runs none, as in PyTorch.
  //
  //   inputs:  the call's arguments that are Tensors, in order (other arguments are passed through
  //            untouched and unseen);
  //   outputs: the Tensors of the result: the Tensor itself; the Tensor elements of a std::tuple
  //            or std::pair; every Tensor of a std::vector<Tensor>; none for other results.
  //
  // A pre-hook is called as hook(module, inputs) before forward; a forward hook as
  // hook(module, inputs, outputs) after it. Either may return nothing (void), a replacement Tensor
  // (for a call with exactly one input, or a result with one Tensor; an undefined Tensor keeps the
  // original), or std::optional<std::vector<Tensor>> replacing all of them (as many as it saw;
  // std::nullopt keeps them). Replaced inputs are what forward receives; replaced outputs are what
  // the caller receives (tuple elements are replaced in place). Hooks run in registration order,
  // each seeing the previous one's replacements.
  //   auto handle = model->fc1->register_forward_hook(
  //       [&](nn::Module&, const std::vector<Tensor>&, const std::vector<Tensor>& out) { seen = out[0]; });
  //   ...
  //   handle.remove();
  template <class Hook>
  HookHandle register_forward_pre_hook(Hook&& hook);
  template <class Hook>
  HookHandle register_forward_hook(Hook&& hook);
  bool has_forward_hooks() const;
  // The call path's steps (used by operator() and nn::Shared; a custom caller may use them too):
  // returns the inputs after every pre-hook, and the outputs after every forward hook (nullopt
  // when no hook replaced them).
  std::vector<Tensor> run_forward_pre_hooks(std::vector<Tensor> inputs);
  std::optional<std::vector<Tensor>> run_forward_hooks(const std::vector<Tensor>& inputs,
                                                       const std::vector<Tensor>& outputs);
  // ---- end forward hooks --------------------------------------------------------------------

 protected:
  void add_child(const std::string& name, std::shared_ptr<Module> module);

 private:
  void check_new_name(const std::string& name, const char* what) const;
  void collect_parameters(const std::string& prefix, bool recurse, std::vector<std::pair<std::string, Tensor>>& out) const;
  void collect_buffers(const std::string& prefix, bool recurse, std::vector<std::pair<std::string, Tensor>>& out) const;
  void collect_modules(const std::string& prefix, std::vector<std::pair<std::string, Module*>>& out);
  void summarise(const std::string& prefix, int depth, std::vector<std::vector<std::string>>& rows) const;

  std::vector<std::pair<std::string, Tensor>> parameters_;
  std::vector<std::pair<std::string, Tensor>> buffers_;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;
  bool training_ = true;
  std::string last_output_shape_;
  HookHandle add_forward_pre_hook(ForwardPreHook hook);
  HookHandle add_forward_hook(ForwardHook hook);
  std::shared_ptr<detail::ModuleHooks> hooks_;  // null until a hook is registered
};

namespace detail {
// "[2, 3]" for a tensor, "[2, 3], [4]" for a tuple or pair of tensors, "" for anything else.
// (Declared first, so that a tuple holding something else finds the catch-all.)
template <class... Ts>
std::string describe_output(const std::tuple<Ts...>& outputs);
template <class A, class B>
std::string describe_output(const std::pair<A, B>& outputs);
template <class T>
std::string describe_output(const T&);
inline std::string describe_output(const Tensor& output) { return output.defined() ? to_string(output.shape()) : ""; }
template <class... Ts>
std::string describe_output(const std::tuple<Ts...>& outputs) {
  std::string text;
  auto add = [&](const std::string& part) {
    if (!part.empty()) text += (text.empty() ? "" : ", ") + part;
  };
  std::apply([&](const auto&... each) { (add(describe_output(each)), ...); }, outputs);
  return text;
}
template <class A, class B>
std::string describe_output(const std::pair<A, B>& outputs) {
  return describe_output(std::tie(outputs.first, outputs.second));
}
template <class T>
std::string describe_output(const T&) {
  return "";
}
}  // namespace detail

// ---- forward hooks (the call path) ----------------------------------------------------------
namespace detail {

template <class T>
inline constexpr bool is_tensor_v = std::is_same_v<std::remove_cvref_t<T>, Tensor>;

// The arguments that are Tensors, in order.
template <class... Args>
std::vector<Tensor> tensor_arguments(const Args&... args) {
  std::vector<Tensor> out;
  (
      [&] {
        if constexpr (is_tensor_v<Args>) out.push_back(args);
      }(),
      ...);
  return out;
}

// For each argument, its index among the Tensor arguments (unused for the others).
template <class... Args>
constexpr std::array<size_t, sizeof...(Args)> tensor_positions() {
  std::array<size_t, sizeof...(Args)> positions{};
  size_t next = 0, index = 0;
  ((positions[index++] = is_tensor_v<Args> ? next++ : 0), ...);
  return positions;
}

// Argument I of the call: the (possibly replaced) Tensor for a Tensor argument, else the argument.
template <size_t Position, class Arg>
decltype(auto) hooked_argument(Arg&& argument, std::vector<Tensor>& tensors) {
  if constexpr (is_tensor_v<Arg>) {
    if constexpr (std::is_rvalue_reference_v<Arg&&>) {
      return std::move(tensors[Position]);
    } else {
      return (tensors[Position]);
    }
  } else {
    return std::forward<Arg>(argument);
  }
}

template <class M, class Arguments, size_t... I>
decltype(auto) forward_with(M& module, Arguments& arguments, std::vector<Tensor>& tensors, std::index_sequence<I...>) {
  constexpr auto positions = tensor_positions<std::tuple_element_t<I, Arguments>...>();
  return module.forward(hooked_argument<positions[I]>(std::get<I>(std::move(arguments)), tensors)...);
}

// The Tensors of a result, and writing replacements back.
inline void collect_tensors(const Tensor& output, std::vector<Tensor>& out) { out.push_back(output); }
inline void collect_tensors(const std::vector<Tensor>& output, std::vector<Tensor>& out) {
  out.insert(out.end(), output.begin(), output.end());
}
template <class... Ts>
void collect_tensors(const std::tuple<Ts...>& output, std::vector<Tensor>& out) {
  std::apply(
      [&](const auto&... each) {
        (
            [&] {
              if constexpr (is_tensor_v<decltype(each)>) out.push_back(each);
            }(),
            ...);
      },
      output);
}
template <class A, class B>
void collect_tensors(const std::pair<A, B>& output, std::vector<Tensor>& out) {
  if constexpr (is_tensor_v<A>) out.push_back(output.first);
  if constexpr (is_tensor_v<B>) out.push_back(output.second);
}
template <class T>
void collect_tensors(const T&, std::vector<Tensor>&) {}

inline void replace_tensors(Tensor& output, const std::vector<Tensor>& tensors, size_t& next) {
  output = tensors[next++];
}
inline void replace_tensors(std::vector<Tensor>& output, const std::vector<Tensor>& tensors, size_t& next) {
  for (Tensor& each : output) each = tensors[next++];
}
template <class... Ts>
void replace_tensors(std::tuple<Ts...>& output, const std::vector<Tensor>& tensors, size_t& next) {
  std::apply(
      [&](auto&... each) {
        (
            [&] {
              if constexpr (is_tensor_v<decltype(each)>) each = tensors[next++];
            }(),
            ...);
      },
      output);
}
template <class A, class B>
void replace_tensors(std::pair<A, B>& output, const std::vector<Tensor>& tensors, size_t& next) {
  if constexpr (is_tensor_v<A>) output.first = tensors[next++];
  if constexpr (is_tensor_v<B>) output.second = tensors[next++];
}
template <class T>
void replace_tensors(T&, const std::vector<Tensor>&, size_t&) {}

// A module call with hooks: pre-hooks, forward with the (replaced) Tensor arguments, forward hooks.
template <class M, class... Args>
auto call_with_hooks(M& module, Args&&... args) {
  Module& base = module;
  std::vector<Tensor> inputs = base.run_forward_pre_hooks(tensor_arguments(args...));
  auto arguments = std::forward_as_tuple(std::forward<Args>(args)...);
  using Result = decltype(module.forward(std::forward<Args>(args)...));
  if constexpr (std::is_void_v<Result>) {
    forward_with(module, arguments, inputs, std::index_sequence_for<Args...>{});
    base.run_forward_hooks(inputs, {});
  } else {
    std::remove_cvref_t<Result> output = forward_with(module, arguments, inputs, std::index_sequence_for<Args...>{});
    std::vector<Tensor> outputs;
    collect_tensors(output, outputs);
    if (auto replaced = base.run_forward_hooks(inputs, outputs)) {
      size_t next = 0;
      replace_tensors(output, *replaced, next);
    }
    base.note_output(describe_output(output));
    return output;
  }
}

// Wraps a user's hook (returning void, a Tensor, or optional<vector<Tensor>>) as the stored type.
template <class Hook>
ForwardPreHook as_pre_hook(Hook hook) {
  using R = std::invoke_result_t<Hook&, Module&, const std::vector<Tensor>&>;
  if constexpr (std::is_void_v<R>) {
    return [hook = std::move(hook)](Module& module, const std::vector<Tensor>& inputs) mutable
           -> std::optional<std::vector<Tensor>> {
      hook(module, inputs);
      return std::nullopt;
    };
  } else if constexpr (std::is_same_v<std::remove_cvref_t<R>, Tensor>) {
    return [hook = std::move(hook)](Module& module, const std::vector<Tensor>& inputs) mutable
           -> std::optional<std::vector<Tensor>> {
      Tensor replacement = hook(module, inputs);
      if (!replacement.defined()) return std::nullopt;
      return std::vector<Tensor>{std::move(replacement)};
    };
  } else {
    return ForwardPreHook(std::move(hook));
  }
}

template <class Hook>
ForwardHook as_forward_hook(Hook hook) {
  using R = std::invoke_result_t<Hook&, Module&, const std::vector<Tensor>&, const std::vector<Tensor>&>;
  if constexpr (std::is_void_v<R>) {
    return [hook = std::move(hook)](Module& module, const std::vector<Tensor>& inputs,
                                    const std::vector<Tensor>& outputs) mutable -> std::optional<std::vector<Tensor>> {
      hook(module, inputs, outputs);
      return std::nullopt;
    };
  } else if constexpr (std::is_same_v<std::remove_cvref_t<R>, Tensor>) {
    return [hook = std::move(hook)](Module& module, const std::vector<Tensor>& inputs,
                                    const std::vector<Tensor>& outputs) mutable -> std::optional<std::vector<Tensor>> {
      Tensor replacement = hook(module, inputs, outputs);
      if (!replacement.defined()) return std::nullopt;
      return std::vector<Tensor>{std::move(replacement)};
    };
  } else {
    return ForwardHook(std::move(hook));
  }
}

}  // namespace detail

template <class Hook>
HookHandle Module::register_forward_pre_hook(Hook&& hook) {
  return add_forward_pre_hook(detail::as_pre_hook(std::forward<Hook>(hook)));
}

template <class Hook>
HookHandle Module::register_forward_hook(Hook&& hook) {
  return add_forward_hook(detail::as_forward_hook(std::forward<Hook>(hook)));
}
// ---- end forward hooks (the call path) ------------------------------------------------------

template <class M>
template <class... Args>
decltype(auto) Shared<M>::operator()(Args&&... args) const {
  M* module = this->get();
  if (module == nullptr) fail("nn::Shared: called a module handle that holds no module (construct or assign it first)");
  if constexpr (std::is_void_v<decltype(module->forward(std::forward<Args>(args)...))>) {
    if (static_cast<const Module*>(module)->has_forward_hooks()) {
      detail::call_with_hooks(*module, std::forward<Args>(args)...);
    } else {
      module->forward(std::forward<Args>(args)...);
    }
  } else {
    if (static_cast<const Module*>(module)->has_forward_hooks()) {
      return detail::call_with_hooks(*module, std::forward<Args>(args)...);
    }
    auto output = module->forward(std::forward<Args>(args)...);
    static_cast<Module*>(module)->note_output(detail::describe_output(output));
    return output;
  }
}

// Runs its children in order, each one's output feeding the next. Children are named "0", "1", ...
//   nn::Sequential model{nn::Linear(784, 30), nn::Sigmoid(), nn::Linear(30, 10)};
class Sequential : public Module {
 public:
  Sequential() = default;
  // Any mix of module values and shared pointers to modules, in order.
  template <ModuleArgument... Ms>
    requires(sizeof...(Ms) > 0)
  explicit(sizeof...(Ms) == 1) Sequential(Ms&&... modules) {
    (push_back(std::forward<Ms>(modules)), ...);
  }
  explicit Sequential(const std::vector<std::shared_ptr<Module>>& modules);

  // Appends a module (named by its position).
  Sequential& push_back(std::shared_ptr<Module> module);
  Sequential& push_back(const std::string& name, std::shared_ptr<Module> module);
  template <ModuleValue M>
  Sequential& push_back(M&& module) {
    return push_back(std::shared_ptr<Module>(std::make_shared<std::remove_cvref_t<M>>(std::forward<M>(module))));
  }
  size_t size() const { return named_children().size(); }
  std::shared_ptr<Module> operator[](size_t index) const;

  Tensor forward(const Tensor& input) override;
  std::string type_name() const override { return "Sequential"; }
};

// Holds modules in a list, named "0", "1", ..., for a model to use as it likes (it has no
// forward of its own): a stack of blocks looped over in a user forward.
class ModuleList : public Module {
 public:
  ModuleList() = default;
  template <ModuleArgument... Ms>
    requires(sizeof...(Ms) > 0)
  explicit(sizeof...(Ms) == 1) ModuleList(Ms&&... modules) {
    (push_back(std::forward<Ms>(modules)), ...);
  }

  ModuleList& push_back(std::shared_ptr<Module> module);
  template <ModuleValue M>
  ModuleList& push_back(M&& module) {
    return push_back(std::shared_ptr<Module>(std::make_shared<std::remove_cvref_t<M>>(std::forward<M>(module))));
  }
  size_t size() const { return named_children().size(); }
  bool empty() const { return size() == 0; }
  std::shared_ptr<Module> operator[](size_t index) const;
  // The module at `index` as its own type (an error naming both types when it is another).
  template <class M>
  Shared<M> at(size_t index) const;
  // Iterates the held modules (as std::shared_ptr<Module>).
  std::vector<std::shared_ptr<Module>>::const_iterator begin() const { return modules_.begin(); }
  std::vector<std::shared_ptr<Module>>::const_iterator end() const { return modules_.end(); }

  std::string type_name() const override { return "ModuleList"; }

 private:
  std::vector<std::shared_ptr<Module>> modules_;
};

// Holds modules by name, in insertion order (PyTorch's ModuleDict).
class ModuleDict : public Module {
 public:
  ModuleDict() = default;
  explicit ModuleDict(const std::vector<std::pair<std::string, std::shared_ptr<Module>>>& modules);

  ModuleDict& insert(const std::string& key, std::shared_ptr<Module> module);
  template <ModuleValue M>
  ModuleDict& insert(const std::string& key, M&& module) {
    return insert(key, std::shared_ptr<Module>(std::make_shared<std::remove_cvref_t<M>>(std::forward<M>(module))));
  }
  bool contains(const std::string& key) const;
  size_t size() const { return named_children().size(); }
  std::vector<std::string> keys() const;
  std::shared_ptr<Module> operator[](const std::string& key) const;
  template <class M>
  Shared<M> at(const std::string& key) const;

  std::string type_name() const override { return "ModuleDict"; }
};

// Returns its input unchanged: a placeholder where a model takes an optional layer.
class Identity : public Module {
 public:
  Tensor forward(const Tensor& input) override { return input; }
  std::string type_name() const override { return "Identity"; }
};

namespace detail {
[[noreturn]] void throw_module_type(const std::string& where, const Module& found, const char* wanted);
}  // namespace detail

template <class M>
Shared<M> ModuleList::at(size_t index) const {
  std::shared_ptr<Module> module = (*this)[index];
  auto typed = std::dynamic_pointer_cast<M>(module);
  if (!typed) detail::throw_module_type(fmt::format("ModuleList::at({})", index), *module, typeid(M).name());
  return Shared<M>(std::move(typed));
}

template <class M>
Shared<M> ModuleDict::at(const std::string& key) const {
  std::shared_ptr<Module> module = (*this)[key];
  auto typed = std::dynamic_pointer_cast<M>(module);
  if (!typed) detail::throw_module_type(fmt::format("ModuleDict::at(\"{}\")", key), *module, typeid(M).name());
  return Shared<M>(std::move(typed));
}

}  // namespace nabla::nn
