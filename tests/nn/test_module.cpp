// Module and Sequential: registration by name, dotted names in registration order, buffers,
// children, train/eval propagation, zero_grad, refused names, summary(), a user-defined module
// with its own forward, and Sequential's construction, indexing and error messages.
#include <catch2/catch.hpp>

#include <memory>
#include <sstream>
#include <string>
#include <type_traits>
#include <vector>

#include "nabla/nn.hpp"
#include "nn_test_support.hpp"

using namespace nabla;
using Catch::Contains;

namespace {

using ModuleList = std::vector<std::shared_ptr<nn::Module>>;

// A small user model: a parameter and a buffer of its own, a Sequential feature extractor
// (conv, batch norm, relu, pool) and a linear classifier. Parameters: scale 1, conv 4*1*3*3 + 4,
// batch norm 4 + 4, classifier 16*3 + 3: 100 in all.
struct TinyNet : nn::Module {
  Tensor scale;
  Tensor steps;
  std::shared_ptr<nn::Sequential> features;
  std::shared_ptr<nn::Linear> classifier;

  TinyNet() {
    scale = register_parameter("scale", ones({1}));
    steps = register_buffer("steps", zeros({}, int64));
    features = register_module("features", std::make_shared<nn::Sequential>(ModuleList{
                                                std::make_shared<nn::Conv2d>(1, 4, 3),
                                                std::make_shared<nn::BatchNorm2d>(4),
                                                std::make_shared<nn::ReLU>(),
                                                std::make_shared<nn::MaxPool2d>(2),
                                            }));
    classifier = register_module("classifier", std::make_shared<nn::Linear>(16, 3));
  }

  // [N, 1, 6, 6] -> [N, 3]
  Tensor forward(const Tensor& x) override {
    steps.add_(1.0);
    return (*classifier)(flatten((*features)(x), 1)) * scale;
  }
  std::string type_name() const override { return "TinyNet"; }
};

std::vector<std::string> names_of(const auto& named) {
  std::vector<std::string> names;
  for (const auto& [name, value] : named) names.push_back(name);
  return names;
}

// The summary line whose name column is `name` (leading indentation ignored).
std::string summary_line(const std::string& summary, const std::string& name) {
  std::istringstream lines(summary);
  std::string line;
  while (std::getline(lines, line)) {
    const size_t start = line.find_first_not_of(' ');
    if (start != std::string::npos && line.compare(start, name.size() + 1, name + " ") == 0) return line;
  }
  FAIL("summary has no line for '" << name << "':\n" << summary);
  return {};
}

}  // namespace

TEST_CASE("module: modules are shared by pointer, never copied", "[module]") {
  STATIC_REQUIRE_FALSE(std::is_copy_constructible_v<nn::Module>);
  STATIC_REQUIRE_FALSE(std::is_copy_assignable_v<nn::Linear>);
}

TEST_CASE("module: named_parameters uses dotted names in registration order", "[module]") {
  TinyNet net;
  CHECK(names_of(net.named_parameters()) == std::vector<std::string>{"scale", "features.0.weight", "features.0.bias",
                                                                     "features.1.weight", "features.1.bias",
                                                                     "classifier.weight", "classifier.bias"});
  CHECK(names_of(net.named_parameters(false)) == std::vector<std::string>{"scale"});
  CHECK(names_of(net.features->named_parameters()) ==
        std::vector<std::string>{"0.weight", "0.bias", "1.weight", "1.bias"});

  // parameters() is the same list, and each entry is the registered variable itself.
  const std::vector<Tensor> parameters = net.parameters();
  REQUIRE(parameters.size() == 7);
  CHECK(parameters[0].is_same(net.scale));
  CHECK(parameters[5].is_same(net.classifier->weight));
  CHECK(parameters[6].is_same(net.classifier->bias));
  for (const Tensor& parameter : parameters) CHECK(parameter.requires_grad());
  CHECK(net.parameter_count() == 100);
  CHECK(net.classifier->parameter_count() == 51);
}

