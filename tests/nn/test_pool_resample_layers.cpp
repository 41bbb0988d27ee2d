// The pools of issue 13 (ceil_mode, divisor_override, 1-d pools, adaptive max) and the
// resampling layers (Upsample / interpolate, PixelShuffle / PixelUnshuffle, Unflatten) against
// naive loops written here, known values and identities, gradients, and errors for bad calls.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
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

namespace F = nn::functional;

// PyTorch's pooling_output_shape, written out: floor or ceil, and with ceil the last window must
// start inside the input or its left padding.
int64_t pooled_size(int64_t in, int64_t kernel, int64_t stride, int64_t padding, int64_t dilation, bool ceil_mode) {
  const int64_t span = dilation * (kernel - 1) + 1;
  const double exact = static_cast<double>(in + 2 * padding - span) / static_cast<double>(stride);
  int64_t out = static_cast<int64_t>(ceil_mode ? std::ceil(exact) : std::floor(exact)) + 1;
  if (ceil_mode && (out - 1) * stride >= in + padding) --out;
  return out;
}

enum class Pool { max, average_include_pad, average_exclude_pad };

// Window by window over one plane at a time; a window's part past the padded input reads nothing
// and (PyTorch's rule) does not count in the divisor either.
Tensor reference_pool(const Tensor& x, Pool kind, Size2d kernel, Size2d stride, Size2d padding, bool ceil_mode,
                      int64_t divisor_override = 0) {
  const int64_t planes = x.shape()[0] * x.shape()[1], height = x.shape()[2], width = x.shape()[3];
  const int64_t oh = pooled_size(height, kernel.h, stride.h, padding.h, 1, ceil_mode);
  const int64_t ow = pooled_size(width, kernel.w, stride.w, padding.w, 1, ceil_mode);
  const std::vector<double> v = x.to_vector<double>();
  std::vector<double> out;
  for (int64_t p = 0; p < planes; ++p) {
    for (int64_t i = 0; i < oh; ++i) {
      for (int64_t j = 0; j < ow; ++j) {
        const int64_t top = i * stride.h - padding.h, left = j * stride.w - padding.w;
        const int64_t bottom = std::min(top + kernel.h, height + padding.h), right = std::min(left + kernel.w, width + padding.w);
        const int64_t padded_count = (bottom - top) * (right - left);
        double best = -std::numeric_limits<double>::infinity(), total = 0.0;
        int64_t inside = 0;
        for (int64_t r = std::max<int64_t>(top, 0); r < std::min(bottom, height); ++r) {
          for (int64_t c = std::max<int64_t>(left, 0); c < std::min(right, width); ++c) {
            const double value = v[static_cast<size_t>((p * height + r) * width + c)];
            best = std::max(best, value);
            total += value;
            ++inside;
          }
        }
        const int64_t divisor = divisor_override != 0 ? divisor_override
                                : kind == Pool::average_include_pad ? padded_count
                                                                    : inside;
        out.push_back(kind == Pool::max ? best : total / static_cast<double>(divisor));
      }
    }
  }
  return from_vector(out, {x.shape()[0], x.shape()[1], oh, ow});
}

// PyTorch's adaptive regions, each scanned in order: the first maximum wins.
ValuesIndices reference_adaptive_max(const Tensor& x, Size2d output) {
  const int64_t planes = x.shape()[0] * x.shape()[1], height = x.shape()[2], width = x.shape()[3];
  const std::vector<double> v = x.to_vector<double>();
  std::vector<double> values, indices;
  for (int64_t p = 0; p < planes; ++p) {
    for (int64_t i = 0; i < output.h; ++i) {
      for (int64_t j = 0; j < output.w; ++j) {
        const int64_t r0 = static_cast<int64_t>(std::floor(static_cast<double>(i * height) / static_cast<double>(output.h)));
        const int64_t r1 = static_cast<int64_t>(std::ceil(static_cast<double>((i + 1) * height) / static_cast<double>(output.h)));
        const int64_t c0 = static_cast<int64_t>(std::floor(static_cast<double>(j * width) / static_cast<double>(output.w)));
        const int64_t c1 = static_cast<int64_t>(std::ceil(static_cast<double>((j + 1) * width) / static_cast<double>(output.w)));
        double best = -std::numeric_limits<double>::infinity();
        int64_t where = -1;
        for (int64_t r = r0; r < r1; ++r) {
          for (int64_t c = c0; c < c1; ++c) {
            const double value = v[static_cast<size_t>((p * height + r) * width + c)];
            if (value > best) {
              best = value;
              where = r * width + c;
            }
          }
        }
        values.push_back(best);
        indices.push_back(static_cast<double>(where));
      }
    }
  }
  const Shape shape{x.shape()[0], x.shape()[1], output.h, output.w};
  return {from_vector(values, shape), from_vector(indices, shape).to(int64)};
}

