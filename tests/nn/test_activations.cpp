// The activations of issue 13 against PyTorch: values and gradients over a sweep of [-7, 7], the
// kinks themselves and the far tails (torch 1.13's numbers, tests/nn/reference/layers_reference.py),
// in float64 and float32; PReLU and GLU with their parameters; the gradients at the kinks spelled
// out; modules, names and options; gradchecks of the composed ones; errors.
#include <functional>
#include <string>
#include <vector>

#include "layers_reference.hpp"
#include "nabla/autograd/detail/adjoints.hpp"
#include "nn_test_support.hpp"

using namespace nabla;
using Catch::Contains;
using nn_test::Args;
namespace F = nabla::nn::functional;
using layers_reference::check_close;
using layers_reference::reference_loss;

namespace {

struct Activation {
  std::string label;  // the reference case
  std::function<Tensor(const Tensor&)> fn;
  // Of the float64 gradient. torch rounds two constants of its backward passes to float: celu's
  // 1 / alpha (derivatives.yaml's 1.0 / alpha.toFloat()) and hardsigmoid's 1/6; nabla keeps them
  // in double, so those two gradients differ from torch's by ~1e-8 relative.
  double gradient_tolerance = 1e-12;
};

const std::vector<Activation>& activations() {
  static const std::vector<Activation> list{
      {"softplus", [](const Tensor& x) { return F::softplus(x); }},
      {"softplus beta 2 threshold 1", [](const Tensor& x) { return F::softplus(x, 2.0, 1.0); }},
      {"softplus beta 0.5 threshold 3", [](const Tensor& x) { return F::softplus(x, 0.5, 3.0); }},
      {"silu", [](const Tensor& x) { return F::silu(x); }},
      {"mish", [](const Tensor& x) { return F::mish(x); }},
      {"elu", [](const Tensor& x) { return F::elu(x); }},
      {"elu alpha 1.5", [](const Tensor& x) { return F::elu(x, 1.5); }},
      {"selu", [](const Tensor& x) { return F::selu(x); }},
      {"celu", [](const Tensor& x) { return F::celu(x); }},
      {"celu alpha 0.7", [](const Tensor& x) { return F::celu(x, 0.7); }, 1e-7},
      {"hardtanh", [](const Tensor& x) { return F::hardtanh(x); }},
      {"hardtanh -2 0.5", [](const Tensor& x) { return F::hardtanh(x, -2.0, 0.5); }},
      {"relu6", [](const Tensor& x) { return F::relu6(x); }},
      {"hardsigmoid", [](const Tensor& x) { return F::hardsigmoid(x); }, 1e-7},
      {"hardswish", [](const Tensor& x) { return F::hardswish(x); }},
      {"logsigmoid", [](const Tensor& x) { return F::logsigmoid(x); }},
      {"softsign", [](const Tensor& x) { return F::softsign(x); }},
      {"tanhshrink", [](const Tensor& x) { return F::tanhshrink(x); }},
      {"threshold 0.5 -2", [](const Tensor& x) { return F::threshold(x, 0.5, -2.0); }},
      {"threshold -1 3", [](const Tensor& x) { return F::threshold(x, -1.0, 3.0); }},
      {"gelu", [](const Tensor& x) { return F::gelu(x); }},
      {"gelu tanh", [](const Tensor& x) { return F::gelu(x, "tanh"); }},
      {"leaky_relu 0.1", [](const Tensor& x) { return F::leaky_relu(x, 0.1); }},
  };
  return list;
}

// The value of the only element of fn's gradient at x (float64).
double derivative_at(const std::function<Tensor(const Tensor&)>& fn, double x) {
  const Tensor input = tensor({x}, {1}, float64).requires_grad_();
  fn(input).sum().backward();
  return input.grad().item();
}

// Away from every kink of the composed activations (multiples of 0.5): k / 2 + [0.1, 0.4].
Tensor off_half_integers(const Shape& shape, Generator& generator) {
  const std::vector<double> spread = uniform(shape, -3.0, 3.0, float64, generator).to_vector<double>();
  const std::vector<double> fraction = uniform(shape, 0.1, 0.4, float64, generator).to_vector<double>();
  std::vector<double> values(spread.size());
  for (size_t i = 0; i < values.size(); ++i) values[i] = 0.5 * std::floor(2.0 * spread[i]) + fraction[i];
  return from_vector(values, shape);
}

}  // namespace