TEST_CASE("module: register_parameter and register_buffer return handles to what they store", "[module]") {
  nn::Module module;
  const Tensor weight = module.register_parameter("weight", ones({3, 2}).t());  // non-contiguous source
  const Tensor frozen = module.register_parameter("frozen", zeros({2}), false);
  const Tensor counter = module.register_buffer("counter", zeros({2}));

  CHECK(weight.shape() == Shape{2, 3});
  CHECK(weight.is_contiguous());
  CHECK(weight.requires_grad());
  CHECK_FALSE(frozen.requires_grad());
  REQUIRE(module.named_parameters().size() == 2);
  CHECK(module.named_parameters()[1].second.is_same(frozen));

  // Writes through the returned handles are seen by the module, and the other way round.
  counter.fill_(5.0);
  CHECK(module.buffers()[0].to_vector<double>() == std::vector<double>{5.0, 5.0});
  module.parameters()[0].data().fill_(2.0);  // .data(): a write autograd does not see
  CHECK(weight.at({1, 2}) == 2.0);
}

TEST_CASE("module: buffers and children", "[module]") {
  TinyNet net;
  CHECK(names_of(net.named_buffers()) == std::vector<std::string>{"steps", "features.1.running_mean",
                                                                  "features.1.running_var",
                                                                  "features.1.num_batches_tracked"});
  CHECK(names_of(net.named_buffers(false)) == std::vector<std::string>{"steps"});
  const std::vector<Tensor> buffers = net.buffers();
  REQUIRE(buffers.size() == 4);
  CHECK(buffers[0].raw().shares_storage(net.steps.raw()));
  CHECK(buffers[1].shape() == Shape{4});
  CHECK(buffers[3].dtype() == int64);

  // children() lists direct children only, in order.
  const auto children = net.children();
  REQUIRE(children.size() == 2);
  CHECK(children[0] == net.features);
  CHECK(children[1] == net.classifier);
  CHECK(names_of(net.named_children()) == std::vector<std::string>{"features", "classifier"});
  CHECK(net.features->children().size() == 4);
  CHECK(net.classifier->children().empty());
}

TEST_CASE("module: train() and eval() propagate to every descendant", "[module]") {
  TinyNet net;
  auto batch_norm = std::dynamic_pointer_cast<nn::BatchNorm2d>((*net.features)[1]);
  REQUIRE(batch_norm);
  CHECK(net.is_training());
  CHECK(batch_norm->is_training());

  net.eval();
  CHECK_FALSE(net.is_training());
  CHECK_FALSE(net.features->is_training());
  CHECK_FALSE(net.classifier->is_training());
  CHECK_FALSE(batch_norm->is_training());

  // In eval mode batch norm reads its running statistics and leaves them alone.
  Generator generator(3);
  net(randn({2, 1, 6, 6}, float32, generator));
  CHECK(batch_norm->num_batches_tracked.item<int64_t>() == 0);

  net.train();
  CHECK(batch_norm->is_training());
  net(randn({2, 1, 6, 6}, float32, generator));
  CHECK(batch_norm->num_batches_tracked.item<int64_t>() == 1);

  // A child registered under a module in eval mode joins it in eval mode.
  net.eval();
  auto extra = net.register_module("extra", std::make_shared<nn::Dropout>(0.5));
  CHECK_FALSE(extra->is_training());
  nn::Sequential sequential;
  sequential.eval();
  sequential.push_back(std::make_shared<nn::ReLU>());
  CHECK_FALSE(sequential[0]->is_training());
}

TEST_CASE("module: zero_grad clears every parameter's gradient", "[module]") {
  TinyNet net;
  Generator generator(5);
  sum(net(randn({2, 1, 6, 6}, float32, generator))).backward();
  for (const auto& [name, parameter] : net.named_parameters()) {
    INFO(name);
    CHECK(parameter.grad().defined());
  }
  net.zero_grad();
  for (const auto& [name, parameter] : net.named_parameters()) {
    INFO(name);
    CHECK_FALSE(parameter.grad().defined());
  }
}