// Bilinear sampling by its definition (double precision): the source coordinate of each output
// position, its two neighbours and weights along each axis.
Tensor reference_bilinear(const Tensor& x, Size2d out, bool align_corners) {
  const int64_t planes = x.shape()[0] * x.shape()[1], height = x.shape()[2], width = x.shape()[3];
  const std::vector<double> v = x.to_vector<double>();
  auto source = [&](int64_t o, int64_t in, int64_t size) {
    if (size == in) return static_cast<double>(o);
    if (align_corners) return size > 1 ? static_cast<double>(o) * static_cast<double>(in - 1) / static_cast<double>(size - 1) : 0.0;
    return std::max((static_cast<double>(o) + 0.5) * static_cast<double>(in) / static_cast<double>(size) - 0.5, 0.0);
  };
  std::vector<double> result;
  for (int64_t p = 0; p < planes; ++p) {
    for (int64_t i = 0; i < out.h; ++i) {
      const double sr = source(i, height, out.h);
      const int64_t r0 = static_cast<int64_t>(sr), r1 = std::min(r0 + 1, height - 1);
      const double fr = sr - static_cast<double>(r0);
      for (int64_t j = 0; j < out.w; ++j) {
        const double sc = source(j, width, out.w);
        const int64_t c0 = static_cast<int64_t>(sc), c1 = std::min(c0 + 1, width - 1);
        const double fc = sc - static_cast<double>(c0);
        auto at = [&](int64_t r, int64_t c) { return v[static_cast<size_t>((p * height + r) * width + c)]; };
        result.push_back((1 - fr) * ((1 - fc) * at(r0, c0) + fc * at(r0, c1)) + fr * ((1 - fc) * at(r1, c0) + fc * at(r1, c1)));
      }
    }
  }
  return from_vector(result, {x.shape()[0], x.shape()[1], out.h, out.w});
}

}  // namespace

TEST_CASE("pool layers: ceil_mode pools match PyTorch's rule", "[layers][pool]") {
  Generator generator(21);
  struct Case {
    Shape input;
    Size2d kernel, stride, padding;
  };
  for (const Case& c : {Case{{2, 2, 6, 7}, 3, 2, 1}, Case{{1, 2, 5, 7}, 2, 2, 0}, Case{{1, 1, 7, 5}, {3, 2}, {3, 2}, {1, 1}},
                        Case{{1, 1, 5, 5}, 2, 3, 1}, Case{{1, 1, 2, 2}, 3, 2, 0}}) {
    INFO("input " << to_string(c.input) << " kernel " << c.kernel.h << "x" << c.kernel.w << " stride " << c.stride.h << "x"
                  << c.stride.w << " padding " << c.padding.h << "x" << c.padding.w);
    const Tensor x = randn(c.input, float64, generator);
    for (bool ceil_mode : {false, true}) {
      if (!ceil_mode && c.input[2] < c.kernel.h) continue;  // only ceil_mode fits a window there
      const Tensor max = F::max_pool2d(x, c.kernel, c.stride, c.padding, 1, ceil_mode);
      const Tensor expected = reference_pool(x, Pool::max, c.kernel, c.stride, c.padding, ceil_mode);
      REQUIRE(max.shape() == expected.shape());
      CHECK(max_abs_difference(max, expected) < 1e-12);
      CHECK(max_abs_difference(F::avg_pool2d(x, c.kernel, c.stride, c.padding, ceil_mode, true),
                               reference_pool(x, Pool::average_include_pad, c.kernel, c.stride, c.padding, ceil_mode)) < 1e-12);
      CHECK(max_abs_difference(F::avg_pool2d(x, c.kernel, c.stride, c.padding, ceil_mode, false),
                               reference_pool(x, Pool::average_exclude_pad, c.kernel, c.stride, c.padding, ceil_mode)) < 1e-12);
      CHECK(max_abs_difference(F::avg_pool2d(x, c.kernel, c.stride, c.padding, ceil_mode, true, 5),
                               reference_pool(x, Pool::average_include_pad, c.kernel, c.stride, c.padding, ceil_mode, 5)) < 1e-12);
    }
  }
  // 5 wide, kernel 2, stride 2: floor gives 2 windows, ceil a third over the last column alone.
  CHECK(F::max_pool2d(zeros({1, 1, 5, 5}), 2, 2, 0, 1, true).shape() == Shape{1, 1, 3, 3});
  // A ceil window that would start in the right padding is dropped: 6 wide, kernel 2, stride 2, padding 1.
  CHECK(F::max_pool2d(zeros({1, 1, 6, 6}), 2, 2, 1, 1, true).shape() == Shape{1, 1, 4, 4});
  CHECK(nn::MaxPool2d({.kernel_size = 3, .stride = 2, .ceil_mode = true}).extra_repr() ==
        "kernel_size=3, stride=2, padding=0, ceil_mode=true");
  CHECK_THROWS_WITH(F::avg_pool2d(zeros({1, 1, 4, 4}), 2, 2, 0, false, true, 0), Contains("avg_pool2d") && Contains("divisor_override"));
}

