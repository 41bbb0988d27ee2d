// Learning-rate schedules against torch.optim.lr_scheduler: the lr of every group (and the
// momentum the cyclic schedules set) after construction and after each step(). The expected
// sequences were computed with PyTorch 1.13 by tests/nn/reference/training_reference.py and pasted here as
// literals; the suite does not need torch.
#include <catch2/catch.hpp>

#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "nabla/nn.hpp"

using namespace nabla;
using Catch::Contains;

namespace {

// An SGD over one single-element parameter per group, with the given lrs.
struct Fixture {
  std::vector<Tensor> parameters;
  std::unique_ptr<nn::SGD> sgd;
  explicit Fixture(const std::vector<double>& lrs, nn::SGDOptions options = {}) {
    std::vector<nn::ParamGroup> groups;
    for (double lr : lrs) {
      parameters.push_back(zeros({1}, float64).requires_grad_());
      groups.push_back({.params = {parameters.back()}, .options = {{"lr", lr}}});
    }
    options.lr = lrs.front();
    sgd = std::make_unique<nn::SGD>(groups, options);
  }
  nn::SGD& optimizer() { return *sgd; }
};

struct Recorded {
  std::vector<std::vector<double>> lrs;      // [group][step]
  std::vector<std::vector<double>> options;  // the cycled option ("momentum", "beta1"), [group][step]
};

// The state at steps 0..count-1: read after construction, then after each step().
template <class S>
Recorded record(nn::Optimizer& optimizer, S& scheduler, int count, const std::string& option = "") {
  Recorded out;
  out.lrs.resize(optimizer.param_groups().size());
  out.options.resize(optimizer.param_groups().size());
  for (int step = 0; step < count; ++step) {
    if (step > 0) scheduler.step();
    for (size_t g = 0; g < optimizer.param_groups().size(); ++g) {
      out.lrs[g].push_back(optimizer.param_groups()[g].lr());
      if (!option.empty()) out.options[g].push_back(optimizer.param_groups()[g].option(option));
    }
  }
  return out;
}

void check_sequence(const std::vector<double>& actual, const std::vector<double>& expected) {
  REQUIRE(actual.size() == expected.size());
  for (size_t step = 0; step < actual.size(); ++step) {
    INFO("step " << step);
    CHECK(actual[step] == Approx(expected[step]).epsilon(1e-12).margin(1e-15));
  }
}

}  // namespace

TEST_CASE("scheduler torch: ExponentialLR", "[scheduler][torch]") {
  // torch: ExponentialLR(0.9)
  Fixture f({0.1});
  nn::ExponentialLR scheduler(f.optimizer(), 0.9);
  const Recorded recorded = record(f.optimizer(), scheduler, 30);
  check_sequence(recorded.lrs[0],
                 {0.1, 0.09000000000000001, 0.08100000000000002, 0.07290000000000002,
                  0.06561000000000002, 0.05904900000000002, 0.05314410000000002, 0.04782969000000002,
                  0.043046721000000024, 0.03874204890000002, 0.03486784401000002, 0.03138105960900001,
                  0.028242953648100012, 0.025418658283290013, 0.022876792454961013,
                  0.020589113209464913, 0.01853020188851842, 0.01667718169966658, 0.015009463529699923,
                  0.013508517176729932, 0.01215766545905694, 0.010941898913151246, 0.009847709021836121,
                  0.00886293811965251, 0.007976644307687259, 0.007178979876918534, 0.006461081889226681,
                  0.005814973700304013, 0.005233476330273611, 0.00471012869724625});
}

TEST_CASE("scheduler torch: LambdaLR, one lambda per group", "[scheduler][torch]") {
  // torch: LambdaLR two groups
  Fixture f({0.1, 0.02});
  nn::LambdaLR scheduler(f.optimizer(), std::vector<nn::LambdaLR::Lambda>{[](int64_t e) { return std::pow(0.95, static_cast<double>(e)); },
                                                                      [](int64_t e) { return 1.0 / (1.0 + static_cast<double>(e)); }});
  const Recorded recorded = record(f.optimizer(), scheduler, 12);
  check_sequence(recorded.lrs[0],
                 {0.1, 0.095, 0.09025, 0.0857375, 0.081450625, 0.07737809374999999, 0.07350918906249998,
                  0.06983372960937498, 0.06634204312890622, 0.0630249409724609, 0.05987369392383787,
                  0.05688000922764597});
  check_sequence(recorded.lrs[1],
                 {0.02, 0.01, 0.006666666666666666, 0.005, 0.004, 0.003333333333333333,
                  0.002857142857142857, 0.0025, 0.0022222222222222222, 0.002, 0.0018181818181818182,
                  0.0016666666666666666});
}

TEST_CASE("scheduler torch: MultiplicativeLR", "[scheduler][torch]") {
  // torch: MultiplicativeLR(0.95)
  Fixture f({0.1});
  nn::MultiplicativeLR scheduler(f.optimizer(), [](int64_t) { return 0.95; });
  const Recorded recorded = record(f.optimizer(), scheduler, 12);
  check_sequence(recorded.lrs[0],
                 {0.1, 0.095, 0.09025, 0.0857375, 0.08145062499999998, 0.07737809374999999,
                  0.07350918906249998, 0.06983372960937498, 0.06634204312890622, 0.0630249409724609,
                  0.05987369392383786, 0.05688000922764597});
}

