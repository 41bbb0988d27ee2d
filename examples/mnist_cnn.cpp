// mnist_cnn: a convolutional network on MNIST (two 3x3 convolutions, max pooling, dropout, two
// linear layers — the network of PyTorch's MNIST example), trained with Adam.
//
//   build/bin/mnist_cnn                  # defaults: 8 epochs, batch 64, Adam 1e-3, cosine schedule
//   build/bin/mnist_cnn --epochs 1 --limit 10000 --json
#include <classifier.hpp>

using namespace nabla;
namespace ex = nabla::examples;

int main(int argc, char** argv) {
  ex::CommonOptions options;
  options.epochs = 8;
  options.batch_size = 64;
  options.lr = 1e-3;
  options.optimizer = "adam";
  options.schedule = "cosine";
  CLI::App app{"Train a convolutional network on MNIST", "mnist_cnn"};
  ex::add_common_flags(app, options);
  return nabla::cli::run(app, argc, argv, [&] {
    ex::prepare(options);
    const auto dir = nabla::cli::announce_data("MNIST", datasets::find_mnist_dir(options.data));
    datasets::MNIST train(dir, datasets::Split::train, datasets::MNIST::normalization);
    datasets::MNIST test(dir, datasets::Split::test, datasets::MNIST::normalization);

    // [N,1,28,28] -> conv 32 -> [N,32,26,26] -> conv 64 -> [N,64,24,24] -> pool -> [N,64,12,12]
    // -> flatten [N,9216] -> 128 -> 10
    nn::Shared<nn::Sequential> model = nn::Sequential{
        nn::Conv2d(1, 32, 3), nn::ReLU(),
        nn::Conv2d(32, 64, 3), nn::ReLU(),
        nn::MaxPool2d(2), nn::Dropout(0.25),
        nn::Flatten(),
        nn::Linear(9216, 128), nn::ReLU(), nn::Dropout(0.5),
        nn::Linear(128, 10)};

    ex::train_classifier({.example = "mnist_cnn",
                          .model_description = "conv32-conv64-maxpool-fc128-fc10",
                          .model = model,
                          .train = &train,
                          .test = &test,
                          .report_seconds_to_99 = true},
                         options);
    return 0;
  });
}
