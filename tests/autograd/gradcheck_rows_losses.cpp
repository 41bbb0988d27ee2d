// Gradcheck rows of the recorded loss primitives of issue 13: cross_entropy_rows and its adjoint
// with class weights and ignore_index, and ctc_loss (the alpha/beta kernels) with its composite.
// ctc_loss is checked on raw log_probs (its gradient is the true one; PyTorch's differs by
// exp(log_probs), see nabla/autograd/ctc.hpp) and through a log_softmax; its second derivatives
// come from the composite through recompute_gradients.
#include "gradcheck_table.hpp"

namespace gradcheck_table {

namespace {

Tensor classes(std::initializer_list<double> values, const Shape& shape = {}) { return tensor(values, shape, int64); }

void loss_rows(Table& rows, Table& second_order) {
  rows.group("issue 13: weighted cross-entropy rows");
  const Tensor target = classes({2, 0, 3, 1});
  const Tensor with_ignored = classes({2, -100, 3, 1});
  const Tensor weight = tensor({0.5, 2.0, 1.5, 0.8}, {4}, float64);
  rows.row("cross_entropy_rows", "class weights, none",
           [target, weight](const Args& x) { return cross_entropy_rows(x[0], target, 0.0, Reduction::none, weight); },
           {{{4, 4}}});
  rows.row("cross_entropy_rows", "class weights, mean over their sum",
           [target, weight](const Args& x) { return cross_entropy_rows(x[0], target, 0.0, Reduction::mean, weight); },
           {{{4, 4}}});
  rows.row("cross_entropy_rows", "weights, smoothing 0.2, an ignored row, mean",
           [with_ignored, weight](const Args& x) {
             return cross_entropy_rows(x[0], with_ignored, 0.2, Reduction::mean, weight);
           },
           {{{4, 4}}});
  rows.row("cross_entropy_rows", "ignore_index 3 (a class), smoothing 0.1, sum, transposed input",
           [target](const Args& x) { return cross_entropy_rows(x[0].t(), target, 0.1, Reduction::sum, Tensor(), 3); },
           {{{4, 4}}});
  rows.row("cross_entropy_rows_backward", "class weights, smoothing 0.3, per row",
           [target, weight](const Args& x) {
             return detail::cross_entropy_rows_backward(x[0], target, x[1], 0.3, Reduction::none, weight);
           },
           {{{4, 4}}, {{4}}});
  rows.row("cross_entropy_rows_backward", "weights, an ignored row, mean",
           [with_ignored, weight](const Args& x) {
             return detail::cross_entropy_rows_backward(x[0], with_ignored, x[1], 0.1, Reduction::mean, weight);
           },
           {{{4, 4}}, {Shape{}}});
  rows.row("cross_entropy_rows_backward", "ignore_index 0, sum",
           [target](const Args& x) {
             return detail::cross_entropy_rows_backward(x[0], target, x[1], 0.0, Reduction::sum, Tensor(), 0);
           },
           {{{4, 4}}, {{1}}});

  second_order.group("issue 13: losses, second order");
  second_order.row("cross_entropy_rows", "weights, smoothing 0.2, an ignored row, mean",
                   [with_ignored, weight](const Args& x) {
                     return cross_entropy_rows(x[0], with_ignored, 0.2, Reduction::mean, weight);
                   },
                   {{{4, 4}}});
  second_order.row("cross_entropy_rows_backward", "weights, ignore_index 1, per row",
                   [target, weight](const Args& x) {
                     return detail::cross_entropy_rows_backward(x[0], target, x[1], 0.1, Reduction::none, weight, 1);
                   },
                   {{{4, 4}}, {{4}}});

  rows.group("issue 13: ctc_loss");
  // Three samples of at most 6 frames over 5 classes: repeated labels (which need a blank between
  // them), an empty target, and a shorter input.
  const Tensor padded = classes({1, 2, 2, 0, 3, 1, 4, 4, 2, 0, 0, 0}, {3, 4});
  const Tensor concatenated = classes({1, 2, 2, 3, 1, 4, 4});
  const Tensor input_lengths = classes({6, 5, 4});
  const Tensor target_lengths = classes({3, 4, 0});
  rows.row("ctc_loss", "padded targets, none, raw log_probs",
           [padded, input_lengths, target_lengths](const Args& x) {
             return ctc_loss(x[0], padded, input_lengths, target_lengths, 0, Reduction::none);
           },
           {{{6, 3, 5}}});
  rows.row("ctc_loss", "concatenated targets, mean, through log_softmax",
           [concatenated, input_lengths, target_lengths](const Args& x) {
             return ctc_loss(log_softmax(x[0], 2), concatenated, input_lengths, target_lengths);
           },
           {{{6, 3, 5}}});
  rows.row("ctc_loss", "blank 4, sum, a transposed input",
           [input_lengths](const Args& x) {
             return ctc_loss(log_softmax(x[0].transpose(0, 1), 2), classes({0, 1, 1, 3, 0, 0, 2, 2, 0}, {3, 3}),
                             input_lengths, classes({3, 2, 3}), 4, Reduction::sum);
           },
           {{{3, 6, 5}}});
  rows.row("ctc_loss", "zero_infinity with an impossible sample, mean",
           [padded](const Args& x) {
             return ctc_loss(log_softmax(x[0], 2), padded, classes({6, 2, 4}), classes({3, 4, 1}), 0, Reduction::mean,
                             true);
           },
           {{{6, 3, 5}}});
  rows.row("ctc_loss", "one sample [T, C]",
           [](const Args& x) {
             return ctc_loss(log_softmax(x[0], 1), classes({2, 2, 1}), classes({5}, {}), classes({3}, {}), 0,
                             Reduction::none);
           },
           {{{5, 4}}});
  rows.row("ctc_loss_composite", "padded targets, none",
           [padded, input_lengths, target_lengths](const Args& x) {
             return ctc_loss_composite(x[0], padded, input_lengths, target_lengths, 0, Reduction::none);
           },
           {{{6, 3, 5}}});
  rows.row("ctc_loss_composite", "concatenated, blank 2, mean",
           [](const Args& x) {
             return ctc_loss_composite(log_softmax(x[0], 2), classes({1, 3, 3, 0}), classes({4, 3}), classes({3, 1}), 2);
           },
           {{{4, 2, 4}}});

  second_order.row("ctc_loss", "padded targets, mean (through the composite)",
                   [](const Args& x) {
                     return ctc_loss(log_softmax(x[0], 2), classes({1, 1, 2, 0}, {2, 2}), classes({4, 3}), classes({2, 1}));
                   },
                   {{{4, 2, 3}}});
  second_order.row("ctc_loss", "raw log_probs, none",
                   [](const Args& x) {
                     return ctc_loss(x[0], classes({2, 1, 1, 0}, {2, 2}), classes({3, 4}), classes({2, 1}), 0,
                                     Reduction::none);
                   },
                   {{{4, 2, 3}}});
  second_order.row("ctc_loss_composite", "mean",
                   [](const Args& x) {
                     return ctc_loss_composite(log_softmax(x[0], 2), classes({1, 2}, {2, 1}), classes({3, 3}),
                                               classes({1, 1}));
                   },
                   {{{3, 2, 3}}});
}

const bool registered = register_rows(&loss_rows);

}  // namespace

}  // namespace gradcheck_table

using namespace gradcheck_table;

TEST_CASE("gradcheck table: cross-entropy rows with class weights and ignore_index (issue 13)", "[autograd][gradcheck]") {
  run_group(build_op_table(), "issue 13: weighted cross-entropy rows", run_gradcheck);
}

TEST_CASE("gradcheck table: ctc_loss and its composite (issue 13)", "[autograd][gradcheck]") {
  run_group(build_op_table(), "issue 13: ctc_loss", run_gradcheck);
}

TEST_CASE("gradgradcheck: second derivatives of the loss primitives (issue 13)", "[autograd][gradcheck]") {
  run_group(build_gradgrad_table(), "issue 13: losses, second order", run_gradgradcheck);
}
