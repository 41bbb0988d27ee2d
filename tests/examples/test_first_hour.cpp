// Issue 18, "the first hour with nabla": what a new user meets first, tested by running the real
// binaries — --version on every program, flags that check themselves in one plain line, the
// nearest flag for a typo, errors as "program: message" with exit code 1, --json alone on stdout,
// the data directory said once and a $NABLA_DATA without the files refused.
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "nabla/nabla.hpp"
#include "nabla/version.hpp"
#include "progress.hpp"

namespace fs = std::filesystem;
using Catch::Contains;

namespace {

struct Run {
  int exit_code = -1;
  bool exited = false;  // false: killed by a signal (an abort)
  std::string out, err;
};

// Runs `command` through the shell with stdout and stderr captured separately.
Run run(const std::string& command) {
  const fs::path err_file = fs::temp_directory_path() / ("nabla-first-hour-" + std::to_string(::getpid()) + ".err");
  Run result;
  FILE* pipe = popen((command + " 2>" + err_file.string()).c_str(), "r");
  REQUIRE(pipe != nullptr);
  std::array<char, 4096> buffer{};
  while (fgets(buffer.data(), buffer.size(), pipe)) result.out += buffer.data();
  const int status = pclose(pipe);
  result.exited = WIFEXITED(status);
  result.exit_code = result.exited ? WEXITSTATUS(status) : -1;
  std::ifstream in(err_file);
  std::stringstream text;
  text << in.rdbuf();
  result.err = text.str();
  fs::remove(err_file);
  return result;
}

std::string binary(const std::string& name) { return std::string(NABLA_BIN_DIR) + "/" + name; }

std::string mnist_dir() {
  const char* source = std::getenv("NABLA_SOURCE_DIR");
  const fs::path dir = fs::path(source ? source : NABLA_SOURCE_DIR_FALLBACK) / ".." / "shared" / "data" / "mnist";
  return fs::exists(dir / "train-images-idx3-ubyte.gz") ? fs::canonical(dir).string() : std::string();
}

size_t count_lines(const std::string& text) {
  size_t lines = 0;
  for (char c : text) lines += c == '\n';
  return lines;
}

size_t count_of(const std::string& text, const std::string& piece) {
  size_t count = 0;
  for (size_t at = text.find(piece); at != std::string::npos; at = text.find(piece, at + 1)) ++count;
  return count;
}

// Every program a user runs.
const std::vector<std::string> kPrograms{"mnist_mlp", "mnist_cnn", "fashion_mnist", "custom_model", "custom_op",
                                         "mnist_loop", "mnist_sequence", "char_lm", "mnist_dcgan", "pytorch_weights",
                                         "nabla-weights", "nabla-bench", "nabla-tape-overhead"};

// The classifier programs, which share examples/common's flags.
const std::vector<std::string> kClassifiers{"mnist_mlp", "mnist_cnn", "fashion_mnist", "custom_model", "mnist_sequence"};

}  // namespace

TEST_CASE("first hour: every program answers --version with nabla's version and --help", "[examples][cli]") {
  for (const std::string& program : kPrograms) {
    INFO(program);
    const Run version = run(binary(program) + " --version");
    CHECK(version.exit_code == 0);
    CHECK_THAT(version.out, Contains(program + " " + NABLA_VERSION_STRING) && Contains("nabla " + nabla::version()) &&
                                Contains("OpenBLAS"));
    const Run help = run(binary(program) + " --help");
    CHECK(help.exit_code == 0);
    CHECK_THAT(help.out, Contains("--version") && Contains("--help"));
  }
  // custom_op has no flags of its own, but --help is help, not a run.
  CHECK_FALSE(Catch::contains(run(binary("custom_op") + " --help").out, "gradcheck:"));
}

