// Gradcheck rows of the convolution, pooling and resampling ops of issue 13: conv_transpose2d
// (every option, the im2col and Winograd paths), adaptive_max_pool2d, max/avg pooling with
// ceil_mode and divisor_override, upsample2d (nearest, nearest-exact, bilinear with and without
// align_corners, given scale factors) and its adjoint upsample2d_backward. The linear ops' second
// derivatives vanish, so their second-order rows square the input first.
#include "gradcheck_table.hpp"

namespace gradcheck_table {

namespace {

void conv_rows(Table& rows, Table& second_order) {
  rows.group("issue 13: conv_transpose2d");
  const Conv2dParams plain{};
  const Conv2dParams dcgan{.stride = 2, .padding = 1};
  const Conv2dParams grouped{.stride = {2, 3}, .padding = {1, 0}, .dilation = 2, .groups = 2};
  const Conv2dParams dilated{.dilation = 3};
  const Conv2dParams winograd{.padding = 1, .algorithm = ConvAlgorithm::winograd};
  rows.row("conv_transpose2d", "3x3 with bias", [plain](const Args& x) { return conv_transpose2d(x[0], x[1], x[2], plain); },
           {{{2, 3, 3, 4}}, {{3, 2, 3, 3}}, {{2}}});
  rows.row("conv_transpose2d", "kernel 4, stride 2, padding 1, output_padding 1, no bias",
           [dcgan](const Args& x) { return conv_transpose2d(x[0], x[1], Tensor(), dcgan, 1); }, {{{2, 2, 3, 3}}, {{2, 3, 4, 4}}});
  rows.row("conv_transpose2d", "stride (2, 3), padding (1, 0), output_padding (1, 2), dilation 2, groups 2",
           [grouped](const Args& x) { return conv_transpose2d(x[0], x[1], x[2], grouped, {1, 2}); },
           {{{1, 4, 3, 2}}, {{4, 3, 3, 2}}, {{6}}});
  rows.row("conv_transpose2d", "output_padding 2 past stride 1 (dilation 3)",
           [dilated](const Args& x) { return conv_transpose2d(x[0], x[1], x[2], dilated, 2); },
           {{{1, 2, 3, 3}}, {{2, 2, 2, 2}}, {{2}}});
  rows.row("conv_transpose2d", "Winograd, padding 1", [winograd](const Args& x) { return conv_transpose2d(x[0], x[1], x[2], winograd); },
           {{{1, 3, 5, 6}}, {{3, 2, 3, 3}}, {{2}}});
  rows.row("conv_transpose2d", "non-contiguous input and weight",
           [dcgan](const Args& x) { return conv_transpose2d(x[0], x[1], x[2], dcgan); },
           {{{1, 2, 3, 4}, transposed(normal_values)}, {{2, 2, 3, 3}, transposed(normal_values)}, {{2}}});
  // 16 output channels: its backward's conv2d and weight gradient share one channels-last unfolding.
  rows.row("conv_transpose2d", "16 output channels, kernel 4, stride 2 (backward unfolds grad once)",
           [dcgan](const Args& x) { return conv_transpose2d(x[0], x[1], x[2], dcgan); },
           {{{2, 3, 2, 2}}, {{3, 16, 4, 4}}, {{16}}});

  second_order.group("issue 13: conv_transpose2d second order");
  second_order.row("conv_transpose2d", "stride 2, input and weight",
                   [dcgan](const Args& x) { return conv_transpose2d(x[0], x[1], x[2], dcgan, 1); },
                   {{{1, 2, 3, 3}}, {{2, 2, 3, 3}}, {{2}}});
  second_order.row("conv_transpose2d", "groups 2, dilation 2",
                   [grouped](const Args& x) { return conv_transpose2d(x[0], x[1], Tensor(), grouped); },
                   {{{1, 2, 2, 2}}, {{2, 1, 2, 2}}});
  second_order.row("conv_transpose2d", "16 output channels, stride 2",
                   [dcgan](const Args& x) { return conv_transpose2d(x[0], x[1], Tensor(), dcgan); },
                   {{{2, 2, 2, 2}}, {{2, 16, 3, 3}}});
}

void pool_rows(Table& rows, Table& second_order) {
  rows.group("issue 13: pooling");
  rows.row("adaptive_max_pool2d", "7x5 to 3x2", [](const Args& x) { return adaptive_max_pool2d(x[0], {3, 2}).values; },
           {{{2, 2, 7, 5}, distinct}});
  rows.row("adaptive_max_pool2d", "4x6 to 5x4 (overlapping regions)",
           [](const Args& x) { return adaptive_max_pool2d(x[0], {5, 4}).values; }, {{{1, 2, 4, 6}, distinct}});
  rows.row("adaptive_max_pool2d", "transposed input", [](const Args& x) { return adaptive_max_pool2d(x[0], {2, 3}).values; },
           {{{1, 2, 5, 4}, transposed(distinct)}});
  const Window2d ceil_max{.kernel = 3, .stride = 2, .padding = 1, .ceil_mode = true};
  const Window2d ceil_2x2{.kernel = 2, .stride = 2, .ceil_mode = true};
  rows.row("max_pool2d", "ceil_mode, kernel 3, stride 2, padding 1", [ceil_max](const Args& x) { return max_pool2d(x[0], ceil_max).values; },
           {{{1, 2, 6, 7}, distinct}});
  rows.row("max_pool2d", "ceil_mode, kernel 2, odd input", [ceil_2x2](const Args& x) { return max_pool2d(x[0], ceil_2x2).values; },
           {{{1, 2, 5, 7}, distinct}});
  rows.row("avg_pool2d", "ceil_mode, count_include_pad", [ceil_max](const Args& x) { return avg_pool2d(x[0], ceil_max, true); },
           {{{1, 2, 6, 7}}});
  rows.row("avg_pool2d", "ceil_mode, excluding pad", [ceil_max](const Args& x) { return avg_pool2d(x[0], ceil_max, false); },
           {{{1, 2, 6, 7}}});
  const Window2d overlapping{.kernel = {2, 3}, .stride = 1, .padding = 1};
  rows.row("avg_pool2d", "divisor_override 4", [overlapping](const Args& x) { return avg_pool2d(x[0], overlapping, true, 4); },
           {{{1, 2, 4, 5}}});
  rows.row("avg_pool2d_backward", "ceil_mode, excluding pad",
           [ceil_max](const Args& x) { return detail::avg_pool2d_backward(x[0], {1, 2, 6, 7}, ceil_max, false); },
           {{{1, 2, 4, 4}}});
  rows.row("avg_pool2d_backward", "divisor_override 4",
           [overlapping](const Args& x) { return detail::avg_pool2d_backward(x[0], {1, 2, 4, 5}, overlapping, true, 4); },
           {{{1, 2, 5, 5}}});

  second_order.group("issue 13: pooling second order");
  second_order.row("adaptive_max_pool2d", "of a square", [](const Args& x) { return adaptive_max_pool2d(x[0] * x[0], {2, 2}).values; },
                   {{{1, 2, 5, 3}, distinct}});
  second_order.row("avg_pool2d", "ceil_mode, of a square", [ceil_max](const Args& x) { return avg_pool2d(x[0] * x[0], ceil_max); },
                   {{{1, 1, 5, 6}}});
}

void resample_rows(Table& rows, Table& second_order) {
  rows.group("issue 13: resampling");
  const Upsample2dParams nearest{};
  const Upsample2dParams nearest_exact{.mode = Interpolation::nearest_exact};
  const Upsample2dParams bilinear{.mode = Interpolation::bilinear};
  const Upsample2dParams aligned{.mode = Interpolation::bilinear, .align_corners = true};
  const Upsample2dParams scaled{.mode = Interpolation::bilinear, .scale_h = 1.7, .scale_w = 0.6};
  rows.row("upsample2d", "nearest 3x4 to 6x8", [nearest](const Args& x) { return upsample2d(x[0], {6, 8}, nearest); },
           {{{1, 2, 3, 4}}});
  rows.row("upsample2d", "nearest 5x7 to 8x3 (some inputs unused, some repeated)",
           [nearest](const Args& x) { return upsample2d(x[0], {8, 3}, nearest); }, {{{1, 1, 5, 7}}});
  rows.row("upsample2d", "nearest-exact 4x5 to 6x7", [nearest_exact](const Args& x) { return upsample2d(x[0], {6, 7}, nearest_exact); },
           {{{2, 1, 4, 5}}});
  rows.row("upsample2d", "bilinear 3x4 to 7x5", [bilinear](const Args& x) { return upsample2d(x[0], {7, 5}, bilinear); },
           {{{1, 2, 3, 4}}});
  rows.row("upsample2d", "bilinear align_corners 4x3 to 5x7", [aligned](const Args& x) { return upsample2d(x[0], {5, 7}, aligned); },
           {{{1, 2, 4, 3}}});
  rows.row("upsample2d", "bilinear with scale factors 1.7 and 0.6",
           [scaled](const Args& x) { return upsample2d(x[0], {6, 3}, scaled); }, {{{1, 1, 4, 6}}});
  rows.row("upsample2d", "bilinear of a transposed input", [bilinear](const Args& x) { return upsample2d(x[0], {5, 6}, bilinear); },
           {{{1, 2, 3, 4}, transposed(normal_values)}});
  rows.row("upsample2d_backward", "nearest",
           [nearest](const Args& x) { return detail::upsample2d_backward(x[0], {1, 2, 5, 7}, nearest); }, {{{1, 2, 8, 3}}});
  rows.row("upsample2d_backward", "bilinear align_corners",
           [aligned](const Args& x) { return detail::upsample2d_backward(x[0], {1, 2, 4, 3}, aligned); }, {{{1, 2, 5, 7}}});
  rows.row("upsample2d_backward", "bilinear with scale factors",
           [scaled](const Args& x) { return detail::upsample2d_backward(x[0], {1, 1, 4, 6}, scaled); }, {{{1, 1, 6, 3}}});

  second_order.group("issue 13: resampling second order");
  second_order.row("upsample2d", "bilinear, of a square", [bilinear](const Args& x) { return upsample2d(x[0] * x[0], {5, 3}, bilinear); },
                   {{{1, 1, 3, 4}}});
  second_order.row("upsample2d_backward", "nearest, of a square",
                   [nearest](const Args& x) { return detail::upsample2d_backward(x[0] * x[0], {1, 1, 3, 2}, nearest); },
                   {{{1, 1, 6, 4}}});
}

void all_rows(Table& rows, Table& second_order) {
  conv_rows(rows, second_order);
  pool_rows(rows, second_order);
  resample_rows(rows, second_order);
}

const bool registered = register_rows(&all_rows);

}  // namespace

TEST_CASE("gradcheck table: issue 13 conv_transpose2d", "[autograd][gradcheck]") {
  run_group(build_op_table(), "issue 13: conv_transpose2d", run_gradcheck);
  run_group(build_gradgrad_table(), "issue 13: conv_transpose2d second order", run_gradgradcheck);
}

TEST_CASE("gradcheck table: issue 13 pooling with ceil_mode and adaptive max", "[autograd][gradcheck]") {
  run_group(build_op_table(), "issue 13: pooling", run_gradcheck);
  run_group(build_gradgrad_table(), "issue 13: pooling second order", run_gradgradcheck);
}

TEST_CASE("gradcheck table: issue 13 resampling", "[autograd][gradcheck]") {
  run_group(build_op_table(), "issue 13: resampling", run_gradcheck);
  run_group(build_gradgrad_table(), "issue 13: resampling second order", run_gradgradcheck);
}

}  // namespace gradcheck_table
