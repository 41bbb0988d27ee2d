// Gradcheck rows of the element-wise math of issue 13 that pointwise.def does not describe (its
// entries — sin, cos, ..., frac — get rows from the table itself): atan2, fmod, remainder and
// nan_to_num, with broadcasting, non-contiguous inputs, scalar operands and second derivatives.
#include "gradcheck_table.hpp"

#include <limits>

namespace gradcheck_table {

namespace {

// In [-4, 4): dividends whose quotients by away_from_zero divisors (|y| in [0.5, 2]) cross several
// integers, so that the divisor's gradient -grad * trunc/floor(x / y) takes several values.
Tensor dividends(const Shape& shape, Generator& generator) { return uniform(shape, -4.0, 4.0, float64, generator); }

// Normal values with NaN, +inf and -inf in every fifth, seventh and eleventh place: nan_to_num's
// replaced elements. A step of +-eps leaves them as they are, so the numeric gradient there is
// 0, as the analytic one must be.
Tensor with_non_finite(const Shape& shape, Generator& generator) {
  const int64_t n = shape_numel(shape);
  std::vector<double> values = randn({n}, float64, generator).to_vector<double>();
  for (int64_t i = 0; i < n; ++i) {
    if (i % 5 == 1) values[static_cast<size_t>(i)] = std::numeric_limits<double>::quiet_NaN();
    if (i % 7 == 3) values[static_cast<size_t>(i)] = std::numeric_limits<double>::infinity();
    if (i % 11 == 6) values[static_cast<size_t>(i)] = -std::numeric_limits<double>::infinity();
  }
  return from_vector(values, shape);
}

void math_rows(Table& rows, Table& second_order) {
  const Sampler normal = normal_values;
  Table& t = rows;
  t.group("math");
  t.row("atan2", "same shape", [](const Args& x) { return atan2(x[0], x[1]); }, {{{3, 4}}, {{3, 4}, away_from_zero}});
  t.row("atan2", "broadcast [3,1] with [4]", [](const Args& x) { return atan2(x[0], x[1]); },
        {{{3, 1}}, {{4}, away_from_zero}});
  t.row("atan2", "method, non-contiguous input tensors", [](const Args& x) { return x[0].atan2(x[1]); },
        {{{3, 4}, transposed(normal)}, {{3, 4}, transposed(away_from_zero)}});
  t.row("fmod", "same shape", [](const Args& x) { return fmod(x[0], x[1]); }, {{{3, 4}, dividends}, {{3, 4}, away_from_zero}});
  t.row("fmod", "broadcast [2,3] with [3]", [](const Args& x) { return fmod(x[0], x[1]); },
        {{{2, 3}, dividends}, {{3}, away_from_zero}});
  t.row("fmod", "broadcast [3] with [2,1]", [](const Args& x) { return fmod(x[0], x[1]); },
        {{{3}, dividends}, {{2, 1}, away_from_zero}});
  t.row("fmod", "method, non-contiguous input tensors", [](const Args& x) { return x[0].fmod(x[1]); },
        {{{3, 4}, transposed(dividends)}, {{3, 4}, transposed(away_from_zero)}});
  t.row("fmod", "scalar divisor", [](const Args& x) { return fmod(x[0], 1.5); }, {{{3, 4}, dividends}});
  t.row("fmod", "method, scalar divisor", [](const Args& x) { return x[0].fmod(-0.75); }, {{{3, 4}, dividends}});
  t.row("remainder", "same shape", [](const Args& x) { return remainder(x[0], x[1]); },
        {{{3, 4}, dividends}, {{3, 4}, away_from_zero}});
  t.row("remainder", "broadcast [2,3] with [3]", [](const Args& x) { return remainder(x[0], x[1]); },
        {{{2, 3}, dividends}, {{3}, away_from_zero}});
  t.row("remainder", "broadcast [4,1] with [3]", [](const Args& x) { return remainder(x[1], x[0]); },
        {{{4, 1}, away_from_zero}, {{3}, dividends}});
  t.row("remainder", "method, non-contiguous input tensors", [](const Args& x) { return x[0].remainder(x[1]); },
        {{{3, 4}, transposed(dividends)}, {{3, 4}, transposed(away_from_zero)}});
  t.row("remainder", "scalar divisor", [](const Args& x) { return remainder(x[0], 1.5); }, {{{3, 4}, dividends}});
  t.row("remainder", "method, negative scalar divisor", [](const Args& x) { return x[0].remainder(-0.75); },
        {{{3, 4}, dividends}});
  t.row("remainder", "scalar dividend", [](const Args& x) { return remainder(3.5, x[0]); }, {{{3, 4}, away_from_zero}});
  t.row("nan_to_num", "finite input", [](const Args& x) { return nan_to_num(x[0]); }, {{{3, 4}}});
  t.row("nan_to_num", "NaN and infinities get no gradient", [](const Args& x) { return nan_to_num(x[0], 1.0, 2.0, -2.0); },
        {{{4, 6}, with_non_finite}});
  t.row("nan_to_num", "method, non-contiguous, default replacements", [](const Args& x) { return x[0].nan_to_num(); },
        {{{4, 6}, transposed(with_non_finite)}});
  // Small replacements: the product's other gradient, nan_to_num(x), stays finite under +-eps.
  t.row("nan_to_num", "composed: the gradient flows on through finite elements",
        [](const Args& x) { return nan_to_num(x[0], 0.0, 3.0, -3.0) * x[1]; }, {{{3, 5}, with_non_finite}, {{3, 5}}});

  Table& g = second_order;
  g.group("math, second order");
  g.row("atan2", "broadcast [2,3] with [3]", [](const Args& x) { return atan2(x[0], x[1]); },
        {{{2, 3}}, {{3}, away_from_zero}});
  g.row("fmod", "", [](const Args& x) { return fmod(x[0], x[1]); }, {{{2, 3}, dividends}, {{2, 3}, away_from_zero}});
  g.row("fmod", "of a product, scalar divisor", [](const Args& x) { return fmod(x[0] * x[0], 1.25); }, {{{2, 3}, dividends}});
  g.row("remainder", "broadcast [2,3] with [3]", [](const Args& x) { return remainder(x[0], x[1]); },
        {{{2, 3}, dividends}, {{3}, away_from_zero}});
  g.row("remainder", "scalar dividend", [](const Args& x) { return remainder(2.5, x[0]); }, {{{2, 3}, away_from_zero}});
  g.row("nan_to_num", "with NaN and infinities, times another input",
        [](const Args& x) { return nan_to_num(x[0], 0.0, 3.0, -3.0) * x[1]; }, {{{2, 6}, with_non_finite}, {{2, 6}}});
}

const bool registered = register_rows(&math_rows);

}  // namespace

}  // namespace gradcheck_table

using namespace gradcheck_table;

TEST_CASE("gradcheck table: math (atan2, fmod, remainder, nan_to_num)", "[autograd][gradcheck]") {
  run_group(build_op_table(), "math", run_gradcheck);
}

TEST_CASE("gradgradcheck: math (atan2, fmod, remainder, nan_to_num)", "[autograd][gradcheck]") {
  run_group(build_gradgrad_table(), "math, second order", run_gradgradcheck);
}
