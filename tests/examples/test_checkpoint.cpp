// Issue 17, item 3: the examples' --resume refuses damaged or crafted checkpoints with a clear
// nabla::Error naming the entry, before it changes anything: the model, the optimiser, the random
// state and the history are exactly as before a refused load. Calls the routine itself
// (examples/common/checkpoint.hpp), and runs mnist_mlp on a crafted file when MNIST is at hand.
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <fmt/ranges.h>

#include "checkpoint.hpp"
#include "nabla/nabla.hpp"
#include "run_program.hpp"

using namespace nabla;
using Catch::Contains;
namespace fs = std::filesystem;
namespace ex = nabla::examples;
using examples_test::mnist_dir;
using examples_test::Output;
using examples_test::run;

namespace {

// A model, an optimiser that has taken a step, and a history of `epochs` epochs.
struct Training {
  std::shared_ptr<nn::Sequential> model;
  std::unique_ptr<nn::Adam> optimizer;
  ex::History history;
  explicit Training(uint64_t seed) {
    manual_seed(seed);
    model = std::make_shared<nn::Sequential>(std::initializer_list<std::shared_ptr<nn::Module>>{
        std::make_shared<nn::Linear>(4, 3), std::make_shared<nn::ReLU>(), std::make_shared<nn::Linear>(3, 2)});
    optimizer = std::make_unique<nn::Adam>(model->parameters(), 0.01 * static_cast<double>(seed));
    sum((*model)(ones({5, 4}))).backward();
    optimizer->step();
  }
};

// Everything a resume may change, as text: parameters, optimiser state, generator state, history.
std::string fingerprint(const Training& t) {
  std::string out;
  for (const auto& [name, parameter] : t.model->named_parameters()) {
    out += name + fmt::format("{}", parameter.data().to_vector<double>());
  }
  for (const auto& [name, tensor] : t.optimizer->state()) {
    out += name + fmt::format("{}", tensor.to(float64).to_vector<double>());
  }
  out += default_generator().state();
  out += fmt::format("{}{}{}{}", t.history.train_loss, t.history.test_accuracy, t.history.train_seconds,
                     t.history.seconds_to_99);
  return out;
}

std::vector<std::vector<double>> parameters_of(const nn::Module& model) {
  std::vector<std::vector<double>> out;
  for (const auto& [name, parameter] : model.named_parameters()) out.push_back(parameter.data().to_vector<double>());
  return out;
}

// A good checkpoint of two epochs, then altered by `change`.
std::string crafted(const fs::path& dir, const std::string& name, const std::function<void(nn::Archive&)>& change) {
  Training saved(1);
  saved.history.train_loss = {0.5, 0.25};
  saved.history.train_accuracy = {0.8, 0.9};
  saved.history.test_loss = {0.4, 0.3};
  saved.history.test_accuracy = {0.85, 0.91};
  saved.history.epoch_seconds = {1.5, 1.25};
  saved.history.train_seconds = 2.75;
  const std::string path = (dir / name).string();
  ex::save_checkpoint(path, *saved.model, *saved.optimizer, 2, saved.history);
  nn::Archive archive = nn::read_archive(path);
  change(archive);
  nn::write_archive(path, archive);
  return path;
}

}  // namespace

TEST_CASE("checkpoint: a saved checkpoint resumes exactly", "[examples][checkpoint]") {
  const fs::path dir = examples_test::scratch("checkpoint", "good");
  const std::string path = crafted(dir, "good.nbl", [](nn::Archive&) {});
  Training resumed(2);
  CHECK(ex::load_checkpoint(path, *resumed.model, *resumed.optimizer, resumed.history) == 2);
  CHECK(resumed.history.train_loss == std::vector<double>{0.5, 0.25});
  CHECK(resumed.history.train_seconds == 2.75);
  CHECK(resumed.history.seconds_to_99 == -1.0);
  CHECK(resumed.optimizer->lr() == 0.01);
  const Training saved(1);  // the same model and step as the checkpoint's
  CHECK(parameters_of(*resumed.model) == parameters_of(*saved.model));
  fs::remove_all(dir);
}

