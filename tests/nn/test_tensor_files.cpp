// Saving a bare tensor, a list or a map of tensors in one call, and loading them back.
#include <catch2/catch.hpp>

#include <cstdio>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "nabla/nn.hpp"

using namespace nabla;
using Catch::Contains;

namespace {

// A file name in the working directory, removed (with any temporary) when the test ends.
struct TempFile {
  std::string path;
  explicit TempFile(const std::string& name) : path("tensor_files_" + name + ".nbl") {}
  ~TempFile() {
    std::remove(path.c_str());
    std::remove((path + ".tmp").c_str());
  }
};

void check_same(const Tensor& loaded, const Tensor& original) {
  REQUIRE(loaded.defined());
  CHECK(loaded.dtype() == original.dtype());
  CHECK(loaded.shape() == original.shape());
  CHECK(loaded.to_vector<double>() == original.to_vector<double>());
}

}  // namespace

TEST_CASE("tensor files: one tensor, every dtype and shape", "[serialize][tensor_files]") {
  TempFile file("one");
  const std::vector<Tensor> tensors = {
      randn({3, 4}),
      randn({2, 3, 2}, float64),
      arange(int64_t{6}).reshape({2, 3}),
      from_vector(std::vector<uint8_t>{0, 7, 255}),
      from_vector(std::vector<int32_t>{-7, 0, 2147483647}),
      from_vector(std::vector<bool>{true, false, true}).reshape({3, 1}),
      scalar_tensor(2.5, float64),          // 0-d
      zeros({0, 3}),                        // empty
      randn({4, 3}, float64).t(),           // a strided view: saved as its values
  };
  for (const Tensor& original : tensors) {
    INFO("shape " << to_string(original.shape()) << " " << dtype_name(original.dtype()));
    nn::save(original, file.path);
    check_same(nn::load_tensor(file.path), original);
    Tensor into;  // libtorch's form
    nn::load(into, file.path);
    check_same(into, original);
  }
  CHECK_FALSE(std::filesystem::exists(file.path + ".tmp"));
}

TEST_CASE("tensor files: a loaded tensor is a fresh leaf", "[serialize][tensor_files]") {
  TempFile file("leaf");
  Tensor weight = randn({2, 2}).requires_grad_();
  Tensor derived = weight * 2.0;  // a non-leaf saves its values
  nn::save(derived, file.path, {.compress = true});
  const Tensor loaded = nn::load_tensor(file.path);
  CHECK_FALSE(loaded.requires_grad());
  CHECK(loaded.is_leaf());
  CHECK(loaded.equal(derived.detach()));
}

TEST_CASE("tensor files: a list of tensors", "[serialize][tensor_files]") {
  TempFile file("list");
  const std::vector<Tensor> originals = {randn({3}), arange(int64_t{4}), randn({2, 2}, float64)};
  nn::save(originals, file.path);
  const std::vector<Tensor> loaded = nn::load_tensors(file.path);
  REQUIRE(loaded.size() == 3);
  for (size_t i = 0; i < 3; ++i) check_same(loaded[i], originals[i]);
  std::vector<Tensor> into;
  nn::load(into, file.path);
  CHECK(into.size() == 3);
  // a braced list reads as a list
  nn::save({originals[1], originals[0]}, file.path);
  CHECK(nn::load_tensors(file.path)[0].dtype() == int64);
  nn::save(std::vector<Tensor>{}, file.path);
  CHECK(nn::load_tensors(file.path).empty());
}

TEST_CASE("tensor files: a map of named tensors", "[serialize][tensor_files]") {
  TempFile file("map");
  const std::map<std::string, Tensor> originals = {{"mean", randn({3})}, {"std", rand({3}, float64)},
                                                   {"layer.0.count", arange(int64_t{2})}};
  nn::save(originals, file.path, {.compress = true});
  const std::map<std::string, Tensor> loaded = nn::load_tensor_map(file.path);
  REQUIRE(loaded.size() == 3);
  for (const auto& [name, tensor] : originals) {
    INFO(name);
    REQUIRE(loaded.count(name) == 1);
    check_same(loaded.at(name), tensor);
  }
  std::map<std::string, Tensor> into;
  nn::load(into, file.path);
  CHECK(into.size() == 3);
}

TEST_CASE("tensor files: a module's file reads as a map of its state", "[serialize][tensor_files]") {
  TempFile file("module");
  nn::Linear linear(3, 2);
  nn::save(linear, file.path);
  const auto state = nn::load_tensor_map(file.path);
  REQUIRE(state.size() == 2);
  check_same(state.at("weight"), linear.weight);
  check_same(state.at("bias"), linear.bias);
  CHECK_THROWS_WITH(nn::load_tensor(file.path), Contains(file.path) && Contains("not a tensor file"));
}

TEST_CASE("tensor files: the wrong reader, and bad names, are refused with what to do", "[serialize][tensor_files]") {
  TempFile one("refuse_one"), list("refuse_list"), map("refuse_map");
  nn::save(randn({2}), one.path);
  nn::save(std::vector<Tensor>{randn({2}), randn({3})}, list.path);
  nn::save(std::map<std::string, Tensor>{{"a", randn({2})}}, map.path);
  CHECK_THROWS_WITH(nn::load_tensor(list.path), Contains("a list of 2 tensors") && Contains("nn::load_tensors"));
  CHECK_THROWS_WITH(nn::load_tensor(map.path), Contains("a map of 1 tensors") && Contains("nn::load_tensor_map"));
  CHECK_THROWS_WITH(nn::load_tensors(one.path), Contains("one tensor") && Contains("nn::load_tensor"));
  CHECK_THROWS_WITH(nn::load_tensor_map(one.path), Contains("one tensor") && Contains("nn::load_tensor"));
  CHECK_THROWS_WITH(nn::load_tensor_map(list.path), Contains("nn::load_tensors"));
  CHECK_THROWS_WITH(nn::save(std::map<std::string, Tensor>{{"nabla.content", randn({1})}}, map.path),
                    Contains("reserved"));
  CHECK_THROWS_WITH(nn::save(Tensor(), one.path), Contains("undefined"));
  CHECK_THROWS_WITH(nn::save(std::vector<Tensor>{randn({1}), Tensor()}, list.path), Contains("tensor 1") && Contains("undefined"));
  CHECK_THROWS_WITH(nn::load_tensor("no_such_file.nbl"), Contains("not found"));
  // the refused saves left the files as they were
  CHECK(nn::load_tensor_map(map.path).count("a") == 1);
  CHECK(nn::load_tensors(list.path).size() == 2);
}
