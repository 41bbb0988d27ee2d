// cross_entropy's and nll_loss's class weights, ignore_index and probability targets, binary
// cross-entropy's weights and pos_weight, and multi_margin_loss: against reference loops written
// from PyTorch's formulas (independent of the code under test), on random shapes including
// [N, C, d...] and non-contiguous inputs; the fused cross-entropy against the composed one;
// gradchecks; and the refusals of bad calls.
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
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

Tensor ints(std::initializer_list<double> values, const Shape& shape = {}) { return tensor(values, shape, int64); }

struct Expected {
  std::vector<double> per_position;  // the reduction none losses
  double total = 0.0;                // their sum
  double denominator = 0.0;          // the mean's: summed weights of the positions not ignored
};

// PyTorch's weighted cross-entropy over [N, C, d...] class-index targets, by loops:
//   (1 - eps) * w[t] * (lse - x[t]) + eps / C * sum_c w[c] * (lse - x[c]), 0 where ignored.
Expected reference_cross_entropy(const Tensor& logits, const Tensor& target, const std::vector<double>& weight,
                                 int64_t ignore_index, double eps) {
  const Tensor x = logits.contiguous();
  const int64_t batch = x.size(0), classes = x.size(1), spatial = x.numel() / (batch * classes);
  const std::vector<double> values = x.to_vector<double>();
  const std::vector<int64_t> t = target.contiguous().to_vector<int64_t>();
  Expected out;
  for (int64_t n = 0; n < batch; ++n) {
    for (int64_t s = 0; s < spatial; ++s) {
      auto at = [&](int64_t c) { return values[static_cast<size_t>((n * classes + c) * spatial + s)]; };
      const int64_t cls = t[static_cast<size_t>(n * spatial + s)];
      if (cls == ignore_index) {
        out.per_position.push_back(0.0);
        continue;
      }
      double largest = -std::numeric_limits<double>::infinity();
      for (int64_t c = 0; c < classes; ++c) largest = std::max(largest, at(c));
      double total = 0.0;
      for (int64_t c = 0; c < classes; ++c) total += std::exp(at(c) - largest);
      const double lse = largest + std::log(total);
      double smooth = 0.0;
      for (int64_t c = 0; c < classes; ++c) smooth += weight[static_cast<size_t>(c)] * (lse - at(c));
      const double w = weight[static_cast<size_t>(cls)];
      const double loss = (1.0 - eps) * w * (lse - at(cls)) + eps / static_cast<double>(classes) * smooth;
      out.per_position.push_back(loss);
      out.total += loss;
      out.denominator += w;
    }
  }
  return out;
}

void check_close(const std::vector<double>& actual, const std::vector<double>& expected, double tolerance = 1e-12) {
  REQUIRE(actual.size() == expected.size());
  for (size_t i = 0; i < actual.size(); ++i) {
    INFO("element " << i);
    CHECK(actual[i] == Approx(expected[i]).margin(tolerance).epsilon(tolerance));
  }
}

}  // namespace

TEST_CASE("cross_entropy: class weights, ignore_index and smoothing against a reference loop", "[losses][cross_entropy]") {
  Generator generator(11);
  struct Layout {
    Shape logits;
    Shape target;
  };
  for (const Layout& layout : {Layout{{6, 4}, {6}}, Layout{{3, 4, 5}, {3, 5}}, Layout{{2, 3, 2, 3}, {2, 2, 3}}}) {
    INFO("logits " << to_string(layout.logits));
    const int64_t classes = layout.logits[1];
    const Tensor logits = mul(randn(layout.logits, float64, generator), 2.0);
    Tensor target = randint(0, classes, layout.target, generator);
    // Mark some positions ignored (class 1 under ignore_index 1; -100 under the default).
    const Tensor weight = uniform({classes}, 0.2, 2.0, float64, generator);
    const std::vector<double> w = weight.to_vector<double>(), ones(static_cast<size_t>(classes), 1.0);
    for (const int64_t ignore_index : {int64_t{-100}, int64_t{1}}) {
      for (const double eps : {0.0, 0.3}) {
        for (const bool weighted : {false, true}) {
          INFO("ignore_index " << ignore_index << ", label_smoothing " << eps << ", weighted " << weighted);
          const Expected expected = reference_cross_entropy(logits, target, weighted ? w : ones, ignore_index, eps);
          const F::CrossEntropyOptions base{.weight = weighted ? weight : Tensor(), .ignore_index = ignore_index,
                                            .label_smoothing = eps};
          F::CrossEntropyOptions none = base, total = base;
          none.reduction = Reduction::none;
          total.reduction = Reduction::sum;
          const Tensor per_position = F::cross_entropy(logits, target, none);
          CHECK(per_position.shape() == target.shape());
          check_close(per_position.to_vector<double>(), expected.per_position);
          CHECK(F::cross_entropy(logits, target, total).item() == Approx(expected.total).epsilon(1e-12));
          CHECK(F::cross_entropy(logits, target, base).item() ==
                Approx(expected.total / expected.denominator).epsilon(1e-12));
        }
      }
    }
  }
}

