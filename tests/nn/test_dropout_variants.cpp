// Dropout1d/2d/3d drop whole channels and scale the rest by 1 / (1 - p); AlphaDropout and
// FeatureAlphaDropout keep a standard normal input's mean and variance, with SELU's saturation
// value (scaled) in the dropped places; all are the identity in eval(), p = 1 gives zeros, seeds
// repeat masks; gradchecks with a fixed mask; errors.
#include <cmath>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "nn_test_support.hpp"

using namespace nabla;
using Catch::Contains;
using nn_test::Args;
namespace F = nabla::nn::functional;

namespace {

// For [N, C, ...] output of ones through channel dropout: every channel all 0 or all 1 / (1 - p);
// returns the fraction of channels dropped.
double check_whole_channels(const Tensor& y, double p) {
  const int64_t channels = y.size(0) * y.size(1);
  const std::vector<double> v = y.contiguous().to_vector<double>();
  const size_t per_channel = v.size() / static_cast<size_t>(channels);
  int64_t dropped = 0;
  for (int64_t c = 0; c < channels; ++c) {
    const double first = v[static_cast<size_t>(c) * per_channel];
    CHECK((first == 0.0 || std::abs(first - 1.0 / (1.0 - p)) < 1e-12));
    for (size_t i = 1; i < per_channel; ++i) CHECK(v[static_cast<size_t>(c) * per_channel + i] == first);
    dropped += first == 0.0 ? 1 : 0;
  }
  return static_cast<double>(dropped) / static_cast<double>(channels);
}

}  // namespace

TEST_CASE("dropout variants: Dropout1d/2d/3d drop whole channels and scale the rest", "[dropout]") {
  nn::Dropout2d drop2d(0.3, 7);
  const double fraction = check_whole_channels(drop2d(ones({16, 32, 3, 3}, float64)), 0.3);
  CHECK(std::abs(fraction - 0.3) < 0.06);
  // A 3-d input to Dropout2d is [N, C, L] (PyTorch 1.13's rule): channels of length L.
  check_whole_channels(nn::Dropout2d(0.5, 1)(ones({4, 8, 5}, float64)), 0.5);
  check_whole_channels(nn::Dropout1d(0.5, 2)(ones({4, 8, 5}, float64)), 0.5);
  check_whole_channels(nn::Dropout3d(0.5, 3)(ones({2, 4, 2, 2, 3}, float64)), 0.5);
  // Unbatched Dropout1d [C, L] and Dropout3d [C, D, H, W]: one sample.
  check_whole_channels(nn::Dropout1d(0.5, 4)(ones({8, 5}, float64)).unsqueeze(0), 0.5);
  check_whole_channels(nn::Dropout3d(0.5, 5)(ones({4, 2, 2, 2}, float64)).unsqueeze(0), 0.5);
  // eval(), p = 0: the identity; p = 1: zeros. A seed repeats the mask.
  const Tensor x = randn({2, 3, 4, 4}, float64);
  nn::Dropout2d evaluating(0.5);
  evaluating.eval();
  CHECK(evaluating(x).equal(x));
  CHECK(F::dropout2d(x, 0.0).equal(x));
  CHECK(F::dropout2d(x, 1.0).abs().sum().item() == 0.0);
  CHECK(nn::Dropout2d(0.5, 11)(x).equal(nn::Dropout2d(0.5, 11)(x)));
  CHECK(drop2d.extra_repr() == "p=0.3");
  CHECK(drop2d.type_name() == "Dropout2d");
}

TEST_CASE("dropout variants: AlphaDropout keeps zero mean and unit variance", "[dropout]") {
  Generator generator(13);
  const Tensor x = randn({400000}, float64, generator);
  for (const double p : {0.1, 0.3, 0.5}) {
    INFO("p " << p);
    Generator masks(99);
    const Tensor y = F::alpha_dropout(x, p, true, masks);
    CHECK(std::abs(y.mean().item()) < 0.01);
    CHECK(std::abs(y.var().item() - 1.0) < 0.02);
    // Dropped elements all take one value, a * alpha * (p - 1), with PyTorch's a and alpha.
    const double alpha = 1.7580993408473766;
    const double a = 1.0 / std::sqrt((alpha * alpha * p + 1.0) * (1.0 - p));
    const double dropped_value = a * alpha * (p - 1.0);
    const Tensor is_dropped = (y - dropped_value).abs().lt(1e-12);
    CHECK(std::abs(is_dropped.to(float64).mean().item() - p) < 0.01);
    // Kept elements are a x + a alpha p.
    const Tensor kept = where(is_dropped, 0.0, y - (x * a + a * alpha * p));
    CHECK(kept.abs().max().item() < 1e-12);
  }
  // The functional form defaults to training = false (PyTorch's), the module follows train()/eval().
  CHECK(F::alpha_dropout(x, 0.5).equal(x));
  nn::AlphaDropout layer(0.2, 3);
  CHECK_FALSE(layer(x).equal(x));
  layer.eval();
  CHECK(layer(x).equal(x));
  // FeatureAlphaDropout: whole channels take the dropped value.
  const Tensor channels = F::feature_alpha_dropout(zeros({8, 16, 3, 3}, float64), 0.5, true);
  const std::vector<double> v = channels.to_vector<double>();
  for (size_t c = 0; c < 8 * 16; ++c) {
    for (size_t i = 1; i < 9; ++i) CHECK(v[c * 9 + i] == v[c * 9]);
  }
  CHECK(nn::FeatureAlphaDropout(0.5).type_name() == "FeatureAlphaDropout");
}

TEST_CASE("dropout variants: gradcheck with a fixed mask", "[dropout][gradcheck]") {
  Generator generator(23);
  // The generator is re-created inside, so every evaluation draws the same mask.
  nn_test::check_gradients("dropout2d", [](const Args& a) {
    Generator masks(5);
    return F::dropout2d(a[0], 0.4, true, masks);
  }, {randn({3, 4, 2, 2}, float64, generator)});
  nn_test::check_gradients("alpha_dropout", [](const Args& a) {
    Generator masks(6);
    return F::alpha_dropout(a[0], 0.3, true, masks);
  }, {randn({4, 5}, float64, generator)});
  nn_test::check_gradients("feature_alpha_dropout", [](const Args& a) {
    Generator masks(7);
    return F::feature_alpha_dropout(a[0], 0.3, true, masks);
  }, {randn({4, 5, 2}, float64, generator)});
}

TEST_CASE("dropout variants: bad calls name the op, the shape and the fix", "[dropout][errors]") {
  CHECK_THROWS_WITH(F::dropout2d(zeros({3, 4}), 0.5), Contains("dropout2d") && Contains("[3, 4]"));
  CHECK_THROWS_WITH(F::dropout1d(zeros({2, 3, 4, 5}), 0.5), Contains("dropout1d") && Contains("[2, 3, 4, 5]"));
  CHECK_THROWS_WITH(F::dropout3d(zeros({2, 3, 4}), 0.5), Contains("dropout3d") && Contains("[2, 3, 4]"));
  CHECK_THROWS_WITH(F::feature_alpha_dropout(zeros({3}), 0.5, true), Contains("feature_alpha_dropout") && Contains("[3]"));
  CHECK_THROWS_WITH(F::alpha_dropout(zeros({3}), 1.5, true), Contains("alpha_dropout") && Contains("1.5"));
  CHECK_THROWS_WITH(nn::Dropout2d(-0.1), Contains("Dropout2d") && Contains("-0.1"));
  CHECK_THROWS_WITH(nn::AlphaDropout(2.0), Contains("AlphaDropout") && Contains("[0, 1]"));
}
