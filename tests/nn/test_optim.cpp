// Optimisers: each update rule against a plain-double reference of PyTorch's formulas, state
// round trips, refusals, and small models that actually train.
#include <catch2/catch.hpp>

#include <cmath>
#include <functional>
#include <memory>
#include <vector>

#include "nabla/nn.hpp"

using namespace nabla;
using Catch::Contains;

namespace {

// The toy problem every rule test uses: minimise sum(a * p^2 + b * p) elementwise, so the
// gradient is 2 a p + b, different for each element and changing every step.
std::vector<double> toy_gradient(const std::vector<double>& p) {
  std::vector<double> g(p.size());
  for (size_t k = 0; k < p.size(); ++k) {
    const double a = 0.5 + 0.25 * static_cast<double>(k);
    const double b = (k % 2 == 0 ? 1.0 : -0.75) * (1.0 + 0.1 * static_cast<double>(k));
    g[k] = 2.0 * a * p[k] + b;
  }
  return g;
}

const std::vector<double> kStart = {0.8, -1.3, 0.05, 2.0, -0.4};

template <class T>
std::vector<T> cast_vector(const std::vector<double>& values) {
  return std::vector<T>(values.begin(), values.end());
}

// Hands the toy gradient of the parameter's current values to the parameter.
void set_toy_gradient(Tensor& parameter) {
  const std::vector<double> g = toy_gradient(parameter.to_vector<double>());
  if (parameter.dtype() == float64) {
    parameter.set_grad(Tensor(from_vector(g, parameter.shape())));
  } else {
    parameter.set_grad(Tensor(from_vector(cast_vector<float>(g), parameter.shape())));
  }
}

// Runs `steps` optimiser steps on the toy problem and checks every step against `reference`,
// which updates plain doubles (it receives the gradient computed from its own values).
template <class Reference>
void check_against_reference(const std::function<std::unique_ptr<nn::Optimizer>(std::vector<Tensor>)>& make,
                             Reference reference, DType dtype, int steps, double tolerance) {
  Tensor parameter = dtype == float64 ? from_vector(kStart) : from_vector(cast_vector<float>(kStart)).requires_grad_();
  auto optimizer = make({parameter});
  std::vector<double> expected = kStart;
  for (int step = 1; step <= steps; ++step) {
    set_toy_gradient(parameter);
    optimizer->step();
    reference(expected, toy_gradient(expected), step);
    const std::vector<double> actual = parameter.to_vector<double>();
    for (size_t k = 0; k < expected.size(); ++k) {
      INFO("step " << step << ", element " << k);
      REQUIRE(actual[k] == Approx(expected[k]).epsilon(tolerance).margin(tolerance));
    }
  }
}

// ---- plain-double references, written as torch.optim's documentation states the rules

struct SgdReference {
  explicit SgdReference(nn::SGDOptions options) : options(options) {}
  nn::SGDOptions options;
  std::vector<double> buffer;
  void operator()(std::vector<double>& p, std::vector<double> g, int step) {
    if (buffer.empty()) buffer.assign(p.size(), 0.0);
    for (size_t k = 0; k < p.size(); ++k) {
      double d = g[k];
      if (options.weight_decay != 0.0) d += options.weight_decay * p[k];
      if (options.momentum != 0.0) {
        buffer[k] = step == 1 ? d : options.momentum * buffer[k] + (1.0 - options.dampening) * d;
        d = options.nesterov ? d + options.momentum * buffer[k] : buffer[k];
      }
      p[k] -= options.lr * d;
    }
  }
};

struct AdamReference {
  explicit AdamReference(nn::AdamOptions options, bool decoupled = false) : options(options), decoupled(decoupled) {}
  nn::AdamOptions options;
  bool decoupled;
  std::vector<double> m, v, v_max;
  void operator()(std::vector<double>& p, std::vector<double> g, int step) {
    if (m.empty()) m.assign(p.size(), 0.0), v.assign(p.size(), 0.0), v_max.assign(p.size(), 0.0);
    const double bias_correction1 = 1.0 - std::pow(options.beta1, step);
    const double bias_correction2 = 1.0 - std::pow(options.beta2, step);
    for (size_t k = 0; k < p.size(); ++k) {
      if (decoupled) {
        p[k] *= 1.0 - options.lr * options.weight_decay;
      } else {
        g[k] += options.weight_decay * p[k];
      }
      m[k] = options.beta1 * m[k] + (1.0 - options.beta1) * g[k];
      v[k] = options.beta2 * v[k] + (1.0 - options.beta2) * g[k] * g[k];
      v_max[k] = std::max(v_max[k], v[k]);
      const double second = options.amsgrad ? v_max[k] : v[k];
      const double m_hat = m[k] / bias_correction1;
      const double v_hat = second / bias_correction2;
      // torch's eps is added to sqrt(v_hat), not inside the root
      p[k] -= options.lr * m_hat / (std::sqrt(v_hat) + options.eps);
    }
  }
};

struct RmspropReference {
  explicit RmspropReference(nn::RMSpropOptions options) : options(options) {}
  nn::RMSpropOptions options;
  std::vector<double> square_avg, grad_avg, buffer;
  void operator()(std::vector<double>& p, std::vector<double> g, int) {
    if (square_avg.empty()) {
      square_avg.assign(p.size(), 0.0), grad_avg.assign(p.size(), 0.0), buffer.assign(p.size(), 0.0);
    }
    for (size_t k = 0; k < p.size(); ++k) {
      g[k] += options.weight_decay * p[k];
      square_avg[k] = options.alpha * square_avg[k] + (1.0 - options.alpha) * g[k] * g[k];
      double variance = square_avg[k];
      if (options.centered) {
        grad_avg[k] = options.alpha * grad_avg[k] + (1.0 - options.alpha) * g[k];
        variance -= grad_avg[k] * grad_avg[k];
      }
      const double denominator = std::sqrt(variance) + options.eps;
      if (options.momentum > 0.0) {
        buffer[k] = options.momentum * buffer[k] + g[k] / denominator;
        p[k] -= options.lr * buffer[k];
      } else {
        p[k] -= options.lr * g[k] / denominator;
      }
    }
  }
};

template <class Opt, class Options>
std::function<std::unique_ptr<nn::Optimizer>(std::vector<Tensor>)> maker(Options options) {
  return [options](std::vector<Tensor> parameters) { return std::make_unique<Opt>(std::move(parameters), options); };
}

// A parameter vector with a constant gradient of 1 (for the literal hand-computed checks).
Tensor scalar_parameter(double value) { return from_vector(std::vector<double>{value}).requires_grad_(); }
void set_unit_gradient(Tensor& parameter) { parameter.set_grad(Tensor(from_vector(std::vector<double>{1.0}))); }

}  // namespace

