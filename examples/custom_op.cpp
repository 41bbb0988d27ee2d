// custom_op: adding a differentiable op from outside the library, and checking it.
//
// An op is a function on Tensors that (1) computes its forward without recording it and (2)
// records itself, with its backward formula, through nabla::record. The formula maps the gradient of the output to one
// gradient per input, and is written with nabla's differentiable ops, so gradients of gradients
// come for free. nabla::autograd::gradcheck then compares it with finite differences.
#include <nabla/nabla.hpp>

#include <cli.hpp>  // examples/common: --help, --version, errors as one line

using namespace nabla;

// The example's op lives in its own namespace, so that it never clashes with a library op of the
// same name.
namespace custom_op {

// softplus(x) = log(1 + exp(x)), computed stably as max(x, 0) + log(1 + exp(-|x|)).
// Its derivative is sigmoid(x).
Tensor softplus(const Tensor& x) {
  // The forward: plain computation, under NoGradGuard so that none of these ops is recorded...
  Tensor out;
  {
    NoGradGuard no_grad;
    out = relu(x) + log(exp(-abs(x)) + 1.0);
  }
  // ...then one recorded op: inputs, output, and the backward formula.
  return record("softplus", {x}, out, [saved = save(x)](const Tensor& grad) {
    // save() remembers x's version: changing x in place before backward is reported, not silently wrong.
    return Gradients{grad * sigmoid(saved.get())};
  });
}

}  // namespace custom_op

int main(int argc, char** argv) {
  CLI::App app{"Define a differentiable op outside the library (softplus) and check its gradients", "custom_op"};
  return nabla::cli::run(app, argc, argv, [] {
  // Use it like any op.
  Tensor x = tensor({-2, -0.5, 0, 1.5, 30}, {5}, float64).requires_grad_();
  Tensor y = sum(custom_op::softplus(x));
  y.backward();
  fmt::print("custom_op::softplus(x)      = {}\n", custom_op::softplus(x.detach()));
  fmt::print("d/dx (= sigmoid) = {}\n", x.grad());

  // Check the formula against central differences (float64), first and second derivatives.
  Generator generator(7);
  const std::vector<Tensor> inputs{randn({3, 4}, float64, generator)};
  auto fn = [](const std::vector<Tensor>& v) { return custom_op::softplus(v[0]); };
  const auto first = autograd::gradcheck(fn, inputs);
  const auto second = autograd::gradgradcheck(fn, inputs);
  fmt::print("gradcheck: {}, gradgradcheck: {}\n", first.passed ? "passed" : first.report,
             second.passed ? "passed" : second.report);
  return first.passed && second.passed ? 0 : 1;
  });
}
