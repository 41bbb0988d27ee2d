// Convolution and pooling kernels: window geometry, im2col/col2im, max/avg pooling and the
// average-pooling backward. Known values, naive loops over random geometries (stride, padding,
// dilation, non-square, non-contiguous input, many planes so the kernels run on several threads),
// the adjoint identities the backward passes rely on, and the error messages.
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "reference.hpp"

using namespace nabla;
using namespace nabla::kernels;
using Catch::Contains;
using reference::check_elements;
using reference::check_values;
using reference::inner_product;
using reference::Index;
using reference::Layout;
using reference::read;

namespace {

std::string describe(const Shape& shape, const Window2d& w) {
  return fmt::format("x {} kernel {}x{} stride {}x{} padding {}x{} dilation {}x{}", shape, w.kernel.h,
                     w.kernel.w, w.stride.h, w.stride.w, w.padding.h, w.padding.w, w.dilation.h, w.dilation.w);
}

// A random window that fits an input of height/width `in`; pooling windows also keep padding at
// most half the window.
Window2d random_window(reference::Rng& rng, Size2d in, bool pooling) {
  for (;;) {
    Window2d w;
    w.kernel = Size2d(rng.integer(1, 3), rng.integer(1, 3));
    w.stride = Size2d(rng.integer(1, 3), rng.integer(1, 2));
    w.dilation = Size2d(rng.integer(1, 2), rng.integer(1, 2));
    w.padding = Size2d(rng.integer(0, 2), rng.integer(0, 1));
    const int64_t window_h = w.dilation.h * (w.kernel.h - 1) + 1;
    const int64_t window_w = w.dilation.w * (w.kernel.w - 1) + 1;
    if (in.h + 2 * w.padding.h < window_h || in.w + 2 * w.padding.w < window_w) continue;
    if (pooling && (2 * w.padding.h > window_h || 2 * w.padding.w > window_w)) continue;
    return w;
  }
}

// The input element window tap (i, j) of output (oh, ow) reads, or false if it falls in padding.
bool tap_position(const Window2d& w, Size2d in, int64_t oh, int64_t ow, int64_t i, int64_t j,
                  int64_t& ih, int64_t& iw) {
  ih = oh * w.stride.h - w.padding.h + i * w.dilation.h;
  iw = ow * w.stride.w - w.padding.w + j * w.dilation.w;
  return ih >= 0 && ih < in.h && iw >= 0 && iw < in.w;
}

}  // namespace

TEST_CASE("window_output_size computes the sliding-window extent", "[conv]") {
  CHECK(window_output_size({28, 28}, {.kernel = 5}, "conv2d") == Size2d(24, 24));
  CHECK(window_output_size({7, 7}, {.kernel = 3, .stride = 2, .padding = 1}, "conv2d") == Size2d(4, 4));
  CHECK(window_output_size({7, 9}, {.kernel = 3, .dilation = 2}, "conv2d") == Size2d(3, 5));
  CHECK(window_output_size({5, 4}, {.kernel = {2, 1}, .stride = {2, 3}}, "conv2d") == Size2d(2, 2));
  CHECK(window_output_size({1, 1}, {.kernel = 3, .padding = 1}, "conv2d") == Size2d(1, 1));
}

TEST_CASE("window_output_size rejects windows that do not fit", "[conv][errors]") {
  CHECK_THROWS_WITH(window_output_size({3, 3}, {.kernel = 5}, "conv2d"),
                    "conv2d: the 5x5 window (kernel 5x5, dilation 1x1) does not fit the 3x3 input with "
                    "padding 0x0; use a smaller kernel or more padding");
  CHECK_THROWS_WITH(window_output_size({5, 5}, {.kernel = 3, .dilation = 3}, "max_pool2d"),
                    Contains("max_pool2d: the 7x7 window (kernel 3x3, dilation 3x3)"));
  CHECK_THROWS_WITH(window_output_size({5, 5}, {.kernel = {0, 3}}, "conv2d"),
                    Contains("conv2d: kernel size must be positive, got 0x3"));
  CHECK_THROWS_WITH(window_output_size({5, 5}, {.kernel = 3, .stride = 0}, "conv2d"),
                    Contains("stride must be positive"));
  CHECK_THROWS_WITH(window_output_size({5, 5}, {.kernel = 3, .padding = {0, -1}}, "conv2d"),
                    Contains("padding must be non-negative, got 0x-1"));
  CHECK_THROWS_WITH(window_output_size({5, 5}, {.kernel = 3, .dilation = 0}, "conv2d"),
                    Contains("dilation must be positive"));
}

