// Parameter groups: options per group with fallback to the optimiser's, param_groups() as the
// place to change them, add_param_group, step(closure), and state()/load_state()/nn::save/load
// keeping the groups (and refusing other groups, naming the difference).
#include <catch2/catch.hpp>

#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "nabla/nn.hpp"

using namespace nabla;
using Catch::Contains;

namespace {

Tensor parameter(std::vector<double> values) { return from_vector(values).requires_grad_(); }
void set_unit_gradient(const Tensor& p) { p.set_grad(Tensor(ones(p.shape(), p.dtype()))); }

}  // namespace

TEST_CASE("optim groups: options fall back to the optimiser's, per option", "[optim][groups]") {
  Tensor a = parameter({1.0}), b = parameter({1.0, 2.0});
  nn::SGD sgd({{.params = {a}}, {.params = {b}, .options = {{"lr", 0.5}, {"momentum", 0.5}}}},
              {.lr = 0.1, .momentum = 0.9, .weight_decay = 0.01});
  REQUIRE(sgd.param_groups().size() == 2);
  const auto& first = sgd.param_groups()[0].options;
  const auto& second = sgd.param_groups()[1].options;
  CHECK(first.at("lr") == 0.1);
  CHECK(first.at("momentum") == 0.9);
  CHECK(second.at("lr") == 0.5);
  CHECK(second.at("momentum") == 0.5);
  CHECK(second.at("weight_decay") == 0.01);  // not given: the optimiser's
  CHECK(second.at("nesterov") == 0.0);
  // every group holds every option, as PyTorch's param_groups dicts do
  CHECK(first.size() == sgd.defaults().size());
  CHECK(sgd.parameters().size() == 2);
  CHECK(sgd.lr() == 0.1);  // the first group's

  // One step by hand: g = 1 + 0.01 p; first step b = g; p -= lr * b.
  set_unit_gradient(a), set_unit_gradient(b);
  sgd.step();
  CHECK(a.item() == Approx(1.0 - 0.1 * 1.01).epsilon(1e-14));
  CHECK(b.to_vector<double>()[1] == Approx(2.0 - 0.5 * 1.02).epsilon(1e-14));
}

TEST_CASE("optim groups: the lr and other options change through param_groups()", "[optim][groups]") {
  Tensor a = parameter({1.0}), b = parameter({1.0});
  nn::SGD sgd({{.params = {a}}, {.params = {b}}}, 0.1);
  sgd.param_groups()[1].set_lr(0.25);
  CHECK(sgd.param_groups()[1].lr() == 0.25);
  set_unit_gradient(a), set_unit_gradient(b);
  sgd.step();
  CHECK(a.item() == Approx(0.9));
  CHECK(b.item() == Approx(0.75));

  // set_lr changes every group
  sgd.set_lr(0.5);
  CHECK(sgd.param_groups()[0].lr() == 0.5);
  CHECK(sgd.param_groups()[1].lr() == 0.5);

  // any option, checked at the next step, as the constructor checks it
  sgd.param_groups()[0].set_option("momentum", -1.0);
  set_unit_gradient(a), set_unit_gradient(b);
  CHECK_THROWS_WITH(sgd.step(), Contains("SGD: group 0") && Contains("momentum") && Contains("-1"));
  sgd.param_groups()[0].set_option("momentum", 0.0);
  CHECK_THROWS_WITH(sgd.param_groups()[0].set_option("betas", 0.9), Contains("no option 'betas'") && Contains("momentum"));
  CHECK_THROWS_WITH(sgd.param_groups()[0].set_lr(-0.1), Contains("learning rate") && Contains("-0.1"));
  CHECK_THROWS_WITH(sgd.param_groups()[0].option("beta1"), Contains("no option 'beta1'"));
  sgd.param_groups()[0].set_option("nesterov", 0.5);
  CHECK_THROWS_WITH(sgd.step(), Contains("'nesterov'") && Contains("flag"));
}

