// conv2d and its two adjoints, both algorithms (im2col + GEMM, Winograd F(4x4, 3x3)), against a
// direct loop in double precision, and the adjoint identities that tie the three kernels together:
// <conv(x, w), g> = <x, backward_input(g, w)> = <w, backward_weight(x, g)>.
#include <limits>

#include <nabla/tensor.hpp>

#include "reference.hpp"

using namespace nabla;
using namespace nabla::kernels;
using Catch::Matchers::Contains;

namespace {

struct Case {
  const char* name;
  Shape input;   // [N, C, H, W]
  Shape weight;  // [K, C, kh, kw]
  Conv2dParams params;
};

// Direct convolution in double: out[n][k][i][j] = bias[k] + sum x[n][c][i+a-p][j+b-p] w[k][c][a][b].
std::vector<double> direct_conv(const std::vector<double>& x, const Shape& xs, const std::vector<double>& w,
                                const Shape& ws, const std::vector<double>& bias, Size2d padding, Size2d& out) {
  const int64_t N = xs[0], C = xs[1], H = xs[2], W = xs[3], K = ws[0], kh = ws[2], kw = ws[3];
  out = {H + 2 * padding.h - kh + 1, W + 2 * padding.w - kw + 1};
  std::vector<double> y(static_cast<size_t>(N * K * out.h * out.w));
  for (int64_t n = 0; n < N; ++n)
    for (int64_t k = 0; k < K; ++k)
      for (int64_t i = 0; i < out.h; ++i)
        for (int64_t j = 0; j < out.w; ++j) {
          double total = bias.empty() ? 0.0 : bias[static_cast<size_t>(k)];
          for (int64_t c = 0; c < C; ++c)
            for (int64_t a = 0; a < kh; ++a)
              for (int64_t b = 0; b < kw; ++b) {
                const int64_t r = i + a - padding.h, s = j + b - padding.w;
                if (r < 0 || r >= H || s < 0 || s >= W) continue;
                total += x[static_cast<size_t>(((n * C + c) * H + r) * W + s)] *
                         w[static_cast<size_t>(((k * C + c) * kh + a) * kw + b)];
              }
          y[static_cast<size_t>(((n * K + k) * out.h + i) * out.w + j)] = total;
        }
  return y;
}

Tensor random_tensor(const Shape& shape, DType dtype, reference::Rng& rng) {
  return reference::random_tensor(shape, dtype, reference::Layout::contiguous, rng, -1.0, 1.0);
}

// Float tolerances: im2col sums products directly; Winograd F(4x4, 3x3) goes through transforms
// with coefficients up to 8 and 1/24 and loses about 3 more bits (Lavin & Gray report the same;
// F(2x2) lost 1). The observed worst case on these cases is about 6e-5.
double tolerance_for(DType dtype, ConvAlgorithm algorithm) {
  if (dtype == float64) return 1e-11;
  return algorithm == ConvAlgorithm::im2col ? 2e-5 : 1.5e-4;
}

void check_close(const Tensor& actual, const std::vector<double>& expected, double tolerance) {
  const auto values = reference::elements(actual);
  REQUIRE(values.size() == expected.size());

  int64_t mismatches = 0;
  std::string first;
  for (size_t i = 0; i < values.size(); ++i) {
    if (!reference::close(values[i], expected[i], tolerance, tolerance) && mismatches++ == 0) {
      first = "element " + std::to_string(i) + ": got " + std::to_string(values[i]) + ", expected " +
              std::to_string(expected[i]);
    }
  }
  INFO(first);
  CHECK(mismatches == 0);
}

const std::vector<Case>& stride1_3x3_cases() {
  static const std::vector<Case> cases = {
      {"even output, no padding", {2, 8, 10, 10}, {9, 8, 3, 3}, {}},
      {"odd output, padding 1", {3, 8, 7, 9}, {8, 8, 3, 3}, {.padding = 1}},
      {"padding 2, uneven padding", {1, 9, 5, 6}, {10, 9, 3, 3}, {.padding = {2, 1}}},
      {"single output row and column", {2, 8, 3, 3}, {8, 8, 3, 3}, {}},
      {"small images, several blocks of several images", {37, 8, 6, 6}, {8, 8, 3, 3}, {.padding = 1}},
      {"a large odd image cut into bands of tile rows", {2, 8, 70, 61}, {8, 8, 3, 3}, {}},
      {"few channels", {2, 1, 6, 5}, {3, 1, 3, 3}, {.padding = 1}},
      // The filter gradient transposes whole vectors of input channels, then the rest one by one.
      {"20 input channels", {2, 20, 10, 10}, {6, 20, 3, 3}, {}},
  };
  return cases;
}

}  // namespace

