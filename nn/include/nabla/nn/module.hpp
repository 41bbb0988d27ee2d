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
#include <map>
#include <memory>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "nabla/autograd.hpp"

namespace nabla::nn {

class Module;

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
};

namespace detail {
// "[2, 3]" for a tensor, "[2, 3], [4]" for a tuple or pair of tensors, "" for anything else.
inline std::string describe_output(const Tensor& output) { return output.defined() ? to_string(output.shape()) : ""; }
template <class... Ts>
std::string describe_output(const std::tuple<Ts...>& outputs) {
  std::string text;
  std::apply([&](const auto&... each) { ((text += (text.empty() ? "" : ", ") + describe_output(each)), ...); }, outputs);
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

template <class M>
template <class... Args>
decltype(auto) Shared<M>::operator()(Args&&... args) const {
  M* module = this->get();
  if (module == nullptr) fail("nn::Shared: called a module handle that holds no module (construct or assign it first)");
  if constexpr (std::is_void_v<decltype(module->forward(std::forward<Args>(args)...))>) {
    module->forward(std::forward<Args>(args)...);
  } else {
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
