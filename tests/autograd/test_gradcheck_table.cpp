// The gradcheck table: every differentiable op in nabla/autograd/functions.hpp, checked against
// central differences in float64 (STYLE.md practice 6). One row per (op, case): the function, the
// input shapes, where the inputs are sampled (away from the op's kinks) and the tolerance. Each
// row also asserts that the gradient is not all zeros, so a check cannot pass because both sides
// were zero. Adding an op to functions.hpp means adding rows here; the coverage test below fails
// until you do.
#include "gradcheck_table.hpp"

#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace gradcheck_table {

namespace {
Tensor int_index(std::initializer_list<double> values, const Shape& shape = {}) { return tensor(values, shape, int64); }

std::vector<OpCase> core_rows() {
  Table t;
  const Sampler normal = normal_values;

  // ---------------------------------------------------------------- element-wise
  t.group("element-wise");
  t.row("add", "same shape", [](const Args& x) { return add(x[0], x[1]); }, {{{3, 4}}, {{3, 4}}});
  t.row("add", "broadcast [3,1,4] + [2,4]", [](const Args& x) { return add(x[0], x[1]); }, {{{3, 1, 4}}, {{2, 4}}});
  t.row("add", "transposed operand", [](const Args& x) { return add(x[0].t(), x[1]); }, {{{4, 3}}, {{3, 4}}});
  t.row("add", "non-contiguous input tensors", [](const Args& x) { return add(x[0], x[1]); },
        {{{3, 4}, transposed(normal)}, {{3, 4}, transposed(normal)}});
  t.row("add", "same variable twice", [](const Args& x) { return x[0] + x[0]; }, {{{2, 3}}});
  t.row("add", "scalar right", [](const Args& x) { return add(x[0], 2.5); }, {{{3, 4}}});
  t.row("add", "scalar left (operator)", [](const Args& x) { return 2.5 + x[0]; }, {{{3, 4}}});
  t.row("sub", "broadcast [3,4] - [4]", [](const Args& x) { return sub(x[0], x[1]); }, {{{3, 4}}, {{4}}});
  t.row("sub", "broadcast [4] - [3,1]", [](const Args& x) { return x[0] - x[1]; }, {{{4}}, {{3, 1}}});
  t.row("sub", "scalar right", [](const Args& x) { return sub(x[0], 2.5); }, {{{3, 4}}});
  t.row("sub", "scalar left", [](const Args& x) { return sub(2.5, x[0]); }, {{{3, 4}}});
  t.row("mul", "same shape", [](const Args& x) { return mul(x[0], x[1]); }, {{{3, 4}}, {{3, 4}}});
  t.row("mul", "broadcast [4,1] * [3]", [](const Args& x) { return mul(x[0], x[1]); }, {{{4, 1}}, {{3}}});
  t.row("mul", "same variable twice", [](const Args& x) { return x[0] * x[0]; }, {{{2, 3}}});
  t.row("mul", "transposed operand", [](const Args& x) { return mul(x[0], x[1].t()); }, {{{2, 3}}, {{3, 2}}});
  t.row("mul", "scalar right", [](const Args& x) { return mul(x[0], -1.5); }, {{{3, 4}}});
  t.row("mul", "scalar left (operator)", [](const Args& x) { return -1.5 * x[0]; }, {{{3, 4}}});
  t.row("div", "same shape", [](const Args& x) { return div(x[0], x[1]); }, {{{3, 4}}, {{3, 4}, away_from_zero}});
  t.row("div", "broadcast [2,3] / [3]", [](const Args& x) { return div(x[0], x[1]); },
        {{{2, 3}}, {{3}, away_from_zero}});
  t.row("div", "broadcast [3] / [2,1,3]", [](const Args& x) { return x[0] / x[1]; },
        {{{3}}, {{2, 1, 3}, away_from_zero}});
  t.row("div", "scalar right", [](const Args& x) { return div(x[0], 2.5); }, {{{3, 4}}});
  t.row("div", "scalar left", [](const Args& x) { return div(2.5, x[0]); }, {{{3, 4}, away_from_zero}});
  t.row("div", "scalar left (operator)", [](const Args& x) { return 2.5 / x[0]; }, {{{3, 4}, away_from_zero}});
  t.row("pow", "tensor ^ tensor", [](const Args& x) { return pow(x[0], x[1]); }, {{{3, 4}, positive}, {{3, 4}, exponents}});
  t.row("pow", "broadcast [3,1] ^ [1,4]", [](const Args& x) { return pow(x[0], x[1]); },
        {{{3, 1}, positive}, {{1, 4}, exponents}});
  const Tensor constant_exponents(tensor({0.5, 2.0, -1.0}, {}, float64));
  t.row("pow", "tensor ^ constant tensor", [constant_exponents](const Args& x) { return pow(x[0], constant_exponents); },
        {{{2, 3}, positive}});
  const Tensor constant_bases(tensor({0.5, 2.0, 3.0}, {}, float64));
  t.row("pow", "constant tensor ^ tensor", [constant_bases](const Args& x) { return pow(constant_bases, x[0]); },
        {{{2, 3}}});
  t.row("pow", "scalar exponent 3", [](const Args& x) { return pow(x[0], 3.0); }, {{{3, 4}}});
  t.row("pow", "scalar exponent 2", [](const Args& x) { return pow(x[0], 2.0); }, {{{3, 4}}});
  t.row("pow", "scalar exponent 1", [](const Args& x) { return pow(x[0], 1.0); }, {{{3, 4}}});
  t.row("pow", "scalar exponent 0.5", [](const Args& x) { return pow(x[0], 0.5); }, {{{3, 4}, positive}});
  t.row("pow", "scalar exponent -1.5", [](const Args& x) { return pow(x[0], -1.5); }, {{{3, 4}, positive}});
  t.row("pow", "scalar exponent 0", [](const Args& x) { return pow(x[0], 0.0); }, {{{3, 4}}}).zero_gradient = true;
  t.row("maximum", "same shape", [](const Args& x) { return maximum(x[0], x[1]); },
        {{{3, 4}, away_from_zero}, {{3, 4}, near_zero}});
  t.row("maximum", "broadcast [2,3] with [3]", [](const Args& x) { return maximum(x[1], x[0]); },
        {{{2, 3}, away_from_zero}, {{3}, near_zero}});
  t.row("minimum", "same shape", [](const Args& x) { return minimum(x[0], x[1]); },
        {{{3, 4}, away_from_zero}, {{3, 4}, near_zero}});
  t.row("minimum", "broadcast [3,1] with [4]", [](const Args& x) { return minimum(x[0], x[1]); },
        {{{3, 1}, near_zero}, {{4}, away_from_zero}});
  // A scalar bound of 0 with inputs |x| >= 0.5: never a tie.
  t.row("maximum", "scalar 0", [](const Args& x) { return maximum(x[0], 0.0); }, {{{3, 4}, away_from_zero}});
  t.row("minimum", "scalar 0", [](const Args& x) { return minimum(x[0], 0.0); }, {{{3, 4}, away_from_zero}});
  t.row("neg", "", [](const Args& x) { return neg(x[0]); }, {{{3, 4}}});
  t.row("neg", "operator", [](const Args& x) { return -x[0]; }, {{{3, 4}}});
  // The point-wise ops of pointwise.def: a row each from their entry (its domain), on a contiguous
  // and on a transposed (non-contiguous) input.
#define NABLA_POINTWISE_ROWS(name, domain)                                                                   \
  t.row(#name, "pointwise.def", [](const Args& x) { return name(x[0]); }, {{{3, 4}, domain}});              \
  t.row(#name, "pointwise.def, non-contiguous input", [](const Args& x) { return name(x[0]); },            \
        {{{3, 4}, transposed(domain)}});
#define NABLA_POINTWISE_SELF(name, dtypes, forward, vector_kernel, derivative, domain) NABLA_POINTWISE_ROWS(name, domain)
#define NABLA_POINTWISE_RESULT(name, dtypes, forward, vector_kernel, derivative, domain) NABLA_POINTWISE_ROWS(name, domain)
#define NABLA_POINTWISE_NO_GRAD(name, dtypes, forward, domain)                                               \
  t.row(#name, "pointwise.def", [](const Args& x) { return name(x[0]); }, {{{3, 4}, domain}}).zero_gradient = true;
#include "nabla/tensor/pointwise.def"
#undef NABLA_POINTWISE_ROWS
  t.row("exp", "strided slice inside", [](const Args& x) { return exp(slice(x[0], 1, 0, 5, 2)); }, {{{3, 5}}});
  t.row("log", "transposed inside", [](const Args& x) { return log(x[0].t()); }, {{{3, 4}, positive}});
  t.row("abs", "transposed inside", [](const Args& x) { return abs(transpose(x[0], 0, 1)); }, {{{3, 4}, away_from_zero}});
  const Tensor relu_output = tensor({0.5, 0.0, 1.5, 0.0, 2.0, 0.25}, {2, 3}, float64);
  t.row("sigmoid_backward", "", [](const Args& x) { return detail::sigmoid_backward(x[0], x[1]); },
        {{{2, 3}}, {{2, 3}, positive}});
  t.row("relu_backward", "mask from a fixed output",
        [relu_output](const Args& x) { return detail::relu_backward(x[0], relu_output); }, {{{2, 3}}});
  t.row("relu", "transposed inside", [](const Args& x) { return relu(x[0].t()); }, {{{3, 4}, away_from_zero}});
  t.row("clamp", "", [](const Args& x) { return clamp(x[0], -1.0, 1.0); }, {{{4, 5}, away_from_unit_bounds}});
  t.row("clamp", "one-sided", [](const Args& x) { return clamp(x[0], -1.0, 1e300); }, {{{4, 5}, away_from_unit_bounds}});
  t.row("clamp_min", "", [](const Args& x) { return clamp_min(x[0], -1.0); }, {{{4, 5}, away_from_unit_bounds}});
  t.row("clamp_max", "method, transposed", [](const Args& x) { return x[0].t().clamp_max(1.0); },
        {{{4, 5}, away_from_unit_bounds}});
  const Tensor fill_mask = tensor({1, 0, 0, 1}, {4}, uint8);
  t.row("masked_fill", "mask broadcast over rows", [fill_mask](const Args& x) { return masked_fill(x[0], fill_mask, 7.0); },
        {{{3, 4}}});
  t.row("masked_fill", "method, non-contiguous input", [fill_mask](const Args& x) { return x[0].t().masked_fill(fill_mask, -1.0); },
        {{{4, 3}}});
  const Tensor mask23 = tensor({1, 0, 1, 1, 0, 0}, {2, 3}, bool_);
  t.row("where", "same shape", [mask23](const Args& x) { return where(mask23, x[0], x[1]); }, {{{2, 3}}, {{2, 3}}});
  const Tensor mask3 = tensor({0, 1, 1}, {3}, bool_);
  t.row("where", "broadcast mask [3], a [2,3], b [1]", [mask3](const Args& x) { return where(mask3, x[0], x[1]); },
        {{{2, 3}}, {{1}}});

  // ---------------------------------------------------------------- reductions
  t.group("reductions");
  t.row("sum", "all", [](const Args& x) { return sum(x[0]); }, {{{3, 4}}});
  t.row("sum", "axis 1", [](const Args& x) { return sum(x[0], {1}); }, {{{3, 4}}});
  t.row("sum", "axes {0,2} keepdim", [](const Args& x) { return sum(x[0], {0, 2}, true); }, {{{2, 3, 4}}});
  t.row("sum", "axis -1 of a transposed view", [](const Args& x) { return sum(x[0].t(), {-1}); }, {{{3, 4}}});
  t.row("mean", "all", [](const Args& x) { return mean(x[0]); }, {{{3, 4}}});
  t.row("mean", "axis 0 keepdim", [](const Args& x) { return mean(x[0], {0}, true); }, {{{3, 4}}});
  t.row("mean", "axes {-1,0}", [](const Args& x) { return mean(x[0], {-1, 0}); }, {{{2, 3, 4}}});
  t.row("var", "all", [](const Args& x) { return var(x[0]); }, {{{3, 4}}});
  t.row("var", "axis 1, correction 0, keepdim", [](const Args& x) { return var(x[0], {1}, true, 0); }, {{{3, 4}}});
  t.row("var", "axes {0,2}", [](const Args& x) { return var(x[0], {0, 2}); }, {{{2, 3, 4}}});
  t.row("logsumexp", "all", [](const Args& x) { return logsumexp(x[0]); }, {{{3, 4}}});
  t.row("logsumexp", "axis 1", [](const Args& x) { return logsumexp(x[0], {1}); }, {{{3, 4}}});
  t.row("logsumexp", "axis 0 keepdim, transposed", [](const Args& x) { return logsumexp(x[0].t(), {0}, true); },
        {{{3, 4}}});
  t.row("amax", "all", [](const Args& x) { return amax(x[0]); }, {{{3, 4}, distinct}});
  t.row("amax", "axis 1", [](const Args& x) { return amax(x[0], {1}); }, {{{3, 4}, distinct}});
  t.row("amax", "axes {0,2} keepdim", [](const Args& x) { return amax(x[0], {0, 2}, true); }, {{{2, 3, 4}, distinct}});
  t.row("amin", "all", [](const Args& x) { return amin(x[0]); }, {{{3, 4}, distinct}});
  t.row("amin", "axis 0", [](const Args& x) { return amin(x[0], {0}); }, {{{3, 4}, distinct}});
  t.row("max", "axis 1 values", [](const Args& x) { return max(x[0], 1).values; }, {{{3, 4}, distinct}});
  t.row("max", "all elements", [](const Args& x) { return max(x[0]); }, {{{3, 4}, distinct}});
  t.row("min", "all elements, method", [](const Args& x) { return x[0].min(); }, {{{3, 4}, distinct}});
  t.row("max", "axis 0 keepdim values", [](const Args& x) { return max(x[0], 0, true).values; }, {{{3, 4}, distinct}});
  t.row("max", "axis -1 of [2,3,4], transposed", [](const Args& x) { return max(transpose(x[0], 0, 2), -1).values; },
        {{{2, 3, 4}, distinct}});
  t.row("min", "axis -1 values", [](const Args& x) { return min(x[0], -1).values; }, {{{3, 4}, distinct}});
  t.row("min", "axis 1 keepdim of [2,3,4]", [](const Args& x) { return min(x[0], 1, true).values; },
        {{{2, 3, 4}, distinct}});
  t.row("sum_to", "[3,4] -> [4]", [](const Args& x) { return sum_to(x[0], {4}); }, {{{3, 4}}});
  t.row("sum_to", "[2,3,4] -> [3,1]", [](const Args& x) { return sum_to(x[0], {3, 1}); }, {{{2, 3, 4}}});
  t.row("sum_to", "[3,4] -> [1,1]", [](const Args& x) { return sum_to(x[0], {1, 1}); }, {{{3, 4}}});
  t.row("softmax", "axis 1", [](const Args& x) { return softmax(x[0], 1); }, {{{3, 4}}});
  t.row("softmax", "axis 0", [](const Args& x) { return softmax(x[0], 0); }, {{{3, 4}}});
  t.row("softmax", "axis 1 of [2,3,4]", [](const Args& x) { return softmax(x[0], 1); }, {{{2, 3, 4}}});
  t.row("log_softmax", "axis 1", [](const Args& x) { return log_softmax(x[0], 1); }, {{{3, 4}}});
  t.row("log_softmax", "axis -1 of a transposed view", [](const Args& x) { return log_softmax(x[0].t(), -1); },
        {{{3, 4}}});

  // ---------------------------------------------------------------- shapes and views
  t.group("views");
  t.row("reshape", "[3,4] -> [2,6]", [](const Args& x) { return reshape(x[0], {2, 6}); }, {{{3, 4}}});
  t.row("reshape", "-1 of a transposed view (copies)", [](const Args& x) { return x[0].t().reshape({-1}); }, {{{3, 4}}});
  t.row("view", "[3,4] -> [2,2,3]", [](const Args& x) { return view(x[0], {2, 2, 3}); }, {{{3, 4}}});
  t.row("view", "method, -1", [](const Args& x) { return x[0].view({4, -1}); }, {{{3, 4}}});
  t.row("flatten", "all", [](const Args& x) { return flatten(x[0]); }, {{{2, 3, 2}}});
  t.row("flatten", "from axis 1", [](const Args& x) { return x[0].flatten(1); }, {{{2, 3, 2}}});
  t.row("transpose", "axes 0, 2", [](const Args& x) { return transpose(x[0], 0, 2); }, {{{2, 3, 4}}});
  t.row("transpose", "t() then exp", [](const Args& x) { return exp(x[0].t()); }, {{{3, 4}}});
  t.row("permute", "{2,0,1}", [](const Args& x) { return permute(x[0], {2, 0, 1}); }, {{{2, 3, 4}}});
  t.row("permute", "then mul (non-contiguous operands)", [](const Args& x) { return mul(x[0].permute({1, 0, 2}), x[1]); },
        {{{3, 2, 2}}, {{2, 3, 2}}});
  t.row("squeeze", "all", [](const Args& x) { return squeeze(x[0]); }, {{{1, 3, 1, 2}}});
  t.row("squeeze", "axis 2", [](const Args& x) { return squeeze(x[0], 2); }, {{{1, 3, 1, 2}}});
  t.row("unsqueeze", "axis 1", [](const Args& x) { return unsqueeze(x[0], 1); }, {{{3, 4}}});
  t.row("unsqueeze", "axis -1", [](const Args& x) { return x[0].unsqueeze(-1); }, {{{3, 4}}});
  t.row("slice", "axis 1, step 2", [](const Args& x) { return slice(x[0], 1, 0, 5, 2); }, {{{3, 5}}});
  t.row("slice", "axis 0, [1, 3)", [](const Args& x) { return x[0].slice(0, 1, 3); }, {{{4, 2}}});
  t.row("slice", "end clamped, step 3", [](const Args& x) { return slice(x[0], -1, 1, 100, 3); }, {{{2, 5}}});
  t.row("narrow", "axis 1", [](const Args& x) { return narrow(x[0], 1, 1, 3); }, {{{3, 5}}});
  t.row("narrow", "negative start", [](const Args& x) { return narrow(x[0], 0, -2, 2); }, {{{4, 3}}});
  t.row("select", "axis 0", [](const Args& x) { return select(x[0], 0, 1); }, {{{3, 4}}});
  t.row("select", "axis 1, index -1", [](const Args& x) { return x[0].select(1, -1); }, {{{2, 3, 4}}});
  t.row("expand", "[3,1] -> [2,3,4]", [](const Args& x) { return expand(x[0], {2, 3, 4}); }, {{{3, 1}}});
  t.row("expand", "[1,4] -> [3,-1], then mul", [](const Args& x) { return mul(x[0].expand({3, -1}), x[1]); },
        {{{1, 4}}, {{3, 4}}});
  // float32 rounding (about 1e-7) swamps a 1e-6 step: a 1e-3 step keeps it below 1e-4.
  t.row("to", "float32 and back", [](const Args& x) { return to(to(x[0], float32), float64); }, {{{3, 4}}},
        Tolerance{.eps = 1e-3, .atol = 1e-3, .rtol = 1e-3});
  t.row("to", "float64 (no-op)", [](const Args& x) { return x[0].to(float64); }, {{{3, 4}}});
  t.row("clone", "", [](const Args& x) { return clone(x[0]); }, {{{3, 4}}});
  t.row("contiguous", "of a transposed view", [](const Args& x) { return contiguous(x[0].t()); }, {{{3, 4}}});
  t.row("broadcast_to", "[3,1] to [2,3,4]", [](const Args& x) { return broadcast_to(x[0], {2, 3, 4}); }, {{{3, 1}}});
  t.row("slice_backward", "axis 1, step 3", [](const Args& x) { return detail::slice_backward(x[0], {3, 5}, 1, 0, 5, 3); },
        {{{3, 2}}});
  t.row("slice_backward", "axis 0", [](const Args& x) { return detail::slice_backward(x[0], {4, 2}, 0, 1, 3, 1); }, {{{2, 2}}});
  t.row("concat", "three along axis 1", [](const Args& x) { return concat({x[0], x[1], x[2]}, 1); },
        {{{2, 1}}, {{2, 3}}, {{2, 2}}});
  t.row("concat", "axis 0, one transposed", [](const Args& x) { return concat({x[0].t(), x[1]}); },
        {{{3, 2}}, {{1, 3}}});
  t.row("stack", "axis 0", [](const Args& x) { return stack({x[0], x[1], x[2]}); }, {{{2, 3}}, {{2, 3}}, {{2, 3}}});
  t.row("stack", "axis -1", [](const Args& x) { return stack({x[0], x[1]}, -1); }, {{{2, 3}}, {{2, 3}}});
  t.row("cat", "axis 1", [](const Args& x) { return cat({x[0], x[1]}, 1); }, {{{2, 3}}, {{2, 1}}});
  const Tensor index_repeated = int_index({2, 0, 2});
  t.row("index_select", "axis 0, repeated index",
        [index_repeated](const Args& x) { return index_select(x[0], 0, index_repeated); },
        {{{3, 4}}});
  const Tensor index_cols = int_index({3, 1, 3, 0});
  t.row("index_select", "axis 1", [index_cols](const Args& x) { return index_select(x[0], 1, index_cols); }, {{{3, 4}}});
  const Tensor index_rows = int_index({1, 3, 1});
  t.row("index_add", "axis 0, repeated index", [index_rows](const Args& x) { return index_add(x[0], 0, index_rows, x[1]); },
        {{{4, 3}}, {{3, 3}}});
  const Tensor index_two = int_index({2, 0});
  t.row("index_add", "axis 1", [index_two](const Args& x) { return index_add(x[0], 1, index_two, x[1]); },
        {{{2, 3}}, {{2, 2}}});
  const Tensor gather_index1 = int_index({0, 3, 1, 1, 2, 0}, {3, 2});
  t.row("gather", "axis 1", [gather_index1](const Args& x) { return gather(x[0], 1, gather_index1); }, {{{3, 4}}});
  const Tensor gather_index0 = int_index({2, 0, 1, 2, 0, 0, 1, 2}, {2, 4});
  t.row("gather", "axis 0", [gather_index0](const Args& x) { return gather(x[0], 0, gather_index0); }, {{{3, 4}}});
  t.row("scatter_add", "axis 1, repeated positions",
        [gather_index1](const Args& x) { return scatter_add(x[0], 1, gather_index1, x[1]); }, {{{3, 4}}, {{3, 2}}});
  t.row("scatter_add", "axis 0", [gather_index0](const Args& x) { return scatter_add(x[0], 0, gather_index0, x[1]); },
        {{{3, 4}}, {{2, 4}}});

  // ---------------------------------------------------------------- matmul, convolution and pooling kernels
  t.group("linalg and conv");
  t.row("matmul", "2-d", [](const Args& x) { return matmul(x[0], x[1]); }, {{{3, 4}}, {{4, 2}}});
  t.row("mm", "transposed operand", [](const Args& x) { return mm(x[0].t(), x[1]); }, {{{4, 3}}, {{4, 2}}});
  t.row("matmul", "transposed left operand", [](const Args& x) { return matmul(x[0].t(), x[1]); }, {{{4, 3}}, {{4, 2}}});
  t.row("matmul", "both transposed", [](const Args& x) { return matmul(x[0].t(), x[1].t()); }, {{{4, 3}}, {{2, 4}}});
  t.row("matmul", "non-contiguous input tensors", [](const Args& x) { return matmul(x[0], x[1]); },
        {{{3, 4}, transposed(normal)}, {{4, 2}, transposed(normal)}});
  t.row("matmul", "batched [2,3,4] @ [2,4,2]", [](const Args& x) { return matmul(x[0], x[1]); },
        {{{2, 3, 4}}, {{2, 4, 2}}});
  t.row("matmul", "broadcast batch [2,1,3,4] @ [3,4,2]", [](const Args& x) { return matmul(x[0], x[1]); },
        {{{2, 1, 3, 4}}, {{3, 4, 2}}});
  t.row("matmul", "batched @ 2-d", [](const Args& x) { return matmul(x[0], x[1]); }, {{{2, 3, 4}}, {{4, 2}}});
  t.row("matmul", "1-d @ 2-d", [](const Args& x) { return matmul(x[0], x[1]); }, {{{4}}, {{4, 3}}});
  t.row("matmul", "2-d @ 1-d", [](const Args& x) { return matmul(x[0], x[1]); }, {{{3, 4}}, {{4}}});
  t.row("matmul", "1-d @ 1-d (dot)", [](const Args& x) { return matmul(x[0], x[1]); }, {{{4}}, {{4}}});
  t.row("matmul", "1-d @ batched", [](const Args& x) { return matmul(x[0], x[1]); }, {{{4}}, {{2, 4, 3}}});
  t.row("matmul", "batched @ 1-d", [](const Args& x) { return matmul(x[0], x[1]); }, {{{2, 3, 4}}, {{4}}});
  t.row("linear", "with bias", [](const Args& x) { return linear(x[0], x[1], x[2]); }, {{{3, 4}}, {{2, 4}}, {{2}}});
  t.row("linear", "no bias, batched input", [](const Args& x) { return linear(x[0], x[1]); }, {{{2, 3, 4}}, {{5, 4}}});
  t.row("linear", "transposed input", [](const Args& x) { return linear(x[0].t(), x[1], x[2]); },
        {{{4, 3}}, {{2, 4}}, {{2}}});
  const Conv2dParams plain_conv{};
  const Conv2dParams strided_conv{.stride = 2, .padding = 1, .dilation = 1, .groups = 1};
  const Conv2dParams dilated_grouped_conv{.stride = 1, .padding = {1, 0}, .dilation = 2, .groups = 2};
  t.row("conv2d", "3x3 with bias", [plain_conv](const Args& x) { return conv2d(x[0], x[1], x[2], plain_conv); },
        {{{2, 2, 5, 5}}, {{3, 2, 3, 3}}, {{3}}});
  t.row("conv2d", "stride 2, padding 1, no bias",
        [strided_conv](const Args& x) { return conv2d(x[0], x[1], Tensor(), strided_conv); },
        {{{2, 2, 5, 5}}, {{3, 2, 3, 3}}});
  t.row("conv2d", "dilation 2, groups 2, padding 1x0",
        [dilated_grouped_conv](const Args& x) { return conv2d(x[0], x[1], x[2], dilated_grouped_conv); },
        {{{1, 4, 6, 6}}, {{4, 2, 2, 2}}, {{4}}});
  t.row("conv2d", "1x1 kernel", [plain_conv](const Args& x) { return conv2d(x[0], x[1], x[2], plain_conv); },
        {{{2, 3, 4, 4}}, {{2, 3, 1, 1}}, {{2}}});
  t.row("conv2d_backward_input", "stride 2, padding 1",
        [strided_conv](const Args& x) { return detail::conv2d_backward_input(x[0], x[1], {2, 2, 5, 5}, strided_conv); },
        {{{2, 3, 3, 3}}, {{3, 2, 3, 3}}});
  t.row("conv2d_backward_weight", "groups 2",
        [dilated_grouped_conv](const Args& x) {
          return detail::conv2d_backward_weight(x[0], x[1], {4, 2, 2, 2}, dilated_grouped_conv);
        },
        {{{1, 4, 6, 6}}, {{1, 4, 6, 4}}});
  const Conv2dParams winograd_conv{.padding = 1, .algorithm = ConvAlgorithm::winograd};
  const Conv2dParams winograd_conv_pad2{.padding = 2, .algorithm = ConvAlgorithm::winograd};
  t.row("conv2d", "Winograd, padding 1, odd output",
        [winograd_conv](const Args& x) { return conv2d(x[0], x[1], x[2], winograd_conv); },
        {{{2, 3, 5, 4}}, {{2, 3, 3, 3}}, {{2}}});
  t.row("conv2d_backward_input", "Winograd, padding 2",
        [winograd_conv_pad2](const Args& x) { return detail::conv2d_backward_input(x[0], x[1], {1, 2, 3, 4}, winograd_conv_pad2); },
        {{{1, 3, 5, 6}}, {{3, 2, 3, 3}}});
  t.row("conv2d_backward_weight", "Winograd, padding 1",
        [winograd_conv](const Args& x) { return detail::conv2d_backward_weight(x[0], x[1], {3, 2, 3, 3}, winograd_conv); },
        {{{2, 2, 4, 5}}, {{2, 3, 4, 5}}});
  // 16 channels and few output positions: the batched path with the channels last, where the
  // forward keeps its columns for the weight gradient.
  t.row("conv2d", "16 channels, 4x4 stride 2 (channels last, columns kept)",
        [strided_conv](const Args& x) { return conv2d(x[0], x[1], x[2], strided_conv); },
        {{{2, 16, 5, 5}}, {{3, 16, 4, 4}}, {{3}}});
  // The fused pair (nn::Sequential's Conv2d + ReLU), on each kernel path that writes the relu.
  t.row("conv2d_relu", "3x3 with bias (im2col)", [plain_conv](const Args& x) { return conv2d_relu(x[0], x[1], x[2], plain_conv); },
        {{{2, 2, 5, 5}}, {{3, 2, 3, 3}}, {{3}}});
  t.row("conv2d_relu", "Winograd, padding 1, odd output",
        [winograd_conv](const Args& x) { return conv2d_relu(x[0], x[1], x[2], winograd_conv); },
        {{{2, 3, 5, 4}}, {{2, 3, 3, 3}}, {{2}}});
  t.row("conv2d_relu", "stride 2, padding 1, no bias (batched im2col), non-contiguous input",
        [strided_conv](const Args& x) { return conv2d_relu(x[0], x[1], Tensor(), strided_conv); },
        {{{2, 2, 5, 5}, transposed(normal)}, {{3, 2, 3, 3}}});
  t.row("conv2d_relu", "16 channels, stride 2 (channels last, columns kept), non-contiguous input",
        [strided_conv](const Args& x) { return conv2d_relu(x[0], x[1], Tensor(), strided_conv); },
        {{{2, 16, 4, 4}, transposed(normal)}, {{3, 16, 3, 3}}});
  // The fused triple (Conv2d, ReLU, MaxPool2d(2)): pooled in Winograd's output transform, or the
  // kernels in turn.
  t.row("conv2d_relu_max_pool2d", "Winograd, padding 1, odd pooled size",
        [winograd_conv](const Args& x) { return conv2d_relu_max_pool2d(x[0], x[1], x[2], winograd_conv).values; },
        {{{2, 3, 5, 6}}, {{2, 3, 3, 3}}, {{2}}});
  t.row("conv2d_relu_max_pool2d", "im2col, no bias, non-contiguous input",
        [plain_conv](const Args& x) { return conv2d_relu_max_pool2d(x[0], x[1], Tensor(), plain_conv).values; },
        {{{1, 2, 6, 7}, transposed(normal)}, {{3, 2, 3, 3}}});
  const Tensor ce_target = int_index({2, 0, 3});
  t.row("cross_entropy_rows", "plain", [ce_target](const Args& x) { return cross_entropy_rows(x[0], ce_target); },
        {{{3, 4}}});
  t.row("cross_entropy_rows", "label smoothing 0.1",
        [ce_target](const Args& x) { return cross_entropy_rows(x[0], ce_target, 0.1); }, {{{3, 4}}});
  t.row("cross_entropy_rows_backward", "plain",
        [ce_target](const Args& x) { return detail::cross_entropy_rows_backward(x[0], ce_target, x[1]); }, {{{3, 4}}, {{3}}});
  t.row("cross_entropy_rows_backward", "label smoothing 0.2",
        [ce_target](const Args& x) { return detail::cross_entropy_rows_backward(x[0], ce_target, x[1], 0.2); }, {{{3, 4}}, {{3}}});
  t.row("cross_entropy_rows", "mean", [ce_target](const Args& x) { return cross_entropy_rows(x[0], ce_target, 0.0, Reduction::mean); },
        {{{3, 4}}});
  t.row("cross_entropy_rows", "sum, label smoothing 0.1",
        [ce_target](const Args& x) { return cross_entropy_rows(x[0], ce_target, 0.1, Reduction::sum); }, {{{3, 4}}});
  t.row("cross_entropy_rows_backward", "mean, grad of shape []",
        [ce_target](const Args& x) { return detail::cross_entropy_rows_backward(x[0], ce_target, x[1], 0.0, Reduction::mean); },
        {{{3, 4}}, {Shape{}}});
  t.row("cross_entropy_rows_backward", "sum, label smoothing 0.2, grad of shape [1]",
        [ce_target](const Args& x) { return detail::cross_entropy_rows_backward(x[0], ce_target, x[1], 0.2, Reduction::sum); },
        {{{3, 4}}, {{1}}});
  const Window2d k3s2p1{.kernel = 3, .stride = 2, .padding = 1};
  const Window2d k2s2{.kernel = 2, .stride = 2};
  const Window2d k2d2{.kernel = 2, .stride = 1, .padding = 0, .dilation = 2};
  const Window2d k2x3s1p1{.kernel = {2, 3}, .stride = {1, 2}, .padding = {1, 0}};
  t.row("im2col", "kernel 3, stride 2, padding 1", [k3s2p1](const Args& x) { return detail::im2col(x[0], k3s2p1); },
        {{{2, 2, 5, 5}}});
  t.row("im2col", "kernel 2, dilation 2", [k2d2](const Args& x) { return detail::im2col(x[0], k2d2); }, {{{1, 2, 5, 5}}});
  t.row("im2col", "kernel 2x3, stride 1x2, padding 1x0", [k2x3s1p1](const Args& x) { return detail::im2col(x[0], k2x3s1p1); },
        {{{1, 2, 4, 5}}});
  t.row("col2im", "kernel 3, stride 2, padding 1",
        [k3s2p1](const Args& x) { return detail::col2im(x[0], {1, 2, 5, 5}, k3s2p1); }, {{{1, 18, 9}}});
  t.row("col2im", "kernel 2, dilation 2", [k2d2](const Args& x) { return detail::col2im(x[0], {1, 2, 5, 5}, k2d2); },
        {{{1, 8, 9}}});
  t.row("max_pool2d", "kernel 2, stride 2", [k2s2](const Args& x) { return max_pool2d(x[0], k2s2).values; },
        {{{2, 2, 5, 5}, distinct}});
  t.row("max_pool2d", "kernel 3, stride 2, padding 1", [k3s2p1](const Args& x) { return max_pool2d(x[0], k3s2p1).values; },
        {{{2, 2, 5, 5}, distinct}});
  // Winners of a fixed input, overlapping windows included (a position can win twice).
  Generator pool_generator(9);
  const Tensor pool_winners = max_pool2d(randn({2, 2, 5, 5}, float64, pool_generator), k3s2p1).indices;
  t.row("max_pool2d_backward", "kernel 3, stride 2, padding 1",
        [pool_winners](const Args& x) { return detail::max_pool2d_backward(x[0], pool_winners, {2, 2, 5, 5}); },
        {{{2, 2, 3, 3}}});
  // conv2d's adjoints of a 2x2 max pooling's gradient (conv2d_relu_max_pool2d's backward), with the
  // winners of a fixed 3x5 convolution output (its last row in no window), Winograd and im2col.
  const Tensor conv_winners = max_pool2d(randn({2, 3, 3, 5}, float64, pool_generator), k2s2).indices;
  t.row("conv2d_backward_input_pooled", "Winograd, padding 1",
        [conv_winners, winograd_conv](const Args& x) {
          return detail::conv2d_backward_input_pooled(x[0], conv_winners, x[1], {2, 2, 3, 5}, winograd_conv);
        },
        {{{2, 3, 1, 2}}, {{3, 2, 3, 3}}});
  t.row("conv2d_backward_weight_pooled", "im2col",
        [conv_winners](const Args& x) {
          return detail::conv2d_backward_weight_pooled(x[0], x[1], conv_winners, {3, 2, 3, 3}, {});
        },
        {{{2, 2, 5, 7}}, {{2, 3, 1, 2}}});
  t.row("gather_winners", "kernel 3, stride 2, padding 1",
        [pool_winners](const Args& x) { return detail::gather_winners(x[0], pool_winners); }, {{{2, 2, 5, 5}}});
  t.row("avg_pool2d", "kernel 2, stride 2", [k2s2](const Args& x) { return avg_pool2d(x[0], k2s2); }, {{{2, 2, 5, 5}}});
  t.row("avg_pool2d", "padding 1, count_include_pad", [k3s2p1](const Args& x) { return avg_pool2d(x[0], k3s2p1, true); },
        {{{2, 2, 5, 5}}});
  t.row("avg_pool2d", "padding 1, excluding pad", [k3s2p1](const Args& x) { return avg_pool2d(x[0], k3s2p1, false); },
        {{{2, 2, 5, 5}}});
  t.row("avg_pool2d_backward", "padding 1, count_include_pad",
        [k3s2p1](const Args& x) { return detail::avg_pool2d_backward(x[0], {2, 2, 5, 5}, k3s2p1, true); }, {{{2, 2, 3, 3}}});
  t.row("avg_pool2d_backward", "padding 1, excluding pad",
        [k3s2p1](const Args& x) { return detail::avg_pool2d_backward(x[0], {2, 2, 5, 5}, k3s2p1, false); }, {{{2, 2, 3, 3}}});

  return t.rows();
}

// The core set for second derivatives: gradgradcheck differentiates the backward formulas.
std::vector<OpCase> core_second_order_rows() {
  Table t;
  t.group("gradgradcheck");
  t.row("add", "broadcast [2,3] + [3]", [](const Args& x) { return add(x[0], x[1]); }, {{{2, 3}}, {{3}}});
  t.row("mul", "", [](const Args& x) { return mul(x[0], x[1]); }, {{{2, 3}}, {{2, 3}}});
  t.row("mul", "broadcast [2,1] * [3]", [](const Args& x) { return mul(x[0], x[1]); }, {{{2, 1}}, {{3}}});
  t.row("div", "", [](const Args& x) { return div(x[0], x[1]); }, {{{2, 3}}, {{2, 3}, away_from_zero}});
  t.row("div", "scalar left", [](const Args& x) { return div(2.0, x[0]); }, {{{2, 3}, away_from_zero}});
  t.row("pow", "tensor ^ tensor", [](const Args& x) { return pow(x[0], x[1]); }, {{{2, 3}, positive}, {{2, 3}, exponents}});
  t.row("pow", "scalar exponent 3", [](const Args& x) { return pow(x[0], 3.0); }, {{{2, 3}}});
  // The differentiable point-wise ops of pointwise.def, each from its entry.
#define NABLA_POINTWISE_GRADGRAD(name, domain) \
  t.row(#name, "pointwise.def", [](const Args& x) { return name(x[0]); }, {{{2, 3}, domain}});
#define NABLA_POINTWISE_SELF(name, dtypes, forward, vector_kernel, derivative, domain) NABLA_POINTWISE_GRADGRAD(name, domain)
#define NABLA_POINTWISE_RESULT(name, dtypes, forward, vector_kernel, derivative, domain) NABLA_POINTWISE_GRADGRAD(name, domain)
#define NABLA_POINTWISE_NO_GRAD(name, dtypes, forward, domain)
#include "nabla/tensor/pointwise.def"
#undef NABLA_POINTWISE_GRADGRAD
  t.row("matmul", "2-d", [](const Args& x) { return matmul(x[0], x[1]); }, {{{2, 3}}, {{3, 2}}});
  t.row("matmul", "broadcast batch [2,2,3] @ [3,2]", [](const Args& x) { return matmul(x[0], x[1]); },
        {{{2, 2, 3}}, {{3, 2}}});
  t.row("matmul", "1-d @ 2-d", [](const Args& x) { return matmul(x[0], x[1]); }, {{{3}}, {{3, 2}}});
  t.row("sum", "axis 1", [](const Args& x) { return sum(x[0], {1}); }, {{{2, 3}}});
  t.row("sum", "all, of a product", [](const Args& x) { return sum(x[0] * x[0]); }, {{{2, 3}}});
  t.row("mean", "all", [](const Args& x) { return mean(x[0]); }, {{{2, 3}}});
  t.row("mean", "axis 0 of a square", [](const Args& x) { return mean(x[0] * x[0], {0}); }, {{{2, 3}}});
  t.row("var", "axis 1", [](const Args& x) { return var(x[0], {1}); }, {{{2, 3}}});
  t.row("logsumexp", "axis 1", [](const Args& x) { return logsumexp(x[0], {1}); }, {{{2, 3}}});
  t.row("log_softmax", "axis 1", [](const Args& x) { return log_softmax(x[0], 1); }, {{{2, 3}}});
  t.row("linear", "with bias", [](const Args& x) { return linear(x[0], x[1], x[2]); }, {{{2, 3}}, {{2, 3}}, {{2}}});
  const Conv2dParams padded_conv{.stride = 1, .padding = 1, .dilation = 1, .groups = 1};
  t.row("conv2d", "padding 1", [padded_conv](const Args& x) { return conv2d(x[0], x[1], x[2], padded_conv); },
        {{{1, 2, 4, 4}}, {{2, 2, 3, 3}}, {{2}}});
  const Conv2dParams winograd_conv{.padding = 1, .algorithm = ConvAlgorithm::winograd};
  t.row("conv2d", "Winograd, padding 1", [winograd_conv](const Args& x) { return conv2d(x[0], x[1], x[2], winograd_conv); },
        {{{1, 2, 3, 4}}, {{2, 2, 3, 3}}, {{2}}});
  const Conv2dParams strided_conv{.stride = 2, .padding = 1};
  t.row("conv2d", "16 channels, stride 2 (channels last, columns kept)",
        [strided_conv](const Args& x) { return conv2d(x[0], x[1], x[2], strided_conv); },
        {{{2, 16, 3, 3}}, {{2, 16, 2, 2}}, {{2}}});
  t.row("conv2d_relu", "Winograd, padding 1", [winograd_conv](const Args& x) { return conv2d_relu(x[0], x[1], x[2], winograd_conv); },
        {{{1, 2, 3, 4}}, {{2, 2, 3, 3}}, {{2}}});
  t.row("conv2d_relu_max_pool2d", "Winograd, padding 1",
        [winograd_conv](const Args& x) { return conv2d_relu_max_pool2d(x[0], x[1], x[2], winograd_conv).values; },
        {{{1, 2, 4, 4}}, {{2, 2, 3, 3}}, {{2}}});
  Generator pool_generator(9);
  const Tensor conv_winners = max_pool2d(randn({1, 2, 3, 4}, float64, pool_generator), {.kernel = 2, .stride = 2}).indices;
  t.row("conv2d_backward_input_pooled", "Winograd, padding 1",
        [conv_winners, winograd_conv](const Args& x) {
          return detail::conv2d_backward_input_pooled(x[0], conv_winners, x[1], {1, 2, 3, 4}, winograd_conv);
        },
        {{{1, 2, 1, 2}}, {{2, 2, 3, 3}}});
  t.row("conv2d_backward_weight_pooled", "Winograd, padding 1",
        [conv_winners, winograd_conv](const Args& x) {
          return detail::conv2d_backward_weight_pooled(x[0], x[1], conv_winners, {2, 2, 3, 3}, winograd_conv);
        },
        {{{1, 2, 3, 4}}, {{1, 2, 1, 2}}});
  const Tensor ce_target = tensor({1, 0}, {2}, int64);
  t.row("cross_entropy_rows", "label smoothing 0.1",
        [ce_target](const Args& x) { return cross_entropy_rows(x[0], ce_target, 0.1); }, {{{2, 3}}});
  t.row("cross_entropy_rows_backward", "label smoothing 0.1",
        [ce_target](const Args& x) { return detail::cross_entropy_rows_backward(x[0], ce_target, x[1], 0.1); },
        {{{2, 3}}, {{2}}});
  t.row("cross_entropy_rows", "mean, label smoothing 0.1",
        [ce_target](const Args& x) { return cross_entropy_rows(x[0], ce_target, 0.1, Reduction::mean); }, {{{2, 3}}});
  t.row("cross_entropy_rows_backward", "mean",
        [ce_target](const Args& x) { return detail::cross_entropy_rows_backward(x[0], ce_target, x[1], 0.0, Reduction::mean); },
        {{{2, 3}}, {Shape{}}});
  t.row("softmax", "axis 0", [](const Args& x) { return softmax(x[0], 0); }, {{{2, 3}}});
  const Window2d k2{.kernel = 2};
  const Window2d k2s2{.kernel = 2, .stride = 2};
  const Window2d k3p1{.kernel = 3, .stride = 1, .padding = 1};
  t.row("im2col", "kernel 2", [k2](const Args& x) { return detail::im2col(x[0], k2); }, {{{1, 2, 4, 4}}});
  t.row("im2col", "squared, kernel 2", [k2](const Args& x) { return detail::im2col(x[0] * x[0], k2); }, {{{1, 1, 3, 3}}});
  t.row("max_pool2d", "kernel 2, stride 2", [k2s2](const Args& x) { return max_pool2d(x[0], k2s2).values; },
        {{{1, 2, 4, 4}, distinct}});
  t.row("max_pool2d", "of a square", [k2s2](const Args& x) { return max_pool2d(x[0] * x[0], k2s2).values; },
        {{{1, 1, 4, 4}, positive}});
  t.row("avg_pool2d", "kernel 3, padding 1", [k3p1](const Args& x) { return avg_pool2d(x[0], k3p1); }, {{{1, 2, 4, 4}}});
  t.row("avg_pool2d", "of a square", [k2s2](const Args& x) { return avg_pool2d(x[0] * x[0], k2s2); }, {{{1, 1, 4, 4}}});
  return t.rows();
}

}  // namespace

namespace {

// The ops declared in `header` (relative to the source root) whose lines match `declaration`.
std::set<std::string> declared_in(const std::string& header, const std::regex& declaration) {
  std::string root;
  if (const char* env = std::getenv("NABLA_SOURCE_DIR")) {
    root = env;
  } else {
    root = __FILE__;  // <root>/tests/autograd/this file
    for (int up = 0; up < 3; ++up) root = root.substr(0, root.find_last_of('/'));
  }
  const std::string path = root + "/" + header;
  std::ifstream file(path);
  if (!file) FAIL("cannot read " << path);
  std::set<std::string> names;
  std::string line;
  std::smatch match;
  while (std::getline(file, line)) {
    if (std::regex_search(line, match, declaration)) names.insert(match[2]);
  }
  return names;
}

// The ops of functions.hpp that have no gradient by definition: comparisons, logic and indices.
const std::set<std::string> kWithoutGradient = {"eq", "ne", "lt", "le", "gt", "ge", "logical_not", "logical_and",
                                                "logical_or", "logical_xor", "argmax", "argmin",
                                                // issue 13: truth values and indices
                                                "all", "any", "argsort",
                                                // issue 13: math
                                                "isnan", "isinf", "isfinite"};

// The differentiable ops users and op authors call: functions.hpp, the adjoints of
// detail/adjoints.hpp, the fused layers' primitives and the entries of pointwise.def.
std::set<std::string> declared_ops() {
  // Ops returning several tensors (split, chunk, unbind) or a result struct count too.
  const std::regex declaration(R"(^(Tensor|ValuesIndices|std::vector<Tensor>|AttentionResult|RecurrentResult|NativeBatchNorm) (\w+)\()");
  std::set<std::string> names;
  for (const char* header : {"functions.hpp", "detail/adjoints.hpp", "fused_layers.hpp", "recurrent.hpp", "ctc.hpp"}) {
    for (const std::string& name : declared_in(std::string("autograd/include/nabla/autograd/") + header, declaration)) {
      names.insert(name);
    }
  }
  const std::regex entry(R"(^(NABLA_POINTWISE_\w+)\((\w+),)");
  for (const std::string& name : declared_in("tensor/include/nabla/tensor/pointwise.def", entry)) names.insert(name);
  for (const std::string& name : kWithoutGradient) names.erase(name);
  return names;
}

}  // namespace

std::vector<OpCase> build_op_table() {
  Table rows, second_order;
  for (RowBuilder builder : row_builders()) builder(rows, second_order);
  std::vector<OpCase> all = core_rows();
  all.insert(all.end(), rows.rows().begin(), rows.rows().end());
  return all;
}

std::vector<OpCase> build_gradgrad_table() {
  Table rows, second_order;
  for (RowBuilder builder : row_builders()) builder(rows, second_order);
  std::vector<OpCase> all = core_second_order_rows();
  all.insert(all.end(), second_order.rows().begin(), second_order.rows().end());
  return all;
}

}  // namespace gradcheck_table

using namespace gradcheck_table;

TEST_CASE("gradcheck table: every op in functions.hpp has a row", "[autograd][gradcheck]") {
  const std::vector<OpCase> table = build_op_table();
  std::set<std::string> covered;
  for (const OpCase& row : table) covered.insert(row.op);
  const std::set<std::string> declared = declared_ops();
  REQUIRE(declared.size() > 60);  // the parse found the declarations
  for (const std::string& name : declared) {
    INFO("'" << name << "' is declared (functions.hpp, adjoints.hpp or pointwise.def) but the gradcheck table has no row for it");
    CHECK(covered.count(name) == 1);
  }
  for (const std::string& name : covered) {
    INFO("table row for '" << name << "', which no header declares");
    CHECK(declared.count(name) == 1);
  }
}

TEST_CASE("gradcheck table: element-wise ops", "[autograd][gradcheck]") {
  run_group(build_op_table(), "element-wise", run_gradcheck);
}

TEST_CASE("gradcheck table: reductions", "[autograd][gradcheck]") {
  run_group(build_op_table(), "reductions", run_gradcheck);
}

TEST_CASE("gradcheck table: shape ops, views and indexing", "[autograd][gradcheck]") {
  run_group(build_op_table(), "views", run_gradcheck);
}

TEST_CASE("gradcheck table: matmul, im2col/col2im and pooling", "[autograd][gradcheck]") {
  run_group(build_op_table(), "linalg and conv", run_gradcheck);
}

TEST_CASE("gradgradcheck: second derivatives of the core ops", "[autograd][gradcheck]") {
  run_group(build_gradgrad_table(), "gradgradcheck", run_gradgradcheck);
}

// ---- a user-defined op, written the way node.hpp documents.
namespace {

// cube(x) = x^3, backward 3 x^2 written with Tensor ops (so it can be differentiated again).
Tensor cube(const Tensor& x) {
  const kernels::Tensor& v = x.raw();
  return record("cube", {x}, kernels::mul(kernels::mul(v, v), v), [saved = save(x)](const Tensor& grad) {
    const Tensor& input = saved.get();
    return Gradients{grad * input * input * 3.0};
  });
}

// exp2(x) = 2^x, whose backward uses the op's own output: d/dx = out * ln 2.
Tensor exp2(const Tensor& x) {
  return record("exp2", {x}, kernels::pow(kernels::full_like(x.raw(), 2.0), x.raw()),
                [](const Tensor& grad, const Tensor& out) { return Gradients{grad * out * std::log(2.0)}; });
}

}  // namespace

TEST_CASE("custom ops defined with record() pass gradcheck and gradgradcheck", "[autograd][gradcheck]") {
  Generator generator(7);
  const Tensor x = randn({2, 3}, float64, generator);

  SECTION("cube (saves its input)") {
    const auto fn = [](const Args& args) { return cube(args[0]); };
    const GradcheckResult first = autograd::gradcheck(fn, {x});
    CHECK(first.passed);
    CHECK(first.max_abs_analytic > 0.0);
    const GradcheckResult second = autograd::gradgradcheck(fn, {x});
    CHECK(second.passed);
    CHECK(second.max_abs_analytic > 0.0);

    Tensor input = tensor({2.0}, {}, float64).requires_grad_();
    const Tensor output = cube(input);
    CHECK(std::string(output.grad_fn()->name()) == "cube");
    output.backward();
    CHECK(input.grad().item() == Approx(12.0));
  }
  SECTION("exp2 (uses its output), composed with a built-in op") {
    const auto fn = [](const Args& args) { return exp2(args[0] * args[1]); };
    const Tensor y = randn({2, 3}, float64, generator);
    CHECK(autograd::gradcheck(fn, {x, y}).max_abs_analytic > 0.0);
    CHECK(autograd::gradgradcheck(fn, {x, y}).max_abs_analytic > 0.0);
  }
}

TEST_CASE("gradcheck hands the function its inputs in their own layout", "[autograd][gradcheck]") {
  // A transposed or sliced input must reach the op as a view, or the table's non-contiguous rows would
  // only ever check the packed path.
  Generator generator(11);
  const Tensor transposed = randn({3, 4}, float64, generator).t();
  const Tensor sliced = randn({4, 6}, float64, generator).slice(1, 0, 6, 2);
  const Tensor float32_transposed = randn({2, 5}, float32, generator).t();
  REQUIRE_FALSE(transposed.is_contiguous());
  REQUIRE_FALSE(sliced.is_contiguous());
  int calls = 0, contiguous_calls = 0;
  const auto fn = [&](const Args& args) {
    ++calls;
    for (const Tensor& a : args) contiguous_calls += a.is_contiguous() ? 1 : 0;
    return (args[0].matmul(args[1]).sin() * args[2].sum()).sum({0});
  };
  const Tensor second = randn({3, 2}, float64, generator);
  const GradcheckResult result = autograd::gradcheck(fn, {transposed, second, sliced});
  CHECK(result.passed);
  CHECK(calls > 1);
  // args[0] (transposed) and args[2] (sliced) arrive non-contiguous on every call; args[1] is contiguous.
  CHECK(contiguous_calls == calls);
  // float32 inputs are checked on float64 copies that keep their layout too.
  bool saw_float32_layout = true;
  autograd::gradcheck(
      [&](const Args& args) {
        saw_float32_layout = saw_float32_layout && !args[0].is_contiguous() && args[0].dtype() == float64;
        return (args[0] * args[0]).sum();
      },
      {float32_transposed}, {.cast_to_float64 = true});
  CHECK(saw_float32_layout);
}
