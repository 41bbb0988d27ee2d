// The tape and the engine: accumulation, retain_graph, grad mode, detach, in-place changes,
// deep graphs, freeing saved tensors, retain_grad, autograd::grad, higher-order gradients, and a
// small network whose gradients are derived by hand.
#include <catch2/catch.hpp>
#include <nabla/autograd.hpp>

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

using namespace nabla;
using Catch::Contains;

namespace {

Tensor leaf(std::initializer_list<double> values, const Shape& shape = {}) {
  return tensor(values, shape, float64).requires_grad_();
}

// Every element of `actual` equals `expected` to a relative 1e-12 (these are exact-formula checks).
void check_values(const Tensor& actual, const std::vector<double>& expected, double tolerance = 1e-12) {
  REQUIRE(actual.defined());
  const std::vector<double> values = actual.to_vector<double>();
  REQUIRE(values.size() == expected.size());
  for (size_t i = 0; i < values.size(); ++i) {
    INFO("element " << i);
    CHECK(values[i] == Approx(expected[i]).epsilon(tolerance).margin(tolerance));
  }
}

}  // namespace

TEST_CASE("gradients accumulate across backward calls", "[autograd][engine]") {
  Tensor x = leaf({1.0, -2.0, 3.0});
  sum(x * x).backward();
  check_values(x.grad(), {2.0, -4.0, 6.0});
  sum(x * 3.0).backward();
  check_values(x.grad(), {5.0, -1.0, 9.0});

  SECTION("zero_grad starts again from nothing") {
    x.zero_grad();
    CHECK_FALSE(x.grad().defined());
    sum(x).backward();
    check_values(x.grad(), {1.0, 1.0, 1.0});
  }
  SECTION("a variable used twice gets both contributions") {
    Tensor y = leaf({0.5, 2.0});
    sum(y + y * y).backward();
    check_values(y.grad(), {2.0, 5.0});
  }
  SECTION("gradients sharing a buffer are stored separately") {
    // add hands its incoming gradient to both inputs; changing one stored grad must not change the other.
    Tensor a = leaf({1.0, 2.0});
    Tensor b = leaf({3.0, 4.0});
    sum(a + b).backward();
    a.grad().add_(10.0);
    check_values(a.grad(), {11.0, 11.0});
    check_values(b.grad(), {1.0, 1.0});
  }
  SECTION("stored gradients are contiguous, even when the last op was a transpose") {
    // Optimisers run flat loops over grad(); transpose's gradient is a transposed view.
    Tensor matrix = tensor({1.0, 2.0, 3.0, 4.0, 5.0, 6.0}, {2, 3}, float64).requires_grad_();
    const Tensor weights(tensor({1.0, 2.0, 3.0, 4.0, 5.0, 6.0}, {3, 2}, float64));
    sum(matrix.t() * weights).backward();
    CHECK(matrix.grad().is_contiguous());
    check_values(matrix.grad(), {1.0, 3.0, 5.0, 2.0, 4.0, 6.0});
  }
  SECTION("backward from a leaf itself") {
    Tensor scalar = scalar_tensor(3.0, float64).requires_grad_();
    scalar.backward();
    CHECK(scalar.grad().item() == 1.0);
  }
  SECTION("broadcast operands get gradients of their own shape") {
    Tensor row = leaf({1.0, 2.0, 3.0}, {1, 3});
    Tensor column = leaf({1.0, 10.0}, {2, 1});
    sum(row * column).backward();
    CHECK(row.grad().shape() == Shape{1, 3});
    CHECK(column.grad().shape() == Shape{2, 1});
    check_values(row.grad(), {11.0, 11.0, 11.0});
    check_values(column.grad(), {6.0, 6.0});
  }
}

TEST_CASE("retain_graph allows a second backward, without it the graph is freed", "[autograd][engine]") {
  Tensor x = leaf({0.5, 1.5});
  const Tensor y = sum(exp(x) * x);
  const double e0 = std::exp(0.5), e1 = std::exp(1.5);

  SECTION("with retain_graph") {
    y.backward({}, {.retain_graph = true});
    y.backward();
    check_values(x.grad(), {2.0 * e0 * 1.5, 2.0 * e1 * 2.5});
  }
  SECTION("without retain_graph") {
    y.backward();
    check_values(x.grad(), {e0 * 1.5, e1 * 2.5});
    CHECK_THROWS_WITH(y.backward(), Contains("retain_graph") && Contains("freed"));
  }
  SECTION("a graph freed through a shared part of it") {
    const Tensor shared = exp(x);
    const Tensor first = sum(shared);
    const Tensor second = sum(shared * 2.0);
    first.backward();
    CHECK_THROWS_WITH(second.backward(), Contains("retain_graph") && Contains("exp"));
  }
}