TEST_CASE("cross_entropy: ignored rows get no gradient, an all-ignored mean is NaN", "[losses][cross_entropy]") {
  Tensor x = tensor({1, 2, 3, 0.5, -1, 2, 0, 0, 1}, {3, 3}, float64).requires_grad_();
  const Tensor target = ints({2, -100, 0});
  const Tensor loss = F::cross_entropy(x, target);
  const Tensor expected = F::cross_entropy(x.detach().index_select(0, ints({0, 2})), ints({2, 0}));
  CHECK(loss.item() == Approx(expected.item()).epsilon(1e-14));  // the mean over the two rows kept
  loss.backward();
  CHECK(max_abs_difference(x.grad()[1], zeros({3}, float64)) == 0.0);
  CHECK(std::isnan(F::cross_entropy(x.detach(), ints({-100, -100, -100})).item()));
  CHECK(F::cross_entropy(x.detach(), ints({-100, -100, -100}), {.reduction = Reduction::sum}).item() == 0.0);
  CHECK(std::isnan(F::nll_loss(x.detach(), ints({-100, -100, -100})).item()));
  // A target equal to ignore_index need not be a class (PyTorch's -100, a 255 "void" label).
  CHECK_NOTHROW(F::cross_entropy(x.detach(), ints({255, 1, 0}), {.ignore_index = 255}));
  CHECK_THROWS_WITH(F::cross_entropy(x.detach(), ints({255, 1, 0})), Contains("class 255"));
}

TEST_CASE("cross_entropy: the fused op equals the composed form, whose weight takes a gradient", "[losses][cross_entropy]") {
  Generator generator(12);
  const Tensor logits = randn({2, 4, 3}, float64, generator);
  const Tensor target = ints({0, 3, -100, 1, 1, 2}, {2, 3});
  const Tensor weight_values = uniform({4}, 0.5, 1.5, float64, generator);
  for (const Reduction reduction : {Reduction::mean, Reduction::sum, Reduction::none}) {
    Tensor fused_x = logits.detach().requires_grad_(), composed_x = logits.detach().requires_grad_();
    Tensor weight = weight_values.detach().requires_grad_();  // a weight that requires grad takes the composed form
    const F::CrossEntropyOptions options{.weight = weight_values, .reduction = reduction, .label_smoothing = 0.2};
    F::CrossEntropyOptions with_grad = options;
    with_grad.weight = weight;
    const Tensor fused = F::cross_entropy(fused_x, target, options);
    const Tensor composed = F::cross_entropy(composed_x, target, with_grad);
    CHECK(max_abs_difference(fused, composed) < 1e-13);
    sum(fused).backward();
    sum(composed).backward();
    CHECK(max_abs_difference(fused_x.grad(), composed_x.grad()) < 1e-13);
    REQUIRE(weight.grad().defined());
  }
  check_gradients("cross_entropy with respect to its weight",
                  [logits, target](const Args& a) {
                    return F::cross_entropy(logits, target, {.weight = a[0], .label_smoothing = 0.1});
                  },
                  {uniform({4}, 0.5, 1.5, float64, generator)});
}

