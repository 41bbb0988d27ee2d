// Optimisers against torch.optim: the parameters after ten steps on a toy problem, with one list
// and with parameter groups. The expected values were computed with PyTorch 1.13 (float64) by
// tests/nn/reference/training_reference.py and pasted here as literals; NAdam, and the decoupled weight decay
// of NAdam and RAdam, follow PyTorch 2.x, written out in torch ops in that script (1.13's NAdam
// has the mu_product_next bug that pytorch#92699 fixed). The suite does not need torch.
#include <catch2/catch.hpp>

#include <cmath>
#include <functional>
#include <memory>
#include <vector>

#include "nabla/nn.hpp"

using namespace nabla;
using Catch::Contains;

namespace {

// The toy problem: minimise sum_k a_k p_k^2 + b_k p_k over each parameter (k counts its elements),
// so the gradient is 2 a p + b, different for each element and changing every step.
const std::vector<double> kStart = {0.8, -1.3, 0.05, 2.0, -0.4};
const std::vector<double> kStartMatrix = {0.25, -0.5, 1.5, 0.75, -2.0, 0.1};  // [2, 3]

void set_toy_gradient(const Tensor& parameter) {
  const std::vector<double> p = parameter.to_vector<double>();
  std::vector<double> g(p.size());
  for (size_t k = 0; k < p.size(); ++k) {
    const double a = 0.5 + 0.25 * static_cast<double>(k);
    const double b = (k % 2 == 0 ? 1.0 : -0.75) * (1.0 + 0.1 * static_cast<double>(k));
    g[k] = 2.0 * a * p[k] + b;
  }
  parameter.set_grad(Tensor(from_vector(g, parameter.shape())));
}

struct Toy {
  Tensor p0 = from_vector(kStart).requires_grad_();
  Tensor p1 = from_vector(kStartMatrix, {2, 3}).requires_grad_();
  std::vector<Tensor> both() const { return {p0, p1}; }
};

void run(nn::Optimizer& optimizer, const Toy& toy, int steps = 10) {
  for (int step = 0; step < steps; ++step) {
    set_toy_gradient(toy.p0);
    set_toy_gradient(toy.p1);
    optimizer.step();
  }
}

void check_values(const Tensor& actual, const std::vector<double>& expected, double tolerance = 1e-12) {
  const std::vector<double> values = actual.to_vector<double>();
  REQUIRE(values.size() == expected.size());
  for (size_t k = 0; k < values.size(); ++k) {
    INFO("element " << k);
    CHECK(values[k] == Approx(expected[k]).epsilon(tolerance).margin(tolerance));
  }
}

void check_toy(const Toy& toy, const std::vector<double>& p0, const std::vector<double>& p1) {
  INFO("p0");
  check_values(toy.p0, p0);
  INFO("p1");
  check_values(toy.p1, p1);
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// The new optimisers, one list

TEST_CASE("optim torch: Adagrad with lr_decay, weight decay and an initial accumulator", "[optim][torch]") {
  Toy toy;
  nn::Adagrad adagrad(toy.both(),
                      {.lr = 0.1, .lr_decay = 0.01, .weight_decay = 0.1, .initial_accumulator_value = 0.5});
  run(adagrad, toy);
  check_toy(toy,
            {0.3554546172108744, -0.8466251671608932, -0.32657392637818905, 1.5471845525906103, -0.451328397490018},
            {-0.16749744262982075, -0.08059500604607427, 1.0401308064230015, 0.4451548106248002, -1.5482259958452003,
             0.3051253270287745});
}

TEST_CASE("optim torch: Adamax", "[optim][torch]") {
  Toy toy;
  nn::Adamax adamax(toy.both(), {.lr = 0.05, .beta1 = 0.8, .beta2 = 0.95, .weight_decay = 0.05});
  run(adamax, toy);
  check_toy(toy,
            {0.27074458944718494, -0.7723918386451366, -0.42701663901156783, 1.4674619901345125, -0.44743427817728504},
            {-0.29004185006680205, 0.03298951959092444, 0.9765622242673384, 0.36581296341437314, -1.465251440406922,
             0.3663528724010484});
}

TEST_CASE("optim torch: RAdam, before and after the variance is rectified", "[optim][torch]") {
  // With beta2 = 0.999, rho_t passes 5 at step 6: ten steps take both branches.
  Toy toy;
  nn::RAdam radam(toy.both(), {.lr = 0.05, .weight_decay = 0.01});
  run(radam, toy);
  check_toy(toy,
            {0.36310203381303147, -0.649563779146585, -0.24971717602228716, 1.111886932179586, -0.44938229623739173},
            {-0.05550520053136937, -0.12746480862316528, 0.5483253977658294, 0.5441766628518446, -1.0154864572215643,
             0.2665267763315289});
}

TEST_CASE("optim torch: NAdam (PyTorch 2's formula)", "[optim][torch]") {
  Toy toy;
  nn::NAdam nadam(toy.both(), {.lr = 0.05, .weight_decay = 0.01});
  run(nadam, toy);
  check_toy(toy,
            {0.41177136577547946, -0.9112629200537935, -0.30547367758884175, 1.6136361697184585, -0.46637061033542326},
            {-0.1306111892178557, -0.1241762763305024, 1.1093464776432154, 0.4429059100431008, -1.6145795937415046,
             0.3326660495219617});
  // mu_product is per-parameter state, a float64 scalar.
  const auto state = nadam.state();
  CHECK(state.at("0.mu_product").dtype() == float64);
  CHECK(state.at("0.mu_product").dim() == 0);
}

TEST_CASE("optim torch: NAdam and RAdam with decoupled weight decay (PyTorch 2.1)", "[optim][torch]") {
  Toy nadam_toy;
  nn::NAdam nadamw(nadam_toy.both(), {.lr = 0.05, .weight_decay = 0.1, .decoupled_weight_decay = true});
  run(nadamw, nadam_toy);
  check_toy(nadam_toy,
            {0.3828452684904097, -0.858952791759524, -0.30034357459896616, 1.529285570566832, -0.46704707155468633},
            {-0.1338927213002333, -0.10980367583934338, 1.0473313760318492, 0.42568700081268496, -1.5304932820177088,
             0.328422375585853});
  Toy radam_toy;
  nn::RAdam radamw(radam_toy.both(), {.lr = 0.05, .weight_decay = 0.1, .decoupled_weight_decay = true});
  run(radamw, radam_toy);
  check_toy(radam_toy,
            {0.3414809002752814, -0.613324339654032, -0.24196156819740383, 1.0547499012355512, -0.43139926777547793},
            {-0.056683044154336656, -0.11755146940453641, 0.5142645975375606, 0.5184374995955985, -0.9627740866164173,
             0.25692832195251264});
}

TEST_CASE("optim torch: AdamW's default weight decay is PyTorch's 0.01", "[optim][torch]") {
  Toy toy;
  nn::AdamW adamw(toy.both(), {.lr = 0.05});
  CHECK(adamw.param_groups()[0].option("weight_decay") == 0.01);
  run(adamw, toy, 5);
  check_toy(toy,
            {0.5489742724303588, -1.0477067746260582, -0.1972030240511092, 1.7460909393416293, -0.4956500230317631},
            {0.0007400886143893379, -0.2503958402629476, 1.247112478418262, 0.5053784384756328, -1.7461413589210975,
             0.3316492675416717});
  // An explicit nn::AdamOptions keeps its own weight decay (0 unless given), as before.
  Toy other;
  nn::AdamW explicit_options(other.both(), nn::AdamOptions{.lr = 0.05});
  CHECK(explicit_options.param_groups()[0].option("weight_decay") == 0.0);
}

// ---------------------------------------------------------------------------------------------
// Parameter groups: each group's options, the others from the defaults

TEST_CASE("optim torch: Adagrad groups, maximize", "[optim][torch][groups]") {
  Toy toy;
  nn::Adagrad adagrad({{.params = {toy.p0}}, {.params = {toy.p1}, .options = {{"lr", 0.02}, {"eps", 1e-3}}}},
                      {.lr = 0.1, .maximize = true});
  run(adagrad, toy);
  check_toy(toy,
            {1.3269266788773428, -1.8263093611328558, 0.6117168932797489, 2.529589038635751, 0.2836233394703617},
            {0.3518888011226549, -0.602179197360424, 1.6013171141625084, 0.8553182299938725, -2.1016485836054275,
             -0.008011668305930603});
}

TEST_CASE("optim torch: Adamax groups", "[optim][torch][groups]") {
  Toy toy;
  nn::Adamax adamax({{.params = {toy.p0}, .options = {{"maximize", true}}},
                     {.params = {toy.p1}, .options = {{"beta1", 0.5}, {"beta2", 0.9}}}},
                    0.01);
  run(adamax, toy);
  check_toy(toy,
            {0.8989749175737884, -1.399001514945087, 0.147351147466438, 2.0988594642331395, -0.3141966696848617},
            {0.1493872420027141, -0.39926284552650043, 1.3996431057625145, 0.6475266339239366, -1.8995054435662602,
             0.20476268761724722});
}

TEST_CASE("optim torch: RAdam groups", "[optim][torch][groups]") {
  Toy toy;
  nn::RAdam radam({{.params = {toy.p0}},
                   {.params = {toy.p1}, .options = {{"lr", 0.1}, {"beta1", 0.7}, {"beta2", 0.99}, {"eps", 1e-4}}}},
                  0.02);
  run(radam, toy);
  check_toy(toy,
            {0.6201127946324864, -1.0276996415308493, -0.0781580138514693, 1.6152746110599339, -0.4223879156536894},
            {-0.3491347633372225, 0.18984306089995504, -0.14482608139404138, 0.4049078205314837, -0.4536030776424888,
             0.3422793369304591});
}

TEST_CASE("optim torch: NAdam groups", "[optim][torch][groups]") {
  Toy toy;
  nn::NAdam nadam({{.params = {toy.p0}, .options = {{"momentum_decay", 0.01}}},
                   {.params = {toy.p1}, .options = {{"lr", 0.01}, {"beta1", 0.8}, {"beta2", 0.99}}}},
                  0.05);
  run(nadam, toy);
  check_toy(toy,
            {0.4117625491676474, -0.9113148500003966, -0.3056903795001831, 1.6137347748370634, -0.46799972634706755},
            {0.1592639513272728, -0.40948641205304687, 1.4087970827541558, 0.662291427306815, -1.9090498295997242,
             0.18479164466458306});
}

TEST_CASE("optim torch: Adam groups, amsgrad in one and maximize in the other", "[optim][torch][groups]") {
  Toy toy;
  nn::Adam adam({{.params = {toy.p0}, .options = {{"amsgrad", true}}},
                 {.params = {toy.p1},
                  .options = {{"lr", 0.01}, {"weight_decay", 0.1}, {"beta1", 0.8}, {"beta2", 0.9}, {"maximize", true}}}},
                0.05);
  run(adam, toy);
  check_toy(toy,
            {0.30563789636993866, -0.8054506151309755, -0.42602900082995493, 1.5064819113963004, -0.43725847193794254},
            {0.35023267635294025, -0.6002864721399132, 1.60015181260715, 0.8507768766566092, -2.100210015027118,
             -0.0010402311157684703});
}

TEST_CASE("optim torch: SGD groups, Nesterov in one, dampening and maximize in the other", "[optim][torch][groups]") {
  Toy toy;
  nn::SGD sgd({{.params = {toy.p0}, .options = {{"momentum", 0.9}, {"nesterov", true}}},
               {.params = {toy.p1},
                .options = {{"lr", 0.02}, {"momentum", 0.5}, {"dampening", 0.1}, {"maximize", true}}}},
              0.05);
  run(sgd, toy);
  check_toy(toy,
            {-1.4715864160883687, 1.2523713715826494, -0.8252758115697225, -0.0066797058330695025, -0.4753517758504579},
            {0.713025836401117, -1.1199277604964522, 3.2564770913843177, 1.1498754582997313, -4.1710776846968205,
             -0.2885004076535731});
}

TEST_CASE("optim torch: RMSprop groups, centered in one, momentum and maximize in the other", "[optim][torch][groups]") {
  Toy toy;
  nn::RMSprop rmsprop({{.params = {toy.p0}, .options = {{"centered", true}}},
                       {.params = {toy.p1}, .options = {{"lr", 0.001}, {"momentum", 0.9}, {"maximize", true}}}},
                      {.lr = 0.01, .alpha = 0.9});
  run(rmsprop, toy);
  check_toy(toy,
            {0.5807551285401963, -1.0806066516031454, -0.158642082896883, 1.7814081364567322, -0.4666565662092391},
            {0.3302869020729599, -0.5803761457331903, 1.5800956206574623, 0.8314082051808609, -2.0801998565739908,
             0.01766871694391394});
}

// ---------------------------------------------------------------------------------------------
// LBFGS: Rosenbrock's function in 4 variables plus a quadratic in 2 more (two parameters, one
// flat vector), from torch's own start; after each step(closure) the returned loss, the
// parameters and PyTorch's func_evals and n_iter.

namespace {

Tensor lbfgs_objective(const Tensor& x, const Tensor& w) {
  const Tensor head = x.slice(0, 0, 3), tail = x.slice(0, 1, 4);
  const Tensor valley = tail - head * head;
  const Tensor offset = 1.0 - head;
  const Tensor rosenbrock = sum(100.0 * valley * valley + offset * offset);
  const Tensor shift = w - tensor({1.0, -2.0}, {2}, float64);
  return rosenbrock + sum(shift * shift * tensor({3.0, 0.5}, {2}, float64));
}

struct LbfgsStep {
  double loss;
  std::vector<double> x, w;
  int64_t func_evals, n_iter;
};

void check_lbfgs(const nn::LBFGSOptions& options, const std::vector<LbfgsStep>& expected) {
  Tensor x = tensor({-1.2, 1.0, -0.5, 0.8}, {4}, float64).requires_grad_();
  Tensor w = tensor({0.3, 0.4}, {2}, float64).requires_grad_();
  nn::LBFGS lbfgs({x, w}, options);
  auto closure = [&] {
    lbfgs.zero_grad();
    Tensor loss = lbfgs_objective(x, w);
    loss.backward();
    return loss;
  };
  for (size_t step = 0; step < expected.size(); ++step) {
    INFO("step " << step);
    const Tensor loss = lbfgs.step(closure);
    CHECK(loss.item() == Approx(expected[step].loss).epsilon(1e-10));
    check_values(x, expected[step].x, 1e-9);
    check_values(w, expected[step].w, 1e-9);
    CHECK(lbfgs.function_evaluations() == expected[step].func_evals);
    CHECK(lbfgs.iterations() == expected[step].n_iter);
  }
}

}  // namespace

TEST_CASE("optim torch: LBFGS with a fixed step", "[optim][torch][lbfgs]") {
  check_lbfgs(
      {.lr = 0.05, .max_iter = 5, .history_size = 3},
      {{286.05, {-1.1265849544777062, 0.9023563177182652, -0.43581367161729656, 0.725425520172368},
        {0.3028566547581884, 0.3983576822383438}, 5, 5},
       {209.32482225115677, {-1.0380109815035492, 0.836810187653277, -0.1778239123307221, 0.44695044088475083},
        {0.31565829241533394, 0.39090328332969143}, 10, 10},
       {109.97356122612666, {-0.9981242966930206, 0.8492684111734369, 0.18598429010524217, 0.20697257405380762},
        {0.3326121084862992, 0.3808888090963214}, 15, 15},
       {42.63203811494465, {-0.9834483629093055, 0.8578960183062809, 0.3430118153652745, 0.20373211787499435},
        {0.34380919811783595, 0.3740883043713139}, 20, 20}});
}

TEST_CASE("optim torch: LBFGS with the strong Wolfe line search", "[optim][torch][lbfgs]") {
  check_lbfgs(
      {.lr = 1, .max_iter = 10, .history_size = 5, .line_search_fn = "strong_wolfe"},
      {{286.05, {-0.09667876452401569, 0.02045540555288689, 0.021259458651333076, -0.0021913337836834104},
        {1.4069516791820778, -0.3755351214247479}, 12, 10},
       {4.99289077590506, {0.6779913596418604, 0.4300598909194062, 0.14848741742734062, -0.0127474296696115},
        {1.0785668672193378, -1.7705601508206315}, 24, 19},
       {1.5401626983167016, {0.8793785155085018, 0.7687644638137563, 0.5956101238356746, 0.3517821445942985},
        {0.8705340036352919, -2.4519514054764797}, 36, 28},
       {0.38903612224336237, {1.0238072009941854, 1.0467643237410058, 1.094798069814035, 1.1966006929838906},
        {0.8846835307325123, -1.9062860468179559}, 48, 37}});
}

TEST_CASE("optim torch: LBFGS's defaults with strong Wolfe", "[optim][torch][lbfgs]") {
  // lr 1, max_iter 20, max_eval 25, tolerance_grad 1e-7, tolerance_change 1e-9, history_size 100.
  nn::LBFGS defaults({zeros({1}, float64).requires_grad_()});
  const auto& options = defaults.param_groups()[0].options;
  CHECK(options.at("lr") == 1.0);
  CHECK(options.at("max_iter") == 20);
  CHECK(options.at("max_eval") == 25);
  CHECK(options.at("tolerance_grad") == 1e-7);
  CHECK(options.at("tolerance_change") == 1e-9);
  CHECK(options.at("history_size") == 100);
  check_lbfgs({.line_search_fn = "strong_wolfe"},
              {{286.05, {0.3676119018316339, 0.1386925905172538, 0.02358761153712438, -0.0005980382321474596},
                {0.9968825355200401, -2.5083036748728182}, 22, 20},
               {2.2276521673058114, {0.9761832919069542, 0.9537610486674494, 0.9124460378484305, 0.8261807677613575},
                {0.9977357570766893, -2.0582279979629714}, 47, 40}});
}

TEST_CASE("optim: LBFGS state round trip continues identically", "[optim][lbfgs]") {
  auto make = [] {
    return std::vector<Tensor>{tensor({-1.2, 1.0, -0.5, 0.8}, {4}, float64).requires_grad_(),
                               tensor({0.3, 0.4}, {2}, float64).requires_grad_()};
  };
  const nn::LBFGSOptions options{.max_iter = 4, .history_size = 3, .line_search_fn = "strong_wolfe"};
  std::vector<Tensor> first = make(), second = make();
  nn::LBFGS running(first, options), restored(second, options);
  auto closure_for = [](nn::LBFGS& lbfgs, const std::vector<Tensor>& p) {
    return [&lbfgs, p] {
      lbfgs.zero_grad();
      Tensor loss = lbfgs_objective(p[0], p[1]);
      loss.backward();
      return loss;
    };
  };
  running.step(closure_for(running, first));
  running.step(closure_for(running, first));
  // the restored optimiser's parameters take the running one's values, then its state
  {
    NoGradGuard no_grad;
    second[0].raw().copy_(first[0].raw());
    second[1].raw().copy_(first[1].raw());
  }
  const auto state = running.state();
  CHECK(state.count("lbfgs.old_dirs") == 1);
  CHECK(state.at("lbfgs.d").shape() == Shape{6});
  restored.load_state(state);
  CHECK(restored.function_evaluations() == running.function_evaluations());
  running.step(closure_for(running, first));
  restored.step(closure_for(restored, second));
  CHECK(first[0].to_vector<double>() == second[0].to_vector<double>());
  CHECK(first[1].to_vector<double>() == second[1].to_vector<double>());
  // history for other parameters is refused, naming the entry
  nn::LBFGS small({zeros({3}, float64).requires_grad_()}, options);
  CHECK_THROWS_WITH(small.load_state(state), Contains("parameters") || Contains("lbfgs.d"));
}

TEST_CASE("optim: LBFGS refusals", "[optim][lbfgs]") {
  Tensor p = zeros({2}, float64).requires_grad_();
  CHECK_THROWS_WITH(nn::LBFGS({p}, {.line_search_fn = "backtracking"}), Contains("strong_wolfe") && Contains("backtracking"));
  CHECK_THROWS_WITH(nn::LBFGS(std::vector<nn::ParamGroup>{{.params = {p}}, {.params = {zeros({1}).requires_grad_()}}}),
                    Contains("parameter groups"));
  nn::LBFGS lbfgs({p});
  CHECK_THROWS_WITH(lbfgs.step(), Contains("closure"));
  CHECK_THROWS_WITH(lbfgs.step([] { return zeros({2}); }), Contains("one-element") && Contains("[2]"));
  CHECK_THROWS_WITH(nn::LBFGS({p}, {.max_iter = 0}), Contains("max_iter"));
}

TEST_CASE("optim: LBFGS fits a least-squares line in one step", "[optim][lbfgs][train]") {
  // y = 2x - 1 exactly: a quadratic, which L-BFGS with line search solves to machine precision.
  const Tensor x = tensor({-1, -0.5, 0, 0.5, 1, 1.5}, {6, 1}, float64);
  const Tensor y = 2.0 * x - 1.0;
  Tensor weight = zeros({1, 1}, float64).requires_grad_();
  Tensor bias = zeros({1}, float64).requires_grad_();
  nn::LBFGS lbfgs({weight, bias}, {.line_search_fn = "strong_wolfe"});
  lbfgs.step([&] {
    lbfgs.zero_grad();
    const Tensor residual = x.matmul(weight) + bias - y;
    Tensor loss = sum(residual * residual);
    loss.backward();
    return loss;
  });
  CHECK(weight.item() == Approx(2.0).margin(1e-7));
  CHECK(bias.item() == Approx(-1.0).margin(1e-7));
}
