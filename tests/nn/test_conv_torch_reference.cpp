// The convolution, pooling and resampling layers of issue 13 against PyTorch: the same layers,
// filled with the same deterministic weights in named_parameters() order, on the same input, give
// PyTorch's outputs, indices and gradients (tests/nn/reference/conv_reference.py made the numbers
// with torch 1.13).
#include <catch2/catch.hpp>

#include <cmath>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "nabla/nn.hpp"

using namespace nabla;

namespace {

using Reference = std::map<std::string, std::vector<double>>;
const std::map<std::string, Reference> kTorch = {
#include "reference/conv_reference.inc"
};

Tensor pattern(const Shape& shape, DType dtype, double (*f)(int64_t)) {
  std::vector<double> values(static_cast<size_t>(shape_numel(shape)));
  for (size_t j = 0; j < values.size(); ++j) values[j] = f(static_cast<int64_t>(j));
  return from_vector(values, shape).to(dtype);
}
double input_value(int64_t j) { return 0.5 * std::cos(0.9 * static_cast<double>(j)); }
double output_weight(int64_t j) { return std::cos(0.11 * static_cast<double>(j)); }

void check_close(const Tensor& actual, const std::vector<double>& expected, const std::string& what, double tolerance) {
  INFO(what);
  REQUIRE(actual.numel() == static_cast<int64_t>(expected.size()));
  const std::vector<double> got = actual.to_vector<double>();
  double worst = 0.0;
  for (size_t i = 0; i < got.size(); ++i) worst = std::max(worst, std::abs(got[i] - expected[i]));
  CHECK(worst <= tolerance);
}

using Forward = std::function<ValuesIndices(const Tensor&)>;

// Runs forward on the pattern input (the layer's parameters filled as the generator fills them),
// backpropagates sum(output * w) and compares everything with torch's numbers for `label`.
void check_against_torch(const std::string& label, nn::Module* layer, const Forward& forward, const Shape& input_shape,
                         DType dtype = float64) {
  INFO("case: " << label);
  REQUIRE(kTorch.count(label) == 1);
  const Reference& torch = kTorch.at(label);
  std::vector<std::pair<std::string, Tensor>> parameters;
  if (layer) {
    layer->to(dtype);
    parameters = layer->named_parameters();
    int64_t k = 0;
    for (auto& [name, parameter] : parameters) {
      const double kk = static_cast<double>(k++);
      std::vector<double> values(static_cast<size_t>(parameter.numel()));
      for (size_t j = 0; j < values.size(); ++j) values[j] = 0.3 * std::sin(0.7 * static_cast<double>(j) + 1.3 * kk);
      NoGradGuard no_grad;
      parameter.data().copy_(from_vector(values, parameter.shape()).to(dtype));
    }
  }
  const Tensor x = pattern(input_shape, dtype, input_value).requires_grad_();
  const ValuesIndices result = forward(x);
  const double tolerance = dtype == float64 ? 1e-10 : 2e-5;
  check_close(result.values, torch.at("output"), "output", tolerance);
  if (result.indices.defined()) check_close(result.indices, torch.at("indices"), "indices", 0.0);
  (result.values * pattern(result.values.shape(), dtype, output_weight)).sum().backward();
  check_close(x.grad(), torch.at("grad input"), "grad input", tolerance);
  for (auto& [name, parameter] : parameters) check_close(parameter.grad(), torch.at("grad " + name), "grad " + name, tolerance);
}

// A module with one-tensor forward.
template <class Layer>
void check_layer(const std::string& label, Layer layer, const Shape& input_shape, DType dtype = float64) {
  check_against_torch(label, &layer, [&](const Tensor& x) { return ValuesIndices{layer(x), {}}; }, input_shape, dtype);
}

// A max pool, compared with its indices too.
template <class Layer>
void check_pool_with_indices(const std::string& label, Layer layer, const Shape& input_shape) {
  check_against_torch(label, &layer, [&](const Tensor& x) { return layer.forward_with_indices(x); }, input_shape);
}

void check_function(const std::string& label, const std::function<Tensor(const Tensor&)>& fn, const Shape& input_shape) {
  check_against_torch(label, nullptr, [&](const Tensor& x) { return ValuesIndices{fn(x), {}}; }, input_shape);
}

}  // namespace

