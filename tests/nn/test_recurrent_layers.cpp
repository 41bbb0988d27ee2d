// nn::RNN, LSTM, GRU and the cells against PyTorch: the same layers, filled with the same
// deterministic weights by PyTorch's parameter names, give PyTorch's outputs, states and gradients
// (tests/nn/reference/recurrent_reference.py made the numbers with torch 1.13); plus parameter
// names, shapes and initialisation, cells against one-step layers, packing, and errors.
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
#include "reference/recurrent_reference.inc"
};

void fill(const Tensor& t, double (*f)(int64_t, int64_t), int64_t k) {
  std::vector<double> values(static_cast<size_t>(t.numel()));
  for (int64_t j = 0; j < t.numel(); ++j) values[static_cast<size_t>(j)] = f(j, k);
  NoGradGuard no_grad;
  t.data().copy_(from_vector(values, t.shape()).to(t.dtype()));
}
double parameter_value(int64_t j, int64_t k) { return 0.3 * std::sin(0.7 * static_cast<double>(j) + 1.3 * static_cast<double>(k)); }
double input_value(int64_t j, int64_t) { return 0.5 * std::cos(0.9 * static_cast<double>(j)); }
double output_weight(int64_t j, int64_t) { return std::cos(0.11 * static_cast<double>(j)); }
double hidden_weight(int64_t j, int64_t) { return std::sin(0.23 * static_cast<double>(j)); }
double cell_weight(int64_t j, int64_t) { return std::sin(0.31 * static_cast<double>(j)); }

Tensor pattern(const Shape& shape, double (*f)(int64_t, int64_t)) {
  Tensor t = zeros(shape, float64);
  fill(t, f, 0);
  return t;
}

void check_close(const Tensor& actual, const std::vector<double>& expected, const std::string& what) {
  INFO(what);
  REQUIRE(actual.numel() == static_cast<int64_t>(expected.size()));
  const std::vector<double> got = actual.to_vector<double>();
  double worst = 0.0;
  for (size_t i = 0; i < got.size(); ++i) worst = std::max(worst, std::abs(got[i] - expected[i]));
  CHECK(worst < 1e-10);
}

// Runs `layer` on the pattern input (optionally packed), and checks everything against torch.
template <class Layer>
void check_against_torch(const std::string& label, Layer& layer, const Shape& input_shape,
                         const std::vector<double>& lengths = {}) {
  INFO(label);
  const Reference& torch = kTorch.at(label);
  layer.to(float64);
  int64_t k = 0;
  for (const auto& [name, parameter] : layer.named_parameters()) fill(parameter, parameter_value, k++);
  const Tensor x = pattern(input_shape, input_value).requires_grad_();
  Tensor output, h_n, c_n;
  const bool batch_first = layer.options().batch_first;
  if (!lengths.empty()) {
    const auto packed = nn::utils::rnn::pack_padded_sequence(x, from_vector(lengths).to(int64), batch_first, false);
    auto [out_packed, state] = layer.forward(packed);
    output = std::get<0>(nn::utils::rnn::pad_packed_sequence(out_packed, batch_first));
    if constexpr (std::is_same_v<Layer, nn::LSTM>) {
      std::tie(h_n, c_n) = state;
    } else {
      h_n = state;
    }
  } else {
    auto [out, state] = layer.forward(x);
    output = out;
    if constexpr (std::is_same_v<Layer, nn::LSTM>) {
      std::tie(h_n, c_n) = state;
    } else {
      h_n = state;
    }
  }
  check_close(output, torch.at("output"), "output");
  check_close(h_n, torch.at("h_n"), "h_n");
  Tensor loss = (output * pattern(output.shape(), output_weight)).sum() + (h_n * pattern(h_n.shape(), hidden_weight)).sum();
  if (c_n.defined()) {
    check_close(c_n, torch.at("c_n"), "c_n");
    loss = loss + (c_n * pattern(c_n.shape(), cell_weight)).sum();
  }
  loss.backward();
  check_close(x.grad(), torch.at("grad input"), "grad input");
  for (const auto& [name, parameter] : layer.named_parameters()) check_close(parameter.grad(), torch.at("grad " + name), "grad " + name);
}

}  // namespace

TEST_CASE("recurrent layers: LSTM matches PyTorch, 2 layers, bidirectional", "[nn][recurrent]") {
  nn::LSTM lstm({.input_size = 3, .hidden_size = 4, .num_layers = 2, .bidirectional = true});
  check_against_torch("lstm 2 layers bidirectional", lstm, {5, 2, 3});
}

TEST_CASE("recurrent layers: LSTM with a projection, batch_first, matches PyTorch", "[nn][recurrent]") {
  nn::LSTM lstm({.input_size = 3, .hidden_size = 5, .batch_first = true, .proj_size = 2});
  check_against_torch("lstm projected batch_first", lstm, {2, 4, 3});
}

TEST_CASE("recurrent layers: GRU matches PyTorch, 2 layers", "[nn][recurrent]") {
  nn::GRU gru({.input_size = 3, .hidden_size = 4, .num_layers = 2});
  check_against_torch("gru 2 layers", gru, {4, 3, 3});
}

TEST_CASE("recurrent layers: packed variable-length batches match PyTorch (GRU bidirectional, LSTM batch_first)",
          "[nn][recurrent]") {
  nn::GRU gru({.input_size = 3, .hidden_size = 4, .bidirectional = true});
  check_against_torch("gru bidirectional packed", gru, {5, 3, 3}, {5, 2, 3});
  nn::LSTM lstm({.input_size = 3, .hidden_size = 4, .batch_first = true});
  check_against_torch("lstm packed batch_first", lstm, {3, 5, 3}, {2, 5, 4});
}