TEST_CASE("scheduler torch: StepLR drives every group from its own lr", "[scheduler][torch]") {
  // torch: StepLR(3, 0.5) two groups
  Fixture f({1.0, 0.3});
  nn::StepLR scheduler(f.optimizer(), 3, 0.5);
  const Recorded recorded = record(f.optimizer(), scheduler, 12);
  check_sequence(recorded.lrs[0],
                 {1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25, 0.125, 0.125, 0.125});
  check_sequence(recorded.lrs[1],
                 {0.3, 0.3, 0.3, 0.15, 0.15, 0.15, 0.075, 0.075, 0.075, 0.0375, 0.0375, 0.0375});
}

TEST_CASE("scheduler torch: MultiStepLR with a repeated milestone", "[scheduler][torch]") {
  // torch: MultiStepLR([2, 5, 5], 0.1)
  Fixture f({1.0});
  nn::MultiStepLR scheduler(f.optimizer(), {2, 5, 5}, 0.1);
  const Recorded recorded = record(f.optimizer(), scheduler, 8);
  check_sequence(recorded.lrs[0],
                 {1.0, 1.0, 0.1, 0.1, 0.1, 0.0010000000000000002, 0.0010000000000000002,
                  0.0010000000000000002});
}

TEST_CASE("scheduler torch: ConstantLR", "[scheduler][torch]") {
  // torch: ConstantLR(0.25, 4)
  Fixture f({0.2});
  nn::ConstantLR scheduler(f.optimizer(), 0.25, 4);
  const Recorded recorded = record(f.optimizer(), scheduler, 7);
  check_sequence(recorded.lrs[0],
                 {0.05, 0.05, 0.05, 0.05, 0.2, 0.2, 0.2});
}

TEST_CASE("scheduler torch: LinearLR", "[scheduler][torch]") {
  // torch: LinearLR(0.2, 0.9, 6)
  Fixture f({0.2});
  nn::LinearLR scheduler(f.optimizer(), 0.2, 0.9, 6);
  const Recorded recorded = record(f.optimizer(), scheduler, 9);
  check_sequence(recorded.lrs[0],
                 {0.04000000000000001, 0.06333333333333334, 0.08666666666666666, 0.10999999999999999,
                  0.13333333333333333, 0.15666666666666668, 0.18000000000000002, 0.18000000000000002,
                  0.18000000000000002});
}

TEST_CASE("scheduler torch: PolynomialLR", "[scheduler][torch]") {
  // torch: PolynomialLR(6, 2)
  Fixture f({0.2});
  nn::PolynomialLR scheduler(f.optimizer(), 6, 2.0);
  const Recorded recorded = record(f.optimizer(), scheduler, 9);
  check_sequence(recorded.lrs[0],
                 {0.2, 0.13888888888888892, 0.08888888888888893, 0.05000000000000002,
                  0.022222222222222233, 0.005555555555555555, 0.0, 0.0, 0.0});
}

TEST_CASE("scheduler torch: CosineAnnealingLR past t_max, both recursive branches", "[scheduler][torch]") {
  // torch: CosineAnnealingLR(10, 0.01)
  Fixture f({0.5});
  nn::CosineAnnealingLR scheduler(f.optimizer(), 10, 0.01);
  const Recorded recorded = record(f.optimizer(), scheduler, 36);
  check_sequence(recorded.lrs[0],
                 {0.5, 0.48800884649231263, 0.4532091636218621, 0.39900738681165593,
                  0.33070916362186215, 0.255, 0.17929083637813792, 0.11099261318834411,
                  0.05679083637813791, 0.021991153507687385, 0.01, 0.021991153507687385,
                  0.05679083637813806, 0.1109926131883445, 0.1792908363781386, 0.255000000000001,
                  0.3307091636218634, 0.3990073868116575, 0.453209163621864, 0.4880088464923146,
                  0.5000000000000019, 0.48800884649231446, 0.453209163621864, 0.3990073868116575,
                  0.3307091636218634, 0.255000000000001, 0.1792908363781386, 0.11099261318834452,
                  0.056790836378138115, 0.02199115350768746, 0.01, 0.021991153507687385,
                  0.05679083637813793, 0.11099261318834422, 0.17929083637813814, 0.25500000000000045});
}

TEST_CASE("scheduler torch: CosineAnnealingWarmRestarts with t_mult 2", "[scheduler][torch]") {
  // torch: CosineAnnealingWarmRestarts(5, 2, 0.001)
  Fixture f({0.1});
  nn::CosineAnnealingWarmRestarts scheduler(f.optimizer(), 5, 2, 0.001);
  const Recorded recorded = record(f.optimizer(), scheduler, 40);
  check_sequence(recorded.lrs[0],
                 {0.1, 0.0905463412215599, 0.0657963412215599, 0.03520365877844011,
                  0.010453658778440109, 0.1, 0.09757729755661011, 0.0905463412215599,
                  0.07959536998847742, 0.0657963412215599, 0.0505, 0.03520365877844011,
                  0.021404630011522586, 0.010453658778440109, 0.0034227024433899004, 0.1,
                  0.09939057285945932, 0.09757729755661011, 0.09460482294732421, 0.0905463412215599,
                  0.0855017856687341, 0.07959536998847742, 0.07297252973710756, 0.0657963412215599,
                  0.05824350601949144, 0.0505, 0.04275649398050859, 0.03520365877844011,
                  0.02802747026289244, 0.021404630011522586, 0.0154982143312659, 0.010453658778440109,
                  0.0063951770526757944, 0.0034227024433899004, 0.001609427140540686, 0.1,
                  0.09984740801978985, 0.09939057285945932, 0.098632311059685, 0.09757729755661011});
}