TEST_CASE("NoGradGuard stops recording and nests", "[autograd][engine]") {
  Tensor x = leaf({1.0, 2.0});
  REQUIRE(is_grad_enabled());
  {
    NoGradGuard outer;
    CHECK_FALSE(is_grad_enabled());
    const Tensor y = exp(x) * x;
    CHECK_FALSE(y.grad_fn());
    CHECK_FALSE(y.requires_grad());
    CHECK(y.is_leaf());
    {
      NoGradGuard inner;
      CHECK_FALSE(is_grad_enabled());
    }
    CHECK_FALSE(is_grad_enabled());  // leaving the inner guard keeps the outer one's setting
    {
      EnableGradGuard enable;
      CHECK(is_grad_enabled());
      const Tensor z = x * 2.0;
      CHECK(z.grad_fn());
      CHECK(z.requires_grad());
    }
    CHECK_FALSE(is_grad_enabled());
    CHECK_THROWS_WITH(sum(y).backward(), Contains("does not require grad"));
  }
  CHECK(is_grad_enabled());
  const Tensor recorded = exp(x);
  CHECK(recorded.grad_fn());
  CHECK(std::string(recorded.grad_fn()->name()) == "exp");
  CHECK(recorded.requires_grad());
  CHECK_FALSE(recorded.is_leaf());
}

TEST_CASE("ops on variables that do not require grad record nothing", "[autograd][engine]") {
  const Tensor a(tensor({1.0, 2.0}, {}, float64));
  const Tensor b = exp(a) * a;
  CHECK_FALSE(b.requires_grad());
  CHECK_FALSE(b.grad_fn());
}

TEST_CASE("detach cuts a variable from the graph", "[autograd][engine]") {
  Tensor x = leaf({1.0, 2.0});
  const Tensor y = x * x;
  const Tensor d = y.detach();
  CHECK_FALSE(d.requires_grad());
  CHECK(d.is_leaf());
  CHECK_FALSE(d.grad_fn());
  CHECK(d.raw().shares_storage(y.raw()));
  // Only the path through x (not through d) contributes: d/dx of sum(d * x) with d constant is d.
  sum(d * x).backward();
  check_values(x.grad(), {1.0, 4.0});
}

TEST_CASE("in-place changes to saved values are caught at backward", "[autograd][engine]") {
  Tensor x = leaf({0.5, 1.0});

  SECTION("through data()") {
    Tensor y = exp(x);  // exp saves its output
    y.data().add_(1.0);
    CHECK_THROWS_WITH(sum(y).backward(), Contains("in-place") && Contains("exp"));
  }
  SECTION("mul_ under NoGradGuard") {
    Tensor y = exp(x);
    {
      NoGradGuard no_grad;
      y.mul_(2.0);
    }
    CHECK_THROWS_WITH(sum(y).backward(), Contains("in-place") && Contains("exp"));
  }
  SECTION("a saved input changed") {
    Tensor base(tensor({2.0, 3.0}, {}, float64));
    const Tensor y = log(x * base);  // log saves its input x * base; mul saves base
    {
      NoGradGuard no_grad;
      base.mul_(2.0);
    }
    CHECK_THROWS_WITH(sum(y).backward(), Contains("in-place"));
  }
  SECTION("in-place on a leaf that requires grad, while recording, is refused") {
    CHECK_THROWS_WITH(x.add_(1.0), Contains("leaf") && Contains("in place") && Contains("NoGradGuard"));
    CHECK_THROWS_WITH(x.mul_(x), Contains("leaf"));
    {
      NoGradGuard no_grad;  // as an optimiser step does
      const uint64_t version = x.raw().storage()->version();
      x.add_(1.0);
      CHECK(x.raw().storage()->version() > version);
    }
    check_values(x, {1.5, 2.0});
    CHECK(x.is_leaf());
  }
}

