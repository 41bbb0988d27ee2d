// The mixed-dtype rule (issue 18, nabla/tensor/mixed_dtypes.hpp), as PyTorch 1.13's: arithmetic
// promotes; matmul and the layers with parameters refuse two dtypes, naming both and the fix.
// (PyTorch refuses each case below too: nn.Linear "mat1 and mat2 must have the same dtype", Conv2d
// "Input type (double) and bias type (float) should be the same", LayerNorm/GroupNorm "expected
// scalar type Double but found Float", LSTM/GRU/RNN, PReLU, EmbeddingBag's per_sample_weights,
// BatchNorm "mixed dtype"; checked with torch 1.13 while writing this test.)
#include <catch2/catch.hpp>

#include <functional>
#include <string>
#include <vector>

#include <nabla/nabla.hpp>

using namespace nabla;
using Catch::Contains;

namespace {

// What a call throws ("" when it does not). (Catch2's combined matchers hold references, so they are
// written out at each check rather than returned from a helper.)
std::string message_of(const std::function<void()>& call) {
  try {
    call();
  } catch (const std::exception& error) {
    return error.what();
  }
  return "";
}

}  // namespace

TEST_CASE("mixed dtypes: a float64 input into a float32 layer is refused, naming both dtypes and .to(float32)", "[nn][dtypes]") {
  const Tensor x = randn({2, 4}, float64);
  const Tensor image = randn({1, 1, 5, 5}, float64);
  const Tensor sequence = randn({3, 1, 4}, float64);
  const std::vector<std::pair<std::string, std::function<void()>>> cases{
      {"linear", [&] { nn::Linear(4, 3).forward(x); }},
      {"conv2d", [&] { nn::Conv2d(1, 2, 3).forward(image); }},
      {"conv2d", [&] { nn::Conv1d(1, 2, 3).forward(randn({1, 1, 5}, float64)); }},
      {"conv_transpose2d", [&] { nn::ConvTranspose2d(1, 2, 3).forward(image); }},
      {"layer_norm", [&] { nn::LayerNorm(Shape{4}).forward(x); }},
      {"group_norm", [&] { nn::GroupNorm(2, 4).forward(x); }},
      {"batch_norm", [&] { nn::BatchNorm1d(4).forward(x); }},
      {"prelu", [&] { nn::PReLU().forward(x); }},
      {"lstm", [&] { nn::LSTM(4, 3).forward(sequence); }},
      {"gru", [&] { nn::GRU(4, 3).forward(sequence); }},
      {"rnn_tanh", [&] { nn::RNN(4, 3).forward(sequence); }},
  };
  for (const auto& [op, call] : cases) {
    INFO(op);
    // The message names the op, both dtypes and the conversion that fixes the call.
    CHECK_THAT(message_of(call), Contains(op + ":") && Contains("float64") && Contains("float32") && Contains(".to(float32)"));
  }
  // The fix works: the input converted, or the model.
  nn::Linear linear(4, 3);
  CHECK(linear.forward(x.to(float32)).dtype() == float32);
  linear.to(float64);
  CHECK(linear.forward(x).dtype() == float64);
  // embedding_bag's per_sample_weights must have the table's dtype.
  nn::EmbeddingBag bag(10, 3, nn::EmbeddingBagMode::sum);
  const Tensor ids = tensor({1, 2}, {1, 2}, int64);
  CHECK_THROWS_WITH(bag.forward(ids, {}, ones({1, 2}, float64)),
                    Contains("embedding_bag:") && Contains("per_sample_weights is float64") && Contains("weight is float32"));
  CHECK(bag.forward(ids, {}, ones({1, 2})).dtype() == float32);
}

TEST_CASE("mixed dtypes: matmul refuses two dtypes, arithmetic promotes as NumPy and PyTorch do", "[nn][dtypes]") {
  CHECK_THROWS_WITH(matmul(randn({2, 4}), randn({4, 3}, float64)),
                    Contains("matmul: a is float32 but b is float64") && Contains(".to(float64)"));
  CHECK_THROWS_WITH(matmul(randn({2, 4}, float64), randn({4, 3})),
                    Contains("matmul: a is float64 but b is float32") && Contains(".to(float32)"));
  CHECK_THROWS_WITH(randn({2, 4}).matmul(ones({4}, int64)), Contains("matmul: a is float32 but b is int64"));
  CHECK_THAT(message_of([] { nn::functional::linear(randn({2, 4}, float64), randn({3, 4})); }),
             Contains("linear: input is float64 but weight is float32") && Contains(".to(float32)"));
  // Same dtypes: any, integers included.
  CHECK(matmul(ones({2, 3}, int64), ones({3, 2}, int64)).dtype() == int64);
  CHECK(matmul(randn({2, 3}, float64), randn({3, 2}, float64)).dtype() == float64);
  // Plain arithmetic promotes.
  CHECK((randn({2}) + randn({2}, float64)).dtype() == float64);
  CHECK((randn({2}) * ones({2}, int64)).dtype() == float32);
  CHECK(nn::functional::mse_loss(randn({2}), randn({2}, float64)).dtype() == float64);
}