TEST_CASE("module: duplicate, dotted, empty and null registrations are refused", "[module]") {
  TinyNet net;
  CHECK_THROWS_WITH(net.register_parameter("scale", ones({1})), Contains("'scale'") && Contains("already"));
  CHECK_THROWS_WITH(net.register_buffer("scale", ones({1})), Contains("register_buffer") && Contains("'scale'"));
  CHECK_THROWS_WITH(net.register_parameter("steps", ones({1})), Contains("'steps'") && Contains("already"));
  CHECK_THROWS_WITH(net.register_module("features", std::make_shared<nn::ReLU>()),
                    Contains("register_module") && Contains("'features'") && Contains("already"));
  CHECK_THROWS_WITH(net.register_parameter("classifier", ones({1})), Contains("'classifier'"));

  CHECK_THROWS_WITH(net.register_parameter("head.weight", ones({1})), Contains("'head.weight'") && Contains("'.'"));
  CHECK_THROWS_WITH(net.register_buffer("a.b", ones({1})), Contains("'a.b'"));
  CHECK_THROWS_WITH(net.register_module("x.y", std::make_shared<nn::ReLU>()), Contains("'x.y'"));
  CHECK_THROWS_WITH(net.register_parameter("", ones({1})), Contains("non-empty"));
  CHECK_THROWS_WITH(net.register_module("nothing", std::shared_ptr<nn::ReLU>()), Contains("'nothing'") && Contains("null"));
  CHECK_THROWS_WITH(net.register_parameter("undefined", Tensor()), Contains("'undefined'"));

  // Refusals change nothing.
  CHECK(net.named_parameters().size() == 7);
  CHECK(net.named_buffers().size() == 4);
  CHECK(net.children().size() == 2);
}

TEST_CASE("module: a user subclass runs its own forward through operator()", "[module]") {
  TinyNet net;
  Generator generator(11);
  const Tensor out = net(randn({2, 1, 6, 6}, float32, generator));
  CHECK(out.shape() == Shape{2, 3});
  CHECK(net.last_output_shape() == to_string(Shape{2, 3}));
  CHECK(net.steps.item<int64_t>() == 1);
  CHECK(out.requires_grad());

  // The base Module has no single-input forward of its own, and says so.
  nn::Module plain;
  CHECK_THROWS_WITH(plain(ones({2})), Contains("Module") && Contains("forward"));
}

TEST_CASE("module: summary lists layers, output shapes after a forward, and parameter counts", "[module]") {
  TinyNet net;
  const std::string before = net.summary();
  INFO(before);
  CHECK(Catch::contains(before, "total parameters: 100 (100 trainable)"));
  CHECK(Catch::contains(summary_line(before, "features.0"), "Conv2d(1, 4, kernel_size=3)"));
  CHECK(Catch::contains(summary_line(before, "features.0"), " - "));  // not run yet

  Generator generator(2);
  net(randn({2, 1, 6, 6}, float32, generator));
  const std::string after = net.summary();
  INFO(after);
  const std::string root = summary_line(after, "(root)");
  CHECK(Catch::contains(root, "TinyNet"));
  CHECK(Catch::contains(root, "[2, 3]"));
  CHECK(Catch::endsWith(root, " 1"));  // the root's own parameter: scale

  const std::string conv = summary_line(after, "features.0");
  CHECK(Catch::contains(conv, "[2, 4, 4, 4]"));
  CHECK(Catch::endsWith(conv, " 40"));
  const std::string batch_norm = summary_line(after, "features.1");
  CHECK(Catch::contains(batch_norm, "BatchNorm2d(4"));
  CHECK(Catch::endsWith(batch_norm, " 8"));
  CHECK(Catch::contains(summary_line(after, "features.2"), "ReLU"));
  const std::string pool = summary_line(after, "features.3");
  CHECK(Catch::contains(pool, "MaxPool2d(kernel_size=2, stride=2"));
  CHECK(Catch::contains(pool, "[2, 4, 2, 2]"));
  const std::string classifier = summary_line(after, "classifier");
  CHECK(Catch::contains(classifier, "Linear(in_features=16, out_features=3, bias=true)"));
  CHECK(Catch::contains(classifier, "[2, 3]"));
  CHECK(Catch::endsWith(classifier, " 51"));
  CHECK(Catch::contains(summary_line(after, "features"), "Sequential"));

  // Frozen parameters count in the total but not as trainable.
  net.register_parameter("frozen", zeros({5}), false);
  CHECK(Catch::contains(net.summary(), "total parameters: 105 (100 trainable)"));
}