// ---------------------------------------------------------------------------------------------
// Hand-computed numbers first: the references above are only trusted because of these.

TEST_CASE("optim: SGD momentum by hand", "[optim]") {
  // g = 1 always, lr 0.1, momentum 0.9: buffers 1, 1.9, 2.71; p = 1 - 0.1, - 0.19, - 0.271.
  Tensor p = scalar_parameter(1.0);
  nn::SGD sgd({p}, {.lr = 0.1, .momentum = 0.9});
  const double expected[] = {0.9, 0.71, 0.439};
  for (double value : expected) {
    set_unit_gradient(p);
    sgd.step();
    CHECK(p.item() == Approx(value).epsilon(1e-14));
  }
}

TEST_CASE("optim: SGD Nesterov and dampening by hand", "[optim]") {
  // Nesterov: b = 1, then 1.9; step uses g + 0.9 b: 1.9 then 2.71.
  Tensor p = scalar_parameter(1.0);
  nn::SGD nesterov({p}, {.lr = 0.1, .momentum = 0.9, .nesterov = true});
  set_unit_gradient(p);
  nesterov.step();
  CHECK(p.item() == Approx(1.0 - 0.19).epsilon(1e-14));
  set_unit_gradient(p);
  nesterov.step();
  CHECK(p.item() == Approx(1.0 - 0.19 - 0.271).epsilon(1e-14));

  // Dampening 0.5: the first buffer is g itself (not 0.5 g), then 0.9 * 1 + 0.5 * 1 = 1.4.
  Tensor q = scalar_parameter(1.0);
  nn::SGD damped({q}, {.lr = 0.1, .momentum = 0.9, .dampening = 0.5});
  set_unit_gradient(q);
  damped.step();
  CHECK(q.item() == Approx(0.9).epsilon(1e-14));
  set_unit_gradient(q);
  damped.step();
  CHECK(q.item() == Approx(0.9 - 0.14).epsilon(1e-14));
}