TEST_CASE("torch reference: ConvTranspose2d and ConvTranspose1d", "[layers][conv][torch]") {
  check_layer("conv_transpose2d 3x3", nn::ConvTranspose2d(2, 3, 3), {2, 2, 4, 5});
  check_layer("conv_transpose2d 8 channels 3x3 padding 1 (Winograd)",
              nn::ConvTranspose2d({.in_channels = 8, .out_channels = 8, .kernel_size = 3, .padding = 1}), {1, 8, 5, 6});
  check_layer("conv_transpose2d kernel 4 stride 2 padding 1 (DCGAN)",
              nn::ConvTranspose2d({.in_channels = 4, .out_channels = 3, .kernel_size = 4, .stride = 2, .padding = 1}),
              {2, 4, 3, 3});
  check_layer("conv_transpose2d stride (2, 3) padding (1, 0) output_padding (1, 2) groups 2 dilation 2",
              nn::ConvTranspose2d({.in_channels = 4,
                                   .out_channels = 6,
                                   .kernel_size = {3, 2},
                                   .stride = {2, 3},
                                   .padding = {1, 0},
                                   .output_padding = {1, 2},
                                   .groups = 2,
                                   .dilation = 2}),
              {2, 4, 3, 4});
  check_layer("conv_transpose2d output_padding 2 beyond stride 1 (dilation 3)",
              nn::ConvTranspose2d({.in_channels = 2, .out_channels = 2, .kernel_size = 2, .output_padding = 2, .dilation = 3}),
              {1, 2, 3, 3});
  check_layer("conv_transpose2d no bias kernel (1, 3) stride 2",
              nn::ConvTranspose2d({.in_channels = 3, .out_channels = 2, .kernel_size = {1, 3}, .stride = 2, .bias = false}),
              {2, 3, 2, 3});
  nn::ConvTranspose2d sized({.in_channels = 2, .out_channels = 2, .kernel_size = 3, .stride = 2, .padding = 1});
  check_against_torch("conv_transpose2d output_size (6, 5)", &sized,
                      [&](const Tensor& x) { return ValuesIndices{sized.forward(x, {6, 5}), {}}; }, {1, 2, 3, 3});
  check_layer("conv_transpose1d stride 2 padding 1 output_padding 1 groups 2 dilation 2",
              nn::ConvTranspose1d({.in_channels = 4,
                                   .out_channels = 2,
                                   .kernel_size = 3,
                                   .stride = 2,
                                   .padding = 1,
                                   .output_padding = 1,
                                   .groups = 2,
                                   .dilation = 2}),
              {2, 4, 5});
}

