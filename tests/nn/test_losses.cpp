// The losses: values against hand computations and reference loops, reductions, label smoothing,
// [N, C, d...] inputs, numerical stability at extreme logits, refusals of bad targets and inputs,
// and a float64 gradcheck of every loss with respect to every float input.
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "nabla/nn.hpp"
#include "nn_test_support.hpp"

using namespace nabla;
using Catch::Contains;
using nn::functional::CrossEntropyOptions;
using nn::functional::Reduction;
using nn_test::Args;
using nn_test::check_gradients;
namespace F = nn::functional;

namespace {

std::vector<double> values_of(const Tensor& t) { return t.to_vector<double>(); }

bool all_finite(const Tensor& t) {
  for (double v : values_of(t)) {
    if (!std::isfinite(v)) return false;
  }
  return true;
}

Tensor classes(std::initializer_list<double> values, const Shape& shape = {}) { return tensor(values, shape, int64); }

// Per-position cross-entropy of logits [N, C, d...] (contiguous) against targets [N, d...],
// with label smoothing: (1 - eps) * nll + eps * mean over classes of -log p.
std::vector<double> reference_cross_entropy(const Tensor& logits, const Tensor& target, double smoothing = 0.0) {
  const int64_t batch = logits.shape()[0], channels = logits.shape()[1];
  const int64_t spatial = logits.numel() / (batch * channels);
  const std::vector<double> x = values_of(logits);
  const std::vector<int64_t> t = target.to_vector<int64_t>();
  std::vector<double> losses;
  for (int64_t n = 0; n < batch; ++n) {
    for (int64_t s = 0; s < spatial; ++s) {
      auto at = [&](int64_t c) { return x[static_cast<size_t>((n * channels + c) * spatial + s)]; };
      double largest = -std::numeric_limits<double>::infinity();
      for (int64_t c = 0; c < channels; ++c) largest = std::max(largest, at(c));
      double total = 0.0;
      for (int64_t c = 0; c < channels; ++c) total += std::exp(at(c) - largest);
      const double log_normaliser = largest + std::log(total);
      double mean_negative_log_p = 0.0;
      for (int64_t c = 0; c < channels; ++c) mean_negative_log_p += (log_normaliser - at(c)) / static_cast<double>(channels);
      const double nll = log_normaliser - at(t[static_cast<size_t>(n * spatial + s)]);
      losses.push_back((1.0 - smoothing) * nll + smoothing * mean_negative_log_p);
    }
  }
  return losses;
}

double mean_of(const std::vector<double>& values) {
  double total = 0.0;
  for (double v : values) total += v;
  return total / static_cast<double>(values.size());
}

double sum_of(const std::vector<double>& values) {
  double total = 0.0;
  for (double v : values) total += v;
  return total;
}

void check_close(const std::vector<double>& actual, const std::vector<double>& expected, double tolerance) {
  REQUIRE(actual.size() == expected.size());
  for (size_t i = 0; i < actual.size(); ++i) {
    INFO("element " << i);
    CHECK(actual[i] == Approx(expected[i]).margin(tolerance).epsilon(tolerance));
  }
}

}  // namespace

TEST_CASE("losses: cross_entropy from logits by hand, stable at logits near 1000", "[losses][cross_entropy]") {
  // Row 0: -log softmax([1, 2, 3])[2] = log(1 + e^-1 + e^-2).
  // Row 1: -log softmax([1000, 999, 0])[1] = 1 + log(1 + e^-1 + e^-1000), with e^-1000 = 0.
  const double row0 = std::log(1.0 + std::exp(-1.0) + std::exp(-2.0));
  const double row1 = 1.0 + std::log(1.0 + std::exp(-1.0));
  const Tensor target = classes({2, 1});
  for (const DType dtype : {float64, float32}) {
    INFO("dtype " << dtype_name(dtype));
    const Tensor logits = tensor({1, 2, 3, 1000, 999, 0}, {2, 3}, dtype);
    // float32 resolves 1000 only to 6e-5, so log_softmax there is good to about that much.
    const double tolerance = dtype == float64 ? 1e-12 : 1e-4;
    const Tensor none = F::cross_entropy(logits, target, {.reduction = Reduction::none});
    CHECK(none.shape() == Shape{2});
    check_close(values_of(none), {row0, row1}, tolerance);
    CHECK(F::cross_entropy(logits, target).item() == Approx((row0 + row1) / 2).epsilon(tolerance));
    CHECK(F::cross_entropy(logits, target, {.reduction = Reduction::sum}).item() == Approx(row0 + row1).epsilon(tolerance));
    CHECK(F::cross_entropy(logits, target).dtype() == dtype);

    // The gradient is finite too: softmax - one_hot, averaged over the batch.
    Tensor x = logits.detach().requires_grad_();
    F::cross_entropy(x, target).backward();
    CHECK(all_finite(x.grad()));
    CHECK(x.grad().at({1, 1}) == Approx((1.0 / (1.0 + std::exp(1.0)) - 1.0) / 2.0).epsilon(1e-4));
  }
  // Logits of +-1000 in every class: a uniform distribution, not inf - inf.
  const Tensor extreme = tensor({1000, 1000, 1000, -1000, -1000, -1000}, {2, 3}, float32);
  check_close(values_of(F::cross_entropy(extreme, classes({0, 2}), {.reduction = Reduction::none})),
              {std::log(3.0), std::log(3.0)}, 1e-4);
}

