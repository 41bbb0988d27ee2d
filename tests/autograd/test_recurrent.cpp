// The fused recurrent layer (one op per layer and sequence) against the same layer written step by
// step with differentiable ops: values and gradients of every input agree for RNN (tanh, relu),
// LSTM (with and without projection) and GRU, with and without variable lengths; gradcheck and
// gradgradcheck pass; and the LSTM reproduces values computed by hand.
#include <catch2/catch.hpp>
#include <nabla/autograd.hpp>

#include <cmath>
#include <string>
#include <vector>

#include "gradcheck_table.hpp"

using namespace nabla;
using Catch::Contains;

namespace {

struct Case {
  RecurrentCell cell;
  bool projected = false;
  bool with_bias = true;
  std::string label;
};

const std::vector<Case> kCases = {
    {RecurrentCell::rnn_tanh, false, true, "rnn tanh"}, {RecurrentCell::rnn_relu, false, true, "rnn relu"},
    {RecurrentCell::lstm, false, true, "lstm"},         {RecurrentCell::lstm, true, true, "lstm projected"},
    {RecurrentCell::gru, false, true, "gru"},           {RecurrentCell::gru, false, false, "gru without bias"},
};

struct Setup {
  Tensor x, h0, c0;
  RecurrentParameters p;
  std::vector<Tensor> leaves() const {
    std::vector<Tensor> out{x, h0};
    if (c0.defined()) out.push_back(c0);
    for (const Tensor& t : {p.weight_ih, p.weight_hh, p.bias_ih, p.bias_hh, p.weight_hr}) {
      if (t.defined()) out.push_back(t);
    }
    return out;
  }
};

Setup make_setup(const Case& c, int64_t steps, int64_t batch, int64_t input, int64_t hidden, DType dtype, uint64_t seed) {
  Generator generator(seed);
  const int64_t gates = recurrent_gates(c.cell) * hidden;
  const int64_t out = c.projected ? hidden - 1 : hidden;
  auto uniform_leaf = [&](const Shape& shape) { return uniform(shape, -0.6, 0.6, dtype, generator).requires_grad_(); };
  Setup s;
  s.x = uniform_leaf({steps, batch, input});
  s.h0 = uniform_leaf({batch, out});
  if (c.cell == RecurrentCell::lstm) s.c0 = uniform_leaf({batch, hidden});
  s.p.weight_ih = uniform_leaf({gates, input});
  s.p.weight_hh = uniform_leaf({gates, out});
  if (c.with_bias) {
    s.p.bias_ih = uniform_leaf({gates});
    s.p.bias_hh = uniform_leaf({gates});
  }
  if (c.projected) s.p.weight_hr = uniform_leaf({out, hidden});
  return s;
}

double max_difference(const Tensor& a, const Tensor& b) { return (a - b).abs().max().item(); }

// A loss that weighs every output, h_n and c_n differently, so that each gradient path is used.
Tensor loss_of(const RecurrentResult& r, Generator& generator) {
  Tensor loss = (r.output * randn(r.output.shape(), r.output.dtype(), generator)).sum() +
                (r.h_n * randn(r.h_n.shape(), r.h_n.dtype(), generator)).sum();
  if (r.c_n.defined()) loss = loss + (r.c_n * randn(r.c_n.shape(), r.c_n.dtype(), generator)).sum();
  return loss;
}

}  // namespace

TEST_CASE("recurrent: the fused layer equals the step-by-step composite, values and gradients", "[autograd][recurrent]") {
  for (const Case& c : kCases) {
    for (bool with_lengths : {false, true}) {
      INFO(c.label << (with_lengths ? ", variable lengths" : ""));
      const Setup s = make_setup(c, 5, 3, 4, 6, float64, 7);
      const Tensor lengths = with_lengths ? tensor({5, 2, 4}, {3}, int64) : Tensor();
      const RecurrentResult fused = recurrent_layer(c.cell, s.x, s.h0, s.c0, s.p, lengths);
      const RecurrentResult composite = recurrent_layer_composite(c.cell, s.x, s.h0, s.c0, s.p, lengths);
      CHECK(max_difference(fused.output, composite.output) < 1e-12);
      CHECK(max_difference(fused.h_n, composite.h_n) < 1e-12);
      if (c.cell == RecurrentCell::lstm) CHECK(max_difference(fused.c_n, composite.c_n) < 1e-12);
      if (with_lengths) {
        // Past its length an example emits zeros, and h_n is its state at its own last step.
        CHECK(fused.output.select(1, 1).narrow(0, 2, 3).abs().max().item() == 0.0);
        CHECK(max_difference(fused.h_n.select(0, 1), fused.output.select(0, 1).select(0, 1)) == 0.0);
      }
      Generator g1(3), g2(3);
      const std::vector<Tensor> wrt = s.leaves();
      const auto fused_grads = autograd::grad({loss_of(fused, g1)}, wrt);
      const auto composite_grads = autograd::grad({loss_of(composite, g2)}, wrt);
      for (size_t i = 0; i < wrt.size(); ++i) {
        INFO("input " << i << " of shape " << to_string(wrt[i].shape()));
        CHECK(max_difference(fused_grads[i], composite_grads[i]) < 1e-10);
      }
    }
  }
}