// ---- im2col / col2im

TEST_CASE("im2col unfolds windows into columns", "[conv]") {
  const Tensor x = arange(0, 9).reshape({1, 1, 3, 3});
  check_values(im2col(x, {.kernel = 2}), {1, 4, 4},
               {0, 1, 3, 4, 1, 2, 4, 5, 3, 4, 6, 7, 4, 5, 7, 8});
  // Padding reads as zero.
  const Tensor small = tensor({1, 2, 3, 4}, {1, 1, 2, 2});
  const Tensor padded = im2col(small, {.kernel = 2, .padding = 1});
  REQUIRE(padded.shape() == Shape{1, 4, 9});
  check_values(padded.select(1, 0), {1, 9}, {0, 0, 0, 0, 1, 2, 0, 3, 4});
  check_values(padded.select(1, 3), {1, 9}, {1, 2, 0, 3, 4, 0, 0, 0, 0});
  // Channels come first in the row order: row (c * kh + i) * kw + j.
  const Tensor two_channels = concat({small, mul(small, 10.0)}, 1);
  const Tensor columns = im2col(two_channels, {.kernel = 2});
  check_values(columns, {1, 8, 1}, {1, 2, 3, 4, 10, 20, 30, 40});
}

TEST_CASE("im2col agrees with a naive loop and col2im is its adjoint", "[conv]") {
  reference::Rng rng(201);
  // Narrow planes take the kernels' offset-table path; planes 16 to 40 wide with stride-1 columns
  // take the row-by-row path (stride 2 there: the table again).
  for (const auto& [narrowest, widest] : {std::pair{1, 7}, std::pair{16, 40}}) {
    for (DType dtype : {float32, float64}) {
      for (int trial = 0; trial < 60; ++trial) {
        const Shape shape{rng.integer(1, 2), rng.integer(1, 3), rng.integer(1, 7), rng.integer(narrowest, widest)};
        const Size2d in(shape[2], shape[3]);
        const Window2d w = random_window(rng, in, false);
        const Layout layout = reference::all_layouts[static_cast<size_t>(trial % 6)];
        const Tensor x = reference::random_tensor(shape, dtype, layout, rng);
        INFO(dtype_name(dtype) << " trial " << trial << ": " << describe(shape, w) << " "
                               << reference::layout_name(layout));
        const Size2d out = window_output_size(in, w, "test");
        const Tensor columns = im2col(x, w);
        CHECK(columns.dtype() == dtype);
        const Shape columns_shape{shape[0], shape[1] * w.kernel.h * w.kernel.w, out.h * out.w};
        check_elements(columns, columns_shape, [&](const Index& o) {
          const int64_t row = o[1], position = o[2];
          const int64_t c = row / (w.kernel.h * w.kernel.w);
          const int64_t i = row / w.kernel.w % w.kernel.h, j = row % w.kernel.w;
          int64_t ih = 0, iw = 0;
          if (!tap_position(w, in, position / out.w, position % out.w, i, j, ih, iw)) return 0.0;
          return read(x, {o[0], c, ih, iw});
        }, {0, 0});

        // <im2col(x), c> == <x, col2im(c)>
        const Layout c_layout = reference::all_layouts[static_cast<size_t>(trial % 4)];
        const Tensor c = reference::random_tensor(columns.shape(), dtype, c_layout, rng);
        const Tensor folded = col2im(c, shape, w);
        CHECK(folded.shape() == shape);
        CHECK(folded.dtype() == dtype);
        CHECK(inner_product(columns, c) ==
              Approx(inner_product(x, folded)).epsilon(dtype == float64 ? 1e-12 : 1e-5).margin(1e-5));
      }
    }
  }
}

TEST_CASE("im2col on planes too large for the offset table reads strided rows row by row", "[conv]") {
  // 130x130 with a 3x3 window, column stride 2: 9 taps x 130 x 65 positions is past the table's
  // bound, so the strided columns go through the row path.
  reference::Rng rng(202);
  const Shape shape{1, 2, 130, 130};
  const Size2d in(shape[2], shape[3]);
  const Window2d w{.kernel = 3, .stride = Size2d(1, 2), .padding = 1};
  const Tensor x = reference::random_tensor(shape, float64, reference::all_layouts[0], rng);
  const Size2d out = window_output_size(in, w, "test");
  check_elements(im2col(x, w), {1, 2 * 9, out.h * out.w}, [&](const Index& o) {
    const int64_t c = o[1] / 9, i = o[1] / 3 % 3, j = o[1] % 3;
    int64_t ih = 0, iw = 0;
    if (!tap_position(w, in, o[2] / out.w, o[2] % out.w, i, j, ih, iw)) return 0.0;
    return read(x, {o[0], c, ih, iw});
  }, {0, 0});
}

