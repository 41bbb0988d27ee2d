// ctc_loss against a reference written independently of it: every path of T frames over the C
// classes enumerated, collapsed (repeats merged, then blanks dropped) and its probability added
// when it spells the target. Plus the kernel against its composite, the reductions, zero_infinity,
// impossible and empty targets, one-sample calls, float32, second derivatives, and the errors.
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <vector>

#include "nabla/nn.hpp"
#include "nn_test_support.hpp"

using namespace nabla;
using Catch::Contains;
namespace F = nn::functional;

namespace {

Tensor ints(std::initializer_list<double> values, const Shape& shape = {}) { return tensor(values, shape, int64); }

// -log of the summed probability of every path of `frames` frames of sample b that collapses to
// `target`: C^frames paths, so only for tiny problems.
double brute_force_loss(const Tensor& log_probs, int64_t b, int64_t frames, const std::vector<int64_t>& target,
                        int64_t blank) {
  const int64_t classes = log_probs.size(2);
  double total = 0.0;
  std::vector<int64_t> path(static_cast<size_t>(frames), 0);
  int64_t count = 1;
  for (int64_t t = 0; t < frames; ++t) count *= classes;
  for (int64_t index = 0; index < count; ++index) {
    int64_t rest = index;
    for (int64_t t = 0; t < frames; ++t) {
      path[static_cast<size_t>(t)] = rest % classes;
      rest /= classes;
    }
    std::vector<int64_t> collapsed;
    for (int64_t t = 0; t < frames; ++t) {
      const int64_t c = path[static_cast<size_t>(t)];
      if (c != blank && (t == 0 || c != path[static_cast<size_t>(t - 1)])) collapsed.push_back(c);
    }
    if (collapsed != target) continue;
    double log_p = 0.0;
    for (int64_t t = 0; t < frames; ++t) log_p += log_probs.at({t, b, path[static_cast<size_t>(t)]});
    total += std::exp(log_p);
  }
  return -std::log(total);
}

Tensor random_log_probs(const Shape& shape, uint64_t seed, DType dtype = float64) {
  Generator generator(seed);
  return log_softmax(randn(shape, dtype, generator), 2);
}

}  // namespace

TEST_CASE("ctc_loss: equals the sum over every alignment, enumerated", "[losses][ctc]") {
  // 4 samples of at most 5 frames over 3 classes (blank 0): a repeated label (needs a blank
  // between), an empty target, a target filling the input, a shorter input.
  const Tensor log_probs = random_log_probs({5, 4, 3}, 1);
  const std::vector<std::vector<int64_t>> targets{{1, 1}, {}, {2, 1, 2, 1, 2}, {2}};
  const std::vector<int64_t> frames{5, 4, 5, 3};
  const Tensor padded = ints({1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 2, 1, 2, 1, 2, 2, 0, 0, 0, 0}, {4, 5});
  const Tensor input_lengths = ints({5, 4, 5, 3});
  const Tensor target_lengths = ints({2, 0, 5, 1});
  const Tensor losses = F::ctc_loss(log_probs, padded, input_lengths, target_lengths, {.reduction = Reduction::none});
  REQUIRE(losses.shape() == Shape{4});
  for (int64_t b = 0; b < 4; ++b) {
    INFO("sample " << b);
    CHECK(losses.at({b}) == Approx(brute_force_loss(log_probs, b, frames[static_cast<size_t>(b)],
                                                    targets[static_cast<size_t>(b)], 0))
                                .epsilon(1e-12));
  }
  SECTION("another blank, concatenated targets") {
    const Tensor concatenated = ints({0, 0, 1, 0});  // sample 0: (0, 0); sample 1: (1, 0)
    const Tensor two = random_log_probs({4, 2, 3}, 2);
    const Tensor blank_two =
        F::ctc_loss(two, concatenated, ints({4, 3}), ints({2, 2}), {.blank = 2, .reduction = Reduction::none});
    CHECK(blank_two.at({0}) == Approx(brute_force_loss(two, 0, 4, {0, 0}, 2)).epsilon(1e-12));
    CHECK(blank_two.at({1}) == Approx(brute_force_loss(two, 1, 3, {1, 0}, 2)).epsilon(1e-12));
  }
}