TEST_CASE("recurrent: float32 agrees with float64 to float32 accuracy", "[autograd][recurrent]") {
  // Small sizes, and sizes whose float32 products run in nabla's AVX-512 kernels on CPUs that have
  // them (gemm_avx512.hpp): a batch of 32 times 64-wide weights, the hidden products added onto the
  // input projections (beta = 1), and weight gradients summed over 3 x 32 rows. Sums of 128 terms
  // round more than those of 13: the larger sizes get 10x the tolerance (a wrong term would be
  // off by 0.01 or more).
  struct Sizes {
    int64_t steps, batch, input, hidden;
    double output_tolerance, grad_tolerance;
  };
  for (const Sizes& z : {Sizes{7, 4, 5, 8, 2e-6, 2e-5}, Sizes{3, 32, 64, 64, 2e-5, 2e-4}}) {
    for (const Case& c : kCases) {
      INFO(c.label << ", batch " << z.batch << ", hidden " << z.hidden);
      const Setup s64 = make_setup(c, z.steps, z.batch, z.input, z.hidden, float64, 11);
      const Setup s32 = make_setup(c, z.steps, z.batch, z.input, z.hidden, float32, 11);
      const RecurrentResult r64 = recurrent_layer(c.cell, s64.x, s64.h0, s64.c0, s64.p);
      const RecurrentResult r32 = recurrent_layer(c.cell, s32.x, s32.h0, s32.c0, s32.p);
      CHECK(max_difference(r32.output.to(float64), r64.output) < z.output_tolerance);
      Generator g1(5), g2(5);
      const auto grads64 = autograd::grad({loss_of(r64, g1)}, s64.leaves());
      const auto grads32 = autograd::grad({loss_of(r32, g2)}, s32.leaves());
      for (size_t i = 0; i < grads64.size(); ++i) {
        CHECK(max_difference(grads32[i].to(float64), grads64[i]) < z.grad_tolerance);
      }
    }
  }
}

TEST_CASE("recurrent: one LSTM step against the equations worked by hand", "[autograd][recurrent]") {
  // One hidden unit, one input, one step: z = x w_ih + b_ih + h w_hh + b_hh for gates i, f, g, o.
  const Tensor x = tensor({0.5}, {1, 1, 1}, float64);
  const Tensor h0 = tensor({-0.25}, {1, 1}, float64), c0 = tensor({0.75}, {1, 1}, float64);
  RecurrentParameters p;
  p.weight_ih = tensor({0.1, 0.2, 0.3, 0.4}, {4, 1}, float64);
  p.weight_hh = tensor({-0.5, 0.6, -0.7, 0.8}, {4, 1}, float64);
  p.bias_ih = tensor({0.01, 0.02, 0.03, 0.04}, {4}, float64);
  p.bias_hh = tensor({0.05, 0.06, 0.07, 0.08}, {4}, float64);
  const RecurrentResult r = recurrent_layer(RecurrentCell::lstm, x, h0, c0, p);
  auto gate = [](double w_ih, double w_hh, double b) { return 0.5 * w_ih - 0.25 * w_hh + b; };
  auto sig = [](double v) { return 1.0 / (1.0 + std::exp(-v)); };
  const double i = sig(gate(0.1, -0.5, 0.06)), f = sig(gate(0.2, 0.6, 0.08));
  const double g = std::tanh(gate(0.3, -0.7, 0.10)), o = sig(gate(0.4, 0.8, 0.12));
  const double c = f * 0.75 + i * g, h = o * std::tanh(c);
  CHECK(r.c_n.item() == Approx(c).epsilon(1e-14));
  CHECK(r.h_n.item() == Approx(h).epsilon(1e-14));
  CHECK(r.output.item() == Approx(h).epsilon(1e-14));
}

TEST_CASE("recurrent: bad shapes, dtypes and lengths are refused with the op and the shapes", "[autograd][recurrent]") {
  const Setup s = make_setup(kCases[2], 3, 2, 4, 5, float32, 1);
  CHECK_THROWS_WITH(recurrent_layer(RecurrentCell::lstm, s.x.reshape({6, 4}), s.h0, s.c0, s.p),
                    Contains("lstm") && Contains("[6, 4]"));
  CHECK_THROWS_WITH(recurrent_layer(RecurrentCell::lstm, s.x, s.h0.narrow(1, 0, 3), s.c0, s.p),
                    Contains("initial hidden state") && Contains("[2, 5]"));
  CHECK_THROWS_WITH(recurrent_layer(RecurrentCell::lstm, s.x.to(float64), s.h0, s.c0, s.p), Contains("float64"));
  CHECK_THROWS_WITH(recurrent_layer(RecurrentCell::lstm, s.x, s.h0, s.c0, s.p, tensor({3, 0}, {2}, int64)),
                    Contains("length 0") && Contains("1..3"));
  CHECK_THROWS_WITH(recurrent_layer(RecurrentCell::lstm, s.x, s.h0, s.c0, s.p, tensor({4, 1}, {2}, int64)),
                    Contains("length 4"));
}