TEST_CASE("conv2d: both algorithms match a direct loop, with their adjoints", "[conv]") {
  reference::Rng rng(11);
  for (DType dtype : {float64, float32}) {
    for (const Case& c : stride1_3x3_cases()) {
      for (ConvAlgorithm algorithm : {ConvAlgorithm::im2col, ConvAlgorithm::winograd, ConvAlgorithm::automatic}) {
        INFO(c.name << ", " << dtype_name(dtype) << ", algorithm " << static_cast<int>(algorithm));
        Conv2dParams params = c.params;
        params.algorithm = algorithm;
        const Tensor x = random_tensor(c.input, dtype, rng);
        const Tensor w = random_tensor(c.weight, dtype, rng);
        const Tensor bias = random_tensor({c.weight[0]}, dtype, rng);
        Size2d out;
        const auto expected = direct_conv(reference::elements(x), c.input, reference::elements(w), c.weight,
                                          reference::elements(bias), params.padding, out);
        const Tensor y = conv2d(x, w, bias, params);
        REQUIRE(y.shape() == Shape{c.input[0], c.weight[0], out.h, out.w});
        check_close(y, expected, tolerance_for(dtype, algorithm));

        // The adjoints, through the identities above and against the direct loop's own adjoint.
        const Tensor g = random_tensor(y.shape(), dtype, rng);
        const Tensor gx = conv2d_backward_input(g, w, c.input, params);
        const Tensor gw = conv2d_backward_weight(x, g, c.weight, params);
        const double tolerance = dtype == float64 ? 1e-10 : 1e-3;
        const double forward = reference::inner_product(conv2d(x, w, Tensor(), params), g);
        CHECK(reference::inner_product(x, gx) == Approx(forward).epsilon(tolerance).margin(tolerance));
        CHECK(reference::inner_product(w, gw) == Approx(forward).epsilon(tolerance).margin(tolerance));
        const Tensor gx_reference = conv2d_backward_input(g, w, c.input, {.padding = params.padding,
                                                                          .algorithm = ConvAlgorithm::im2col});
        const Tensor gw_reference = conv2d_backward_weight(x, g, c.weight, {.padding = params.padding,
                                                                           .algorithm = ConvAlgorithm::im2col});
        check_close(gx, reference::elements(gx_reference), tolerance_for(dtype, algorithm));
        check_close(gw, reference::elements(gw_reference), tolerance_for(dtype, algorithm));
        // Both at once (Winograd shares the output-gradient transform between them).
        const auto [gx_both, gw_both] = conv2d_backward(x, g, w, params);
        check_close(gx_both, reference::elements(gx_reference), tolerance_for(dtype, algorithm));
        check_close(gw_both, reference::elements(gw_reference), tolerance_for(dtype, algorithm));
      }
    }
  }
}

TEST_CASE("conv2d: the im2col adjoints match direct loops", "[conv]") {
  // gx[n][c][r][s] = sum over (k, i, j) with r = i + a - p of g[n][k][i][j] w[k][c][a][b]; checked
  // one-hot: with g a single 1 at (n, k, i, j), gx is w[k] placed at (i - p, j - p).
  const Shape input{1, 2, 4, 5}, weight{3, 2, 3, 3};
  reference::Rng rng(5);
  const Tensor w = random_tensor(weight, float64, rng);
  const Conv2dParams params{.padding = 1, .algorithm = ConvAlgorithm::im2col};
  Tensor g = zeros({1, 3, 4, 5}, float64);
  reference::write(g, {0, 1, 2, 3}, 1.0);
  const Tensor gx = conv2d_backward_input(g, w, input, params);
  reference::check_elements(gx, input, [&](const reference::Index& i) {
    const int64_t a = i[2] - 2 + 1, b = i[3] - 3 + 1;
    if (a < 0 || a > 2 || b < 0 || b > 2) return 0.0;
    return reference::read(w, {1, i[1], a, b});
  }, reference::elementwise_tolerance(float64));
  const Tensor x = random_tensor(input, float64, rng);
  const Tensor gw = conv2d_backward_weight(x, g, weight, params);
  reference::check_elements(gw, weight, [&](const reference::Index& i) {
    if (i[0] != 1) return 0.0;
    const int64_t r = 2 + i[2] - 1, s = 3 + i[3] - 1;
    if (r < 0 || r >= 4 || s < 0 || s >= 5) return 0.0;
    return reference::read(x, {0, i[1], r, s});
  }, reference::elementwise_tolerance(float64));
}