TEST_CASE("pool layers: 1-d pools are the 2-d pools on one row", "[layers][pool]") {
  Generator generator(22);
  const Tensor x = randn({2, 3, 11}, float64, generator);
  const Tensor row = x.unsqueeze(2);
  for (bool ceil_mode : {false, true}) {
    CHECK(max_abs_difference(F::max_pool1d(x, 3, 2, 1, 1, ceil_mode),
                             reference_pool(row, Pool::max, {1, 3}, {1, 2}, {0, 1}, ceil_mode).squeeze(2)) < 1e-12);
    CHECK(max_abs_difference(F::avg_pool1d(x, 4, 3, 2, ceil_mode, false),
                             reference_pool(row, Pool::average_exclude_pad, {1, 4}, {1, 3}, {0, 2}, ceil_mode).squeeze(2)) <
          1e-12);
  }
  nn::MaxPool1d pool({.kernel_size = 2});
  const auto [values, indices] = pool.forward_with_indices(x);
  CHECK(values.shape() == Shape{2, 3, 5});
  CHECK(indices.dtype() == int64);
  // Each index is a position in L holding the window's value.
  for (int64_t n = 0; n < 2; ++n) {
    for (int64_t k = 0; k < 5; ++k) {
      const int64_t at = indices.at<int64_t>({n, 1, k});
      CHECK((at == 2 * k || at == 2 * k + 1));
      CHECK(x.at<double>({n, 1, at}) == values.at<double>({n, 1, k}));
    }
  }
  CHECK(nn::AdaptiveAvgPool1d(3)(x).shape() == Shape{2, 3, 3});
  CHECK(max_abs_difference(F::adaptive_avg_pool1d(x, 11), x) < 1e-15);
  check_gradients("max_pool1d", [](const Args& a) { return F::max_pool1d(a[0], 3, 2, 1, 2, true); },
                  {nn_test::distinct({2, 2, 10}, generator)});
  check_gradients("avg_pool1d", [](const Args& a) { return F::avg_pool1d(a[0], 3, 2, 1, true, false); }, {x});
  check_gradients("adaptive_avg_pool1d", [](const Args& a) { return F::adaptive_avg_pool1d(a[0], 4); }, {x});
  CHECK_THROWS_WITH(pool(zeros({1, 2, 3, 4})), Contains("max_pool1d") && Contains("[N, C, L]"));
  CHECK_THROWS_WITH(F::max_pool1d(x, 3, 1, 2), Contains("max_pool1d") && Contains("half"));
  CHECK_THROWS_WITH(F::avg_pool1d(x, 0), Contains("avg_pool1d") && Contains("kernel_size"));
  CHECK_THROWS_WITH(nn::AvgPool1d(0), Contains("AvgPool1d"));
  CHECK_THROWS_WITH(F::adaptive_avg_pool1d(zeros({2, 3}), 2), Contains("adaptive_avg_pool1d") && Contains("[2, 3]"));
}