TEST_CASE("losses: cross_entropy reductions and label smoothing follow the formula", "[losses][cross_entropy]") {
  Generator generator(1);
  const Tensor logits = mul(randn({5, 4}, float64, generator), 2.0);
  const Tensor target = classes({0, 3, 1, 1, 2});
  for (const double eps : {0.0, 0.1, 0.5}) {
    INFO("label_smoothing " << eps);
    const std::vector<double> expected = reference_cross_entropy(logits, target, eps);
    check_close(values_of(F::cross_entropy(logits, target, {.reduction = Reduction::none, .label_smoothing = eps})),
                expected, 1e-12);
    CHECK(F::cross_entropy(logits, target, {.label_smoothing = eps}).item() == Approx(mean_of(expected)).epsilon(1e-12));
    CHECK(F::cross_entropy(logits, target, {.reduction = Reduction::sum, .label_smoothing = eps}).item() ==
          Approx(sum_of(expected)).epsilon(1e-12));
  }
  CHECK_THROWS_WITH(F::cross_entropy(logits, target, {.label_smoothing = 1.0}), Contains("label_smoothing") && Contains("1"));
  CHECK_THROWS_WITH(F::cross_entropy(logits, target, {.label_smoothing = -0.1}), Contains("label_smoothing"));
}

TEST_CASE("losses: cross_entropy and nll_loss over [N, C, d...] inputs", "[losses][cross_entropy]") {
  Generator generator(2);
  SECTION("[N, C, d]") {
    const Tensor logits = randn({2, 3, 4}, float64, generator);
    const Tensor target = randint(0, 3, {2, 4}, generator);
    const std::vector<double> expected = reference_cross_entropy(logits, target);
    const Tensor none = F::cross_entropy(logits, target, {.reduction = Reduction::none});
    CHECK(none.shape() == Shape{2, 4});
    check_close(values_of(none), expected, 1e-12);
    CHECK(F::cross_entropy(logits, target).item() == Approx(mean_of(expected)).epsilon(1e-12));
    // nll_loss of log_softmax over the class axis is the same thing.
    const Tensor nll = F::nll_loss(log_softmax(Tensor(logits), 1), target, Reduction::none);
    CHECK(nll.shape() == Shape{2, 4});
    check_close(values_of(nll), expected, 1e-12);
  }
  SECTION("[N, C, H, W] with label smoothing") {
    const Tensor logits = randn({2, 3, 2, 2}, float64, generator);
    const Tensor target = randint(0, 3, {2, 2, 2}, generator);
    const std::vector<double> expected = reference_cross_entropy(logits, target, 0.2);
    const Tensor none = F::cross_entropy(logits, target, {.reduction = Reduction::none, .label_smoothing = 0.2});
    CHECK(none.shape() == Shape{2, 2, 2});
    check_close(values_of(none), expected, 1e-12);
    CHECK(F::cross_entropy(logits, target, {.reduction = Reduction::sum, .label_smoothing = 0.2}).item() ==
          Approx(sum_of(expected)).epsilon(1e-12));
  }
}

TEST_CASE("losses: invalid targets are refused naming the class and the class count", "[losses][cross_entropy]") {
  const Tensor logits = zeros({2, 10});
  for (const bool use_nll : {false, true}) {
    INFO((use_nll ? "nll_loss" : "cross_entropy"));
    const char* op = use_nll ? "nll_loss" : "cross_entropy";
    auto loss = [&](const Tensor& scores, const Tensor& target) {
      return use_nll ? F::nll_loss(scores, target) : F::cross_entropy(scores, target);
    };
    CHECK_THROWS_WITH(loss(logits, classes({3, 10})), Contains(op) && Contains("class 10") && Contains("10 classes"));
    CHECK_THROWS_WITH(loss(logits, classes({-1, 2})), Contains(op) && Contains("class -1") && Contains("10 classes"));
    CHECK_THROWS_WITH(loss(logits, tensor({1, 2}, {}, float32)), Contains(op) && Contains("int64") && Contains("float32"));
    CHECK_THROWS_WITH(loss(logits, Tensor()), Contains(op) && Contains("int64"));
    CHECK_THROWS_WITH(loss(logits, classes({1, 2, 3})), Contains(op) && Contains("[3]") && Contains("[2, 10]"));
    CHECK_THROWS_WITH(loss(logits, classes({1, 2}, {2, 1})), Contains(op) && Contains("[2, 1]") && Contains("[2]"));
    CHECK_THROWS_WITH(loss(zeros({2, 3, 4}), classes({1, 2}, {2, 1})), Contains(op) && Contains("[2, 4]"));
    CHECK_THROWS_WITH(loss(zeros({10}), classes({1})), Contains(op) && Contains("[N, C]"));
    CHECK_NOTHROW(loss(logits, classes({0, 9})));
  }
}

