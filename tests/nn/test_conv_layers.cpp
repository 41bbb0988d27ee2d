// ConvTranspose2d / ConvTranspose1d, Conv1d and the padding of Conv2d (padding_mode, nn::same,
// nn::valid) against naive loops written here (the scatter definition of a transposed
// convolution, sharing no code with the GEMM kernels), the adjoint identity that makes a
// transposed convolution what it is, parameter layouts and initialisation, gradients and errors.
#include <catch2/catch.hpp>

#include <cmath>
#include <string>
#include <vector>

#include "nabla/nn.hpp"
#include "nn_test_support.hpp"

using namespace nabla;
using Catch::Contains;
using nn_test::Args;
using nn_test::check_gradients;
using nn_test::max_abs_difference;

namespace {

// Every input element scattered through the kernel: out[n, g*Og + o, h*s - p + i*d, w*s - p + j*d]
// += x[n, g*Ig + c, h, w] * weight[g*Ig + c, o, i, j], on a canvas of the output size.
Tensor reference_conv_transpose2d(const Tensor& x, const Tensor& weight, const Tensor& bias, Size2d stride,
                                  Size2d padding, Size2d output_padding, int64_t groups, Size2d dilation) {
  const int64_t batch = x.shape()[0], in_channels = x.shape()[1], height = x.shape()[2], width = x.shape()[3];
  const int64_t group_out = weight.shape()[1], kh = weight.shape()[2], kw = weight.shape()[3];
  const int64_t group_in = in_channels / groups, out_channels = group_out * groups;
  const int64_t oh = (height - 1) * stride.h - 2 * padding.h + dilation.h * (kh - 1) + output_padding.h + 1;
  const int64_t ow = (width - 1) * stride.w - 2 * padding.w + dilation.w * (kw - 1) + output_padding.w + 1;
  Tensor out = zeros({batch, out_channels, oh, ow}, float64);
  double* po = out.data_ptr<double>();
  for (int64_t n = 0; n < batch; ++n) {
    for (int64_t ic = 0; ic < in_channels; ++ic) {
      const int64_t g = ic / group_in;
      for (int64_t h = 0; h < height; ++h) {
        for (int64_t w = 0; w < width; ++w) {
          const double v = x.at<double>({n, ic, h, w});
          for (int64_t o = 0; o < group_out; ++o) {
            for (int64_t i = 0; i < kh; ++i) {
              for (int64_t j = 0; j < kw; ++j) {
                const int64_t r = h * stride.h - padding.h + i * dilation.h;
                const int64_t c = w * stride.w - padding.w + j * dilation.w;
                if (r < 0 || r >= oh || c < 0 || c >= ow) continue;
                po[((n * out_channels + g * group_out + o) * oh + r) * ow + c] += v * weight.at<double>({ic, o, i, j});
              }
            }
          }
        }
      }
    }
  }
  if (bias.defined()) {
    for (int64_t n = 0; n < batch; ++n) {
      for (int64_t o = 0; o < out_channels; ++o) {
        for (int64_t k = 0; k < oh * ow; ++k) po[(n * out_channels + o) * oh * ow + k] += bias.at<double>({o});
      }
    }
  }
  return out;
}

// Direct cross-correlation with an explicit padded canvas (zeros): the conv2d reference.
Tensor reference_conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias, Size2d stride, Size2d dilation,
                        int64_t groups) {
  const int64_t batch = x.shape()[0], height = x.shape()[2], width = x.shape()[3];
  const int64_t out_channels = weight.shape()[0], group_in = weight.shape()[1];
  const int64_t kh = weight.shape()[2], kw = weight.shape()[3], group_out = out_channels / groups;
  const int64_t oh = (height - dilation.h * (kh - 1) - 1) / stride.h + 1;
  const int64_t ow = (width - dilation.w * (kw - 1) - 1) / stride.w + 1;
  Tensor out = zeros({batch, out_channels, oh, ow}, float64);
  double* po = out.data_ptr<double>();
  for (int64_t n = 0; n < batch; ++n) {
    for (int64_t o = 0; o < out_channels; ++o) {
      for (int64_t i = 0; i < oh; ++i) {
        for (int64_t j = 0; j < ow; ++j) {
          double total = bias.defined() ? bias.at<double>({o}) : 0.0;
          for (int64_t c = 0; c < group_in; ++c) {
            for (int64_t ki = 0; ki < kh; ++ki) {
              for (int64_t kj = 0; kj < kw; ++kj) {
                total += x.at<double>({n, (o / group_out) * group_in + c, i * stride.h + ki * dilation.h,
                                       j * stride.w + kj * dilation.w}) *
                         weight.at<double>({o, c, ki, kj});
              }
            }
          }
          po[((n * out_channels + o) * oh + i) * ow + j] = total;
        }
      }
    }
  }
  return out;
}

