#pragma once
// Checks analytic gradients against central finite differences, in float64.
#include <functional>
#include <string>
#include <vector>

#include "nabla/autograd/tensor.hpp"

namespace nabla::autograd {

struct GradcheckOptions {
  double eps = 1e-6;   // finite-difference step
  double atol = 1e-5;  // pass when |analytic - numeric| <= atol + rtol * |numeric|
  double rtol = 1e-3;
  // float32 inputs are refused (their rounding swamps a 1e-6 step); set this to check a float32
  // op by running it on float64 copies of the inputs instead.
  bool cast_to_float64 = false;
  bool raise_on_failure = true;  // throw an Error with the report instead of returning it
};

struct GradcheckResult {
  bool passed = true;
  std::string report;  // on failure: which input, which element, analytic, numeric, error
  double max_abs_analytic = 0.0;  // largest analytic Jacobian entry: 0 means every gradient was zero
  explicit operator bool() const { return passed; }
};

using DifferentiableFunction = std::function<Tensor(const std::vector<Tensor>&)>;

// Compares the Jacobian of fn at `inputs` (every element of every input) computed by backward
// with the one from central differences.
GradcheckResult gradcheck(const DifferentiableFunction& fn, const std::vector<Tensor>& inputs,
                          GradcheckOptions options = {});

// Checks second derivatives: gradcheck of the map (inputs, v) -> grad(fn(inputs), inputs, v)
// computed with create_graph, for a fixed random v.
GradcheckResult gradgradcheck(const DifferentiableFunction& fn, const std::vector<Tensor>& inputs,
                              GradcheckOptions options = {});

}  // namespace nabla::autograd