TEST_CASE("recorded in-place ops on non-leaves are differentiated", "[autograd][engine]") {
  Tensor x = leaf({1.0, 2.0});
  SECTION("mul_ by a constant") {
    Tensor y = x * 3.0;  // scalar mul saves nothing, so changing y is safe
    y.mul_(2.0);
    CHECK(std::string(y.grad_fn()->name()) == "mul");
    check_values(y, {6.0, 12.0});
    sum(y).backward();
    check_values(x.grad(), {6.0, 6.0});
  }
  SECTION("add_ of a variable that requires grad into a constant") {
    Tensor accumulator(zeros({2}, float64));
    accumulator.add_(x * x);
    CHECK(accumulator.requires_grad());
    accumulator.sub_(x);
    sum(accumulator).backward();
    check_values(x.grad(), {1.0, 3.0});
  }
}

TEST_CASE("a 100,000-op chain backpropagates and is destroyed without stack overflow", "[autograd][engine]") {
  constexpr int kLength = 100000;
  SECTION("x * 1.0001, backward then destroy") {
    Tensor x = leaf({1.0});
    Tensor y = x;
    for (int i = 0; i < kLength; ++i) y = y * 1.0001;
    y.backward();
    CHECK(x.grad().item() == Approx(std::pow(1.0001, kLength)).epsilon(1e-9));
    y = Tensor();  // drops the whole chain
  }
  SECTION("x + 0, destroyed without a backward") {
    Tensor x = leaf({1.0});
    Tensor y = x;
    for (int i = 0; i < kLength; ++i) y = y + 0.0;
    CHECK(y.grad_fn());
    y = Tensor();
  }
  SECTION("retained graph, backward twice, then destroy") {
    Tensor x = leaf({2.0});
    Tensor y = x;
    for (int i = 0; i < kLength; ++i) y = y + 0.0;
    y.backward({}, {.retain_graph = true});
    y.backward();
    CHECK(x.grad().item() == 2.0);
  }
  SUCCEED("no stack overflow");
}

TEST_CASE("saved tensors are freed after backward unless the graph is retained", "[autograd][engine]") {
  Generator generator(3);
  Tensor x = randn({3, 4}, float64, generator).requires_grad_();
  Tensor loss;
  {
    const Tensor a = exp(x);   // exp saves its output (a's buffer)
    const Tensor b = tanh(a);  // tanh saves its output (b's buffer)
    loss = sum(b);
  }
  // a and b are gone from this scope: only the graph keeps their buffers.
  const int64_t before = Storage::live_count();
  SECTION("without retain_graph") {
    loss.backward();
    // Two saved buffers released, one gradient buffer (x.grad) created.
    CHECK(Storage::live_count() == before - 2 + 1);
  }
  SECTION("with retain_graph") {
    loss.backward({}, {.retain_graph = true});
    CHECK(Storage::live_count() == before + 1);
    loss.backward();
    CHECK(Storage::live_count() == before - 2 + 1);
  }
  SECTION("destroying an unused graph frees them too") {
    loss = Tensor();
    CHECK(Storage::live_count() == before - 3);  // a, b and the loss itself
  }
}

TEST_CASE("retain_grad keeps a non-leaf's gradient", "[autograd][engine]") {
  Tensor x = leaf({1.0, -2.0});
  Tensor y = x * 3.0;
  Tensor z = y * y;  // not retained
  y.retain_grad();
  sum(z).backward();
  check_values(y.grad(), {6.0, -12.0});  // d sum(y^2) / dy = 2y
  CHECK_FALSE(z.grad().defined());
  check_values(x.grad(), {18.0, -36.0});
}