TEST_CASE("first hour: a bad flag value is one plain line naming the flag and the rule, exit code 1", "[examples][cli]") {
  struct Case {
    std::string arguments, message;
  };
  const std::vector<Case> cases{
      {"--epochs 0", "--epochs must be at least 1 (got 0)"},
      {"--limit -5", "--limit must be at least 0 (got -5)"},
      {"--threads -3", "--threads must be at least 0 (got -3)"},
      {"--batch-size 0", "--batch-size must be at least 1"},
      {"--lr 0", "--lr must be greater than 0"},
      {"--lr -1e-3", "--lr must be greater than 0"},
      {"--momentum 1.5", "--momentum must be at least 0 and below 1"},
      {"--weight-decay -1", "--weight-decay must be at least 0"},
      {"--optimizer adma", "--optimizer must be one of sgd, adam, adamw, rmsprop (got adma)"},
      {"--schedule linear", "--schedule must be one of none, cosine, step"},
      {"--epochs abc", "--epochs must be a number, not 'abc'"},
      {"--epochs 1.5", "--epochs must be a whole number, not '1.5'"},
      {"--epochs", "--epochs needs a value"},
      {"--epochs 2 --epochs 3", "--epochs is given more than once; give it once"},
  };
  for (const std::string& program : kClassifiers) {
    for (const Case& c : cases) {
      INFO(program << " " << c.arguments);
      const Run result = run(binary(program) + " " + c.arguments);
      CHECK(result.exited);
      CHECK(result.exit_code == 1);
      CHECK(result.out.empty());
      CHECK_THAT(result.err, Catch::StartsWith(program + ": " + c.message));
      CHECK(count_lines(result.err) == 1);
    }
  }
  // The programs with flags of their own check them too.
  const std::vector<Case> own{
      {"mnist_mlp --dropout 1", "mnist_mlp: --dropout must be at least 0 and below 1 (got 1)"},
      {"mnist_mlp --activation gelu", "mnist_mlp: --activation must be one of sigmoid, relu, tanh (got gelu)"},
      {"mnist_mlp --hidden 30,x --data /nonexistent", "mnist_mlp: "},
      {"char_lm --epochs 0", "char_lm: --epochs must be at least 1 (got 0)"},
      {"char_lm --threads -3", "char_lm: --threads must be at least 0 (got -3)"},
      {"char_lm --seq-len 1", "char_lm: --seq-len must be at least 2 and at most 4096 (got 1)"},
      {"char_lm --temperature 0", "char_lm: --temperature must be greater than 0"},
      {"mnist_loop --limit -5", "mnist_loop: --limit must be at least 0 (got -5)"},
      {"mnist_loop --epochs 0", "mnist_loop: --epochs must be at least 1 (got 0)"},
      {"nabla-bench --threads -3", "nabla-bench: --threads must be at least 1 (got -3)"},
      {"nabla-bench --limit -5", "nabla-bench: --limit must be at least 0 (got -5)"},
      {"nabla-bench --model resnet", "nabla-bench: --model must be one of mlp30, mlp, cnn, lstm, vit, dcgan (got resnet)"},
      {"nabla-tape-overhead --ops 0", "nabla-tape-overhead: --ops must be at least 1 (got 0)"},
      {"nabla-weights", "nabla-weights: "},
      {"nabla-weights inspect", "nabla-weights: "},
      {"nabla-weights inspect /nonexistent/file.pt", "nabla-weights: "},
  };
  for (const Case& c : own) {
    INFO(c.arguments);
    const Run result = run(binary(c.arguments));
    CHECK(result.exited);
    CHECK(result.exit_code == 1);
    CHECK_THAT(result.err, Catch::StartsWith(c.message));
    CHECK(count_lines(result.err) == 1);
  }
}

TEST_CASE("first hour: a mistyped flag gets the nearest one suggested", "[examples][cli]") {
  for (const std::string& program : kClassifiers) {
    INFO(program);
    const Run result = run(binary(program) + " --epoch 1");
    CHECK(result.exit_code == 1);
    CHECK(result.err == program + ": unknown flag --epoch; did you mean --epochs?\n");
  }
  CHECK(run(binary("mnist_mlp") + " --hiden 64").err == "mnist_mlp: unknown flag --hiden; did you mean --hidden?\n");
  CHECK(run(binary("mnist_mlp") + " --batchsize=32").err ==
        "mnist_mlp: unknown flag --batchsize; did you mean --batch-size?\n");
  CHECK(run(binary("char_lm") + " --seqlen 8").err == "char_lm: unknown flag --seqlen; did you mean --seq-len?\n");
  CHECK(run(binary("nabla-bench") + " --thread 2").err == "nabla-bench: unknown flag --thread; did you mean --threads?\n");
  CHECK(run(binary("custom_op") + " --verison").err == "custom_op: unknown flag --verison; did you mean --version?\n");
  CHECK_THAT(run(binary("mnist_cnn") + " --zzzzzz").err, Contains("unknown flag --zzzzzz (--help lists the flags)"));
  CHECK_THAT(run(binary("mnist_cnn") + " stray").err, Contains("mnist_cnn: unexpected argument stray"));
}

TEST_CASE("first hour: a $NABLA_DATA or --data without the files is an error naming the directory and files", "[examples][cli][data]") {
  const fs::path empty = fs::temp_directory_path() / ("nabla-first-hour-empty-" + std::to_string(::getpid()));
  fs::create_directories(empty);
  for (const std::string program : {"mnist_mlp", "mnist_cnn", "mnist_loop", "nabla-bench"}) {
    INFO(program);
    const Run result = run("NABLA_DATA=" + empty.string() + " " + binary(program) + " --epochs 1");
    CHECK(result.exit_code == 1);
    CHECK_THAT(result.err, Contains(program + ": MNIST: $NABLA_DATA=" + empty.string()) &&
                               Contains("lacks train-images-idx3-ubyte[.gz]"));
  }
  const Run fashion = run("NABLA_DATA=" + empty.string() + " " + binary("fashion_mnist") + " --epochs 1");
  CHECK(fashion.exit_code == 1);
  CHECK_THAT(fashion.err, Contains("$NABLA_DATA=" + empty.string()) && Contains("fashion-mnist does not exist"));
  const Run given = run("env -u NABLA_DATA " + binary("mnist_cnn") + " --data " + empty.string());
  CHECK(given.exit_code == 1);
  CHECK_THAT(given.err, Contains("--data " + empty.string()) && Contains("t10k-labels-idx1-ubyte[.gz]"));
  fs::remove_all(empty);
}