TEST_CASE("optim groups: bad groups are refused with what is wrong", "[optim][groups]") {
  Tensor a = parameter({1.0}), b = parameter({2.0});
  CHECK_THROWS_WITH(nn::SGD({{.params = {a}}, {.params = {b}, .options = {{"betas", 0.9}}}}, 0.1),
                    Contains("group 1") && Contains("'betas'") && Contains("momentum"));
  CHECK_THROWS_WITH(nn::Adam({{.params = {a}}, {.params = {b}, .options = {{"beta1", 1.0}}}}, 0.1),
                    Contains("Adam: group 1") && Contains("beta1") && Contains("[0, 1)"));
  CHECK_THROWS_WITH(nn::SGD({{.params = {a}}, {.params = {a}}}, 0.1),
                    Contains("parameters 0 and 1 overlap") && Contains("one group"));
  CHECK_THROWS_WITH(nn::SGD({{.params = {a}}, {.params = {b}, .options = {{"lr", -1.0}}}}, 0.1),
                    Contains("group 1") && Contains("learning rate"));
  CHECK_THROWS_WITH(nn::SGD(std::vector<nn::ParamGroup>{{.params = {}}}, 0.1), Contains("empty parameter list"));
}

TEST_CASE("optim groups: add_param_group", "[optim][groups]") {
  Tensor a = parameter({1.0}), b = parameter({1.0, 1.0});
  nn::Adam adam({a}, nn::AdamOptions{.lr = 0.1});
  set_unit_gradient(a);
  adam.step();
  adam.add_param_group({.params = {b}, .options = {{"lr", 0.01}}});
  REQUIRE(adam.param_groups().size() == 2);
  CHECK(adam.parameters().size() == 2);
  CHECK(adam.param_groups()[1].option("beta2") == 0.999);
  set_unit_gradient(a), set_unit_gradient(b);
  adam.step();
  // b's first Adam step moves it by its group's lr
  CHECK(b.to_vector<double>()[0] == Approx(1.0 - 0.01 / (1.0 + 1e-8)).epsilon(1e-12));
  CHECK(adam.state().at("group.1.params").to_vector<int64_t>() == std::vector<int64_t>{1});

  // a refused group changes nothing
  CHECK_THROWS_WITH(adam.add_param_group({.params = {a}}), Contains("overlap"));
  CHECK_THROWS_WITH(adam.add_param_group({.params = {parameter({3.0})}, .options = {{"eps", -1.0}}}), Contains("eps"));
  CHECK(adam.param_groups().size() == 2);
  CHECK(adam.parameters().size() == 2);
  set_unit_gradient(a), set_unit_gradient(b);
  CHECK_NOTHROW(adam.step());
}

TEST_CASE("optim groups: step(closure) evaluates the loss with gradients on", "[optim][groups]") {
  Tensor p = parameter({3.0});
  nn::SGD sgd({p}, 0.25);
  int calls = 0;
  NoGradGuard no_grad;  // the closure runs with recording on all the same, as PyTorch's
  const Tensor loss = sgd.step([&] {
    ++calls;
    sgd.zero_grad();
    Tensor value = sum(p * p);
    value.backward();
    return value;
  });
  CHECK(calls == 1);
  CHECK(loss.item() == 9.0);
  CHECK(p.item() == Approx(3.0 - 0.25 * 6.0));
}

// ---------------------------------------------------------------------------------------------
// state, save and load with groups

namespace {

std::vector<Tensor> model_parameters() {
  return {parameter({0.5, -1.0, 2.0}), from_vector(std::vector<double>{1.0, 2.0, 3.0, 4.0}, {2, 2}).requires_grad_(),
          parameter({0.1})};
}

std::vector<Tensor> copies(const std::vector<Tensor>& parameters) {
  std::vector<Tensor> out;
  for (const Tensor& p : parameters) out.push_back(p.clone().detach().requires_grad_());
  return out;
}

void steps(nn::Optimizer& optimizer, int count) {
  for (int i = 0; i < count; ++i) {
    for (const Tensor& p : optimizer.parameters()) p.set_grad(Tensor(mul(p.detach(), 2.0) + 0.3));
    optimizer.step();
  }
}

std::vector<nn::ParamGroup> two_groups(const std::vector<Tensor>& p) {
  return {{.params = {p[0], p[1]}, .options = {{"lr", 0.05}}}, {.params = {p[2]}, .options = {{"beta1", 0.5}}}};
}

std::vector<nn::ParamGroup> two_groups_rmsprop(const std::vector<Tensor>& p) {
  return {{.params = {p[0], p[1]}, .options = {{"lr", 0.05}}}, {.params = {p[2]}, .options = {{"alpha", 0.9}}}};
}

}  // namespace

