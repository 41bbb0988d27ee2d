// LayerNorm, MultiheadAttention and the transformer layers against PyTorch: the same modules,
// filled with the same deterministic weights by PyTorch's parameter names, give PyTorch's
// outputs, attention weights and gradients (tests/nn/reference/transformer_reference.py made the
// numbers with torch 1.13). Plus shapes, masks, initialisation and errors.
#include <catch2/catch.hpp>

#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "nabla/nn.hpp"

using namespace nabla;
using Catch::Contains;

namespace {

using Reference = std::map<std::string, std::vector<double>>;
const std::map<std::string, Reference> kTorch = {
#include "reference/transformer_reference.inc"
};

void prepare(nn::Module& module) {
  module.to(float64);
  int64_t k = 0;
  NoGradGuard no_grad;
  for (const auto& [name, parameter] : module.named_parameters()) {
    std::vector<double> values(static_cast<size_t>(parameter.numel()));
    for (size_t j = 0; j < values.size(); ++j) values[j] = 0.2 * std::sin(0.7 * static_cast<double>(j) + 1.3 * static_cast<double>(k));
    parameter.data().copy_(from_vector(values, parameter.shape()));
    ++k;
  }
}

Tensor pattern(const Shape& shape, double a, double b) {
  std::vector<double> values(static_cast<size_t>(shape_numel(shape)));
  for (size_t j = 0; j < values.size(); ++j) values[j] = a * std::cos(b * static_cast<double>(j));
  return from_vector(values, shape).requires_grad_();
}

Tensor weighting(const Shape& shape, double b, bool use_sin) {
  std::vector<double> values(static_cast<size_t>(shape_numel(shape)));
  for (size_t j = 0; j < values.size(); ++j) values[j] = use_sin ? std::sin(b * static_cast<double>(j)) : std::cos(b * static_cast<double>(j));
  return from_vector(values, shape);
}

void check_close(const Tensor& actual, const std::vector<double>& expected, const std::string& what) {
  INFO(what);
  REQUIRE(actual.defined());
  REQUIRE(actual.numel() == static_cast<int64_t>(expected.size()));
  const std::vector<double> got = actual.to_vector<double>();
  double worst = 0.0;
  for (size_t i = 0; i < got.size(); ++i) worst = std::max(worst, std::abs(got[i] - expected[i]));
  CHECK(worst < 1e-10);
}

void check(const std::string& label, nn::Module& module, const std::vector<Tensor>& inputs, const Tensor& output,
           const Tensor& weights = {}) {
  INFO(label);
  const Reference& torch = kTorch.at(label);
  check_close(output, torch.at("output"), "output");
  Tensor loss = (output * weighting(output.shape(), 0.11, false)).sum();
  if (weights.defined()) {
    check_close(weights, torch.at("weights"), "weights");
    loss = loss + (weights * weighting(weights.shape(), 0.17, true)).sum();
  }
  loss.backward();
  for (size_t i = 0; i < inputs.size(); ++i) check_close(inputs[i].grad(), torch.at(fmt::format("grad input {}", i)), fmt::format("grad input {}", i));
  for (const auto& [name, parameter] : module.named_parameters()) check_close(parameter.grad(), torch.at("grad " + name), "grad " + name);
}

}  // namespace

TEST_CASE("transformer layers: LayerNorm over two trailing dims matches PyTorch", "[nn][transformer]") {
  nn::LayerNorm norm(Shape{3, 4});
  prepare(norm);
  const Tensor x = pattern({2, 3, 4}, 0.9, 0.7);
  check("layer norm", norm, {x}, norm(x));
}

TEST_CASE("transformer layers: MultiheadAttention matches PyTorch (self, cross with masks, kdim/vdim)", "[nn][transformer]") {
  {
    nn::MultiheadAttention mha(8, 2);
    prepare(mha);
    const Tensor q = pattern({3, 2, 8}, 0.5, 0.9);
    auto [out, weights] = mha.forward(q, q, q);
    check("mha self", mha, {q}, out, weights);
  }
  {
    nn::MultiheadAttention mha({.embed_dim = 8, .num_heads = 2, .batch_first = true});
    prepare(mha);
    const Tensor q = pattern({2, 3, 8}, 0.5, 0.9), k = pattern({2, 4, 8}, 0.4, 0.5), v = pattern({2, 4, 8}, 0.3, 0.3);
    const Tensor padding = tensor({0, 0, 1, 0, 0, 1, 1, 0}, {2, 4}, uint8);
    const Tensor additive = tensor({0.0, -1.0, 0.5, 0.0, 0.25, 0.0, 0.0, -0.5, 0.0, 0.0, 1.0, 0.0}, {3, 4}, float64);
    auto [out, weights] = mha.forward(q, k, v, padding, true, additive, false);
    CHECK(weights.shape() == Shape{2, 2, 3, 4});
    check("mha cross batch_first masks", mha, {q, k, v}, out, weights);
  }
  {
    nn::MultiheadAttention mha({.embed_dim = 8, .num_heads = 4, .kdim = 5, .vdim = 6});
    prepare(mha);
    const Tensor q = pattern({3, 2, 8}, 0.5, 0.9), k = pattern({4, 2, 5}, 0.4, 0.5), v = pattern({4, 2, 6}, 0.3, 0.3);
    // Boolean: true where attention is NOT allowed (PyTorch's module convention).
    const Tensor causal = arange(4).reshape({1, 4}).gt(arange(3).reshape({3, 1}));
    auto [out, weights] = mha.forward(q, k, v, Tensor(), true, causal);
    check("mha kdim vdim bool mask", mha, {q, k, v}, out, weights);
  }
}