TEST_CASE("recurrent layers: RNN with relu, bidirectional, matches PyTorch", "[nn][recurrent]") {
  nn::RNN rnn({.input_size = 3, .hidden_size = 4, .nonlinearity = "relu", .bidirectional = true});
  check_against_torch("rnn relu bidirectional", rnn, {4, 2, 3});
}

TEST_CASE("recurrent layers: parameter names, shapes and initialisation are PyTorch's", "[nn][recurrent]") {
  nn::LSTM lstm({.input_size = 10, .hidden_size = 20, .num_layers = 2, .bidirectional = true, .proj_size = 5});
  std::vector<std::string> names;
  for (const auto& [name, parameter] : lstm.named_parameters()) names.push_back(name + to_string(parameter.shape()));
  CHECK(names == std::vector<std::string>{
                     "weight_ih_l0[80, 10]",          "weight_hh_l0[80, 5]",          "bias_ih_l0[80]",
                     "bias_hh_l0[80]",                "weight_hr_l0[5, 20]",          "weight_ih_l0_reverse[80, 10]",
                     "weight_hh_l0_reverse[80, 5]",   "bias_ih_l0_reverse[80]",       "bias_hh_l0_reverse[80]",
                     "weight_hr_l0_reverse[5, 20]",   "weight_ih_l1[80, 10]",         "weight_hh_l1[80, 5]",
                     "bias_ih_l1[80]",                "bias_hh_l1[80]",               "weight_hr_l1[5, 20]",
                     "weight_ih_l1_reverse[80, 10]",  "weight_hh_l1_reverse[80, 5]",  "bias_ih_l1_reverse[80]",
                     "bias_hh_l1_reverse[80]",        "weight_hr_l1_reverse[5, 20]"});
  const double bound = 1.0 / std::sqrt(20.0);
  for (const Tensor& parameter : lstm.parameters()) {
    CHECK(parameter.abs().max().item() <= bound);
    CHECK(parameter.abs().max().item() > 0.8 * bound);  // uniform over the whole range
  }
  nn::GRU gru(4, 6);
  CHECK(gru.named_parameters()[0].second.shape() == Shape{18, 4});
  auto [output, h_n] = gru.forward(randn({7, 3, 4}));
  CHECK(output.shape() == Shape{7, 3, 6});
  CHECK(h_n.shape() == Shape{1, 3, 6});
}

TEST_CASE("recurrent layers: the cells are one step of the layers", "[nn][recurrent]") {
  manual_seed(4);
  nn::LSTMCell cell(3, 5);
  nn::LSTM layer(3, 5);
  for (size_t i = 0; i < 4; ++i) {
    NoGradGuard no_grad;
    layer.parameters()[i].data().copy_(cell.parameters()[i]);
  }
  const Tensor x = randn({2, 3}), h = randn({2, 5}), c = randn({2, 5});
  auto [h1, c1] = cell.forward(x, std::make_tuple(h, c));
  auto [out, state] = layer.forward(x.unsqueeze(0), std::make_tuple(h.unsqueeze(0), c.unsqueeze(0)));
  CHECK(h1.allclose(std::get<0>(state).squeeze(0)));
  CHECK(c1.allclose(std::get<1>(state).squeeze(0)));
  nn::GRUCell gru_cell(3, 4);
  CHECK(gru_cell.forward(x).shape() == Shape{2, 4});
  CHECK(gru_cell.forward(x.select(0, 0)).shape() == Shape{4});  // unbatched
  nn::RNNCell rnn_cell({.input_size = 3, .hidden_size = 2, .nonlinearity = "relu"});
  CHECK(rnn_cell.forward(x).min().item() >= 0.0);
}

TEST_CASE("recurrent layers: dropout between layers acts in training only", "[nn][recurrent]") {
  manual_seed(5);
  nn::LSTM lstm({.input_size = 3, .hidden_size = 8, .num_layers = 2, .dropout = 0.5});
  const Tensor x = randn({4, 2, 3});
  lstm.eval();
  const Tensor a = std::get<0>(lstm.forward(x)), b = std::get<0>(lstm.forward(x));
  CHECK(a.equal(b));
  lstm.train();
  const Tensor c = std::get<0>(lstm.forward(x));
  CHECK_FALSE(c.equal(a));
}

TEST_CASE("recurrent layers: bad inputs and options are clear errors", "[nn][recurrent]") {
  nn::LSTM lstm(3, 4);
  CHECK_THROWS_WITH(lstm.forward(randn({5, 2, 7})), Contains("LSTM") && Contains("[5, 2, 7]") && Contains("input_size 3"));
  CHECK_THROWS_WITH(lstm.forward(randn({5, 2, 3}), std::make_tuple(zeros({1, 3, 4}), zeros({1, 2, 4}))),
                    Contains("initial hidden state") && Contains("[1, 2, 4]"));
  CHECK_THROWS_WITH(nn::GRU({.input_size = 3, .hidden_size = 4, .proj_size = 2}), Contains("proj_size"));
  CHECK_THROWS_WITH(nn::RNN({.input_size = 3, .hidden_size = 4, .nonlinearity = "gelu"}), Contains("gelu"));
  CHECK_THROWS_WITH(nn::utils::rnn::pack_padded_sequence(randn({4, 2, 3}), tensor({2, 4}, {2}, int64)),
                    Contains("decreasing") && Contains("enforce_sorted"));
  CHECK_THROWS_WITH(nn::utils::rnn::pack_padded_sequence(randn({4, 2, 3}), tensor({5, 4}, {2}, int64)), Contains("1..4"));
}