TEST_CASE("optim: Adam's first step moves each element by lr", "[optim]") {
  // After bias correction m_hat = g and v_hat = g^2, so the first step is lr * g / (|g| + eps).
  Tensor p = from_vector(std::vector<double>{1.0, -2.0, 3.0}).requires_grad_();
  nn::Adam adam({p}, nn::AdamOptions{.lr = 0.01});
  p.set_grad(Tensor(from_vector(std::vector<double>{0.5, -4.0, 1e-3})));
  adam.step();
  const std::vector<double> values = p.to_vector<double>();
  CHECK(values[0] == Approx(1.0 - 0.01 * 0.5 / (0.5 + 1e-8)).epsilon(1e-14));
  CHECK(values[1] == Approx(-2.0 + 0.01 * 4.0 / (4.0 + 1e-8)).epsilon(1e-14));
  CHECK(values[2] == Approx(3.0 - 0.01 * 1e-3 / (1e-3 + 1e-8)).epsilon(1e-14));
}

TEST_CASE("optim: RMSprop's first step by hand", "[optim]") {
  // s = (1 - 0.99) * g^2 = 0.01 g^2, so the step is lr * g / (0.1 |g| + eps) = 10 lr sign(g).
  Tensor p = scalar_parameter(1.0);
  nn::RMSprop rmsprop({p}, {.lr = 0.01});
  set_unit_gradient(p);
  rmsprop.step();
  CHECK(p.item() == Approx(1.0 - 0.01 * 1.0 / (0.1 + 1e-8)).epsilon(1e-14));
}

// ---------------------------------------------------------------------------------------------
// Several steps of every variant against the references, in float64 (tight) and float32.

TEST_CASE("optim: SGD variants follow torch.optim.SGD", "[optim]") {
  const std::vector<nn::SGDOptions> variants = {
      {.lr = 0.1},
      {.lr = 0.05, .momentum = 0.9},
      {.lr = 0.05, .momentum = 0.8, .dampening = 0.3},
      {.lr = 0.05, .momentum = 0.9, .nesterov = true},
      {.lr = 0.1, .weight_decay = 0.01},
      {.lr = 0.05, .momentum = 0.9, .weight_decay = 0.05, .nesterov = true},
  };
  for (size_t i = 0; i < variants.size(); ++i) {
    INFO("variant " << i);
    check_against_reference(maker<nn::SGD>(variants[i]), SgdReference{variants[i]}, float64, 6, 1e-12);
    check_against_reference(maker<nn::SGD>(variants[i]), SgdReference{variants[i]}, float32, 6, 1e-5);
  }
}