TEST_CASE("col2im adds overlapping windows", "[conv]") {
  // Each pixel receives one contribution per window that covers it.
  const Window2d w{.kernel = 2};
  const Tensor coverage = col2im(im2col(ones({1, 1, 3, 3}), w), {1, 1, 3, 3}, w);
  check_values(coverage, {1, 1, 3, 3}, {1, 2, 1, 2, 4, 2, 1, 2, 1});
  const Window2d strided{.kernel = 3, .stride = 2, .padding = 1};
  const Tensor sparse = col2im(im2col(ones({1, 2, 4, 4}, float64), strided), {1, 2, 4, 4}, strided);
  check_values(sparse.select(1, 1), {1, 4, 4}, {1, 2, 1, 1, 2, 4, 2, 2, 1, 2, 1, 1, 1, 2, 1, 1});
}

TEST_CASE("im2col and col2im on many planes match the single-plane results", "[conv]") {
  // 64 planes of 20x20: enough work that the planes are split across threads.
  Generator generator(5);
  const Window2d w{.kernel = 3, .padding = 1};
  for (DType dtype : {float32, float64}) {
    const Tensor x = randn({4, 16, 20, 20}, dtype, generator);
    const Tensor columns = im2col(x, w);
    const Tensor image = col2im(columns, x.shape(), w);
    for (int64_t n : {0, 3}) {
      for (int64_t c : {0, 7, 15}) {
        const Tensor plane = x.narrow(0, n, 1).narrow(1, c, 1);
        CHECK(equal(im2col(plane, w).squeeze(0), columns.select(0, n).narrow(0, c * 9, 9)));
        const Tensor plane_image = col2im(im2col(plane, w), plane.shape(), w);
        CHECK(allclose(plane_image.squeeze(0).squeeze(0), image.select(0, n).select(0, c)));
      }
    }
  }
}

// ---- pooling

TEST_CASE("max_pool2d takes the max of each window with its plane index", "[conv]") {
  const Tensor x = arange(0, 16).reshape({1, 1, 4, 4});
  const PoolResult pooled = max_pool2d(x, {.kernel = 2, .stride = 2});
  check_values(pooled.values, {1, 1, 2, 2}, {5, 7, 13, 15});
  CHECK(pooled.indices.dtype() == int64);
  check_values(pooled.indices, {1, 1, 2, 2}, {5, 7, 13, 15});
  // Ties resolve to the first position in the window.
  const PoolResult ties = max_pool2d(ones({1, 1, 4, 4}), {.kernel = 2, .stride = 2});
  check_values(ties.indices, {1, 1, 2, 2}, {0, 2, 8, 10});
  // Padding never wins, even over negative values.
  const Tensor negative = sub(-1.0, arange(0, 9).reshape({1, 1, 3, 3}));
  const PoolResult padded = max_pool2d(negative, {.kernel = 3, .stride = 1, .padding = 1});
  check_values(padded.values, {1, 1, 3, 3}, {-1, -1, -2, -1, -1, -2, -4, -4, -5});
  check_values(padded.indices, {1, 1, 3, 3}, {0, 0, 1, 0, 0, 1, 3, 3, 4});
  // A NaN in the window wins.
  const Tensor with_nan = tensor({1, std::nan(""), 3, 4}, {1, 1, 2, 2});
  CHECK(std::isnan(max_pool2d(with_nan, {.kernel = 2}).values.item()));
  CHECK(max_pool2d(with_nan, {.kernel = 2}).indices.item() == 1);
  // The first NaN, whether or not it opens the window, and whatever follows it.
  const double nan = std::nan("");
  const Tensor with_nans = tensor({nan, 5, 1, 2, 3, nan, 9, nan}, {1, 1, 2, 4});
  const PoolResult nans = max_pool2d(with_nans, {.kernel = 2, .stride = 2});
  CHECK(std::isnan(nans.values.at({0, 0, 0, 0})));
  CHECK(std::isnan(nans.values.at({0, 0, 0, 1})));
  check_values(nans.indices, {1, 1, 1, 2}, {0, 7});
}