TEST_CASE("first hour: a short run says its data once, --json is stdout's only line, errors never abort", "[examples][cli][e2e]") {
  const std::string data = mnist_dir();
  if (data.empty()) {
    WARN("MNIST not found beside the project (../shared/data/mnist); skipping");
    return;
  }
  const fs::path out = fs::temp_directory_path() / ("nabla-first-hour-json-" + std::to_string(::getpid()));
  // NABLA_PROGRESS=always: the progress bars draw as on a terminal, so that "evaluating" shows.
  const Run result = run("NABLA_PROGRESS=always " + binary("mnist_mlp") + " --epochs 1 --limit 2000 --json --data " + data +
                         " --out " + out.string());
  INFO(result.err);
  REQUIRE(result.exit_code == 0);
  // `mnist_mlp --json | jq` works: one line, a JSON object.
  CHECK(count_lines(result.out) == 1);
  CHECK_THAT(result.out, Catch::StartsWith("{\"example\":\"mnist_mlp\"") && Catch::EndsWith("}\n"));
  // The human report went to stderr, with the data directory named exactly once.
  CHECK_THAT(result.err, Contains("precision") && Contains("test accuracy"));
  CHECK(count_of(result.err, "MNIST data: " + data + "\n") == 1);
  CHECK_THAT(result.err, Contains("evaluating ["));
  // Pictures drawn at twice their size: the 10x4 grid of 28x28 digits at scale 2, doubled again.
  for (const char* picture : {"samples.png", "predictions.png", "confusion.png", "curves.png"}) {
    INFO(picture);
    CHECK(fs::file_size(out / picture) > 1000);
  }
  // An unwritable --out is a message, not an abort (exit 134): any exception becomes one line.
  const Run bad_out = run(binary("mnist_mlp") + " --epochs 1 --limit 100 --data " + data + " --out /proc/nope/deeper");
  CHECK(bad_out.exited);
  CHECK(bad_out.exit_code == 1);
  CHECK_THAT(bad_out.err, Contains("mnist_mlp: --out: cannot create the directory /proc/nope/deeper"));
  // The OpenBLAS note (README, "Threads and BLAS"): at most once, naming the kernels --version
  // reports, when nabla chose them; never when OPENBLAS_CORETYPE is set by the user.
  const std::string short_run = " --epochs 1 --limit 100 --data " + data + " --out " + (out / "blas").string();
  const Run chosen = run("env -u OPENBLAS_CORETYPE " + binary("mnist_mlp") + short_run);
  REQUIRE(chosen.exit_code == 0);
  const size_t notes = count_of(chosen.err, "nabla: selected OPENBLAS_CORETYPE=");
  CHECK(notes <= 1);
  if (notes == 1) {
    const std::string version = run("env -u OPENBLAS_CORETYPE " + binary("mnist_mlp") + " --version").out;
    const size_t at = chosen.err.find("OPENBLAS_CORETYPE=") + 18;
    const std::string core = chosen.err.substr(at, chosen.err.find(' ', at) - at);
    CHECK_THAT(version, Contains("OpenBLAS " + core + " kernels"));
  }
  const Run user_set = run("OPENBLAS_CORETYPE=Haswell " + binary("mnist_mlp") + short_run);
  CHECK(user_set.exit_code == 0);
  CHECK(count_of(user_set.err, "nabla: selected") == 0);
  CHECK_THAT(run("OPENBLAS_CORETYPE=Haswell " + binary("mnist_mlp") + " --version").out, Contains("OpenBLAS Haswell kernels"));
  // char_lm's --json too.
  const fs::path words = out / "words.txt";
  {
    std::ofstream text(words);
    for (int i = 0; i < 300; ++i) text << "kalo" << (i % 7) << "mine\n";
  }
  const Run lm = run(binary("char_lm") + " --epochs 1 --seq-len 8 --json --text " + words.string() + " --out " +
                     (out / "lm").string());
  INFO(lm.err);
  REQUIRE(lm.exit_code == 0);
  CHECK(count_lines(lm.out) == 1);
  CHECK_THAT(lm.out, Catch::StartsWith("{\"example\":\"char_lm\""));
  fs::remove_all(out);
}

TEST_CASE("first hour: the progress bar shows no rate or time left until a second and a few batches have passed", "[examples][progress]") {
  using nabla::examples::rate_is_meaningful;
  CHECK_FALSE(rate_is_meaningful(1, 5.0));   // one batch: warm-up
  CHECK_FALSE(rate_is_meaningful(50, 0.2));  // a fifth of a second
  CHECK(rate_is_meaningful(3, 1.0));
  CHECK(rate_is_meaningful(100, 2.5));
}
