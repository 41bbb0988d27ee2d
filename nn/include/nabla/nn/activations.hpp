#pragma once
// The activations of issue 13, as PyTorch's: Softplus, SiLU, Mish, ELU, SELU, CELU, PReLU,
// Hardtanh, ReLU6, Hardsigmoid, Hardswish, LogSigmoid, Softsign, Tanhshrink, Threshold and GLU,
// each a module and a function of nn::functional with PyTorch's options, defaults and gradients at
// the kinks. The unparameterised point-wise ones are ops of nabla/tensor/pointwise.def
// (nabla::silu, ...), which nn::functional names too; the parameterised ones are composed here.
// (ReLU, LeakyReLU, Sigmoid, Tanh, GELU, Softmax and LogSoftmax are in layers.hpp.)
#include <cstdint>
#include <string>

#include "nabla/nn/functional.hpp"
#include "nabla/nn/module.hpp"

namespace nabla::nn::functional {

// The point-wise ops, under their nn::functional names (F.silu is nabla::silu).
using nabla::hardsigmoid;
using nabla::hardswish;
using nabla::log_sigmoid;
using nabla::mish;
using nabla::relu;
using nabla::relu6;
using nabla::selu;
using nabla::sigmoid;
using nabla::silu;
using nabla::softsign;
using nabla::tanh;
using nabla::tanhshrink;
// PyTorch's functional name for log_sigmoid.
inline Tensor logsigmoid(const Tensor& x) { return log_sigmoid(x); }

// log(1 + exp(beta x)) / beta, and x itself where beta x > threshold (for stability).
Tensor softplus(const Tensor& x, double beta = 1.0, double threshold = 20.0);
// x where x > 0, else alpha (exp(x) - 1); the gradient at 0 is alpha, as PyTorch's.
Tensor elu(const Tensor& x, double alpha = 1.0);
// max(0, x) + min(0, alpha (exp(x / alpha) - 1)); alpha must not be 0.
Tensor celu(const Tensor& x, double alpha = 1.0);
// x where x > 0, else weight * x: weight has 1 element, or one per channel (axis 1 of x).
// At 0 the input's gradient is the weight, as PyTorch's.
Tensor prelu(const Tensor& x, const Tensor& weight);
// x clamped to [min_val, max_val], with gradient 0 at the bounds themselves (PyTorch's; clamp's
// gradient is 1 there).
Tensor hardtanh(const Tensor& x, double min_val = -1.0, double max_val = 1.0);
// x where x > threshold, else value (gradient 0 at the threshold).
Tensor threshold(const Tensor& x, double threshold, double value);
// The gated linear unit: a * sigmoid(b), a and b the halves of x along `dim` (whose size must be even).
Tensor glu(const Tensor& x, int64_t dim = -1);

}  // namespace nabla::nn::functional

namespace nabla::nn {

class SiLU : public Module {
 public:
  Tensor forward(const Tensor& input) override { return silu(input); }
  std::string type_name() const override { return "SiLU"; }
};

class Mish : public Module {
 public:
  Tensor forward(const Tensor& input) override { return mish(input); }
  std::string type_name() const override { return "Mish"; }
};

class SELU : public Module {
 public:
  Tensor forward(const Tensor& input) override { return selu(input); }
  std::string type_name() const override { return "SELU"; }
};

class ReLU6 : public Module {
 public:
  Tensor forward(const Tensor& input) override { return relu6(input); }
  std::string type_name() const override { return "ReLU6"; }
};

class Hardsigmoid : public Module {
 public:
  Tensor forward(const Tensor& input) override { return hardsigmoid(input); }
  std::string type_name() const override { return "Hardsigmoid"; }
};

class Hardswish : public Module {
 public:
  Tensor forward(const Tensor& input) override { return hardswish(input); }
  std::string type_name() const override { return "Hardswish"; }
};

class LogSigmoid : public Module {
 public:
  Tensor forward(const Tensor& input) override { return log_sigmoid(input); }
  std::string type_name() const override { return "LogSigmoid"; }
};

class Softsign : public Module {
 public:
  Tensor forward(const Tensor& input) override { return softsign(input); }
  std::string type_name() const override { return "Softsign"; }
};

class Tanhshrink : public Module {
 public:
  Tensor forward(const Tensor& input) override { return tanhshrink(input); }
  std::string type_name() const override { return "Tanhshrink"; }
};

class Softplus : public Module {
 public:
  explicit Softplus(double beta = 1.0, double threshold = 20.0);
  Tensor forward(const Tensor& input) override { return functional::softplus(input, beta_, threshold_); }
  std::string type_name() const override { return "Softplus"; }
  std::string extra_repr() const override;

 private:
  double beta_, threshold_;
};

class ELU : public Module {
 public:
  explicit ELU(double alpha = 1.0) : alpha_(alpha) {}
  Tensor forward(const Tensor& input) override { return functional::elu(input, alpha_); }
  std::string type_name() const override { return "ELU"; }
  std::string extra_repr() const override;

 private:
  double alpha_;
};

class CELU : public Module {
 public:
  explicit CELU(double alpha = 1.0);
  Tensor forward(const Tensor& input) override { return functional::celu(input, alpha_); }
  std::string type_name() const override { return "CELU"; }
  std::string extra_repr() const override;

 private:
  double alpha_;
};

// Learnable leaky slope: weight [num_parameters] (1, or the input's channel count), every element
// initialised to `init`.
class PReLU : public Module {
 public:
  explicit PReLU(int64_t num_parameters = 1, double init = 0.25);
  Tensor forward(const Tensor& input) override { return functional::prelu(input, weight); }
  std::string type_name() const override { return "PReLU"; }
  std::string extra_repr() const override;
  Tensor weight;
};

class Hardtanh : public Module {
 public:
  explicit Hardtanh(double min_val = -1.0, double max_val = 1.0);
  Tensor forward(const Tensor& input) override { return functional::hardtanh(input, min_val_, max_val_); }
  std::string type_name() const override { return "Hardtanh"; }
  std::string extra_repr() const override;

 private:
  double min_val_, max_val_;
};

class Threshold : public Module {
 public:
  Threshold(double threshold, double value) : threshold_(threshold), value_(value) {}
  Tensor forward(const Tensor& input) override { return functional::threshold(input, threshold_, value_); }
  std::string type_name() const override { return "Threshold"; }
  std::string extra_repr() const override;

 private:
  double threshold_, value_;
};

class GLU : public Module {
 public:
  explicit GLU(int64_t dim = -1) : dim_(dim) {}
  Tensor forward(const Tensor& input) override { return functional::glu(input, dim_); }
  std::string type_name() const override { return "GLU"; }
  std::string extra_repr() const override;

 private:
  int64_t dim_;
};

}  // namespace nabla::nn