TEST_CASE("scheduler torch: CosineAnnealingWarmRestarts with t_mult 1", "[scheduler][torch]") {
  // torch: CosineAnnealingWarmRestarts(4, 1)
  Fixture f({0.1});
  nn::CosineAnnealingWarmRestarts scheduler(f.optimizer(), 4);
  const Recorded recorded = record(f.optimizer(), scheduler, 12);
  check_sequence(recorded.lrs[0],
                 {0.1, 0.08535533905932738, 0.05, 0.014644660940672627, 0.1, 0.08535533905932738, 0.05,
                  0.014644660940672627, 0.1, 0.08535533905932738, 0.05, 0.014644660940672627});
}

TEST_CASE("scheduler torch: CyclicLR triangular cycles the lr and the momentum", "[scheduler][torch]") {
  // torch: CyclicLR triangular 0.001..0.1 up 4, SGD momentum
  Fixture f({0.5}, {.momentum = 0.9});
  nn::CyclicLR scheduler(f.optimizer(), {.base_lr = 0.001, .max_lr = 0.1, .step_size_up = 4});
  const Recorded recorded = record(f.optimizer(), scheduler, 30, "momentum");
  check_sequence(recorded.lrs[0],
                 {0.001, 0.025750000000000002, 0.0505, 0.07525000000000001, 0.1, 0.07525000000000001,
                  0.0505, 0.025750000000000002, 0.001, 0.025750000000000002, 0.0505,
                  0.07525000000000001, 0.1, 0.07525000000000001, 0.0505, 0.025750000000000002, 0.001,
                  0.025750000000000002, 0.0505, 0.07525000000000001, 0.1, 0.07525000000000001, 0.0505,
                  0.025750000000000002, 0.001, 0.025750000000000002, 0.0505, 0.07525000000000001, 0.1,
                  0.07525000000000001});
  check_sequence(recorded.options[0],
                 {0.9, 0.875, 0.8500000000000001, 0.8250000000000001, 0.8, 0.8250000000000001,
                  0.8500000000000001, 0.875, 0.9, 0.875, 0.8500000000000001, 0.8250000000000001, 0.8,
                  0.8250000000000001, 0.8500000000000001, 0.875, 0.9, 0.875, 0.8500000000000001,
                  0.8250000000000001, 0.8, 0.8250000000000001, 0.8500000000000001, 0.875, 0.9, 0.875,
                  0.8500000000000001, 0.8250000000000001, 0.8, 0.8250000000000001});
}

TEST_CASE("scheduler torch: CyclicLR triangular2 with per-group bounds and momentum bounds", "[scheduler][torch]") {
  // torch: CyclicLR triangular2 up 3 down 5, two groups
  Fixture f({0.5, 0.5}, {.momentum = 0.9});
  nn::CyclicLR scheduler(f.optimizer(), {.base_lr = {0.001, 0.01},
                                          .max_lr = {0.1, 0.05},
                                          .step_size_up = 3,
                                          .step_size_down = 5,
                                          .mode = "triangular2",
                                          .base_momentum = 0.7,
                                          .max_momentum = 0.95});
  const Recorded recorded = record(f.optimizer(), scheduler, 30, "momentum");
  check_sequence(recorded.lrs[0],
                 {0.001, 0.034, 0.067, 0.1, 0.08020000000000001, 0.0604, 0.040600000000000004,
                  0.020800000000000003, 0.001, 0.0175, 0.034, 0.0505, 0.040600000000000004, 0.0307,
                  0.020800000000000003, 0.0109, 0.001, 0.009250000000000001, 0.0175,
                  0.025750000000000002, 0.020800000000000003, 0.01585, 0.0109, 0.00595, 0.001, 0.005125,
                  0.009250000000000001, 0.013375000000000001, 0.0109, 0.008425});
  check_sequence(recorded.lrs[1],
                 {0.01, 0.02333333333333333, 0.03666666666666667, 0.05, 0.042, 0.034,
                  0.026000000000000002, 0.018000000000000002, 0.01, 0.016666666666666666,
                  0.02333333333333333, 0.03, 0.026000000000000002, 0.022, 0.018000000000000002, 0.014,
                  0.01, 0.013333333333333332, 0.016666666666666666, 0.02, 0.018000000000000002, 0.016,
                  0.014, 0.012, 0.01, 0.011666666666666667, 0.013333333333333332, 0.015, 0.014,
                  0.013000000000000001});
  check_sequence(recorded.options[0],
                 {0.95, 0.8666666666666666, 0.7833333333333333, 0.7, 0.75, 0.7999999999999999, 0.85,
                  0.8999999999999999, 0.95, 0.9083333333333333, 0.8666666666666666, 0.825, 0.85, 0.875,
                  0.8999999999999999, 0.9249999999999999, 0.95, 0.9291666666666666, 0.9083333333333333,
                  0.8875, 0.8999999999999999, 0.9125, 0.9249999999999999, 0.9375, 0.95,
                  0.9395833333333333, 0.9291666666666666, 0.91875, 0.9249999999999999,
                  0.9312499999999999});
  check_sequence(recorded.options[1],
                 {0.95, 0.8666666666666666, 0.7833333333333333, 0.7, 0.75, 0.7999999999999999, 0.85,
                  0.8999999999999999, 0.95, 0.9083333333333333, 0.8666666666666666, 0.825, 0.85, 0.875,
                  0.8999999999999999, 0.9249999999999999, 0.95, 0.9291666666666666, 0.9083333333333333,
                  0.8875, 0.8999999999999999, 0.9125, 0.9249999999999999, 0.9375, 0.95,
                  0.9395833333333333, 0.9291666666666666, 0.91875, 0.9249999999999999,
                  0.9312499999999999});
}

