// Embedding and EmbeddingBag against PyTorch (torch 1.13's numbers, tests/nn/reference/
// layers_reference.py): lookups, padding_idx, scale_grad_by_freq, max_norm's in-place
// renormalisation, bags by offsets or rows in sum/mean/max with per_sample_weights and padding;
// plus initialisation, from_pretrained, a naive reference for random bags, gradchecks and errors.
#include <string>
#include <vector>

#include "layers_reference.hpp"
#include "nn_test_support.hpp"

using namespace nabla;
using Catch::Contains;
using nn_test::Args;
namespace F = nabla::nn::functional;
using layers_reference::check_close;
using layers_reference::reference_loss;
using layers_reference::tensor_of;
using layers_reference::values;

namespace {

void set_weight(const Tensor& weight, const layers_reference::Case& torch) {
  NoGradGuard no_grad;
  weight.raw().copy_(tensor_of(torch, "weight", weight.shape()).raw());
}

}  // namespace

TEST_CASE("embedding: lookups, padding_idx, scale_grad_by_freq and max_norm match PyTorch", "[embedding]") {
  struct Case {
    std::string label;
    nn::EmbeddingOptions options;
    Shape indices;
  };
  const std::vector<Case> cases{
      {"embedding", {.num_embeddings = 7, .embedding_dim = 4}, {2, 4}},
      {"embedding padding_idx 2", {.num_embeddings = 7, .embedding_dim = 4, .padding_idx = 2}, {2, 4}},
      {"embedding padding_idx -1", {.num_embeddings = 7, .embedding_dim = 4, .padding_idx = -1}, {4}},
      {"embedding scale_grad_by_freq", {.num_embeddings = 7, .embedding_dim = 4, .scale_grad_by_freq = true}, {2, 4}},
      {"embedding max_norm 1", {.num_embeddings = 7, .embedding_dim = 4, .max_norm = 1.0}, {2, 4}},
      {"embedding max_norm 0.5 norm_type 1",
       {.num_embeddings = 7, .embedding_dim = 4, .max_norm = 0.5, .norm_type = 1.0}, {2, 4}},
  };
  for (const Case& c : cases) {
    INFO(c.label);
    const layers_reference::Case& torch = layers_reference::get(c.label);
    nn::Embedding layer(c.options);
    layer.to(float64);
    set_weight(layer.weight, torch);
    const Tensor ids = tensor_of(torch, "indices", c.indices, int64);
    const Tensor out = layer(ids);
    Shape expected_shape = c.indices;
    expected_shape.push_back(4);
    CHECK(out.shape() == expected_shape);
    reference_loss(out).backward();
    check_close(out, values(torch, "output"), "output");
    check_close(layer.weight, values(torch, "weight after"), "weight after the lookup (max_norm renormalises in place)");
    check_close(layer.weight.grad(), values(torch, "grad weight"), "grad weight");
  }
}

TEST_CASE("embedding: bags in sum, mean and max, by offsets or rows, match PyTorch", "[embedding]") {
  using Mode = nn::EmbeddingBagMode;
  struct Case {
    std::string label;
    nn::EmbeddingBagOptions options;
    Shape input, offsets, sample_weights;  // empty offsets: a 2-d input; empty sample_weights: none
  };
  const auto bag = [](Mode mode) { return nn::EmbeddingBagOptions{.num_embeddings = 7, .embedding_dim = 3, .mode = mode}; };
  auto with = [](nn::EmbeddingBagOptions o, auto change) {
    change(o);
    return o;
  };
  const std::vector<Case> cases{
      {"bag sum", bag(Mode::sum), {8}, {4}, {}},
      {"bag sum per_sample_weights", bag(Mode::sum), {8}, {4}, {8}},
      {"bag mean", bag(Mode::mean), {8}, {4}, {}},
      {"bag max", bag(Mode::max), {8}, {4}, {}},
      {"bag mean padding_idx 4", with(bag(Mode::mean), [](auto& o) { o.padding_idx = 4; }), {8}, {4}, {}},
      {"bag sum padding_idx 1 per_sample_weights", with(bag(Mode::sum), [](auto& o) { o.padding_idx = 1; }), {8}, {4}, {8}},
      {"bag max padding_idx 4", with(bag(Mode::max), [](auto& o) { o.padding_idx = 4; }), {8}, {4}, {}},
      {"bag mean include_last_offset", with(bag(Mode::mean), [](auto& o) { o.include_last_offset = true; }), {8}, {5}, {}},
      {"bag 2-d mean", bag(Mode::mean), {2, 3}, {}, {}},
      {"bag 2-d sum per_sample_weights", bag(Mode::sum), {2, 3}, {}, {2, 3}},
      {"bag 2-d max", bag(Mode::max), {2, 3}, {}, {}},
      {"bag mean max_norm 0.4", with(bag(Mode::mean), [](auto& o) { o.max_norm = 0.4; }), {8}, {4}, {}},
  };
  for (const Case& c : cases) {
    INFO(c.label);
    const layers_reference::Case& torch = layers_reference::get(c.label);
    nn::EmbeddingBag layer(c.options);
    layer.to(float64);
    set_weight(layer.weight, torch);
    const Tensor input = tensor_of(torch, "indices", c.input, int64);
    const Tensor offsets = c.offsets.empty() ? Tensor() : tensor_of(torch, "offsets", c.offsets, int64);
    const Tensor sample_weights =
        c.sample_weights.empty() ? Tensor() : tensor_of(torch, "per_sample_weights", c.sample_weights).requires_grad_();
    const Tensor out = layer.forward(input, offsets, sample_weights);
    reference_loss(out).backward();
    check_close(out, values(torch, "output"), "output");
    check_close(layer.weight, values(torch, "weight after"), "weight after");
    check_close(layer.weight.grad(), values(torch, "grad weight"), "grad weight");
    if (sample_weights.defined()) {
      check_close(sample_weights.grad(), values(torch, "grad per_sample_weights"), "grad per_sample_weights");
    }
  }
}