TEST_CASE("module: Sequential from a list, a vector and push_back, and indexing", "[module][sequential]") {
  auto first = std::make_shared<nn::Linear>(4, 8);
  auto activation = std::make_shared<nn::Tanh>();
  auto last = std::make_shared<nn::Linear>(8, 2);

  nn::Sequential from_list{first, activation, last};
  nn::Sequential from_vector(ModuleList{first, activation, last});
  nn::Sequential built;
  built.push_back(first).push_back(activation);
  built.push_back("head", last);

  for (nn::Sequential* sequential : {&from_list, &from_vector, &built}) {
    REQUIRE(sequential->size() == 3);
    CHECK((*sequential)[0] == first);
    CHECK((*sequential)[1] == activation);
    CHECK((*sequential)[2] == last);
    CHECK_THROWS_WITH((*sequential)[3], Contains("index 3") && Contains("3 modules"));
  }
  CHECK(names_of(from_list.named_parameters()) == std::vector<std::string>{"0.weight", "0.bias", "2.weight", "2.bias"});
  CHECK(names_of(built.named_parameters()) ==
        std::vector<std::string>{"0.weight", "0.bias", "head.weight", "head.bias"});

  // Each output feeds the next.
  Generator generator(8);
  const Tensor x = randn({3, 4}, float32, generator);
  const Tensor expected = (*last)(tanh((*first)(x)));
  CHECK(nn_test::max_abs_difference(from_list(x), expected) == 0.0);
  CHECK(nn_test::max_abs_difference(built(x), expected) == 0.0);

  // An empty Sequential passes its input through.
  nn::Sequential empty;
  CHECK(nn_test::max_abs_difference(empty(x), x) == 0.0);
}

TEST_CASE("module: a shape mismatch inside Sequential names the layer, its type and the shapes", "[module][sequential]") {
  nn::Sequential model{std::make_shared<nn::Linear>(4, 8), std::make_shared<nn::ReLU>(),
                       std::make_shared<nn::Linear>(6, 2)};
  CHECK_THROWS_WITH(model(zeros({3, 4})), Contains("layer 2") && Contains("Linear") && Contains("[3, 8]") &&
                                              Contains("[2, 6]") && Contains("in_features"));

  nn::Sequential convolutional{std::make_shared<nn::Conv2d>(3, 4, 3)};
  CHECK_THROWS_WITH(convolutional(zeros({1, 1, 5, 5})),
                    Contains("layer 0 (Conv2d)") && Contains("[1, 1, 5, 5]") && Contains("[4, 3, 3, 3]"));

  // Nested: the innermost Sequential's report reaches the caller unchanged.
  auto inner = std::make_shared<nn::Sequential>(ModuleList{std::make_shared<nn::Linear>(4, 4),
                                                           std::make_shared<nn::Linear>(5, 2)});
  nn::Sequential outer{std::make_shared<nn::ReLU>(), inner};
  CHECK_THROWS_WITH(outer(zeros({2, 4})), Contains("layer 1 (Linear)") && Contains("[2, 4]") && Contains("[2, 5]"));
}

TEST_CASE("module: a user module nests inside Sequential with prefixed names", "[module][sequential]") {
  nn::Sequential model;
  model.push_back(std::make_shared<TinyNet>());
  model.push_back(std::make_shared<nn::Softmax>(1));
  const auto names = names_of(model.named_parameters());
  REQUIRE(names.size() == 7);
  CHECK(names[0] == "0.scale");
  CHECK(names[1] == "0.features.0.weight");
  CHECK(names[6] == "0.classifier.bias");
  CHECK(names_of(model.named_buffers())[1] == "0.features.1.running_mean");

  Generator generator(4);
  const Tensor probabilities = model(randn({2, 1, 6, 6}, float32, generator));
  CHECK(probabilities.shape() == Shape{2, 3});
  for (int64_t row = 0; row < 2; ++row) {
    CHECK(probabilities.at({row, 0}) + probabilities.at({row, 1}) + probabilities.at({row, 2}) ==
          Approx(1.0).epsilon(1e-6));
  }
}

namespace {
// y = model(x) ran Sequential's fused groups: running the same layers one by one gives the same
// values and, for a random upstream gradient, the same input and parameter gradients, bit for bit.
void check_same_as_layers_one_by_one(nn::Sequential& model, const Tensor& x, const Tensor& y) {
  const Tensor g = randn(y.shape());
  x.zero_grad();
  model.zero_grad();
  sum(y * g).backward();
  const Tensor fused_input_grad = x.grad().clone();
  std::vector<Tensor> fused_parameter_grads;
  for (const Tensor& p : model.parameters()) fused_parameter_grads.push_back(p.grad().clone());

  x.zero_grad();
  model.zero_grad();
  Tensor unfused = x;
  for (const auto& layer : model.children()) unfused = (*layer)(unfused);
  CHECK(equal(unfused, y));
  sum(unfused * g).backward();
  CHECK(equal(x.grad(), fused_input_grad));
  const std::vector<Tensor> parameters = model.parameters();
  for (size_t i = 0; i < parameters.size(); ++i) CHECK(equal(parameters[i].grad(), fused_parameter_grads[i]));
}
}  // namespace

