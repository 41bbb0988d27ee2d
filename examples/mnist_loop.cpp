// mnist_loop: the whole training loop, top to bottom — start here.
//
// This is PyTorch's C++ MNIST example (pytorch/examples, cpp/mnist) written with nabla: the same
// network, the same optimiser and the same loops, so a libtorch user can read it line by line.
// Everything the other examples hide in examples/common (progress bars, checkpoints, pictures) is
// left out; what remains is what every training program does.
//
//   build/bin/mnist_loop                       # 10 epochs, about 99 % test accuracy
//   build/bin/mnist_loop --epochs 1 --limit 10000
#include <cmath>
#include <cstdio>

#include <CLI/CLI.hpp>
#include <nabla/nabla.hpp>

#include <cli.hpp>  // examples/common: --version, checked flags, errors as one line

using namespace nabla;
namespace F = nabla::nn::functional;

namespace mnist_loop {

// The model: a Module that registers its layers by name (so that parameters(), save() and load()
// find them) and says in forward() how they connect. Backpropagation comes from the tape: nothing
// here computes a gradient.
struct Net : nn::Module {
  // Registered in declaration order; nn::Shared<T> holds a layer and calls it like a function.
  nn::Shared<nn::Conv2d> conv1 = register_module("conv1", nn::Conv2d(1, 10, 5));
  nn::Shared<nn::Conv2d> conv2 = register_module("conv2", nn::Conv2d(10, 20, 5));
  nn::Shared<nn::Dropout> conv2_drop = register_module("conv2_drop", nn::Dropout(0.5));
  nn::Shared<nn::Linear> fc1 = register_module("fc1", nn::Linear(320, 50));
  nn::Shared<nn::Linear> fc2 = register_module("fc2", nn::Linear(50, 10));

  Tensor forward(const Tensor& input) override {
    Tensor x = relu(F::max_pool2d(conv1(input), 2));            // [N, 10, 12, 12]
    x = relu(F::max_pool2d(conv2_drop(conv2(x)), 2));           // [N, 20, 4, 4]
    x = x.view({-1, 320});
    x = relu(fc1(x));
    x = F::dropout(x, 0.5, is_training());
    x = fc2(x);
    return x.log_softmax(1);
  }
};

// One pass over the training set.
void train(int epoch, Net& model, datasets::DataLoader& loader, nn::Optimizer& optimizer) {
  model.train();  // dropout on
  int64_t batch_index = 0;
  for (datasets::Batch& batch : loader) {
    optimizer.zero_grad();                              // forget the last step's gradients
    const Tensor output = model.forward(batch.inputs);  // [64, 10] log-probabilities
    const Tensor loss = F::nll_loss(output, batch.targets);
    loss.backward();                                    // fills every parameter's grad()
    optimizer.step();                                   // p -= lr * (momentum-smoothed) grad
    if (batch_index++ % 100 == 0) {
      std::printf("Train Epoch: %d [%5lld/%5lld] Loss: %.4f\n", epoch, static_cast<long long>(batch_index * batch.size()),
                  static_cast<long long>(loader.num_examples()), loss.item<double>());
    }
  }
}

// The test set, without recording gradients: loss and accuracy.
void test(Net& model, datasets::DataLoader& loader) {
  NoGradGuard no_grad;  // evaluation needs no tape
  model.eval();         // dropout off
  double test_loss = 0.0;
  int64_t correct = 0;
  for (datasets::Batch& batch : loader) {
    const Tensor output = model.forward(batch.inputs);
    test_loss += F::nll_loss(output, batch.targets, Reduction::sum).item<double>();
    const Tensor pred = output.argmax(1);
    correct += pred.eq(batch.targets).sum().item<int64_t>();
  }
  const auto count = static_cast<double>(loader.num_examples());
  std::printf("\nTest set: Average loss: %.4f | Accuracy: %.3f\n", test_loss / count, static_cast<double>(correct) / count);
}

}  // namespace mnist_loop

int main(int argc, char** argv) {
  int epochs = 10;
  int64_t limit = 0;
  std::string data;
  CLI::App app{"Train PyTorch's MNIST example network with the whole loop in view", "mnist_loop"};
  app.add_option("--epochs", epochs, "training epochs")->capture_default_str()->check(nabla::cli::at_least(1));
  app.add_option("--limit", limit, "train on the first N images only (0: all)")->check(nabla::cli::at_least(0));
  app.add_option("--data", data, "MNIST directory (default: search $NABLA_DATA, ./data, ../shared/data, ...)");
  return nabla::cli::run(app, argc, argv, [&] {
    manual_seed(1);  // reproducible initialisation, dropout and shuffling

    // Data: the images as float32 [1, 28, 28], standardised with MNIST's mean and deviation.
    const auto directory = nabla::cli::announce_data("MNIST", datasets::find_mnist_dir(data));
    const datasets::MNIST train_set(directory, datasets::Split::train, datasets::MNIST::normalization);
    const datasets::MNIST test_set(directory, datasets::Split::test, datasets::MNIST::normalization);
    const datasets::Subset train_subset = datasets::first_examples(train_set, limit > 0 ? limit : train_set.size());
    datasets::DataLoader train_loader(train_subset, {.batch_size = 64, .shuffle = true, .seed = 1});
    datasets::DataLoader test_loader(test_set, {.batch_size = 1000});

    // Model and optimiser: SGD with momentum, as in PyTorch's example.
    mnist_loop::Net model;
    nn::SGD optimizer(model.parameters(), {.lr = 0.01, .momentum = 0.5});

    for (int epoch = 1; epoch <= epochs; ++epoch) {
      mnist_loop::train(epoch, model, train_loader, optimizer);
      mnist_loop::test(model, test_loader);
    }
    return 0;
  });
}
