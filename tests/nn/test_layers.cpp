// The built-in layers against naive reference loops written here (plain loops over at<double>()
// and data pointers, sharing no code with the im2col/matmul paths under test), their output
// shapes, and a float64 gradcheck table over every layer's forward with respect to its input and
// its parameters.
#include <catch2/catch.hpp>

#include <cmath>
#include <functional>
#include <limits>
#include <memory>
#include <numbers>
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

// float32 layers against float64 references: allow float32 rounding of sums of a few dozen terms.
constexpr double kFloat32Tolerance = 2e-5;

int64_t window_output(int64_t in, int64_t kernel, int64_t stride, int64_t padding, int64_t dilation) {
  return (in + 2 * padding - dilation * (kernel - 1) - 1) / stride + 1;
}

// ---- reference implementations

Tensor reference_linear(const Tensor& x, const Tensor& weight, const Tensor& bias) {
  const int64_t in = weight.shape()[1], out = weight.shape()[0];
  const int64_t rows = x.numel() / in;
  const std::vector<double> xs = x.to_vector<double>();
  Shape out_shape = x.shape();
  out_shape[out_shape.size() - 1] = out;
  Tensor y = zeros(out_shape, float64);
  double* py = y.data_ptr<double>();
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t o = 0; o < out; ++o) {
      double total = bias.defined() ? bias.at<double>({o}) : 0.0;
      for (int64_t k = 0; k < in; ++k) total += xs[static_cast<size_t>(r * in + k)] * weight.at<double>({o, k});
      py[r * out + o] = total;
    }
  }
  return y;
}

