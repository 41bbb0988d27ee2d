// Modules of any signature and the containers: a model with two inputs and two outputs is called
// like any module, trains, saves and reloads; ModuleList, ModuleDict, Identity, modules(),
// named_modules(), apply(), to(dtype), nn::make / nn::Shared and Sequential from a braced list.
#include <catch2/catch.hpp>

#include <filesystem>
#include <string>
#include <tuple>
#include <vector>

#include "nabla/nn.hpp"
#include "nn_test_support.hpp"

using namespace nabla;
using Catch::Contains;

namespace {

// Two inputs (an image-like vector and a side feature), two outputs (class scores and a
// regression value), with layers held by nn::Shared and registered in member initialisers.
struct TwoHeads : nn::Module {
  nn::Shared<nn::Linear> trunk = register_module("trunk", nn::Linear(6, 8));
  nn::Shared<nn::Linear> side = register_module("side", nn::Linear(1, 8, false));
  nn::Shared<nn::Linear> classify = register_module("classify", nn::Linear(8, 3));
  nn::Shared<nn::Linear> regress = register_module("regress", nn::Linear(8, 1));

  std::tuple<Tensor, Tensor> forward(const Tensor& x, const Tensor& extra) {
    const Tensor hidden = tanh(trunk(x) + side(extra));
    return {classify(hidden), regress(hidden).squeeze(1)};
  }
};

std::filesystem::path temp_file(const std::string& name) {
  return std::filesystem::temp_directory_path() / ("nabla_module_api_" + name);
}

}  // namespace

TEST_CASE("module api: a model with two inputs and two outputs trains, saves and reloads", "[module]") {
  manual_seed(3);
  auto model = nn::make<TwoHeads>();
  Generator generator(4);
  const Tensor x = randn({32, 6}, float32, generator);
  const Tensor extra = randn({32, 1}, float32, generator);
  const Tensor labels = x.narrow(1, 0, 3).argmax(1);          // the class is where the first 3 peak
  const Tensor values = x.sum({1}) + extra.squeeze(1) * 2.0;  // the regression target
  nn::Adam optimizer(model->parameters(), 0.05);
  double first_loss = 0.0, last_loss = 0.0;
  for (int step = 0; step < 150; ++step) {
    optimizer.zero_grad();
    auto [scores, estimate] = model(x, extra);  // called like any module
    const Tensor loss = nn::functional::cross_entropy(scores, labels) + nn::functional::mse_loss(estimate, values);
    loss.backward();
    optimizer.step();
    if (step == 0) first_loss = loss.item();
    last_loss = loss.item();
  }
  CHECK(last_loss < 0.1 * first_loss);
  CHECK(model->last_output_shape() == "[32, 3], [32]");
  CHECK(Catch::contains(model->summary(), "TwoHeads"));

  const auto path = temp_file("two_heads.nbl");
  nn::save(*model, path.string());
  auto reloaded = nn::make<TwoHeads>();
  nn::load(*reloaded, path.string());
  std::filesystem::remove(path);
  NoGradGuard no_grad;
  auto [scores_a, estimate_a] = model(x, extra);
  auto [scores_b, estimate_b] = reloaded->forward(x, extra);
  CHECK(equal(scores_a, scores_b));
  CHECK(equal(estimate_a, estimate_b));
}

TEST_CASE("module api: Sequential from a braced list of layers, values and pointers mixed", "[module][sequential]") {
  auto shared_relu = std::make_shared<nn::ReLU>();
  nn::Sequential model{nn::Linear(4, 8), shared_relu, nn::Linear(8, 2)};
  REQUIRE(model.size() == 3);
  CHECK(model[1] == shared_relu);
  CHECK(model(ones({5, 4})).shape() == Shape{5, 2});
  auto made = nn::make<nn::Sequential>(nn::Linear(3, 3), nn::Tanh(), nn::Identity());
  CHECK(made(ones({2, 3})).shape() == Shape{2, 3});
  CHECK(made->named_parameters()[0].first == "0.weight");
  made->push_back(nn::Linear(3, 1));
  CHECK(made(ones({2, 3})).shape() == Shape{2, 1});
}

TEST_CASE("module api: ModuleList holds blocks a forward loops over", "[module]") {
  struct Stack : nn::Module {
    nn::Shared<nn::ModuleList> blocks = register_module("blocks", nn::ModuleList(nn::Linear(4, 4), nn::Linear(4, 4)));
    Tensor forward(const Tensor& x) override {
      Tensor h = x;
      for (const auto& block : *blocks) h = relu((*block)(h)) + h;
      return h;
    }
  };
  auto net = nn::make<Stack>();
  net->blocks->push_back(nn::Linear(4, 4));
  REQUIRE(net->blocks->size() == 3);
  CHECK(net->named_parameters()[4].first == "blocks.2.weight");
  CHECK(net(ones({2, 4})).shape() == Shape{2, 4});
  CHECK(net->blocks->at<nn::Linear>(1)->weight.shape() == Shape{4, 4});
  CHECK_THROWS_WITH(net->blocks->at<nn::Conv2d>(0), Contains("ModuleList::at(0)") && Contains("Linear"));
  CHECK_THROWS_WITH((*net->blocks)[3], Contains("index 3") && Contains("3 modules"));
  CHECK_THROWS_WITH((*net->blocks)(ones({1})), Contains("ModuleList"));
}