TEST_CASE("cross_entropy: probability targets, one-hot ones equal class indices", "[losses][cross_entropy]") {
  Generator generator(13);
  const Tensor logits = randn({5, 4}, float64, generator);
  const Tensor target = ints({0, 3, 1, 1, 2});
  const Tensor one_hot(kernels::scatter_add(kernels::zeros({5, 4}, float64), 1, target.raw().reshape({5, 1}),
                                            kernels::ones({5, 1}, float64)));
  const Tensor weight = uniform({4}, 0.5, 2.0, float64, generator);
  for (const double eps : {0.0, 0.2}) {
    // Without weights the two agree in every reduction; with weights the per-sample losses agree
    // (the mean of probabilities divides by N, not by the weights: PyTorch's rule).
    CHECK(F::cross_entropy(logits, one_hot, {.label_smoothing = eps}).item() ==
          Approx(F::cross_entropy(logits, target, {.label_smoothing = eps}).item()).epsilon(1e-13));
    CHECK(max_abs_difference(
              F::cross_entropy(logits, one_hot, {.weight = weight, .reduction = Reduction::none, .label_smoothing = eps}),
              F::cross_entropy(logits, target, {.weight = weight, .reduction = Reduction::none, .label_smoothing = eps})) <
          1e-13);
  }
  // -sum p log softmax(x), averaged over rows, by hand for a soft target.
  const Tensor soft = softmax(randn({5, 4}, float64, generator), 1);
  const Tensor expected = neg(sum(soft * log_softmax(logits, 1))) / 5.0;
  CHECK(F::cross_entropy(logits, soft).item() == Approx(expected.item()).epsilon(1e-13));
  check_gradients("cross_entropy with probability targets, weights and smoothing, in both inputs",
                  [weight](const Args& a) {
                    return F::cross_entropy(a[0], a[1], {.weight = weight, .label_smoothing = 0.1});
                  },
                  {randn({3, 4, 2}, float64, generator), softmax(randn({3, 4, 2}, float64, generator), 1)});
  // Refusals: integer targets of the logits' shape, ignore_index with probabilities.
  CHECK_THROWS_WITH(F::cross_entropy(logits, one_hot.to(int64)),
                    Contains("cross_entropy") && Contains("floating point") && Contains("int64"));
  CHECK_THROWS_WITH(F::cross_entropy(logits, soft, {.ignore_index = 0}), Contains("ignore_index") && Contains("floating"));
}

TEST_CASE("cross_entropy and nll_loss: non-contiguous inputs and gradchecks with weights and ignored targets", "[losses][cross_entropy][gradcheck]") {
  Generator generator(14);
  const Tensor weight = tensor({0.5, 2.0, 1.0}, {3}, float64);
  const Tensor target = ints({0, 2, -100, 1});
  const Tensor spatial_target = ints({2, 1, 0, 1, -100, 0}, {2, 3});
  // A transposed [C, N] tensor read as [N, C]: the same values as its packed copy.
  const Tensor transposed = randn({3, 4}, float64, generator).t();
  CHECK(F::cross_entropy(transposed, target, {.weight = weight}).item() ==
        Approx(F::cross_entropy(transposed.contiguous(), target, {.weight = weight}).item()).epsilon(1e-14));
  CHECK(F::nll_loss(transposed, target, {.weight = weight}).item() ==
        Approx(F::nll_loss(transposed.contiguous(), target, {.weight = weight}).item()).epsilon(1e-14));
  for (const Reduction reduction : {Reduction::mean, Reduction::sum, Reduction::none}) {
    check_gradients("cross_entropy, weight, ignored, smoothing 0.1",
                    [=](const Args& a) {
                      return F::cross_entropy(a[0].t(), target,
                                              {.weight = weight, .reduction = reduction, .label_smoothing = 0.1});
                    },
                    {randn({3, 4}, float64, generator)});
    check_gradients("cross_entropy [N, C, d], weight, ignored",
                    [=](const Args& a) {
                      return F::cross_entropy(a[0], spatial_target, {.weight = weight, .reduction = reduction});
                    },
                    {randn({2, 3, 3}, float64, generator)});
    check_gradients("nll_loss, weight, ignore_index 1, in both input and weight",
                    [=](const Args& a) {
                      return F::nll_loss(a[0], ints({0, 2, 1, 1}), {.weight = a[1], .ignore_index = 1, .reduction = reduction});
                    },
                    {randn({4, 3}, float64, generator), uniform({3}, 0.5, 1.5, float64, generator)});
  }
}