TEST_CASE("optim: Adam variants follow torch.optim.Adam", "[optim]") {
  const std::vector<nn::AdamOptions> variants = {
      {.lr = 0.1},
      {.lr = 0.05, .beta1 = 0.8, .beta2 = 0.95, .eps = 1e-6},
      {.lr = 0.05, .weight_decay = 0.1},
      {.lr = 0.1, .amsgrad = true},
      {.lr = 0.1, .weight_decay = 0.05, .amsgrad = true},
  };
  for (size_t i = 0; i < variants.size(); ++i) {
    INFO("variant " << i);
    check_against_reference(maker<nn::Adam>(variants[i]), AdamReference{variants[i]}, float64, 8, 1e-12);
    check_against_reference(maker<nn::Adam>(variants[i]), AdamReference{variants[i]}, float32, 8, 1e-5);
  }
}

TEST_CASE("optim: AdamW decays the weights, not the gradient", "[optim]") {
  const std::vector<nn::AdamOptions> variants = {
      {.lr = 0.1, .weight_decay = 0.1},
      {.lr = 0.05, .weight_decay = 0.5, .amsgrad = true},
  };
  for (size_t i = 0; i < variants.size(); ++i) {
    INFO("variant " << i);
    check_against_reference(maker<nn::AdamW>(variants[i]), AdamReference{variants[i], true}, float64, 8, 1e-12);
    check_against_reference(maker<nn::AdamW>(variants[i]), AdamReference{variants[i], true}, float32, 8, 1e-5);
  }
  // The two decays really are different rules.
  Tensor a = scalar_parameter(2.0), b = scalar_parameter(2.0);
  nn::Adam adam({a}, nn::AdamOptions{.lr = 0.1, .weight_decay = 0.5});
  nn::AdamW adamw({b}, nn::AdamOptions{.lr = 0.1, .weight_decay = 0.5});
  set_unit_gradient(a), set_unit_gradient(b);
  adam.step(), adamw.step();
  // L2 changes g (to 1 + 0.5 * 2), and Adam's first step normalises it away; decoupled decay
  // shrinks p first (p *= 1 - lr * wd).
  CHECK(a.item() == Approx(2.0 - 0.1 * 2.0 / (2.0 + 1e-8)).epsilon(1e-14));
  CHECK(b.item() == Approx(2.0 * 0.95 - 0.1 * 1.0 / (1.0 + 1e-8)).epsilon(1e-14));
  CHECK(adamw.type_name() == "AdamW");
  CHECK(adam.type_name() == "Adam");
}

TEST_CASE("optim: RMSprop variants follow torch.optim.RMSprop", "[optim]") {
  const std::vector<nn::RMSpropOptions> variants = {
      {.lr = 0.01},
      {.lr = 0.01, .alpha = 0.9, .eps = 1e-6},
      {.lr = 0.01, .weight_decay = 0.1},
      {.lr = 0.01, .momentum = 0.9},
      {.lr = 0.01, .centered = true},
      {.lr = 0.005, .alpha = 0.95, .weight_decay = 0.05, .momentum = 0.5, .centered = true},
  };
  for (size_t i = 0; i < variants.size(); ++i) {
    INFO("variant " << i);
    check_against_reference(maker<nn::RMSprop>(variants[i]), RmspropReference{variants[i]}, float64, 8, 1e-12);
    check_against_reference(maker<nn::RMSprop>(variants[i]), RmspropReference{variants[i]}, float32, 8, 1e-5);
  }
}

// ---------------------------------------------------------------------------------------------
// Mechanics: skipped parameters, versions, large parameters, lr, zero_grad, argument checks.

TEST_CASE("optim: parameters without a gradient are skipped", "[optim]") {
  Tensor used = scalar_parameter(1.0), unused = scalar_parameter(5.0);
  nn::Adam adam({used, unused}, nn::AdamOptions{.lr = 0.1});
  set_unit_gradient(used);
  adam.step();
  CHECK(unused.item() == 5.0);
  CHECK(adam.state().count("1.exp_avg") == 0);  // no state made for a parameter never updated

  // Bias correction counts the steps each parameter took part in (as PyTorch's per-parameter
  // step does): `unused`'s first real step is a full lr-sized step.
  set_unit_gradient(used), set_unit_gradient(unused);
  adam.step();
  CHECK(unused.item() == Approx(5.0 - 0.1 / (1.0 + 1e-8)).epsilon(1e-14));
  CHECK(adam.state().at("0.step").item<int64_t>() == 2);
  CHECK(adam.state().at("1.step").item<int64_t>() == 1);
  CHECK(adam.state().at("step").item<int64_t>() == 2);
}