TEST_CASE("torch reference: Conv1d and the padding of Conv2d", "[layers][conv][torch]") {
  using nn::PaddingMode;
  check_layer("conv1d stride 2 padding 1 groups 2",
              nn::Conv1d({.in_channels = 4, .out_channels = 6, .kernel_size = 3, .stride = 2, .padding = 1, .groups = 2}),
              {2, 4, 7});
  check_layer("conv1d same even kernel dilation 2",
              nn::Conv1d({.in_channels = 2, .out_channels = 3, .kernel_size = 4, .padding = nn::same, .dilation = 2}),
              {2, 2, 9});
  check_layer("conv1d reflect padding 2",
              nn::Conv1d({.in_channels = 2, .out_channels = 2, .kernel_size = 3, .padding = 2,
                          .padding_mode = PaddingMode::reflect}),
              {1, 2, 6});
  check_layer("conv1d circular same",
              nn::Conv1d({.in_channels = 2, .out_channels = 2, .kernel_size = 4, .padding = nn::same,
                          .padding_mode = PaddingMode::circular}),
              {1, 2, 6});
  check_layer("conv2d same 3x3", nn::Conv2d({.in_channels = 2, .out_channels = 3, .kernel_size = 3, .padding = nn::same}),
              {1, 2, 5, 4});
  check_layer("conv2d same even kernel (4, 2) dilation (1, 2)",
              nn::Conv2d({.in_channels = 2, .out_channels = 2, .kernel_size = {4, 2}, .padding = nn::same, .dilation = {1, 2}}),
              {2, 2, 6, 5});
  check_layer("conv2d valid", nn::Conv2d({.in_channels = 2, .out_channels = 2, .kernel_size = 3, .padding = nn::valid}),
              {1, 2, 5, 5});
  check_layer("conv2d reflect padding (1, 2)",
              nn::Conv2d({.in_channels = 2, .out_channels = 3, .kernel_size = 3, .padding = {1, 2},
                          .padding_mode = PaddingMode::reflect}),
              {1, 2, 4, 5});
  check_layer("conv2d replicate padding 2 stride 2",
              nn::Conv2d({.in_channels = 2, .out_channels = 2, .kernel_size = 3, .stride = 2, .padding = 2,
                          .padding_mode = PaddingMode::replicate}),
              {1, 2, 5, 5});
  check_layer("conv2d circular padding (2, 1) groups 2",
              nn::Conv2d({.in_channels = 2, .out_channels = 4, .kernel_size = 3, .padding = {2, 1}, .groups = 2,
                          .padding_mode = PaddingMode::circular}),
              {2, 2, 4, 4});
  check_layer("conv2d same even kernel reflect",
              nn::Conv2d({.in_channels = 2, .out_channels = 2, .kernel_size = {2, 4}, .padding = nn::same,
                          .padding_mode = PaddingMode::reflect}),
              {1, 2, 5, 6});
}

TEST_CASE("torch reference: pools with ceil_mode, divisor_override, 1-d and adaptive max", "[layers][pool][torch]") {
  check_pool_with_indices("max_pool2d ceil_mode kernel 3 stride 2 padding 1",
                          nn::MaxPool2d({.kernel_size = 3, .stride = 2, .padding = 1, .ceil_mode = true}), {2, 2, 6, 7});
  check_pool_with_indices("max_pool2d ceil_mode kernel 2 (odd input)", nn::MaxPool2d({.kernel_size = 2, .ceil_mode = true}),
                          {1, 2, 5, 7});
  check_layer("avg_pool2d ceil_mode kernel 3 stride 2 padding 1",
              nn::AvgPool2d({.kernel_size = 3, .stride = 2, .padding = 1, .ceil_mode = true}), {2, 2, 6, 7});
  check_layer("avg_pool2d ceil_mode exclude pad",
              nn::AvgPool2d({.kernel_size = 3, .stride = 2, .padding = 1, .ceil_mode = true, .count_include_pad = false}),
              {1, 2, 6, 7});
  check_layer("avg_pool2d ceil_mode kernel 2 (odd input)", nn::AvgPool2d({.kernel_size = 2, .ceil_mode = true}), {1, 1, 5, 5});
  check_layer("avg_pool2d divisor_override 3",
              nn::AvgPool2d({.kernel_size = {2, 3}, .stride = 1, .padding = 1, .divisor_override = 3}), {1, 2, 4, 5});
  check_pool_with_indices("max_pool1d kernel 3 stride 2 padding 1 dilation 2 ceil_mode",
                          nn::MaxPool1d({.kernel_size = 3, .stride = 2, .padding = 1, .dilation = 2, .ceil_mode = true}),
                          {2, 3, 10});
  check_pool_with_indices("max_pool1d kernel 2", nn::MaxPool1d(2), {2, 2, 7});
  check_layer("avg_pool1d kernel 3 stride 2 padding 1 ceil_mode",
              nn::AvgPool1d({.kernel_size = 3, .stride = 2, .padding = 1, .ceil_mode = true}), {2, 2, 8});
  check_layer("avg_pool1d exclude pad",
              nn::AvgPool1d({.kernel_size = 4, .stride = 3, .padding = 2, .count_include_pad = false}), {1, 2, 9});
  check_pool_with_indices("adaptive_max_pool2d 7x5 to 3x2", nn::AdaptiveMaxPool2d({3, 2}), {2, 2, 7, 5});
  check_pool_with_indices("adaptive_max_pool2d 4x6 to 5x4 (overlapping)", nn::AdaptiveMaxPool2d({5, 4}), {1, 2, 4, 6});
  check_pool_with_indices("adaptive_max_pool1d 10 to 4", nn::AdaptiveMaxPool1d(4), {2, 2, 10});
  check_layer("adaptive_avg_pool1d 10 to 4", nn::AdaptiveAvgPool1d(4), {2, 2, 10});
}