TEST_CASE("conv2d: Winograd refuses shapes it cannot compute", "[conv][errors]") {
  const Tensor x = zeros({1, 8, 8, 8});
  const Tensor w3 = zeros({8, 8, 3, 3});
  CHECK_THROWS_WITH(conv2d(x, w3, Tensor(), {.stride = 2, .algorithm = ConvAlgorithm::winograd}),
                    Contains("conv2d: the Winograd algorithm needs a 3x3 kernel, stride 1") && Contains("stride 2x2"));
  CHECK_THROWS_WITH(conv2d(x, zeros({8, 8, 5, 5}), Tensor(), {.algorithm = ConvAlgorithm::winograd}),
                    Contains("kernel 5x5"));
  CHECK_THROWS_WITH(conv2d(x, w3, Tensor(), {.padding = 3, .algorithm = ConvAlgorithm::winograd}),
                    Contains("padding 3x3"));
  CHECK_THROWS_WITH(conv2d(x, zeros({8, 4, 3, 3}), Tensor(), {.groups = 2, .algorithm = ConvAlgorithm::winograd}),
                    Contains("groups 2"));
  // automatic falls back to im2col where Winograd does not apply.
  CHECK(conv2d(x, w3, Tensor(), {.stride = 2}).shape() == Shape{1, 8, 3, 3});
  // Both gradients at once check grad_output like each alone.
  CHECK_THROWS_WITH(conv2d_backward(x, zeros({1, 8, 5, 6}), w3, {}),
                    Contains("conv2d_backward: grad_output of shape [1, 8, 5, 6] does not match") &&
                        Contains("[1, 8, 6, 6]"));
  CHECK_THROWS_WITH(conv2d_and_backward_weight(x, w3, zeros({1, 8, 5, 6}), {}),
                    Contains("conv2d_and_backward_weight: grad_output of shape [1, 8, 5, 6] does not match"));
  CHECK_THROWS_WITH(conv2d_and_backward_weight(x, w3, zeros({1, 8, 6, 6}, float64), {}),
                    Contains("conv2d_and_backward_weight") && Contains("float64"));
}

namespace {

// Direct strided, grouped convolution in double and its two adjoints from the same loop nest:
// y[n][k][i][j] = sum x[n][g*Cg + c][i*s - p + a*d][j*s - p + b*d] w[k][c][a][b], g = k / (K / groups);
// gx and gw accumulate g_out[n][k][i][j] times the other factor along the same terms.
struct DirectResult {
  std::vector<double> y, gx, gw;
};
DirectResult direct_strided(const Tensor& x, const Tensor& w, const Tensor& g_out, const Conv2dParams& p) {
  const Shape xs = x.shape(), ws = w.shape(), ys = g_out.shape();
  const int64_t N = xs[0], C = xs[1], H = xs[2], W = xs[3], K = ws[0], Cg = ws[1], kh = ws[2], kw = ws[3];
  const int64_t OH = ys[2], OW = ys[3], per_group = K / p.groups;
  const auto xv = reference::elements(x), wv = reference::elements(w), gv = reference::elements(g_out);
  DirectResult r{std::vector<double>(gv.size()), std::vector<double>(xv.size()), std::vector<double>(wv.size())};
  for (int64_t n = 0; n < N; ++n)
    for (int64_t k = 0; k < K; ++k)
      for (int64_t i = 0; i < OH; ++i)
        for (int64_t j = 0; j < OW; ++j) {
          const size_t yi = static_cast<size_t>(((n * K + k) * OH + i) * OW + j);
          for (int64_t c = 0; c < Cg; ++c)
            for (int64_t a = 0; a < kh; ++a)
              for (int64_t b = 0; b < kw; ++b) {
                const int64_t row = i * p.stride.h - p.padding.h + a * p.dilation.h;
                const int64_t col = j * p.stride.w - p.padding.w + b * p.dilation.w;
                if (row < 0 || row >= H || col < 0 || col >= W) continue;
                const size_t xi = static_cast<size_t>(((n * C + (k / per_group) * Cg + c) * H + row) * W + col);
                const size_t wi = static_cast<size_t>(((k * Cg + c) * kh + a) * kw + b);
                r.y[yi] += xv[xi] * wv[wi];
                r.gx[xi] += gv[yi] * wv[wi];
                r.gw[wi] += gv[yi] * xv[xi];
              }
        }
  return r;
}

}  // namespace