TEST_CASE("checkpoint: crafted entries are refused naming the entry, and change nothing", "[examples][checkpoint]") {
  const fs::path dir = examples_test::scratch("checkpoint", "crafted");
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  struct Row {
    std::string what;
    std::function<void(nn::Archive&)> change;
    std::vector<std::string> message;
  };
  const std::vector<Row> rows = {
      {"epoch as a word", [](nn::Archive& a) { a.put_text("epoch", "three"); }, {"'epoch'", "\"three\"", "whole number"}},
      {"epoch beyond int64", [](nn::Archive& a) { a.put_text("epoch", "99999999999999999999"); }, {"'epoch'", "99999999999999999999"}},
      {"epoch out of range", [](nn::Archive& a) { a.put_text("epoch", "99999999999"); }, {"'epoch'", "99999999999", "outside 0 to"}},
      {"negative epoch", [](nn::Archive& a) { a.put_text("epoch", "-1"); }, {"'epoch'", "-1", "outside 0 to"}},
      {"epoch with trailing text", [](nn::Archive& a) { a.put_text("epoch", "2 epochs"); }, {"'epoch'", "\"2 epochs\""}},
      {"empty epoch", [](nn::Archive& a) { a.put_text("epoch", ""); }, {"'epoch'"}},
      {"epoch as a float tensor", [](nn::Archive& a) { a.put("epoch", scalar_tensor(2.0, float64)); }, {"'epoch'", "int64"}},
      {"empty history", [](nn::Archive& a) { a.put("history.train_loss", zeros({0}, float64)); },
       {"'history.train_loss'", "holds 0 values", "must hold 2"}},
      {"history longer than the epochs", [](nn::Archive& a) { a.put("history.test_accuracy", zeros({3}, float64)); },
       {"'history.test_accuracy'", "3 values"}},
      {"history as text", [](nn::Archive& a) { a.put_text("history.epoch_seconds", "1.5, 1.25"); },
       {"'history.epoch_seconds'", "text", "float64"}},
      {"history of the wrong dtype", [](nn::Archive& a) { a.put("history.test_loss", zeros({2}, float32)); },
       {"'history.test_loss'", "float32"}},
      {"NaN in the history", [nan](nn::Archive& a) { a.put("history.train_loss", tensor({0.5, nan}, {2}, float64)); },
       {"'history.train_loss'", "nan", "element 1"}},
      {"totals of the wrong length", [](nn::Archive& a) { a.put("history.totals", zeros({1}, float64)); },
       {"'history.totals'", "must hold 2"}},
      {"negative training seconds", [](nn::Archive& a) { a.put("history.totals", tensor({-5.0, -1.0}, {2}, float64)); },
       {"'history.totals'", "-5"}},
      {"missing history", [](nn::Archive& a) { nn::Archive b; for (auto& [n, v] : a.entries()) if (n != "history.totals") { if (auto* t = std::get_if<Tensor>(&v)) b.put(n, *t); else b.put_text(n, std::get<std::string>(v)); } a = b; },
       {"'history.totals'"}},
      {"learning rate as text", [](nn::Archive& a) { a.put_text("optimizer.group.0.lr", "0.01"); },
       {"'optimizer.group.0.lr'", "text", "learning rate"}},
      {"learning rate as int64", [](nn::Archive& a) { a.put("optimizer.group.0.lr", scalar_tensor(1, int64)); },
       {"'group.0.lr'", "float64"}},
      {"negative learning rate", [](nn::Archive& a) { a.put("optimizer.group.0.lr", scalar_tensor(-0.5, float64)); },
       {"learning rate", "-0.5"}},
      {"NaN learning rate", [nan](nn::Archive& a) { a.put("optimizer.group.0.lr", scalar_tensor(nan, float64)); },
       {"'optimizer.group.0.lr'", "nan"}},
      {"optimiser moment of the wrong shape", [](nn::Archive& a) { a.put("optimizer.0.exp_avg", zeros({4, 3})); },
       {"'0.exp_avg'", "[4, 3]", "[3, 4]"}},
      {"optimiser moment of the wrong dtype", [](nn::Archive& a) { a.put("optimizer.0.exp_avg", zeros({3, 4}, float64)); },
       {"'0.exp_avg'", "float64", "float32"}},
      {"unknown optimiser buffer", [](nn::Archive& a) { a.put("optimizer.0.velocity", zeros({3, 4})); },
       {"'0.velocity'", "exp_avg"}},
      {"optimiser of another type", [](nn::Archive& a) { a.put("optimizer.type", from_vector(std::vector<uint8_t>{'S', 'G', 'D'})); },
       {"SGD state"}},
      {"infinite optimiser moment", [inf](nn::Archive& a) { a.put("optimizer.1.exp_avg_sq", full({3}, inf)); },
       {"'optimizer.1.exp_avg_sq'", "inf"}},
      {"NaN weight", [nan](nn::Archive& a) { std::vector<float> w(12, 0.0f); w[5] = static_cast<float>(nan); a.put("model.0.weight", from_vector(w, {3, 4})); },
       {"'model.0.weight'", "nan", "element 5"}},
      {"infinite bias", [inf](nn::Archive& a) { a.put("model.2.bias", tensor({1.0, -inf}, {2})); }, {"'model.2.bias'", "-inf"}},
      {"weight of the wrong shape", [](nn::Archive& a) { a.put("model.0.weight", zeros({4, 3})); }, {"'model.0.weight'", "[4, 3]"}},
      {"weight as text", [](nn::Archive& a) { a.put_text("model.2.weight", "weights"); }, {"model.2.weight", "text"}},
      {"random state all zeros", [](nn::Archive& a) { a.put_text("rng", "xoshiro256** 0 0 0 0 0 0"); }, {"'rng'", "all zeros"}},
      {"random state with trailing text", [](nn::Archive& a) { a.put_text("rng", default_generator().state() + " x"); }, {"'rng'"}},
      {"random state as a tensor", [](nn::Archive& a) { a.put("rng", zeros({4}, int64)); }, {"'rng'"}},
  };
  for (size_t i = 0; i < rows.size(); ++i) {
    const Row& row = rows[i];
    INFO(row.what);
    const std::string path = crafted(dir, "crafted" + std::to_string(i) + ".nbl", row.change);
    Training target(3);
    target.history.train_loss = {9.0};
    target.history.train_seconds = 7.0;
    const std::string before = fingerprint(target);
    try {
      ex::load_checkpoint(path, *target.model, *target.optimizer, target.history);
      FAIL("the crafted checkpoint was accepted");
    } catch (const Error& error) {
      const std::string message = error.what();
      INFO(message);
      for (const std::string& part : row.message) CHECK_THAT(message, Contains(part));
      CHECK_THAT(message, Contains(path));
    }
    CHECK(fingerprint(target) == before);
  }
  fs::remove_all(dir);
}