// The padded canvas by its definition, element by element: rows/columns before and after.
enum class Fill { zeros, reflect, replicate, circular };
Tensor reference_pad(const Tensor& x, int64_t top, int64_t bottom, int64_t left, int64_t right, Fill fill) {
  const int64_t batch = x.shape()[0], channels = x.shape()[1], height = x.shape()[2], width = x.shape()[3];
  const int64_t ph = height + top + bottom, pw = width + left + right;
  Tensor out = zeros({batch, channels, ph, pw}, float64);
  double* po = out.data_ptr<double>();
  auto source = [&](int64_t i, int64_t size, bool& inside) {
    inside = i >= 0 && i < size;
    switch (fill) {
      case Fill::zeros: return i;
      case Fill::reflect: return i < 0 ? -i : (i >= size ? 2 * (size - 1) - i : i);
      case Fill::replicate: return std::clamp<int64_t>(i, 0, size - 1);
      case Fill::circular: return ((i % size) + size) % size;
    }
    return i;
  };
  for (int64_t n = 0; n < batch; ++n) {
    for (int64_t c = 0; c < channels; ++c) {
      for (int64_t i = 0; i < ph; ++i) {
        for (int64_t j = 0; j < pw; ++j) {
          bool row_inside = false, column_inside = false;
          const int64_t r = source(i - top, height, row_inside), s = source(j - left, width, column_inside);
          if (fill == Fill::zeros && !(row_inside && column_inside)) continue;
          po[((n * channels + c) * ph + i) * pw + j] = x.at<double>({n, c, r, s});
        }
      }
    }
  }
  return out;
}

double dot(const Tensor& a, const Tensor& b) { return sum(a * b).item<double>(); }

struct TransposeCase {
  std::string name;
  Shape input;
  nn::ConvTranspose2dOptions options;
};

std::vector<TransposeCase> transpose_cases() {
  return {
      {"3x3", {2, 3, 4, 5}, {.in_channels = 3, .out_channels = 2, .kernel_size = 3}},
      {"DCGAN kernel 4, stride 2, padding 1", {2, 6, 4, 4},
       {.in_channels = 6, .out_channels = 4, .kernel_size = 4, .stride = 2, .padding = 1}},
      {"stride (3, 2), output_padding (2, 1), padding (0, 1)", {1, 2, 3, 4},
       {.in_channels = 2, .out_channels = 3, .kernel_size = {2, 3}, .stride = {3, 2}, .padding = {0, 1},
        .output_padding = {2, 1}}},
      {"groups 2, dilation (2, 1)", {2, 4, 3, 3},
       {.in_channels = 4, .out_channels = 6, .kernel_size = 3, .groups = 2, .dilation = {2, 1}}},
      {"depthwise, stride 2, no bias", {1, 3, 3, 4},
       {.in_channels = 3, .out_channels = 3, .kernel_size = 2, .stride = 2, .groups = 3, .bias = false}},
      {"output_padding 2 past stride 1 (dilation 3)", {1, 2, 3, 2},
       {.in_channels = 2, .out_channels = 2, .kernel_size = 2, .output_padding = {2, 1}, .dilation = {3, 2}}},
      {"Winograd-eligible 3x3, 8 channels, padding 1", {2, 8, 5, 4},
       {.in_channels = 8, .out_channels = 9, .kernel_size = 3, .padding = 1}},
      {"padding larger than the kernel reach", {1, 2, 5, 5},
       {.in_channels = 2, .out_channels = 2, .kernel_size = 3, .stride = 2, .padding = 3}},
  };
}

}  // namespace

