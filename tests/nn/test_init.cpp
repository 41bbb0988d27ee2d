// Initialisers: gains and fans as torch.nn.init defines them, the bounds and moments each
// initialiser produces, the default Linear/Conv2d/BatchNorm initialisation, writes through views,
// refusals, and reproducibility from a seed.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <utility>
#include <vector>

#include "nabla/nn.hpp"
#include "nn_test_support.hpp"

using namespace nabla;
using Catch::Contains;
using nn::init::FanMode;
using nn::init::Nonlinearity;

namespace {

struct Moments {
  double mean = 0.0, stddev = 0.0, largest_magnitude = 0.0;
};

Moments moments(const Tensor& t) {
  const std::vector<double> values = t.to_vector<double>();
  Moments m;
  for (double v : values) m.mean += v / static_cast<double>(values.size());
  double squares = 0.0;
  for (double v : values) {
    squares += (v - m.mean) * (v - m.mean);
    m.largest_magnitude = std::max(m.largest_magnitude, std::abs(v));
  }
  m.stddev = std::sqrt(squares / static_cast<double>(values.size() - 1));
  return m;
}

// Uniform in +-bound: nothing outside, the extremes reached, the variance of U(-b, b).
void check_uniform_within(const Tensor& t, double bound) {
  const Moments m = moments(t);
  INFO("bound " << bound << ", largest |value| " << m.largest_magnitude << ", stddev " << m.stddev);
  CHECK(m.largest_magnitude <= bound);
  CHECK(m.largest_magnitude > 0.95 * bound);
  CHECK(m.mean == Approx(0.0).margin(0.1 * bound));
  CHECK(m.stddev == Approx(bound / std::sqrt(3.0)).epsilon(0.1));
}

}  // namespace

TEST_CASE("init: calculate_gain matches torch.nn.init.calculate_gain", "[init]") {
  CHECK(nn::init::calculate_gain(Nonlinearity::linear) == 1.0);
  CHECK(nn::init::calculate_gain(Nonlinearity::sigmoid) == 1.0);
  CHECK(nn::init::calculate_gain(Nonlinearity::tanh) == Approx(5.0 / 3.0));
  CHECK(nn::init::calculate_gain(Nonlinearity::relu) == Approx(std::sqrt(2.0)));
  CHECK(nn::init::calculate_gain(Nonlinearity::leaky_relu) == Approx(std::sqrt(2.0 / (1.0 + 0.01 * 0.01))));
  CHECK(nn::init::calculate_gain(Nonlinearity::leaky_relu, 0.2) == Approx(std::sqrt(2.0 / 1.04)));
  CHECK(nn::init::calculate_gain(Nonlinearity::leaky_relu, std::sqrt(5.0)) == Approx(std::sqrt(1.0 / 3.0)));
}

TEST_CASE("init: calculate_fans for linear and convolution weights", "[init]") {
  CHECK(nn::init::calculate_fans({20, 50}) == std::pair<int64_t, int64_t>{50, 20});
  CHECK(nn::init::calculate_fans({8, 4, 3, 5}) == std::pair<int64_t, int64_t>{4 * 15, 8 * 15});
  CHECK(nn::init::calculate_fans({6, 3, 7}) == std::pair<int64_t, int64_t>{21, 42});
  CHECK_THROWS_WITH(nn::init::calculate_fans({5}), Contains("at least 2 dimensions") && Contains("[5]"));
  CHECK_THROWS_WITH(nn::init::kaiming_uniform_(zeros({5})), Contains("[5]"));
}