TEST_CASE("cross_entropy and nll_loss: refusals name the op, the shapes and the fix", "[losses][cross_entropy]") {
  const Tensor logits = zeros({2, 4}, float64);
  for (const bool use_nll : {false, true}) {
    const char* op = use_nll ? "nll_loss" : "cross_entropy";
    INFO(op);
    auto loss = [&](const Tensor& target, const Tensor& weight) {
      return use_nll ? F::nll_loss(logits, target, {.weight = weight}) : F::cross_entropy(logits, target, {.weight = weight});
    };
    CHECK_THROWS_WITH(loss(ints({1, 2}), ones({3}, float64)), Contains(op) && Contains("all 4 classes") && Contains("[3]"));
    CHECK_THROWS_WITH(loss(ints({1, 2}), ones({4, 1}, float64)), Contains(op) && Contains("[4, 1]"));
    CHECK_THROWS_WITH(loss(ints({1, 2}), ones({4}, float64).to(int64)), Contains(op) && Contains("weight") && Contains("int64"));
    CHECK_NOTHROW(loss(ints({1, 2}), ones({4}, float64)));
  }
  // One sample: [C] scores with a 0-d target; a [1] target is refused, as PyTorch's.
  CHECK(F::cross_entropy(tensor({1, 2, 3}, {3}, float64), ints({2}).reshape(Shape{})).shape() == Shape{});
  CHECK_THROWS_WITH(F::cross_entropy(tensor({1, 2, 3}, {3}, float64), ints({2}, {1})), Contains("[1]") && Contains("[]"));
}

TEST_CASE("binary_cross_entropy: weights broadcast to the input, never enlarge it", "[losses][bce]") {
  Generator generator(15);
  const Tensor p = uniform({3, 4}, 0.1, 0.9, float64, generator);
  const Tensor y = uniform({3, 4}, 0.0, 1.0, float64, generator);
  const Tensor w = uniform({4}, 0.5, 2.0, float64, generator);
  const Tensor unweighted = F::binary_cross_entropy(p, y, Reduction::none);
  CHECK(max_abs_difference(F::binary_cross_entropy(p, y, F::BinaryCrossEntropyOptions{.weight = w, .reduction = Reduction::none}),
                           unweighted * w) < 1e-15);
  // The mean is over elements, not over the weights.
  CHECK(F::binary_cross_entropy(p, y, F::BinaryCrossEntropyOptions{.weight = w}).item() ==
        Approx(mean(unweighted * w).item()).epsilon(1e-14));
  CHECK_THROWS_WITH(F::binary_cross_entropy(p, y, F::BinaryCrossEntropyOptions{.weight = ones({2, 3, 4}, float64)}),
                    Contains("binary_cross_entropy") && Contains("[2, 3, 4]") && Contains("[3, 4]"));
  CHECK_THROWS_WITH(F::binary_cross_entropy(p, y, F::BinaryCrossEntropyOptions{.weight = ones({3}, float64)}),
                    Contains("binary_cross_entropy") && Contains("[3]"));
  check_gradients("binary_cross_entropy with weights, in input and target",
                  [w](const Args& a) { return F::binary_cross_entropy(a[0], a[1], F::BinaryCrossEntropyOptions{.weight = w}); },
                  {uniform({3, 4}, 0.1, 0.9, float64, generator), uniform({3, 4}, 0.0, 1.0, float64, generator)});
}