TEST_CASE("checkpoint: mnist_mlp --resume of a crafted checkpoint exits 1 naming the entry", "[examples][checkpoint]") {
  const std::string data = mnist_dir();
  if (data.empty()) {
    WARN("MNIST not found beside the project (../shared/data/mnist); skipping");
    return;
  }
  const fs::path dir = examples_test::scratch("checkpoint", "mlp");
  const std::string common = " --limit 200 --hidden 16 --batch-size 50 --data " + data + " --out " + dir.string();
  const std::string saved = (dir / "saved.nbl").string();
  REQUIRE(run(NABLA_BIN_DIR "/mnist_mlp" + common + " --epochs 1 --save " + saved).exit_code == 0);
  const std::vector<std::pair<std::string, std::string>> changes = {
      {"three", "'epoch'"}, {"99999999999", "'epoch'"}, {"lr", "'optimizer.group.0.lr'"}, {"history", "'history.train_loss'"}};
  for (const auto& [change, entry] : changes) {
    INFO(change);
    nn::Archive archive = nn::read_archive(saved);
    if (change == "three" || change == "99999999999") archive.put_text("epoch", change);
    if (change == "lr") archive.put_text("optimizer.group.0.lr", "0.001");
    if (change == "history") archive.put("history.train_loss", zeros({0}, float64));
    const std::string path = (dir / (change + ".nbl")).string();
    nn::write_archive(path, archive);
    const Output out = run(NABLA_BIN_DIR "/mnist_mlp" + common + " --epochs 2 --resume " + path);
    INFO(out.text);
    CHECK(out.exit_code == 1);
    CHECK_THAT(out.text, Contains(entry) && Contains(path));
  }
  fs::remove_all(dir);
}