TEST_CASE("ctc_loss: reductions, zero_infinity, impossible and empty targets", "[losses][ctc]") {
  const Tensor log_probs = random_log_probs({6, 3, 4}, 3);
  const Tensor targets = ints({1, 2, 3, 3, 3, 3, 1, 0, 0}, {3, 3});
  const Tensor input_lengths = ints({6, 4, 5});
  const Tensor target_lengths = ints({3, 3, 0});  // sample 1: (3, 3, 3) needs 5 frames, has 4
  const Tensor none = F::ctc_loss(log_probs, targets, input_lengths, target_lengths, {.reduction = Reduction::none});
  const std::vector<double> losses = none.to_vector<double>();
  CHECK(std::isfinite(losses[0]));
  CHECK(losses[1] == std::numeric_limits<double>::infinity());
  // The empty target: every frame blank.
  double all_blank = 0.0;
  for (int64_t t = 0; t < 5; ++t) all_blank -= log_probs.at({t, 2, 0});
  CHECK(losses[2] == Approx(all_blank).epsilon(1e-12));

  CHECK(F::ctc_loss(log_probs, targets, input_lengths, target_lengths, {.reduction = Reduction::sum}).item() ==
        std::numeric_limits<double>::infinity());
  const Tensor zeroed = F::ctc_loss(log_probs, targets, input_lengths, target_lengths,
                                    {.reduction = Reduction::none, .zero_infinity = true});
  CHECK(zeroed.to_vector<double>() == std::vector<double>{losses[0], 0.0, losses[2]});
  // mean: each loss over its target length (at least 1), then the batch mean.
  const double expected_mean = (losses[0] / 3.0 + 0.0 / 3.0 + losses[2] / 1.0) / 3.0;
  CHECK(F::ctc_loss(log_probs, targets, input_lengths, target_lengths, {.zero_infinity = true}).item() ==
        Approx(expected_mean).epsilon(1e-12));

  SECTION("zero_infinity zeroes the impossible sample's gradient, the others' are finite") {
    Tensor x = log_probs.detach().requires_grad_();
    F::ctc_loss(x, targets, input_lengths, target_lengths, {.reduction = Reduction::sum, .zero_infinity = true}).backward();
    const Tensor grad = x.grad();
    CHECK(nn_test::max_abs_difference(grad.select(1, 1), zeros({6, 4}, float64)) == 0.0);
    for (double g : grad.to_vector<double>()) CHECK(std::isfinite(g));
    // Frames past an input's length get no gradient.
    CHECK(nn_test::max_abs_difference(grad.select(1, 2).select(0, 5), zeros({4}, float64)) == 0.0);
  }
  SECTION("no frames: the empty target costs 0, any other is impossible") {
    const Tensor no_frames = F::ctc_loss(log_probs, targets, ints({0, 0, 0}), ints({2, 0, 0}), {.reduction = Reduction::none});
    CHECK(no_frames.to_vector<double>() == std::vector<double>{std::numeric_limits<double>::infinity(), 0.0, 0.0});
  }
}

TEST_CASE("ctc_loss: the kernel agrees with its composite, float32 with float64, one sample with a batch", "[losses][ctc]") {
  for (const uint64_t seed : {4u, 5u, 6u}) {
    INFO("seed " << seed);
    Generator generator(seed);
    const int64_t frames = 7, batch = 4, classes = 5;
    const Tensor log_probs = random_log_probs({frames, batch, classes}, seed);
    const Tensor target_lengths = randint(0, 4, {batch}, generator);
    const Tensor input_lengths = randint(4, frames + 1, {batch}, generator);
    const Tensor targets = randint(1, classes, {batch, 3}, generator);
    for (const Reduction reduction : {Reduction::none, Reduction::mean, Reduction::sum}) {
      Tensor a = log_probs.detach().requires_grad_(), b = log_probs.detach().requires_grad_();
      const Tensor fused = ctc_loss(a, targets, input_lengths, target_lengths, 0, reduction);
      const Tensor composite = ctc_loss_composite(b, targets, input_lengths, target_lengths, 0, reduction);
      CHECK(nn_test::max_abs_difference(fused, composite) < 1e-12);
      sum(fused).backward();
      sum(composite).backward();
      CHECK(nn_test::max_abs_difference(a.grad(), b.grad()) < 1e-12);
    }
    const Tensor single = F::ctc_loss(log_probs.select(1, 0), targets[0], input_lengths[0], target_lengths[0],
                                      {.reduction = Reduction::none});
    CHECK(single.shape() == Shape{});
    const Tensor batched = F::ctc_loss(log_probs, targets, input_lengths, target_lengths, {.reduction = Reduction::none});
    CHECK(single.item() == Approx(batched.at({0})).epsilon(1e-14));
    const Tensor in_float = F::ctc_loss(log_probs.to(float32), targets, input_lengths, target_lengths);
    CHECK(in_float.dtype() == float32);
    CHECK(in_float.item() ==
          Approx(F::ctc_loss(log_probs, targets, input_lengths, target_lengths).item()).epsilon(1e-5));
    // Lengths as lists, as in Python.
    const std::vector<int64_t> in_list = input_lengths.to_vector<int64_t>(), out_list = target_lengths.to_vector<int64_t>();
    CHECK(F::ctc_loss(log_probs, targets, in_list, out_list).item() ==
          F::ctc_loss(log_probs, targets, input_lengths, target_lengths).item());
  }
}