TEST_CASE("pool layers: AdaptiveMaxPool2d takes the first maximum of each region", "[layers][pool]") {
  Generator generator(23);
  for (const auto& [shape, output] : std::vector<std::pair<Shape, Size2d>>{
           {{2, 3, 7, 5}, {3, 2}}, {{1, 2, 4, 6}, {5, 4}}, {{1, 1, 8, 8}, {1, 1}}, {{1, 2, 3, 5}, {3, 5}}}) {
    const Tensor x = randn(shape, float64, generator);
    const auto [values, indices] = nn::AdaptiveMaxPool2d(output).forward_with_indices(x);
    const ValuesIndices expected = reference_adaptive_max(x, output);
    CHECK(max_abs_difference(values, expected.values) < 1e-15);
    CHECK(equal(indices, expected.indices));
  }
  // Ties: the first position of the region wins and gets the whole gradient.
  const Tensor tied = ones({1, 1, 4, 4}, float64).requires_grad_();
  const auto [values, indices] = F::adaptive_max_pool2d_with_indices(tied, {2, 2});
  CHECK(indices.to_vector<int64_t>() == std::vector<int64_t>{0, 2, 8, 10});
  values.sum().backward();
  CHECK(tied.grad().to_vector<double>() ==
        std::vector<double>{1, 0, 1, 0, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0, 0, 0});
  // A NaN wins its region.
  const Tensor with_nan = tensor({1, std::nan(""), 3, 2}, {1, 1, 2, 2}, float64);
  CHECK(std::isnan(F::adaptive_max_pool2d(with_nan, {1, 1}).item<double>()));
  const auto [v1, i1] = nn::AdaptiveMaxPool1d(2).forward_with_indices(tensor({1, 5, 2, 5, 0}, {1, 1, 5}, float64));
  CHECK(v1.to_vector<double>() == std::vector<double>{5, 5});
  CHECK(i1.to_vector<int64_t>() == std::vector<int64_t>{1, 3});
  check_gradients("adaptive_max_pool2d", [](const Args& a) { return F::adaptive_max_pool2d(a[0], {3, 2}); },
                  {nn_test::distinct({1, 2, 5, 4}, generator)});
  CHECK(nn::AdaptiveMaxPool2d({2, 3}).extra_repr() == "output_size=(2, 3)");
  CHECK_THROWS_WITH(nn::AdaptiveMaxPool2d({0, 2}), Contains("AdaptiveMaxPool2d") && Contains("positive"));
  CHECK_THROWS_WITH(F::adaptive_max_pool2d(zeros({2, 3, 4}), {1, 1}), Contains("adaptive_max_pool2d") && Contains("[2, 3, 4]"));
  CHECK_THROWS_WITH(F::adaptive_max_pool2d(zeros({1, 1, 0, 3}), {1, 1}), Contains("adaptive_max_pool2d") && Contains("empty"));
}