TEST_CASE("losses: nll_loss picks -log_probs[target]", "[losses]") {
  const Tensor log_probs = tensor({-1, -2, -3, -0.5, -4, -0.1}, {2, 3}, float64);
  const Tensor target = classes({1, 2});
  check_close(values_of(F::nll_loss(log_probs, target, Reduction::none)), {2.0, 0.1}, 1e-15);
  CHECK(F::nll_loss(log_probs, target).item() == Approx(1.05));
  CHECK(F::nll_loss(log_probs, target, Reduction::sum).item() == Approx(2.1));

  // The gradient lands only on the picked entries.
  Tensor x = log_probs.detach().requires_grad_();
  F::nll_loss(x, target, Reduction::sum).backward();
  CHECK(values_of(x.grad()) == std::vector<double>{0, -1, 0, 0, 0, -1});
}

TEST_CASE("losses: mse_loss", "[losses]") {
  const Tensor input = tensor({1, 2, 3}, {}, float64);
  const Tensor target = tensor({1.5, 2, 5}, {}, float64);
  check_close(values_of(F::mse_loss(input, target, Reduction::none)), {0.25, 0.0, 4.0}, 1e-15);
  CHECK(F::mse_loss(input, target).item() == Approx(4.25 / 3.0));
  CHECK(F::mse_loss(input, target, Reduction::sum).item() == Approx(4.25));
  // No silent broadcasting: [3] against [1, 3] is almost always a bug.
  CHECK_THROWS_WITH(F::mse_loss(input, target.reshape({1, 3})), Contains("mse_loss") && Contains("[3]") && Contains("[1, 3]"));
}

TEST_CASE("losses: binary_cross_entropy", "[losses][bce]") {
  const Tensor probs = tensor({0.2, 0.9, 0.5, 0.3}, {}, float64);
  const Tensor target = tensor({0, 1, 1, 0.25}, {}, float64);
  const std::vector<double> expected{-std::log(0.8), -std::log(0.9), -std::log(0.5),
                                     -(0.25 * std::log(0.3) + 0.75 * std::log(0.7))};
  check_close(values_of(F::binary_cross_entropy(probs, target, Reduction::none)), expected, 1e-12);
  CHECK(F::binary_cross_entropy(probs, target).item() == Approx(mean_of(expected)));
  CHECK(F::binary_cross_entropy(probs, target, Reduction::sum).item() == Approx(sum_of(expected)));

  SECTION("p = 0 and p = 1 give finite losses (log floored at -100) and finite gradients") {
    Tensor p = tensor({0, 1, 0, 1}, {}, float64).requires_grad_();
    const Tensor y = tensor({0, 1, 1, 0}, {}, float64);
    const Tensor loss = F::binary_cross_entropy(p, y, Reduction::none);
    check_close(values_of(loss), {0.0, 0.0, 100.0, 100.0}, 1e-12);
    sum(loss).backward();
    CHECK(all_finite(p.grad()));
  }
  SECTION("inputs outside [0, 1] and mismatched shapes are refused") {
    CHECK_THROWS_WITH(F::binary_cross_entropy(tensor({0.5, 1.5}), tensor({0, 1})),
                      Contains("binary_cross_entropy") && Contains("[0, 1]") && Contains("with_logits"));
    CHECK_THROWS_WITH(F::binary_cross_entropy(tensor({-0.01, 0.5}), tensor({0, 1})), Contains("[0, 1]"));
    CHECK_THROWS_WITH(F::binary_cross_entropy(tensor({0.5, 0.5}), tensor({0, 1, 1})), Contains("[2]") && Contains("[3]"));
  }
}