TEST_CASE("optim: each step bumps a parameter's version once", "[optim]") {
  Tensor p = from_vector(kStart).requires_grad_();
  nn::SGD sgd({p}, {.lr = 0.1, .momentum = 0.9});
  const uint64_t before = p.raw().storage()->version();
  set_toy_gradient(p);
  sgd.step();
  CHECK(p.raw().storage()->version() == before + 1);
  sgd.zero_grad();
  sgd.step();  // no gradient: nothing written, no bump
  CHECK(p.raw().storage()->version() == before + 1);
}

TEST_CASE("optim: an in-place step is caught by autograd when backward still needs the value", "[optim]") {
  Tensor p = from_vector(std::vector<double>{1.5, -0.5}).requires_grad_();
  Tensor loss = sum(p * p);  // saves p for backward
  p.set_grad(Tensor(from_vector(std::vector<double>{1.0, 1.0})));
  nn::SGD sgd({p}, 0.1);
  sgd.step();
  CHECK_THROWS_AS(loss.backward(), Error);
}

TEST_CASE("optim: large parameters (threaded loop) match the reference", "[optim]") {
  const int64_t n = 200'003;  // above the threading threshold, and not a multiple of anything
  std::vector<double> start(static_cast<size_t>(n));
  for (int64_t k = 0; k < n; ++k) start[static_cast<size_t>(k)] = std::sin(0.001 * static_cast<double>(k));
  Tensor p = from_vector(start).requires_grad_();
  const nn::AdamOptions options{.lr = 0.01, .weight_decay = 0.01, .amsgrad = true};
  nn::Adam adam({p}, options);
  AdamReference reference{options};
  std::vector<double> expected = start;
  for (int step = 1; step <= 3; ++step) {
    std::vector<double> g(expected.size());
    for (size_t k = 0; k < g.size(); ++k) g[k] = std::cos(0.37 * static_cast<double>(k) + step);
    p.set_grad(Tensor(from_vector(g)));
    adam.step();
    reference(expected, g, step);
  }
  const std::vector<double> actual = p.to_vector<double>();
  double worst = 0.0;
  for (size_t k = 0; k < actual.size(); ++k) worst = std::max(worst, std::abs(actual[k] - expected[k]));
  CHECK(worst < 1e-12);
}

TEST_CASE("optim: zero_grad and set_lr", "[optim]") {
  Tensor p = scalar_parameter(1.0);
  nn::SGD sgd({p}, 0.5);
  set_unit_gradient(p);
  sgd.zero_grad();
  CHECK_FALSE(p.grad().defined());
  sgd.set_lr(0.25);
  CHECK(sgd.lr() == 0.25);
  set_unit_gradient(p);
  sgd.step();
  CHECK(p.item() == Approx(0.75));
  CHECK_THROWS_WITH(sgd.set_lr(-1.0), Contains("learning rate") && Contains("-1"));
}

