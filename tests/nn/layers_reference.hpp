#pragma once
// PyTorch's numbers for the issue-13 layers (tests/nn/reference/layers_reference.py made them with
// torch 1.13), shared by test_activations.cpp, test_embedding.cpp and test_normalization.cpp:
// case label -> name ("input", "output", "grad input", ...) -> values, flattened.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "nabla/nn.hpp"

namespace layers_reference {

using Case = std::map<std::string, std::vector<double>>;

// Every case of layers_reference.inc (compiled once, in layers_reference.cpp).
const std::map<std::string, Case>& cases();

inline const Case& get(const std::string& label) {
  INFO("reference case " << label);
  REQUIRE(cases().count(label) == 1);
  return cases().at(label);
}

inline const std::vector<double>& values(const Case& c, const std::string& name) {
  INFO("reference values " << name);
  REQUIRE(c.count(name) == 1);
  return c.at(name);
}

// The named values as a float64 tensor of `shape` (or int64, for indices).
inline nabla::Tensor tensor_of(const Case& c, const std::string& name, const nabla::Shape& shape,
                               nabla::DType dtype = nabla::float64) {
  return nabla::from_vector(values(c, name), shape).to(dtype);
}

// cos(0.11 j): the weights of the reference loss sum(output * w).
inline nabla::Tensor loss_weights(const nabla::Shape& shape) {
  std::vector<double> w(static_cast<size_t>(nabla::shape_numel(shape)));
  for (size_t j = 0; j < w.size(); ++j) w[j] = std::cos(0.11 * static_cast<double>(j));
  return nabla::from_vector(w, shape);
}

inline nabla::Tensor reference_loss(const nabla::Tensor& output) {
  return (output * loss_weights(output.shape()).to(output.dtype())).sum();
}

// |actual - expected| <= tolerance * max(1, |expected|) everywhere.
inline void check_close(const nabla::Tensor& actual, const std::vector<double>& expected, const std::string& what,
                        double tolerance = 1e-12) {
  INFO(what);
  REQUIRE(actual.defined());
  REQUIRE(actual.numel() == static_cast<int64_t>(expected.size()));
  const std::vector<double> got = actual.to_vector<double>();
  double worst = 0.0;
  size_t worst_at = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    const double error = std::abs(got[i] - expected[i]) / std::max(1.0, std::abs(expected[i]));
    if (!(error <= worst)) {
      worst = error;
      worst_at = i;
    }
  }
  INFO("worst relative error " << worst << " at element " << worst_at << ": " << got[worst_at] << " vs torch "
                               << expected[worst_at]);
  CHECK(worst <= tolerance);
}

// Fills parameter k of a module (in named_parameters() order) with 0.3 sin(0.7 j + 1.3 k), as the
// generator does.
inline void fill_parameters(nabla::nn::Module& module) {
  int64_t k = 0;
  for (const auto& [name, parameter] : module.named_parameters()) {
    std::vector<double> v(static_cast<size_t>(parameter.numel()));
    for (size_t j = 0; j < v.size(); ++j) v[j] = 0.3 * std::sin(0.7 * static_cast<double>(j) + 1.3 * static_cast<double>(k));
    nabla::NoGradGuard no_grad;
    parameter.raw().copy_(nabla::from_vector(v, parameter.shape()).raw());
    ++k;
  }
}

}  // namespace layers_reference