TEST_CASE("losses: binary_cross_entropy_with_logits is stable and equals bce(sigmoid(z))", "[losses][bce]") {
  SECTION("|z| = 100: no overflow, no log(0)") {
    for (const DType dtype : {float64, float32}) {
      INFO("dtype " << dtype_name(dtype));
      Tensor z = tensor({100, -100, 100, -100}, {}, dtype).requires_grad_();
      const Tensor y = tensor({1, 1, 0, 0}, {}, dtype);
      const Tensor loss = F::binary_cross_entropy_with_logits(z, y, Reduction::none);
      check_close(values_of(loss), {0.0, 100.0, 100.0, 0.0}, 1e-6);
      sum(loss).backward();
      // d/dz = sigmoid(z) - y.
      check_close(values_of(z.grad()), {0.0, -1.0, 1.0, 0.0}, 1e-6);
    }
  }
  SECTION("moderate z, hard and soft targets") {
    Generator generator(3);
    const Tensor z = mul(randn({12}, float64, generator), 3.0);
    const Tensor y = uniform({12}, 0.0, 1.0, float64, generator);
    const std::vector<double> from_logits = values_of(F::binary_cross_entropy_with_logits(z, y, Reduction::none));
    const std::vector<double> from_probs = values_of(F::binary_cross_entropy(sigmoid(z), y, Reduction::none));
    check_close(from_logits, from_probs, 1e-10);
    CHECK(F::binary_cross_entropy_with_logits(z, y).item() == Approx(mean_of(from_probs)).epsilon(1e-10));
    CHECK(F::binary_cross_entropy_with_logits(z, y, Reduction::sum).item() == Approx(sum_of(from_probs)).epsilon(1e-10));
  }
  CHECK_THROWS_WITH(F::binary_cross_entropy_with_logits(zeros({2}), zeros({2, 1})),
                    Contains("binary_cross_entropy_with_logits") && Contains("[2, 1]"));
}

TEST_CASE("losses: gradcheck of every loss with respect to every float input", "[losses][gradcheck]") {
  Generator generator(4);
  const Tensor target = classes({0, 3, 1});
  const Tensor spatial_target = classes({2, 0, 1, 1}, {2, 2});
  const Tensor image_target = classes({0, 1, 2, 2, 1, 0, 0, 2}, {2, 2, 2});

  check_gradients("cross_entropy mean", [target](const Args& a) { return F::cross_entropy(a[0], target); },
                  {randn({3, 4}, float64, generator)});
  check_gradients("cross_entropy sum, label smoothing 0.2",
                  [target](const Args& a) {
                    return F::cross_entropy(a[0], target, {.reduction = Reduction::sum, .label_smoothing = 0.2});
                  },
                  {randn({3, 4}, float64, generator)});
  check_gradients("cross_entropy none, [N, C, d]",
                  [spatial_target](const Args& a) {
                    return F::cross_entropy(a[0], spatial_target, {.reduction = Reduction::none});
                  },
                  {randn({2, 3, 2}, float64, generator)});
  check_gradients("cross_entropy mean, [N, C, H, W], label smoothing 0.1",
                  [image_target](const Args& a) { return F::cross_entropy(a[0], image_target, {.label_smoothing = 0.1}); },
                  {randn({2, 3, 2, 2}, float64, generator)});
  check_gradients("nll_loss mean", [target](const Args& a) { return F::nll_loss(a[0], target); },
                  {randn({3, 4}, float64, generator)});
  check_gradients("nll_loss none, [N, C, d]",
                  [spatial_target](const Args& a) { return F::nll_loss(a[0], spatial_target, Reduction::none); },
                  {randn({2, 3, 2}, float64, generator)});
  check_gradients("nll_loss of log_softmax, sum",
                  [target](const Args& a) { return F::nll_loss(log_softmax(a[0], 1), target, Reduction::sum); },
                  {randn({3, 4}, float64, generator)});

  for (const Reduction reduction : {Reduction::mean, Reduction::sum, Reduction::none}) {
    const std::string name = reduction == Reduction::mean ? "mean" : reduction == Reduction::sum ? "sum" : "none";
    check_gradients("mse_loss " + name, [reduction](const Args& a) { return F::mse_loss(a[0], a[1], reduction); },
                    {randn({2, 3}, float64, generator), randn({2, 3}, float64, generator)});
    check_gradients("binary_cross_entropy " + name,
                    [reduction](const Args& a) { return F::binary_cross_entropy(a[0], a[1], reduction); },
                    {uniform({2, 3}, 0.1, 0.9, float64, generator), uniform({2, 3}, 0.0, 1.0, float64, generator)});
    check_gradients("binary_cross_entropy_with_logits " + name,
                    [reduction](const Args& a) { return F::binary_cross_entropy_with_logits(a[0], a[1], reduction); },
                    {mul(nn_test::away_from_zero({2, 3}, generator), 2.0), uniform({2, 3}, 0.0, 1.0, float64, generator)});
  }
}