TEST_CASE("conv2d: the batched and the per-image im2col paths match direct loops, strided and grouped", "[conv]") {
  // Few output positions per image (L < 256) take the batched path (all of a thread's images in one
  // GEMM); many, or a batch of one, the per-image one. With 16 channels or more and one group, the
  // batched path unfolds with the channels last (runs of C channels per tap; 20 leaves a tail past
  // the eight-wide copies and transposes). The last case is more columns than one GEMM holds, so its
  // images go in two parts. On the channels-last path conv2d can keep its columns for the weight
  // gradient. conv2d_and_backward_weight gives conv2d and the weight gradient from one unfolding
  // on the batched path, and runs the two kernels on the others.
  struct StridedCase {
    const char* name;
    Shape input, weight;
    Conv2dParams params;
  };
  const std::vector<StridedCase> cases = {
      {"DCGAN-like 4x4 stride 2, batched", {5, 6, 9, 9}, {8, 6, 4, 4}, {.stride = 2, .padding = 1}},
      {"3x3 stride 2, two groups, batched", {3, 4, 8, 8}, {6, 2, 3, 3}, {.stride = 2, .padding = 1, .groups = 2}},
      {"one output position per image (a GEMV each), batched", {7, 3, 4, 4}, {5, 3, 4, 4}, {}},
      {"DCGAN's 4x4 stride 2 with the channels last", {5, 16, 9, 9}, {8, 16, 4, 4}, {.stride = 2, .padding = 1}},
      {"channels last: 20 channels, 3x2 kernel, uneven stride and padding, dilation 2", {3, 20, 11, 10}, {7, 20, 3, 2},
       {.stride = {2, 1}, .padding = {2, 1}, .dilation = 2}},
      {"channels last, one output position per image", {6, 24, 4, 4}, {9, 24, 4, 4}, {}},
      {"32 channels in two groups: channel by channel", {3, 32, 6, 6}, {8, 16, 3, 3},
       {.stride = 2, .padding = 1, .groups = 2}},
      {"batch of one, per image", {1, 6, 9, 9}, {8, 6, 4, 4}, {.stride = 2, .padding = 1}},
      {"400 positions, per image", {2, 3, 20, 20}, {4, 3, 3, 3}, {.padding = 1, .algorithm = ConvAlgorithm::im2col}},
      {"more columns than one GEMM holds, batched in parts", {40, 256, 16, 16}, {3, 256, 4, 4}, {.stride = 2, .padding = 1}},
  };
  reference::Rng rng(23);
  for (DType dtype : {float64, float32}) {
    int kept_cases = 0;
    for (const StridedCase& c : cases) {
      INFO(c.name << ", " << dtype_name(dtype));
      const Tensor x = random_tensor(c.input, dtype, rng);
      const Tensor w = random_tensor(c.weight, dtype, rng);
      const Tensor bias = random_tensor({c.weight[0]}, dtype, rng);
      const Tensor y = conv2d(x, w, bias, c.params);
      const Tensor g = random_tensor(y.shape(), dtype, rng);
      const DirectResult expected = direct_strided(x, w, g, c.params);
      const Tensor y_no_bias = conv2d(x, w, Tensor(), c.params);
      const double tolerance = dtype == float64 ? 1e-11 : 1e-4;
      check_close(y_no_bias, expected.y, tolerance);
      check_close(sub(y, y_no_bias), reference::elements(bias.reshape({1, c.weight[0], 1, 1}).expand(y.shape()).contiguous()),
                  tolerance);
      check_close(conv2d_backward_input(g, w, c.input, c.params), expected.gx, tolerance);
      check_close(conv2d_backward_weight(x, g, c.weight, c.params), expected.gw, dtype == float64 ? 1e-10 : 1e-3);
      // The forward's kept columns (on the batched channels-last path) give the same weight gradient.
      Tensor kept;
      check_close(conv2d(x, w, Tensor(), c.params, /*relu=*/false, &kept), expected.y, tolerance);
      if (kept.defined()) {
        ++kept_cases;
        check_close(conv2d_backward_weight(x, g, c.weight, c.params, kept), expected.gw, dtype == float64 ? 1e-10 : 1e-3);
        check_close(conv2d_backward(x, g, w, c.params, kept).second, expected.gw, dtype == float64 ? 1e-10 : 1e-3);
        CHECK_THROWS_WITH(conv2d_backward_weight(x, g, c.weight, c.params, kept.slice(0, 1, kept.size(0))),
                          Contains("conv2d_backward_weight: kept_columns of shape") &&
                              Contains("are not what conv2d keeps"));
      }
      // The pair a transposed convolution's backward asks for, from one unfolding of x.
      const auto [y_shared, gw_shared] = conv2d_and_backward_weight(x, w, g, c.params);
      check_close(y_shared, expected.y, tolerance);
      check_close(gw_shared, expected.gw, dtype == float64 ? 1e-10 : 1e-3);
    }
    CHECK(kept_cases == 4);  // the four channels-last cases, the last in two parts
  }
}