TEST_CASE("transformer layers: encoder and decoder layers match PyTorch", "[nn][transformer]") {
  {
    nn::TransformerEncoderLayer layer({.d_model = 8, .nhead = 2, .dim_feedforward = 16, .dropout = 0.0});
    prepare(layer);
    const Tensor x = pattern({3, 2, 8}, 0.5, 0.9);
    check("encoder layer post-norm relu", layer, {x}, layer(x));
  }
  {
    nn::TransformerEncoderLayer layer({.d_model = 8, .nhead = 2, .dim_feedforward = 16, .dropout = 0.0,
                                       .activation = "gelu", .batch_first = true, .norm_first = true});
    prepare(layer);
    const Tensor x = pattern({2, 3, 8}, 0.5, 0.9);
    const Tensor padding = tensor({0, 0, 1, 0, 0, 0}, {2, 3}, uint8);
    check("encoder layer pre-norm gelu batch_first", layer, {x}, layer.forward(x, Tensor(), padding));
  }
  {
    nn::TransformerDecoderLayer layer({.d_model = 8, .nhead = 2, .dim_feedforward = 16, .dropout = 0.0});
    prepare(layer);
    const Tensor t = pattern({3, 2, 8}, 0.5, 0.9), m = pattern({4, 2, 8}, 0.4, 0.5);
    check("decoder layer", layer, {t, m}, layer.forward(t, m, nn::generate_square_subsequent_mask(3, float64)));
  }
  {
    nn::TransformerEncoderLayer layer({.d_model = 8, .nhead = 2, .dim_feedforward = 16, .dropout = 0.0});
    nn::TransformerEncoder stack(layer, 2, nn::LayerNorm(Shape{8}));
    prepare(stack);
    const Tensor x = pattern({3, 2, 8}, 0.5, 0.9);
    check("encoder 2 layers with norm", stack, {x}, stack(x));
  }
}

TEST_CASE("transformer layers: PyTorch's parameter names, and initialisation", "[nn][transformer]") {
  nn::TransformerEncoderLayer layer({.d_model = 16, .nhead = 4, .dim_feedforward = 32});
  std::vector<std::string> names;
  for (const auto& [name, parameter] : layer.named_parameters()) names.push_back(name);
  CHECK(names == std::vector<std::string>{"self_attn.in_proj_weight", "self_attn.in_proj_bias", "self_attn.out_proj.weight",
                                          "self_attn.out_proj.bias", "linear1.weight", "linear1.bias", "linear2.weight",
                                          "linear2.bias", "norm1.weight", "norm1.bias", "norm2.weight", "norm2.bias"});
  const double xavier = std::sqrt(6.0 / (16 + 48));
  CHECK(layer.self_attn->in_proj_weight.abs().max().item() <= xavier);
  CHECK(layer.self_attn->in_proj_bias.abs().max().item() == 0.0);
  CHECK(layer.self_attn->out_proj->bias.abs().max().item() == 0.0);
  // The stack starts from copies of one layer, as PyTorch's deep copies.
  nn::TransformerEncoder stack(layer, 3);
  const auto parameters = stack.named_parameters();
  CHECK(parameters[0].first == "layers.0.self_attn.in_proj_weight");
  CHECK(parameters[0].second.equal(parameters[12].second));
  CHECK_FALSE(parameters[0].second.is_same(parameters[12].second));
}

TEST_CASE("transformer layers: positional encodings and the causal mask", "[nn][transformer]") {
  nn::SinusoidalPositionalEncoding sinusoid(6, 50, 0.0);
  // pe[pos, 2i] = sin(pos / 10000^(2i/6)), pe[pos, 2i+1] = cos(...)
  CHECK(sinusoid.pe.at({3, 0}) == Approx(std::sin(3.0)));
  CHECK(sinusoid.pe.at({3, 3}) == Approx(std::cos(3.0 / std::pow(10000.0, 2.0 / 6.0))));
  const Tensor x = zeros({4, 2, 6});
  const Tensor encoded = sinusoid(x);
  CHECK(encoded.select(1, 1).allclose(sinusoid.pe.narrow(0, 0, 4)));
  nn::LearnedPositionalEncoding learned(10, 6, true);
  CHECK(learned(zeros({2, 4, 6})).select(0, 1).equal(learned.weight.narrow(0, 0, 4)));
  const Tensor mask = nn::generate_square_subsequent_mask(3);
  CHECK(mask.at({0, 1}) == -std::numeric_limits<double>::infinity());
  CHECK(mask.at({2, 1}) == 0.0);
  CHECK_THROWS_WITH(sinusoid(zeros({60, 1, 6})), Contains("max_len 50"));
}

TEST_CASE("transformer layers: bad shapes and options are clear errors", "[nn][transformer]") {
  CHECK_THROWS_WITH(nn::MultiheadAttention(10, 3), Contains("divisible"));
  nn::MultiheadAttention mha(8, 2);
  CHECK_THROWS_WITH(mha.forward(randn({3, 2, 8}), randn({4, 2, 8}), randn({4, 2, 8}), zeros({2, 5}, uint8)),
                    Contains("key_padding_mask") && Contains("[2, 4]"));
  CHECK_THROWS_WITH(mha.forward(randn({3, 2, 7}), randn({3, 2, 7}), randn({3, 2, 7})), Contains("embed_dim 8"));
  CHECK_THROWS_WITH(nn::TransformerEncoderLayer({.d_model = 8, .nhead = 2, .activation = "tanh"}), Contains("tanh"));
  CHECK_THROWS_WITH(nn::LayerNorm(Shape{4})(randn({2, 5})), Contains("normalized_shape [4]") && Contains("[2, 5]"));
}