TEST_CASE("module: Sequential runs Conv2d + ReLU as one op with the pair's values and gradients", "[module][sequential]") {
  manual_seed(41);
  // 8 channels in and out: the second convolution takes the Winograd path, the first im2col.
  nn::Sequential model{std::make_shared<nn::Conv2d>(3, 8, 3), std::make_shared<nn::ReLU>(),
                       std::make_shared<nn::Conv2d>(nn::Conv2dOptions{.in_channels = 8, .out_channels = 8,
                                                                      .kernel_size = 3, .padding = 1}),
                       std::make_shared<nn::ReLU>(), std::make_shared<nn::Flatten>()};
  const Tensor x = randn({2, 3, 9, 9}).requires_grad_();
  const Tensor y = model(x);
  CHECK(model.summary().find("[2, 8, 7, 7]") != std::string::npos);  // both layers of a pair show their output
  check_same_as_layers_one_by_one(model, x, y);

  // A hook on either layer sees the pair apart: the convolution's own output, negatives included.
  Tensor seen;
  auto handle = model[0]->register_forward_hook(
      [&](nn::Module&, const std::vector<Tensor>&, const std::vector<Tensor>& out) { seen = out[0]; });
  CHECK(equal(model(x), y));
  REQUIRE(seen.defined());
  CHECK(amin(seen).item() < 0.0);
  handle.remove();

  // What the tape records: the fused op for a pair, the two ops when a hook is on either layer.
  nn::Sequential pair{std::make_shared<nn::Conv2d>(3, 4, 3), std::make_shared<nn::ReLU>()};
  CHECK(std::string(pair(x).grad_fn()->name()) == "conv2d_relu");
  auto relu_hook = pair[1]->register_forward_pre_hook([](nn::Module&, const std::vector<Tensor>&) {});
  CHECK(std::string(pair(x).grad_fn()->name()) == "relu");
  relu_hook.remove();
}

TEST_CASE("module: Sequential runs Conv2d + ReLU + MaxPool2d(2) as one op with the three's values and gradients",
          "[module][sequential]") {
  manual_seed(43);
  // The second convolution (8 channels in and out, 3x3) pools inside Winograd's output transform;
  // the first (3 channels in) runs its kernels in turn. Odd sizes: 11x11 -> 9x9 -> pooled 4x4.
  nn::Sequential model{std::make_shared<nn::Conv2d>(3, 8, 3), std::make_shared<nn::ReLU>(),
                       std::make_shared<nn::MaxPool2d>(2),
                       std::make_shared<nn::Conv2d>(nn::Conv2dOptions{.in_channels = 8, .out_channels = 8,
                                                                      .kernel_size = 3, .padding = 1}),
                       std::make_shared<nn::ReLU>(), std::make_shared<nn::MaxPool2d>(2), std::make_shared<nn::Flatten>()};
  const Tensor x = randn({2, 3, 11, 11}).requires_grad_();
  const Tensor y = model(x);
  CHECK(y.shape() == Shape{2, 8 * 2 * 2});
  const std::string summary = model.summary();  // (before the layers run one by one below)
  CHECK(summary.find("[2, 8, 9, 9]") != std::string::npos);  // the convolution's and relu's own output
  CHECK(summary.find("[2, 8, 4, 4]") != std::string::npos);  // the first pooling's
  check_same_as_layers_one_by_one(model, x, y);

  // Recorded as one op; a pooling other than 2x2 stride 2 leaves the pair fused and the pool apart.
  nn::Sequential triple{std::make_shared<nn::Conv2d>(3, 4, 3), std::make_shared<nn::ReLU>(),
                        std::make_shared<nn::MaxPool2d>(2)};
  CHECK(std::string(triple(x).grad_fn()->name()) == "conv2d_relu_max_pool2d");
  nn::Sequential overlapping{std::make_shared<nn::Conv2d>(3, 4, 3), std::make_shared<nn::ReLU>(),
                             std::make_shared<nn::MaxPool2d>(nn::Pool2dOptions{.kernel_size = 2, .stride = 1})};
  CHECK(std::string(overlapping(x).grad_fn()->name()) == "max_pool2d");
}