TEST_CASE("optim: bad arguments are refused with a clear message", "[optim]") {
  Tensor p = scalar_parameter(1.0);
  CHECK_THROWS_WITH(nn::SGD(std::vector<Tensor>{}, 0.1), Contains("empty parameter list"));
  CHECK_THROWS_WITH(nn::SGD({p}, -0.1), Contains("learning rate") && Contains("-0.1"));
  CHECK_THROWS_WITH(nn::SGD({p}, nn::SGDOptions{.lr = 0.1, .nesterov = true}), Contains("Nesterov"));
  CHECK_THROWS_WITH(nn::SGD({p}, nn::SGDOptions{.lr = 0.1, .momentum = 0.9, .dampening = 0.1, .nesterov = true}),
                    Contains("dampening 0"));
  CHECK_THROWS_WITH(nn::SGD({p}, nn::SGDOptions{.momentum = -0.5}), Contains("momentum"));
  CHECK_THROWS_WITH(nn::Adam({p}, nn::AdamOptions{.beta1 = 1.0}), Contains("beta1") && Contains("[0, 1)"));
  CHECK_THROWS_WITH(nn::Adam({p}, nn::AdamOptions{.beta2 = -0.1}), Contains("beta2"));
  CHECK_THROWS_WITH(nn::AdamW({p}, nn::AdamOptions{.weight_decay = -1.0}),
                    Contains("AdamW") && Contains("weight_decay"));
  CHECK_THROWS_WITH(nn::RMSprop({p}, nn::RMSpropOptions{.alpha = -0.5}), Contains("alpha"));
  CHECK_THROWS_WITH(nn::SGD({p, p}, 0.1), Contains("parameters 0 and 1 overlap"));
  const Tensor flat = zeros({10}, float64);
  Tensor head = flat.slice(0, 0, 5).requires_grad_(), tail = flat.slice(0, 5, 10).requires_grad_(),
         middle = flat.slice(0, 3, 7).requires_grad_();
  CHECK_NOTHROW(nn::SGD({tail, head}, 0.1));  // disjoint slices of one storage are fine
  CHECK_THROWS_WITH(nn::SGD({head, tail, middle}, 0.1), Contains("parameters 0 and 2 overlap"));
  CHECK_THROWS_WITH(nn::SGD({arange(int64_t{3}).detach()}, 0.1), Contains("int64"));
  Tensor strided = from_vector(std::vector<double>{1, 2, 3, 4}, {2, 2}).t().requires_grad_();
  CHECK_THROWS_WITH(nn::SGD({strided}, 0.1), Contains("not contiguous"));
}

// ---------------------------------------------------------------------------------------------
// state() / load_state()

namespace {

// Two copies of the same parameters: one for the optimiser that keeps running, one for the
// optimiser restored from its state.
std::vector<Tensor> toy_parameters() {
  return {from_vector(kStart).requires_grad_(),
          from_vector(std::vector<float>{0.25f, -0.5f, 1.5f, 0.75f, -2.0f, 0.1f}, {2, 3}).requires_grad_()};
}

std::vector<Tensor> copies_of(const std::vector<Tensor>& parameters) {
  std::vector<Tensor> out;
  for (const Tensor& parameter : parameters) out.push_back(parameter.clone().detach().requires_grad_());
  return out;
}

void toy_steps(nn::Optimizer& optimizer, int steps) {
  for (int i = 0; i < steps; ++i) {
    for (Tensor parameter : optimizer.parameters()) set_toy_gradient(parameter);
    optimizer.step();
  }
}

template <class Opt, class Options>
void check_state_round_trip(const Options& options) {
  std::vector<Tensor> original = toy_parameters();
  Opt running(original, options);
  toy_steps(running, 3);
  running.set_lr(running.lr() * 0.5);  // as a schedule would

  std::vector<Tensor> restored_parameters = copies_of(original);
  Options other = options;
  other.lr = 123.0;  // load_state must bring the lr back
  Opt restored(restored_parameters, other);
  restored.load_state(running.state());
  CHECK(restored.lr() == running.lr());

  toy_steps(running, 4);
  toy_steps(restored, 4);
  for (size_t i = 0; i < original.size(); ++i) {
    CHECK(original[i].template to_vector<double>() ==
          restored_parameters[i].template to_vector<double>());
  }
}

}  // namespace

TEST_CASE("optim: state() then load_state() continues identically", "[optim]") {
  check_state_round_trip<nn::SGD>(nn::SGDOptions{.lr = 0.05, .momentum = 0.9, .dampening = 0.2});
  check_state_round_trip<nn::Adam>(nn::AdamOptions{.lr = 0.05, .amsgrad = true});
  check_state_round_trip<nn::AdamW>(nn::AdamOptions{.lr = 0.05, .weight_decay = 0.1});
  check_state_round_trip<nn::RMSprop>(nn::RMSpropOptions{.lr = 0.01, .momentum = 0.5, .centered = true});
}

