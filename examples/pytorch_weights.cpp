// pytorch_weights: load a model PyTorch trained and evaluate it in C++ — no libtorch, no Python.
//
//   build/bin/pytorch_weights                                  # ../shared/interop/cnn.safetensors
//   build/bin/pytorch_weights --weights ../shared/interop/cnn.pt
//
// The weights are the `cnn` fixture of ../shared/interop (made by its make_fixtures.py: PyTorch's
// nn.Sequential below, trained 200 Adam steps). Defined in nabla under the same names, the model
// loads PyTorch's state_dict as it is, from torch.save's .pt or from .safetensors, and gives
// PyTorch's accuracy on the MNIST test set.
#include <CLI/CLI.hpp>
#include <cstdio>

#include <nabla/nabla.hpp>

using namespace nabla;

namespace pytorch_weights {

// PyTorch: nn.Sequential(nn.Conv2d(1, 32, 3), nn.ReLU(), nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2),
//                        nn.Flatten(), nn.Linear(9216, 128), nn.ReLU(), nn.Linear(128, 10))
// Same layers in the same order: the same names (0.weight, 0.bias, 2.weight, ...) and shapes.
nn::Shared<nn::Sequential> make_cnn() {
  return nn::Sequential{nn::Conv2d(1, 32, 3), nn::ReLU(),           nn::Conv2d(32, 64, 3), nn::ReLU(),
                        nn::MaxPool2d(2),     nn::Flatten(),        nn::Linear(9216, 128), nn::ReLU(),
                        nn::Linear(128, 10)};
}

}  // namespace pytorch_weights

int main(int argc, char** argv) {
  std::string weights = "../shared/interop/cnn.safetensors";
  std::string data;
  CLI::App app{"Evaluate the PyTorch-trained MNIST cnn (a .pt or .safetensors state_dict) on the test set"};
  app.add_option("--weights", weights, "the state_dict: .pt (torch.save) or .safetensors")->capture_default_str();
  app.add_option("--data", data, "MNIST directory (default: search $NABLA_DATA, ./data, ../shared/data, ...)");
  CLI11_PARSE(app, argc, argv);
  try {
    // 1. The model, and PyTorch's weights into it: every name and shape is checked.
    auto model = pytorch_weights::make_cnn();
    nn::load(*model, weights);
    std::printf("loaded %s into\n%s\n", weights.c_str(), model->summary().c_str());

    // 2. The test set, normalised as in PyTorch: (x / 255 - 0.1307) / 0.3081.
    const datasets::MNIST test_set(datasets::find_mnist_dir(data), datasets::Split::test,
                                   datasets::MNIST::normalization);
    datasets::DataLoader loader(test_set, {.batch_size = 1000});

    // 3. Evaluate: no tape, eval mode.
    NoGradGuard no_grad;
    model->eval();
    int64_t correct = 0;
    for (datasets::Batch& batch : loader) {
      correct += model(batch.inputs).argmax(1).eq(batch.targets).sum().item<int64_t>();
    }
    const auto count = static_cast<long long>(loader.num_examples());
    std::printf("test accuracy: %lld / %lld = %.2f %%\n", static_cast<long long>(correct), count,
                100.0 * static_cast<double>(correct) / static_cast<double>(count));
  } catch (const std::exception& error) {
    std::fprintf(stderr, "pytorch_weights: %s\n", error.what());
    return 1;
  }
  return 0;
}
