// mnist_mlp: a fully connected network on MNIST.
//
// Defaults reproduce the classic 784-30-10 network with a sigmoid hidden layer trained by SGD
// (Nielsen, "Neural Networks and Deep Learning", ch. 1). Flags turn it into a modern dense net:
//
//   build/bin/mnist_mlp                                     # 784-30-10 sigmoid, SGD
//   build/bin/mnist_mlp --hidden 512,256 --activation relu --optimizer adam --lr 1e-3
//                       --dropout 0.2 --epochs 15 --schedule cosine --batch-size 64
#include <classifier.hpp>

using namespace nabla;
namespace ex = nabla::examples;

int main(int argc, char** argv) {
  ex::CommonOptions options;
  // The classic setup (mini-batches of 10, plain SGD), with a cosine-annealed learning rate.
  options.epochs = 20;
  options.batch_size = 10;
  options.lr = 0.5;
  options.optimizer = "sgd";
  options.schedule = "cosine";
  std::string hidden = "30";
  std::string activation = "sigmoid";
  double dropout = 0.0;

  CLI::App app{"Train a fully connected network on MNIST", "mnist_mlp"};
  ex::add_common_flags(app, options);
  app.add_option("--hidden", hidden, "hidden layer sizes, comma-separated")->capture_default_str();
  app.add_option("--activation", activation, "sigmoid, relu or tanh")
      ->capture_default_str()
      ->check(nabla::cli::one_of({"sigmoid", "relu", "tanh"}));
  app.add_option("--dropout", dropout, "dropout probability after each hidden layer")->capture_default_str()->check(nabla::cli::in_range(0, 1));
  return nabla::cli::run(app, argc, argv, [&] {
    ex::prepare(options);
    const auto dir = nabla::cli::announce_data("MNIST", datasets::find_mnist_dir(options.data));
    // Sigmoid nets train on plain [0, 1] pixels, as in the classic setup; the others on
    // standardised ones.
    const datasets::Normalize normalize = activation == "sigmoid" ? datasets::Normalize{} : datasets::MNIST::normalization;
    datasets::MNIST train(dir, datasets::Split::train, normalize);
    datasets::MNIST test(dir, datasets::Split::test, normalize);

    // The network: Linear -> activation (-> Dropout) for each hidden size, then Linear to 10 classes.
    auto model = nn::make<nn::Sequential>();
    int64_t width = 28 * 28;
    std::string description = "784";
    for (int64_t size : ex::parse_sizes(hidden, "--hidden")) {
      model->push_back(nn::Linear(width, size));
      if (activation == "relu") model->push_back(nn::ReLU());
      else if (activation == "tanh") model->push_back(nn::Tanh());
      else model->push_back(nn::Sigmoid());
      if (dropout > 0) model->push_back(nn::Dropout(dropout));
      width = size;
      description += fmt::format("-{}", size);
    }
    model->push_back(nn::Linear(width, 10));
    description += fmt::format("-10 {}", activation);

    const auto summary = ex::train_classifier(
        {.example = "mnist_mlp", .model_description = description, .model = model, .train = &train, .test = &test,
         .flatten_inputs = true},
        options);
    (void)summary;
    return 0;
  });
}
