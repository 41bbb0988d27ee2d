#pragma once
// Shared by the tests that run the example programs as a user does: run a command and keep what it
// printed and its exit code, find MNIST beside the checkout, and make a fresh scratch directory.
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include <catch2/catch.hpp>

namespace examples_test {

struct Output {
  int exit_code = -1;
  std::string text;  // stdout and stderr together
};

// Runs `command` through the shell, stderr merged into stdout.
inline Output run(const std::string& command) {
  Output out;
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  REQUIRE(pipe != nullptr);
  std::array<char, 4096> buffer{};
  while (const size_t n = std::fread(buffer.data(), 1, buffer.size(), pipe)) out.text.append(buffer.data(), n);
  const int status = pclose(pipe);
  out.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return out;
}

// ../shared beside the source tree (NABLA_SOURCE_DIR at run time, else the configure-time path).
inline std::filesystem::path shared_dir() {
  const char* source = std::getenv("NABLA_SOURCE_DIR");
  return std::filesystem::path(source ? source : NABLA_SOURCE_DIR_FALLBACK) / ".." / "shared";
}

// The MNIST directory CI provides, or empty when this checkout has none beside it.
inline std::string mnist_dir() {
  const std::filesystem::path dir = shared_dir() / "data" / "mnist";
  return std::filesystem::exists(dir / "train-images-idx3-ubyte.gz") ? std::filesystem::canonical(dir).string()
                                                                       : std::string();
}

// A fresh, empty scratch directory for one test: <temp>/nabla-<prefix>-<name>-<pid>.
inline std::filesystem::path scratch(const std::string& prefix, const std::string& name) {
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("nabla-" + prefix + "-" + name + "-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

}  // namespace examples_test
