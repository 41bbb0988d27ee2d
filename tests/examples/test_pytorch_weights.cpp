// The README's "weights from PyTorch" claim, end to end: build/bin/pytorch_weights loads the
// PyTorch-trained cnn of ../shared/interop (from .pt and from .safetensors) and reaches, on the
// MNIST test set, the accuracy PyTorch 1.13 computes for the same weights: 9562 / 10000 (computed
// once with torch, pasted here). Skipped, saying so, without the fixtures or MNIST.
#include <catch2/catch.hpp>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "run_program.hpp"

namespace fs = std::filesystem;
using examples_test::shared_dir;

TEST_CASE("pytorch_weights evaluates the PyTorch-trained cnn at PyTorch's accuracy", "[examples][weights]") {
  const fs::path interop = shared_dir() / "interop";
  const fs::path mnist = shared_dir() / "data" / "mnist";
  if (!fs::exists(interop / "cnn.pt") || !fs::exists(mnist / "t10k-images-idx3-ubyte.gz")) {
    WARN("skipped: ../shared/interop (the PyTorch fixtures) or ../shared/data/mnist not found");
    return;
  }
  for (const char* file : {"cnn.pt", "cnn.safetensors"}) {
    const examples_test::Output result = examples_test::run(std::string(NABLA_BIN_DIR) + "/pytorch_weights --weights " +
                                                             (interop / file).string() + " --data " + mnist.string());
    INFO(result.text);
    CHECK(result.exit_code == 0);
    CHECK(result.text.find("test accuracy: 9562 / 10000 = 95.62 %") != std::string::npos);
  }
}