TEST_CASE("conv2d with relu writes relu(conv2d) on every path, NaN kept", "[conv]") {
  // The fused form behind conv2d_relu: the same sums, each value through relu as it is written
  // (Winograd's output transform, the per-image GEMM's block, the batched path's scatter).
  const std::vector<Case> cases = {
      {"Winograd", {2, 8, 10, 10}, {9, 8, 3, 3}, {.padding = 1}},
      {"im2col per image", {2, 3, 20, 20}, {4, 3, 3, 3}, {.padding = 1, .algorithm = ConvAlgorithm::im2col}},
      {"im2col batched (4x4 stride 2)", {5, 6, 9, 9}, {8, 6, 4, 4}, {.stride = 2, .padding = 1}},
  };
  reference::Rng rng(29);
  for (DType dtype : {float64, float32}) {
    for (const Case& c : cases) {
      for (bool with_bias : {true, false}) {
        INFO(c.name << ", " << dtype_name(dtype) << (with_bias ? ", bias" : ", no bias"));
        const Tensor x = random_tensor(c.input, dtype, rng);
        const Tensor w = random_tensor(c.weight, dtype, rng);
        const Tensor bias = with_bias ? random_tensor({c.weight[0]}, dtype, rng) : Tensor();
        const Tensor plain = conv2d(x, w, bias, c.params);
        const Tensor fused = conv2d(x, w, bias, c.params, /*relu=*/true);
        CHECK(equal(fused, relu(plain)));
        CHECK(reference::elements(amin(fused))[0] == 0.0);  // some outputs were negative
        CHECK(reference::elements(amax(fused))[0] > 0.0);

        // A NaN in the input spreads to every output its windows reach, and relu keeps it there.
        Tensor poisoned = x.clone();
        poisoned.narrow(2, 2, 1).narrow(3, 3, 1).fill_(std::numeric_limits<double>::quiet_NaN());
        const Tensor poisoned_plain = conv2d(poisoned, w, bias, c.params);
        const Tensor poisoned_fused = conv2d(poisoned, w, bias, c.params, true);
        CHECK(reference::elements(sum(isnan(poisoned_fused).to(int64)))[0] > 0);
        CHECK(equal(isnan(poisoned_fused), isnan(poisoned_plain)));
      }
    }
  }
}