TEST_CASE("ctc_loss: second derivatives through the composite", "[losses][ctc][gradcheck]") {
  const Tensor targets = ints({1, 2, 2, 0}, {2, 2});
  nn_test::check_gradients(
      "ctc_loss of log_softmax, mean",
      [targets](const nn_test::Args& a) { return F::ctc_loss(log_softmax(a[0], 2), targets, ints({4, 3}), ints({2, 1})); },
      {randn({4, 2, 3}, float64)});
  const std::vector<Tensor> inputs{randn({4, 2, 3}, float64)};
  auto fn = [targets](const std::vector<Tensor>& v) {
    return F::ctc_loss(log_softmax(v[0], 2), targets, ints({4, 3}), ints({2, 1}), {.reduction = Reduction::sum});
  };
  CHECK(autograd::gradgradcheck(fn, inputs, {.raise_on_failure = false}).passed);
}

TEST_CASE("ctc_loss: bad calls are refused naming ctc_loss and what is wrong", "[losses][ctc]") {
  const Tensor log_probs = random_log_probs({5, 2, 4}, 7);
  const Tensor targets = ints({1, 2, 3, 3}, {2, 2});
  const Tensor in = ints({5, 4}), out = ints({2, 2});
  auto call = [&](const Tensor& lp, const Tensor& tg, const Tensor& il, const Tensor& tl, int64_t blank = 0) {
    return F::ctc_loss(lp, tg, il, tl, {.blank = blank});
  };
  CHECK_NOTHROW(call(log_probs, targets, in, out));
  CHECK_THROWS_WITH(call(log_probs, targets, ints({6, 4}), out), Contains("ctc_loss") && Contains("input_lengths") && Contains("6"));
  CHECK_THROWS_WITH(call(log_probs, targets, ints({-1, 4}), out), Contains("ctc_loss") && Contains("-1"));
  CHECK_THROWS_WITH(call(log_probs, targets, in, ints({3, 2})), Contains("ctc_loss") && Contains("[2, 2]") && Contains("3"));
  CHECK_THROWS_WITH(call(log_probs, targets, in, ints({-2, 2})), Contains("ctc_loss") && Contains("target_lengths"));
  CHECK_THROWS_WITH(call(log_probs, targets, ints({5}), out), Contains("ctc_loss") && Contains("input_lengths") && Contains("[2]"));
  CHECK_THROWS_WITH(call(log_probs, targets, in, out, 4), Contains("ctc_loss") && Contains("blank") && Contains("4"));
  CHECK_THROWS_WITH(call(log_probs, targets, in, out, -1), Contains("ctc_loss") && Contains("blank"));
  CHECK_THROWS_WITH(call(log_probs, ints({1, 2, 3, 4}, {2, 2}), in, out), Contains("ctc_loss") && Contains("label") && Contains("4"));
  CHECK_THROWS_WITH(call(log_probs, ints({1, 2, 3}), in, out), Contains("ctc_loss") && Contains("sum(target_lengths) = 4"));
  CHECK_THROWS_WITH(call(log_probs, targets.to(float64), in, out), Contains("ctc_loss") && Contains("int64"));
  CHECK_THROWS_WITH(call(log_probs.select(2, 0), targets, in, out), Contains("ctc_loss") && Contains("targets"));
  CHECK_THROWS_WITH(call(zeros({5, 2, 4, 1}, float64), targets, in, out), Contains("ctc_loss") && Contains("[T, N, C]"));
  CHECK_THROWS_WITH(call(log_probs, targets, in.to(float64), out), Contains("ctc_loss") && Contains("int64"));
}