TEST_CASE("conv layers: ConvTranspose2d matches the scatter loop", "[layers][conv]") {
  Generator generator(11);
  for (const TransposeCase& c : transpose_cases()) {
    INFO("ConvTranspose2d case: " << c.name);
    const auto& o = c.options;
    nn::ConvTranspose2d layer(o);
    layer.to(float64);
    CHECK(layer.weight.shape() == Shape{o.in_channels, o.out_channels / o.groups, o.kernel_size.h, o.kernel_size.w});
    CHECK(layer.bias.defined() == o.bias);
    const Tensor x = randn(c.input, float64, generator);
    const Tensor expected = reference_conv_transpose2d(x, layer.weight, layer.bias, o.stride, o.padding, o.output_padding,
                                                       o.groups, o.dilation);
    const Tensor y = layer(x);
    REQUIRE(y.shape() == expected.shape());
    CHECK(max_abs_difference(y, expected) < 1e-10);
    // float32 runs the same kernels; non-contiguous input too.
    const Tensor x32 = x.to(float32).transpose(2, 3).contiguous().transpose(2, 3);
    CHECK(max_abs_difference(nn::functional::conv_transpose2d(x32, layer.weight.to(float32),
                                                              o.bias ? layer.bias.to(float32) : Tensor(), o.stride,
                                                              o.padding, o.output_padding, o.groups, o.dilation),
                             expected) < 1e-4);
  }
}

TEST_CASE("conv layers: conv_transpose2d is the adjoint of conv2d", "[layers][conv]") {
  // <conv2d(z, w), x> = <z, conv_transpose2d(x, w)> for every z of the transposed output's shape.
  Generator generator(12);
  for (const TransposeCase& c : transpose_cases()) {
    INFO("case: " << c.name);
    const auto& o = c.options;
    const Tensor w = randn({o.in_channels, o.out_channels / o.groups, o.kernel_size.h, o.kernel_size.w}, float64, generator);
    const Tensor x = randn(c.input, float64, generator);
    const Tensor y = nn::functional::conv_transpose2d(x, w, {}, o.stride, o.padding, o.output_padding, o.groups, o.dilation);
    const Tensor z = randn(y.shape(), float64, generator);
    // conv2d of z maps back onto x's shape once output_padding rows past the last tap are cut.
    const int64_t extra_h = std::max<int64_t>(0, o.output_padding.h - (o.stride.h - 1));
    const int64_t extra_w = std::max<int64_t>(0, o.output_padding.w - (o.stride.w - 1));
    const Tensor cut = z.slice(2, 0, z.shape()[2] - extra_h).slice(3, 0, z.shape()[3] - extra_w);
    const Tensor back = conv2d(cut, w, {}, Conv2dParams{o.stride, o.padding, o.dilation, o.groups});
    REQUIRE(back.shape() == x.shape());
    CHECK(dot(back, x) == Approx(dot(z, y)).epsilon(1e-10));
  }
}

TEST_CASE("conv layers: ConvTranspose2d gradients with respect to input, weight and bias", "[layers][conv][gradcheck]") {
  for (const TransposeCase& c : transpose_cases()) {
    const auto& o = c.options;
    Generator generator(13);
    const Tensor x = randn(c.input, float64, generator);
    const Tensor w = randn({o.in_channels, o.out_channels / o.groups, o.kernel_size.h, o.kernel_size.w}, float64, generator);
    const Tensor b = randn({o.out_channels}, float64, generator);
    check_gradients("conv_transpose2d " + c.name,
                    [o](const Args& a) {
                      return nn::functional::conv_transpose2d(a[0], a[1], a[2], o.stride, o.padding, o.output_padding,
                                                              o.groups, o.dilation);
                    },
                    {x, w, b});
  }
}