TEST_CASE("autograd::grad returns gradients and leaves grad() alone", "[autograd][engine]") {
  Tensor x = leaf({1.0, 2.0});
  Tensor w = leaf({3.0});
  const Tensor y = sum(x * x * w);

  SECTION("results without touching grad()") {
    const std::vector<Tensor> grads = autograd::grad({y}, {x, w});
    REQUIRE(grads.size() == 2);
    check_values(grads[0], {6.0, 12.0});
    check_values(grads[1], {5.0});
    CHECK_FALSE(grads[0].requires_grad());  // no create_graph: plain values
    CHECK_FALSE(x.grad().defined());
    CHECK_FALSE(w.grad().defined());
  }
  SECTION("with respect to a non-leaf") {
    const Tensor h = x * 2.0;
    const Tensor out = sum(h * h);
    check_values(autograd::grad({out}, {h})[0], {4.0, 8.0});
    CHECK_FALSE(x.grad().defined());
  }
  SECTION("an unused input is an error unless allow_unused") {
    Tensor unused = leaf({1.0});
    CHECK_THROWS_WITH(autograd::grad({y}, {x, unused}, {}, {.retain_graph = true}),
                      Contains("allow_unused") && Contains("input 1"));
    const std::vector<Tensor> grads = autograd::grad({y}, {x, unused}, {}, {.allow_unused = true});
    check_values(grads[0], {6.0, 12.0});
    CHECK_FALSE(grads[1].defined());
  }
  SECTION("an input that does not require grad is an error") {
    const Tensor constant(tensor({1.0}, {}, float64));
    CHECK_THROWS_WITH(autograd::grad({y}, {constant}), Contains("does not require grad"));
  }
  SECTION("several outputs with weights") {
    const Tensor a = x * 2.0;
    const Tensor b = sum(x * x);
    const std::vector<Tensor> grads =
        autograd::grad({a, b}, {x}, {Tensor(tensor({1.0, -1.0}, {}, float64)), Tensor(scalar_tensor(0.5, float64))});
    check_values(grads[0], {2.0 + 1.0, -2.0 + 2.0});
  }
}

TEST_CASE("create_graph gives higher-order derivatives", "[autograd][engine]") {
  SECTION("x * x * x at 2: 12, 12, 6") {
    Tensor x = scalar_tensor(2.0, float64).requires_grad_();
    const Tensor y = x * x * x;
    const Tensor first = autograd::grad({y}, {x}, {}, {.create_graph = true})[0];
    CHECK(first.item() == Approx(12.0));
    CHECK(first.requires_grad());
    const Tensor second = autograd::grad({first}, {x}, {}, {.create_graph = true})[0];
    CHECK(second.item() == Approx(12.0));
    const Tensor third = autograd::grad({second}, {x})[0];
    CHECK(third.item() == Approx(6.0));
  }
  SECTION("pow(x, 3) at 2: 12, 12, 6") {
    Tensor x = scalar_tensor(2.0, float64).requires_grad_();
    const Tensor y = pow(x, 3.0);
    const Tensor first = autograd::grad({y}, {x}, {}, {.create_graph = true})[0];
    const Tensor second = autograd::grad({first}, {x}, {}, {.create_graph = true})[0];
    const Tensor third = autograd::grad({second}, {x})[0];
    CHECK(first.item() == Approx(12.0));
    CHECK(second.item() == Approx(12.0));
    CHECK(third.item() == Approx(6.0));
  }
  SECTION("backward with create_graph leaves a differentiable grad()") {
    Tensor x = scalar_tensor(2.0, float64).requires_grad_();
    (x * x * x).backward({}, {.create_graph = true});
    const Tensor first = x.grad();
    CHECK(first.item() == Approx(12.0));
    REQUIRE(first.requires_grad());
    x.zero_grad();
    first.backward();
    CHECK(x.grad().item() == Approx(12.0));
  }
}

TEST_CASE("Hessian-vector product matches the closed form", "[autograd][engine]") {
  // f(x) = 0.5 x^T A x + sum(exp(x)); H = (A + A^T) / 2 + diag(exp(x)).
  const std::vector<double> a_values = {1.0, 2.0, -1.0, 0.5, 3.0, 0.0, -2.0, 1.5, 2.0};
  const std::vector<double> x_values = {0.3, -0.7, 1.1};
  const std::vector<double> v_values = {1.0, -2.0, 0.5};
  const Tensor a(from_vector(a_values, {3, 3}));
  Tensor x = from_vector(x_values).requires_grad_();
  const Tensor v(from_vector(v_values));

  const Tensor f = matmul(x, matmul(a, x)) * 0.5 + sum(exp(x));
  const Tensor g = autograd::grad({f}, {x}, {}, {.create_graph = true})[0];
  std::vector<double> expected(3, 0.0);
  for (size_t i = 0; i < 3; ++i) {
    for (size_t j = 0; j < 3; ++j) expected[i] += 0.5 * (a_values[i * 3 + j] + a_values[j * 3 + i]) * v_values[j];
    expected[i] += std::exp(x_values[i]) * v_values[i];
  }
  SECTION("as grad(g, x, v)") {
    const Tensor hv = autograd::grad({g}, {x}, {v})[0];
    check_values(hv, expected);
  }
  SECTION("as grad(sum(g * v), x)") {
    const Tensor hv = autograd::grad({sum(g * v)}, {x})[0];
    check_values(hv, expected);
  }
}