TEST_CASE("binary_cross_entropy_with_logits: pos_weight and weight as PyTorch's, the slope at 0 is sigmoid(0) - y", "[losses][bce]") {
  // By hand: z = 0, y = 1, pos_weight 3: (1 - 1) * 0 + 3 * log 2; slope 3 * (sigmoid(0) - 1) = -1.5.
  Tensor z = tensor({0.0, 0.0}, {2}, float64).requires_grad_();
  const Tensor y = tensor({1.0, 0.25}, {2}, float64);
  const Tensor loss = F::binary_cross_entropy_with_logits(z, y, {.reduction = Reduction::none, .pos_weight = tensor({3.0}, {1}, float64)});
  // y = 0.25: (1 - 0.25) * 0 + (1 + 2 * 0.25) * log 2.
  check_close(loss.to_vector<double>(), {3.0 * std::log(2.0), 1.5 * std::log(2.0)});
  sum(loss).backward();
  // d/dz = (1 - y) - (1 + (pw - 1) y) * sigmoid(-z).
  check_close(z.grad().to_vector<double>(), {-1.5, 0.75 - 1.5 * 0.5});
  Tensor plain = tensor({0.0}, {1}, float64).requires_grad_();
  F::binary_cross_entropy_with_logits(plain, tensor({0.3}, {1}, float64), Reduction::sum).backward();
  CHECK(plain.grad().item() == Approx(0.5 - 0.3).epsilon(1e-15));

  Generator generator(16);
  const Tensor logits = mul(randn({3, 4}, float64, generator), 3.0);
  const Tensor target = uniform({3, 4}, 0.0, 1.0, float64, generator);
  const Tensor pos_weight = uniform({4}, 0.5, 3.0, float64, generator);
  const Tensor weight = uniform({3, 1}, 0.5, 2.0, float64, generator);
  // Against the probability form: -w (pw y log sigmoid(z) + (1 - y) log(1 - sigmoid(z))).
  const Tensor s = sigmoid(logits);
  const Tensor expected = neg(weight * (pos_weight * target * log(s) + (1.0 - target) * log(1.0 - s)));
  CHECK(max_abs_difference(F::binary_cross_entropy_with_logits(
                               logits, target, {.weight = weight, .reduction = Reduction::none, .pos_weight = pos_weight}),
                           expected) < 1e-12);
  CHECK_THROWS_WITH(F::binary_cross_entropy_with_logits(logits, target, {.pos_weight = ones({3}, float64)}),
                    Contains("binary_cross_entropy_with_logits") && Contains("pos_weight") && Contains("[3]"));
  CHECK_THROWS_WITH(F::binary_cross_entropy_with_logits(logits, target, {.weight = ones({5, 3, 4}, float64)}),
                    Contains("weight") && Contains("[5, 3, 4]"));
  check_gradients("binary_cross_entropy_with_logits with weight and pos_weight, in logits and target",
                  [weight, pos_weight](const Args& a) {
                    return F::binary_cross_entropy_with_logits(a[0], a[1], {.weight = weight, .pos_weight = pos_weight});
                  },
                  {mul(nn_test::away_from_zero({3, 4}, generator), 2.0), uniform({3, 4}, 0.0, 1.0, float64, generator)});
  // Extreme logits stay finite, and so does their gradient.
  Tensor extreme = tensor({800, -800}, {2}, float64).requires_grad_();
  const Tensor far = F::binary_cross_entropy_with_logits(extreme, tensor({0, 1}, {2}, float64),
                                                         {.reduction = Reduction::none, .pos_weight = tensor({2.0}, {1}, float64)});
  check_close(far.to_vector<double>(), {800.0, 1600.0});
  sum(far).backward();
  check_close(extreme.grad().to_vector<double>(), {1.0, -2.0});
}

TEST_CASE("multi_margin_loss: the hinge over the other classes, p 1 and 2, weights, errors", "[losses]") {
  // Row (0.1, 0.2, 0.4, 0.8) with target 3: max(0, 1 - 0.8 + x_j) for j = 0, 1, 2 = 0.3, 0.4, 0.6.
  const Tensor x = tensor({0.1, 0.2, 0.4, 0.8}, {1, 4}, float64);
  CHECK(F::multi_margin_loss(x, ints({3})).item() == Approx((0.3 + 0.4 + 0.6) / 4.0).epsilon(1e-14));
  CHECK(F::multi_margin_loss(x, ints({3}), {.p = 2}).item() == Approx((0.09 + 0.16 + 0.36) / 4.0).epsilon(1e-14));
  CHECK(F::multi_margin_loss(x, ints({3}), {.margin = 0.5, .weight = tensor({1, 1, 1, 2}, {4}, float64)}).item() ==
        Approx(2.0 * (0.0 + 0.0 + 0.1) / 4.0).epsilon(1e-13));
  CHECK(F::multi_margin_loss(x[0], ints({3}).reshape(Shape{})).shape() == Shape{});
  Generator generator(17);
  for (const int64_t p : {int64_t{1}, int64_t{2}}) {
    check_gradients("multi_margin_loss p " + std::to_string(p),
                    [p](const Args& a) {
                      return F::multi_margin_loss(a[0], ints({0, 2, 1}), {.p = p, .margin = 0.6,
                                                                           .weight = tensor({0.5, 1.0, 2.0}, {3}, float64)});
                    },
                    {nn_test::distinct({3, 3}, generator)});
  }
  CHECK_THROWS_WITH(F::multi_margin_loss(x, ints({3}), {.p = 3}), Contains("multi_margin_loss") && Contains("p == 1 and p == 2"));
  CHECK_THROWS_WITH(F::multi_margin_loss(x, ints({4})), Contains("multi_margin_loss") && Contains("out of range") && Contains("4"));
  CHECK_THROWS_WITH(F::multi_margin_loss(x, ints({1, 2})), Contains("inconsistent target size") && Contains("[2]"));
  CHECK_THROWS_WITH(F::multi_margin_loss(zeros({2, 3, 4}, float64), ints({1, 2})), Contains("[2, 3, 4]"));
  CHECK_THROWS_WITH(F::multi_margin_loss(x, ints({3}), {.weight = ones({3}, float64)}), Contains("all 4 classes"));
}