TEST_CASE("embedding: bags agree with a naive per-bag loop on random input", "[embedding]") {
  Generator generator(31);
  const Tensor weight = randn({11, 5}, float64, generator);
  const int64_t length = 40;
  const Tensor input = randint(0, 11, {length}, generator);
  const std::vector<int64_t> ids = input.to_vector<int64_t>();
  const std::vector<int64_t> starts{0, 3, 3, 17, 18, 30, 40};  // empty bags in the middle and at the end
  const Tensor offsets = from_vector(starts);
  const Tensor sample_weights = uniform({length}, 0.5, 1.5, float64, generator);
  const std::vector<double> sw = sample_weights.to_vector<double>();
  const std::vector<double> w = weight.to_vector<double>();
  for (const auto mode : {nn::EmbeddingBagMode::sum, nn::EmbeddingBagMode::mean, nn::EmbeddingBagMode::max}) {
    for (const bool weighted : {false, true}) {
      if (weighted && mode != nn::EmbeddingBagMode::sum) continue;
      INFO("mode " << static_cast<int>(mode) << (weighted ? ", weighted" : ""));
      const Tensor out = F::embedding_bag(input, weight, offsets,
                                          {.mode = mode, .per_sample_weights = weighted ? sample_weights : Tensor(),
                                           .padding_idx = 3});
      REQUIRE(out.shape() == Shape{7, 5});
      for (size_t b = 0; b < starts.size(); ++b) {
        const int64_t begin = starts[b], end = b + 1 < starts.size() ? starts[b + 1] : length;
        for (int64_t d = 0; d < 5; ++d) {
          double total = 0.0, largest = -1e300;
          int64_t count = 0;
          for (int64_t i = begin; i < end; ++i) {
            if (ids[static_cast<size_t>(i)] == 3) continue;  // padding: left out
            const double v = w[static_cast<size_t>(ids[static_cast<size_t>(i)] * 5 + d)];
            total += weighted ? v * sw[static_cast<size_t>(i)] : v;
            largest = std::max(largest, v);
            ++count;
          }
          double expected = total;
          if (mode == nn::EmbeddingBagMode::mean) expected = count > 0 ? total / static_cast<double>(count) : 0.0;
          if (mode == nn::EmbeddingBagMode::max) expected = count > 0 ? largest : 0.0;
          CHECK(out.at({static_cast<int64_t>(b), d}) == Approx(expected).epsilon(1e-12).margin(1e-12));
        }
      }
    }
  }
}