namespace {

using gradcheck_table::Args;
using gradcheck_table::Table;

// Rows: the inputs are x, h0, [c0], weight_ih, weight_hh, bias_ih, bias_hh, [weight_hr].
void recurrent_rows(Table& rows, Table& second_order) {
  rows.group("recurrent");
  second_order.group("recurrent second order");
  for (const Case& c : kCases) {
    for (bool with_lengths : {false, true}) {
      const int64_t hidden = 3, out = c.projected ? 2 : 3, gates = recurrent_gates(c.cell) * hidden;
      std::vector<gradcheck_table::Input> inputs{{{3, 2, 2}}, {{2, out}}};
      if (c.cell == RecurrentCell::lstm) inputs.push_back({{2, hidden}});
      inputs.push_back({{gates, 2}});
      inputs.push_back({{gates, out}});
      if (c.with_bias) {
        inputs.push_back({{gates}});
        inputs.push_back({{gates}});
      }
      if (c.projected) inputs.push_back({{out, hidden}});
      const Tensor lengths = with_lengths ? tensor({3, 1}, {2}, int64) : Tensor();
      auto fn = [c, lengths](const Args& a) {
        size_t k = 0;
        const Tensor x = a[k++], h0 = a[k++];
        const Tensor c0 = c.cell == RecurrentCell::lstm ? a[k++] : Tensor();
        RecurrentParameters p;
        p.weight_ih = a[k++];
        p.weight_hh = a[k++];
        if (c.with_bias) {
          p.bias_ih = a[k++];
          p.bias_hh = a[k++];
        }
        if (c.projected) p.weight_hr = a[k++];
        const RecurrentResult r = recurrent_layer(c.cell, x, h0, c0, p, lengths);
        // Every result in one output, so that each gradient path is checked.
        std::vector<Tensor> parts{r.output.reshape({-1}), r.h_n.reshape({-1})};
        if (r.c_n.defined()) parts.push_back(r.c_n.reshape({-1}));
        return cat(parts, 0);
      };
      const std::string variant = c.label + (with_lengths ? ", variable lengths" : "");
      rows.row("recurrent_layer", variant, fn, inputs);

      second_order.row("recurrent_layer", variant, fn, inputs);
    }
  }
}

// The composite itself (the reference, and the second-derivative path) gets rows too.
void composite_rows(Table& rows, Table& second_order) {
  rows.group("recurrent composite");
  for (const Case& c : {kCases[2], kCases[4]}) {
    const int64_t hidden = 2, gates = recurrent_gates(c.cell) * hidden;
    auto fn = [c](const Args& a) {
      RecurrentParameters p{a[a.size() - 4], a[a.size() - 3], a[a.size() - 2], a[a.size() - 1], Tensor()};
      const Tensor c0 = c.cell == RecurrentCell::lstm ? a[2] : Tensor();
      return recurrent_layer_composite(c.cell, a[0], a[1], c0, p, tensor({2, 1}, {2}, int64)).output;
    };
    std::vector<gradcheck_table::Input> inputs{{{2, 2, 2}}, {{2, hidden}}};
    if (c.cell == RecurrentCell::lstm) inputs.push_back({{2, hidden}});
    for (const Shape& shape : {Shape{gates, 2}, Shape{gates, hidden}, Shape{gates}, Shape{gates}}) inputs.push_back({shape});
    rows.row("recurrent_layer_composite", c.label + ", variable lengths", fn, inputs);
  }
  (void)second_order;
}

const bool registered = gradcheck_table::register_rows(&recurrent_rows);
const bool composite_registered = gradcheck_table::register_rows(&composite_rows);

}  // namespace

TEST_CASE("gradcheck table: recurrent layers", "[autograd][gradcheck][recurrent]") {
  using namespace gradcheck_table;
  run_group(build_op_table(), "recurrent", run_gradcheck);
}

TEST_CASE("gradcheck table: the recurrent composite", "[autograd][gradcheck][recurrent]") {
  using namespace gradcheck_table;
  run_group(build_op_table(), "recurrent composite", run_gradcheck);
}

TEST_CASE("gradgradcheck: recurrent layers through their composite", "[autograd][gradcheck][recurrent]") {
  using namespace gradcheck_table;
  run_group(build_gradgrad_table(), "recurrent second order", run_gradgradcheck);
}
