// Gradcheck rows of issue 13's layer primitives: the embedding lookup (padding_idx,
// scale_grad_by_freq, index shapes), group_norm (affine or not, one group to one per channel,
// non-contiguous input), native_batch_norm (BatchNorm's fused training forward), silu's fused
// backward and leaky_relu with its backward. The point-wise activations (silu, mish, selu,
// relu6, hardsigmoid, hardswish, log_sigmoid, softsign, tanhshrink) get their rows from their
// pointwise.def entries, in the core table. Second-order rows go through the composed forms the
// fused ops are differentiated by when backward is recorded; the embedding is linear in its
// weight, so its second-order rows square the weight first.
#include "gradcheck_table.hpp"

namespace gradcheck_table {

namespace {

Tensor int_index(std::initializer_list<double> values, const Shape& shape = {}) { return tensor(values, shape, int64); }

void layer_rows(Table& rows, Table& second_order) {
  rows.group("issue 13: embedding, group_norm, silu_backward");
  const Tensor ids = int_index({0, 2, 4, 2, 2, 1}, {2, 3});
  rows.row("embedding", "[2, 3] indices, repeats", [ids](const Args& x) { return embedding(x[0], ids); }, {{{5, 3}}});
  // padding_idx and scale_grad_by_freq make the gradient differ from the forward's derivative on
  // purpose (PyTorch's gradcheck fails them too): the padding row is read but gets no gradient, and
  // repeated rows get their gradient divided by the count. So the padding rows below read a weight
  // whose padding row is masked out (true derivative 0 there too), and scale_grad_by_freq runs on
  // distinct indices; the tests in tests/nn/test_embedding.cpp check both gradients against torch's.
  const Tensor keep_row_2 = tensor({1, 1, 0, 1, 1}, {5, 1}, float64);
  rows.row("embedding", "padding_idx 2 (its row gets no gradient), masked weight",
           [ids, keep_row_2](const Args& x) { return embedding(x[0] * keep_row_2, ids, 2) * 1.5; }, {{{5, 3}}});
  const Tensor distinct = int_index({4, 0, 3, 1}, {2, 2});
  rows.row("embedding", "scale_grad_by_freq, distinct indices",
           [distinct](const Args& x) { return embedding(x[0], distinct, std::nullopt, true); }, {{{5, 3}}});
  const Tensor keep_row_0 = tensor({0, 1, 1, 1, 1}, {5, 1}, float64);
  rows.row("embedding", "padding_idx 0 and scale_grad_by_freq, transposed weight",
           [distinct, keep_row_0](const Args& x) { return embedding(x[0].t() * keep_row_0, distinct, 0, true); },
           {{{3, 5}}});
  const Tensor one = int_index({3});
  rows.row("embedding", "0-d index", [one](const Args& x) { return embedding(x[0], one.reshape({})); }, {{{4, 2}}});
  rows.row("group_norm", "3 groups of [2, 6, 3], affine",
           [](const Args& x) { return group_norm(x[0], 3, x[1], x[2]); }, {{{2, 6, 3}}, {{6}}, {{6}}});
  rows.row("group_norm", "2 groups of [3, 4, 2, 2], no affine", [](const Args& x) { return group_norm(x[0], 2); },
           {{{3, 4, 2, 2}}});
  rows.row("group_norm", "1 group, weight only, eps 0.1", [](const Args& x) { return group_norm(x[0], 1, x[1], {}, 0.1); },
           {{{3, 4}}, {{4}}});
  rows.row("group_norm", "one group per channel, non-contiguous input",
           [](const Args& x) { return group_norm(x[0].transpose(1, 2), 4, x[1], x[2]); }, {{{2, 3, 4}}, {{4}}, {{4}}});
  // native_batch_norm (issue 13, dcgan): BatchNorm's training forward as one fused op.
  rows.row("native_batch_norm", "[4, 3, 2, 2], affine",
           [](const Args& x) { return native_batch_norm(x[0], x[1], x[2]).output; }, {{{4, 3, 2, 2}}, {{3}}, {{3}}});
  rows.row("native_batch_norm", "[5, 3] (no positions), no affine",
           [](const Args& x) { return native_batch_norm(x[0]).output; }, {{{5, 3}}});
  rows.row("native_batch_norm", "[3, 2, 5], weight only, eps 0.1",
           [](const Args& x) { return native_batch_norm(x[0], x[1], {}, 0.1).output; }, {{{3, 2, 5}}, {{2}}});
  rows.row("native_batch_norm", "non-contiguous input, weight broadcast from a column",
           [](const Args& x) { return native_batch_norm(x[0].transpose(0, 1), x[1].reshape({3}), x[2]).output; },
           {{{3, 4, 2}}, {{3, 1}}, {{3}}});
  rows.row("silu_backward", "", [](const Args& x) { return detail::silu_backward(x[0], x[1]); }, {{{2, 3}}, {{2, 3}}});
  rows.row("silu_backward", "non-contiguous input",
           [](const Args& x) { return detail::silu_backward(x[0], x[1].t()); }, {{{2, 3}}, {{3, 2}}});
  // leaky_relu (issue 13, dcgan): one recorded op; points away from the kink at 0.
  rows.row("leaky_relu", "slope 0.2", [](const Args& x) { return leaky_relu(x[0], 0.2); }, {{{3, 4}, away_from_zero}});
  rows.row("leaky_relu", "default slope, non-contiguous input", [](const Args& x) { return leaky_relu(x[0]); },
           {{{3, 4}, transposed(away_from_zero)}});
  rows.row("leaky_relu", "negative slope -0.5", [](const Args& x) { return leaky_relu(x[0], -0.5); },
           {{{5}, away_from_zero}});
  rows.row("leaky_relu_backward", "slope 0.2",
           [](const Args& x) { return detail::leaky_relu_backward(x[0], x[1], 0.2); },
           {{{2, 3}}, {{2, 3}, away_from_zero}});
  rows.row("leaky_relu_backward", "non-contiguous grad_output",
           [](const Args& x) { return detail::leaky_relu_backward(x[0].t(), x[1], 0.01); },
           {{{3, 2}}, {{2, 3}, away_from_zero}});

  second_order.group("issue 13: layers, second order");
  second_order.row("embedding", "of a squared weight, padding_idx 1, scale_grad_by_freq",
                   [ids](const Args& x) { return embedding(x[0] * x[0], ids, 1, true); }, {{{5, 2}}});
  second_order.row("group_norm", "2 groups of [2, 4, 3], affine",
                   [](const Args& x) { return group_norm(x[0], 2, x[1], x[2]); }, {{{2, 4, 3}}, {{4}}, {{4}}});
  second_order.row("native_batch_norm", "[3, 2, 4], affine",
                   [](const Args& x) { return native_batch_norm(x[0], x[1], x[2]).output; }, {{{3, 2, 4}}, {{2}}, {{2}}});
  second_order.row("silu_backward", "", [](const Args& x) { return detail::silu_backward(x[0], x[1]); },
                   {{{2, 3}}, {{2, 3}}});
  second_order.row("leaky_relu", "slope 0.2", [](const Args& x) { return leaky_relu(x[0], 0.2); },
                   {{{3, 4}, away_from_zero}});
  second_order.row("leaky_relu_backward", "slope 0.2",
                   [](const Args& x) { return detail::leaky_relu_backward(x[0], x[1], 0.2); },
                   {{{2, 3}}, {{2, 3}, away_from_zero}});
}

const bool registered = register_rows(&layer_rows);

}  // namespace

}  // namespace gradcheck_table

using namespace gradcheck_table;

TEST_CASE("gradcheck table: embedding, group_norm and silu_backward (issue 13)", "[autograd][gradcheck]") {
  run_group(build_op_table(), "issue 13: embedding, group_norm, silu_backward", run_gradcheck);
}

TEST_CASE("gradgradcheck: second derivatives of embedding, group_norm and silu_backward (issue 13)",
          "[autograd][gradcheck]") {
  run_group(build_gradgrad_table(), "issue 13: layers, second order", run_gradgradcheck);
}
