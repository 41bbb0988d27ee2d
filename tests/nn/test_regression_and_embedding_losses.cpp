// l1, smooth_l1, huber, kl_div, poisson_nll_loss, the embedding and ranking losses, and the
// distances: values worked by hand, identities between them (huber = delta * smooth_l1, beta = 0
// is l1, cosine_similarity of parallel vectors is 1, ...), gradients at their kinks as PyTorch's,
// gradchecks, and the refusals of bad calls.
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <numbers>
#include <string>
#include <vector>

#include "nabla/nn.hpp"
#include "nn_test_support.hpp"

using namespace nabla;
using Catch::Contains;
using nn_test::Args;
using nn_test::check_gradients;
using nn_test::max_abs_difference;
namespace F = nn::functional;

namespace {

Tensor values(std::initializer_list<double> v, const Shape& shape = {}) { return tensor(v, shape, float64); }

void check_close(const Tensor& actual, const std::vector<double>& expected, double tolerance = 1e-12) {
  const std::vector<double> got = actual.to_vector<double>();
  REQUIRE(got.size() == expected.size());
  for (size_t i = 0; i < got.size(); ++i) {
    INFO("element " << i);
    CHECK(got[i] == Approx(expected[i]).margin(tolerance).epsilon(tolerance));
  }
}

}  // namespace

TEST_CASE("l1, smooth_l1 and huber losses by hand, their seams and kinks", "[losses]") {
  const Tensor input = values({0.0, 0.3, 2.0, -1.0});
  const Tensor target = values({0.0, 0.0, 0.5, 1.0});  // differences 0, 0.3, 1.5, -2
  check_close(F::l1_loss(input, target, Reduction::none), {0.0, 0.3, 1.5, 2.0});
  CHECK(F::l1_loss(input, target).item() == Approx(3.8 / 4.0));
  // beta 0.5: 0.5 * d^2 / 0.5 inside, |d| - 0.25 outside.
  check_close(F::smooth_l1_loss(input, target, {.reduction = Reduction::none, .beta = 0.5}), {0.0, 0.09, 1.25, 1.75});
  check_close(F::smooth_l1_loss(input, target, {.reduction = Reduction::none}), {0.0, 0.045, 1.0, 1.5});
  CHECK(max_abs_difference(F::smooth_l1_loss(input, target, {.reduction = Reduction::none, .beta = 0.0}),
                           F::l1_loss(input, target, Reduction::none)) == 0.0);
  // delta 0.5: 0.5 d^2 inside, 0.5 * (|d| - 0.25) outside; = delta * smooth_l1 with beta = delta.
  check_close(F::huber_loss(input, target, {.reduction = Reduction::none, .delta = 0.5}), {0.0, 0.045, 0.625, 0.875});
  CHECK(max_abs_difference(F::huber_loss(input, target, {.reduction = Reduction::none, .delta = 0.5}),
                           F::smooth_l1_loss(input, target, {.reduction = Reduction::none, .beta = 0.5}) * 0.5) < 1e-15);
  CHECK(F::huber_loss(input, target, {.reduction = Reduction::sum}).item() == Approx(0.0 + 0.045 + 1.0 + 1.5));

  SECTION("gradients: 0 where input == target (sign(0) = 0), continuous at |d| = beta") {
    Tensor x = values({0.0, 0.5, -0.5}).requires_grad_();
    const Tensor y = values({0.0, 0.0, 0.0});
    F::l1_loss(x, y, Reduction::sum).backward();
    check_close(x.grad(), {0.0, 1.0, -1.0});
    x.grad().zero_();
    F::smooth_l1_loss(x, y, {.reduction = Reduction::sum, .beta = 0.5}).backward();
    check_close(x.grad(), {0.0, 1.0, -1.0});
    x.grad().zero_();
    F::huber_loss(x, y, {.reduction = Reduction::sum, .delta = 0.5}).backward();
    check_close(x.grad(), {0.0, 0.5, -0.5});
  }
  SECTION("errors") {
    CHECK_THROWS_WITH(F::smooth_l1_loss(input, target, {.beta = -1.0}), Contains("smooth_l1_loss") && Contains("negative"));
    CHECK_THROWS_WITH(F::huber_loss(input, target, {.delta = 0.0}), Contains("huber_loss") && Contains("non-positive"));
    CHECK_THROWS_WITH(F::l1_loss(input, target.reshape({2, 2})), Contains("l1_loss") && Contains("[4]") && Contains("[2, 2]"));
    CHECK_THROWS_WITH(F::huber_loss(input, values({1, 2})), Contains("huber_loss") && Contains("[2]"));
    CHECK_THROWS_WITH(F::smooth_l1_loss(input, Tensor()), Contains("smooth_l1_loss") && Contains("undefined"));
  }
  Generator generator(21);
  for (const Reduction reduction : {Reduction::mean, Reduction::sum, Reduction::none}) {
    check_gradients("l1_loss", [=](const Args& a) { return F::l1_loss(a[0].t(), a[1], reduction); },
                    {nn_test::away_from_zero({3, 2}, generator), zeros({2, 3}, float64)});
    check_gradients("smooth_l1_loss beta 0.7", [=](const Args& a) { return F::smooth_l1_loss(a[0], a[1], {reduction, 0.7}); },
                    {randn({2, 3}, float64, generator), randn({2, 3}, float64, generator)});
    check_gradients("huber_loss delta 0.4", [=](const Args& a) { return F::huber_loss(a[0], a[1], {reduction, 0.4}); },
                    {randn({2, 3}, float64, generator), randn({2, 3}, float64, generator)});
  }
}

