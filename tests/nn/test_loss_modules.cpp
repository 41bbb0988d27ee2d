// The loss modules: each forward is its functional form with the options it holds; class weights
// and pos_weight are buffers (named as PyTorch's) that follow to(dtype) and save/load; summaries
// show the options; losses compose with a model in a training step.
#include <catch2/catch.hpp>

#include <cstdio>
#include <string>

#include "nabla/nn.hpp"
#include "nn_test_support.hpp"

using namespace nabla;
using Catch::Contains;
using nn_test::max_abs_difference;
namespace F = nn::functional;

namespace {
Tensor ints(std::initializer_list<double> values, const Shape& shape = {}) { return tensor(values, shape, int64); }
}  // namespace

TEST_CASE("loss modules: forward is the functional form with the held options", "[losses][modules]") {
  Generator generator(41);
  const Tensor logits = randn({4, 3}, float64, generator);
  const Tensor classes = ints({0, 2, -100, 1});
  const Tensor weight = tensor({0.5, 1.0, 2.0}, {3}, float64);
  const Tensor x = randn({4, 3}, float64, generator), y = randn({4, 3}, float64, generator);
  const Tensor probs = uniform({4, 3}, 0.1, 0.9, float64, generator), soft = uniform({4, 3}, 0.0, 1.0, float64, generator);

  nn::CrossEntropyLoss cross_entropy({.weight = weight, .label_smoothing = 0.1});
  CHECK(cross_entropy.forward(logits, classes).item() ==
        F::cross_entropy(logits, classes, {.weight = weight, .label_smoothing = 0.1}).item());
  nn::NLLLoss nll({.weight = weight, .reduction = Reduction::sum});
  CHECK(nll.forward(logits, classes).item() == F::nll_loss(logits, classes, {.weight = weight, .reduction = Reduction::sum}).item());
  nn::BCELoss bce({.weight = weight});
  CHECK(bce.forward(probs, soft).item() ==
        F::binary_cross_entropy(probs, soft, F::BinaryCrossEntropyOptions{.weight = weight}).item());
  nn::BCEWithLogitsLoss bce_logits({.pos_weight = weight});
  CHECK(bce_logits.forward(x, soft).item() == F::binary_cross_entropy_with_logits(x, soft, {.pos_weight = weight}).item());
  nn::MultiMarginLoss multi_margin({.p = 2, .weight = weight});
  CHECK(multi_margin.forward(x, ints({0, 1, 2, 1})).item() ==
        F::multi_margin_loss(x, ints({0, 1, 2, 1}), {.p = 2, .weight = weight}).item());
  CHECK(nn::MSELoss(Reduction::sum).forward(x, y).item() == F::mse_loss(x, y, Reduction::sum).item());
  CHECK(nn::L1Loss().forward(x, y).item() == F::l1_loss(x, y).item());
  CHECK(nn::SmoothL1Loss({.beta = 0.3}).forward(x, y).item() == F::smooth_l1_loss(x, y, {.beta = 0.3}).item());
  CHECK(nn::HuberLoss({.delta = 0.3}).forward(x, y).item() == F::huber_loss(x, y, {.delta = 0.3}).item());
  const Tensor log_q = log_softmax(x, 1), p = softmax(y, 1);
  CHECK(nn::KLDivLoss({.reduction = F::KLDivReduction::batchmean}).forward(log_q, p).item() ==
        F::kl_div(log_q, p, {.reduction = F::KLDivReduction::batchmean}).item());
  CHECK(nn::PoissonNLLLoss({.full = true}).forward(x, soft * 3.0).item() == F::poisson_nll_loss(x, soft * 3.0, {.full = true}).item());
  const Tensor signs = tensor({1, -1, 1, -1}, {4}, float64);
  CHECK(nn::CosineEmbeddingLoss({.margin = 0.1}).forward(x, y, signs).item() ==
        F::cosine_embedding_loss(x, y, signs, {.margin = 0.1}).item());
  CHECK(nn::MarginRankingLoss({.margin = 0.2}).forward(x[0], y[0], signs.narrow(0, 0, 3)).item() ==
        F::margin_ranking_loss(x[0], y[0], signs.narrow(0, 0, 3), {.margin = 0.2}).item());
  CHECK(nn::HingeEmbeddingLoss({.margin = 2.0}).forward(probs, soft.gt(0.5).to(float64) * 2.0 - 1.0).item() ==
        F::hinge_embedding_loss(probs, soft.gt(0.5).to(float64) * 2.0 - 1.0, {.margin = 2.0}).item());
  CHECK(nn::TripletMarginLoss({.p = 1.0, .swap = true}).forward(x, y, probs).item() ==
        F::triplet_margin_loss(x, y, probs, {.p = 1.0, .swap = true}).item());
  CHECK(max_abs_difference(nn::CosineSimilarity(0).forward(x, y), F::cosine_similarity(x, y, 0)) == 0.0);
  CHECK(max_abs_difference(nn::PairwiseDistance(3.0, 0.0, true).forward(x, y), F::pairwise_distance(x, y, 3.0, 0.0, true)) == 0.0);

  const Tensor log_probs = log_softmax(randn({5, 2, 4}, float64, generator), 2);
  nn::CTCLoss ctc({.blank = 3, .zero_infinity = true});
  CHECK(ctc.forward(log_probs, ints({0, 1, 2, 2}, {2, 2}), ints({5, 4}), ints({2, 2})).item() ==
        F::ctc_loss(log_probs, ints({0, 1, 2, 2}, {2, 2}), ints({5, 4}), ints({2, 2}), {.blank = 3, .zero_infinity = true}).item());
  // Called through nn::Shared, as a model's layers are.
  nn::Shared<nn::CrossEntropyLoss> shared = nn::make<nn::CrossEntropyLoss>();
  CHECK(shared(logits, ints({0, 2, 1, 1})).item() == F::cross_entropy(logits, ints({0, 2, 1, 1})).item());
}