TEST_CASE("scheduler torch: CyclicLR exp_range", "[scheduler][torch]") {
  // torch: CyclicLR exp_range gamma 0.9 up 4, no momentum cycling
  Fixture f({0.5});
  nn::CyclicLR scheduler(f.optimizer(), {.base_lr = 0.001, .max_lr = 0.1, .step_size_up = 4, .mode = "exp_range", .gamma = 0.9,
                                          .cycle_momentum = false});
  const Recorded recorded = record(f.optimizer(), scheduler, 30);
  check_sequence(recorded.lrs[0],
                 {0.001, 0.023275000000000004, 0.041095000000000007, 0.05512825000000002,
                  0.06595390000000001, 0.044843882500000015, 0.027306329500000004, 0.012837848275,
                  0.001, 0.010588657102750004, 0.018259582784950008, 0.02430043675968251,
                  0.028960524111619014, 0.019873353775342835, 0.0123240122652057, 0.006095805519342565,
                  0.001, 0.005127602470667478, 0.00842968444720146, 0.011030074003721975,
                  0.013036088804466366, 0.009124359943014797, 0.005874615965808879,
                  0.0031935771846139955, 0.001, 0.002776797519537336, 0.0041982355351672055,
                  0.005317617972475728, 0.006181141566970873, 0.00449727055770534});
}

TEST_CASE("scheduler torch: CyclicLR with a custom scale_fn", "[scheduler][torch]") {
  // torch: CyclicLR custom scale_fn 1/x by cycle
  Fixture f({0.5});
  nn::CyclicLR scheduler(f.optimizer(), {.base_lr = 0.0, .max_lr = 1.0, .step_size_up = 2,
                                          .scale_fn = [](double x) { return 1.0 / x; }, .scale_mode = "cycle",
                                          .cycle_momentum = false});
  const Recorded recorded = record(f.optimizer(), scheduler, 14);
  check_sequence(recorded.lrs[0],
                 {0.0, 0.5, 1.0, 0.5, 0.0, 0.25, 0.5, 0.25, 0.0, 0.16666666666666666,
                  0.3333333333333333, 0.16666666666666666, 0.0, 0.125});
}

TEST_CASE("scheduler torch: OneCycleLR cos, to its last step", "[scheduler][torch]") {
  // torch: OneCycleLR cos 0.1 total 30, SGD
  Fixture f({0.5}, {.momentum = 0.9});
  nn::OneCycleLR scheduler(f.optimizer(), {.max_lr = 0.1, .total_steps = 30});
  const Recorded recorded = record(f.optimizer(), scheduler, 31, "momentum");
  check_sequence(recorded.lrs[0],
                 {0.0040000000000000036, 0.0076537824394582454, 0.018058874503045733,
                  0.03363119524647569, 0.052000000000000005, 0.0703688047535243, 0.08594112549695429,
                  0.09634621756054176, 0.1, 0.09944154354509119, 0.0977786491747459,
                  0.09504846320134738, 0.09131197346804489, 0.08665264698111695, 0.0811745653949763,
                  0.0750001, 0.06826717815011489, 0.06112620219362893, 0.0537366897333025,
                  0.046263710266697504, 0.03887419780637107, 0.03173322184988512, 0.025000300000000013,
                  0.0188258346050237, 0.01334775301888306, 0.008688426531955128, 0.004951936798652629,
                  0.002221750825254118, 0.0005588564549088189, 4e-07, 0.0005588564549088189});
  check_sequence(recorded.options[0],
                 {0.95, 0.9461939766255643, 0.9353553390593273, 0.9191341716182544, 0.8999999999999999,
                  0.8808658283817454, 0.8646446609406726, 0.8538060233744357, 0.85, 0.8505584586887436,
                  0.8522213597106929, 0.854951556604879, 0.8586880612842003, 0.8633474064085087,
                  0.8688255099070633, 0.875, 0.8817329487816802, 0.8888739533021842, 0.8962634953206787,
                  0.9037365046793212, 0.9111260466978157, 0.9182670512183198, 0.9249999999999999,
                  0.9311744900929366, 0.9366525935914912, 0.9413119387157997, 0.945048443395121,
                  0.947778640289307, 0.9494415413112564, 0.95, 0.9494415413112564});
}

TEST_CASE("scheduler torch: OneCycleLR linear, three phases, epochs x steps_per_epoch", "[scheduler][torch]") {
  // torch: OneCycleLR linear three_phase, epochs 4 x 6 steps
  Fixture f({0.5}, {.momentum = 0.9});
  nn::OneCycleLR scheduler(f.optimizer(), {.max_lr = 0.2, .epochs = 4, .steps_per_epoch = 6, .anneal_strategy = "linear",
                                            .three_phase = true});
  const Recorded recorded = record(f.optimizer(), scheduler, 25, "momentum");
  check_sequence(recorded.lrs[0],
                 {0.008, 0.03896774193548387, 0.06993548387096775, 0.10090322580645164,
                  0.1318709677419355, 0.16283870967741937, 0.19380645161290327, 0.1752258064516129,
                  0.14425806451612902, 0.11329032258064514, 0.08232258064516125, 0.051354838709677386,
                  0.020387096774193536, 0.0075472150943396215, 0.00679257358490566,
                  0.006037932075471698, 0.005283290566037735, 0.004528649056603773,
                  0.0037740075471698106, 0.003019366037735849, 0.0022647245283018867,
                  0.0015100830188679243, 0.0007554415094339628, 8.000000000004531e-07,
                  -0.0007538415094339619});
  check_sequence(recorded.options[0],
                 {0.95, 0.9338709677419355, 0.917741935483871, 0.9016129032258065, 0.885483870967742,
                  0.8693548387096774, 0.8532258064516128, 0.8629032258064516, 0.8790322580645161,
                  0.8951612903225806, 0.9112903225806451, 0.9274193548387096, 0.9435483870967741, 0.95,
                  0.95, 0.95, 0.95, 0.95, 0.95, 0.95, 0.95, 0.95, 0.95, 0.95, 0.95});
}