TEST_CASE("kl_div: pointwise terms, batchmean, log_target, zeros in the target", "[losses]") {
  const Tensor log_q = log(values({0.25, 0.75, 0.5, 0.5}, {2, 2}));
  const Tensor p = values({0.5, 0.5, 0.0, 1.0}, {2, 2});
  // p log(p / q): 0.5 log 2 + 0.5 log(2/3), then 0 (p = 0) + log 2.
  const std::vector<double> terms{0.5 * std::log(2.0), 0.5 * std::log(2.0 / 3.0), 0.0, std::log(2.0)};
  check_close(F::kl_div(log_q, p, {.reduction = Reduction::none}), terms);
  const double total = terms[0] + terms[1] + terms[2] + terms[3];
  CHECK(F::kl_div(log_q, p, {.reduction = Reduction::sum}).item() == Approx(total));
  CHECK(F::kl_div(log_q, p).item() == Approx(total / 4.0));
  CHECK(F::kl_div(log_q, p, {.reduction = F::KLDivReduction::batchmean}).item() == Approx(total / 2.0));
  // With log_target the same divergence (where p > 0).
  const Tensor log_p = log(values({0.5, 0.5, 0.2, 0.8}, {2, 2}));
  CHECK(F::kl_div(log_q, log_p, {.reduction = Reduction::sum, .log_target = true}).item() ==
        Approx(F::kl_div(log_q, exp(log_p), {.reduction = Reduction::sum}).item()).epsilon(1e-14));
  // A negative target is NaN (xlogy's), a zero one adds 0 and no NaN gradient.
  CHECK(std::isnan(F::kl_div(log_q, values({-0.5, 0.5, 0.0, 1.0}, {2, 2}), {.reduction = Reduction::none}).at({0, 0})));
  Tensor target = p.detach().requires_grad_();
  F::kl_div(log_q, target, {.reduction = Reduction::sum}).backward();
  for (double g : target.grad().to_vector<double>()) CHECK(std::isfinite(g));
  // There t log t contributes no gradient (xlogy's convention); - t * input still does: -input.
  CHECK(target.grad().at({1, 0}) == Approx(std::log(2.0)));
  // Broadcasting, as PyTorch's: [2] against [2, 2].
  CHECK(F::kl_div(log_q[0], p, {.reduction = Reduction::none}).shape() == Shape{2, 2});
  CHECK_THROWS_WITH(F::kl_div(log_q, values({1, 2, 3})), Contains("kl_div") && Contains("[3]"));
  Generator generator(22);
  for (const F::KLDivReduction reduction : {F::KLDivReduction(F::KLDivReduction::batchmean), F::KLDivReduction(Reduction::none)}) {
    check_gradients("kl_div", [=](const Args& a) { return F::kl_div(a[0], a[1], {.reduction = reduction}); },
                    {randn({3, 4}, float64, generator), uniform({3, 4}, 0.1, 1.0, float64, generator)});
    check_gradients("kl_div log_target",
                    [=](const Args& a) { return F::kl_div(a[0], a[1], {.reduction = reduction, .log_target = true}); },
                    {randn({3, 4}, float64, generator), randn({3, 4}, float64, generator)});
  }
}