TEST_CASE("optim: state() names its entries and is a snapshot", "[optim]") {
  std::vector<Tensor> parameters = toy_parameters();
  nn::Adam adam(parameters, nn::AdamOptions{.lr = 0.05});
  toy_steps(adam, 1);
  const auto state = adam.state();
  // The optimiser's totals, its one group (which parameters, every option), then each parameter.
  for (const char* key : {"type", "step", "parameters", "groups", "group.0.params", "group.0.lr", "group.0.beta1",
                          "group.0.beta2", "group.0.eps", "group.0.weight_decay", "group.0.amsgrad",
                          "group.0.maximize", "0.shape", "1.shape", "0.exp_avg", "0.exp_avg_sq", "0.step",
                          "1.exp_avg", "1.exp_avg_sq", "1.step"}) {
    INFO(key);
    CHECK(state.count(key) == 1);
  }
  CHECK(state.size() == 20);
  CHECK(state.at("group.0.lr").item() == 0.05);
  CHECK(state.at("group.0.params").to_vector<int64_t>() == std::vector<int64_t>{0, 1});
  CHECK(state.at("1.exp_avg").dtype() == float32);
  CHECK(state.at("1.exp_avg").shape() == Shape{2, 3});
  const std::vector<double> before = state.at("0.exp_avg").to_vector<double>();
  toy_steps(adam, 1);
  CHECK(state.at("0.exp_avg").to_vector<double>() == before);
}

TEST_CASE("optim: load_state refuses foreign state and changes nothing", "[optim]") {
  std::vector<Tensor> parameters = toy_parameters();
  nn::Adam adam(parameters, nn::AdamOptions{.lr = 0.05});
  toy_steps(adam, 2);
  const auto before = adam.state();
  auto unchanged = [&] {
    const auto after = adam.state();
    REQUIRE(after.size() == before.size());
    for (const auto& [key, tensor] : before) {
      INFO(key);
      CHECK(after.at(key).to_vector<double>() == tensor.to_vector<double>());
    }
  };

  SECTION("another optimiser type") {
    nn::SGD sgd(copies_of(parameters), nn::SGDOptions{.lr = 0.1, .momentum = 0.9});
    toy_steps(sgd, 1);
    CHECK_THROWS_WITH(adam.load_state(sgd.state()), Contains("this is SGD state, not Adam state"));
    nn::AdamW adamw(copies_of(parameters), nn::AdamOptions{});
    CHECK_THROWS_WITH(adam.load_state(adamw.state()), Contains("AdamW"));
  }
  SECTION("another number of parameters") {
    nn::Adam small({from_vector(kStart).requires_grad_()}, nn::AdamOptions{});
    CHECK_THROWS_WITH(adam.load_state(small.state()), Contains("1 parameters") && Contains("has 2"));
  }
  SECTION("a buffer of another shape") {
    auto state = before;
    state["1.exp_avg"] = zeros({3, 2});
    CHECK_THROWS_WITH(adam.load_state(state),
                      Contains("'1.exp_avg'") && Contains("[3, 2]") && Contains("[2, 3]"));
  }
  SECTION("a parameter of another shape") {
    nn::Adam other({from_vector(kStart).requires_grad_(), zeros({3, 2}).requires_grad_()}, nn::AdamOptions{});
    CHECK_THROWS_WITH(adam.load_state(other.state()),
                      Contains("parameter 1") && Contains("[3, 2]") && Contains("[2, 3]"));
  }
  SECTION("a buffer of another dtype") {
    auto state = before;
    state["0.exp_avg"] = zeros({5}, float32);
    CHECK_THROWS_WITH(adam.load_state(state), Contains("'0.exp_avg'") && Contains("float32") && Contains("float64"));
  }
  SECTION("missing or malformed entries") {
    auto state = before;
    state.erase("group.0.params");
    CHECK_THROWS_WITH(adam.load_state(state), Contains("no 'group.0.params'"));
    state = before;
    state.erase("groups");  // then it reads as a state from before groups, which must hold the lr
    CHECK_THROWS_WITH(adam.load_state(state), Contains("no 'lr'"));
    state = before;
    state["group.0.momentum"] = scalar_tensor(0.9, float64);
    CHECK_THROWS_WITH(adam.load_state(state), Contains("option 'momentum'") && Contains("beta1"));
    state = before;
    state["group.0.beta1"] = scalar_tensor(1.5, float64);
    CHECK_THROWS_WITH(adam.load_state(state), Contains("beta1") && Contains("1.5"));
    state = before;
    state["bogus"] = zeros({1});
    CHECK_THROWS_WITH(adam.load_state(state), Contains("unexpected entry 'bogus'"));
    state = before;
    state["7.exp_avg"] = zeros({5}, float64);
    CHECK_THROWS_WITH(adam.load_state(state), Contains("parameter 7"));
    state = before;
    state.erase("type");
    CHECK_THROWS_WITH(adam.load_state(state), Contains("no 'type'"));
  }
  unchanged();
}