TEST_CASE("scheduler torch: SequentialLR, PyTorch's documented example", "[scheduler][torch]") {
  // torch: SequentialLR[ConstantLR(0.1, 2), ExponentialLR(0.9)] milestones [2]
  Fixture f({1.0});
  auto warmup = std::make_shared<nn::ConstantLR>(f.optimizer(), 0.1, 2);
  auto decay = std::make_shared<nn::ExponentialLR>(f.optimizer(), 0.9);
  nn::SequentialLR scheduler(f.optimizer(), {warmup, decay}, {2});
  const Recorded recorded = record(f.optimizer(), scheduler, 10);
  check_sequence(recorded.lrs[0],
                 {0.1, 0.1, 1.0, 0.9, 0.81, 0.7290000000000001, 0.6561000000000001, 0.5904900000000002,
                  0.5314410000000002, 0.47829690000000014});
}

TEST_CASE("scheduler torch: SequentialLR warm-up then cosine, two groups", "[scheduler][torch]") {
  // torch: SequentialLR[LinearLR(0.1, 1, 5), CosineAnnealingLR(10, 0.001)] milestones [5], two groups
  Fixture f({0.1, 0.5});
  auto warmup = std::make_shared<nn::LinearLR>(f.optimizer(), 0.1, 1.0, 5);
  auto cosine = std::make_shared<nn::CosineAnnealingLR>(f.optimizer(), 10, 0.001);
  nn::SequentialLR scheduler(f.optimizer(), {warmup, cosine}, {5});
  const Recorded recorded = record(f.optimizer(), scheduler, 20);
  check_sequence(recorded.lrs[0],
                 {0.010000000000000002, 0.028000000000000004, 0.046000000000000006, 0.064, 0.082, 0.1,
                  0.09757729755661011, 0.0905463412215599, 0.07959536998847742, 0.0657963412215599,
                  0.0505, 0.03520365877844011, 0.02140463001152259, 0.010453658778440109,
                  0.0034227024433899004, 0.001, 0.0034227024433899004, 0.01045365877844014,
                  0.02140463001152267, 0.035203658778440255});
  check_sequence(recorded.lrs[1],
                 {0.05, 0.13999999999999999, 0.22999999999999995, 0.31999999999999995,
                  0.4099999999999999, 0.5, 0.48778860081564085, 0.4523497400965494, 0.3971524204469721,
                  0.3275997400965494, 0.2505, 0.17340025990345065, 0.103847579553028,
                  0.04865025990345065, 0.013211399184359197, 0.001, 0.013211399184359193,
                  0.048650259903450795, 0.10384757955302837, 0.17340025990345134});
}

TEST_CASE("scheduler torch: SequentialLR of three", "[scheduler][torch]") {
  // torch: SequentialLR[LinearLR(0.5, 1, 3), StepLR(2, 0.5), ExponentialLR(0.8)] milestones [3, 8]
  Fixture f({1.0});
  auto first = std::make_shared<nn::LinearLR>(f.optimizer(), 0.5, 1.0, 3);
  auto second = std::make_shared<nn::StepLR>(f.optimizer(), 2, 0.5);
  auto third = std::make_shared<nn::ExponentialLR>(f.optimizer(), 0.8);
  nn::SequentialLR scheduler(f.optimizer(), {first, second, third}, {3, 8});
  const Recorded recorded = record(f.optimizer(), scheduler, 14);
  check_sequence(recorded.lrs[0],
                 {0.5, 0.6666666666666666, 0.8333333333333333, 1.0, 1.0, 0.5, 0.5, 0.25, 1.0, 0.8,
                  0.6400000000000001, 0.5120000000000001, 0.40960000000000013, 0.32768000000000014});
}

TEST_CASE("scheduler torch: ChainedScheduler, PyTorch's documented example", "[scheduler][torch]") {
  // torch: ChainedScheduler[ConstantLR(0.1, 2), ExponentialLR(0.9)]
  Fixture f({1.0});
  nn::ChainedScheduler scheduler({std::make_shared<nn::ConstantLR>(f.optimizer(), 0.1, 2),
                                  std::make_shared<nn::ExponentialLR>(f.optimizer(), 0.9)});
  const Recorded recorded = record(f.optimizer(), scheduler, 8);
  check_sequence(recorded.lrs[0],
                 {0.1, 0.09000000000000001, 0.8100000000000002, 0.7290000000000002, 0.6561000000000002,
                  0.5904900000000002, 0.5314410000000002, 0.47829690000000014});
}

