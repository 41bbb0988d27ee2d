// Finding the data: an explicit --data directory (or its mnist/ subfolder), $NABLA_DATA, and the
// messages when the files are not where the user said.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdlib>
#include <optional>

#include <nabla/datasets.hpp>

#include "helpers.hpp"

using namespace test_helpers;
using Catch::Contains;
namespace ds = nabla::datasets;

namespace {

void touch_mnist_files(const std::filesystem::path& dir, bool gzipped) {
  std::filesystem::create_directories(dir);
  for (const std::string& stem : ds::mnist_file_stems()) write_bytes(dir / (stem + (gzipped ? ".gz" : "")), {0});
}

// Sets an environment variable for one scope.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const std::string& value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    ::setenv(name, value.c_str(), 1);
  }
  ~ScopedEnv() {
    if (old_) ::setenv(name_, old_->c_str(), 1);
    else ::unsetenv(name_);
  }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

}  // namespace

TEST_CASE("find_mnist_dir takes an explicit directory or its mnist subfolder", "[data_path]") {
  TempDir dir;
  touch_mnist_files(dir / "mnist", /*gzipped=*/false);
  CHECK(ds::find_mnist_dir(dir.path()) == dir / "mnist");
  CHECK(ds::find_mnist_dir(dir / "mnist") == dir / "mnist");
  CHECK(ds::missing_mnist_files(dir / "mnist").empty());

  touch_mnist_files(dir / "fashion-mnist", /*gzipped=*/true);
  CHECK(ds::find_fashion_mnist_dir(dir.path()) == dir / "fashion-mnist");
}

TEST_CASE("an explicit directory without the files is an error, not a fallback", "[data_path][errors]") {
  TempDir dir;
  std::filesystem::create_directories(dir / "mnist");
  write_bytes(dir / "mnist" / "train-images-idx3-ubyte.gz", {0});
  CHECK(ds::missing_mnist_files(dir / "mnist") ==
        std::vector<std::string>{"train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"});
  CHECK_THROWS_WITH(ds::find_mnist_dir(dir.path()),
                    Contains("--data " + dir.path().string()) && Contains("lacks train-images-idx3-ubyte[.gz]") &&
                        Contains("lacks train-labels-idx1-ubyte[.gz]") && Contains("scripts/get-data"));
  CHECK_THROWS_WITH(ds::find_fashion_mnist_dir(dir / "nowhere"),
                    Contains("does not exist") && Contains("apt-get install dataset-fashion-mnist"));
}

TEST_CASE("a $NABLA_DATA without the files is an error naming it and the missing files, not a fallback", "[data_path][errors]") {
  TempDir empty, partial;
  write_bytes(partial / "train-images-idx3-ubyte.gz", {0});
  {
    ScopedEnv env("NABLA_DATA", empty.path().string());
    CHECK_THROWS_WITH(ds::find_mnist_dir(), Contains("$NABLA_DATA=" + empty.path().string()) &&
                                                Contains("lacks train-images-idx3-ubyte[.gz]") &&
                                                Contains((empty / "mnist").string() + " does not exist"));
    CHECK_THROWS_WITH(ds::find_fashion_mnist_dir(), Contains("$NABLA_DATA=" + empty.path().string()) &&
                                                        Contains("fashion-mnist does not exist"));
    // An explicit --data still wins over $NABLA_DATA.
    TempDir given;
    touch_mnist_files(given.path(), false);
    CHECK(ds::find_mnist_dir(given.path()) == given.path());
  }
  {
    ScopedEnv env("NABLA_DATA", partial.path().string());
    CHECK_THROWS_WITH(ds::find_mnist_dir(), Contains("lacks train-labels-idx1-ubyte[.gz]") &&
                                                !Contains("lacks train-images-idx3-ubyte[.gz], "));
  }
}

TEST_CASE("find_mnist_dir uses $NABLA_DATA and its mnist subfolder", "[data_path]") {
  TempDir direct, parent;
  touch_mnist_files(direct.path(), true);
  touch_mnist_files(parent / "mnist", true);
  touch_mnist_files(parent / "fashion-mnist", true);
  {
    ScopedEnv env("NABLA_DATA", direct.path().string());
    CHECK(ds::find_mnist_dir() == direct.path());
  }
  {
    ScopedEnv env("NABLA_DATA", parent.path().string());
    CHECK(ds::find_mnist_dir() == parent / "mnist");
    CHECK(ds::find_fashion_mnist_dir() == parent / "fashion-mnist");
    // The search order starts with $NABLA_DATA and includes the current directory's data/mnist.
    const auto dirs = ds::mnist_search_dirs();
    REQUIRE(dirs.size() >= 3);
    CHECK(dirs[0] == parent.path());
    CHECK(dirs[1] == parent / "mnist");
    CHECK(std::find(dirs.begin(), dirs.end(), (std::filesystem::current_path() / "data" / "mnist").lexically_normal()) !=
          dirs.end());
    const auto fashion = ds::fashion_mnist_search_dirs();
    CHECK(fashion.back() == "/usr/share/datasets/fashion-mnist");
  }
}