TEST_CASE("poisson_nll_loss: log and linear rates, Stirling's term above 1", "[losses]") {
  const Tensor rate = values({0.5, 1.0, 2.0});
  const Tensor count = values({0.0, 1.0, 3.0});
  // exp(x) - y x.
  check_close(F::poisson_nll_loss(rate, count, {.reduction = Reduction::none}),
              {std::exp(0.5), std::exp(1.0) - 1.0, std::exp(2.0) - 6.0});
  const double stirling = 3.0 * std::log(3.0) - 3.0 + 0.5 * std::log(2.0 * std::numbers::pi * 3.0);
  check_close(F::poisson_nll_loss(rate, count, {.full = true, .reduction = Reduction::none}),
              {std::exp(0.5), std::exp(1.0) - 1.0, std::exp(2.0) - 6.0 + stirling});
  // x - y log(x + eps).
  check_close(F::poisson_nll_loss(rate, count, {.log_input = false, .eps = 0.0, .reduction = Reduction::none}),
              {0.5, 1.0, 2.0 - 3.0 * std::log(2.0)});
  Tensor y = count.detach().requires_grad_();
  F::poisson_nll_loss(rate, y, {.full = true, .reduction = Reduction::sum}).backward();
  for (double g : y.grad().to_vector<double>()) CHECK(std::isfinite(g));  // no 0 * log 0 at y = 0
  Generator generator(23);
  check_gradients("poisson_nll_loss full, in rate and count",
                  [](const Args& a) { return F::poisson_nll_loss(a[0], a[1], {.full = true}); },
                  {randn({2, 3}, float64, generator), uniform({2, 3}, 1.5, 4.0, float64, generator)});
  check_gradients("poisson_nll_loss linear rates, broadcast",
                  [](const Args& a) { return F::poisson_nll_loss(a[0], a[1], {.log_input = false, .reduction = Reduction::none}); },
                  {uniform({3}, 0.5, 2.0, float64, generator), uniform({2, 3}, 0.0, 3.0, float64, generator)});
}

