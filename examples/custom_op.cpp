// custom_op: adding a differentiable op from outside the library, and checking it.
//
// An op is a function on Variables that (1) computes its forward on tensors and (2) records a
// backward formula with nabla::record. The formula maps the gradient of the output to one
// gradient per input, and is written with nabla's differentiable ops, so gradients of gradients
// come for free. nabla::autograd::gradcheck then compares it with finite differences.
#include <nabla/nabla.hpp>

using namespace nabla;

// softplus(x) = log(1 + exp(x)), computed stably as max(x, 0) + log(1 + exp(-|x|)).
// Its derivative is sigmoid(x).
Tensor softplus(const Tensor& x) {
  const kernels::Tensor& v = x.raw();
  kernels::Tensor out = kernels::add(kernels::relu(v), kernels::log(kernels::add(kernels::exp(kernels::neg(kernels::abs(v))), 1.0)));
  return record("softplus", {x}, std::move(out), [saved = save(x)](const Tensor& grad) {
    // save() remembers x's version: changing x in place before backward is reported, not silently wrong.
    return Gradients{grad * sigmoid(saved.get())};
  });
}

int main() {
  // Use it like any op.
  Tensor x = tensor({-2, -0.5, 0, 1.5, 30}, {5}, float64).requires_grad_();
  Tensor y = sum(softplus(x));
  y.backward();
  fmt::print("softplus(x)      = {}\n", softplus(x.detach()));
  fmt::print("d/dx (= sigmoid) = {}\n", x.grad());

  // Check the formula against central differences (float64), first and second derivatives.
  Generator generator(7);
  const std::vector<Tensor> inputs{randn({3, 4}, float64, generator)};
  auto fn = [](const std::vector<Tensor>& v) { return softplus(v[0]); };
  const auto first = autograd::gradcheck(fn, inputs);
  const auto second = autograd::gradgradcheck(fn, inputs);
  fmt::print("gradcheck: {}, gradgradcheck: {}\n", first.passed ? "passed" : first.report,
             second.passed ? "passed" : second.report);
  return first.passed && second.passed ? 0 : 1;
}
