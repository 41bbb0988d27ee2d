// Issue 17: the kill test. kill_trainer (tests/kill/kill_trainer.cpp) trains and checkpoints after
// every epoch with the examples' routine; it is SIGKILLed at 24 moments. Half of them land inside
// a write, deterministically: NABLA_TEST_SAVE_PAUSE_MS holds each save half-written for 150 ms, the
// test waits for the save's temporary file to appear and kills within the pause (and checks after
// the kill that the temporary is still there, i.e. that the kill did land inside the write). The
// others land at random moments. After every kill the checkpoint, if any, must load, and the next
// run must resume from it and, with its first save, leave no temporary file behind.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "checkpoint.hpp"
#include "nabla/nabla.hpp"

using namespace nabla;
namespace fs = std::filesystem;
namespace ex = nabla::examples;

extern char** environ;

namespace {

const std::string kTrainer = std::string(NABLA_BIN_DIR) + "/kill_trainer";

// Starts kill_trainer <checkpoint> <epochs> with its output in `log`; pause_ms > 0 sets
// NABLA_TEST_SAVE_PAUSE_MS.
pid_t start_trainer(const std::string& checkpoint, int epochs, const std::string& log, int pause_ms) {
  // Everything the child needs is built before fork: between fork and exec it only calls
  // async-signal-safe functions.
  std::vector<std::string> environment_strings;
  for (char** variable = environ; *variable; ++variable) {
    if (std::string(*variable).rfind("NABLA_TEST_SAVE_PAUSE_MS=", 0) != 0) environment_strings.emplace_back(*variable);
  }
  if (pause_ms > 0) environment_strings.push_back("NABLA_TEST_SAVE_PAUSE_MS=" + std::to_string(pause_ms));
  std::vector<char*> environment;
  for (std::string& variable : environment_strings) environment.push_back(variable.data());
  environment.push_back(nullptr);
  std::string program = kTrainer, epochs_text = std::to_string(epochs), path = checkpoint;
  char* arguments[] = {program.data(), path.data(), epochs_text.data(), nullptr};

  const pid_t child = ::fork();
  if (child == 0) {
    const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
      ::dup2(fd, 1);
      ::dup2(fd, 2);
    }
    ::execve(program.c_str(), arguments, environment.data());
    ::_exit(127);
  }
  return child;
}

int wait_for(pid_t child) {
  int status = 0;
  ::waitpid(child, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::vector<std::string> listing(const fs::path& folder) {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(folder)) names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

bool has_temporary_of(const fs::path& folder, pid_t writer) {
  const std::string prefix = "checkpoint.nbl.tmp." + std::to_string(writer) + ".";
  for (const std::string& name : listing(folder)) {
    if (name.rfind(prefix, 0) == 0) return true;
  }
  return false;
}

// The epoch of the checkpoint, loaded with the examples' routine into a fresh model (as
// kill_trainer builds it); -1 when there is no checkpoint yet.
int64_t load_epoch(const std::string& checkpoint) {
  if (!fs::exists(checkpoint)) return -1;
  auto model = std::make_shared<nn::Sequential>(std::initializer_list<std::shared_ptr<nn::Module>>{
      std::make_shared<nn::Linear>(32, 256), std::make_shared<nn::ReLU>(), std::make_shared<nn::Linear>(256, 10)});
  nn::Adam optimizer(model->parameters(), 1e-3);
  ex::History history;
  const std::string rng_before = default_generator().state();
  const int64_t epoch = ex::load_checkpoint(checkpoint, *model, optimizer, history);
  default_generator().set_state(rng_before);
  return epoch;
}

}  // namespace

TEST_CASE("kill: a training run SIGKILLed at 24 moments, 12 inside a write, always resumes", "[examples][kill]") {
  const fs::path dir = fs::temp_directory_path() / ("nabla-kill-" + std::to_string(::getpid()));
  const fs::path logs = dir / "logs";
  const fs::path folder = dir / "run";
  fs::remove_all(dir);
  fs::create_directories(logs);
  fs::create_directories(folder);
  const std::string checkpoint = (folder / "checkpoint.nbl").string();
  std::mt19937 random(2026);

  int trials = 0, inside_writes = 0;
  int64_t last_epoch = -1;
  for (int trial = 0; trial < 24; ++trial) {
    INFO("trial " << trial);
    const bool in_write = trial % 2 == 0;
    const std::string log = (logs / ("trial" + std::to_string(trial) + ".txt")).string();
    const pid_t child = start_trainer(checkpoint, 1000, log, in_write ? 150 : 0);
    REQUIRE(child > 0);
    if (in_write) {
      // Wait for this run's save to begin (its temporary appears), then kill within the pause.
      const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
      while (!has_temporary_of(folder, child) && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::microseconds(300));
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(std::uniform_int_distribution<int>(0, 100)(random)));
    } else {
      std::this_thread::sleep_for(std::chrono::milliseconds(std::uniform_int_distribution<int>(5, 250)(random)));
    }
    ::kill(child, SIGKILL);
    wait_for(child);
    ++trials;
    if (in_write && has_temporary_of(folder, child)) ++inside_writes;

    // The checkpoint left behind loads, and is not older than the last one.
    int64_t epoch = -1;
    REQUIRE_NOTHROW(epoch = load_epoch(checkpoint));
    CHECK(epoch >= last_epoch);

    // The next run resumes from it, and its first save removes the killed run's temporary.
    const std::string next_log = (logs / ("resume" + std::to_string(trial) + ".txt")).string();
    const int exit_code = wait_for(start_trainer(checkpoint, 1, next_log, 0));
    const std::string output = read_text(next_log);
    INFO(output);
    REQUIRE(exit_code == 0);
    if (epoch >= 0) CHECK_THAT(output, Catch::Contains("resumed at epoch " + std::to_string(epoch)));
    CHECK_THAT(output, Catch::Contains("saved epoch " + std::to_string(epoch < 0 ? 1 : epoch + 1)));
    CHECK(listing(folder) == std::vector<std::string>{"checkpoint.nbl"});
    last_epoch = load_epoch(checkpoint);
  }
  INFO(inside_writes << " of " << trials << " kills landed inside a write");
  CHECK(trials >= 20);
  CHECK(inside_writes >= trials / 2);
  CHECK(last_epoch >= 24);
  fs::remove_all(dir);
}
