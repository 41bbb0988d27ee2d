// Gradcheck rows of the shape and indexing ops of issue 13: split/chunk/unbind, flip, roll,
// repeat/tile, tril/triu, diag, pad (every mode) and its adjoint pad_backward, masked_select,
// index, index_put, index_fill and take_along_dim. Non-contiguous inputs are made inside the
// function (a transpose or a strided slice of the sampled input), since gradcheck works on packed
// copies of its inputs. These ops move elements without arithmetic, so their second-order rows
// square the input first (x * x) to make the second derivative non-zero.
#include "gradcheck_table.hpp"

namespace gradcheck_table {

namespace {

Tensor int_index(std::initializer_list<double> values, const Shape& shape = {}) { return tensor(values, shape, int64); }

// Joins pieces into one output, each scaled differently so that a piece sent to the wrong place
// gets the wrong gradient.
Tensor weighted_cat(const std::vector<Tensor>& pieces, int64_t axis) {
  std::vector<Tensor> scaled;
  for (size_t i = 0; i < pieces.size(); ++i) scaled.push_back(pieces[i] * static_cast<double>(i + 1));
  return cat(scaled, axis);
}

void shape_rows(Table& rows, Table& second_order) {
  rows.group("issue 13: split, flip, roll, repeat, triangles");
  rows.row("split", "size 2 of 5 along axis 1", [](const Args& x) { return weighted_cat(split(x[0], 2, 1), 1); },
           {{{3, 5}}});
  rows.row("split", "sizes {1, 3} of a transposed input", [](const Args& x) { return weighted_cat(split(x[0].t(), {1, 3}), 0); },
           {{{3, 4}}});
  rows.row("split", "one piece used (the others get zero)", [](const Args& x) { return x[0].split(2)[1]; }, {{{5, 2}}});
  rows.row("split_with_sizes", "axis -1", [](const Args& x) { return weighted_cat(split_with_sizes(x[0], {2, 0, 2}, -1), -1); },
           {{{2, 4}}});
  rows.row("chunk", "3 chunks of 7", [](const Args& x) { return weighted_cat(chunk(x[0], 3), 0); }, {{{7, 2}}});
  rows.row("chunk", "axis 1 of a strided slice", [](const Args& x) { return weighted_cat(x[0].slice(1, 0, 8, 2).chunk(2, 1), 1); },
           {{{3, 8}}});
  rows.row("unbind", "pieces multiplied", [](const Args& x) {
    const std::vector<Tensor> columns = unbind(x[0], 1);
    return columns[0] * columns[1] + columns[2];
  }, {{{2, 3}}});
  rows.row("flip", "axes {0, 2}", [](const Args& x) { return flip(x[0], {0, 2}); }, {{{2, 3, 4}}});
  rows.row("flip", "axis -1 of a transposed input", [](const Args& x) { return x[0].t().flip({-1}); }, {{{3, 4}}});
  rows.row("flip", "no axes (a copy)", [](const Args& x) { return flip(x[0], {}); }, {{{2, 3}}});
  rows.row("roll", "shifts {1, -2} on axes {0, 1}", [](const Args& x) { return roll(x[0], {1, -2}, {0, 1}); }, {{{3, 4}}});
  rows.row("roll", "flattened, shift 5", [](const Args& x) { return roll(x[0], {5}); }, {{{3, 4}}});
  rows.row("roll", "(shift, axis) of a transposed input, same axis twice",
           [](const Args& x) { return roll(x[0].t(), {2, 3}, {1, 1}); }, {{{3, 4}}});
  rows.row("roll", "method, shift -1 on axis 0", [](const Args& x) { return x[0].roll(-1, 0); }, {{{4, 2}}});
  rows.row("repeat", "{2, 1, 3} on [2, 3] (a new leading axis)", [](const Args& x) { return repeat(x[0], {2, 1, 3}); },
           {{{2, 3}}});
  rows.row("repeat", "of a transposed input, then multiplied", [](const Args& x) { return x[0].t().repeat({2, 2}) * x[1]; },
           {{{3, 2}}, {{4, 6}}});
  rows.row("tile", "{2} on [2, 3] (counts padded with 1)", [](const Args& x) { return tile(x[0], {2}); }, {{{2, 3}}});
  rows.row("tile", "{2, 1, 2}", [](const Args& x) { return x[0].tile({2, 1, 2}); }, {{{3, 2}}});
  rows.row("tril", "diagonal 0", [](const Args& x) { return tril(x[0]); }, {{{3, 4}}});
  rows.row("tril", "batched, diagonal -1", [](const Args& x) { return tril(x[0], -1); }, {{{2, 4, 3}}});
  rows.row("tril", "transposed input, diagonal 1", [](const Args& x) { return x[0].t().tril(1); }, {{{4, 3}}});
  rows.row("triu", "diagonal 0", [](const Args& x) { return triu(x[0]); }, {{{3, 4}}});
  rows.row("triu", "batched, diagonal 2", [](const Args& x) { return x[0].triu(2); }, {{{2, 3, 5}}});
  rows.row("triu", "transposed input, diagonal -1", [](const Args& x) { return triu(x[0].t(), -1); }, {{{4, 3}}});
  rows.row("diag", "1-d to a matrix", [](const Args& x) { return diag(x[0]); }, {{{3}}});
  rows.row("diag", "1-d to a matrix, diagonal -2", [](const Args& x) { return x[0].diag(-2); }, {{{3}}});
  rows.row("diag", "2-d to its diagonal", [](const Args& x) { return diag(x[0]); }, {{{3, 4}}});
  rows.row("diag", "tall 2-d, diagonal -1", [](const Args& x) { return diag(x[0], -1); }, {{{4, 2}}});
  rows.row("diag", "wide 2-d, diagonal 2, transposed input", [](const Args& x) { return diag(x[0].t(), 2); }, {{{5, 3}}});

  rows.group("issue 13: pad");
  rows.row("pad", "constant, last axis (1, 2)", [](const Args& x) { return pad(x[0], {1, 2}); }, {{{2, 3}}});
  rows.row("pad", "constant 0.5, crop and pad (-1, 2, 1, -1)", [](const Args& x) { return pad(x[0], {-1, 2, 1, -1}, PadMode::constant, 0.5); },
           {{{3, 4}}});
  rows.row("pad", "constant, three axes of a transposed input", [](const Args& x) { return pad(x[0].transpose(0, 2), {1, 0, 0, 1, 2, 1}); },
           {{{3, 2, 2}}});
  rows.row("pad", "reflect 1-d (2, 1) of [N, C, W]", [](const Args& x) { return pad(x[0], {2, 1}, PadMode::reflect); },
           {{{2, 2, 4}}});
  rows.row("pad", "reflect 2-d (1, 2, 2, 1) of [C, H, W]", [](const Args& x) { return pad(x[0], {1, 2, 2, 1}, PadMode::reflect); },
           {{{2, 3, 4}}});
  rows.row("pad", "reflect with a crop (-1, 2)", [](const Args& x) { return pad(x[0], {-1, 2}, PadMode::reflect); },
           {{{1, 2, 4}}});
  rows.row("pad", "replicate 2-d (3, 0, 1, 2)", [](const Args& x) { return pad(x[0], {3, 0, 1, 2}, PadMode::replicate); },
           {{{1, 2, 2, 3}}});
  rows.row("pad", "replicate of a transposed input", [](const Args& x) { return pad(x[0].transpose(1, 2), {2, 2}, PadMode::replicate); },
           {{{2, 3, 2}}});
  rows.row("pad", "circular 2-d (2, 1, 1, 2)", [](const Args& x) { return pad(x[0], {2, 1, 1, 2}, PadMode::circular); },
           {{{1, 1, 3, 4}}});
  rows.row("pad", "circular with a crop (1, -1, -1, 2)", [](const Args& x) { return pad(x[0], {1, -1, -1, 2}, PadMode::circular); },
           {{{1, 1, 3, 4}}});
  rows.row("pad", "circular 3-d (1, 1, 1, 0, 0, 1)", [](const Args& x) { return pad(x[0], {1, 1, 1, 0, 0, 1}, PadMode::circular); },
           {{{1, 1, 2, 2, 3}}});
  rows.row("pad_backward", "reflect (2, 1)", [](const Args& x) { return detail::pad_backward(x[0], {2, 2, 4}, {2, 1}, PadMode::reflect); },
           {{{2, 2, 7}}});
  rows.row("pad_backward", "replicate (1, 2, 2, 0)",
           [](const Args& x) { return detail::pad_backward(x[0], {2, 3, 3}, {1, 2, 2, 0}, PadMode::replicate); }, {{{2, 5, 6}}});
  rows.row("pad_backward", "circular (1, -1, -1, 2)",
           [](const Args& x) { return detail::pad_backward(x[0], {1, 1, 3, 4}, {1, -1, -1, 2}, PadMode::circular); },
           {{{1, 1, 4, 4}}});

  rows.group("issue 13: masked and advanced indexing");
  const Tensor mask34 = tensor({1, 0, 0, 1, 0, 1, 1, 0, 1, 1, 0, 0}, {3, 4}, uint8);
  const Tensor mask4 = tensor({0, 1, 1, 0}, {4}, bool_);
  rows.row("masked_select", "uint8 mask of x's shape", [mask34](const Args& x) { return masked_select(x[0], mask34); },
           {{{3, 4}}});
  rows.row("masked_select", "bool mask [4] broadcast over x [3, 4]", [mask4](const Args& x) { return x[0].masked_select(mask4); },
           {{{3, 4}}});
  rows.row("masked_select", "x [4] broadcast over the mask [3, 4] (gradients summed)",
           [mask34](const Args& x) { return masked_select(x[0], mask34); }, {{{4}}});
  rows.row("masked_select", "transposed input", [mask34](const Args& x) { return masked_select(x[0].t(), mask34); },
           {{{4, 3}}});
  const Tensor rows_picked = int_index({2, 0, 2, -1});
  const Tensor pick_rows = int_index({0, 2, -1}, {3, 1});
  const Tensor pick_columns = int_index({1, 3}, {1, 2});
  rows.row("index", "one index with repeats and a negative", [rows_picked](const Args& x) { return index(x[0], {rows_picked}); },
           {{{3, 4}}});
  rows.row("index", "two indices broadcast to [3, 2]",
           [pick_rows, pick_columns](const Args& x) { return x[0].index({pick_rows, pick_columns}); }, {{{3, 4, 2}}});
  rows.row("index", "transposed input", [pick_rows, pick_columns](const Args& x) { return index(x[0].t(), {pick_rows, pick_columns}); },
           {{{4, 3}}});
  const Tensor put_rows = int_index({1, 0, 1});
  rows.row("index_put", "repeated rows, no accumulate (the last one wins)",
           [put_rows](const Args& x) { return index_put(x[0], {put_rows}, x[1]); }, {{{3, 4}}, {{3, 4}}});
  rows.row("index_put", "repeated rows, accumulate", [put_rows](const Args& x) { return index_put(x[0], {put_rows}, x[1], true); },
           {{{3, 4}}, {{3, 4}}});
  rows.row("index_put", "values [4] broadcast to [3, 4], repeated rows",
           [put_rows](const Args& x) { return x[0].index_put({put_rows}, x[1]); }, {{{3, 4}}, {{4}}});
  rows.row("index_put", "scalar value at element positions, accumulate",
           [pick_rows, pick_columns](const Args& x) { return index_put(x[0], {pick_rows, pick_columns}, x[1], true); },
           {{{3, 4}}, {Shape{}}});
  rows.row("index_put", "into a transposed input, broadcast indices",
           [pick_rows, pick_columns](const Args& x) { return index_put(x[0].t(), {pick_rows, pick_columns}, x[1]); },
           {{{4, 3}}, {{3, 2}}});
  rows.row("index_put", "in place on a copy (index_put_)", [put_rows](const Args& x) {
    const Tensor copy = x[0] * 1.0;
    copy.index_put_({put_rows}, x[1]);
    return copy;
  }, {{{3, 4}}, {{3, 4}}});
  const Tensor fill_columns = int_index({-1, 1});
  rows.row("index_fill", "axis 1, a negative index", [fill_columns](const Args& x) { return index_fill(x[0], 1, fill_columns, 2.5); },
           {{{3, 4}}});
  rows.row("index_fill", "0-d index on a transposed input",
           [](const Args& x) { return x[0].t().index_fill(0, tensor({2}, {}, int64), -1.0); }, {{{3, 4}}});
  rows.row("index_fill", "in place on a copy (index_fill_)", [fill_columns](const Args& x) {
    const Tensor copy = x[0] * 1.0;
    copy.index_fill_(1, fill_columns, 0.0);
    return copy;
  }, {{{3, 4}}});
  const Tensor along1 = int_index({3, 0, 3, 1, 2, 2}, {3, 2});
  const Tensor along_broadcast = int_index({0, 2, 1}, {1, 3});
  const Tensor flat_positions = int_index({11, 0, 5, 5}, {2, 2});
  rows.row("take_along_dim", "axis 1", [along1](const Args& x) { return take_along_dim(x[0], along1, 1); }, {{{3, 4}}});
  rows.row("take_along_dim", "x [3, 1] and indices [1, 3] broadcast, repeats",
           [along_broadcast](const Args& x) { return take_along_dim(x[0].expand({3, 4}), along_broadcast, 1); }, {{{3, 1}}});
  rows.row("take_along_dim", "indices broadcast over the rows of x [2, 4]",
           [along_broadcast](const Args& x) { return x[0].take_along_dim(along_broadcast, 1); }, {{{2, 4}}});
  rows.row("take_along_dim", "flattened, of a transposed input",
           [flat_positions](const Args& x) { return take_along_dim(x[0].t(), flat_positions); }, {{{4, 3}}});

  second_order.group("issue 13: second order");
  second_order.row("split", "pieces multiplied", [](const Args& x) {
    const std::vector<Tensor> pieces = split(x[0], 2);
    return pieces[0] * pieces[1];
  }, {{{4, 2}}});
  second_order.row("chunk", "of a square", [](const Args& x) { return weighted_cat(chunk(x[0] * x[0], 2, 1), 1); }, {{{2, 4}}});
  second_order.row("unbind", "rows multiplied", [](const Args& x) {
    const std::vector<Tensor> r = unbind(x[0]);
    return r[0] * r[1];
  }, {{{2, 3}}});
  second_order.row("flip", "of a square", [](const Args& x) { return flip(x[0] * x[0], {1}); }, {{{2, 3}}});
  second_order.row("roll", "of a square", [](const Args& x) { return roll(x[0] * x[0], {1, 2}, {0, 1}); }, {{{2, 3}}});
  second_order.row("repeat", "of a square", [](const Args& x) { return repeat(x[0] * x[0], {2, 1, 2}); }, {{{2, 3}}});
  second_order.row("tile", "", [](const Args& x) { return tile(x[0], {2}); }, {{{2, 3}}});
  second_order.row("tril", "of a square", [](const Args& x) { return tril(x[0] * x[0], 1); }, {{{3, 3}}});
  second_order.row("triu", "", [](const Args& x) { return triu(x[0], -1); }, {{{3, 4}}});
  second_order.row("diag", "2-d, of a square", [](const Args& x) { return diag(x[0] * x[0], 1); }, {{{3, 4}}});
  second_order.row("diag", "1-d", [](const Args& x) { return diag(x[0], -1); }, {{{3}}});
  second_order.row("pad", "constant crop and pad", [](const Args& x) { return pad(x[0] * x[0], {1, -1, 2, 0}); }, {{{2, 3}}});
  second_order.row("pad", "reflect, of a square", [](const Args& x) { return pad(x[0] * x[0], {2, 1}, PadMode::reflect); },
                   {{{1, 2, 4}}});
  second_order.row("pad", "replicate", [](const Args& x) { return pad(x[0], {1, 2, 2, 0}, PadMode::replicate); },
                   {{{1, 2, 3}}});
  second_order.row("pad", "circular, of a square", [](const Args& x) { return pad(x[0] * x[0], {1, 2}, PadMode::circular); },
                   {{{1, 1, 3}}});
  second_order.row("pad_backward", "reflect", [](const Args& x) { return detail::pad_backward(x[0], {1, 2, 4}, {2, 1}, PadMode::reflect); },
                   {{{1, 2, 7}}});
  second_order.row("masked_select", "of a square, mask broadcast",
                   [mask4](const Args& x) { return masked_select(x[0] * x[0], mask4); }, {{{2, 4}}});
  second_order.row("index", "of a square", [rows_picked](const Args& x) { return index(x[0] * x[0], {rows_picked}); },
                   {{{3, 2}}});
  second_order.row("index_put", "values squared, repeated rows",
                   [put_rows](const Args& x) { return index_put(x[0], {put_rows}, x[1] * x[1]); }, {{{3, 2}}, {{3, 2}}});
  second_order.row("index_put", "accumulate, of squares",
                   [put_rows](const Args& x) { return index_put(x[0] * x[0], {put_rows}, x[1], true); }, {{{3, 2}}, {{3, 2}}});
  second_order.row("index_fill", "of a square", [fill_columns](const Args& x) { return index_fill(x[0] * x[0], 1, fill_columns, 1.0); },
                   {{{2, 4}}});
  second_order.row("take_along_dim", "of a square", [along1](const Args& x) { return take_along_dim(x[0] * x[0], along1, 1); },
                   {{{3, 4}}});
  second_order.row("take_along_dim", "flattened", [flat_positions](const Args& x) { return take_along_dim(x[0], flat_positions); },
                   {{{3, 4}}});
}

const bool registered = register_rows(&shape_rows);

}  // namespace

}  // namespace gradcheck_table

using namespace gradcheck_table;

TEST_CASE("gradcheck table: split, flip, roll, repeat and triangles (issue 13)", "[autograd][gradcheck]") {
  run_group(build_op_table(), "issue 13: split, flip, roll, repeat, triangles", run_gradcheck);
}

TEST_CASE("gradcheck table: pad and pad_backward (issue 13)", "[autograd][gradcheck]") {
  run_group(build_op_table(), "issue 13: pad", run_gradcheck);
}

TEST_CASE("gradcheck table: masked and advanced indexing (issue 13)", "[autograd][gradcheck]") {
  run_group(build_op_table(), "issue 13: masked and advanced indexing", run_gradcheck);
}

TEST_CASE("gradgradcheck: second derivatives of the shape and indexing ops (issue 13)", "[autograd][gradcheck]") {
  run_group(build_gradgrad_table(), "issue 13: second order", run_gradgradcheck);
}