TEST_CASE("resampling: nearest and bilinear interpolation by their definitions", "[layers][resample]") {
  Generator generator(24);
  const Tensor x = randn({2, 3, 4, 5}, float64, generator);
  // nearest with an integer factor repeats each element factor times along each axis.
  const Tensor doubled = F::interpolate(x, {.scale_factor = {2.0}});
  CHECK(doubled.shape() == Shape{2, 3, 8, 10});
  CHECK(equal(doubled, repeat(x.unsqueeze(3).unsqueeze(5), {1, 1, 1, 2, 1, 2}).reshape({2, 3, 8, 10})));
  // The same size is a copy, in every mode.
  for (Interpolation mode : {Interpolation::nearest, Interpolation::nearest_exact, Interpolation::bilinear}) {
    CHECK(equal(F::interpolate(x, {.size = {4, 5}, .mode = mode}), x));
  }
  for (bool align_corners : {false, true}) {
    for (Size2d size : {Size2d{7, 3}, Size2d{9, 10}, Size2d{2, 5}, Size2d{1, 1}}) {
      INFO("align_corners " << align_corners << ", size " << size.h << "x" << size.w);
      const Tensor y = F::interpolate(x, {.size = {size.h, size.w}, .mode = Interpolation::bilinear, .align_corners = align_corners});
      CHECK(max_abs_difference(y, reference_bilinear(x, size, align_corners)) < 1e-12);
    }
  }
  // align_corners keeps a linear ramp linear, corners included.
  const Tensor ramp = arange(0, 4, 1, float64).reshape({1, 1, 1, 4});
  const Tensor stretched = F::interpolate(ramp.squeeze(2), {.size = {7}, .mode = Interpolation::linear, .align_corners = true});
  CHECK(max_abs_difference(stretched, tensor({0, 0.5, 1, 1.5, 2, 2.5, 3}, {1, 1, 7}, float64)) < 1e-15);
  // Gradients of every mode.
  check_gradients("interpolate nearest", [](const Args& a) { return F::interpolate(a[0], {.size = {5, 7}}); },
                  {randn({1, 2, 3, 4}, float64, generator)});
  check_gradients("interpolate bilinear scale 1.5",
                  [](const Args& a) { return F::interpolate(a[0], {.scale_factor = {1.5}, .mode = Interpolation::bilinear}); },
                  {randn({1, 2, 3, 4}, float64, generator)});
  check_gradients("interpolate linear align_corners",
                  [](const Args& a) {
                    return F::interpolate(a[0], {.size = {6}, .mode = Interpolation::linear, .align_corners = true});
                  },
                  {randn({2, 2, 4}, float64, generator)});
  // float32 runs the same tables in float.
  CHECK(max_abs_difference(F::interpolate(x.to(float32), {.size = {7, 3}, .mode = Interpolation::bilinear}),
                           reference_bilinear(x, {7, 3}, false)) < 1e-5);
}

TEST_CASE("resampling: interpolate and Upsample refuse bad calls", "[layers][resample]") {
  const Tensor image = zeros({1, 2, 4, 4}), line = zeros({1, 2, 4});
  CHECK_THROWS_WITH(F::interpolate(image, {.size = {8, 8}, .scale_factor = {2.0}}), Contains("interpolate") && Contains("only one"));
  CHECK_THROWS_WITH(F::interpolate(image, {}), Contains("interpolate") && Contains("size or scale_factor"));
  CHECK_THROWS_WITH(F::interpolate(image, {.size = {8, 8, 8}}), Contains("interpolate") && Contains("[1, 2, 4, 4]") &&
                                                                    Contains("2 spatial axes") && Contains("3 values"));
  CHECK_THROWS_WITH(F::interpolate(image, {.size = {8}, .mode = Interpolation::linear}),
                    Contains("linear mode needs a 3-d input") && Contains("[1, 2, 4, 4]"));
  CHECK_THROWS_WITH(F::interpolate(line, {.size = {8}, .mode = Interpolation::bilinear}),
                    Contains("bilinear mode needs a 4-d input") && Contains("[1, 2, 4]"));
  CHECK_THROWS_WITH(F::interpolate(image, {.size = {8}, .align_corners = false}),
                    Contains("align_corners") && Contains("nearest"));
  CHECK_THROWS_WITH(F::interpolate(image, {.size = {8}, .recompute_scale_factor = true}),
                    Contains("recompute_scale_factor") && Contains("explicit size"));
  CHECK_THROWS_WITH(F::interpolate(image, {.scale_factor = {0.1}}), Contains("interpolate") && Contains("positive"));
  CHECK_THROWS_WITH(F::interpolate(zeros({4, 4}), {.size = {2}}), Contains("interpolate") && Contains("[4, 4]"));
  CHECK_THROWS_WITH(nn::Upsample({.mode = Interpolation::bilinear}), Contains("Upsample") && Contains("exactly one"));
  CHECK_THROWS_WITH(nn::Upsample({.scale_factor = {2.0}, .align_corners = true}), Contains("Upsample") && Contains("align_corners"));
  CHECK(nn::Upsample({.scale_factor = {2.0}}).extra_repr() == "scale_factor=2, mode=nearest");
  CHECK(nn::Upsample({.size = {3, 4}, .mode = Interpolation::bilinear, .align_corners = true}).extra_repr() ==
        "size=(3, 4), mode=bilinear, align_corners=true");
}