TEST_CASE("activations: values and gradients match PyTorch, kinks and tails included", "[activations]") {
  for (const Activation& activation : activations()) {
    INFO(activation.label);
    const layers_reference::Case& torch = layers_reference::get(activation.label);
    const std::vector<double>& points = layers_reference::values(torch, "input");
    const Tensor x = from_vector(points).requires_grad_();
    const Tensor y = activation.fn(x);
    CHECK(y.dtype() == float64);
    reference_loss(y).backward();
    check_close(y, layers_reference::values(torch, "output"), "output");
    check_close(x.grad(), layers_reference::values(torch, "grad input"), "gradient", activation.gradient_tolerance);

    // float32 (the vectorised paths where an op has one) agrees to float32 precision.
    const Tensor x32 = from_vector(points).to(float32).requires_grad_();
    const Tensor y32 = activation.fn(x32);
    CHECK(y32.dtype() == float32);
    reference_loss(y32).backward();
    check_close(y32, layers_reference::values(torch, "output"), "float32 output", 2e-6);
    check_close(x32.grad(), layers_reference::values(torch, "grad input"), "float32 gradient", 2e-6);

    // A non-contiguous input gives the same values.
    const Tensor grid = from_vector(std::vector<double>(points.begin(), points.begin() + 56), {7, 8});
    CHECK(nn_test::max_abs_difference(activation.fn(grid.t()), activation.fn(grid.t().contiguous())) == 0.0);
  }
}

TEST_CASE("activations: gradients at the kinks are PyTorch's", "[activations]") {
  // Hardtanh, ReLU6 and Threshold: 0 at the bounds themselves (clamp's would be 1).
  CHECK(derivative_at([](const Tensor& x) { return F::hardtanh(x); }, -1.0) == 0.0);
  CHECK(derivative_at([](const Tensor& x) { return F::hardtanh(x); }, 1.0) == 0.0);
  CHECK(derivative_at([](const Tensor& x) { return F::hardtanh(x); }, 0.999) == 1.0);
  CHECK(derivative_at([](const Tensor& x) { return F::relu6(x); }, 0.0) == 0.0);
  CHECK(derivative_at([](const Tensor& x) { return F::relu6(x); }, 6.0) == 0.0);
  CHECK(derivative_at([](const Tensor& x) { return F::relu6(x); }, 5.5) == 1.0);
  CHECK(derivative_at([](const Tensor& x) { return F::threshold(x, 0.5, -2.0); }, 0.5) == 0.0);
  // ELU-like: x <= 0 takes the exponential side, so the gradient at 0 is alpha (CELU's alpha / alpha = 1).
  CHECK(derivative_at([](const Tensor& x) { return F::elu(x, 2.0); }, 0.0) == 2.0);
  CHECK(derivative_at([](const Tensor& x) { return F::celu(x, 2.0); }, 0.0) == Approx(1.0).epsilon(1e-15));
  CHECK(derivative_at([](const Tensor& x) { return F::selu(x); }, 0.0) ==
        Approx(1.0507009873554805 * 1.6732632423543772).epsilon(1e-15));
  // Hardsigmoid: 0 at -3 and 3; Hardswish: -1/2 at -3 and 1 at 3 (x / 3 + 1/2 on [-3, 3), torch 1.13's).
  CHECK(derivative_at([](const Tensor& x) { return F::hardsigmoid(x); }, -3.0) == 0.0);
  CHECK(derivative_at([](const Tensor& x) { return F::hardsigmoid(x); }, 3.0) == 0.0);
  CHECK(derivative_at([](const Tensor& x) { return F::hardswish(x); }, -3.0) == -0.5);
  CHECK(derivative_at([](const Tensor& x) { return F::hardswish(x); }, 3.0) == 1.0);
  // LeakyReLU and PReLU: the negative side's slope at 0; softplus: sigmoid(beta x) at beta x == threshold.
  CHECK(derivative_at([](const Tensor& x) { return F::leaky_relu(x, 0.1); }, 0.0) == Approx(0.1));
  CHECK(derivative_at([](const Tensor& x) { return F::leaky_relu(x, -0.5); }, 0.0) == -0.5);  // torch 1.13: -0.5
  CHECK(derivative_at([](const Tensor& x) { return F::leaky_relu(x, 0.2); }, 1e-12) == 1.0);
  CHECK(derivative_at([](const Tensor& x) { return F::prelu(x, tensor({0.25}, {1}, float64)); }, 0.0) == 0.25);
  CHECK(derivative_at([](const Tensor& x) { return F::softplus(x, 2.0, 1.0); }, 0.5) ==
        Approx(1.0 / (1.0 + std::exp(-1.0))).epsilon(1e-15));
  CHECK(derivative_at([](const Tensor& x) { return F::softplus(x, 2.0, 1.0); }, 0.5 + 1e-9) == 1.0);
  // Smooth ones at 0.
  CHECK(derivative_at([](const Tensor& x) { return F::silu(x); }, 0.0) == 0.5);
  CHECK(derivative_at([](const Tensor& x) { return F::mish(x); }, 0.0) == Approx(0.6).epsilon(1e-15));
  CHECK(derivative_at([](const Tensor& x) { return F::softsign(x); }, 0.0) == 1.0);
  CHECK(derivative_at([](const Tensor& x) { return F::logsigmoid(x); }, 0.0) == 0.5);
}