TEST_CASE("embedding losses: cosine_embedding, margin_ranking, hinge_embedding, triplet_margin", "[losses]") {
  SECTION("cosine_embedding_loss") {
    const Tensor a = values({1, 0, 1, 1}, {2, 2});
    const Tensor b = values({1, 1, -1, -1}, {2, 2});  // cosines: 1/sqrt(2), -1
    const double c = 1.0 / std::sqrt(2.0);
    check_close(F::cosine_embedding_loss(a, b, values({1, -1}), {.reduction = Reduction::none}), {1.0 - c, 0.0}, 1e-9);
    check_close(F::cosine_embedding_loss(a, b, values({-1, 1}), {.margin = 0.5, .reduction = Reduction::none}),
                {c - 0.5, 2.0}, 1e-9);
    check_close(F::cosine_embedding_loss(a, b, values({0, 1}), {.reduction = Reduction::none}), {0.0, 2.0}, 1e-9);
    CHECK(F::cosine_embedding_loss(a[0], b[0], values({1}).reshape(Shape{})).shape() == Shape{});
    CHECK_THROWS_WITH(F::cosine_embedding_loss(a, b, values({1, 1}, {2, 1})), Contains("cosine_embedding_loss") && Contains("[2, 1]"));
    CHECK_THROWS_WITH(F::cosine_embedding_loss(a[0], b, values({1, 1})), Contains("2-d inputs") && Contains("[2]"));
    CHECK_THROWS_WITH(F::cosine_embedding_loss(a, b, values({1}).reshape(Shape{})), Contains("1-d inputs"));
    Generator generator(24);
    check_gradients("cosine_embedding_loss margin 0.1",
                    [](const Args& a) { return F::cosine_embedding_loss(a[0], a[1], values({1, -1, 1}), {.margin = -0.9}); },
                    {randn({3, 4}, float64, generator), randn({3, 4}, float64, generator)});
  }
  SECTION("margin_ranking_loss") {
    check_close(F::margin_ranking_loss(values({1, 2}), values({2, 1}), values({1, -1}), {.margin = 0.5, .reduction = Reduction::none}),
                {1.5, 1.5});
    check_close(F::margin_ranking_loss(values({3, 2}), values({2, 1}), tensor({1, 1}, {2}, int64), {.reduction = Reduction::none}),
                {0.0, 0.0});
    CHECK_THROWS_WITH(F::margin_ranking_loss(values({1}), values({1, 2}, {1, 2}), values({1}, {1, 1})),
                      Contains("margin_ranking_loss") && Contains("dimensions"));
    Generator generator(25);
    check_gradients("margin_ranking_loss in the inputs and the target",
                    [](const Args& a) { return F::margin_ranking_loss(a[0], a[1], a[2], {.margin = 5.0}); },
                    {randn({4}, float64, generator), randn({4}, float64, generator), uniform({4}, 0.5, 1.0, float64, generator)});
  }
  SECTION("hinge_embedding_loss") {
    check_close(F::hinge_embedding_loss(values({0.5, 2.0, -1.0, 0.3}), values({1, -1, -1, 0}), {.reduction = Reduction::none}),
                {0.5, 0.0, 2.0, 1.0});
    Generator generator(26);
    check_gradients("hinge_embedding_loss margin 3",
                    [](const Args& a) { return F::hinge_embedding_loss(a[0], values({1, -1, -1, 1}), {.margin = 3.0}); },
                    {uniform({4}, 0.5, 2.0, float64, generator)});
  }
  SECTION("triplet_margin_loss") {
    // Distances (eps 0): |a - p| = 1, |a - n| = 2, |p - n| = sqrt(5) (p = 2); 1 + 1 - 2 = 0 -> margin 1.5 gives 0.5.
    const Tensor anchor = values({0, 0}, {1, 2}), positive = values({1, 0}, {1, 2}), negative = values({0, 2}, {1, 2});
    CHECK(F::triplet_margin_loss(anchor, positive, negative, {.margin = 1.5, .eps = 0.0}).item() == Approx(0.5));
    // swap: min(2, sqrt(5)) = 2, unchanged; with a nearer negative to the positive it is used.
    const Tensor near = values({1, 0.5}, {1, 2});  // |a - n| = sqrt(1.25), |p - n| = 0.5
    CHECK(F::triplet_margin_loss(anchor, positive, near, {.margin = 1.0, .eps = 0.0, .swap = true}).item() == Approx(1.5));
    CHECK(F::triplet_margin_loss(anchor, positive, near, {.margin = 1.0, .eps = 0.0}).item() ==
          Approx(2.0 - std::sqrt(1.25)));
    CHECK_THROWS_WITH(F::triplet_margin_loss(anchor, positive[0], negative), Contains("triplet_margin_loss") && Contains("1-d"));
    Generator generator(27);
    for (const double p : {1.0, 2.0, 3.0}) {
      check_gradients("triplet_margin_loss p " + std::to_string(p),
                      [p](const Args& a) { return F::triplet_margin_loss(a[0], a[1], a[2], {.margin = 4.0, .p = p, .swap = true}); },
                      {randn({3, 4}, float64, generator), randn({3, 4}, float64, generator), randn({3, 4}, float64, generator)});
    }
  }
}