TEST_CASE("conv layers: ConvTranspose2d initialisation, repr and output_size", "[layers][conv]") {
  nn::ConvTranspose2d layer({.in_channels = 16, .out_channels = 8, .kernel_size = 4, .stride = 2, .padding = 1, .groups = 2});
  CHECK(layer.weight.shape() == Shape{16, 4, 4, 4});
  // PyTorch's fan_in for a transposed weight: weight.size(1) * kh * kw = 4 * 16.
  const double bound = 1.0 / std::sqrt(64.0);
  CHECK(max(abs(layer.weight)).item<double>() <= bound);
  CHECK(max(abs(layer.weight)).item<double>() > 0.9 * bound);
  CHECK(max(abs(layer.bias)).item<double>() <= bound);
  const auto names = layer.named_parameters();
  REQUIRE(names.size() == 2);
  CHECK(names[0].first == "weight");
  CHECK(names[1].first == "bias");
  CHECK(layer.extra_repr() == "16, 8, kernel_size=4, stride=2, padding=1, groups=2");
  CHECK(nn::ConvTranspose2d({.in_channels = 1, .out_channels = 2, .kernel_size = {3, 5}, .output_padding = {0, 1},
                             .bias = false, .dilation = 2})
            .extra_repr() == "1, 2, kernel_size=(3, 5), output_padding=(0, 1), bias=false, dilation=2");

  const Tensor x = zeros({1, 16, 7, 7});
  CHECK(layer(x).shape() == Shape{1, 8, 14, 14});
  CHECK(layer.forward(x, {15, 14}).shape() == Shape{1, 8, 15, 14});
  CHECK_THROWS_WITH(layer.forward(x, {16, 14}), Contains("ConvTranspose2d") && Contains("requested an output size of 16") &&
                                                     Contains("from 14 to 15"));
  CHECK_THROWS_WITH(layer.forward(x, {13, 14}), Contains("from 14 to 15"));
  nn::ConvTranspose1d line({.in_channels = 2, .out_channels = 2, .kernel_size = 3, .stride = 3});
  CHECK(line(zeros({1, 2, 4})).shape() == Shape{1, 2, 12});
  CHECK(line.forward(zeros({1, 2, 4}), 14).shape() == Shape{1, 2, 14});
  CHECK_THROWS_WITH(line.forward(zeros({1, 2, 4}), 15), Contains("ConvTranspose1d") && Contains("from 12 to 14"));
  CHECK(line.weight.shape() == Shape{2, 2, 3});
}

TEST_CASE("conv layers: ConvTranspose2d refuses bad calls", "[layers][conv]") {
  namespace F = nn::functional;
  CHECK_THROWS_WITH(nn::ConvTranspose2d({.in_channels = 4, .out_channels = 3, .kernel_size = 3, .groups = 2}),
                    Contains("ConvTranspose2d") && Contains("divisible by groups 2"));
  CHECK_THROWS_WITH(nn::ConvTranspose2d({.in_channels = 2, .out_channels = 2, .kernel_size = 3, .stride = 2,
                                         .output_padding = 2}),
                    Contains("output_padding") && Contains("smaller than either stride or dilation"));
  CHECK_THROWS_WITH(nn::ConvTranspose2d(2, 2, 0), Contains("kernel_size"));
  nn::ConvTranspose2d layer({.in_channels = 4, .out_channels = 6, .kernel_size = 3, .groups = 2});
  CHECK_THROWS_WITH(layer(zeros({1, 3, 5, 5})), Contains("conv_transpose2d") && Contains("[1, 3, 5, 5]") &&
                                                    Contains("[4, 3, 3, 3]"));
  CHECK_THROWS_WITH(layer(zeros({4, 5, 5})), Contains("conv_transpose2d") && Contains("[N, C_in, H, W]"));
  const Tensor w = zeros({2, 3, 3, 3});
  CHECK_THROWS_WITH(F::conv_transpose2d(zeros({1, 2, 2, 2}), w, zeros({4})),
                    Contains("conv_transpose2d") && Contains("bias of shape [4]") && Contains("out_channels 3"));
  CHECK_THROWS_WITH(F::conv_transpose2d(zeros({1, 2, 2, 2}), w, {}, 1, 3),
                    Contains("conv_transpose2d") && Contains("too small"));
  CHECK_THROWS_WITH(F::conv_transpose2d(zeros({1, 2, 2, 2}), w, {}, 2, 0, {0, 2}),
                    Contains("output_padding 0x2") && Contains("stride 2x2"));
  CHECK_THROWS_WITH(F::conv_transpose2d(zeros({1, 2, 2, 2}), zeros({2, 3, 3, 3}, float64)), Contains("mix"));
  CHECK_THROWS_WITH(F::conv_transpose1d(zeros({1, 3, 5}), zeros({2, 3, 3})),
                    Contains("conv_transpose1d") && Contains("[1, 3, 5]") && Contains("[2, 3, 3]"));
  CHECK_THROWS_WITH(F::conv_transpose1d(zeros({1, 2, 5}), zeros({2, 3, 3}), {}, 2, 0, 2),
                    Contains("conv_transpose1d") && Contains("output_padding 2"));
}