TEST_CASE("gradients of a 2-3-1 sigmoid MLP with MSE match a hand derivation", "[autograd][engine]") {
  // Two samples, two features, three hidden sigmoid units, one linear output, mean squared error.
  const std::vector<double> x = {0.5, -1.0, 1.5, 0.25};                 // [2, 2]
  const std::vector<double> w1 = {0.1, -0.2, 0.3, 0.4, 0.5, -0.6};      // [2, 3]
  const std::vector<double> b1 = {0.01, -0.02, 0.03};                   // [3]
  const std::vector<double> w2 = {0.7, -0.8, 0.9};                      // [3, 1]
  const std::vector<double> b2 = {0.05};                                // [1]
  const std::vector<double> target = {0.3, -0.2};                       // [2, 1]

  // By hand: forward, then the chain rule one layer at a time.
  double h[2][3], out[2], d_out[2];
  double expected_loss = 0.0;
  for (int n = 0; n < 2; ++n) {
    out[n] = b2[0];
    for (int j = 0; j < 3; ++j) {
      const double z = x[n * 2 + 0] * w1[0 * 3 + j] + x[n * 2 + 1] * w1[1 * 3 + j] + b1[j];
      h[n][j] = 1.0 / (1.0 + std::exp(-z));
      out[n] += h[n][j] * w2[j];
    }
    expected_loss += (out[n] - target[n]) * (out[n] - target[n]) / 2.0;
    d_out[n] = 2.0 * (out[n] - target[n]) / 2.0;
  }
  std::vector<double> d_w1(6, 0.0), d_b1(3, 0.0), d_w2(3, 0.0), d_b2(1, 0.0);
  for (int n = 0; n < 2; ++n) {
    d_b2[0] += d_out[n];
    for (int j = 0; j < 3; ++j) {
      d_w2[j] += h[n][j] * d_out[n];
      const double d_z = d_out[n] * w2[j] * h[n][j] * (1.0 - h[n][j]);
      d_b1[j] += d_z;
      for (int i = 0; i < 2; ++i) d_w1[i * 3 + j] += x[n * 2 + i] * d_z;
    }
  }

  // With nabla.
  const Tensor input(from_vector(x, {2, 2}));
  Tensor weight1 = from_vector(w1, {2, 3}).requires_grad_();
  Tensor bias1 = from_vector(b1, {3}).requires_grad_();
  Tensor weight2 = from_vector(w2, {3, 1}).requires_grad_();
  Tensor bias2 = from_vector(b2, {1}).requires_grad_();
  const Tensor labels(from_vector(target, {2, 1}));
  const Tensor hidden = sigmoid(matmul(input, weight1) + bias1);
  const Tensor prediction = matmul(hidden, weight2) + bias2;
  const Tensor error = prediction - labels;
  const Tensor loss = mean(error * error);
  CHECK(loss.item() == Approx(expected_loss).epsilon(1e-12));
  loss.backward();
  check_values(weight1.grad(), d_w1);
  check_values(bias1.grad(), d_b1);
  check_values(weight2.grad(), d_w2);
  check_values(bias2.grad(), d_b2);
}

// ---- queue_callback (issue 16: DistributedDataParallel waits for its all-reduces this way) ----
TEST_CASE("queue_callback runs once the pass has accumulated every gradient", "[autograd][engine]") {
  const Tensor a = tensor({1.0, 2.0}, {2}, float64).requires_grad_();
  const Tensor b = tensor({3.0}, {1}, float64).requires_grad_();
  std::vector<std::string> events;
  a.register_post_accumulate_grad_hook([&](Tensor&) {
    events.push_back("a");
    autograd::queue_callback([&] {
      events.push_back("callback");
      CHECK(a.grad().to_vector<double>() == std::vector<double>{3, 3});
      CHECK(b.grad().to_vector<double>() == std::vector<double>{3});
      autograd::queue_callback([&] { events.push_back("queued by a callback"); });
    });
  });
  b.register_post_accumulate_grad_hook([&](Tensor&) { events.push_back("b"); });
  sum(a * b).backward();
  REQUIRE(events.size() == 4);
  CHECK(events[2] == "callback");
  CHECK(events[3] == "queued by a callback");
  CHECK_THROWS_WITH(autograd::queue_callback([] {}), Contains("no backward pass is running"));
}
