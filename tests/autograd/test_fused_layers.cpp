// The fused layer_norm and scaled_dot_product_attention ops against their definitions written
// with plain ops, their gradcheck and gradgradcheck rows, masks, causality, dropout and errors.
#include <catch2/catch.hpp>
#include <nabla/autograd.hpp>

#include <cmath>
#include <limits>

#include "gradcheck_table.hpp"

using namespace nabla;
using Catch::Contains;

namespace {

double max_difference(const Tensor& a, const Tensor& b) { return (a - b).abs().max().item(); }

// softmax(q k^T * scale + mask) v, by the book.
Tensor attention_by_the_book(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& additive, double scale) {
  Tensor scores = q.matmul(k.transpose(-1, -2)) * scale;
  if (additive.defined()) scores = scores + additive;
  return scores.softmax(-1).matmul(v);
}

}  // namespace

TEST_CASE("fused layers: layer_norm is (x - mean) / sqrt(var + eps) * weight + bias", "[autograd][fused]") {
  Generator generator(3);
  const Tensor x = randn({4, 3, 5}, float64, generator).requires_grad_();
  const Tensor w = randn({5}, float64, generator).requires_grad_(), b = randn({5}, float64, generator).requires_grad_();
  const Tensor fused = layer_norm(x, {5}, w, b, 1e-5);
  const Tensor centered = x - x.mean({2}, true);
  const Tensor reference = centered / sqrt((centered * centered).mean({2}, true) + 1e-5) * w + b;
  CHECK(max_difference(fused, reference) < 1e-12);
  const Tensor u = randn({4, 3, 5}, float64, generator);
  const auto g1 = autograd::grad({(fused * u).sum()}, {x, w, b});
  const auto g2 = autograd::grad({(reference * u).sum()}, {x, w, b});
  for (size_t i = 0; i < 3; ++i) CHECK(max_difference(g1[i], g2[i]) < 1e-12);
  CHECK_THROWS_WITH(layer_norm(x, {4}), Contains("layer_norm") && Contains("[4]") && Contains("[4, 3, 5]"));
  CHECK_THROWS_WITH(layer_norm(x, {5}, ones({4}, float64)), Contains("weight") && Contains("[4]"));
}

TEST_CASE("fused layers: attention with broadcast heads, bool and additive masks, causal", "[autograd][fused]") {
  Generator generator(4);
  const Tensor q = randn({2, 3, 5, 4}, float64, generator).requires_grad_();
  const Tensor k = randn({2, 3, 6, 4}, float64, generator).requires_grad_();
  const Tensor v = randn({2, 1, 6, 7}, float64, generator).requires_grad_();  // one value set shared by the heads
  const double scale = 0.5;  // 1/sqrt(4)
  // No mask.
  CHECK(max_difference(scaled_dot_product_attention(q, k, v), attention_by_the_book(q, k, v, Tensor(), scale)) < 1e-12);
  // Bool: true may attend (PyTorch's functional convention); a row that may attend nowhere is NaN.
  const Tensor allowed = bernoulli({5, 6}, 0.7, float64, generator).gt(0.5).logical_or(arange(6).reshape({1, 6}).eq(0));
  const Tensor additive = where(allowed, 0.0, full({}, -std::numeric_limits<double>::infinity(), float64));
  const Tensor masked = scaled_dot_product_attention(q, k, v, allowed);
  CHECK(max_difference(masked, attention_by_the_book(q, k, v, additive, scale)) < 1e-12);
  // Float masks are added; gradients of every input agree with the book's.
  const Tensor bias = randn({2, 3, 5, 6}, float64, generator).requires_grad_();
  const Tensor fused = scaled_dot_product_attention(q, k, v, bias);
  const Tensor book = attention_by_the_book(q, k, v, bias, scale);
  CHECK(max_difference(fused, book) < 1e-12);
  const Tensor u = randn(fused.shape(), float64, generator);
  const auto g1 = autograd::grad({(fused * u).sum()}, {q, k, v, bias});
  const auto g2 = autograd::grad({(book * u).sum()}, {q, k, v, bias});
  for (size_t i = 0; i < 4; ++i) CHECK(max_difference(g1[i], g2[i]) < 1e-12);
  // Causal: query i sees keys 0..i.
  const Tensor causal_mask = arange(6).reshape({1, 6}).gt(arange(5).reshape({5, 1}));
  const Tensor causal_additive = where(causal_mask, full({}, -std::numeric_limits<double>::infinity(), float64), 0.0);
  CHECK(max_difference(scaled_dot_product_attention(q, k, v, Tensor(), 0.0, true),
                       attention_by_the_book(q, k, v, causal_additive, scale)) < 1e-12);
  // The weights: rows sum to one, masked entries are exactly zero.
  const AttentionResult with_weights = scaled_dot_product_attention_with_weights(q, k, v, allowed);
  CHECK(max_difference(with_weights.weights.sum({-1}), ones({2, 3, 5}, float64)) < 1e-12);
  CHECK(with_weights.weights.masked_fill(allowed, 0.0).abs().max().item() == 0.0);
  CHECK_THROWS_WITH(scaled_dot_product_attention(q, k.narrow(3, 0, 3), v), Contains("scaled_dot_product_attention"));
}