TEST_CASE("conv layers: ConvTranspose1d and Conv1d match their 2-d forms on one row", "[layers][conv]") {
  Generator generator(14);
  nn::ConvTranspose1d up({.in_channels = 4, .out_channels = 6, .kernel_size = 3, .stride = 2, .padding = 1,
                          .output_padding = 1, .groups = 2, .dilation = 2});
  up.to(float64);
  const Tensor x = randn({2, 4, 5}, float64, generator);
  const Tensor expected = reference_conv_transpose2d(x.unsqueeze(2), up.weight.unsqueeze(2), up.bias, {1, 2}, {0, 1},
                                                     {0, 1}, 2, {1, 2});
  CHECK(max_abs_difference(up(x), expected.squeeze(2)) < 1e-10);

  nn::Conv1d conv({.in_channels = 4, .out_channels = 2, .kernel_size = 3, .stride = 2, .padding = 2, .dilation = 2,
                   .groups = 2});
  conv.to(float64);
  CHECK(conv.weight.shape() == Shape{2, 2, 3});
  const Tensor padded = reference_pad(x.unsqueeze(2), 0, 0, 2, 2, Fill::zeros);
  CHECK(max_abs_difference(conv(x), reference_conv2d(padded, conv.weight.unsqueeze(2), conv.bias, {1, 2}, {1, 2}, 2).squeeze(2)) <
        1e-10);
  check_gradients("conv1d", [](const Args& a) { return nn::functional::conv1d(a[0], a[1], a[2], 2, 1, 1, 2); },
                  {randn({2, 4, 7}, float64, generator), randn({2, 2, 3}, float64, generator), randn({2}, float64, generator)});
  check_gradients("conv_transpose1d",
                  [](const Args& a) { return nn::functional::conv_transpose1d(a[0], a[1], a[2], 3, 1, 2, 1, 1); },
                  {randn({2, 2, 4}, float64, generator), randn({2, 3, 2}, float64, generator), randn({3}, float64, generator)});
  CHECK_THROWS_WITH(conv(zeros({1, 4, 5, 5}, float64)), Contains("conv1d") && Contains("[N, C, L]"));
  CHECK_THROWS_WITH(conv(zeros({1, 3, 5}, float64)), Contains("conv1d") && Contains("[1, 3, 5]") && Contains("groups=2"));
  CHECK_THROWS_WITH(nn::functional::conv1d(zeros({1, 1, 2}), zeros({1, 1, 5})), Contains("conv1d") && Contains("does not fit"));
  CHECK(conv.extra_repr() == "4, 2, kernel_size=3, stride=2, padding=2, dilation=2, groups=2");
}