TEST_CASE("activations: PReLU and GLU match PyTorch, parameters included", "[activations]") {
  struct Case {
    std::string label;
    std::shared_ptr<nn::Module> layer;
    Shape input;
  };
  const std::vector<Case> cases{
      {"prelu 1 parameter", std::make_shared<nn::PReLU>(), {2, 3, 4}},
      {"prelu 3 parameters", std::make_shared<nn::PReLU>(3), {2, 3, 4}},
      {"prelu 3 parameters on [N, C]", std::make_shared<nn::PReLU>(3), {4, 3}},
      {"glu dim 1", std::make_shared<nn::GLU>(1), {2, 6, 3}},
      {"glu last dim", std::make_shared<nn::GLU>(), {3, 4}},
  };
  for (const Case& c : cases) {
    INFO(c.label);
    const layers_reference::Case& torch = layers_reference::get(c.label);
    c.layer->to(float64);
    layers_reference::fill_parameters(*c.layer);
    const Tensor x = layers_reference::tensor_of(torch, "input", c.input).requires_grad_();
    const Tensor y = (*c.layer)(x);
    reference_loss(y).backward();
    check_close(y, layers_reference::values(torch, "output"), "output");
    check_close(x.grad(), layers_reference::values(torch, "grad input"), "grad input");
    for (const auto& [name, parameter] : c.layer->named_parameters()) {
      check_close(parameter.grad(), layers_reference::values(torch, "grad " + name), "grad " + name);
    }
  }
}