Tensor reference_conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias, Size2d stride, Size2d padding,
                        Size2d dilation, int64_t groups) {
  const int64_t batch = x.shape()[0], height = x.shape()[2], width = x.shape()[3];
  const int64_t out_channels = weight.shape()[0], group_in = weight.shape()[1];
  const int64_t kh = weight.shape()[2], kw = weight.shape()[3];
  const int64_t group_out = out_channels / groups;
  const int64_t oh = window_output(height, kh, stride.h, padding.h, dilation.h);
  const int64_t ow = window_output(width, kw, stride.w, padding.w, dilation.w);
  Tensor out = zeros({batch, out_channels, oh, ow}, float64);
  double* po = out.data_ptr<double>();
  for (int64_t n = 0; n < batch; ++n) {
    for (int64_t o = 0; o < out_channels; ++o) {
      const int64_t first_channel = (o / group_out) * group_in;
      for (int64_t i = 0; i < oh; ++i) {
        for (int64_t j = 0; j < ow; ++j) {
          double total = bias.defined() ? bias.at<double>({o}) : 0.0;
          for (int64_t c = 0; c < group_in; ++c) {
            for (int64_t ki = 0; ki < kh; ++ki) {
              for (int64_t kj = 0; kj < kw; ++kj) {
                const int64_t r = i * stride.h - padding.h + ki * dilation.h;
                const int64_t s = j * stride.w - padding.w + kj * dilation.w;
                if (r < 0 || r >= height || s < 0 || s >= width) continue;
                total += x.at<double>({n, first_channel + c, r, s}) * weight.at<double>({o, c, ki, kj});
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

// Max (or average) over each window; padding never wins a max and counts toward an average only
// with count_include_pad.
enum class PoolKind { max, average_include_pad, average_exclude_pad };

Tensor reference_pool2d(const Tensor& x, PoolKind kind, Size2d kernel, Size2d stride, Size2d padding,
                        Size2d dilation = 1) {
  const int64_t batch = x.shape()[0], channels = x.shape()[1], height = x.shape()[2], width = x.shape()[3];
  const int64_t oh = window_output(height, kernel.h, stride.h, padding.h, dilation.h);
  const int64_t ow = window_output(width, kernel.w, stride.w, padding.w, dilation.w);
  Tensor out = zeros({batch, channels, oh, ow}, float64);
  double* po = out.data_ptr<double>();
  for (int64_t n = 0; n < batch; ++n) {
    for (int64_t c = 0; c < channels; ++c) {
      for (int64_t i = 0; i < oh; ++i) {
        for (int64_t j = 0; j < ow; ++j) {
          double best = -std::numeric_limits<double>::infinity();
          double total = 0.0;
          int64_t inside = 0;
          for (int64_t ki = 0; ki < kernel.h; ++ki) {
            for (int64_t kj = 0; kj < kernel.w; ++kj) {
              const int64_t r = i * stride.h - padding.h + ki * dilation.h;
              const int64_t s = j * stride.w - padding.w + kj * dilation.w;
              if (r < 0 || r >= height || s < 0 || s >= width) continue;
              const double v = x.at<double>({n, c, r, s});
              best = std::max(best, v);
              total += v;
              ++inside;
            }
          }
          double value = best;
          if (kind == PoolKind::average_include_pad) value = total / static_cast<double>(kernel.h * kernel.w);
          if (kind == PoolKind::average_exclude_pad) value = total / static_cast<double>(inside);
          po[((n * channels + c) * oh + i) * ow + j] = value;
        }
      }
    }
  }
  return out;
}

// PyTorch's adaptive regions: output i averages inputs [floor(i*in/out), ceil((i+1)*in/out)).
Tensor reference_adaptive_avg_pool2d(const Tensor& x, Size2d output) {
  const int64_t batch = x.shape()[0], channels = x.shape()[1], height = x.shape()[2], width = x.shape()[3];
  auto start = [](int64_t i, int64_t in, int64_t out) {
    return static_cast<int64_t>(std::floor(static_cast<double>(i * in) / static_cast<double>(out)));
  };
  auto end = [](int64_t i, int64_t in, int64_t out) {
    return static_cast<int64_t>(std::ceil(static_cast<double>((i + 1) * in) / static_cast<double>(out)));
  };
  Tensor out = zeros({batch, channels, output.h, output.w}, float64);
  double* po = out.data_ptr<double>();
  for (int64_t n = 0; n < batch; ++n) {
    for (int64_t c = 0; c < channels; ++c) {
      for (int64_t i = 0; i < output.h; ++i) {
        for (int64_t j = 0; j < output.w; ++j) {
          double total = 0.0;
          int64_t count = 0;
          for (int64_t r = start(i, height, output.h); r < end(i, height, output.h); ++r) {
            for (int64_t s = start(j, width, output.w); s < end(j, width, output.w); ++s) {
              total += x.at<double>({n, c, r, s});
              ++count;
            }
          }
          po[((n * channels + c) * output.h + i) * output.w + j] = total / static_cast<double>(count);
        }
      }
    }
  }
  return out;
}

// Per-channel statistics of x [N, C, ...]: the mean and the biased (population) variance.
struct ChannelStats {
  std::vector<double> mean, biased_var, unbiased_var;
};

ChannelStats channel_stats(const Tensor& x) {
  const int64_t batch = x.shape()[0], channels = x.shape()[1];
  const int64_t spatial = x.numel() / (batch * channels);
  const std::vector<double> values = x.to_vector<double>();
  ChannelStats stats;
  for (int64_t c = 0; c < channels; ++c) {
    double total = 0.0;
    for (int64_t n = 0; n < batch; ++n) {
      for (int64_t s = 0; s < spatial; ++s) total += values[static_cast<size_t>((n * channels + c) * spatial + s)];
    }
    const double count = static_cast<double>(batch * spatial);
    const double mean = total / count;
    double squares = 0.0;
    for (int64_t n = 0; n < batch; ++n) {
      for (int64_t s = 0; s < spatial; ++s) {
        const double d = values[static_cast<size_t>((n * channels + c) * spatial + s)] - mean;
        squares += d * d;
      }
    }
    stats.mean.push_back(mean);
    stats.biased_var.push_back(squares / count);
    stats.unbiased_var.push_back(squares / (count - 1.0));
  }
  return stats;
}

// (x - mean[c]) / sqrt(var[c] + eps) * weight[c] + bias[c]; weight/bias may be empty (1 and 0).
Tensor reference_batch_norm(const Tensor& x, const std::vector<double>& mean, const std::vector<double>& var,
                            const std::vector<double>& weight, const std::vector<double>& bias, double eps) {
  const int64_t batch = x.shape()[0], channels = x.shape()[1];
  const int64_t spatial = x.numel() / (batch * channels);
  const std::vector<double> values = x.to_vector<double>();
  Tensor out = zeros(x.shape(), float64);
  double* po = out.data_ptr<double>();
  for (int64_t n = 0; n < batch; ++n) {
    for (int64_t c = 0; c < channels; ++c) {
      const auto cc = static_cast<size_t>(c);
      for (int64_t s = 0; s < spatial; ++s) {
        const int64_t at = (n * channels + c) * spatial + s;
        const double normalised = (values[static_cast<size_t>(at)] - mean[cc]) / std::sqrt(var[cc] + eps);
        po[at] = normalised * (weight.empty() ? 1.0 : weight[cc]) + (bias.empty() ? 0.0 : bias[cc]);
      }
    }
  }
  return out;
}

std::vector<double> values_of(const Tensor& t) { return t.to_vector<double>(); }

// Every element of `values` against `expected` within `tolerance`.
void check_values(const Tensor& values, const Tensor& expected, double tolerance = kFloat32Tolerance) {
  REQUIRE(values.shape() == expected.shape());
  CHECK(max_abs_difference(values, expected) <= tolerance);
}

// ---- convolution cases, shared by the reference comparison and the gradcheck table

struct ConvCase {
  std::string name;
  Shape input;  // [N, C, H, W]
  nn::Conv2dOptions options;
};

std::vector<ConvCase> conv_cases() {
  return {
      {"3x3", {2, 3, 5, 6}, {.in_channels = 3, .out_channels = 4, .kernel_size = 3}},
      {"stride 2, padding 1", {2, 2, 7, 6}, {.in_channels = 2, .out_channels = 3, .kernel_size = 3, .stride = 2, .padding = 1}},
      {"kernel 2x3, stride (1, 2), padding (2, 1), dilation 2",
       {1, 2, 7, 8},
       {.in_channels = 2, .out_channels = 2, .kernel_size = {2, 3}, .stride = {1, 2}, .padding = {2, 1}, .dilation = 2}},
      {"groups 2, padding 1", {2, 4, 5, 5}, {.in_channels = 4, .out_channels = 6, .kernel_size = 3, .padding = 1, .groups = 2}},
      {"depthwise (groups = in_channels)",
       {2, 3, 5, 5},
       {.in_channels = 3, .out_channels = 3, .kernel_size = 3, .padding = 1, .groups = 3}},
      {"depthwise with channel multiplier 2",
       {1, 3, 5, 4},
       {.in_channels = 3, .out_channels = 6, .kernel_size = {3, 2}, .groups = 3}},
      {"no bias", {1, 3, 4, 4}, {.in_channels = 3, .out_channels = 2, .kernel_size = 3, .bias = false}},
      {"groups 2, stride 2, dilation (2, 1), no bias",
       {1, 4, 9, 7},
       {.in_channels = 4, .out_channels = 2, .kernel_size = {3, 2}, .stride = 2, .dilation = {2, 1}, .groups = 2, .bias = false}},
      {"1x1 kernel", {2, 3, 3, 4}, {.in_channels = 3, .out_channels = 5, .kernel_size = 1}},
  };
}

}  // namespace

// ====================================================================== outputs vs references

TEST_CASE("layers: Linear matches x W^T + b", "[layers]") {
  Generator generator(1);
  SECTION("with bias, 2-d input") {
    nn::Linear layer(5, 4);
    const Tensor x = randn({3, 5}, float32, generator);
    const Tensor y = layer(x);
    CHECK(y.shape() == Shape{3, 4});
    check_values(y, reference_linear(x, layer.weight, layer.bias));
  }
  SECTION("with bias, leading batch axes") {
    nn::Linear layer(5, 4);
    const Tensor x = randn({2, 3, 5}, float32, generator);
    const Tensor y = layer(x);
    CHECK(y.shape() == Shape{2, 3, 4});
    check_values(y, reference_linear(x, layer.weight, layer.bias));
  }
  SECTION("1-d input: a single sample") {
    nn::Linear layer(5, 4);
    const Tensor x = randn({5}, float32, generator);
    const Tensor y = layer(x);
    CHECK(y.shape() == Shape{4});
    check_values(y, reference_linear(x, layer.weight, layer.bias));
  }
  SECTION("without bias") {
    nn::Linear layer(5, 4, false);
    CHECK_FALSE(layer.bias.defined());
    CHECK(layer.named_parameters().size() == 1);
    const Tensor x = randn({3, 5}, float32, generator);
    check_values(layer(x), reference_linear(x, layer.weight, Tensor()));
  }
  nn::Linear layer(5, 4);
  CHECK_THROWS_WITH(layer(zeros({3, 6})), Contains("linear") && Contains("[3, 6]") && Contains("[4, 5]"));
  CHECK_THROWS_WITH(nn::Linear(0, 4), Contains("Linear") && Contains("positive"));
}

TEST_CASE("layers: Conv2d matches the direct convolution loop", "[layers][conv]") {
  Generator generator(2);
  for (const ConvCase& c : conv_cases()) {
    INFO("Conv2d case: " << c.name);
    nn::Conv2d layer(c.options);
    const auto& o = c.options;
    CHECK(layer.weight.shape() ==
          Shape{o.out_channels, o.in_channels / o.groups, o.kernel_size.h, o.kernel_size.w});
    CHECK(layer.bias.defined() == o.bias);
    const Tensor x = randn(c.input, float32, generator);
    const Tensor y = layer(x);
    const Shape expected_shape{c.input[0], o.out_channels,
                               window_output(c.input[2], o.kernel_size.h, o.stride.h, o.padding.sizes().h, o.dilation.h),
                               window_output(c.input[3], o.kernel_size.w, o.stride.w, o.padding.sizes().w, o.dilation.w)};
    CHECK(y.shape() == expected_shape);
    check_values(y, reference_conv2d(x, layer.weight, o.bias ? layer.bias : Tensor(), o.stride,
                                            o.padding.sizes(), o.dilation, o.groups));
  }
}

TEST_CASE("layers: Conv2d refuses inconsistent channels and groups", "[layers][conv]") {
  CHECK_THROWS_WITH(nn::Conv2d({.in_channels = 4, .out_channels = 3, .kernel_size = 3, .groups = 2}),
                    Contains("divisible by groups 2"));
  CHECK_THROWS_WITH(nn::Conv2d({.in_channels = 3, .out_channels = 4, .kernel_size = 3, .groups = 2}),
                    Contains("divisible by groups 2"));
  CHECK_THROWS_WITH(nn::Conv2d(3, 4, 0), Contains("kernel_size"));
  nn::Conv2d layer({.in_channels = 4, .out_channels = 4, .kernel_size = 3, .groups = 2});
  CHECK_THROWS_WITH(layer(zeros({1, 3, 5, 5})), Contains("conv2d") && Contains("[1, 3, 5, 5]") && Contains("groups=2"));
  CHECK_THROWS_WITH(layer(zeros({1, 4, 2, 2})), Contains("conv2d"));  // the kernel does not fit
  CHECK_THROWS_WITH(layer(zeros({4, 5, 5})), Contains("[N, C, H, W]") && Contains("[4, 5, 5]"));
  CHECK(layer.extra_repr() == "4, 4, kernel_size=3, groups=2");
  CHECK(nn::Conv2d({.in_channels = 1, .out_channels = 2, .kernel_size = {3, 5}, .stride = 2, .padding = {1, 2},
                    .bias = false})
            .extra_repr() == "1, 2, kernel_size=(3, 5), stride=2, padding=(1, 2), bias=false");
}

TEST_CASE("layers: MaxPool2d matches the window maximum", "[layers][pool]") {
  Generator generator(3);
  struct Case {
    std::string name;
    Shape input;
    nn::Pool2dOptions options;
  };
  const std::vector<Case> cases{
      {"kernel 2 (stride defaults to kernel)", {2, 3, 6, 6}, {.kernel_size = 2}},
      {"kernel 3, stride 2, padding 1", {1, 2, 5, 6}, {.kernel_size = 3, .stride = 2, .padding = 1}},
      {"kernel 2, stride 1 (overlapping)", {1, 2, 4, 5}, {.kernel_size = 2, .stride = 1}},
      {"kernel (3, 2), stride (1, 2), padding (1, 0), dilation (1, 2)",
       {1, 1, 6, 7},
       {.kernel_size = {3, 2}, .stride = {1, 2}, .padding = {1, 0}, .dilation = {1, 2}}},
  };
  for (const Case& c : cases) {
    INFO("MaxPool2d case: " << c.name);
    nn::MaxPool2d layer(c.options);
    const Tensor x = randn(c.input, float32, generator);
    const Size2d stride = c.options.stride == Size2d(0) ? c.options.kernel_size : c.options.stride;
    check_values(layer(x),
                 reference_pool2d(x, PoolKind::max, c.options.kernel_size, stride, c.options.padding, c.options.dilation),
                 0.0);
  }

  SECTION("padding never wins, even over negative inputs") {
    nn::MaxPool2d layer({.kernel_size = 3, .stride = 2, .padding = 1});
    const Tensor y = layer(full({1, 1, 5, 5}, -2.0));
    CHECK(y.shape() == Shape{1, 1, 3, 3});
    CHECK(values_of(y) == std::vector<double>(9, -2.0));
  }
  SECTION("ties send the gradient to the first position of the window") {
    // Window (0, 0) has two maxima, at (0, 1) and (1, 0); the other windows are all equal.
    Tensor values = full({1, 1, 4, 4}, -1.0, float64);
    values.data_ptr<double>()[0 * 4 + 1] = 5.0;
    values.data_ptr<double>()[1 * 4 + 0] = 5.0;
    Tensor x = values.detach().requires_grad_();
    nn::MaxPool2d layer(2);
    const Tensor y = layer(x);
    CHECK(values_of(y) == std::vector<double>{5.0, -1.0, -1.0, -1.0});
    sum(y).backward();
    CHECK(values_of(x.grad()) == std::vector<double>{0, 1, 1, 0,  //
                                                            0, 0, 0, 0,  //
                                                            1, 0, 1, 0,  //
                                                            0, 0, 0, 0});
  }
}

TEST_CASE("layers: AvgPool2d matches the window mean, with and without padding counted", "[layers][pool]") {
  Generator generator(4);
  struct Case {
    std::string name;
    Shape input;
    Size2d kernel, stride, padding;
  };
  const std::vector<Case> cases{
      {"kernel 2 (stride defaults to kernel)", {2, 3, 4, 6}, 2, 0, 0},
      {"kernel 3, stride 2, padding 1", {1, 2, 5, 6}, 3, 2, 1},
      {"kernel (3, 2), stride (2, 1), padding 1", {1, 2, 5, 4}, {3, 2}, {2, 1}, 1},
  };
  for (const Case& c : cases) {
    for (const bool include_pad : {true, false}) {
      INFO("AvgPool2d case: " << c.name << ", count_include_pad " << include_pad);
      nn::AvgPool2d layer(
          {.kernel_size = c.kernel, .stride = c.stride, .padding = c.padding, .count_include_pad = include_pad});
      const Tensor x = randn(c.input, float32, generator);
      const Size2d stride = c.stride == Size2d(0) ? c.kernel : c.stride;
      check_values(layer(x),
                   reference_pool2d(x, include_pad ? PoolKind::average_include_pad : PoolKind::average_exclude_pad,
                                    c.kernel, stride, c.padding));
    }
  }
  SECTION("corner window of ones: 4/9 with padding counted, 1 without") {
    const Tensor x = ones({1, 1, 3, 3});
    nn::AvgPool2d counted({.kernel_size = 3, .stride = 1, .padding = 1});
    nn::AvgPool2d uncounted({.kernel_size = 3, .stride = 1, .padding = 1, .count_include_pad = false});
    CHECK(counted(x).at({0, 0, 0, 0}) == Approx(4.0 / 9.0));
    CHECK(counted(x).at({0, 0, 1, 1}) == Approx(1.0));
    CHECK(uncounted(x).at({0, 0, 0, 0}) == Approx(1.0));
  }
}

TEST_CASE("layers: AdaptiveAvgPool2d follows PyTorch's region formula", "[layers][pool]") {
  Generator generator(5);
  struct Case {
    Shape input;
    Size2d output;
  };
  const std::vector<Case> cases{
      {{2, 3, 6, 4}, {3, 2}},  // divisible: plain 2x2 average pooling
      {{1, 2, 5, 7}, {3, 2}},  // overlapping, uneven regions
      {{2, 2, 4, 5}, {1, 1}},  // global average
      {{1, 1, 3, 3}, {5, 5}},  // more outputs than inputs
      {{1, 2, 7, 5}, {7, 5}},  // identity
      {{1, 1, 7, 6}, {4, 4}},
  };
  for (const Case& c : cases) {
    INFO("AdaptiveAvgPool2d " << to_string(c.input) << " -> " << c.output.h << "x" << c.output.w);
    nn::AdaptiveAvgPool2d layer(c.output);
    const Tensor x = randn(c.input, float32, generator);
    const Tensor y = layer(x);
    CHECK(y.shape() == Shape{c.input[0], c.input[1], c.output.h, c.output.w});
    check_values(y, reference_adaptive_avg_pool2d(x, c.output));
  }
  SECTION("5 -> 3 by hand: regions [0, 2), [1, 4), [3, 5)") {
    nn::AdaptiveAvgPool2d layer({1, 3});
    const Tensor y = layer(tensor({0, 1, 2, 3, 4}, {1, 1, 1, 5}, float64));
    CHECK(values_of(y) == std::vector<double>{0.5, 2.0, 3.5});
  }
  CHECK_THROWS_WITH(nn::AdaptiveAvgPool2d(0)(zeros({1, 1, 2, 2})), Contains("adaptive_avg_pool2d"));
  CHECK_THROWS_WITH(nn::AdaptiveAvgPool2d(2)(zeros({1, 2, 2})), Contains("[N, C, H, W]"));
}

TEST_CASE("layers: Flatten joins axes and keeps the element order", "[layers]") {
  const Tensor x = arange(0.0, 120.0, 1.0, float32).reshape({2, 3, 4, 5});
  CHECK(nn::Flatten()(x).shape() == Shape{2, 60});
  CHECK(nn::Flatten(0, -1)(x).shape() == Shape{120});
  CHECK(nn::Flatten(1, 2)(x).shape() == Shape{2, 12, 5});
  CHECK(nn::Flatten(2)(x).shape() == Shape{2, 3, 20});
  CHECK(values_of(nn::Flatten()(x)) == values_of(x));
  // A non-contiguous input flattens in its logical order.
  const Tensor transposed = x.transpose(1, 3);
  CHECK(values_of(nn::Flatten()(transposed)) == values_of(transposed.contiguous()));
}

TEST_CASE("layers: Dropout", "[layers][dropout]") {
  const int64_t count = 100000;
  const Tensor x = ones({count});

  SECTION("eval mode is the identity") {
    nn::Dropout layer(0.5);
    layer.eval();
    CHECK(max_abs_difference(layer(x), x) == 0.0);
  }
  SECTION("training zeroes a fraction p and scales the rest by 1/(1-p)") {
    for (const double p : {0.1, 0.3, 0.5, 0.8}) {
      INFO("p = " << p);
      nn::Dropout layer(p, 7);
      Tensor input = x.detach().requires_grad_();
      const Tensor y = layer(input);
      const std::vector<double> values = values_of(y);
      int64_t zeros_seen = 0;
      int64_t wrongly_scaled = 0;
      for (double v : values) {
        if (v == 0.0) {
          ++zeros_seen;
        } else if (std::abs(v - 1.0 / (1.0 - p)) > 1e-6 * (1.0 / (1.0 - p))) {
          ++wrongly_scaled;
        }
      }
      // The count of zeros is Binomial(n, p): its standard deviation is at most 0.0016 n here.
      CHECK(static_cast<double>(zeros_seen) / count == Approx(p).margin(0.01));
      CHECK(wrongly_scaled == 0);
      // The gradient is the same mask and scale.
      sum(y).backward();
      CHECK(values_of(input.grad()) == values);
    }
  }
  SECTION("the same seed gives the same mask; the stream moves on between calls") {
    nn::Dropout first(0.5, 42), second(0.5, 42), other(0.5, 43);
    const Tensor a = first(x);
    CHECK(max_abs_difference(a, second(x)) == 0.0);
    CHECK(max_abs_difference(a, other(x)) > 0.0);
    CHECK(max_abs_difference(a, first(x)) > 0.0);  // the next call draws a new mask

    // Without a seed of its own the layer draws from the default generator.
    nn::Dropout shared(0.5);
    manual_seed(9);
    const Tensor b = shared(x);
    manual_seed(9);
    CHECK(max_abs_difference(b, shared(x)) == 0.0);
  }
  SECTION("p = 0 keeps everything; p = 1 zeroes everything with a zero gradient") {
    nn::Dropout keep_all(0.0, 1);
    CHECK(max_abs_difference(keep_all(x), x) == 0.0);

    nn::Dropout drop_all(1.0, 1);
    Tensor input = x.detach().requires_grad_();
    const Tensor y = drop_all(input);
    CHECK(values_of(y) == std::vector<double>(count, 0.0));
    sum(y).backward();
    CHECK(values_of(input.grad()) == std::vector<double>(count, 0.0));
  }
  SECTION("p outside [0, 1] is refused") {
    CHECK_THROWS_WITH(nn::Dropout(1.5), Contains("Dropout") && Contains("1.5"));
    CHECK_THROWS_WITH(nn::Dropout(-0.1), Contains("Dropout"));
    CHECK_THROWS_WITH(nn::functional::dropout(x, std::nan(""), true), Contains("dropout"));
  }
}

TEST_CASE("layers: BatchNorm2d in training normalises with batch statistics and updates running ones",
          "[layers][batchnorm]") {
  Generator generator(6);
  nn::BatchNorm2d layer(2);
  CHECK(layer.type_name() == "BatchNorm2d");
  layer.weight.data().copy_(tensor({1.5, -0.5}));  // .data(): a write autograd does not see
  layer.bias.data().copy_(tensor({0.2, 0.3}));
  const std::vector<double> weight{1.5, -0.5}, bias{0.2, 0.3};

  const Tensor x1 = add(mul(randn({3, 2, 2, 3}, float32, generator), 2.0), 1.0);
  const ChannelStats s1 = channel_stats(x1);
  check_values(layer(x1), reference_batch_norm(x1, s1.mean, s1.biased_var, weight, bias, 1e-5));
  CHECK(layer.num_batches_tracked.item<int64_t>() == 1);
  for (size_t c = 0; c < 2; ++c) {
    const auto i = static_cast<int64_t>(c);
    CHECK(layer.running_mean.at({i}) == Approx(0.1 * s1.mean[c]).epsilon(1e-5));
    CHECK(layer.running_var.at({i}) == Approx(0.9 + 0.1 * s1.unbiased_var[c]).epsilon(1e-5));
  }

  const Tensor x2 = sub(randn({3, 2, 2, 3}, float32, generator), 0.5);
  const ChannelStats s2 = channel_stats(x2);
  check_values(layer(x2), reference_batch_norm(x2, s2.mean, s2.biased_var, weight, bias, 1e-5));
  CHECK(layer.num_batches_tracked.item<int64_t>() == 2);
  std::vector<double> running_mean, running_var;
  for (size_t c = 0; c < 2; ++c) {
    const auto i = static_cast<int64_t>(c);
    running_mean.push_back(0.9 * 0.1 * s1.mean[c] + 0.1 * s2.mean[c]);
    running_var.push_back(0.9 * (0.9 + 0.1 * s1.unbiased_var[c]) + 0.1 * s2.unbiased_var[c]);
    CHECK(layer.running_mean.at({i}) == Approx(running_mean[c]).epsilon(1e-5));
    CHECK(layer.running_var.at({i}) == Approx(running_var[c]).epsilon(1e-5));
  }

  SECTION("eval uses the running statistics and changes nothing") {
    layer.eval();
    const Tensor x3 = randn({2, 2, 3, 3}, float32, generator);
    check_values(layer(x3), reference_batch_norm(x3, running_mean, running_var, weight, bias, 1e-5));
    CHECK(layer.num_batches_tracked.item<int64_t>() == 2);
    CHECK(layer.running_mean.at({0}) == Approx(running_mean[0]).epsilon(1e-5));
    CHECK(layer.running_var.at({1}) == Approx(running_var[1]).epsilon(1e-5));
  }
}

TEST_CASE("layers: BatchNorm1d on [N, C] and [N, C, L], with momentum and eps", "[layers][batchnorm]") {
  Generator generator(7);
  for (const Shape& shape : {Shape{5, 3}, Shape{4, 3, 2}}) {
    INFO("input shape " << to_string(shape));
    nn::BatchNorm1d layer({.num_features = 3, .eps = 1e-3, .momentum = 0.3});
    CHECK(layer.type_name() == "BatchNorm1d");
    const Tensor x = add(mul(randn(shape, float32, generator), 3.0), 2.0);
    const ChannelStats s = channel_stats(x);
    check_values(layer(x), reference_batch_norm(x, s.mean, s.biased_var, {}, {}, 1e-3));
    for (size_t c = 0; c < 3; ++c) {
      const auto i = static_cast<int64_t>(c);
      CHECK(layer.running_mean.at({i}) == Approx(0.3 * s.mean[c]).epsilon(1e-5));
      CHECK(layer.running_var.at({i}) == Approx(0.7 + 0.3 * s.unbiased_var[c]).epsilon(1e-5));
    }
    layer.eval();
    std::vector<double> running_mean, running_var;
    for (int64_t c = 0; c < 3; ++c) {
      running_mean.push_back(layer.running_mean.at({c}));
      running_var.push_back(layer.running_var.at({c}));
    }
    check_values(layer(x), reference_batch_norm(x, running_mean, running_var, {}, {}, 1e-3));
  }
}

TEST_CASE("layers: BatchNorm without affine parameters or running statistics", "[layers][batchnorm]") {
  Generator generator(8);
  const Tensor x = add(randn({4, 3, 2, 2}, float32, generator), 5.0);
  const ChannelStats s = channel_stats(x);
  const Tensor normalised = reference_batch_norm(x, s.mean, s.biased_var, {}, {}, 1e-5);

  SECTION("affine = false: no parameters, the output is only normalised") {
    nn::BatchNorm2d layer({.num_features = 3, .affine = false});
    CHECK(layer.named_parameters().empty());
    CHECK_FALSE(layer.weight.defined());
    CHECK(layer.named_buffers().size() == 3);
    check_values(layer(x), normalised);
  }
  SECTION("track_running_stats = false: no buffers, batch statistics in train and eval alike") {
    nn::BatchNorm2d layer({.num_features = 3, .track_running_stats = false});
    CHECK(layer.named_buffers().empty());
    CHECK(layer.named_parameters().size() == 2);
    check_values(layer(x), normalised);
    layer.eval();
    check_values(layer(x), normalised);
  }
}

TEST_CASE("layers: BatchNorm refuses the wrong rank or channel count", "[layers][batchnorm]") {
  nn::BatchNorm2d two_d(2);
  CHECK_THROWS_WITH(two_d(zeros({2, 2, 3})), Contains("BatchNorm2d") && Contains("[N, C, H, W]") && Contains("[2, 2, 3]"));
  CHECK_THROWS_WITH(two_d(zeros({2, 3, 2, 2})), Contains("3 channels") && Contains("built for 2"));
  nn::BatchNorm1d one_d(4);
  CHECK_THROWS_WITH(one_d(zeros({2, 4, 2, 2})), Contains("BatchNorm1d") && Contains("[N, C] or [N, C, L]"));
  CHECK_THROWS_WITH(one_d(zeros({1, 4})), Contains("more than one value per channel"));
  CHECK_THROWS_WITH(nn::BatchNorm2d(0), Contains("num_features"));

  // The functional form checks every per-channel tensor before it updates anything.
  const Tensor x = tensor({1, 2, 3, 4, 5, 6}, {3, 2});
  const Tensor running_mean = zeros({2}), running_var = ones({2});
  CHECK_THROWS_WITH(nn::functional::batch_norm(x, running_mean, Tensor(), {}, {}, true),
                    Contains("batch_norm") && Contains("running_var"));
  CHECK_THROWS_WITH(nn::functional::batch_norm(x, running_mean, ones({3}), {}, {}, true),
                    Contains("running_var") && Contains("[3]") && Contains("2 channels"));
  CHECK_THROWS_WITH(nn::functional::batch_norm(x, running_mean, running_var, Tensor(ones({3})), {}, true),
                    Contains("weight") && Contains("[3]") && Contains("[3, 2]"));
  CHECK_THROWS_WITH(nn::functional::batch_norm(x, running_mean, running_var, {}, Tensor(zeros({1})), true),
                    Contains("bias") && Contains("[1]"));
  CHECK(running_mean.to_vector<double>() == std::vector<double>{0.0, 0.0});
  CHECK(running_var.to_vector<double>() == std::vector<double>{1.0, 1.0});
}

TEST_CASE("layers: activations match their formulas", "[layers][activations]") {
  const Tensor x = linspace(-4.0, 4.0, 33, float64);
  const std::vector<double> xs = values_of(x);
  const double k = std::sqrt(2.0 / std::numbers::pi);
  struct Case {
    std::string name;
    std::shared_ptr<nn::Module> layer;
    std::function<double(double)> formula;
  };
  const std::vector<Case> cases{
      {"ReLU", std::make_shared<nn::ReLU>(), [](double v) { return v > 0 ? v : 0.0; }},
      {"LeakyReLU (default 0.01)", std::make_shared<nn::LeakyReLU>(), [](double v) { return v > 0 ? v : 0.01 * v; }},
      {"LeakyReLU 0.2", std::make_shared<nn::LeakyReLU>(0.2), [](double v) { return v > 0 ? v : 0.2 * v; }},
      {"Sigmoid", std::make_shared<nn::Sigmoid>(), [](double v) { return 1.0 / (1.0 + std::exp(-v)); }},
      {"Tanh", std::make_shared<nn::Tanh>(), [](double v) { return std::tanh(v); }},
      {"GELU", std::make_shared<nn::GELU>(),
       [](double v) { return 0.5 * v * (1.0 + std::erf(v / std::numbers::sqrt2)); }},
      {"GELU (tanh)", std::make_shared<nn::GELU>("tanh"),
       [k](double v) { return 0.5 * v * (1.0 + std::tanh(k * (v + 0.044715 * v * v * v))); }},
  };
  for (const Case& c : cases) {
    INFO(c.name);
    for (const DType dtype : {float64, float32}) {
      const Tensor y = (*c.layer)(x.to(dtype));
      CHECK(y.dtype() == dtype);
      REQUIRE(y.shape() == x.shape());
      const std::vector<double> ys = values_of(y);
      double worst = 0.0;
      for (size_t i = 0; i < xs.size(); ++i) worst = std::max(worst, std::abs(ys[i] - c.formula(xs[i])));
      CHECK(worst <= (dtype == float64 ? 1e-12 : 1e-6));
    }
  }
}

TEST_CASE("layers: GELU at known values", "[layers][activations]") {
  const Tensor x = tensor({-1.0, 0.0, 1.0, 3.0}, {}, float64);
  const std::vector<double> exact = values_of(nn::GELU()(x));
  CHECK(exact[0] == Approx(-0.15865525393145707).epsilon(1e-12));
  CHECK(exact[1] == 0.0);
  CHECK(exact[2] == Approx(0.8413447460685429).epsilon(1e-12));
  CHECK(exact[3] == Approx(2.99595030590511).epsilon(1e-12));
  const std::vector<double> approximate = values_of(nn::GELU("tanh")(x));
  CHECK(approximate[0] == Approx(-0.15880800939172324).epsilon(1e-12));
  CHECK(approximate[2] == Approx(0.8411919906082768).epsilon(1e-12));
  CHECK(approximate[3] == Approx(2.996362607918227).epsilon(1e-12));
}

TEST_CASE("layers: Softmax and LogSoftmax along an axis, stable for large inputs", "[layers][activations]") {
  const Tensor x = tensor({1000, 1001, 1002, 999,  //
                           -3, 0, 2, 0.5,          //
                           -1000, -1000, -999, -1002},
                          {3, 4}, float64);
  for (const int64_t axis : {1, 0, -1}) {
    INFO("axis " << axis);
    const int64_t a = axis < 0 ? axis + 2 : axis;
    Tensor expected_probs = zeros({3, 4}, float64);
    Tensor expected_logs = zeros({3, 4}, float64);
    for (int64_t i = 0; i < 3; ++i) {
      for (int64_t j = 0; j < 4; ++j) {
        // Shift by the max along the axis, so exp never overflows.
        const int64_t length = a == 1 ? 4 : 3;
        double largest = -std::numeric_limits<double>::infinity();
        for (int64_t m = 0; m < length; ++m) largest = std::max(largest, a == 1 ? x.at({i, m}) : x.at({m, j}));
        double total = 0.0;
        for (int64_t m = 0; m < length; ++m) total += std::exp((a == 1 ? x.at({i, m}) : x.at({m, j})) - largest);
        const double shifted = x.at({i, j}) - largest;
        expected_probs.data_ptr<double>()[i * 4 + j] = std::exp(shifted) / total;
        expected_logs.data_ptr<double>()[i * 4 + j] = shifted - std::log(total);
      }
    }
    check_values(nn::Softmax(axis)(x), expected_probs, 1e-12);
    check_values(nn::LogSoftmax(axis)(x), expected_logs, 1e-9);
  }
}

TEST_CASE("layers: output shapes through a LeNet-style Sequential", "[layers]") {
  auto conv1 = std::make_shared<nn::Conv2d>(nn::Conv2dOptions{.in_channels = 1, .out_channels = 6, .kernel_size = 5, .padding = 2});
  auto pool1 = std::make_shared<nn::MaxPool2d>(2);
  auto conv2 = std::make_shared<nn::Conv2d>(6, 16, 5);
  auto pool2 = std::make_shared<nn::AvgPool2d>(2);
  auto flatten = std::make_shared<nn::Flatten>();
  auto fc1 = std::make_shared<nn::Linear>(400, 32);
  auto norm = std::make_shared<nn::BatchNorm1d>(32);
  auto dropout = std::make_shared<nn::Dropout>(0.5, 3);
  auto fc2 = std::make_shared<nn::Linear>(32, 10);
  auto log_probs = std::make_shared<nn::LogSoftmax>(1);
  nn::Sequential model{conv1, std::make_shared<nn::ReLU>(), pool1, conv2, std::make_shared<nn::GELU>(), pool2,
                       flatten, fc1, norm, std::make_shared<nn::Tanh>(), dropout, fc2, log_probs};
  Generator generator(9);
  const Tensor y = model(randn({2, 1, 28, 28}, float32, generator));
  CHECK(y.shape() == Shape{2, 10});
  CHECK(conv1->last_output_shape() == to_string(Shape{2, 6, 28, 28}));
  CHECK(pool1->last_output_shape() == to_string(Shape{2, 6, 14, 14}));
  CHECK(conv2->last_output_shape() == to_string(Shape{2, 16, 10, 10}));
  CHECK(pool2->last_output_shape() == to_string(Shape{2, 16, 5, 5}));
  CHECK(flatten->last_output_shape() == to_string(Shape{2, 400}));
  CHECK(fc1->last_output_shape() == to_string(Shape{2, 32}));
  CHECK(norm->last_output_shape() == to_string(Shape{2, 32}));
  CHECK(log_probs->last_output_shape() == to_string(Shape{2, 10}));

  // Other shapes worth pinning down.
  CHECK(nn::Conv2d({.in_channels = 3, .out_channels = 8, .kernel_size = 3, .stride = 2})(zeros({1, 3, 9, 9})).shape() ==
        Shape{1, 8, 4, 4});
  CHECK(nn::MaxPool2d({.kernel_size = 3, .stride = 2, .padding = 1})(zeros({1, 1, 7, 7})).shape() == Shape{1, 1, 4, 4});
  CHECK(nn::AvgPool2d({.kernel_size = 3, .stride = 1, .padding = 1})(zeros({1, 2, 5, 5})).shape() == Shape{1, 2, 5, 5});
  CHECK(nn::AdaptiveAvgPool2d(1)(zeros({2, 8, 5, 5})).shape() == Shape{2, 8, 1, 1});
  CHECK(nn::Flatten()(zeros({2, 8, 1, 1})).shape() == Shape{2, 8});
  CHECK(nn::Softmax(0)(zeros({3, 2})).shape() == Shape{3, 2});
}

// ====================================================================== gradchecks (float64)

TEST_CASE("layers: gradcheck of Linear and Conv2d with respect to input, weight and bias", "[layers][gradcheck]") {
  Generator generator(10);
  auto as_double = [](const Tensor& parameter) { return parameter.to(float64); };

  {
    nn::Linear layer(4, 3);
    check_gradients("linear", [](const Args& a) { return nn::functional::linear(a[0], a[1], a[2]); },
                    {randn({2, 4}, float64, generator), as_double(layer.weight), as_double(layer.bias)});
    nn::Linear no_bias(4, 3, false);
    check_gradients("linear (no bias, leading axes)", [](const Args& a) { return nn::functional::linear(a[0], a[1]); },
                    {randn({2, 2, 4}, float64, generator), as_double(no_bias.weight)});
  }
  for (const ConvCase& c : conv_cases()) {
    nn::Conv2d layer(c.options);
    const nn::Conv2dOptions o = layer.options();
    std::vector<Tensor> inputs{randn(c.input, float64, generator), as_double(layer.weight)};
    if (o.bias) inputs.push_back(as_double(layer.bias));
    check_gradients(
        "conv2d " + c.name,
        [o](const Args& a) {
          return nn::functional::conv2d(a[0], a[1], o.bias ? a[2] : Tensor(), o.stride, o.padding, o.dilation, o.groups);
        },
        inputs);
  }
}

TEST_CASE("layers: gradcheck of pooling, flatten and activations", "[layers][gradcheck]") {
  Generator generator(11);
  struct Row {
    std::string name;
    std::shared_ptr<nn::Module> layer;
    Shape input;
    std::function<Tensor(const Shape&, Generator&)> sample = nn_test::normal_values;
  };
  const std::vector<Row> rows{
      {"MaxPool2d kernel 2", std::make_shared<nn::MaxPool2d>(2), {1, 2, 4, 4}, nn_test::distinct},
      {"MaxPool2d kernel 3, stride 2, padding 1", std::make_shared<nn::MaxPool2d>(nn::Pool2dOptions{.kernel_size = 3, .stride = 2, .padding = 1}),
       {1, 2, 5, 5}, nn_test::distinct},
      {"MaxPool2d dilation (1, 2)",
       std::make_shared<nn::MaxPool2d>(nn::Pool2dOptions{.kernel_size = {2, 2}, .stride = 1, .dilation = {1, 2}}),
       {1, 1, 4, 5}, nn_test::distinct},
      {"AvgPool2d kernel 3, stride 2, padding 1 (padding counted)",
       std::make_shared<nn::AvgPool2d>(nn::Pool2dOptions{.kernel_size = 3, .stride = 2, .padding = 1}), {1, 2, 5, 5}},
      {"AvgPool2d kernel 3, stride 2, padding 1 (padding not counted)",
       std::make_shared<nn::AvgPool2d>(
           nn::Pool2dOptions{.kernel_size = 3, .stride = 2, .padding = 1, .count_include_pad = false}),
       {1, 2, 5, 5}},
      {"AdaptiveAvgPool2d 5x7 -> 3x2", std::make_shared<nn::AdaptiveAvgPool2d>(Size2d{3, 2}), {1, 2, 5, 7}},
      {"AdaptiveAvgPool2d 3x3 -> 4x5", std::make_shared<nn::AdaptiveAvgPool2d>(Size2d{4, 5}), {1, 1, 3, 3}},
      {"Flatten", std::make_shared<nn::Flatten>(), {2, 3, 2}},
      {"ReLU", std::make_shared<nn::ReLU>(), {3, 4}, nn_test::away_from_zero},
      {"LeakyReLU 0.1", std::make_shared<nn::LeakyReLU>(0.1), {3, 4}, nn_test::away_from_zero},
      {"Sigmoid", std::make_shared<nn::Sigmoid>(), {3, 4}},
      {"Tanh", std::make_shared<nn::Tanh>(), {3, 4}},
      {"GELU (erf)", std::make_shared<nn::GELU>(), {3, 4}},
      {"GELU (tanh approximation)", std::make_shared<nn::GELU>("tanh"), {3, 4}},
      {"Softmax", std::make_shared<nn::Softmax>(1), {3, 4}},
      {"LogSoftmax", std::make_shared<nn::LogSoftmax>(0), {3, 4}},
  };
  for (const Row& row : rows) {
    auto layer = row.layer;
    check_gradients(row.name, [layer](const Args& a) { return (*layer)(a[0]); }, {row.sample(row.input, generator)});
  }
  check_gradients("functional::leaky_relu 0.3", [](const Args& a) { return nn::functional::leaky_relu(a[0], 0.3); },
                  {nn_test::away_from_zero({2, 5}, generator)});
}

TEST_CASE("layers: gradcheck of batch_norm and dropout", "[layers][gradcheck]") {
  Generator generator(12);
  const Tensor weight = uniform({3}, 0.5, 1.5, float64, generator);
  const Tensor bias = randn({3}, float64, generator);

  // Training: batch statistics, running statistics updated on the side (fresh each evaluation).
  const auto train = [](const Args& a) {
    return nn::functional::batch_norm(a[0], zeros({3}, float64), ones({3}, float64), a[1], a[2], true);
  };
  check_gradients("batch_norm train [N, C]", train, {randn({4, 3}, float64, generator), weight, bias});
  check_gradients("batch_norm train [N, C, H, W]", train, {randn({2, 3, 2, 2}, float64, generator), weight, bias});
  check_gradients("batch_norm train, no running statistics, no affine",
                  [](const Args& a) { return nn::functional::batch_norm(a[0], Tensor(), Tensor(), {}, {}, true); },
                  {randn({3, 3, 2}, float64, generator)});
  // Evaluation: the running statistics are constants.
  const Tensor running_mean = randn({3}, float64, generator);
  const Tensor running_var = uniform({3}, 0.5, 2.0, float64, generator);
  check_gradients(
      "batch_norm eval",
      [running_mean, running_var](const Args& a) {
        return nn::functional::batch_norm(a[0], running_mean, running_var, a[1], a[2], false);
      },
      {randn({2, 3, 2}, float64, generator), weight, bias});

  // Dropout with a fixed mask: the generator is re-created inside, so every evaluation draws the
  // same mask.
  const auto fixed_dropout = [](const Args& a) {
    Generator mask_generator(123);
    return nn::functional::dropout(a[0], 0.4, true, mask_generator);
  };
  check_gradients("dropout (fixed mask)", fixed_dropout, {randn({3, 5}, float64, generator)});
}

TEST_CASE("layers: batch_norm in channel blocks, and planes larger than a block, against its formula", "[layers]") {
  // The kernel takes a thread's channels in blocks of about 2048 values per sample: 700 channels
  // of 2x3 planes are blocks of 341 (the last one shorter), a 50x50 plane is one channel a block,
  // and [N, C] inputs are planes of one value. Values and all three gradients are checked against
  // the formula composed of nabla's own ops, (x - mean) / sqrt(var + eps) * weight + bias.
  Generator generator(31);
  for (const Shape& shape : {Shape{3, 700, 2, 3}, Shape{2, 3, 50, 50}, Shape{5, 2100}}) {
    INFO("shape " << fmt::format("{}", shape));
    const int64_t channels = shape[1];
    const Tensor x = add(randn(shape, float64, generator), 0.5).requires_grad_();
    const Tensor weight = uniform({channels}, 0.5, 1.5, float64, generator).requires_grad_();
    const Tensor bias = randn({channels}, float64, generator).requires_grad_();
    const Tensor g = randn(shape, float64, generator);
    Dims axes{0};
    Shape per_channel{1, channels};
    for (int64_t axis = 2; axis < static_cast<int64_t>(shape.size()); ++axis) {
      axes.push_back(axis);
      per_channel.push_back(1);
    }
    const Tensor centred = x - mean(x, axes, true);
    const Tensor composed = centred / sqrt(mean(centred * centred, axes, true) + 1e-5) * reshape(weight, per_channel) +
                            reshape(bias, per_channel);
    const Tensor fused = nn::functional::batch_norm(x, Tensor(), Tensor(), weight, bias, true);
    CHECK(max_abs_difference(fused, composed) <= 1e-12);
    const std::vector<Tensor> expected = autograd::grad({composed}, {x, weight, bias}, {g});
    const std::vector<Tensor> actual = autograd::grad({fused}, {x, weight, bias}, {g});
    for (size_t i = 0; i < 3; ++i) CHECK(max_abs_difference(actual[i], expected[i]) <= 1e-10);
  }
}