TEST_CASE("conv2d_relu_backward_weight_bias equals the weight and bias gradients of relu_backward's output",
          "[conv]") {
  // A first layer's gradients with relu's backward folded into the weight gradient's reading of
  // the output gradient: the same values, to the last bit, on every path, with and without the
  // columns the forward keeps; a NaN output passes its gradient, as relu_backward's.
  const std::vector<Case> cases = {
      {"per image, one input channel (MNIST's first layer)", {3, 1, 28, 28}, {32, 1, 3, 3}, {}},
      {"per image, strided", {2, 3, 40, 40}, {4, 3, 3, 3}, {.stride = 2, .padding = 1, .algorithm = ConvAlgorithm::im2col}},
      {"batched (4x4 stride 2)", {5, 6, 9, 9}, {8, 6, 4, 4}, {.stride = 2, .padding = 1}},
      {"batched, grouped", {4, 4, 8, 8}, {6, 2, 3, 3}, {.stride = 2, .padding = 1, .groups = 2}},
      {"batched, channels last", {3, 64, 6, 6}, {8, 64, 3, 3}, {.stride = 2, .padding = 1}},
      {"Winograd (the gradient written first)", {2, 8, 10, 10}, {9, 8, 3, 3}, {.padding = 1}},
  };
  reference::Rng rng(43);
  for (DType dtype : {float64, float32}) {
    for (const Case& c : cases) {
      INFO(c.name << ", " << dtype_name(dtype));
      const Tensor x = random_tensor(c.input, dtype, rng);
      const Tensor w = random_tensor(c.weight, dtype, rng);
      const Tensor bias = random_tensor({c.weight[0]}, dtype, rng);
      Tensor kept;
      Tensor y = conv2d(x, w, bias, c.params, /*relu=*/true, &kept);
      y.narrow(2, 1, 1).narrow(3, 1, 1).fill_(std::numeric_limits<double>::quiet_NaN());
      const Tensor g = random_tensor(y.shape(), dtype, rng);
      const Tensor grad_z = relu_backward(g, y);
      REQUIRE(reference::elements(amin(abs(grad_z)))[0] == 0.0);  // relu cut some gradients
      const Tensor expected_bias = sum(sum(grad_z, {2, 3}), {0});
      for (const Tensor& columns : {Tensor(), kept}) {
        const auto [gw, gb] = conv2d_relu_backward_weight_bias(x, g, y, c.weight, c.params, columns);
        CHECK(equal(gw, conv2d_backward_weight(x, grad_z, c.weight, c.params, columns)));
        CHECK(equal(gb, expected_bias));
      }
    }
  }
  const Tensor x = random_tensor({2, 1, 8, 8}, float32, rng), w = random_tensor({4, 1, 3, 3}, float32, rng);
  const Tensor y = conv2d(x, w, Tensor(), {}, true);
  CHECK_THROWS_WITH(conv2d_relu_backward_weight_bias(x, y, y.narrow(3, 0, 5), w.shape(), {}),
                    Contains("conv2d_relu_backward_weight_bias") && Contains("[2, 4, 6, 5]") &&
                        Contains("does not match grad_output of shape [2, 4, 6, 6]"));
}

namespace {

// Winograd pools in its output transform (odd output sizes leave their last row or column out,
// large images go in bands of tile rows, small ones in blocks of images); other convolutions run
// the two kernels in turn. The pooled backward rebuilds the output gradient likewise.
const std::vector<Case>& relu_pool_cases() {
  static const std::vector<Case> cases = {
      {"Winograd, 24x24 output", {3, 8, 26, 26}, {9, 8, 3, 3}, {}},
      {"Winograd, odd 7x9 output", {2, 8, 7, 9}, {8, 8, 3, 3}, {.padding = 1}},
      {"Winograd, a large image in bands", {1, 8, 70, 61}, {8, 8, 3, 3}, {}},
      {"Winograd, blocks of small images", {37, 8, 6, 6}, {8, 8, 3, 3}, {.padding = 1}},
      {"Winograd, 2x3 output", {2, 8, 4, 5}, {8, 8, 3, 3}, {}},
      // Outputs of whole tiles pool lane by lane, over all of a block's tiles of an image at once.
      {"Winograd, whole tiles in bands", {1, 8, 66, 34}, {8, 8, 3, 3}, {}},
      {"Winograd, whole tiles in blocks of images", {20, 8, 8, 8}, {8, 8, 3, 3}, {.padding = 1}},
      {"im2col (one input channel)", {2, 1, 12, 12}, {4, 1, 3, 3}, {}},
  };
  return cases;
}

}  // namespace