TEST_CASE("activations: modules are their functional forms, with PyTorch's names and options", "[activations]") {
  Generator generator(5);
  const Tensor x = randn({3, 4}, float64, generator);
  struct Case {
    std::shared_ptr<nn::Module> layer;
    Tensor expected;
    std::string name, repr;
  };
  const std::vector<Case> cases{
      {std::make_shared<nn::SiLU>(), F::silu(x), "SiLU", ""},
      {std::make_shared<nn::Mish>(), F::mish(x), "Mish", ""},
      {std::make_shared<nn::SELU>(), F::selu(x), "SELU", ""},
      {std::make_shared<nn::ReLU6>(), F::relu6(x), "ReLU6", ""},
      {std::make_shared<nn::Hardsigmoid>(), F::hardsigmoid(x), "Hardsigmoid", ""},
      {std::make_shared<nn::Hardswish>(), F::hardswish(x), "Hardswish", ""},
      {std::make_shared<nn::LogSigmoid>(), F::logsigmoid(x), "LogSigmoid", ""},
      {std::make_shared<nn::Softsign>(), F::softsign(x), "Softsign", ""},
      {std::make_shared<nn::Tanhshrink>(), F::tanhshrink(x), "Tanhshrink", ""},
      {std::make_shared<nn::Softplus>(), F::softplus(x), "Softplus", "beta=1, threshold=20"},
      {std::make_shared<nn::Softplus>(2.0, 1.0), F::softplus(x, 2.0, 1.0), "Softplus", "beta=2, threshold=1"},
      {std::make_shared<nn::ELU>(), F::elu(x), "ELU", "alpha=1"},
      {std::make_shared<nn::ELU>(0.5), F::elu(x, 0.5), "ELU", "alpha=0.5"},
      {std::make_shared<nn::CELU>(0.7), F::celu(x, 0.7), "CELU", "alpha=0.7"},
      {std::make_shared<nn::Hardtanh>(), F::hardtanh(x), "Hardtanh", "min_val=-1, max_val=1"},
      {std::make_shared<nn::Hardtanh>(-0.5, 2.0), F::hardtanh(x, -0.5, 2.0), "Hardtanh", "min_val=-0.5, max_val=2"},
      {std::make_shared<nn::Threshold>(0.1, 20.0), F::threshold(x, 0.1, 20.0), "Threshold", "threshold=0.1, value=20"},
      {std::make_shared<nn::GLU>(1), F::glu(x, 1), "GLU", "dim=1"},
      {std::make_shared<nn::GELU>("tanh"), F::gelu(x, "tanh"), "GELU", "approximate='tanh'"},
  };
  for (const Case& c : cases) {
    INFO(c.name << "(" << c.repr << ")");
    CHECK(c.layer->type_name() == c.name);
    CHECK(c.layer->extra_repr() == c.repr);
    CHECK(c.layer->parameters().empty());
    CHECK(nn_test::max_abs_difference((*c.layer)(x), c.expected) == 0.0);
  }
  // PReLU: one learnable slope (or one per channel), initialised to `init`.
  nn::PReLU prelu(3, 0.1);
  REQUIRE(prelu.named_parameters().size() == 1);
  CHECK(prelu.named_parameters()[0].first == "weight");
  CHECK(prelu.weight.shape() == Shape{3});
  CHECK(prelu.weight.to_vector<double>() == std::vector<double>(3, static_cast<double>(0.1f)));
  CHECK(nn::PReLU().weight.to_vector<double>() == std::vector<double>{0.25});
  CHECK(prelu.extra_repr() == "num_parameters=3");
  // In a Sequential, trained like any layer.
  nn::Sequential model{nn::Linear(4, 3), nn::PReLU(3), nn::Linear(3, 2), nn::SiLU(), nn::Hardswish()};
  model.to(float64);
  F::mse_loss(model(x), zeros({3, 2}, float64)).backward();
  CHECK(std::dynamic_pointer_cast<nn::PReLU>(model[1])->weight.grad().defined());
}

TEST_CASE("activations: point-wise ops keep integer dtypes where PyTorch does and compute floats otherwise",
          "[activations]") {
  const Tensor ints = tensor({-2, 0, 3, 7, 9}, {5}, int64);
  const Tensor clipped = F::relu6(ints);
  CHECK(clipped.dtype() == int64);
  CHECK(clipped.to_vector<int64_t>() == std::vector<int64_t>{0, 0, 3, 6, 6});
  CHECK(F::silu(ints).dtype() == float32);
  CHECK(F::hardswish(ints).dtype() == float32);
  // Tensor methods come with the ops.
  const Tensor x = tensor({-1.0, 0.5}, {2}, float64);
  CHECK(nn_test::max_abs_difference(x.silu(), F::silu(x)) == 0.0);
  CHECK(nn_test::max_abs_difference(x.log_sigmoid(), F::logsigmoid(x)) == 0.0);
}

