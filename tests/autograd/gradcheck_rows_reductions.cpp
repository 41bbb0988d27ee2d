// Gradcheck rows of issue 13's ops: products, norms and deviations, scans, sorting and selection,
// and einsum. Inputs are float64; several axes, keepdim and non-contiguous inputs; points away
// from ties and kinks (sorting and the inf-norm see distinct values, |x|^p for p < 2 sees no 0),
// except where the row is about a zero: prod and cumprod have rows with one and with several exact
// zeros, where their gradient must still be exact (both are polynomial in each element, so central
// differences are exact there too).
#include "gradcheck_table.hpp"

#include <cstdint>
#include <limits>
#include <vector>

namespace gradcheck_table {

namespace {

// normal_values with exact zeros at the given row-major positions.
Sampler with_zeros(std::vector<int64_t> positions) {
  return [positions](const Shape& shape, Generator& generator) {
    kernels::Tensor values = randn(shape, float64, generator).raw();
    double* data = values.data<double>();
    for (int64_t position : positions) data[position] = 0.0;
    return Tensor(values);
  };
}

// |x| all different (0.5, 0.8, 1.1, ... in a random order) with random signs: the inf-norms never
// tie and never sit at 0.
Tensor distinct_magnitudes(const Shape& shape, Generator& generator) {
  const int64_t n = shape_numel(shape);
  const Tensor magnitude = add(mul(randperm(n, generator).to(float64), 0.3), 0.5).reshape(shape);
  const Tensor sign = sub(mul(bernoulli(shape, 0.5, float64, generator), 2.0), 1.0);
  return mul(magnitude, sign);
}

constexpr double kInf = std::numeric_limits<double>::infinity();

void reductions_rows(Table& t, Table& second) {
  const Sampler normal = normal_values;

  // ---------------------------------------------------------------- prod, std, norm
  t.group("issue 13: products, deviations and norms");
  t.row("prod", "all", [](const Args& x) { return prod(x[0]); }, {{{3, 4}}});
  t.row("prod", "all, one zero", [](const Args& x) { return prod(x[0]); }, {{{3, 4}, with_zeros({5})}});
  // Two zeros leave no non-zero partial product: the gradient is exactly 0 (its second derivative is not).
  t.row("prod", "all, two zeros", [](const Args& x) { return prod(x[0]); }, {{{3, 4}, with_zeros({1, 10})}}).zero_gradient =
      true;
  t.row("prod", "all, method, non-contiguous", [](const Args& x) { return x[0].prod(); }, {{{3, 4}, transposed(normal)}});
  t.row("prod", "axis 1", [](const Args& x) { return prod(x[0], 1); }, {{{3, 4}}});
  t.row("prod", "axis 1 keepdim, zeros in two rows", [](const Args& x) { return prod(x[0], 1, true); },
        {{{3, 4}, with_zeros({2, 9})}});
  t.row("prod", "axis 0, two zeros in a column and one in another", [](const Args& x) { return prod(x[0], 0); },
        {{{3, 4}, with_zeros({1, 9, 6})}});
  t.row("prod", "axis -2 of [2,3,4], non-contiguous", [](const Args& x) { return prod(x[0], -2); },
        {{{2, 3, 4}, transposed(normal)}});
  t.row("prod", "of a 0-d tensor", [](const Args& x) { return prod(x[0], 0); }, {{Shape{}}});
  t.row("std", "all", [](const Args& x) { return nabla::std(x[0]); }, {{{3, 4}}});
  t.row("std", "axis 1 keepdim, correction 0", [](const Args& x) { return nabla::std(x[0], {1}, true, 0); }, {{{3, 4}}});
  t.row("std", "axes {0,2}, method", [](const Args& x) { return x[0].std({0, 2}); }, {{{2, 3, 4}}});
  t.row("std", "axis -1, non-contiguous", [](const Args& x) { return nabla::std(x[0], {-1}); }, {{{3, 4}, transposed(normal)}});
  t.row("norm", "p 2, all", [](const Args& x) { return norm(x[0]); }, {{{3, 4}}});
  t.row("norm", "p 2, axis 1 keepdim", [](const Args& x) { return norm(x[0], 2.0, {1}, true); }, {{{3, 4}}});
  t.row("norm", "p 1, axes {0,2}", [](const Args& x) { return norm(x[0], 1.0, {0, 2}); }, {{{2, 3, 4}, away_from_zero}});
  t.row("norm", "p inf, axis 1", [](const Args& x) { return norm(x[0], kInf, {1}); }, {{{3, 4}, distinct_magnitudes}});
  t.row("norm", "p -inf, all, non-contiguous", [](const Args& x) { return norm(x[0], -kInf); },
        {{{3, 4}, transposed(distinct_magnitudes)}});
  t.row("norm", "p 3, axis 0", [](const Args& x) { return norm(x[0], 3.0, {0}); }, {{{3, 4}}});
  t.row("norm", "p 1.5, axis -1 keepdim", [](const Args& x) { return norm(x[0], 1.5, {-1}, true); },
        {{{3, 4}, away_from_zero}});
  t.row("norm", "p 0.5, all", [](const Args& x) { return norm(x[0], 0.5); }, {{{3, 4}, away_from_zero}});
  t.row("norm", "p -1, axis 1", [](const Args& x) { return norm(x[0], -1.0, {1}); }, {{{3, 4}, away_from_zero}});
  t.row("norm", "fro, axes {0,1} of [2,3,4]", [](const Args& x) { return norm(x[0], "fro", {0, 1}); }, {{{2, 3, 4}}});
  t.row("norm", "method, p 2, non-contiguous", [](const Args& x) { return x[0].norm(2.0, {0}); }, {{{3, 4}, transposed(normal)}});
  t.row("norm", "p 0 (a count)", [](const Args& x) { return norm(x[0], 0.0, {1}); }, {{{3, 4}, away_from_zero}}).zero_gradient =
      true;

  // ---------------------------------------------------------------- scans
  t.group("issue 13: scans");
  t.row("cumsum", "axis 1", [](const Args& x) { return cumsum(x[0], 1); }, {{{3, 4}}});
  t.row("cumsum", "axis 0", [](const Args& x) { return cumsum(x[0], 0); }, {{{3, 4}}});
  t.row("cumsum", "axis 1 of [2,3,4], method", [](const Args& x) { return x[0].cumsum(1); }, {{{2, 3, 4}}});
  t.row("cumsum", "axis -1, non-contiguous", [](const Args& x) { return cumsum(x[0], -1); }, {{{3, 4}, transposed(normal)}});
  t.row("reverse_cumsum", "axis 1", [](const Args& x) { return detail::reverse_cumsum(x[0], 1); }, {{{3, 4}}});
  t.row("reverse_cumsum", "axis 0 of [3,2,2]", [](const Args& x) { return detail::reverse_cumsum(x[0], 0); }, {{{3, 2, 2}}});
  t.row("cumprod", "axis 1", [](const Args& x) { return cumprod(x[0], 1); }, {{{3, 4}}});
  t.row("cumprod", "axis 0 of [3,2,2], method", [](const Args& x) { return x[0].cumprod(0); }, {{{3, 2, 2}}});
  t.row("cumprod", "axis 1, one zero per row", [](const Args& x) { return cumprod(x[0], 1); },
        {{{3, 4}, with_zeros({1, 4, 11})}});
  t.row("cumprod", "axis 1, two zeros in a row", [](const Args& x) { return cumprod(x[0], 1); },
        {{{2, 5}, with_zeros({1, 3, 9})}});
  t.row("cumprod", "axis -1, non-contiguous", [](const Args& x) { return cumprod(x[0], -1); }, {{{3, 4}, transposed(normal)}});

  // ---------------------------------------------------------------- sorting and selection
  t.group("issue 13: sorting");
  t.row("sort", "axis 1", [](const Args& x) { return sort(x[0], 1).values; }, {{{3, 4}, distinct}});
  t.row("sort", "axis 0, descending", [](const Args& x) { return sort(x[0], 0, true).values; }, {{{3, 4}, distinct}});
  t.row("sort", "axis 1 of [2,3,4], method, stable", [](const Args& x) { return x[0].sort(1, false, true).values; },
        {{{2, 3, 4}, distinct}});
  t.row("sort", "non-contiguous", [](const Args& x) { return sort(x[0]).values; }, {{{3, 4}, transposed(distinct)}});
  t.row("topk", "2 largest along axis 1", [](const Args& x) { return topk(x[0], 2, 1).values; }, {{{3, 5}, distinct}});
  t.row("topk", "3 smallest along axis 0, unsorted", [](const Args& x) { return topk(x[0], 3, 0, false, false).values; },
        {{{4, 3}, distinct}});
  t.row("topk", "method, non-contiguous", [](const Args& x) { return x[0].topk(1).values; }, {{{3, 4}, transposed(distinct)}});
  t.row("kthvalue", "k 2 along axis 1", [](const Args& x) { return kthvalue(x[0], 2, 1).values; }, {{{3, 4}, distinct}});
  t.row("kthvalue", "k 3 along axis 0, keepdim", [](const Args& x) { return kthvalue(x[0], 3, 0, true).values; },
        {{{4, 3}, distinct}});
  t.row("median", "all elements", [](const Args& x) { return median(x[0]); }, {{{3, 4}, distinct}});
  t.row("median", "all elements, method, non-contiguous", [](const Args& x) { return x[0].median(); },
        {{{3, 5}, transposed(distinct)}});
  t.row("median", "axis 1", [](const Args& x) { return median(x[0], 1).values; }, {{{3, 4}, distinct}});
  t.row("median", "axis 0 keepdim of [3,2,2]", [](const Args& x) { return median(x[0], 0, true).values; },
        {{{3, 2, 2}, distinct}});
  // Distinct values are each as frequent as the others, so the mode is the smallest.
  t.row("mode", "axis 1 (distinct values)", [](const Args& x) { return mode(x[0], 1).values; }, {{{3, 4}, distinct}});
  t.row("mode", "axis 0 keepdim, method", [](const Args& x) { return x[0].mode(0, true).values; }, {{{3, 4}, distinct}});

  // ---------------------------------------------------------------- einsum
  t.group("issue 13: einsum");
  t.row("einsum", "ij,jk->ik", [](const Args& x) { return einsum("ij,jk->ik", {x[0], x[1]}); }, {{{3, 4}}, {{4, 2}}});
  t.row("einsum", "bij,bjk->bik, non-contiguous", [](const Args& x) { return einsum("bij,bjk->bik", {x[0], x[1]}); },
        {{{2, 3, 4}, transposed(normal)}, {{2, 4, 2}, transposed(normal)}});
  t.row("einsum", "bij,bkj->bki (permuted output)", [](const Args& x) { return einsum("bij,bkj->bki", {x[0], x[1]}); },
        {{{2, 3, 4}}, {{2, 2, 4}}});
  t.row("einsum", "ii->i (diagonal)", [](const Args& x) { return einsum("ii->i", {x[0]}); }, {{{3, 3}}});
  t.row("einsum", "ii (trace)", [](const Args& x) { return einsum("ii", {x[0]}); }, {{{3, 3}}});
  t.row("einsum", "iji->j (diagonal of axes 0 and 2, summed)", [](const Args& x) { return einsum("iji->j", {x[0]}); },
        {{{3, 2, 3}}});
  t.row("einsum", "ij->ji", [](const Args& x) { return einsum("ij->ji", {x[0]}); }, {{{3, 4}}});
  t.row("einsum", "ij->i (a sum)", [](const Args& x) { return einsum("ij->i", {x[0]}); }, {{{3, 4}}});
  t.row("einsum", "i,i-> (dot)", [](const Args& x) { return einsum("i,i->", {x[0], x[1]}); }, {{{4}}, {{4}}});
  t.row("einsum", "i,j->ij (outer)", [](const Args& x) { return einsum("i,j->ij", {x[0], x[1]}); }, {{{3}}, {{4}}});
  t.row("einsum", "bi,bi->b (batched dot)", [](const Args& x) { return einsum("bi,bi->b", {x[0], x[1]}); },
        {{{3, 4}}, {{3, 4}}});
  t.row("einsum", "...ij,...jk broadcast batch", [](const Args& x) { return einsum("...ij,...jk", {x[0], x[1]}); },
        {{{2, 1, 3, 4}}, {{3, 4, 2}}});
  t.row("einsum", "ij,ij->ij with a size-1 axis broadcast", [](const Args& x) { return einsum("ij,ij->ij", {x[0], x[1]}); },
        {{{3, 1}}, {{3, 4}}});
  t.row("einsum", "ij,jk->ik contracting a size-1 axis", [](const Args& x) { return einsum("ij,jk->ik", {x[0], x[1]}); },
        {{{3, 1}}, {{4, 2}}});
  t.row("einsum", "ij,jk,kl->il (three operands)", [](const Args& x) { return einsum("ij,jk,kl->il", {x[0], x[1], x[2]}); },
        {{{2, 3}}, {{3, 4}}, {{4, 2}}});
  t.row("einsum", "bn,anm,bm->ba (bilinear)", [](const Args& x) { return einsum("bn,anm,bm->ba", {x[0], x[1], x[2]}); },
        {{{2, 3}}, {{4, 3, 2}}, {{2, 2}}});
  t.row("einsum", "implicit output ij,jk", [](const Args& x) { return einsum("ij,jk", {x[0], x[1]}); }, {{{2, 3}}, {{3, 4}}});

  // ---------------------------------------------------------------- second derivatives
  second.group("issue 13: gradgradcheck");
  second.row("prod", "all", [](const Args& x) { return prod(x[0]); }, {{{2, 3}}});
  second.row("prod", "all, one zero", [](const Args& x) { return prod(x[0]); }, {{{2, 3}, with_zeros({4})}});
  second.row("prod", "all, two zeros", [](const Args& x) { return prod(x[0]); }, {{{2, 3}, with_zeros({0, 4})}});
  second.row("prod", "axis 1, zeros", [](const Args& x) { return prod(x[0], 1); }, {{{2, 4}, with_zeros({1, 5, 6})}});
  second.row("std", "axis 1", [](const Args& x) { return nabla::std(x[0], {1}); }, {{{2, 3}}});
  second.row("norm", "p 2", [](const Args& x) { return norm(x[0], 2.0, {1}); }, {{{2, 3}}});
  second.row("norm", "p 3", [](const Args& x) { return norm(x[0], 3.0); }, {{{2, 3}}});
  second.row("norm", "p 1.5", [](const Args& x) { return norm(x[0], 1.5, {0}); }, {{{2, 3}, away_from_zero}});
  second.row("norm", "p 0.5", [](const Args& x) { return norm(x[0], 0.5); }, {{{2, 3}, away_from_zero}});
  second.row("norm", "p inf", [](const Args& x) { return norm(x[0], kInf, {1}); }, {{{2, 3}, distinct_magnitudes}});
  second.row("cumsum", "of a square", [](const Args& x) { return cumsum(x[0] * x[0], 1); }, {{{2, 3}}});
  second.row("reverse_cumsum", "of a square", [](const Args& x) { return detail::reverse_cumsum(x[0] * x[0], 0); },
             {{{2, 3}}});
  second.row("cumprod", "axis 1", [](const Args& x) { return cumprod(x[0], 1); }, {{{2, 4}}});
  second.row("cumprod", "axis 1, zeros", [](const Args& x) { return cumprod(x[0], 1); }, {{{2, 4}, with_zeros({1, 5, 6})}});
  second.row("sort", "of a square", [](const Args& x) { return sort(x[0] * x[0], 1).values; }, {{{2, 3}, positive}});
  second.row("topk", "", [](const Args& x) { return topk(x[0], 2).values; }, {{{2, 4}, distinct}});
  second.row("kthvalue", "", [](const Args& x) { return kthvalue(x[0], 2).values; }, {{{2, 4}, distinct}});
  second.row("median", "all elements", [](const Args& x) { return median(x[0]); }, {{{2, 3}, distinct}});
  second.row("median", "axis 1", [](const Args& x) { return median(x[0], 1).values; }, {{{2, 3}, distinct}});
  second.row("mode", "", [](const Args& x) { return mode(x[0]).values; }, {{{2, 3}, distinct}});
  second.row("einsum", "ij,jk->ik", [](const Args& x) { return einsum("ij,jk->ik", {x[0], x[1]}); }, {{{2, 3}}, {{3, 2}}});
  second.row("einsum", "bij,bjk->bik", [](const Args& x) { return einsum("bij,bjk->bik", {x[0], x[1]}); },
             {{{2, 2, 3}}, {{2, 3, 2}}});
  second.row("einsum", "ii->i of a square", [](const Args& x) { return einsum("ii->i", {x[0] * x[0]}); }, {{{3, 3}}});
  second.row("einsum", "ij,ji-> (trace of a product)", [](const Args& x) { return einsum("ij,ji->", {x[0], x[1]}); },
             {{{2, 3}}, {{3, 2}}});
}

const bool registered = register_rows(&reductions_rows);

}  // namespace

}  // namespace gradcheck_table

using namespace gradcheck_table;

TEST_CASE("gradcheck table: prod, std and norm (issue 13)", "[autograd][gradcheck]") {
  run_group(build_op_table(), "issue 13: products, deviations and norms", run_gradcheck);
}

TEST_CASE("gradcheck table: cumsum and cumprod (issue 13)", "[autograd][gradcheck]") {
  run_group(build_op_table(), "issue 13: scans", run_gradcheck);
}

TEST_CASE("gradcheck table: sort, topk, kthvalue, median and mode (issue 13)", "[autograd][gradcheck]") {
  run_group(build_op_table(), "issue 13: sorting", run_gradcheck);
}

TEST_CASE("gradcheck table: einsum (issue 13)", "[autograd][gradcheck]") {
  run_group(build_op_table(), "issue 13: einsum", run_gradcheck);
}

TEST_CASE("gradgradcheck: second derivatives of reductions, scans, sorting and einsum (issue 13)", "[autograd][gradcheck]") {
  run_group(build_gradgrad_table(), "issue 13: gradgradcheck", run_gradgradcheck);
}