TEST_CASE("avg_pool2d averages each window, with or without the padding", "[conv]") {
  const Tensor x = arange(0, 16).reshape({1, 1, 4, 4});
  check_values(avg_pool2d(x, {.kernel = 2, .stride = 2}), {1, 1, 2, 2}, {2.5, 4.5, 10.5, 12.5});
  const Tensor small = tensor({1, 2, 3, 4}, {1, 1, 2, 2});
  const Window2d w{.kernel = 2, .stride = 1, .padding = 1};
  // count_include_pad: divide by the 4 taps; else by the in-bounds ones.
  check_values(avg_pool2d(small, w, true), {1, 1, 3, 3}, {0.25, 0.75, 0.5, 1, 2.5, 1.5, 0.75, 1.75, 1});
  check_values(avg_pool2d(small, w, false), {1, 1, 3, 3}, {1, 1.5, 2, 2, 2.5, 3, 3, 3.5, 4});
}

TEST_CASE("pooling agrees with naive loops and avg_pool2d_backward is the adjoint", "[conv]") {
  reference::Rng rng(202);
  for (DType dtype : {float32, float64}) {
    for (int trial = 0; trial < 60; ++trial) {
      const Shape shape{rng.integer(1, 2), rng.integer(1, 3), rng.integer(1, 7), rng.integer(1, 7)};
      const Size2d in(shape[2], shape[3]);
      const Window2d w = random_window(rng, in, true);
      const Size2d out = window_output_size(in, w, "test");
      // A window of only padding between dilated taps has no max; such geometries must throw.
      bool empty_window = false;
      for (int64_t oh = 0; oh < out.h; ++oh) {
        for (int64_t ow = 0; ow < out.w; ++ow) {
          bool any = false;
          for (int64_t i = 0; i < w.kernel.h; ++i) {
            for (int64_t j = 0; j < w.kernel.w; ++j) {
              int64_t ih = 0, iw = 0;
              any = any || tap_position(w, in, oh, ow, i, j, ih, iw);
            }
          }
          empty_window = empty_window || !any;
        }
      }
      const Layout layout = reference::all_layouts[static_cast<size_t>(trial % 6)];
      // Integral values so the max sees ties.
      const Tensor x = reference::random_tensor(shape, dtype, layout, rng, -4, 4, /*integral=*/true);
      INFO(dtype_name(dtype) << " trial " << trial << ": " << describe(shape, w) << " "
                             << reference::layout_name(layout));
      if (empty_window) {
        CHECK_THROWS_WITH(max_pool2d(x, w), Contains("covers only padding"));
        CHECK_THROWS_WITH(avg_pool2d(x, w), Contains("covers only padding"));
        continue;
      }
      const Shape out_shape{shape[0], shape[1], out.h, out.w};
      const PoolResult pooled = max_pool2d(x, w);
      // Reference: scan the window in row-major tap order, keeping the first maximum.
      auto reference_max = [&](const Index& o, bool want_index) {
        double best = -std::numeric_limits<double>::infinity();
        int64_t best_index = -1;
        for (int64_t i = 0; i < w.kernel.h; ++i) {
          for (int64_t j = 0; j < w.kernel.w; ++j) {
            int64_t ih = 0, iw = 0;
            if (!tap_position(w, in, o[2], o[3], i, j, ih, iw)) continue;
            const double value = read(x, {o[0], o[1], ih, iw});
            if (best_index < 0 || value > best) {
              best = value;
              best_index = ih * in.w + iw;
            }
          }
        }
        return want_index ? static_cast<double>(best_index) : best;
      };
      check_elements(pooled.values, out_shape, [&](const Index& o) { return reference_max(o, false); }, {0, 0});
      check_elements(pooled.indices, out_shape, [&](const Index& o) { return reference_max(o, true); }, {0, 0});

      for (bool count_include_pad : {true, false}) {
        const Tensor averaged = avg_pool2d(x, w, count_include_pad);
        check_elements(averaged, out_shape, [&](const Index& o) {
          double sum = 0;
          int64_t count = 0;
          for (int64_t i = 0; i < w.kernel.h; ++i) {
            for (int64_t j = 0; j < w.kernel.w; ++j) {
              int64_t ih = 0, iw = 0;
              if (!tap_position(w, in, o[2], o[3], i, j, ih, iw)) continue;
              sum += read(x, {o[0], o[1], ih, iw});
              ++count;
            }
          }
          return sum / static_cast<double>(count_include_pad ? w.kernel.h * w.kernel.w : count);
        }, reference::elementwise_tolerance(dtype));

        // <avg_pool2d(x), g> == <x, avg_pool2d_backward(g)>
        const Layout g_layout = reference::all_layouts[static_cast<size_t>(trial % 5)];
        const Tensor g = reference::random_tensor(out_shape, dtype, g_layout, rng);
        const Tensor back = avg_pool2d_backward(g, shape, w, count_include_pad);
        CHECK(back.shape() == shape);
        CHECK(inner_product(averaged, g) ==
              Approx(inner_product(x, back)).epsilon(dtype == float64 ? 1e-12 : 1e-5).margin(1e-5));
      }
    }
  }
}