TEST_CASE("conv layers: Conv2d padding modes match the padded canvas", "[layers][conv]") {
  Generator generator(15);
  struct Case {
    nn::PaddingMode mode;
    Fill fill;
  };
  for (const Case& c : {Case{nn::PaddingMode::zeros, Fill::zeros}, Case{nn::PaddingMode::reflect, Fill::reflect},
                        Case{nn::PaddingMode::replicate, Fill::replicate}, Case{nn::PaddingMode::circular, Fill::circular}}) {
    INFO("padding_mode " << nn::padding_mode_name(c.mode));
    nn::Conv2d layer({.in_channels = 2, .out_channels = 3, .kernel_size = {3, 2}, .stride = {1, 2}, .padding = {2, 1},
                      .dilation = {1, 2}, .padding_mode = c.mode});
    layer.to(float64);
    const Tensor x = randn({2, 2, 4, 5}, float64, generator);
    const Tensor expected =
        reference_conv2d(reference_pad(x, 2, 2, 1, 1, c.fill), layer.weight, layer.bias, {1, 2}, {1, 2}, 1);
    CHECK(max_abs_difference(layer(x), expected) < 1e-10);
    nn::Conv1d line({.in_channels = 2, .out_channels = 1, .kernel_size = 3, .padding = 2, .padding_mode = c.mode});
    line.to(float64);
    const Tensor row = randn({1, 2, 5}, float64, generator);
    const Tensor row_expected = reference_conv2d(reference_pad(row.unsqueeze(2), 0, 0, 2, 2, c.fill),
                                                 line.weight.unsqueeze(2), line.bias, 1, 1, 1);
    CHECK(max_abs_difference(line(row), row_expected.squeeze(2)) < 1e-10);
  }
  nn::Conv2d reflect({.in_channels = 1, .out_channels = 1, .kernel_size = 3, .padding = 1,
                      .padding_mode = nn::PaddingMode::reflect});
  CHECK(reflect.extra_repr() == "1, 1, kernel_size=3, padding=1, padding_mode=reflect");
  CHECK_THROWS_WITH(reflect(zeros({1, 1, 1, 4})), Contains("pad") && Contains("reflect"));  // PyTorch's rule: pad < size
  CHECK_THROWS_WITH(reflect(zeros({1, 5, 5})), Contains("Conv2d") && Contains("[N, C, H, W]"));
}

TEST_CASE("conv layers: padding same keeps the size, PyTorch's split for even kernels", "[layers][conv]") {
  Generator generator(16);
  // kernel (4, 3), dilation (1, 2): rows pad 3 in all (1 top, 2 bottom), columns 4 (2 and 2).
  nn::Conv2d layer({.in_channels = 2, .out_channels = 2, .kernel_size = {4, 3}, .padding = nn::same, .dilation = {1, 2}});
  layer.to(float64);
  const Tensor x = randn({1, 2, 5, 6}, float64, generator);
  const Tensor y = layer(x);
  CHECK(y.shape() == Shape{1, 2, 5, 6});
  CHECK(max_abs_difference(y, reference_conv2d(reference_pad(x, 1, 2, 2, 2, Fill::zeros), layer.weight, layer.bias, 1,
                                               {1, 2}, 1)) < 1e-10);
  const auto p = nn::resolve_padding(nn::same, {4, 3}, {1, 2});
  CHECK((p.top == 1 && p.bottom == 2 && p.left == 2 && p.right == 2));
  CHECK(layer.extra_repr() == "2, 2, kernel_size=(4, 3), padding=same, dilation=(1, 2)");
  check_gradients("conv2d padding same, even kernel",
                  [](const Args& a) { return nn::functional::conv2d(a[0], a[1], a[2], 1, nn::same); },
                  {randn({1, 2, 4, 5}, float64, generator), randn({3, 2, 2, 4}, float64, generator),
                   randn({3}, float64, generator)});
  // valid is no padding; same with stride 1 is fine, with a stride it is refused (as PyTorch).
  CHECK(nn::Conv2d({.in_channels = 1, .out_channels = 1, .kernel_size = 3, .padding = nn::valid})(zeros({1, 1, 5, 5})).shape() ==
        Shape{1, 1, 3, 3});
  CHECK_THROWS_WITH(nn::Conv2d({.in_channels = 1, .out_channels = 1, .kernel_size = 3, .stride = 2, .padding = nn::same}),
                    Contains("Conv2d") && Contains("padding=same") && Contains("strided"));
  CHECK_THROWS_WITH(nn::Conv1d({.in_channels = 1, .out_channels = 1, .kernel_size = 3, .stride = 2, .padding = nn::same}),
                    Contains("Conv1d") && Contains("strided"));
  CHECK_THROWS_WITH(nn::functional::conv2d(zeros({1, 1, 5, 5}), zeros({1, 1, 3, 3}), {}, 2, nn::same),
                    Contains("conv2d") && Contains("strided"));
  nn::Conv1d line({.in_channels = 1, .out_channels = 1, .kernel_size = 4, .padding = nn::same, .dilation = 3});
  CHECK(line(zeros({2, 1, 7})).shape() == Shape{2, 1, 7});
  CHECK(line.extra_repr() == "1, 1, kernel_size=4, padding=same, dilation=3");
}