TEST_CASE("scheduler torch: ChainedScheduler of three recursive forms", "[scheduler][torch]") {
  // torch: ChainedScheduler[LinearLR(0.5, 1, 4), StepLR(3, 0.5), CosineAnnealingLR(8)]
  Fixture f({0.4});
  nn::ChainedScheduler scheduler({std::make_shared<nn::LinearLR>(f.optimizer(), 0.5, 1.0, 4),
                                  std::make_shared<nn::StepLR>(f.optimizer(), 3, 0.5),
                                  std::make_shared<nn::CosineAnnealingLR>(f.optimizer(), 8)});
  const Recorded recorded = record(f.optimizer(), scheduler, 12);
  check_sequence(recorded.lrs[0],
                 {0.2, 0.24048494156391084, 0.2560660171779821, 0.12098480033194538, 0.1,
                  0.06173165676349103, 0.014644660940672627, 0.0038060233744356634, 0.0,
                  0.015224093497742654, 0.058578643762690556, 0.12346331352698214});
}
TEST_CASE("scheduler torch: CosineAnnealingWarmRestarts per batch, step(epoch + i / iters)", "[scheduler][torch]") {
  // torch: CosineAnnealingWarmRestarts(T_0=3, T_mult=2); step(epoch + i / 4) for 5 epochs of 4 batches
  Fixture f({0.1});
  nn::CosineAnnealingWarmRestarts scheduler(f.optimizer(), 3, 2);
  std::vector<double> lrs;
  for (int epoch = 0; epoch < 5; ++epoch) {
    for (int i = 0; i < 4; ++i) {
      scheduler.step(epoch + i / 4.0);
      lrs.push_back(f.optimizer().lr());
    }
  }
  check_sequence(lrs, {0.1, 0.09829629131445342, 0.09330127018922195, 0.08535533905932738, 0.07500000000000001,
                       0.06294095225512604, 0.05, 0.03705904774487397, 0.025000000000000012, 0.014644660940672627,
                       0.006698729810778065, 0.00170370868554659, 0.1, 0.09957224306869053, 0.09829629131445342,
                       0.09619397662556434, 0.09330127018922195, 0.08966766701456176, 0.08535533905932738,
                       0.08043807145043604});
  CHECK(scheduler.epoch() == 4);
  CHECK(scheduler.t_i() == 6.0);
}

TEST_CASE("scheduler torch: OneCycleLR cycles Adam's beta1", "[scheduler][torch]") {
  // torch: OneCycleLR(Adam, 0.05, total_steps=20, div_factor=10, final_div_factor=100, pct_start=0.25,
  // base_momentum=0.8, max_momentum=0.9): betas[0] is cycled
  Tensor p = zeros({1}, float64).requires_grad_();
  nn::Adam adam({p}, 0.5);
  nn::OneCycleLR scheduler(adam, {.max_lr = 0.05, .total_steps = 20, .pct_start = 0.25, .base_momentum = 0.8,
                                  .max_momentum = 0.9, .div_factor = 10, .final_div_factor = 100});
  const Recorded recorded = record(adam, scheduler, 21, "beta1");
  check_sequence(recorded.lrs[0],
                 {0.0049999999999999975, 0.011590097423302678, 0.0275, 0.04340990257669732, 0.05,
                  0.0494542363283268, 0.047840797804623955, 0.04523019943451431, 0.04173653689381249,
                  0.037512500000000004, 0.032742699434514314, 0.02763559837010965, 0.02241440162989036,
                  0.01730730056548569, 0.012537500000000005, 0.008313463106187524, 0.00481980056548569,
                  0.002209202195376041, 0.000595763671673203, 5e-05, 0.000595763671673203});
  check_sequence(recorded.options[0],
                 {0.9, 0.8853553390593274, 0.8500000000000001, 0.8146446609406727, 0.8, 0.8010926199633097,
                  0.80432272711787, 0.8095491502812526, 0.8165434696820572, 0.8250000000000001, 0.8345491502812526,
                  0.8447735768366174, 0.8552264231633827, 0.8654508497187474, 0.875, 0.8834565303179429,
                  0.8904508497187474, 0.8956772728821301, 0.8989073800366904, 0.9, 0.8989073800366904});
  CHECK(adam.param_groups()[0].initial_lr == Approx(0.005));  // max_lr / div_factor, as PyTorch records it
}

// ---------------------------------------------------------------------------------------------
// Mechanics: per-step use, resuming, shared base lrs, refusals

TEST_CASE("scheduler: OneCycleLR refuses a step past its end and stays where it was", "[scheduler]") {
  Fixture f({0.1}, {.momentum = 0.9});
  nn::OneCycleLR scheduler(f.optimizer(), {.max_lr = 0.1, .total_steps = 5});
  for (int i = 0; i < 5; ++i) scheduler.step();  // step total_steps: allowed, as in PyTorch
  const double lr = f.optimizer().lr();
  CHECK_THROWS_WITH(scheduler.step(), Contains("tried to step 7 times") && Contains("total steps is 5"));
  CHECK(scheduler.epoch() == 5);
  CHECK(f.optimizer().lr() == lr);
}