TEST_CASE("conv2d_relu_max_pool2d equals max_pool2d of conv2d with relu, values and indices", "[conv]") {
  const Window2d pool{.kernel = 2, .stride = 2};
  reference::Rng rng(31);
  for (DType dtype : {float64, float32}) {
    for (const Case& c : relu_pool_cases()) {
      INFO(c.name << ", " << dtype_name(dtype));
      const Tensor x = random_tensor(c.input, dtype, rng);
      const Tensor w = random_tensor(c.weight, dtype, rng);
      const Tensor bias = random_tensor({c.weight[0]}, dtype, rng);
      const PoolResult fused = conv2d_relu_max_pool2d(x, w, bias, c.params);
      const PoolResult apart = max_pool2d(conv2d(x, w, bias, c.params, /*relu=*/true), pool);
      REQUIRE(fused.values.shape() == apart.values.shape());
      CHECK(equal(fused.values, apart.values));
      CHECK(equal(fused.indices, apart.indices));
      CHECK(equal(conv2d_relu_max_pool2d(x, w, Tensor(), c.params).values,
                  max_pool2d(conv2d(x, w, Tensor(), c.params, true), pool).values));

      // The first NaN of a window wins and propagates, as max_pool2d's.
      Tensor poisoned = x.clone();
      poisoned.narrow(2, 1, 1).narrow(3, 2, 1).fill_(std::numeric_limits<double>::quiet_NaN());
      const PoolResult fused_nan = conv2d_relu_max_pool2d(poisoned, w, bias, c.params);
      const PoolResult apart_nan = max_pool2d(conv2d(poisoned, w, bias, c.params, true), pool);
      CHECK(reference::elements(sum(isnan(fused_nan.values).to(int64)))[0] > 0);
      CHECK(equal(isnan(fused_nan.values), isnan(apart_nan.values)));
      CHECK(equal(fused_nan.indices, apart_nan.indices));
    }
  }
}

TEST_CASE("conv2d_backward_pooled equals conv2d_backward of max_pool2d_backward", "[conv]") {
  // The same arithmetic on the same output gradient, rebuilt band by band instead of read whole:
  // equal to the last bit.
  reference::Rng rng(37);
  for (DType dtype : {float64, float32}) {
    for (const Case& c : relu_pool_cases()) {
      INFO(c.name << ", " << dtype_name(dtype));
      const Tensor x = random_tensor(c.input, dtype, rng);
      const Tensor w = random_tensor(c.weight, dtype, rng);
      const PoolResult pooled = conv2d_relu_max_pool2d(x, w, Tensor(), c.params);
      const Tensor grad_pooled = random_tensor(pooled.values.shape(), dtype, rng);
      const Tensor y = conv2d(x, w, Tensor(), c.params);
      const Tensor grad_y = max_pool2d_backward(grad_pooled, pooled.indices, y.shape());
      const auto [gx, gw] = conv2d_backward_pooled(x, grad_pooled, pooled.indices, w, c.params);
      const auto [gx_apart, gw_apart] = conv2d_backward(x, grad_y, w, c.params);
      CHECK(equal(gx, gx_apart));
      CHECK(equal(gw, gw_apart));
    }
  }
}

