// Issue 17, item 4: state that cannot be trusted is refused, and saves that are killed leave
// nothing behind for long. Optimizer::load_state refuses buffers its optimiser does not keep;
// Generator::set_state refuses the all-zero state, signs, bad flags and trailing text; every save
// writes a temporary of its own (unique per process and call) and the next good save removes the
// temporaries that killed writers left.
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <atomic>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "nabla/nn.hpp"
#include "temp_dir.hpp"

using namespace nabla;
using Catch::Contains;
namespace fs = std::filesystem;

namespace {

using nn_test::TempDir;

void touch(const fs::path& path, const std::string& bytes = "half a file") {
  std::ofstream out(path, std::ios::binary);
  out << bytes;
}

// The names in `folder`, sorted.
std::vector<std::string> listing(const fs::path& folder) {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(folder)) names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

// The id of a process that has exited (and been reaped), so that no process runs under it now.
pid_t dead_pid() {
  const pid_t child = ::fork();
  if (child == 0) ::_exit(0);
  int status = 0;
  ::waitpid(child, &status, 0);
  return child;
}

std::shared_ptr<nn::Linear> small_model() {
  manual_seed(4);
  return std::make_shared<nn::Linear>(3, 2);
}

}  // namespace

// ---- Optimizer::load_state

TEST_CASE("reliable: load_state refuses buffer names its optimiser does not keep", "[reliable][optim]") {
  auto model = small_model();
  nn::Adam adam(model->parameters(), 0.01);
  sum((*model)(ones({4, 3}))).backward();
  adam.step();
  const auto good = adam.state();
  REQUIRE(good.count("0.exp_avg"));

  auto bad = good;
  bad["0.momentum_buffer"] = zeros({2, 3});  // an SGD buffer, in an Adam state
  nn::Adam other(model->parameters(), 0.5);
  const auto before = other.state();
  CHECK_THROWS_WITH(other.load_state(bad), Contains("Adam.load_state") && Contains("'0.momentum_buffer'") &&
                                               Contains("exp_avg_sq") && Contains("max_exp_avg_sq"));
  CHECK(other.lr() == 0.5);  // unchanged
  CHECK(other.state().size() == before.size());

  bad = good;
  bad["1.made_up"] = zeros({2});
  CHECK_THROWS_WITH(other.load_state(bad), Contains("'1.made_up'") && Contains("made_up"));

  // The state it wrote itself loads, and only known buffers are carried into later saves.
  other.load_state(good);
  CHECK(other.lr() == 0.01);
  for (const auto& [name, tensor] : other.state()) CHECK(name.find("made_up") == std::string::npos);

  nn::SGD sgd(model->parameters(), {.lr = 0.1, .momentum = 0.9});
  auto sgd_state = sgd.state();
  sgd_state["0.exp_avg"] = zeros({2, 3});
  CHECK_THROWS_WITH(sgd.load_state(sgd_state), Contains("SGD.load_state") && Contains("'0.exp_avg'") &&
                                                   Contains("momentum_buffer"));
  nn::LBFGS lbfgs(model->parameters());
  auto lbfgs_state = lbfgs.state();
  lbfgs_state["0.step"] = zeros({}, int64);
  CHECK_THROWS_WITH(lbfgs.load_state(lbfgs_state), Contains("LBFGS.load_state") && Contains("'0.step'") &&
                                                       Contains("none"));
}

// ---- Generator::set_state

TEST_CASE("reliable: Generator::set_state refuses zeros, signs, bad flags and trailing text", "[reliable][random]") {
  Generator generator(7);
  generator.next_u64();
  const std::string good = generator.state();
  Generator copy(1);
  copy.set_state(good);
  CHECK(copy.state() == good);
  CHECK(copy.next_u64() == generator.next_u64());

  Generator target(3);
  const std::string before = target.state();
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"xoshiro256** 0 0 0 0 0 0", "all zeros"},
      {good + " trailing", "8 fields"},
      {good + " 1", "8 fields"},
      {"xoshiro256** 1 2 3 -4 0 0", "word 3"},
      {"xoshiro256** 1 2 3 +4 0 0", "word 3"},
      {"xoshiro256** 1 2 3 18446744073709551616 0 0", "word 3"},  // 2^64
      {"xoshiro256** 1 2 3x 4 0 0", "word 2"},
      {"xoshiro256** 1 2 3 4 2 0", "flag is '2'"},
      {"xoshiro256** 1 2 3 4 1 nan", "'nan'"},
      {"xoshiro256** 1 2 3 4 1 inf", "'inf'"},
      {"xoshiro256** 1 2 3 4 1", "6 fields"},
      {"mt19937 1 2 3 4 0 0", "not a generator state"},
      {"", "0 fields"},
  };
  for (const auto& [state, part] : bad) {
    INFO("state '" << state << "'");
    CHECK_THROWS_WITH(target.set_state(state), Contains("Generator::set_state") && Contains(part));
    CHECK(target.state() == before);
  }
}

// ---- atomic saves

TEST_CASE("reliable: a save leaves no temporary, and removes those of killed saves", "[reliable][serialize]") {
  TempDir dir;
  const std::string path = dir.file("model.nbl");
  auto model = small_model();
  nn::save(*model, path);
  CHECK(listing(dir.path) == std::vector<std::string>{"model.nbl"});

  // Temporaries left by killed writers (processes that no longer run), the old fixed name, one of
  // a writer that still runs (the test's parent: a save that may be in progress), and a file of
  // another path.
  const std::string dead = "model.nbl.tmp." + std::to_string(dead_pid()) + ".0";
  const std::string running = "model.nbl.tmp." + std::to_string(::getppid()) + ".3";
  touch(dir.path / dead);
  touch(dir.path / "model.nbl.tmp");
  touch(dir.path / running);
  touch(dir.path / "other.nbl.tmp.1.0");
  touch(dir.path / "model.nbl.tmp.notapid");
  nn::load(*model, path);  // the previous file is intact

  nn::save(*model, path);
  CHECK(listing(dir.path) ==
        std::vector<std::string>{"model.nbl", running, "model.nbl.tmp.notapid", "other.nbl.tmp.1.0"});
  nn::load(*model, path);
}

TEST_CASE("reliable: concurrent saves of one path never share a temporary", "[reliable][serialize]") {
  TempDir dir;
  const std::string path = dir.file("state.nbl");
  std::vector<std::thread> writers;
  std::atomic<int> failures{0};
  for (int t = 0; t < 4; ++t) {
    writers.emplace_back([&, t] {
      try {
        for (int i = 0; i < 20; ++i) nn::save(full({64, 64}, static_cast<double>(t), float64), path);
      } catch (const Error&) {
        ++failures;
      }
    });
  }
  for (std::thread& writer : writers) writer.join();
  CHECK(failures == 0);
  const Tensor loaded = nn::load_tensor(path);  // one writer's complete file
  const double first = loaded.at<double>({0, 0});
  CHECK(equal(loaded, full({64, 64}, first, float64)));
  CHECK(listing(dir.path) == std::vector<std::string>{"state.nbl"});
}

TEST_CASE("reliable: safetensors saves are atomic too", "[reliable][serialize]") {
  TempDir dir;
  const std::string path = dir.file("w.safetensors");
  touch(dir.path / ("w.safetensors.tmp." + std::to_string(dead_pid()) + ".7"));
  nn::Weights weights;
  weights.put("w", ones({2, 2}));
  nn::write_safetensors(path, weights);
  CHECK(listing(dir.path) == std::vector<std::string>{"w.safetensors"});
}
