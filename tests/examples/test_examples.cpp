// End-to-end tests of the example programs: they run the real binaries on the real MNIST files
// (found at $NABLA_SOURCE_DIR/../shared/data/mnist, as in CI) and check what a user would see.
#include <sys/wait.h>

#include <array>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "nabla/nabla.hpp"
#include "run_program.hpp"

namespace fs = std::filesystem;
using examples_test::mnist_dir;
using examples_test::Output;
using examples_test::run;

namespace {

std::string binary(const std::string& name) { return std::string(NABLA_BIN_DIR) + "/" + name; }

// The value of "key": in the last JSON line of the output.
double json_value(const std::string& text, const std::string& key) {
  const size_t line = text.rfind("{\"example\"");
  REQUIRE(line != std::string::npos);
  const size_t at = text.find("\"" + key + "\":", line);
  REQUIRE(at != std::string::npos);
  return std::stod(text.substr(at + key.size() + 3));
}

bool is_png(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::array<unsigned char, 8> head{};
  in.read(reinterpret_cast<char*>(head.data()), 8);
  return in && head == std::array<unsigned char, 8>{0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
}

}  // namespace

TEST_CASE("examples: mnist_mlp trained on 10,000 MNIST images for one epoch reaches 90 percent", "[examples][e2e]") {
  const std::string data = mnist_dir();
  if (data.empty()) {
    WARN("MNIST not found beside the project (../shared/data/mnist); skipping");
    return;
  }
  const fs::path out = examples_test::scratch("examples", "mlp");
  const Output result = run(binary("mnist_mlp") +
                            " --epochs 1 --limit 10000 --hidden 128 --activation relu --optimizer adam --lr 0.002"
                            " --batch-size 32 --json --data " + data + " --out " + out.string());
  INFO(result.text);
  REQUIRE(result.exit_code == 0);
  CHECK(json_value(result.text, "test_accuracy") >= 0.90);
  CHECK(json_value(result.text, "epochs") == 1);
  // The report a user reads: the confusion table with per-class precision/recall/F1.
  CHECK_THAT(result.text, Catch::Contains("precision") && Catch::Contains("recall"));
  for (const char* picture : {"samples.png", "predictions.png", "confusion.png", "curves.png"}) {
    INFO(picture);
    CHECK(is_png(out / picture));
  }
  CHECK(fs::exists(out / "confusion.csv"));
  CHECK(fs::exists(out / "metrics.json"));
  fs::remove_all(out);
}

TEST_CASE("examples: mnist_cnn --fast trains its small BatchNorm network on the 1cycle schedule", "[examples][e2e]") {
  const std::string data = mnist_dir();
  if (data.empty()) {
    WARN("MNIST not found beside the project (../shared/data/mnist); skipping");
    return;
  }
  const fs::path out = examples_test::scratch("examples", "cnn-fast");
  // 1 epoch (the recipe's) on 6,400 images: 100 steps of batch 64 with the lr warming up and
  // annealing within them.
  const Output result = run(binary("mnist_cnn") + " --fast --limit 6400 --json --data " + data + " --out " + out.string());
  INFO(result.text);
  REQUIRE(result.exit_code == 0);
  CHECK_THAT(result.text, Catch::Contains("fast: conv16-conv32-conv64"));
  CHECK_THAT(result.text, Catch::Contains("29178 parameters"));  // 3 convs without bias, 3 BatchNorms, fc 576-10
  CHECK(json_value(result.text, "epochs") == 1);
  CHECK(json_value(result.text, "test_accuracy") >= 0.93);
  // A flag given explicitly overrides the recipe's value.
  const Output two = run(binary("mnist_cnn") + " --fast --epochs 2 --limit 640 --json --data " + data + " --out " + out.string());
  REQUIRE(two.exit_code == 0);
  CHECK(json_value(two.text, "epochs") == 2);
  fs::remove_all(out);
}

TEST_CASE("examples: a run resumed from its checkpoint ends exactly where an uninterrupted run does", "[examples][checkpoint]") {
  const std::string data = mnist_dir();
  if (data.empty()) {
    WARN("MNIST not found beside the project (../shared/data/mnist); skipping");
    return;
  }
  const fs::path dir = examples_test::scratch("examples", "resume");
  const std::string common = " --limit 2000 --seed 5 --data " + data + " --out " + dir.string() +
                             " --hidden 64 --activation relu --dropout 0.2 --optimizer adam --lr 0.002 --batch-size 32";
  const std::string straight = (dir / "straight.nbl").string();
  const std::string halfway = (dir / "halfway.nbl").string();
  const std::string resumed = (dir / "resumed.nbl").string();

  const Output a = run(binary("mnist_mlp") + common + " --epochs 2 --save " + straight);
  INFO(a.text);
  REQUIRE(a.exit_code == 0);
  const Output b = run(binary("mnist_mlp") + common + " --epochs 1 --save " + halfway);
  REQUIRE(b.exit_code == 0);
  fs::copy_file(halfway, resumed);
  const Output c = run(binary("mnist_mlp") + common + " --epochs 2 --resume " + resumed + " --save " + resumed);
  INFO(c.text);
  REQUIRE(c.exit_code == 0);

  // Same weights, bit for bit: the shuffle order, dropout masks and optimiser state all resumed.
  const nabla::nn::Archive x = nabla::nn::read_archive(straight);
  const nabla::nn::Archive y = nabla::nn::read_archive(resumed);
  int compared = 0;
  for (const auto& [name, value] : x.entries()) {
    if (name.rfind("model.", 0) != 0) continue;
    INFO(name);
    CHECK(nabla::equal(std::get<nabla::Tensor>(value), y.tensor(name)));
    ++compared;
  }
  CHECK(compared == 4);  // two Linear layers (784-64-10), weight and bias each
  fs::remove_all(dir);
}

TEST_CASE("examples: a missing dataset is reported with every place searched", "[examples][errors]") {
  const Output result = run("env -u NABLA_DATA " + binary("mnist_mlp") + " --data /nonexistent/mnist-dir --epochs 1");
  CHECK(result.exit_code != 0);
  CHECK_THAT(result.text, Catch::Contains("/nonexistent/mnist-dir"));
}

TEST_CASE("examples: --help lists the common flags", "[examples]") {
  for (const char* program : {"mnist_mlp", "mnist_cnn", "fashion_mnist", "custom_model"}) {
    INFO(program);
    const Output result = run(binary(program) + " --help");
    CHECK(result.exit_code == 0);
    for (const char* flag : {"--data", "--epochs", "--batch-size", "--lr", "--optimizer", "--threads", "--seed", "--limit",
                             "--out", "--save", "--resume", "--json"}) {
      CHECK_THAT(result.text, Catch::Contains(flag));
    }
  }
}

TEST_CASE("examples: custom_op checks its own gradients", "[examples]") {
  const Output result = run(binary("custom_op"));
  INFO(result.text);
  CHECK(result.exit_code == 0);
  CHECK_THAT(result.text, Catch::Contains("gradcheck: passed, gradgradcheck: passed"));
}

TEST_CASE("examples: mnist_loop, the tutorial loop, learns MNIST in one short epoch", "[examples][e2e]") {
  const std::string data = mnist_dir();
  if (data.empty()) {
    WARN("MNIST not found beside the project (../shared/data/mnist); skipping");
    return;
  }
  const Output result = run(binary("mnist_loop") + " --epochs 1 --limit 6400 --data " + data);
  INFO(result.text);
  REQUIRE(result.exit_code == 0);
  CHECK(Catch::contains(result.text, "Train Epoch: 1"));
  const size_t at = result.text.rfind("Accuracy: ");
  REQUIRE(at != std::string::npos);
  // 100 steps of SGD with momentum reach well above chance (libtorch's example: ~0.85-0.9 here).
  CHECK(std::stod(result.text.substr(at + 10)) > 0.75);
  // A bad flag is one clear line and exit code 1, not an abort.
  const Output bad = run(binary("mnist_loop") + " --data /nonexistent/mnist");
  CHECK(bad.exit_code == 1);
  CHECK(Catch::contains(bad.text, "mnist_loop:"));
}

TEST_CASE("examples: mnist_sequence trains the LSTM and the vision transformer on MNIST rows and patches", "[examples][e2e]") {
  const std::string data = mnist_dir();
  if (data.empty()) {
    WARN("MNIST not found beside the project (../shared/data/mnist); skipping");
    return;
  }
  for (const std::string model : {"lstm", "vit"}) {
    const fs::path out = examples_test::scratch("examples", "sequence-" + model);
    const Output result = run(binary("mnist_sequence") + " --model " + model + " --epochs 1 --limit 4000 --json --data " +
                              data + " --out " + out.string());
    INFO(result.text);
    REQUIRE(result.exit_code == 0);
    // 63 steps of Adam: far above chance (10 %) for both readers of the image.
    CHECK(json_value(result.text, "test_accuracy") > 0.5);
    CHECK(is_png(out / "curves.png"));
  }
}

TEST_CASE("examples: char_lm learns characters, makes up words, and resumes from its checkpoint", "[examples][e2e]") {
  const fs::path dir = examples_test::scratch("examples", "char_lm");
  // A small text of its own, so the test needs no package: words built from a few syllables.
  const std::vector<std::string> syllables{"ka", "lo", "mi", "ne", "ru", "sa", "to", "vi"};
  {
    std::ofstream text(dir / "words.txt");
    for (int i = 0; i < 600; ++i) text << syllables[i % 8] << syllables[(i * 3 + 1) % 8] << syllables[(i * 5 + 2) % 8] << "\n";
  }
  const std::string common = " --text " + (dir / "words.txt").string() + " --seq-len 16 --batch-size 16 --out " +
                             (dir / "out").string() + " --save " + (dir / "lm.nbl").string();
  for (const std::string model : {"lstm", "transformer"}) {
    const Output first = run(binary("char_lm") + " --model " + model + " --epochs 2 --json" + common);
    INFO(first.text);
    REQUIRE(first.exit_code == 0);
    CHECK(Catch::contains(first.text, "epoch 2 words:"));
    const size_t at = first.text.find("\"bits_per_char\":");
    REQUIRE(at != std::string::npos);
    // 10 letters plus the line break: uniform guessing is log2(11) = 3.46 bits; syllables are learnable.
    CHECK(std::stod(first.text.substr(at + 16)) < 2.6);
    const Output resumed = run(binary("char_lm") + " --model " + model + " --epochs 3 --resume " + (dir / "lm.nbl").string() + common);
    INFO(resumed.text);
    CHECK(resumed.exit_code == 0);
    CHECK(Catch::contains(resumed.text, "epoch 3 words:"));
    CHECK_FALSE(Catch::contains(resumed.text, "epoch 1 words:"));
    CHECK(is_png(dir / "out" / "curves.png"));
  }
  const Output missing = run(binary("char_lm") + " --text /nonexistent/words");
  CHECK(missing.exit_code == 1);
  CHECK(Catch::contains(missing.text, "wamerican"));
}

TEST_CASE("examples: mnist_dcgan trains both networks briefly and leaves its pictures", "[examples][e2e]") {
  const std::string data = mnist_dir();
  if (data.empty()) {
    WARN("MNIST not found beside the project (../shared/data/mnist); skipping");
    return;
  }
  const fs::path out = examples_test::scratch("examples", "dcgan");
  const Output result =
      run(binary("mnist_dcgan") + " --epochs 2 --limit 192 --threads 1 --json --data " + data + " --out " + out.string());
  INFO(result.text);
  REQUIRE(result.exit_code == 0);
  CHECK(json_value(result.text, "epochs") == 2);
  CHECK(json_value(result.text, "train_images") == 192);
  for (const char* key : {"d_loss", "g_loss"}) {
    const double loss = json_value(result.text, key);
    CHECK(std::isfinite(loss));
    CHECK(loss > 0.0);
  }
  const double d_real = json_value(result.text, "d_real");
  CHECK((d_real > 0.0 && d_real < 1.0));
  for (const char* picture : {"samples.png", "curves.png", "samples_epoch_1.png", "samples_epoch_2.png"}) {
    INFO(picture);
    CHECK(is_png(out / picture));
  }
  fs::remove_all(out);
}