TEST_CASE("module api: ModuleDict looks modules up by name, in insertion order", "[module]") {
  nn::ModuleDict heads;
  heads.insert("digits", nn::Linear(8, 10)).insert("parity", nn::Linear(8, 2));
  CHECK(heads.keys() == std::vector<std::string>{"digits", "parity"});
  CHECK(heads.contains("parity"));
  CHECK_FALSE(heads.contains("colour"));
  CHECK(heads.at<nn::Linear>("parity")(ones({3, 8})).shape() == Shape{3, 2});
  CHECK(heads.named_parameters()[2].first == "parity.weight");
  CHECK_THROWS_WITH(heads["colour"], Contains("colour") && Contains("digits, parity"));
  CHECK_THROWS_WITH(heads.insert("digits", nn::ReLU()), Contains("'digits'"));
}

TEST_CASE("module api: modules(), named_modules() and apply() walk the whole tree", "[module]") {
  nn::Sequential model{nn::Linear(2, 3), nn::Sequential(nn::ReLU(), nn::Linear(3, 1))};
  std::vector<std::string> names;
  for (const auto& [name, module] : model.named_modules()) names.push_back(name + ":" + module->type_name());
  CHECK(names == std::vector<std::string>{":Sequential", "0:Linear", "1:Sequential", "1.0:ReLU", "1.1:Linear"});
  CHECK(model.modules().size() == 5);
  // apply: children first, then the module itself (PyTorch's order); a custom initialisation.
  std::vector<std::string> order;
  model.apply([&](nn::Module& module) {
    order.push_back(module.type_name());
    if (auto* linear = dynamic_cast<nn::Linear*>(&module)) nn::init::constant_(linear->weight, 0.5);
  });
  CHECK(order == std::vector<std::string>{"Linear", "ReLU", "Linear", "Sequential", "Sequential"});
  for (const Tensor& parameter : model.parameters()) {
    if (parameter.dim() == 2) CHECK(parameter.to_vector<double>() == std::vector<double>(parameter.numel(), 0.5));
  }
}

TEST_CASE("module api: to(dtype) converts parameters and float buffers for every handle", "[module]") {
  nn::Sequential model{nn::Linear(3, 2), nn::BatchNorm1d(2)};
  auto linear = std::dynamic_pointer_cast<nn::Linear>(model[0]);
  nn::SGD optimizer(model.parameters(), 0.1);  // built before the conversion: it sees it
  model.to(float64);
  CHECK(linear->weight.dtype() == float64);
  auto norm = std::dynamic_pointer_cast<nn::BatchNorm1d>(model[1]);
  CHECK(norm->running_mean.dtype() == float64);
  CHECK(norm->num_batches_tracked.dtype() == int64);  // integer buffers keep their dtype
  const Tensor loss = model(ones({4, 3}, float64)).sum();
  loss.backward();
  optimizer.step();
  CHECK(optimizer.parameters()[0].dtype() == float64);
  CHECK_THROWS_WITH(model.to(int64), Contains("float"));
}

TEST_CASE("module api: Identity passes its input through, and the default type_name is the class name", "[module]") {
  nn::Identity identity;
  const Tensor x = randn({2, 3});
  CHECK(identity(x).is_same(x));
  struct MyBlock : nn::Module {};
  CHECK(MyBlock().type_name() == "MyBlock");
  CHECK(nn::Linear(2, 2).type_name() == "Linear");
}

TEST_CASE("module api: a parameter is the registered tensor itself", "[module]") {
  struct Scaled : nn::Module {
    Tensor scale = ones({3});
    Scaled() { register_parameter("scale", scale); }
    Tensor forward(const Tensor& x) override { return x * scale; }
  };
  Scaled module;
  CHECK(module.scale.requires_grad());
  module(ones({2, 3})).sum().backward();
  CHECK(module.parameters()[0].grad().to_vector<double>() == std::vector<double>{2, 2, 2});
  nn::Module other;
  CHECK_THROWS_WITH(other.register_parameter("bad", ones({2}).requires_grad_() * 2.0), Contains("leaf"));
}

TEST_CASE("module api: calling an empty handle is a clear error", "[module]") {
  nn::Shared<nn::Linear> missing;
  CHECK_THROWS_WITH(missing(ones({1, 1})), Contains("holds no module"));
}
