// Learning-rate schedules: each sequence against its closed form and against the sequences
// PyTorch's documentation gives.
#include <catch2/catch.hpp>

#include <cmath>
#include <numbers>
#include <vector>

#include "nabla/nn.hpp"

using namespace nabla;
using Catch::Contains;

namespace {

// An optimiser to schedule; the parameter is never stepped.
struct Fixture {
  Tensor parameter = from_vector(std::vector<double>{1.0}).requires_grad_();
  nn::SGD sgd;
  explicit Fixture(double lr) : sgd({parameter}, lr) {}
};

// The lr at epochs 0..count-1: read right after construction, then after each step().
template <class S>
std::vector<double> lr_sequence(nn::Optimizer& optimizer, S& scheduler, int count) {
  std::vector<double> out;
  for (int epoch = 0; epoch < count; ++epoch) {
    if (epoch > 0) scheduler.step();
    out.push_back(optimizer.lr());
  }
  return out;
}

void check_sequence(const std::vector<double>& actual, const std::vector<double>& expected) {
  REQUIRE(actual.size() == expected.size());
  for (size_t epoch = 0; epoch < actual.size(); ++epoch) {
    INFO("epoch " << epoch);
    CHECK(actual[epoch] == Approx(expected[epoch]).epsilon(1e-12).margin(1e-15));
  }
}

}  // namespace

TEST_CASE("scheduler: StepLR", "[scheduler]") {
  Fixture f(1.0);
  nn::StepLR scheduler(f.sgd, 3, 0.1);
  CHECK(scheduler.base_lr() == 1.0);
  check_sequence(lr_sequence(f.sgd, scheduler, 10), {1, 1, 1, 0.1, 0.1, 0.1, 0.01, 0.01, 0.01, 0.001});
  CHECK(scheduler.epoch() == 9);

  // PyTorch's documented example: 0.05 for epochs < 30, 0.005 for < 60, 0.0005 for < 90.
  Fixture g(0.05);
  nn::StepLR documented(g.sgd, 30, 0.1);
  const std::vector<double> lrs = lr_sequence(g.sgd, documented, 90);
  CHECK(lrs[0] == Approx(0.05));
  CHECK(lrs[29] == Approx(0.05));
  CHECK(lrs[30] == Approx(0.005));
  CHECK(lrs[59] == Approx(0.005));
  CHECK(lrs[60] == Approx(0.0005));
  CHECK(lrs[89] == Approx(0.0005));
}

TEST_CASE("scheduler: MultiStepLR", "[scheduler]") {
  // PyTorch's documented example: milestones [30, 80], gamma 0.1 from 0.05.
  Fixture f(0.05);
  nn::MultiStepLR scheduler(f.sgd, {80, 30}, 0.1);  // order does not matter
  const std::vector<double> lrs = lr_sequence(f.sgd, scheduler, 100);
  for (int epoch = 0; epoch < 100; ++epoch) {
    INFO("epoch " << epoch);
    const double expected = epoch < 30 ? 0.05 : epoch < 80 ? 0.005 : 0.0005;
    CHECK(lrs[static_cast<size_t>(epoch)] == Approx(expected).epsilon(1e-12));
  }
  // A repeated milestone counts twice, as in PyTorch.
  Fixture g(1.0);
  nn::MultiStepLR twice(g.sgd, {2, 2}, 0.5);
  check_sequence(lr_sequence(g.sgd, twice, 4), {1, 1, 0.25, 0.25});
}

TEST_CASE("scheduler: CosineAnnealingLR", "[scheduler]") {
  // The values torch.optim.lr_scheduler.CosineAnnealingLR(T_max=4) gives from lr 0.1.
  Fixture f(0.1);
  nn::CosineAnnealingLR scheduler(f.sgd, 4);
  check_sequence(lr_sequence(f.sgd, scheduler, 5), {0.1, 0.08535533905932738, 0.05, 0.014644660940672627, 0.0});

  // With eta_min, against the closed form, past t_max too (it rises again, as the closed form does).
  Fixture g(0.5);
  nn::CosineAnnealingLR with_floor(g.sgd, 10, 0.01);
  const std::vector<double> lrs = lr_sequence(g.sgd, with_floor, 16);
  std::vector<double> expected;
  for (int epoch = 0; epoch < 16; ++epoch) {
    expected.push_back(0.01 + (0.5 - 0.01) * (1 + std::cos(std::numbers::pi * epoch / 10.0)) / 2);
  }
  check_sequence(lrs, expected);
  CHECK(lrs[10] == Approx(0.01));
}

TEST_CASE("scheduler: LinearWarmupLR", "[scheduler]") {
  // PyTorch's documented LinearLR(start_factor=0.5, total_iters=4) example from lr 0.05.
  Fixture f(0.05);
  nn::LinearWarmupLR scheduler(f.sgd, 4, 0.5);
  CHECK(f.sgd.lr() == Approx(0.025));  // the warm-up starts at construction
  check_sequence(lr_sequence(f.sgd, scheduler, 7), {0.025, 0.03125, 0.0375, 0.04375, 0.05, 0.05, 0.05});

  // The default start factor is 1/3, as in PyTorch.
  Fixture g(0.3);
  nn::LinearWarmupLR defaulted(g.sgd, 2);
  check_sequence(lr_sequence(g.sgd, defaulted, 4), {0.1, 0.2, 0.3, 0.3});
  CHECK(defaulted.base_lr() == 0.3);
}

