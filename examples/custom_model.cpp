// custom_model: the template to copy when you define your own model.
//
// A model is a plain C++ class deriving from nn::Module: register its layers (and any raw
// parameters) by name in the constructor, and write forward() with ordinary function calls.
// Backpropagation comes from the tape; nothing here computes a gradient by hand. It also uses an
// op defined outside the library (softplus, see custom_op.cpp), trained briefly on MNIST.
//
//   build/bin/custom_model --epochs 1 --limit 20000
#include <classifier.hpp>

using namespace nabla;
namespace ex = nabla::examples;
namespace F = nabla::nn::functional;

// A user-defined differentiable op: softplus(x) = log(1 + exp(x)), derivative sigmoid(x).
Tensor softplus(const Tensor& x) {
  const kernels::Tensor& v = x.raw();
  kernels::Tensor out = kernels::add(kernels::relu(v), kernels::log(kernels::add(kernels::exp(kernels::neg(kernels::abs(v))), 1.0)));
  return record("softplus", {x}, std::move(out),
                [saved = save(x)](const Tensor& grad) { return Gradients{grad * sigmoid(saved.get())}; });
}

// A small residual network: conv stem, one residual block, a learned per-channel scale, and a
// linear classifier.
class ResidualNet : public nn::Module {
 public:
  ResidualNet() {
    stem = register_module("stem", std::make_shared<nn::Conv2d>(nn::Conv2dOptions{
                                       .in_channels = 1, .out_channels = 16, .kernel_size = 3, .stride = 2, .padding = 1}));
    block_a = register_module("block_a", std::make_shared<nn::Conv2d>(nn::Conv2dOptions{
                                             .in_channels = 16, .out_channels = 16, .kernel_size = 3, .padding = 1}));
    block_b = register_module("block_b", std::make_shared<nn::Conv2d>(nn::Conv2dOptions{
                                             .in_channels = 16, .out_channels = 16, .kernel_size = 3, .padding = 1}));
    norm = register_module("norm", std::make_shared<nn::BatchNorm2d>(16));
    // A raw parameter: one learned scale per channel, starting at 1.
    scale = register_parameter("scale", ones({1, 16, 1, 1}));
    head = register_module("head", std::make_shared<nn::Linear>(16 * 7 * 7, 10));
  }

  Tensor forward(const Tensor& x) override {
    Tensor h = softplus((*stem)(x));                         // [N, 16, 14, 14]
    Tensor r = (*block_b)(softplus((*norm)((*block_a)(h))));  // the residual branch
    h = softplus(h + r * scale);                                // skip connection
    h = F::max_pool2d(h, 2);                                    // [N, 16, 7, 7]
    return (*head)(flatten(h, 1));
  }

  std::string type_name() const override { return "ResidualNet"; }

  std::shared_ptr<nn::Conv2d> stem, block_a, block_b;
  std::shared_ptr<nn::BatchNorm2d> norm;
  std::shared_ptr<nn::Linear> head;
  Tensor scale;
};

int main(int argc, char** argv) {
  ex::CommonOptions options;
  options.epochs = 1;
  options.limit = 20000;
  options.lr = 2e-3;
  CLI::App app{"Train a user-defined model (a Module subclass with a custom op) on MNIST"};
  ex::add_common_flags(app, options);
  CLI11_PARSE(app, argc, argv);
  try {
    ex::prepare(options);
    const auto dir = datasets::find_mnist_dir(options.data);
    datasets::MNIST train(dir, datasets::Split::train, datasets::MNIST::normalization);
    datasets::MNIST test(dir, datasets::Split::test, datasets::MNIST::normalization);
    auto model = std::make_shared<ResidualNet>();
    ex::train_classifier({.example = "custom_model", .model_description = "ResidualNet (softplus)", .model = model,
                          .train = &train, .test = &test},
                         options);
    fmt::print("\n{}", model->summary());
  } catch (const nabla::Error& e) {
    fmt::print(stderr, "custom_model: {}\n", e.what());
    return 1;
  }
  return 0;
}