TEST_CASE("scheduler: set_epoch resumes every schedule where stepping would have taken it", "[scheduler]") {
  // For each schedule: k steps from the start, and a fresh schedule jumped to k, give one lr.
  using Make = std::function<std::unique_ptr<nn::Scheduler>(nn::Optimizer&)>;
  const std::vector<std::pair<const char*, Make>> schedules = {
      {"ExponentialLR", [](nn::Optimizer& o) { return std::make_unique<nn::ExponentialLR>(o, 0.9); }},
      {"StepLR", [](nn::Optimizer& o) { return std::make_unique<nn::StepLR>(o, 3, 0.5); }},
      {"MultiStepLR", [](nn::Optimizer& o) { return std::make_unique<nn::MultiStepLR>(o, std::vector<int64_t>{2, 6}); }},
      {"ConstantLR", [](nn::Optimizer& o) { return std::make_unique<nn::ConstantLR>(o, 0.5, 4); }},
      {"LinearLR", [](nn::Optimizer& o) { return std::make_unique<nn::LinearLR>(o, 0.2, 0.9, 6); }},
      {"PolynomialLR", [](nn::Optimizer& o) { return std::make_unique<nn::PolynomialLR>(o, 8, 2.0); }},
      {"CosineAnnealingLR", [](nn::Optimizer& o) { return std::make_unique<nn::CosineAnnealingLR>(o, 5, 0.01); }},
      {"LambdaLR", [](nn::Optimizer& o) { return std::make_unique<nn::LambdaLR>(o, [](int64_t e) { return 1.0 / (1 + e); }); }},
      {"MultiplicativeLR",
       [](nn::Optimizer& o) { return std::make_unique<nn::MultiplicativeLR>(o, [](int64_t e) { return 1.0 - 0.01 * e; }); }},
      {"CosineAnnealingWarmRestarts",
       [](nn::Optimizer& o) { return std::make_unique<nn::CosineAnnealingWarmRestarts>(o, 2, 3, 0.001); }},
      {"CyclicLR",
       [](nn::Optimizer& o) { return std::make_unique<nn::CyclicLR>(o, nn::CyclicLROptions{.base_lr = 0.01, .max_lr = 0.1, .step_size_up = 3, .mode = "triangular2"}); }},
      {"OneCycleLR",
       [](nn::Optimizer& o) { return std::make_unique<nn::OneCycleLR>(o, nn::OneCycleLROptions{.max_lr = 0.3, .total_steps = 30}); }},
      {"SequentialLR",
       [](nn::Optimizer& o) {
         return std::make_unique<nn::SequentialLR>(
             o, std::vector<std::shared_ptr<nn::Scheduler>>{std::make_shared<nn::LinearLR>(o, 0.1, 1.0, 4),
                                                            std::make_shared<nn::CosineAnnealingLR>(o, 10)},
             std::vector<int64_t>{4});
       }},
      {"ChainedScheduler",
       [](nn::Optimizer& o) {
         return std::make_unique<nn::ChainedScheduler>(std::vector<std::shared_ptr<nn::Scheduler>>{
             std::make_shared<nn::LinearLR>(o, 0.5, 1.0, 4), std::make_shared<nn::ExponentialLR>(o, 0.9)});
       }},
  };
  for (const auto& [name, make] : schedules) {
    for (int64_t k : {0, 1, 3, 4, 7, 12, 23}) {
      INFO(name << " at step " << k);
      Fixture stepped({0.2, 0.05}, {.momentum = 0.5}), jumped({0.2, 0.05}, {.momentum = 0.5});
      auto a = make(stepped.optimizer());
      for (int64_t i = 0; i < k; ++i) a->step();
      auto b = make(jumped.optimizer());
      b->set_epoch(k);
      CHECK(b->epoch() == k);
      for (size_t g = 0; g < 2; ++g) {
        CHECK(jumped.optimizer().param_groups()[g].lr() ==
              Approx(stepped.optimizer().param_groups()[g].lr()).epsilon(1e-12).margin(1e-15));
      }
      CHECK(jumped.optimizer().param_groups()[1].option("momentum") ==
            Approx(stepped.optimizer().param_groups()[1].option("momentum")).epsilon(1e-12));
      // and stepping on from there agrees too
      a->step(), b->step();
      CHECK(jumped.optimizer().lr() == Approx(stepped.optimizer().lr()).epsilon(1e-12).margin(1e-15));
    }
  }
}

TEST_CASE("scheduler: every schedule on an optimiser counts from the groups' initial lrs", "[scheduler]") {
  // As PyTorch's initial_lr: the second schedule's base is 1.0, not the 0.1 the first one set.
  Fixture f({1.0, 0.4});
  nn::ConstantLR constant(f.optimizer(), 0.1, 3);
  CHECK(f.optimizer().lr() == Approx(0.1));
  nn::ExponentialLR exponential(f.optimizer(), 0.5);
  CHECK(exponential.base_lrs() == std::vector<double>{1.0, 0.4});
  CHECK(f.optimizer().param_groups()[1].initial_lr == 0.4);
  // the initial lrs travel with the optimiser's state
  const auto state = f.optimizer().state();
  CHECK(state.at("group.1.initial_lr").item() == 0.4);
  CHECK(exponential.last_lr() == std::vector<double>{f.optimizer().param_groups()[0].lr(), f.optimizer().param_groups()[1].lr()});
}

TEST_CASE("scheduler: an lr changed by hand is followed by the recursive forms", "[scheduler]") {
  // PyTorch's chainable form multiplies the lr the group has now.
  Fixture f({1.0});
  nn::ExponentialLR scheduler(f.optimizer(), 0.5);
  scheduler.step();
  f.optimizer().set_lr(0.2);
  scheduler.step();
  CHECK(f.optimizer().lr() == Approx(0.1));
  // set_epoch uses the closed form of the base lr instead
  scheduler.set_epoch(3);
  CHECK(f.optimizer().lr() == Approx(0.125));
}

TEST_CASE("scheduler: per-step schedules in a training loop", "[scheduler][train]") {
  // OneCycleLR counts batches: 25 epochs of 4 batches, one step() per batch.
  manual_seed(3);
  const Tensor x = randn({32, 2}, float64);
  const Tensor y = x.matmul(tensor({1.5, -0.5}, {2, 1}, float64)) + 0.25;
  auto model = nn::make<nn::Linear>(2, 1);
  model->to(float64);
  nn::SGD sgd(model->parameters(), {.lr = 0.1, .momentum = 0.9});
  nn::OneCycleLR schedule(sgd, {.max_lr = 0.05, .epochs = 25, .steps_per_epoch = 4});
  double first = 0.0, last = 0.0;
  for (int epoch = 0; epoch < 25; ++epoch) {
    for (int batch = 0; batch < 4; ++batch) {
      const Tensor xb = x.slice(0, batch * 8, batch * 8 + 8), yb = y.slice(0, batch * 8, batch * 8 + 8);
      sgd.zero_grad();
      Tensor loss = nn::functional::mse_loss(model(xb), yb);
      loss.backward();
      sgd.step();
      schedule.step();
      if (epoch == 0 && batch == 0) first = loss.item();
      last = loss.item();
    }
  }
  CHECK(schedule.epoch() == 100);
  CHECK(last < first * 1e-3);
}

