// fashion_mnist: clothing classification on Fashion-MNIST (Zalando), with a dense or a
// convolutional network.
//
//   build/bin/fashion_mnist --model mlp
//   build/bin/fashion_mnist --model cnn
// The data comes from --data, $NABLA_DATA/fashion-mnist, ./data/fashion-mnist or the Debian
// package (apt-get install dataset-fashion-mnist -> /usr/share/datasets/fashion-mnist).
#include <classifier.hpp>

using namespace nabla;
namespace ex = nabla::examples;

namespace {

nn::Shared<nn::Sequential> make_mlp() {
  return nn::Sequential{nn::Linear(784, 512), nn::ReLU(), nn::Dropout(0.2),
                        nn::Linear(512, 256), nn::ReLU(), nn::Dropout(0.2),
                        nn::Linear(256, 10)};
}

// Two conv blocks with batch normalisation, then a small classifier.
nn::Shared<nn::Sequential> make_cnn() {
  return nn::Sequential{
      nn::Conv2d({.in_channels = 1, .out_channels = 32, .kernel_size = 3, .padding = 1}),
      nn::BatchNorm2d(32), nn::ReLU(), nn::MaxPool2d(2),
      nn::Conv2d({.in_channels = 32, .out_channels = 64, .kernel_size = 3, .padding = 1}),
      nn::BatchNorm2d(64), nn::ReLU(), nn::MaxPool2d(2),
      nn::Flatten(), nn::Dropout(0.25),
      nn::Linear(64 * 7 * 7, 128), nn::ReLU(), nn::Dropout(0.25),
      nn::Linear(128, 10)};
}

}  // namespace

int main(int argc, char** argv) {
  // The CNN learns more per epoch but keeps improving longer; --epochs overrides either default.
  constexpr int model_epochs_default = 15;
  ex::CommonOptions options;
  options.epochs = model_epochs_default;
  options.batch_size = 64;
  options.lr = 1e-3;
  options.optimizer = "adam";
  options.schedule = "cosine";
  std::string model_kind = "mlp";
  CLI::App app{"Train a classifier on Fashion-MNIST", "fashion_mnist"};
  ex::add_common_flags(app, options);
  app.add_option("--model", model_kind, "mlp or cnn")->capture_default_str()->check(nabla::cli::one_of({"mlp", "cnn"}));
  return nabla::cli::run(app, argc, argv, [&] {
    ex::prepare(options);
    const auto dir = nabla::cli::announce_data("Fashion-MNIST", datasets::find_fashion_mnist_dir(options.data));
    datasets::FashionMNIST train(dir, datasets::Split::train, datasets::FashionMNIST::normalization);
    datasets::FashionMNIST test(dir, datasets::Split::test, datasets::FashionMNIST::normalization);
    const bool mlp = model_kind == "mlp";
    ex::train_classifier({.example = "fashion_mnist_" + model_kind,
                          .model_description = mlp ? "784-512-256-10 relu, dropout 0.2" : "conv32-bn-pool-conv64-bn-pool-fc128-fc10",
                          .model = mlp ? make_mlp() : make_cnn(),
                          .train = &train,
                          .test = &test,
                          .flatten_inputs = mlp},
                         options);
    return 0;
  });
}