TEST_CASE("fused layers: attention dropout keeps the expected share and rescales", "[autograd][fused]") {
  Generator generator(9);
  const Tensor q = randn({64, 8, 4}, float32, generator), k = randn({64, 8, 4}, float32, generator);
  const Tensor v = ones({64, 8, 1});
  // With v all ones the output is the row sum of the kept weights: on average 1.
  const Tensor out = scaled_dot_product_attention(q, k, v, Tensor(), 0.25, false, std::nullopt, generator);
  CHECK(out.mean().item() == Approx(1.0).margin(0.03));
  const AttentionResult r = scaled_dot_product_attention_with_weights(q, k, v, Tensor(), 0.25, false, std::nullopt, generator);
  const double zero_share = r.weights.eq(0.0).to(float64).mean().item();
  CHECK(zero_share == Approx(0.25).margin(0.02));
}

namespace {

using gradcheck_table::Args;
using gradcheck_table::Table;

void fused_layer_rows(Table& rows, Table& second_order) {
  rows.group("fused layers");
  second_order.group("fused layers second order");
  auto norm = [](const Args& x) { return layer_norm(x[0], {3, 2}, x[1], x[2], 1e-5); };
  rows.row("layer_norm", "two trailing dims, affine", norm, {{{4, 3, 2}}, {{3, 2}}, {{3, 2}}});
  rows.row("layer_norm", "non-contiguous input, no affine", [](const Args& x) { return layer_norm(x[0].t(), {3}); },
           {{{3, 4}}});
  second_order.row("layer_norm", "affine", norm, {{{2, 3, 2}}, {{3, 2}}, {{3, 2}}});
  auto attend = [](const Args& x) { return scaled_dot_product_attention(x[0], x[1], x[2]); };
  rows.row("scaled_dot_product_attention", "heads broadcast", attend, {{{2, 3, 4}}, {{1, 5, 4}}, {{2, 5, 3}}});
  const Tensor allowed = tensor({1, 1, 0, 1, 0, 1, 1, 1, 1, 0, 0, 1}, {3, 4}, uint8);
  rows.row("scaled_dot_product_attention", "bool mask, transposed key",
           [allowed](const Args& x) { return scaled_dot_product_attention(x[0], x[1].transpose(-1, -2), x[2], allowed); },
           {{{2, 3, 2}}, {{2, 2, 4}}, {{2, 4, 3}}});
  rows.row("scaled_dot_product_attention", "additive mask with a gradient, causal",
           [](const Args& x) { return scaled_dot_product_attention(x[0], x[1], x[2], x[3], 0.0, true); },
           {{{1, 3, 2}}, {{1, 3, 2}}, {{1, 3, 2}}, {{3, 3}}});
  rows.row("scaled_dot_product_attention_with_weights", "the weights",
           [](const Args& x) { return scaled_dot_product_attention_with_weights(x[0], x[1], x[2]).weights; },
           {{{2, 3, 2}}, {{2, 4, 2}}, {{2, 4, 2}}});
  second_order.row("scaled_dot_product_attention", "", attend, {{{1, 2, 3}}, {{1, 3, 3}}, {{1, 3, 2}}});
  second_order.row("scaled_dot_product_attention_with_weights", "the weights",
                   [](const Args& x) { return scaled_dot_product_attention_with_weights(x[0], x[1], x[2]).weights; },
                   {{{1, 2, 2}}, {{1, 3, 2}}, {{1, 3, 2}}});
}

const bool registered = gradcheck_table::register_rows(&fused_layer_rows);

}  // namespace

TEST_CASE("gradcheck table: fused layers", "[autograd][gradcheck][fused]") {
  using namespace gradcheck_table;
  run_group(build_op_table(), "fused layers", run_gradcheck);
}

TEST_CASE("gradgradcheck: fused layers through their composite", "[autograd][gradcheck][fused]") {
  using namespace gradcheck_table;
  run_group(build_gradgrad_table(), "fused layers second order", run_gradgradcheck);
}

