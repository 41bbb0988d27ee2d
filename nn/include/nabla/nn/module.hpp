#pragma once
// Module: the base of every layer and model. A module registers its parameters (Variables that
// require grad), buffers (Tensors saved with the model but not trained, like batch-norm running
// statistics) and child modules by name; names nest with dots ("features.0.weight").
//
//   struct Net : nabla::nn::Module {
//     std::shared_ptr<nn::Linear> fc1, fc2;
//     Net() {
//       fc1 = register_module("fc1", std::make_shared<nn::Linear>(784, 128));
//       fc2 = register_module("fc2", std::make_shared<nn::Linear>(128, 10));
//     }
//     Tensor forward(const Tensor& x) override { return (*fc2)(relu((*fc1)(x))); }
//   };
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "nabla/autograd.hpp"

namespace nabla::nn {

class Module {
 public:
  Module() = default;
  virtual ~Module() = default;
  Module(const Module&) = delete;  // modules are shared by pointer: copies would alias parameters
  Module& operator=(const Module&) = delete;

  // The computation. Modules with other signatures define their own and leave this one alone.
  virtual Tensor forward(const Tensor& input);
  // Calls forward and remembers the output's shape for summary().
  Tensor operator()(const Tensor& input);

  // ---- registration (returns a handle sharing the registered value)
  Tensor register_parameter(const std::string& name, const Tensor& value, bool requires_grad = true);
  Tensor register_buffer(const std::string& name, const Tensor& value);
  template <class M>
  std::shared_ptr<M> register_module(const std::string& name, std::shared_ptr<M> module) {
    add_child(name, module);
    return module;
  }

  // ---- inspection
  std::vector<Tensor> parameters(bool recurse = true) const;
  std::vector<std::pair<std::string, Tensor>> named_parameters(bool recurse = true) const;
  std::vector<Tensor> buffers(bool recurse = true) const;
  std::vector<std::pair<std::string, Tensor>> named_buffers(bool recurse = true) const;
  std::vector<std::shared_ptr<Module>> children() const;
  const std::vector<std::pair<std::string, std::shared_ptr<Module>>>& named_children() const { return children_; }
  int64_t parameter_count() const;

  // ---- mode and gradients
  virtual void train(bool on = true);  // propagates to children
  void eval() { train(false); }
  bool is_training() const { return training_; }
  void zero_grad();

  // ---- description
  // Class name shown in summaries ("Linear").
  virtual std::string type_name() const { return "Module"; }
  // The constructor arguments worth showing ("in_features=784, out_features=10, bias=true").
  virtual std::string extra_repr() const { return {}; }
  // A table of every module: name, type and arguments, output shape (once the module has run),
  // and parameter counts, with the total at the end.
  std::string summary() const;
  const Shape& last_output_shape() const { return last_output_shape_; }

 protected:
  void add_child(const std::string& name, std::shared_ptr<Module> module);

 private:
  void check_new_name(const std::string& name, const char* what) const;
  void collect_parameters(const std::string& prefix, bool recurse, std::vector<std::pair<std::string, Tensor>>& out) const;
  void collect_buffers(const std::string& prefix, bool recurse, std::vector<std::pair<std::string, Tensor>>& out) const;
  void summarise(const std::string& prefix, int depth, std::vector<std::vector<std::string>>& rows) const;

  std::vector<std::pair<std::string, Tensor>> parameters_;
  std::vector<std::pair<std::string, Tensor>> buffers_;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;
  bool training_ = true;
  Shape last_output_shape_;
  bool has_run_ = false;
};

// Runs its children in order, each one's output feeding the next. Children are named "0", "1", ...
class Sequential : public Module {
 public:
  Sequential() = default;
  Sequential(std::initializer_list<std::shared_ptr<Module>> modules);
  explicit Sequential(const std::vector<std::shared_ptr<Module>>& modules);

  // Appends a module (named by its position).
  Sequential& push_back(std::shared_ptr<Module> module);
  Sequential& push_back(const std::string& name, std::shared_ptr<Module> module);
  size_t size() const { return named_children().size(); }
  std::shared_ptr<Module> operator[](size_t index) const;

  Tensor forward(const Tensor& input) override;
  std::string type_name() const override { return "Sequential"; }
};

}  // namespace nabla::nn