TEST_CASE("scheduler: bad arguments are refused", "[scheduler]") {
  Fixture f(0.1);
  CHECK_THROWS_WITH(nn::StepLR(f.sgd, 0), Contains("StepLR") && Contains("step_size"));
  CHECK_THROWS_WITH(nn::StepLR(f.sgd, 2, -0.5), Contains("gamma"));
  CHECK_THROWS_WITH(nn::MultiStepLR(f.sgd, {3, -1}), Contains("MultiStepLR") && Contains("-1"));
  CHECK_THROWS_WITH(nn::CosineAnnealingLR(f.sgd, 0), Contains("t_max"));
  CHECK_THROWS_WITH(nn::CosineAnnealingLR(f.sgd, 5, -1.0), Contains("eta_min"));
  CHECK_THROWS_WITH(nn::LinearWarmupLR(f.sgd, 0), Contains("warmup_steps"));
  CHECK_THROWS_WITH(nn::LinearWarmupLR(f.sgd, 3, 0.0), Contains("start_factor"));
  CHECK_THROWS_WITH(nn::LinearWarmupLR(f.sgd, 3, 1.5), Contains("start_factor"));
  CHECK_THROWS_WITH(nn::ReduceLROnPlateau(f.sgd, {.factor = 1.0}), Contains("factor"));
  CHECK_THROWS_WITH(nn::ReduceLROnPlateau(f.sgd, {.patience = -1}), Contains("patience"));
  CHECK_THROWS_WITH(nn::ReduceLROnPlateau(f.sgd, {.threshold = -0.1}), Contains("threshold"));
  CHECK_THROWS_WITH(nn::ReduceLROnPlateau(f.sgd, {.cooldown = -2}), Contains("cooldown"));
  CHECK_THROWS_WITH(nn::ReduceLROnPlateau(f.sgd, {.min_lr = -1e-3}), Contains("min_lr"));
  CHECK(f.sgd.lr() == 0.1);  // refused schedulers leave the lr alone
}

// ---------------------------------------------------------------------------------------------
// ReduceLROnPlateau

namespace {

// The lr after each metric.
std::vector<double> plateau_lrs(nn::Optimizer& optimizer, nn::ReduceLROnPlateau& scheduler,
                                const std::vector<double>& metrics) {
  std::vector<double> out;
  for (double metric : metrics) {
    scheduler.step(metric);
    out.push_back(optimizer.lr());
  }
  return out;
}

}  // namespace

TEST_CASE("scheduler: ReduceLROnPlateau cuts the lr after `patience` bad epochs", "[scheduler]") {
  Fixture f(1.0);
  nn::ReduceLROnPlateau scheduler(f.sgd, {.factor = 0.5, .patience = 2});
  // best 1.0, then 0.9; three epochs without improvement exceed patience 2 -> cut on the third.
  check_sequence(plateau_lrs(f.sgd, scheduler, {1.0, 0.9, 0.9, 0.95, 0.91}), {1, 1, 1, 1, 0.5});
  CHECK(scheduler.bad_epochs() == 0);
  // Improvement resets the count; a plateau again cuts again.
  check_sequence(plateau_lrs(f.sgd, scheduler, {0.8, 0.8, 0.8, 0.8}), {0.5, 0.5, 0.5, 0.25});
}

TEST_CASE("scheduler: ReduceLROnPlateau's threshold is relative", "[scheduler]") {
  Fixture f(1.0);
  nn::ReduceLROnPlateau scheduler(f.sgd, {.factor = 0.1, .patience = 0, .threshold = 0.01});
  scheduler.step(100.0);
  // 99.5 is better, but by less than 1% of 100: a bad epoch, and with patience 0 an immediate cut.
  scheduler.step(99.5);
  CHECK(f.sgd.lr() == Approx(0.1));
  // 98.9 beats 100 * (1 - 0.01) = 99: an improvement.
  scheduler.step(98.9);
  CHECK(f.sgd.lr() == Approx(0.1));
  CHECK(scheduler.bad_epochs() == 0);
}

TEST_CASE("scheduler: ReduceLROnPlateau in max mode, with cooldown and min_lr", "[scheduler]") {
  Fixture f(1.0);
  nn::ReduceLROnPlateau scheduler(f.sgd,
                                  {.maximize = true, .factor = 0.5, .patience = 1, .cooldown = 2, .min_lr = 0.2});
  // Accuracy rises, then stalls. Cut after 2 bad epochs; the next 2 epochs are cooldown (never
  // counted), then 2 more bad epochs cut again, and the third cut stops at min_lr.
  const std::vector<double> metrics = {0.5, 0.6, 0.6, 0.55, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6};
  check_sequence(plateau_lrs(f.sgd, scheduler, metrics),
                 {1, 1, 1, 0.5, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25, 0.25, 0.2, 0.2});
  // A higher metric is an improvement in max mode.
  scheduler.step(0.9);
  CHECK(scheduler.bad_epochs() == 0);
}