TEST_CASE("activations: gradcheck of the composed activations, first and second order", "[activations][gradcheck]") {
  Generator generator(21);
  using nn_test::check_gradients;
  const std::vector<std::pair<std::string, std::function<Tensor(const Tensor&)>>> unary{
      {"softplus beta 2 threshold 1", [](const Tensor& x) { return F::softplus(x, 2.0, 1.0); }},
      {"softplus beta -1", [](const Tensor& x) { return F::softplus(x, -1.0); }},
      {"elu alpha 1.5", [](const Tensor& x) { return F::elu(x, 1.5); }},
      {"celu alpha 0.7", [](const Tensor& x) { return F::celu(x, 0.7); }},
      {"hardtanh -2 0.5", [](const Tensor& x) { return F::hardtanh(x, -2.0, 0.5); }},
      {"threshold 0.5 -2", [](const Tensor& x) { return F::threshold(x, 0.5, -2.0); }},
      {"glu dim 1", [](const Tensor& x) { return F::glu(x.reshape({3, 4}), 1); }},
      {"glu dim 0 of a transposed input", [](const Tensor& x) { return F::glu(x.reshape({3, 4}).t(), 0); }},
      {"gelu tanh", [](const Tensor& x) { return F::gelu(x, "tanh"); }},
  };
  for (const auto& [label, fn] : unary) {
    const Tensor input = off_half_integers({12}, generator);
    // [f = fn], not [fn]: capturing a structured binding is C++20, which clang 14 lacks.
    check_gradients(label, [f = fn](const Args& a) { return f(a[0]); }, {input});
    INFO("gradgradcheck: " << label);
    CHECK(autograd::gradgradcheck([f = fn](const Args& a) { return f(a[0]); }, {input}).passed);
  }
  const auto prelu = [](const Args& a) { return F::prelu(a[0], a[1]); };
  check_gradients("prelu one weight per channel", prelu,
                  {off_half_integers({2, 3, 4}, generator), uniform({3}, 0.1, 0.5, float64, generator)});
  check_gradients("prelu one weight, transposed input", [](const Args& a) { return F::prelu(a[0].t(), a[1]); },
                  {off_half_integers({4, 3}, generator), tensor({0.3}, {1}, float64)});
  CHECK(autograd::gradgradcheck(prelu, {off_half_integers({2, 3}, generator), uniform({3}, 0.1, 0.5, float64, generator)})
            .passed);
}

TEST_CASE("activations: bad calls name the op, the values and the fix", "[activations][errors]") {
  const Tensor x = zeros({2, 3}, float64);
  CHECK_THROWS_WITH(F::celu(x, 0.0), Contains("celu") && Contains("alpha"));
  CHECK_THROWS_WITH(nn::CELU(0.0), Contains("CELU") && Contains("alpha"));
  CHECK_THROWS_WITH(F::softplus(x, 0.0), Contains("softplus") && Contains("beta"));
  CHECK_THROWS_WITH(nn::Softplus(0.0), Contains("Softplus") && Contains("beta"));
  CHECK_THROWS_WITH(F::prelu(x, ones({4})), Contains("prelu") && Contains("[2, 3]") && Contains("4"));
  CHECK_THROWS_WITH(F::prelu(x, ones({3, 1})), Contains("prelu") && Contains("[3, 1]"));
  CHECK_THROWS_WITH(nn::PReLU(0), Contains("PReLU") && Contains("num_parameters"));
  CHECK_THROWS_WITH(F::hardtanh(x, 1.0, -1.0), Contains("hardtanh") && Contains("min_val"));
  CHECK_THROWS_WITH(nn::Hardtanh(1.0, 1.0), Contains("Hardtanh") && Contains("max_val"));
  CHECK_THROWS_WITH(F::glu(x, 1), Contains("glu") && Contains("[2, 3]") && Contains("even"));
  CHECK_THROWS_WITH(F::glu(x, 2), Contains("glu"));
  CHECK_THROWS_WITH(F::glu(zeros({}, float64)), Contains("glu"));
  CHECK_THROWS_WITH(F::gelu(x, "fast"), Contains("gelu") && Contains("fast") && Contains("tanh"));
  CHECK_THROWS_WITH(nn::GELU("erf"), Contains("GELU") && Contains("erf"));
  CHECK_THROWS_WITH(F::silu(Tensor()), Contains("undefined"));
  CHECK_THROWS_WITH(F::leaky_relu(zeros({2}, int64), 0.2), Contains("leaky_relu") && Contains("int64"));
  CHECK_THROWS_WITH(nabla::detail::leaky_relu_backward(ones({2}, float64), ones({3}, float64), 0.2),
                    Contains("leaky_relu_backward") && Contains("[2]") && Contains("[3]"));
}