TEST_CASE("resampling: PixelShuffle and PixelUnshuffle move channels into space and back", "[layers][resample]") {
  Generator generator(25);
  const int64_t r = 3;
  const Tensor x = randn({2, 2 * r * r, 2, 4}, float64, generator);
  const Tensor y = nn::PixelShuffle(r)(x);
  REQUIRE(y.shape() == Shape{2, 2, 6, 12});
  // output[c, h*r + i, w*r + j] = input[c*r*r + i*r + j, h, w]
  bool all_match = true;
  for (int64_t n = 0; n < 2; ++n) {
    for (int64_t c = 0; c < 2; ++c) {
      for (int64_t h = 0; h < 2; ++h) {
        for (int64_t w = 0; w < 4; ++w) {
          for (int64_t i = 0; i < r; ++i) {
            for (int64_t j = 0; j < r; ++j) {
              all_match &= y.at<double>({n, c, h * r + i, w * r + j}) == x.at<double>({n, c * r * r + i * r + j, h, w});
            }
          }
        }
      }
    }
  }
  CHECK(all_match);
  CHECK(equal(nn::PixelUnshuffle(r)(y), x));
  CHECK(equal(F::pixel_shuffle(F::pixel_unshuffle(y, r), r), y));
  CHECK(F::pixel_shuffle(zeros({4, 8, 3, 2}).reshape({2, 2, 8, 3, 2}), 2).shape() == Shape{2, 2, 2, 6, 4});
  check_gradients("pixel_shuffle", [](const Args& a) { return F::pixel_shuffle(a[0], 2); }, {randn({1, 8, 2, 3}, float64, generator)});
  check_gradients("pixel_unshuffle", [](const Args& a) { return F::pixel_unshuffle(a[0], 2); },
                  {randn({1, 2, 4, 2}, float64, generator)});
  CHECK_THROWS_WITH(F::pixel_shuffle(zeros({1, 6, 2, 2}), 2),
                    Contains("pixel_shuffle") && Contains("[1, 6, 2, 2]") && Contains("divisible by upscale_factor^2 = 4"));
  CHECK_THROWS_WITH(F::pixel_shuffle(zeros({4, 2}), 2), Contains("pixel_shuffle") && Contains("at least 3 axes"));
  CHECK_THROWS_WITH(F::pixel_unshuffle(zeros({1, 1, 4, 5}), 2), Contains("pixel_unshuffle") && Contains("[1, 1, 4, 5]"));
  CHECK_THROWS_WITH(nn::PixelShuffle(0), Contains("PixelShuffle") && Contains("positive"));
  CHECK(nn::PixelUnshuffle(2).extra_repr() == "downscale_factor=2");
}

TEST_CASE("resampling: Unflatten splits one axis", "[layers][resample]") {
  const Tensor x = arange(0, 60, 1, float64).reshape({3, 20});
  CHECK(nn::Unflatten(1, {4, 5})(x).shape() == Shape{3, 4, 5});
  CHECK(nn::Unflatten(-1, {2, -1, 5})(x).shape() == Shape{3, 2, 2, 5});
  CHECK(equal(F::unflatten(x, 1, {4, 5}).flatten(1), x));
  CHECK(F::unflatten(x, 0, {1, 3}).shape() == Shape{1, 3, 20});
  check_gradients("unflatten", [](const Args& a) { return F::unflatten(a[0], 1, {2, 3}) * a[0].reshape({2, 2, 3}); },
                  {randn({2, 6}, float64)});
  CHECK_THROWS_WITH(F::unflatten(x, 1, {3, 5}), Contains("unflatten") && Contains("[3, 5]") && Contains("20"));
  CHECK_THROWS_WITH(F::unflatten(x, 1, {3, -1}), Contains("unflatten") && Contains("20"));
  CHECK_THROWS_WITH(F::unflatten(x, 2, {20}), Contains("unflatten") && Contains("axis 2"));
  CHECK_THROWS_WITH(nn::Unflatten(1, {}), Contains("Unflatten") && Contains("non-empty"));
  CHECK(nn::Unflatten(1, {4, 5}).extra_repr() == "dim=1, unflattened_size=[4, 5]");
}