TEST_CASE("init: kaiming_uniform_ bounds are gain * sqrt(3 / fan)", "[init]") {
  Generator generator(1);
  SECTION("defaults: a = 0, leaky_relu, fan_in -> sqrt(6 / fan_in)") {
    const Tensor weight = empty({64, 32});
    nn::init::kaiming_uniform_(weight, 0.0, FanMode::fan_in, Nonlinearity::leaky_relu, generator);
    check_uniform_within(weight, std::sqrt(6.0 / 32.0));
  }
  SECTION("convolution weight, fan_out") {
    const Tensor weight = empty({8, 4, 3, 3});  // fan_in 36, fan_out 72
    nn::init::kaiming_uniform_(weight, 0.0, FanMode::fan_out, Nonlinearity::relu, generator);
    check_uniform_within(weight, std::sqrt(2.0) * std::sqrt(3.0 / 72.0));
  }
  SECTION("a = sqrt(5) (PyTorch's layer default) is uniform in +-1/sqrt(fan_in)") {
    const Tensor weight = empty({40, 6, 2, 2}, float64);  // fan_in 24
    nn::init::kaiming_uniform_(weight, std::sqrt(5.0), FanMode::fan_in, Nonlinearity::leaky_relu, generator);
    CHECK(weight.dtype() == float64);
    check_uniform_within(weight, 1.0 / std::sqrt(24.0));
  }
  SECTION("tanh gain") {
    const Tensor weight = empty({50, 40});
    nn::init::kaiming_uniform_(weight, 0.0, FanMode::fan_in, Nonlinearity::tanh, generator);
    check_uniform_within(weight, 5.0 / 3.0 * std::sqrt(3.0 / 40.0));
  }
  CHECK_THROWS_WITH(nn::init::kaiming_uniform_(empty({4, 0})), Contains("zero fan"));
}

TEST_CASE("init: kaiming_normal_ and xavier_normal_ standard deviations", "[init]") {
  Generator generator(2);
  const Tensor weight = empty({200, 100});
  nn::init::kaiming_normal_(weight, 0.0, FanMode::fan_in, Nonlinearity::relu, generator);
  Moments m = moments(weight);
  CHECK(m.mean == Approx(0.0).margin(0.005));
  CHECK(m.stddev == Approx(std::sqrt(2.0 / 100.0)).epsilon(0.03));

  nn::init::kaiming_normal_(weight, 0.0, FanMode::fan_out, Nonlinearity::relu, generator);
  CHECK(moments(weight).stddev == Approx(std::sqrt(2.0 / 200.0)).epsilon(0.03));

  nn::init::xavier_normal_(weight, 1.0, generator);
  m = moments(weight);
  CHECK(m.mean == Approx(0.0).margin(0.005));
  CHECK(m.stddev == Approx(std::sqrt(2.0 / 300.0)).epsilon(0.03));
  nn::init::xavier_normal_(weight, 3.0, generator);
  CHECK(moments(weight).stddev == Approx(3.0 * std::sqrt(2.0 / 300.0)).epsilon(0.03));
}

TEST_CASE("init: xavier_uniform_ bounds are gain * sqrt(6 / (fan_in + fan_out))", "[init]") {
  Generator generator(3);
  const Tensor weight = empty({30, 20});
  nn::init::xavier_uniform_(weight, 1.0, generator);
  check_uniform_within(weight, std::sqrt(6.0 / 50.0));
  nn::init::xavier_uniform_(weight, nn::init::calculate_gain(Nonlinearity::tanh), generator);
  check_uniform_within(weight, 5.0 / 3.0 * std::sqrt(6.0 / 50.0));
  const Tensor kernel = empty({6, 4, 3, 3});  // fans 36 and 54
  nn::init::xavier_uniform_(kernel, 1.0, generator);
  check_uniform_within(kernel, std::sqrt(6.0 / 90.0));
}

TEST_CASE("init: normal_, uniform_, constant_, zeros_, ones_", "[init]") {
  Generator generator(4);
  const Tensor big = empty({100000});
  nn::init::normal_(big, 3.0, 2.0, generator);
  const Moments m = moments(big);
  CHECK(m.mean == Approx(3.0).margin(0.03));  // standard error 0.006
  CHECK(m.stddev == Approx(2.0).epsilon(0.015));

  nn::init::uniform_(big, -1.0, 3.0, generator);
  const std::vector<double> values = big.to_vector<double>();
  CHECK(*std::min_element(values.begin(), values.end()) >= -1.0);
  CHECK(*std::max_element(values.begin(), values.end()) < 3.0);
  CHECK(moments(big).mean == Approx(1.0).margin(0.02));

  const Tensor small = empty({2, 3}, float64);
  nn::init::constant_(small, 0.25);
  CHECK(small.to_vector<double>() == std::vector<double>(6, 0.25));
  nn::init::zeros_(small);
  CHECK(small.to_vector<double>() == std::vector<double>(6, 0.0));
  nn::init::ones_(small);
  CHECK(small.to_vector<double>() == std::vector<double>(6, 1.0));
}