TEST_CASE("embedding: initialisation, padding row, from_pretrained and freezing", "[embedding]") {
  manual_seed(3);
  nn::Embedding layer({.num_embeddings = 2000, .embedding_dim = 8, .padding_idx = -3});
  CHECK(layer.options().padding_idx == 1997);
  CHECK(layer.extra_repr() == "2000, 8, padding_idx=1997");
  REQUIRE(layer.named_parameters().size() == 1);
  CHECK(layer.named_parameters()[0].first == "weight");
  CHECK(layer.weight.shape() == Shape{2000, 8});
  // N(0, 1), as PyTorch's, with the padding row zeroed.
  CHECK(std::abs(layer.weight.mean().item()) < 0.05);
  CHECK(std::abs(layer.weight.var().item() - 1.0) < 0.05);
  CHECK(layer.weight[1997].abs().sum().item() == 0.0);
  // The padding row gets no gradient, even when looked up.
  const Tensor ids = tensor({1997, 4, 1997, 0}, {2, 2}, int64);
  layer(ids).sum().backward();
  CHECK(layer.weight.grad()[1997].abs().sum().item() == 0.0);
  CHECK(layer.weight.grad()[4].sum().item() == 8.0);

  // from_pretrained: the given values (shared, as PyTorch's Parameter(embeddings)), frozen by default.
  const Tensor table = arange(0.0, 12.0, 1.0, float64).reshape({4, 3});
  auto frozen = nn::make<nn::Embedding>(nn::Embedding::from_pretrained(table));
  CHECK_FALSE(frozen->weight.requires_grad());
  CHECK(frozen->weight.raw().shares_storage(table.raw()));
  const Tensor looked_up = frozen(tensor({2, 0}, {2}, int64));
  CHECK(looked_up.to_vector<double>() == std::vector<double>{6, 7, 8, 0, 1, 2});
  CHECK_FALSE(looked_up.requires_grad());
  auto trained = nn::make<nn::Embedding>(nn::Embedding::from_pretrained(table, false, 0));
  CHECK(trained->weight.requires_grad());
  CHECK(trained->options().padding_idx == 0);
  CHECK(trained->weight[0].to_vector<double>() == std::vector<double>{0, 1, 2});  // left as given
  auto bag = nn::make<nn::EmbeddingBag>(nn::EmbeddingBag::from_pretrained(table, true, nn::EmbeddingBagMode::sum));
  CHECK(bag(tensor({1, 2, 3, 3}, {2, 2}, int64)).to_vector<double>() == std::vector<double>{9, 11, 13, 18, 20, 22});
  CHECK(bag->extra_repr() == "4, 3, mode='sum'");
  // A given weight of the right shape becomes the parameter as it is (PyTorch's _weight).
  const Tensor given = ones({3, 2});
  nn::Embedding with_weight({.num_embeddings = 3, .embedding_dim = 2, .padding_idx = 0}, given);
  CHECK(with_weight.weight.sum().item() == 6.0);
}

TEST_CASE("embedding: max_norm renormalises only the looked-up rows, in place", "[embedding]") {
  const Tensor weight = tensor({3, 4, 0.3, 0.4, 6, 8}, {3, 2}, float64);
  const Tensor out = F::embedding(tensor({0, 1}, {2}, int64), weight, std::nullopt, 1.0);
  // Row 0 had norm 5: scaled to 1 / (5 + 1e-7) of itself. Row 1 (norm 0.5) and row 2 (not looked up) stay.
  CHECK(weight.at({0, 0}) == Approx(3.0 / (5.0 + 1e-7)).epsilon(1e-15));
  CHECK(weight.at({1, 1}) == 0.4);
  CHECK(weight.at({2, 0}) == 6.0);
  CHECK(out.at({0, 1}) == Approx(4.0 / (5.0 + 1e-7)).epsilon(1e-15));
  // inf-norm: the largest magnitude.
  F::embedding(tensor({2}, {1}, int64), weight, std::nullopt, 2.0, std::numeric_limits<double>::infinity());
  CHECK(weight.at({2, 1}) == Approx(2.0 * 8.0 / (8.0 + 1e-7)).epsilon(1e-15));
}

TEST_CASE("embedding: gradcheck of lookups and bags", "[embedding][gradcheck]") {
  Generator generator(41);
  using nn_test::check_gradients;
  const Tensor ids = tensor({0, 3, 3, 1, 4, 3}, {2, 3}, int64);
  // The padding row is read but gets no gradient, and scale_grad_by_freq divides repeated rows'
  // gradients: neither is the forward's derivative (PyTorch's gradcheck fails them too; the tests
  // above compare both with torch's gradients). So padding reads a weight with that row masked
  // out, and scale_grad_by_freq runs on distinct indices.
  const Tensor keep = tensor({1, 0, 1, 1, 1}, {5, 1}, float64);
  check_gradients("embedding with padding_idx, masked weight",
                  [ids, keep](const Args& a) { return F::embedding(ids, a[0] * keep, 1); },
                  {randn({5, 3}, float64, generator)});
  check_gradients("embedding with padding_idx and scale_grad_by_freq, distinct indices", [keep](const Args& a) {
    return F::embedding(tensor({0, 3, 1, 4}, {2, 2}, int64), a[0] * keep, 1, std::nullopt, 2.0, true);
  }, {randn({5, 3}, float64, generator)});
  const Tensor input = tensor({1, 4, 4, 0, 2, 6, 1, 3}, {8}, int64);
  const Tensor offsets = tensor({0, 3, 3, 5}, {4}, int64);
  check_gradients("embedding_bag sum with per_sample_weights", [input, offsets](const Args& a) {
    return F::embedding_bag(input, a[0], offsets, {.mode = nn::EmbeddingBagMode::sum, .per_sample_weights = a[1]});
  }, {randn({7, 3}, float64, generator), randn({8}, float64, generator)});
  check_gradients("embedding_bag mean with padding_idx", [input, offsets](const Args& a) {
    return F::embedding_bag(input, a[0], offsets, {.mode = nn::EmbeddingBagMode::mean, .padding_idx = 4});
  }, {randn({7, 3}, float64, generator)});
  check_gradients("embedding_bag max", [input, offsets](const Args& a) {
    return F::embedding_bag(input, a[0], offsets, {.mode = nn::EmbeddingBagMode::max});
  }, {nn_test::distinct({7, 3}, generator)});
  check_gradients("embedding_bag 2-d mean", [](const Args& a) {
    return F::embedding_bag(tensor({1, 4, 4, 0, 2, 6}, {2, 3}, int64), a[0]);
  }, {randn({7, 3}, float64, generator)});
}

