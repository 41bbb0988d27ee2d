#pragma once
// Dropout variants of issue 13, as PyTorch's (plain Dropout is in layers.hpp): Dropout1d/2d/3d
// zero whole channels (every position of x[n, c] together) and scale the rest by 1 / (1 - p);
// AlphaDropout and FeatureAlphaDropout are SELU's dropout, which sets dropped values to SELU's
// negative saturation and scales and shifts so that zero-mean, unit-variance inputs keep their
// mean and variance. All are the identity in eval(), and draw from their own generator when given
// a seed.
#include <cstdint>
#include <optional>
#include <string>

#include "nabla/nn/module.hpp"

namespace nabla::nn::functional {

// Channel dropout of [N, C, L] or unbatched [C, L].
Tensor dropout1d(const Tensor& x, double p = 0.5, bool training = true, Generator& generator = default_generator());
// Channel dropout of [N, C, H, W]; a 3-d input is taken as [N, C, L] (PyTorch 1.13's rule).
Tensor dropout2d(const Tensor& x, double p = 0.5, bool training = true, Generator& generator = default_generator());
// Channel dropout of [N, C, D, H, W] or unbatched [C, D, H, W].
Tensor dropout3d(const Tensor& x, double p = 0.5, bool training = true, Generator& generator = default_generator());
// Element-wise alpha dropout. As in PyTorch, training defaults to false in the functional form.
Tensor alpha_dropout(const Tensor& x, double p = 0.5, bool training = false,
                     Generator& generator = default_generator());
// Alpha dropout of whole channels of [N, C, ...].
Tensor feature_alpha_dropout(const Tensor& x, double p = 0.5, bool training = false,
                             Generator& generator = default_generator());

}  // namespace nabla::nn::functional

namespace nabla::nn {

// What the dropout variants share: the probability and an optional generator of their own.
class DropoutLayer : public Module {
 public:
  DropoutLayer(double p, std::optional<uint64_t> seed, const char* name);
  std::string extra_repr() const override;
  Generator& generator() { return own_generator_ ? *own_generator_ : default_generator(); }
  double p() const { return p_; }

 private:
  double p_;
  std::optional<Generator> own_generator_;
};

class Dropout1d : public DropoutLayer {
 public:
  explicit Dropout1d(double p = 0.5, std::optional<uint64_t> seed = std::nullopt) : DropoutLayer(p, seed, "Dropout1d") {}
  Tensor forward(const Tensor& input) override {
    return functional::dropout1d(input, p(), is_training(), generator());
  }
  std::string type_name() const override { return "Dropout1d"; }
};

class Dropout2d : public DropoutLayer {
 public:
  explicit Dropout2d(double p = 0.5, std::optional<uint64_t> seed = std::nullopt) : DropoutLayer(p, seed, "Dropout2d") {}
  Tensor forward(const Tensor& input) override {
    return functional::dropout2d(input, p(), is_training(), generator());
  }
  std::string type_name() const override { return "Dropout2d"; }
};

class Dropout3d : public DropoutLayer {
 public:
  explicit Dropout3d(double p = 0.5, std::optional<uint64_t> seed = std::nullopt) : DropoutLayer(p, seed, "Dropout3d") {}
  Tensor forward(const Tensor& input) override {
    return functional::dropout3d(input, p(), is_training(), generator());
  }
  std::string type_name() const override { return "Dropout3d"; }
};

class AlphaDropout : public DropoutLayer {
 public:
  explicit AlphaDropout(double p = 0.5, std::optional<uint64_t> seed = std::nullopt)
      : DropoutLayer(p, seed, "AlphaDropout") {}
  Tensor forward(const Tensor& input) override {
    return functional::alpha_dropout(input, p(), is_training(), generator());
  }
  std::string type_name() const override { return "AlphaDropout"; }
};

class FeatureAlphaDropout : public DropoutLayer {
 public:
  explicit FeatureAlphaDropout(double p = 0.5, std::optional<uint64_t> seed = std::nullopt)
      : DropoutLayer(p, seed, "FeatureAlphaDropout") {}
  Tensor forward(const Tensor& input) override {
    return functional::feature_alpha_dropout(input, p(), is_training(), generator());
  }
  std::string type_name() const override { return "FeatureAlphaDropout"; }
};

}  // namespace nabla::nn