TEST_CASE("pooling on many planes matches pooling each plane", "[conv]") {
  Generator generator(6);
  const Window2d w{.kernel = 3, .stride = 2, .padding = 1};
  const Tensor x = randn({8, 16, 24, 24}, float32, generator);
  const PoolResult pooled = max_pool2d(x, w);
  const Tensor averaged = avg_pool2d(x, w);
  const Tensor back = avg_pool2d_backward(averaged, x.shape(), w);
  for (int64_t n : {0, 7}) {
    for (int64_t c : {0, 9, 15}) {
      const Tensor plane = x.narrow(0, n, 1).narrow(1, c, 1);
      const PoolResult one = max_pool2d(plane, w);
      CHECK(equal(one.values.squeeze(), pooled.values.select(0, n).select(0, c)));
      CHECK(equal(one.indices.squeeze(), pooled.indices.select(0, n).select(0, c)));
      CHECK(allclose(avg_pool2d(plane, w).squeeze(), averaged.select(0, n).select(0, c)));
      CHECK(allclose(avg_pool2d_backward(avg_pool2d(plane, w), plane.shape(), w).squeeze(),
                     back.select(0, n).select(0, c)));
    }
  }
}

TEST_CASE("convolution and pooling kernels handle empty batches and channels", "[conv]") {
  const Window2d w{.kernel = 2};
  CHECK(im2col(ones({0, 3, 4, 4}), w).shape() == Shape{0, 12, 9});
  CHECK(im2col(ones({2, 0, 4, 4}), w).shape() == Shape{2, 0, 9});
  CHECK(col2im(ones({0, 12, 9}), {0, 3, 4, 4}, w).shape() == Shape{0, 3, 4, 4});
  CHECK(max_pool2d(ones({0, 3, 4, 4}), w).values.shape() == Shape{0, 3, 3, 3});
  CHECK(avg_pool2d(ones({2, 0, 4, 4}), w).shape() == Shape{2, 0, 3, 3});
  CHECK(avg_pool2d_backward(ones({0, 1, 3, 3}), {0, 1, 4, 4}, w).shape() == Shape{0, 1, 4, 4});
}

TEST_CASE("convolution and pooling kernels report bad arguments", "[conv][errors]") {
  const Window2d w{.kernel = 2};
  CHECK_THROWS_WITH(im2col(ones({3, 4, 4}), w),
                    Contains("im2col: x must be 4-d [N, C, H, W], got shape [3, 4, 4]"));
  CHECK_THROWS_WITH(im2col(ones({1, 1, 4, 4}, int64), w),
                    Contains("im2col: x must be float32 or float64, got int64"));
  CHECK_THROWS_WITH(im2col(ones({1, 1, 1, 4}), w), Contains("im2col: the 2x2 window"));
  CHECK_THROWS_WITH(col2im(ones({1, 4, 8}), {1, 1, 4, 4}, w),
                    Contains("col2im: columns of shape [1, 4, 8] do not match image shape [1, 1, 4, 4] with a "
                             "2x2 kernel (expected [1, 4, 9]"));
  CHECK_THROWS_WITH(col2im(ones({1, 4, 9}), {1, 4, 4}, w), Contains("col2im: the image shape must be 4-d"));
  CHECK_THROWS_WITH(max_pool2d(ones({1, 1, 4, 4}), {.kernel = 2, .padding = 2}),
                    Contains("max_pool2d: padding 2x2 is more than half the 2x2 window; use padding of at "
                             "most 1x1"));
  CHECK_THROWS_WITH(avg_pool2d(ones({1, 1, 4}), w), Contains("avg_pool2d: x must be 4-d"));
  CHECK_THROWS_WITH(max_pool2d(ones({1, 1, 4, 4}, uint8), w),
                    Contains("max_pool2d: x must be float32 or float64"));
  CHECK_THROWS_WITH(avg_pool2d_backward(ones({1, 1, 2, 2}), {1, 1, 4, 4}, w),
                    Contains("avg_pool2d_backward: grad_output shape [1, 1, 2, 2] does not match the pooled "
                             "shape [1, 1, 3, 3] of input shape [1, 1, 4, 4]"));
  CHECK_THROWS_AS(max_pool2d(Tensor(), w), Error);
}

