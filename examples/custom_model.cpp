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

// The example's own ops and model live in their own namespace: a user op named like a library op
// (nabla may gain its own softplus) must never become ambiguous.
namespace custom_model {

// A user-defined differentiable op: softplus(x) = log(1 + exp(x)), derivative sigmoid(x). Its
// forward is computed without recording (NoGradGuard); record() then adds it as one op whose
// backward is the formula below.
Tensor softplus(const Tensor& x) {
  Tensor out;
  {
    NoGradGuard no_grad;
    out = relu(x) + log(exp(-abs(x)) + 1.0);  // stable for large |x|
  }
  return record("softplus", {x}, out, [saved = save(x)](const Tensor& grad) { return Gradients{grad * sigmoid(saved.get())}; });
}

// A small residual network: conv stem, one residual block, a learned per-channel scale, and a
// linear classifier. Layers are registered where they are declared, in this order.
class ResidualNet : public nn::Module {
 public:
  nn::Shared<nn::Conv2d> stem = register_module(
      "stem", nn::Conv2d({.in_channels = 1, .out_channels = 16, .kernel_size = 3, .stride = 2, .padding = 1}));
  nn::Shared<nn::Conv2d> block_a =
      register_module("block_a", nn::Conv2d({.in_channels = 16, .out_channels = 16, .kernel_size = 3, .padding = 1}));
  nn::Shared<nn::Conv2d> block_b =
      register_module("block_b", nn::Conv2d({.in_channels = 16, .out_channels = 16, .kernel_size = 3, .padding = 1}));
  nn::Shared<nn::BatchNorm2d> norm = register_module("norm", nn::BatchNorm2d(16));
  // A raw parameter: one learned scale per channel, starting at 1.
  Tensor scale = register_parameter("scale", ones({1, 16, 1, 1}));
  nn::Shared<nn::Linear> head = register_module("head", nn::Linear(16 * 7 * 7, 10));

  Tensor forward(const Tensor& x) override {
    Tensor h = softplus(stem(x));                    // [N, 16, 14, 14]
    Tensor r = block_b(softplus(norm(block_a(h))));  // the residual branch
    h = softplus(h + r * scale);                     // skip connection
    h = F::max_pool2d(h, 2);                         // [N, 16, 7, 7]
    return head(h.flatten(1));
  }
};

}  // namespace custom_model

int main(int argc, char** argv) {
  ex::CommonOptions options;
  options.epochs = 1;
  options.limit = 20000;
  options.lr = 2e-3;
  CLI::App app{"Train a user-defined model (a Module subclass with a custom op) on MNIST", "custom_model"};
  ex::add_common_flags(app, options);
  return nabla::cli::run(app, argc, argv, [&] {
    ex::prepare(options);
    const auto dir = nabla::cli::announce_data("MNIST", datasets::find_mnist_dir(options.data));
    datasets::MNIST train(dir, datasets::Split::train, datasets::MNIST::normalization);
    datasets::MNIST test(dir, datasets::Split::test, datasets::MNIST::normalization);
    auto model = nn::make<custom_model::ResidualNet>();
    ex::train_classifier({.example = "custom_model", .model_description = "ResidualNet (softplus)", .model = model,
                          .train = &train, .test = &test},
                         options);
    fmt::print(options.json ? stderr : stdout, "\n{}", model->summary());
    return 0;
  });
}
