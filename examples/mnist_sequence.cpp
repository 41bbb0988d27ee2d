// mnist_sequence: MNIST read as a sequence, by an LSTM or a vision transformer — the lstm and
// vit workloads of nabla-bench as programs with the usual outputs (progress, test accuracy after
// each epoch, pictures, metrics, checkpoints).
//
//   build/bin/mnist_sequence --model lstm    # the 28 rows of an image, top to bottom, into LSTM(28, 128)
//   build/bin/mnist_sequence --model vit     # 16 patches of 7x7 pixels into a 2-layer transformer
#include <classifier.hpp>

using namespace nabla;
namespace ex = nabla::examples;

namespace mnist_sequence {

// Rows as time steps: [B, 1, 28, 28] -> [B, 28 steps, 28 pixels] -> LSTM -> the last state -> 10 classes.
struct RowLstm : nn::Module {
  nn::Shared<nn::LSTM> lstm = register_module("lstm", nn::LSTM({.input_size = 28, .hidden_size = 128, .batch_first = true}));
  nn::Shared<nn::Linear> fc = register_module("fc", nn::Linear(128, 10));
  Tensor forward(const Tensor& images) override {
    auto [output, state] = lstm(images.view({-1, 28, 28}));
    return fc(std::get<0>(state).select(0, 0));  // h after the last row
  }
};

// Patches as tokens: [B, 1, 28, 28] -> 16 patches of 49 pixels -> embedding + positions -> two
// transformer layers -> the mean token -> LayerNorm -> 10 classes.
struct TinyVit : nn::Module {
  static nn::TransformerLayerOptions layer() {
    return {.d_model = 64, .nhead = 4, .dim_feedforward = 128, .dropout = 0.0, .batch_first = true};
  }
  nn::Shared<nn::Linear> embed = register_module("embed", nn::Linear(49, 64));
  Tensor pos = register_parameter("pos", nn::init::normal_(empty({16, 64}), 0.0, 0.02));
  nn::Shared<nn::TransformerEncoderLayer> enc1 = register_module("enc1", nn::TransformerEncoderLayer(layer()));
  nn::Shared<nn::TransformerEncoderLayer> enc2 = register_module("enc2", nn::TransformerEncoderLayer(layer()));
  nn::Shared<nn::LayerNorm> norm = register_module("norm", nn::LayerNorm(Shape{64}));
  nn::Shared<nn::Linear> head = register_module("head", nn::Linear(64, 10));
  Tensor forward(const Tensor& images) override {
    // [B, 1, 28, 28] -> [B, pr, r, pc, c] -> [B, pr, pc, r, c] -> [B, 16, 49]: patch 4 pr + pc.
    const Tensor tokens = images.reshape({-1, 4, 7, 4, 7}).permute({0, 1, 3, 2, 4}).reshape({-1, 16, 49});
    const Tensor h = enc2(enc1(embed(tokens) + pos));
    return head(norm(h.mean({1})));
  }
};

}  // namespace mnist_sequence

int main(int argc, char** argv) {
  ex::CommonOptions options;
  options.epochs = 5;
  options.batch_size = 64;
  options.lr = 1e-3;
  options.optimizer = "adam";
  std::string model_name = "lstm";
  CLI::App app{"Train an LSTM or a small vision transformer on MNIST read as a sequence", "mnist_sequence"};
  ex::add_common_flags(app, options);
  app.add_option("--model", model_name, "lstm or vit")->capture_default_str()->check(nabla::cli::one_of({"lstm", "vit"}));
  return nabla::cli::run(app, argc, argv, [&] {
    ex::prepare(options);
    const auto dir = nabla::cli::announce_data("MNIST", datasets::find_mnist_dir(options.data));
    datasets::MNIST train(dir, datasets::Split::train, datasets::MNIST::normalization);
    datasets::MNIST test(dir, datasets::Split::test, datasets::MNIST::normalization);
    std::shared_ptr<nn::Module> model;
    if (model_name == "lstm") {
      model = nn::make<mnist_sequence::RowLstm>();
    } else {
      model = nn::make<mnist_sequence::TinyVit>();
    }
    ex::train_classifier({.example = "mnist_" + model_name,
                          .model_description = model_name == "lstm" ? "rows -> LSTM(28,128) -> fc10" : "16 patches -> 2-layer transformer (d 64, 4 heads) -> fc10",
                          .model = model,
                          .train = &train,
                          .test = &test},
                         options);
    return 0;
  });
}