TEST_CASE("init: writes go through views to the underlying storage", "[init]") {
  const Tensor whole = zeros({4, 3});
  nn::init::constant_(whole.slice(0, 1, 3), 7.0);
  CHECK(whole.to_vector<double>() == std::vector<double>{0, 0, 0, 7, 7, 7, 7, 7, 7, 0, 0, 0});
  nn::init::uniform_(whole.select(1, 2), 10.0, 11.0);
  for (int64_t row = 0; row < 4; ++row) CHECK(whole.at({row, 2}) >= 10.0);
  CHECK(whole.at({0, 0}) == 0.0);

  // A module's parameter is initialised in place through its data().
  nn::Linear layer(3, 2);
  nn::init::zeros_(layer.weight);
  CHECK(layer.named_parameters()[0].second.to_vector<double>() == std::vector<double>(6, 0.0));
}

TEST_CASE("init: non-float and undefined tensors are refused", "[init]") {
  CHECK_THROWS_WITH(nn::init::normal_(zeros({3}, int64)), Contains("normal_") && Contains("int64"));
  CHECK_THROWS_WITH(nn::init::constant_(zeros({3}, uint8), 1.0), Contains("constant_") && Contains("uint8"));
  CHECK_THROWS_WITH(nn::init::xavier_uniform_(zeros({3, 3}, int64)), Contains("xavier_uniform_"));
  CHECK_THROWS_WITH(nn::init::uniform_(Tensor()), Contains("uniform_") && Contains("undefined"));
}

TEST_CASE("init: default Linear and Conv2d initialisation is within +-1/sqrt(fan_in)", "[init]") {
  SECTION("Linear(50, 20)") {
    nn::Linear layer(50, 20);
    const double bound = 1.0 / std::sqrt(50.0);
    check_uniform_within(layer.weight, bound);
    CHECK(moments(layer.bias).largest_magnitude <= bound);
  }
  SECTION("Conv2d(4, 16, 3): fan_in 36") {
    nn::Conv2d layer(4, 16, 3);
    check_uniform_within(layer.weight, 1.0 / 6.0);
    CHECK(moments(layer.bias).largest_magnitude <= 1.0 / 6.0);
  }
  SECTION("grouped Conv2d: fan_in counts one group's channels") {
    nn::Conv2d layer({.in_channels = 4, .out_channels = 32, .kernel_size = 3, .groups = 2});  // fan_in 18
    check_uniform_within(layer.weight, 1.0 / std::sqrt(18.0));
    CHECK(moments(layer.bias).largest_magnitude <= 1.0 / std::sqrt(18.0));
  }
  SECTION("BatchNorm: weight 1, bias 0, running mean 0, running variance 1") {
    nn::BatchNorm2d layer(3);
    CHECK(layer.weight.to_vector<double>() == std::vector<double>(3, 1.0));
    CHECK(layer.bias.to_vector<double>() == std::vector<double>(3, 0.0));
    CHECK(layer.running_mean.to_vector<double>() == std::vector<double>(3, 0.0));
    CHECK(layer.running_var.to_vector<double>() == std::vector<double>(3, 1.0));
    CHECK(layer.num_batches_tracked.item<int64_t>() == 0);
  }
}

TEST_CASE("init: initialisation is reproducible from a seed", "[init]") {
  const auto weights_after_seed = [](uint64_t seed) {
    manual_seed(seed);
    nn::Linear layer(6, 4);
    nn::Conv2d conv(2, 3, 3);
    return std::vector<std::vector<double>>{layer.weight.to_vector<double>(), layer.bias.to_vector<double>(),
                                            conv.weight.to_vector<double>()};
  };
  CHECK(weights_after_seed(17) == weights_after_seed(17));
  CHECK(weights_after_seed(17) != weights_after_seed(18));

  // An explicit generator gives the same stream wherever it is used.
  const Tensor a = empty({5, 5}), b = empty({5, 5});
  Generator first(99), second(99);
  nn::init::kaiming_normal_(a, 0.0, FanMode::fan_in, Nonlinearity::relu, first);
  nn::init::kaiming_normal_(b, 0.0, FanMode::fan_in, Nonlinearity::relu, second);
  CHECK(a.to_vector<double>() == b.to_vector<double>());
  nn::init::xavier_uniform_(a, 1.0, first);
  CHECK(a.to_vector<double>() != b.to_vector<double>());
}