TEST_CASE("torch reference: Upsample and interpolate, pixel shuffles", "[layers][resample][torch]") {
  namespace F = nn::functional;
  using I = Interpolation;
  check_layer("upsample nearest scale 2", nn::Upsample({.scale_factor = {2.0}}), {1, 2, 3, 4});
  check_layer("upsample nearest size (8, 3)", nn::Upsample({.size = {8, 3}}), {1, 2, 5, 7});
  check_layer("upsample nearest scale 1.7", nn::Upsample({.scale_factor = {1.7}}), {1, 1, 5, 7});
  check_function("upsample nearest scale (0.6, 2.5) recompute", [](const Tensor& x) {
    return F::interpolate(x, {.scale_factor = {0.6, 2.5}, .recompute_scale_factor = true});
  }, {1, 1, 7, 3});
  check_layer("upsample nearest-exact scale 1.5", nn::Upsample({.scale_factor = {1.5}, .mode = I::nearest_exact}), {1, 2, 4, 5});
  check_layer("upsample nearest 1-d size 11", nn::Upsample({.size = {11}}), {2, 2, 4});
  check_layer("upsample bilinear scale 2", nn::Upsample({.scale_factor = {2.0}, .mode = I::bilinear}), {1, 2, 3, 4});
  check_layer("upsample bilinear align_corners size (7, 4)",
              nn::Upsample({.size = {7, 4}, .mode = I::bilinear, .align_corners = true}), {2, 1, 4, 6});
  check_layer("upsample bilinear scale 1.1 (sizes kept)", nn::Upsample({.scale_factor = {1.1}, .mode = I::bilinear}),
              {1, 1, 5, 6});
  check_layer("upsample bilinear scale (2.5, 0.5)", nn::Upsample({.scale_factor = {2.5, 0.5}, .mode = I::bilinear}),
              {1, 2, 3, 6});
  check_function("upsample bilinear scale 1.7 recompute", [](const Tensor& x) {
    return F::interpolate(x, {.scale_factor = {1.7}, .mode = I::bilinear, .recompute_scale_factor = true});
  }, {1, 1, 4, 5});
  check_layer("upsample linear 1-d scale 2.3", nn::Upsample({.scale_factor = {2.3}, .mode = I::linear}), {2, 2, 5});
  check_layer("upsample linear 1-d align_corners size 3",
              nn::Upsample({.size = {3}, .mode = I::linear, .align_corners = true}), {1, 2, 7});
  check_layer("upsample nearest float32 size (13, 9)", nn::Upsample({.size = {13, 9}}), {1, 1, 7, 5}, float32);
  check_layer("upsample bilinear float32 scale 0.7", nn::Upsample({.scale_factor = {0.7}, .mode = I::bilinear}),
              {1, 1, 9, 6}, float32);
  check_layer("pixel_shuffle 2", nn::PixelShuffle(2), {2, 8, 2, 3});
  check_layer("pixel_unshuffle 3 with two batch axes", nn::PixelUnshuffle(3), {2, 1, 2, 3, 6});
}

TEST_CASE("torch reference: every case of the generator is checked", "[layers][torch]") {
  // 50 cases in conv_reference.py; a case added there and not here fails this count.
  CHECK(kTorch.size() == 50);
}