TEST_CASE("max_pool2d with the common 2x2 stride-2 window matches a naive loop", "[conv]") {
  // This window has its own vectorised kernel; ties (integral values) and odd sizes included.
  reference::Rng rng(77);
  for (DType dtype : {float32, float64}) {
    const Shape shape{2, 3, 7, 9};
    const Tensor x = reference::random_tensor(shape, dtype, reference::all_layouts[0], rng, -3, 3, /*integral=*/true);
    const PoolResult pooled = max_pool2d(x, {.kernel = 2, .stride = 2});
    const Shape out_shape{2, 3, 3, 4};
    auto reference_max = [&](const Index& o, bool want_index) {
      double best = 0;
      int64_t best_index = -1;
      for (int64_t i = 0; i < 2; ++i) {
        for (int64_t j = 0; j < 2; ++j) {
          const int64_t ih = 2 * o[2] + i, iw = 2 * o[3] + j;
          const double value = read(x, {o[0], o[1], ih, iw});
          if (best_index < 0 || value > best) best = value, best_index = ih * shape[3] + iw;
        }
      }
      return want_index ? static_cast<double>(best_index) : best;
    };
    check_elements(pooled.values, out_shape, [&](const Index& o) { return reference_max(o, false); }, {0, 0});
    check_elements(pooled.indices, out_shape, [&](const Index& o) { return reference_max(o, true); }, {0, 0});
  }
}

TEST_CASE("max_pool2d_backward adds each gradient at its window's winner", "[conv]") {
  // Overlapping windows: a position that wins two windows receives both gradients.
  const Tensor x = tensor({1, 9, 2, 3, 4, 5, 6, 7, 8}, {1, 1, 3, 3});
  const PoolResult pooled = max_pool2d(x, {.kernel = 2, .stride = 1});
  check_values(pooled.indices, {1, 1, 2, 2}, {1, 1, 7, 8});
  const Tensor g = tensor({1, 2, 3, 4}, {1, 1, 2, 2});
  check_values(max_pool2d_backward(g, pooled.indices, x.shape()), {1, 1, 3, 3}, {0, 3, 0, 0, 0, 0, 0, 3, 4});
  // <max_pool2d(x), g> == <x, max_pool2d_backward(g)> (pooling is linear given its winners).
  Generator generator(3);
  const Tensor big = randn({2, 3, 9, 8}, float64, generator);
  const Window2d w{.kernel = 3, .stride = 2, .padding = 1};
  const PoolResult p = max_pool2d(big, w);
  const Tensor gg = randn(p.values.shape(), float64, generator);
  CHECK(inner_product(p.values, gg) == Approx(inner_product(big, max_pool2d_backward(gg, p.indices, big.shape()))));
}

TEST_CASE("max_pool2d_backward refuses indices that do not fit", "[conv][errors]") {
  const Tensor g = ones({1, 1, 2, 2});
  CHECK_THROWS_WITH(max_pool2d_backward(g, Tensor(), {1, 1, 4, 4}), Contains("indices is undefined"));
  CHECK_THROWS_WITH(max_pool2d_backward(g, zeros({1, 1, 2, 2}), {1, 1, 4, 4}), Contains("must be int64"));
  CHECK_THROWS_WITH(max_pool2d_backward(g, full({1, 1, 2, 2}, 16, int64), {1, 1, 4, 4}),
                    Contains("index 16") && Contains("outside the 4x4 input plane"));
  CHECK_THROWS_WITH(max_pool2d_backward(g, zeros({1, 1, 2, 2}, int64), {2, 1, 4, 4}), Contains("N and C differ"));
}

TEST_CASE("max_pool2d without indices gives the same values", "[conv]") {
  Generator generator(12);
  const Tensor x = randn({2, 3, 9, 8}, float32, generator);
  for (const Window2d& w : {Window2d{.kernel = 2, .stride = 2}, Window2d{.kernel = 3, .stride = 2, .padding = 1}}) {
    const PoolResult full_result = max_pool2d(x, w);
    const PoolResult values_only = max_pool2d(x, w, /*with_indices=*/false);
    CHECK_FALSE(values_only.indices.defined());
    CHECK(equal(values_only.values, full_result.values));
  }
}