TEST_CASE("optim groups: state round trip keeps every group's options", "[optim][groups]") {
  std::vector<Tensor> original = model_parameters();
  nn::Adam running(two_groups(original), nn::AdamOptions{.lr = 0.01, .amsgrad = true});
  steps(running, 3);
  running.param_groups()[1].set_lr(0.002);  // as a schedule would
  running.param_groups()[0].initial_lr = 0.05;

  std::vector<Tensor> restored_parameters = copies(original);
  nn::Adam restored(two_groups(restored_parameters), nn::AdamOptions{.lr = 123.0});
  restored.load_state(running.state());
  CHECK(restored.param_groups()[1].lr() == 0.002);
  CHECK(restored.param_groups()[0].lr() == 0.05);
  CHECK(restored.param_groups()[1].option("beta1") == 0.5);
  CHECK(restored.param_groups()[0].option("amsgrad") == 1.0);  // the saved options, not the constructor's
  CHECK(restored.param_groups()[0].initial_lr == 0.05);
  CHECK_FALSE(restored.param_groups()[1].initial_lr.has_value());

  steps(running, 4);
  steps(restored, 4);
  for (size_t i = 0; i < original.size(); ++i) CHECK(original[i].to_vector<double>() == restored_parameters[i].to_vector<double>());
}

TEST_CASE("optim groups: load_state refuses other groups, naming the difference", "[optim][groups]") {
  std::vector<Tensor> p = model_parameters();
  nn::Adam adam(two_groups(p), nn::AdamOptions{});
  steps(adam, 1);
  const auto before = adam.state();

  nn::Adam one_group(copies(p), nn::AdamOptions{});
  CHECK_THROWS_WITH(one_group.load_state(before), Contains("2 parameter groups") && Contains("has 1"));

  std::vector<Tensor> q = copies(p);
  nn::Adam other_split({{.params = {q[0]}}, {.params = {q[1], q[2]}}}, nn::AdamOptions{});
  CHECK_THROWS_WITH(other_split.load_state(before),
                    Contains("group 0 holds parameters [0, 1] in the state but [0] here"));

  // refused: nothing changed
  CHECK(other_split.param_groups()[0].lr() == 1e-3);
  CHECK(other_split.state().count("0.exp_avg") == 0);
}

TEST_CASE("optim groups: nn::save and nn::load of an optimiser with groups", "[optim][groups][serialize]") {
  const std::string path = "optim_groups_test.nbl";
  std::vector<Tensor> original = model_parameters();
  nn::RMSprop running(two_groups_rmsprop(original), {.lr = 0.01, .momentum = 0.5});
  steps(running, 2);
  nn::save(running, path);

  std::vector<Tensor> restored_parameters = copies(original);
  nn::RMSprop restored(two_groups_rmsprop(restored_parameters), {.lr = 0.01});
  nn::load(restored, path);
  CHECK(restored.param_groups()[0].option("momentum") == 0.5);
  CHECK(restored.param_groups()[1].option("alpha") == 0.9);
  steps(running, 2);
  steps(restored, 2);
  for (size_t i = 0; i < original.size(); ++i) CHECK(original[i].to_vector<double>() == restored_parameters[i].to_vector<double>());

  nn::RMSprop single(copies(original), {.lr = 0.01});
  CHECK_THROWS_WITH(nn::load(single, path), Contains(path) && Contains("2 parameter groups"));
  std::remove(path.c_str());
}

TEST_CASE("optim groups: a state saved before groups existed still loads", "[optim][groups][serialize]") {
  // The old layout: type, lr, step, parameters, <i>.shape, <i>.<buffer>.
  Tensor p = parameter({1.0, 2.0});
  std::map<std::string, Tensor> legacy;
  legacy["type"] = from_vector(std::vector<uint8_t>{'S', 'G', 'D'});
  legacy["lr"] = scalar_tensor(0.125, float64);
  Tensor step = zeros({}, int64);
  step.data_ptr<int64_t>()[0] = 4;
  legacy["step"] = step;
  Tensor count = zeros({}, int64);
  count.data_ptr<int64_t>()[0] = 1;
  legacy["parameters"] = count;
  legacy["0.shape"] = from_vector(std::vector<int64_t>{2}, {1});
  legacy["0.momentum_buffer"] = from_vector(std::vector<double>{0.5, -0.5});
  legacy["0.step"] = step;
  nn::SGD sgd({p}, {.lr = 1.0, .momentum = 0.9});
  sgd.load_state(legacy);
  CHECK(sgd.lr() == 0.125);
  CHECK(sgd.param_groups()[0].option("momentum") == 0.9);  // not in the old state: kept
  CHECK(sgd.state().at("0.momentum_buffer").to_vector<double>() == std::vector<double>{0.5, -0.5});
}