TEST_CASE("scheduler: bad arguments of the new schedules are refused", "[scheduler]") {
  Fixture f({0.1, 0.2});
  nn::Adagrad adagrad({zeros({1}).requires_grad_()}, 0.1);
  CHECK_THROWS_WITH(nn::ExponentialLR(f.optimizer(), 0.0), Contains("ExponentialLR") && Contains("gamma"));
  CHECK_THROWS_WITH(nn::LambdaLR(f.optimizer(), std::vector<nn::LambdaLR::Lambda>{[](int64_t) { return 1.0; },
                                                                                  [](int64_t) { return 1.0; },
                                                                                  [](int64_t) { return 1.0; }}),
                    Contains("expected 2 lr_lambdas") && Contains("got 3"));
  CHECK_THROWS_WITH(nn::LambdaLR(f.optimizer(), [](int64_t) { return std::nan(""); }),
                    Contains("LambdaLR") && Contains("nan") && Contains("finite"));
  CHECK_THROWS_WITH(nn::CosineAnnealingWarmRestarts(f.optimizer(), 0), Contains("t_0"));
  CHECK_THROWS_WITH(nn::CosineAnnealingWarmRestarts(f.optimizer(), 3, 0), Contains("t_mult"));
  CHECK_THROWS_WITH(nn::CyclicLR(f.optimizer(), {.base_lr = 0.01}), Contains("max_lr") && Contains("no value"));
  CHECK_THROWS_WITH(nn::CyclicLR(f.optimizer(), {.base_lr = {0.1, 0.2, 0.3}, .max_lr = 1.0}),
                    Contains("base_lr") && Contains("expected 2 values"));
  CHECK_THROWS_WITH(nn::CyclicLR(f.optimizer(), {.base_lr = 0.01, .max_lr = 0.1, .mode = "sawtooth"}),
                    Contains("'sawtooth'"));
  CHECK_THROWS_WITH(nn::CyclicLR(adagrad, {.base_lr = 0.01, .max_lr = 0.1}),
                    Contains("Adagrad") && Contains("cycle_momentum = false"));
  CHECK_NOTHROW(nn::CyclicLR(adagrad, {.base_lr = 0.01, .max_lr = 0.1, .cycle_momentum = false}));
  CHECK_THROWS_WITH(nn::OneCycleLR(f.optimizer(), {.max_lr = 0.1}), Contains("total_steps"));
  CHECK_THROWS_WITH(nn::OneCycleLR(f.optimizer(), {.max_lr = 0.1, .total_steps = 10, .anneal_strategy = "exp"}),
                    Contains("'cos' or 'linear'") && Contains("exp"));
  CHECK_THROWS_WITH(nn::OneCycleLR(f.optimizer(), {.max_lr = 0.1, .total_steps = 10, .pct_start = 1.5}),
                    Contains("pct_start"));
  CHECK_THROWS_WITH(nn::OneCycleLR(adagrad, {.max_lr = 0.1, .total_steps = 10}), Contains("cycle_momentum"));
  auto first = std::make_shared<nn::ExponentialLR>(f.optimizer(), 0.9);
  CHECK_THROWS_WITH(nn::SequentialLR(f.optimizer(), {first}, {3}), Contains("one milestone fewer"));
  CHECK_THROWS_WITH(nn::SequentialLR(adagrad, {first}, {}), Contains("another optimiser"));
  auto second = std::make_shared<nn::StepLR>(f.optimizer(), 2);
  CHECK_THROWS_WITH(nn::SequentialLR(f.optimizer(), {first, second, first}, {5, 3}), Contains("increasing"));
  auto elsewhere = std::make_shared<nn::ExponentialLR>(adagrad, 0.9);
  CHECK_THROWS_WITH(nn::ChainedScheduler({first, elsewhere}), Contains("scheduler 1") && Contains("another optimiser"));
  CHECK_THROWS_WITH(nn::ChainedScheduler({}), Contains("at least one"));
  CHECK_THROWS_WITH(nn::ReduceLROnPlateau(f.optimizer(), {.min_lr = {0.1, 0.2, 0.3}}), Contains("expected 2 values"));
}

TEST_CASE("scheduler: ReduceLROnPlateau cuts every group, each to its own floor", "[scheduler]") {
  Fixture f({1.0, 0.1});
  nn::ReduceLROnPlateau scheduler(f.optimizer(), {.factor = 0.5, .patience = 0, .min_lr = {0.3, 0.0}});
  scheduler.step(1.0);
  scheduler.step(2.0);  // worse: cut
  CHECK(f.optimizer().param_groups()[0].lr() == 0.5);
  CHECK(f.optimizer().param_groups()[1].lr() == 0.05);
  scheduler.step(3.0);  // cut again: the first group stops at its floor
  CHECK(f.optimizer().param_groups()[0].lr() == 0.3);
  CHECK(f.optimizer().param_groups()[1].lr() == 0.025);
  CHECK(scheduler.last_lr() == std::vector<double>{0.3, 0.025});
}

TEST_CASE("scheduler: ReduceLROnPlateau's absolute threshold", "[scheduler]") {
  Fixture f({1.0});
  nn::ReduceLROnPlateau scheduler(f.optimizer(), {.patience = 0, .threshold = 0.5, .threshold_abs = true});
  scheduler.step(10.0);
  scheduler.step(9.6);  // better by less than 0.5: a bad epoch, cut at once
  CHECK(f.optimizer().lr() == Approx(0.1));
  scheduler.step(9.0);  // better than 10 - 0.5: an improvement
  CHECK(scheduler.bad_epochs() == 0);
}