TEST_CASE("cosine_similarity, pairwise_distance and normalize", "[losses][similarity]") {
  SECTION("cosine_similarity: known angles, broadcasting, a zero vector") {
    const Tensor a = values({1, 0, 3, 4, 1, 1}, {3, 2});
    const Tensor b = values({0, 1, 6, 8, -2, -2}, {3, 2});
    check_close(F::cosine_similarity(a, b), {0.0, 1.0, -1.0});
    CHECK(F::cosine_similarity(values({1, 2}, {1, 1, 2}), values({1, 0, 0, 1, 1, 1}, {3, 2}), -1).shape() == Shape{1, 3});
    // Along axis 0: columns (1, 3, 1) . (0, 6, -2) and (0, 4, 1) . (1, 8, -2).
    check_close(F::cosine_similarity(a, b, 0), {16.0 / (std::sqrt(11.0) * std::sqrt(40.0)),
                                                30.0 / (std::sqrt(17.0) * std::sqrt(69.0))});
    Tensor zero = zeros({1, 3}, float64).requires_grad_();
    const Tensor similarity = F::cosine_similarity(zero, ones({1, 3}, float64));
    CHECK(similarity.item() == 0.0);
    similarity.backward();
    for (double g : zero.grad().to_vector<double>()) CHECK(std::isfinite(g));
    CHECK_THROWS_WITH(F::cosine_similarity(a, values({1, 2, 3}, {1, 3})), Contains("cosine_similarity") && Contains("[1, 3]"));
    CHECK_THROWS_WITH(F::cosine_similarity(a.to(int64), b.to(int64)), Contains("cosine_similarity") && Contains("floating"));
    CHECK_THROWS_WITH(F::cosine_similarity(a, b, 2), Contains("cosine_similarity") && Contains("axis 2"));
    Generator generator(28);
    check_gradients("cosine_similarity broadcast, axis -1",
                    [](const Args& a) { return F::cosine_similarity(a[0], a[1], -1); },
                    {randn({3, 1, 4}, float64, generator), randn({2, 4}, float64, generator)});
  }
  SECTION("pairwise_distance: p-norms of x1 - x2 + eps over the last axis") {
    const Tensor x = values({1, 2, 3}, {1, 3}), y = values({0.5, 2, 4}, {1, 3});  // differences 0.5, 0, -1
    CHECK(F::pairwise_distance(x, y, 2.0, 0.0).item() == Approx(std::sqrt(1.25)));
    CHECK(F::pairwise_distance(x, y, 1.0, 0.0).item() == Approx(1.5));
    CHECK(F::pairwise_distance(x, y, std::numeric_limits<double>::infinity(), 0.0).item() == Approx(1.0));
    CHECK(F::pairwise_distance(x, y, -std::numeric_limits<double>::infinity(), 0.0).item() == 0.0);
    CHECK(F::pairwise_distance(x, y, 0.0, 0.0).item() == 2.0);
    CHECK(F::pairwise_distance(x, y, 3.0, 0.0).item() == Approx(std::cbrt(0.125 + 1.0)));
    CHECK(F::pairwise_distance(x, y, 2.0, 0.0, true).shape() == Shape{1, 1});
    CHECK(F::pairwise_distance(x[0], y[0]).shape() == Shape{});
    // Equal inputs with eps 0: distance 0 and a zero gradient (not NaN), as PyTorch's norm.
    Tensor same = values({1, 2}, {1, 2}).requires_grad_();
    F::pairwise_distance(same, values({1, 2}, {1, 2}), 2.0, 0.0).backward();
    check_close(same.grad(), {0.0, 0.0});
    Generator generator(29);
    for (const double p : {1.0, 1.5, 2.0, 3.0, std::numeric_limits<double>::infinity()}) {
      check_gradients("pairwise_distance p " + std::to_string(p),
                      [p](const Args& a) { return F::pairwise_distance(a[0], a[1], p); },
                      {nn_test::distinct({3, 4}, generator), nn_test::distinct({4}, generator)});
    }
  }
  SECTION("normalize: unit p-norm along the axis, a zero vector stays zero with gradient 1 / eps") {
    check_close(F::normalize(values({3, 4, 0, 0}, {2, 2})), {0.6, 0.8, 0.0, 0.0});
    check_close(F::normalize(values({1, -2, 3, 4}, {2, 2}), 1.0), {1.0 / 3, -2.0 / 3, 3.0 / 7, 4.0 / 7});
    check_close(F::normalize(values({1, -2, 3, 4}, {2, 2}), std::numeric_limits<double>::infinity(), 0),
                {1.0 / 3, -0.5, 1.0, 1.0});
    Tensor zero = zeros({1, 2}, float64).requires_grad_();
    sum(F::normalize(zero)).backward();
    // x / max(||x||, eps) is x / eps near 0 (max passes no gradient to the norm), as PyTorch's.
    check_close(zero.grad(), {1e12, 1e12});
    CHECK_THROWS_WITH(F::normalize(values({1, 2}), 2.0, 1), Contains("normalize") && Contains("axis 1"));
    Generator generator(30);
    check_gradients("normalize p 2 axis 1", [](const Args& a) { return F::normalize(a[0]); }, {randn({3, 4}, float64, generator)});
    check_gradients("normalize p 1.5 axis 0", [](const Args& a) { return F::normalize(a[0], 1.5, 0); },
                    {randn({3, 4}, float64, generator)});
  }
}