// ---------------------------------------------------------------------------------------------
// Training: XOR with a 2-8-1 tanh MLP, every optimiser.

namespace {

struct XorNet : nn::Module {
  std::shared_ptr<nn::Linear> hidden, output;
  XorNet() {
    hidden = register_module("hidden", std::make_shared<nn::Linear>(2, 8));
    output = register_module("output", std::make_shared<nn::Linear>(8, 1));
  }
  Tensor forward(const Tensor& x) override { return (*output)(tanh((*hidden)(x))); }
};

// Trains from a fixed initialisation and returns the final loss.
double train_xor(const std::function<std::unique_ptr<nn::Optimizer>(std::vector<Tensor>)>& make, int epochs) {
  manual_seed(7);
  XorNet net;
  const Tensor inputs = tensor({0, 0, 0, 1, 1, 0, 1, 1}, {4, 2});
  const Tensor targets = tensor({0, 1, 1, 0}, {4, 1});
  auto optimizer = make(net.parameters());
  double loss_value = 0.0;
  for (int epoch = 0; epoch < epochs; ++epoch) {
    optimizer->zero_grad();
    Tensor loss = nn::functional::binary_cross_entropy_with_logits(net(inputs), targets);
    loss.backward();
    optimizer->step();
    loss_value = loss.item();
  }
  return loss_value;
}

}  // namespace

TEST_CASE("optim: every optimiser trains XOR", "[optim][train]") {
  CHECK(train_xor(maker<nn::SGD>(nn::SGDOptions{.lr = 0.5, .momentum = 0.9}), 400) < 0.02);
  CHECK(train_xor(maker<nn::SGD>(nn::SGDOptions{.lr = 0.3, .momentum = 0.9, .nesterov = true}), 400) < 0.02);
  CHECK(train_xor(maker<nn::Adam>(nn::AdamOptions{.lr = 0.05}), 400) < 0.02);
  CHECK(train_xor(maker<nn::AdamW>(nn::AdamOptions{.lr = 0.05, .weight_decay = 0.01}), 400) < 0.02);
  CHECK(train_xor(maker<nn::Adam>(nn::AdamOptions{.lr = 0.05, .amsgrad = true}), 400) < 0.02);
  CHECK(train_xor(maker<nn::RMSprop>(nn::RMSpropOptions{.lr = 0.01}), 400) < 0.02);
  CHECK(train_xor(maker<nn::RMSprop>(nn::RMSpropOptions{.lr = 0.005, .momentum = 0.9, .centered = true}), 400) < 0.02);
}