TEST_CASE("embedding: bad calls name the op, the shapes and the fix", "[embedding][errors]") {
  const Tensor weight = zeros({7, 3}, float64);
  CHECK_THROWS_WITH(F::embedding(tensor({1, 7}, {2}, int64), weight), Contains("embedding") && Contains("7"));
  CHECK_THROWS_WITH(F::embedding(tensor({-1}, {1}, int64), weight), Contains("embedding") && Contains("-1"));
  CHECK_THROWS_WITH(F::embedding(tensor({1.0}, {1}), weight), Contains("embedding") && Contains("int64"));
  CHECK_THROWS_WITH(F::embedding(tensor({1}, {1}, int64), zeros({7}, float64)), Contains("embedding") && Contains("[7]"));
  CHECK_THROWS_WITH(F::embedding(tensor({1}, {1}, int64), weight, 7), Contains("padding_idx") && Contains("7"));
  CHECK_THROWS_WITH(embedding(weight, tensor({1}, {1}, int64), -1), Contains("padding_idx"));
  CHECK_THROWS_WITH(nn::Embedding({.num_embeddings = 5, .embedding_dim = 2, .padding_idx = -6}),
                    Contains("Embedding") && Contains("-6"));
  CHECK_THROWS_WITH(nn::Embedding(0, 3), Contains("Embedding") && Contains("positive"));
  CHECK_THROWS_WITH(nn::Embedding({.num_embeddings = 5, .embedding_dim = 2}, zeros({5, 3})),
                    Contains("Embedding") && Contains("[5, 3]") && Contains("[5, 2]"));
  CHECK_THROWS_WITH(nn::Embedding::from_pretrained(zeros({5})), Contains("from_pretrained") && Contains("[5]"));
  CHECK_THROWS_WITH(F::embedding(tensor({1}, {1}, int64), weight, std::nullopt, 1.0, -2.0), Contains("norm_type"));

  const Tensor flat = tensor({1, 2, 3, 4}, {4}, int64);
  CHECK_THROWS_WITH(F::embedding_bag(flat, weight), Contains("embedding_bag") && Contains("offsets"));
  CHECK_THROWS_WITH(F::embedding_bag(flat.reshape({2, 2}), weight, tensor({0}, {1}, int64)),
                    Contains("embedding_bag") && Contains("[2, 2]") && Contains("offsets"));
  CHECK_THROWS_WITH(F::embedding_bag(flat, weight, tensor({1, 2}, {2}, int64)), Contains("offsets[0]"));
  CHECK_THROWS_WITH(F::embedding_bag(flat, weight, tensor({0, 3, 2}, {3}, int64)), Contains("offsets") && Contains("decrease"));
  CHECK_THROWS_WITH(F::embedding_bag(flat, weight, tensor({0, 5}, {2}, int64)), Contains("offsets[-1]") && Contains("4"));
  CHECK_THROWS_WITH(F::embedding_bag(flat.reshape({1, 2, 2}), weight), Contains("embedding_bag") && Contains("[1, 2, 2]"));
  CHECK_THROWS_WITH(F::embedding_bag(flat, weight, tensor({0}, {1}, int64), {.per_sample_weights = ones({4}, float64)}),
                    Contains("per_sample_weights") && Contains("sum"));
  CHECK_THROWS_WITH(F::embedding_bag(flat, weight, tensor({0}, {1}, int64),
                                     {.mode = nn::EmbeddingBagMode::sum, .per_sample_weights = ones({3}, float64)}),
                    Contains("per_sample_weights") && Contains("[4]") && Contains("[3]"));
  CHECK_THROWS_WITH(F::embedding_bag(flat, weight, tensor({}, {0}, int64), {.include_last_offset = true}),
                    Contains("include_last_offset"));
}
