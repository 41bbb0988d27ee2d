#pragma once
// Optimisers. Each holds handles to the parameters it updates and per-parameter state (momentum
// buffers, Adam moments). step() reads each parameter's grad() and updates its storage in place,
// without recording on the tape, in one tight loop per parameter. Parameters without a gradient
// (unused in the last backward) are skipped.
#include <map>
#include <string>
#include <vector>

#include "nabla/autograd.hpp"

namespace nabla::nn {

class Optimizer {
 public:
  explicit Optimizer(std::vector<Tensor> parameters, double lr);
  virtual ~Optimizer() = default;

  virtual void step() = 0;
  // Sets every parameter's gradient back to undefined.
  void zero_grad();

  double lr() const { return lr_; }
  void set_lr(double lr);
  const std::vector<Tensor>& parameters() const { return parameters_; }
  virtual std::string type_name() const = 0;

  // All state needed to resume exactly: named tensors ("step", "0.exp_avg", ...) including the
  // hyper-parameters that schedules change (lr). load_state refuses state from another optimiser
  // type or for parameters of other shapes, and changes nothing when it refuses.
  std::map<std::string, Tensor> state() const;
  void load_state(const std::map<std::string, Tensor>& state);

 protected:
  // Per-parameter state tensors, created zero-filled on first use; `name` like "exp_avg".
  kernels::Tensor& buffer(size_t parameter_index, const std::string& name);
  int64_t step_count_ = 0;

 private:
  std::vector<Tensor> parameters_;
  double lr_;
  std::vector<std::map<std::string, kernels::Tensor>> buffers_;
};

struct SGDOptions {
  double lr = 0.01;
  double momentum = 0.0;
  double dampening = 0.0;
  double weight_decay = 0.0;
  bool nesterov = false;
};

// Stochastic gradient descent with PyTorch's momentum, dampening, Nesterov and L2 weight decay.
class SGD : public Optimizer {
 public:
  SGD(std::vector<Tensor> parameters, const SGDOptions& options);
  SGD(std::vector<Tensor> parameters, double lr) : SGD(std::move(parameters), SGDOptions{.lr = lr}) {}
  void step() override;
  std::string type_name() const override { return "SGD"; }

 private:
  SGDOptions options_;
};

struct AdamOptions {
  double lr = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0.0;  // Adam: added to the gradient (L2); AdamW: decoupled
  bool amsgrad = false;
};

class Adam : public Optimizer {
 public:
  Adam(std::vector<Tensor> parameters, const AdamOptions& options);
  Adam(std::vector<Tensor> parameters, double lr) : Adam(std::move(parameters), AdamOptions{.lr = lr}) {}
  void step() override;
  std::string type_name() const override { return decoupled_ ? "AdamW" : "Adam"; }

 protected:
  Adam(std::vector<Tensor> parameters, const AdamOptions& options, bool decoupled);

 private:
  AdamOptions options_;
  bool decoupled_;
};

// Adam with decoupled weight decay (p -= lr * weight_decay * p before the Adam update).
class AdamW : public Adam {
 public:
  AdamW(std::vector<Tensor> parameters, const AdamOptions& options) : Adam(std::move(parameters), options, true) {}
};

struct RMSpropOptions {
  double lr = 1e-2;
  double alpha = 0.99;
  double eps = 1e-8;
  double weight_decay = 0.0;
  double momentum = 0.0;
  bool centered = false;
};

class RMSprop : public Optimizer {
 public:
  RMSprop(std::vector<Tensor> parameters, const RMSpropOptions& options);
  void step() override;
  std::string type_name() const override { return "RMSprop"; }

 private:
  RMSpropOptions options_;
};

}  // namespace nabla::nn