TEST_CASE("conv2d_relu_backward_pooled equals conv2d_backward_pooled of relu_backward's output, with its sums",
          "[conv]") {
  // conv2d_relu_max_pool2d's backward with relu's mask applied an image at a time where the
  // pooled gradient is transformed: the same three gradients as the ops in turn, to the last bit,
  // on every path. A NaN value passes its gradient, as relu_backward's; a non-contiguous gradient
  // is read as its values.
  reference::Rng rng(47);
  for (DType dtype : {float64, float32}) {
    for (const Case& c : relu_pool_cases()) {
      INFO(c.name << ", " << dtype_name(dtype));
      const Tensor x = random_tensor(c.input, dtype, rng);
      const Tensor w = random_tensor(c.weight, dtype, rng);
      const Tensor bias = random_tensor({c.weight[0]}, dtype, rng);
      const PoolResult pooled = conv2d_relu_max_pool2d(x, w, bias, c.params);
      Tensor values = pooled.values.clone();
      values.narrow(1, 0, 1).fill_(0.0);  // a channel relu cut whole
      values.narrow(1, 1, 1).narrow(2, 0, 1).narrow(3, 0, 1).fill_(std::numeric_limits<double>::quiet_NaN());
      const Shape& shape = values.shape();
      const Tensor g = random_tensor({shape[0], shape[1], shape[3], shape[2]}, dtype, rng).transpose(2, 3);
      const Tensor masked = relu_backward(g, values);
      REQUIRE(reference::elements(amin(abs(masked)))[0] == 0.0);  // relu cut some gradients
      const auto [gx_apart, gw_apart] = conv2d_backward_pooled(x, masked, pooled.indices, w, c.params);
      const ConvGradients fused = conv2d_relu_backward_pooled(x, g, values, pooled.indices, w, c.params);
      CHECK(equal(fused.input, gx_apart));
      CHECK(equal(fused.weight, gw_apart));
      CHECK(equal(fused.bias, sum(sum(masked, {2, 3}), {0})));
    }
  }
  const Tensor x = random_tensor({2, 8, 10, 10}, float32, rng), w = random_tensor({8, 8, 3, 3}, float32, rng);
  const PoolResult pooled = conv2d_relu_max_pool2d(x, w, Tensor(), {});
  CHECK_THROWS_WITH(conv2d_relu_backward_pooled(x, pooled.values, pooled.values.narrow(3, 0, 3), pooled.indices, w, {}),
                    Contains("conv2d_relu_backward_pooled") && Contains("[2, 8, 4, 3]") &&
                        Contains("do not match grad_values of shape [2, 8, 4, 4]"));
  CHECK_THROWS_WITH(conv2d_relu_backward_pooled(x, pooled.values, pooled.values, pooled.indices.to(float32), w, {}),
                    Contains("conv2d_relu_backward_pooled") && Contains("indices must be int64"));
}

TEST_CASE("conv2d_backward_pooled refuses indices outside their window and mismatched shapes", "[conv][errors]") {
  reference::Rng rng(41);
  const Tensor x = random_tensor({2, 8, 10, 10}, float32, rng);
  const Tensor w = random_tensor({8, 8, 3, 3}, float32, rng);
  const PoolResult pooled = conv2d_relu_max_pool2d(x, w, Tensor(), {});  // 8x8 output, pooled 4x4
  const Tensor grad_pooled = random_tensor(pooled.values.shape(), float32, rng);
  // Index 18 = row 2, column 2 of the 8x8 plane: inside the plane, but in pooled cell (1, 1)'s
  // window, not cell (0, 0)'s.
  Tensor bad = pooled.indices.clone();
  bad.narrow(2, 0, 1).narrow(3, 0, 1).fill_(18);
  CHECK_THROWS_WITH(conv2d_backward_pooled(x, grad_pooled, bad, w, {}),
                    Contains("conv2d_backward_pooled") && Contains("outside its 2x2 window"));
  bad.narrow(2, 0, 1).narrow(3, 0, 1).fill_(-1);
  CHECK_THROWS_WITH(conv2d_backward_pooled(x, grad_pooled, bad, w, {}), Contains("outside"));
  // Rows of 16 pooled cells go through whole vectors of cells, which check their indices together.
  const Tensor wide = random_tensor({1, 8, 18, 34}, float32, rng);  // a 16x32 output
  const PoolResult wide_pooled = conv2d_relu_max_pool2d(wide, w, Tensor(), {});
  Tensor wide_bad = wide_pooled.indices.clone();
  wide_bad.narrow(1, 5, 1).narrow(2, 3, 1).narrow(3, 9, 1).fill_(6 * 32 + 18 + 32 + 2);  // cell (3, 10)'s window
  CHECK_THROWS_WITH(conv2d_backward_pooled(wide, random_tensor(wide_pooled.values.shape(), float32, rng), wide_bad, w, {}),
                    Contains("index 244 at pooled position (3, 9) of channel 5 is outside its 2x2 window"));
  CHECK_THROWS_WITH(conv2d_backward_pooled(x, grad_pooled.narrow(3, 0, 3), pooled.indices, w, {}),
                    Contains("conv2d_backward_pooled") && Contains("[2, 8, 4, 3]"));
  CHECK_THROWS_WITH(conv2d_backward_pooled(x, grad_pooled, pooled.indices.to(float32), w, {}),
                    Contains("indices must be int64"));
}