TEST_CASE("loss modules: weights are buffers that follow to(dtype), save and load", "[losses][modules]") {
  nn::CrossEntropyLoss criterion({.weight = tensor({0.5, 1.0, 2.0}, {3})});
  REQUIRE(criterion.named_buffers().size() == 1);
  CHECK(criterion.named_buffers()[0].first == "weight");
  CHECK(criterion.parameters().empty());
  criterion.to(float64);
  CHECK(criterion.options().weight.dtype() == float64);
  const Tensor logits = tensor({1, 2, 3, 0, 0, 1}, {2, 3}, float64);
  CHECK(criterion.forward(logits, ints({2, 0})).dtype() == float64);

  nn::BCEWithLogitsLoss with_both({.weight = ones({2}), .pos_weight = tensor({3, 4}, {2})});
  const auto buffers = with_both.named_buffers();
  REQUIRE(buffers.size() == 2);
  CHECK(buffers[0].first == "weight");
  CHECK(buffers[1].first == "pos_weight");
  CHECK(nn::CrossEntropyLoss().named_buffers().empty());  // no weight, no buffer (PyTorch's None)

  const std::string path = "loss_module_weights.nbl";
  nn::save(with_both, path);
  nn::BCEWithLogitsLoss loaded({.weight = zeros({2}), .pos_weight = zeros({2})});
  nn::load(loaded, path);
  std::remove(path.c_str());
  CHECK(loaded.options().pos_weight.to_vector<double>() == std::vector<double>{3, 4});
  CHECK(loaded.options().weight.to_vector<double>() == std::vector<double>{1, 1});
}

TEST_CASE("loss modules: summaries show the options, invalid ones are refused", "[losses][modules]") {
  CHECK(nn::CrossEntropyLoss({.label_smoothing = 0.1}).extra_repr() == "ignore_index=-100, reduction=mean, label_smoothing=0.1");
  CHECK(nn::NLLLoss({.weight = ones({3})}).extra_repr() == "weight=[3], ignore_index=-100, reduction=mean");
  CHECK(nn::MSELoss(Reduction::none).extra_repr() == "reduction=none");
  CHECK(nn::KLDivLoss({.reduction = F::KLDivReduction::batchmean}).extra_repr() == "reduction=batchmean, log_target=false");
  CHECK(nn::CTCLoss().type_name() == "CTCLoss");
  CHECK_THROWS_WITH(nn::HuberLoss({.delta = -1.0}), Contains("HuberLoss") && Contains("delta"));
  CHECK_THROWS_WITH(nn::SmoothL1Loss({.beta = -1.0}), Contains("SmoothL1Loss") && Contains("beta"));
}

TEST_CASE("loss modules: a training step with a weighted criterion lowers the loss", "[losses][modules]") {
  manual_seed(3);
  auto model = nn::make<nn::Linear>(4, 3);
  nn::CrossEntropyLoss criterion({.weight = tensor({1.0, 2.0, 0.5}, {3}), .ignore_index = 1});
  const Tensor inputs = randn({16, 4});
  const Tensor targets = randint(0, 3, {16});
  nn::SGD optimizer(model->parameters(), {.lr = 0.5});
  double first = 0.0, last = 0.0;
  for (int step = 0; step < 20; ++step) {
    optimizer.zero_grad();
    Tensor loss = criterion.forward(model(inputs), targets);
    if (step == 0) first = loss.item();
    last = loss.item();
    loss.backward();
    optimizer.step();
  }
  CHECK(last < first);
}