TEST_CASE("fused layers: a first layer's conv2d_relu gradients equal relu(conv2d)'s, with and without a graph",
          "[autograd][fused]") {
  // An input that needs no gradient: conv2d_relu's backward folds relu's into the weight gradient
  // (one kernel) unless a graph is being built. Either way the gradients are the composition's, to
  // the last bit, on the per-image path (MNIST's first layer) and the batched one.
  struct Shapes {
    Shape input, weight;
    Conv2dParams params;
  };
  for (const Shapes& c : {Shapes{{3, 1, 28, 28}, {8, 1, 3, 3}, {}},
                          Shapes{{4, 6, 9, 9}, {8, 6, 4, 4}, {.stride = 2, .padding = 1}}}) {
    for (DType dtype : {float32, float64}) {
      INFO("input channels " << c.input[1] << ", " << dtype_name(dtype));
      Generator generator(5);
      const Tensor x = randn(c.input, dtype, generator);
      const Tensor w_values = randn(c.weight, dtype, generator), b_values = randn({c.weight[0]}, dtype, generator);
      Tensor w = w_values.clone().requires_grad_(), b = b_values.clone().requires_grad_();
      Tensor w_apart = w_values.clone().requires_grad_(), b_apart = b_values.clone().requires_grad_();
      const Tensor y = conv2d_relu(x, w, b, c.params);
      const Tensor g = randn(y.shape(), dtype, generator);
      (y * g).sum().backward();
      (relu(conv2d(x, w_apart, b_apart, c.params)) * g).sum().backward();
      CHECK(equal(w.grad(), w_apart.grad()));
      CHECK(equal(b.grad(), b_apart.grad()));
      // With a graph (create_graph): the composed ops, recorded; the same values.
      const Tensor loss = (conv2d_relu(x, w, b, c.params) * g).sum();
      const auto grads = autograd::grad({loss}, {w, b}, {}, {.create_graph = true});
      CHECK(equal(grads[0], w_apart.grad()));
      CHECK(equal(grads[1], b_apart.grad()));
    }
  }
}

TEST_CASE("fused layers: conv2d_relu_max_pool2d's three gradients are the same with and without a graph",
          "[autograd][fused]") {
  // A training step (no graph) masks the pooled gradient inside the convolution's backward, one
  // kernel for all three gradients; with create_graph the recorded ops run in turn. The same values
  // to the last bit, on the Winograd path (MNIST's second layer) and the im2col one, and those of
  // max_pool2d(relu(conv2d(...))) up to the order of the bias gradient's sums.
  struct Shapes {
    Shape input, weight;
    Conv2dParams params;
  };
  for (const Shapes& c : {Shapes{{3, 8, 26, 26}, {16, 8, 3, 3}, {}},
                          Shapes{{2, 3, 12, 12}, {4, 3, 3, 3}, {.algorithm = ConvAlgorithm::im2col}}}) {
    for (DType dtype : {float32, float64}) {
      INFO("input channels " << c.input[1] << ", " << dtype_name(dtype));
      Generator generator(7);
      const Tensor x_values = randn(c.input, dtype, generator);
      const Tensor w_values = randn(c.weight, dtype, generator), b_values = randn({c.weight[0]}, dtype, generator);
      Tensor x = x_values.clone().requires_grad_(), w = w_values.clone().requires_grad_(),
             b = b_values.clone().requires_grad_();
      const Tensor pooled = conv2d_relu_max_pool2d(x, w, b, c.params).values;
      const Tensor g = randn(pooled.shape(), dtype, generator);
      (pooled * g).sum().backward();
      const Tensor loss = (conv2d_relu_max_pool2d(x, w, b, c.params).values * g).sum();
      const auto grads = autograd::grad({loss}, {x, w, b}, {}, {.create_graph = true});
      CHECK(equal(grads[0], x.grad()));
      CHECK(equal(grads[1], w.grad()));
      CHECK(equal(grads[2], b.grad()));
      Tensor x_apart = x_values.clone().requires_grad_(), w_apart = w_values.clone().requires_grad_(),
             b_apart = b_values.clone().requires_grad_();
      const Window2d pool{.kernel = 2, .stride = 2};
      (max_pool2d(relu(conv2d(x_apart, w_apart, b_apart, c.params)), pool).values * g).sum().backward();
      const double tolerance = dtype == float32 ? 1e-4 : 1e-12;
      CHECK(allclose(x.grad(), x_apart.grad(), tolerance, tolerance));
      CHECK(allclose(w.grad(), w_apart.grad(), tolerance, tolerance));
      CHECK(allclose(b.grad(), b_apart.grad(), tolerance, tolerance));
    }
  }
}
