#pragma once
// A fresh folder under the system temp dir for one test, removed with everything in it at scope
// exit (shared by the tests that write and damage files).
#include <unistd.h>

#include <filesystem>
#include <random>
#include <string>
#include <system_error>

namespace nn_test {

struct TempDir {
  std::filesystem::path path;
  explicit TempDir(const std::string& prefix = "nabla-test") {
    std::random_device device;
    path = std::filesystem::temp_directory_path() /
           (prefix + "-" + std::to_string(device()) + "-" + std::to_string(::getpid()));
    std::filesystem::create_directories(path);
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string file(const std::string& name) const { return (path / name).string(); }
};

}  // namespace nn_test
