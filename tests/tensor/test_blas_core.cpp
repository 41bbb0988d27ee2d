// OpenBLAS kernel selection (tensor/preinit/openblas_coretype.cpp): an executable linking nabla
// runs OpenBLAS's AVX-512 kernels on an AVX-512 CPU, leaves a user's OPENBLAS_CORETYPE alone, and
// hands the environment to main() as the user set it.
//
// The environment these tests run in may itself set OPENBLAS_CORETYPE, so the cases that need a
// particular environment run in a child: this binary started again with only the hidden test case
// named, and the environment changed.
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "../../tensor/preinit/openblas_coretype.hpp"
#include "reference.hpp"

using namespace nabla;
using namespace nabla::kernels;

namespace {

// The outcome of running this test binary again.
struct ChildRun {
  int status = -1;     // exit status; 0: the case passed, -1: it could not be started
  std::string output;  // its stdout and stderr, for the failure message
};

// Runs this test binary with only `test_name` and the environment minus OPENBLAS_CORETYPE, plus
// `extra` variables.
ChildRun run_self(const std::string& test_name, const std::vector<std::string>& extra) {
  std::vector<std::string> variables;
  for (char** entry = environ; *entry != nullptr; ++entry) {
    const std::string_view text(*entry);
    if (text.rfind("OPENBLAS_CORETYPE=", 0) == 0 || text.rfind("_=", 0) == 0) continue;
    variables.emplace_back(text);
  }
  variables.insert(variables.end(), extra.begin(), extra.end());
  variables.emplace_back("NABLA_BLAS_CORE_CHILD=1");
  std::vector<char*> envp;
  for (std::string& variable : variables) envp.push_back(variable.data());
  envp.push_back(nullptr);

  std::string program = "/proc/self/exe", name = test_name, warn = "-w", no_tests = "NoTests";
  std::vector<char*> argv = {program.data(), name.data(), warn.data(), no_tests.data(), nullptr};
  char log_path[] = "/tmp/nabla-blas-core-XXXXXX";
  const int log = mkstemp(log_path);
  ChildRun run;
  if (log < 0) return run;
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, log, STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, log, STDERR_FILENO);
  pid_t child = 0;
  int status = 0;
  if (posix_spawn(&child, program.c_str(), &actions, nullptr, argv.data(), envp.data()) == 0 &&
      waitpid(child, &status, 0) == child && WIFEXITED(status)) {
    run.status = WEXITSTATUS(status);
  }
  posix_spawn_file_actions_destroy(&actions);
  std::ifstream text(log_path);
  run.output.assign(std::istreambuf_iterator<char>(text), std::istreambuf_iterator<char>());
  close(log);
  unlink(log_path);
  return run;
}

bool in_child() { return std::getenv("NABLA_BLAS_CORE_CHILD") != nullptr; }

bool cpu_has_avx512() { return detail::openblas_core_level(detail::openblas_core_for_this_cpu()) == 2; }

}  // namespace

TEST_CASE("blas core: AVX-512 kernels on an AVX-512 CPU unless the user chose", "[blas]") {
  const NablaBlasPreinitRecord* record = nabla_blas_preinit_record();
  REQUIRE(record != nullptr);
  const std::string core = blas_core_name();
  INFO("OpenBLAS core " << core << ", preinit status " << record->status << ", selected '"
                        << record->core << "'");
  CHECK(record->status != 0);  // the preinit ran in this executable
  if (record->status == kNablaPreinitUserSet) {
    WARN("OPENBLAS_CORETYPE was set by the user, so OpenBLAS runs " << core
         << "; the child-process case below checks the default");
    return;
  }
  if (!cpu_has_avx512()) {
    SUCCEED("this CPU has no AVX-512");
    return;
  }
  CHECK(detail::openblas_core_level(core.c_str()) == 2);
}

TEST_CASE("blas core: a program started without OPENBLAS_CORETYPE gets the best kernels", "[blas]") {
  const ChildRun run = run_self("blas core child: default selection", {"_=nabla-test-underscore"});
  INFO(run.output);
  CHECK(run.status == 0);
  // It says once what it chose (when it chose anything).
  if (detail::openblas_core_for_this_cpu() != nullptr) {
    CHECK_THAT(run.output, Catch::Contains("nabla: selected OPENBLAS_CORETYPE="));
  }
}

TEST_CASE("blas core: a program started with OPENBLAS_CORETYPE keeps it", "[blas]") {
  if (detail::openblas_core_for_this_cpu() == nullptr) return;  // Haswell kernels need AVX2
  const ChildRun run = run_self("blas core child: user choice", {"OPENBLAS_CORETYPE=Haswell"});
  INFO(run.output);
  CHECK(run.status == 0);
  CHECK_THAT(run.output, !Catch::Contains("nabla:"));  // nothing to say
}

// ---- run only in the child processes started above ([.] hides them from normal runs; the
// variable keeps them from checking anything when named explicitly by hand)

TEST_CASE("blas core child: default selection", "[.][blas-child]") {
  if (!in_child()) return;
  const NablaBlasPreinitRecord* record = nabla_blas_preinit_record();
  const char* best = detail::openblas_core_for_this_cpu();
  if (best == nullptr) {
    CHECK(record->status == kNablaPreinitNoAdvice);
    return;
  }
  CHECK(record->status == kNablaPreinitSelected);
  CHECK(std::string(record->core) == best);
  const std::string core = blas_core_name();
  CHECK(detail::openblas_core_level(core.c_str()) >= detail::openblas_core_level(best));
  if (cpu_has_avx512()) CHECK(detail::openblas_core_level(core.c_str()) == 2);
  // The environment is handed back as it was: no OPENBLAS_CORETYPE, and the slot it borrowed
  // (the "_" variable) restored.
  CHECK(std::getenv("OPENBLAS_CORETYPE") == nullptr);
  REQUIRE(std::getenv("_") != nullptr);
  CHECK(std::string(std::getenv("_")) == "nabla-test-underscore");
  // Matrix products work with the selected kernels.
  CHECK(equal(matmul(eye(3), full({3, 2}, 2.0)), full({3, 2}, 2.0)));
}

TEST_CASE("blas core child: user choice", "[.][blas-child]") {
  if (!in_child()) return;
  const NablaBlasPreinitRecord* record = nabla_blas_preinit_record();
  CHECK(record->status == kNablaPreinitUserSet);
  CHECK(blas_core_name() == "Haswell");
  REQUIRE(std::getenv("OPENBLAS_CORETYPE") != nullptr);
  CHECK(std::string(std::getenv("OPENBLAS_CORETYPE")) == "Haswell");
}
