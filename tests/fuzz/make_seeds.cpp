// Writes the seed corpora of the fuzz targets with nabla's own writers (run by the build, so no
// large binaries live in the repository): make_seeds <folder> fills <folder>/<target>/.
#include <cstdio>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <nabla/nabla.hpp>

#include "fuzz_state_model.hpp"

namespace nn = nabla::nn;
namespace ds = nabla::datasets;
using nabla::Tensor;

namespace {

void idx_seeds(const std::filesystem::path& raw, const std::filesystem::path& gzip) {
  const std::map<std::string, Tensor> tensors = {
      {"bytes", nabla::arange(0, 12).reshape({3, 4}).to(nabla::uint8)},
      {"labels", nabla::tensor({3, 1, 4, 1, 5}).to(nabla::int64)},
      {"floats", nabla::linspace(-1.0, 1.0, 6).reshape({2, 3})},
      {"doubles", nabla::linspace(-1.0, 1.0, 4).to(nabla::float64)},
      {"images", nabla::arange(0, 2 * 5 * 5).reshape({2, 5, 5}).to(nabla::uint8)},
      {"empty", nabla::zeros({0, 28, 28}).to(nabla::uint8)},
      {"int32", nabla::tensor({-7, 65536}).to(nabla::int32)},
  };
  for (const auto& [name, values] : tensors) {
    ds::write_idx(raw / (name + "-idx"), values);
    ds::write_idx(gzip / (name + "-idx.gz"), values);
  }
}

void nbl_seeds(const std::filesystem::path& folder) {
  nn::save(nabla::randn({3, 4}), (folder / "tensor.nbl").string());
  nn::save(std::vector<Tensor>{nabla::arange(0, 5).to(nabla::int64), nabla::ones({2, 2}).to(nabla::uint8),
                               nabla::tensor({1.5}).to(nabla::float64), nabla::zeros({0, 3})},
           (folder / "list.nbl").string());
  nn::save(std::map<std::string, Tensor>{{"mean", nabla::tensor({0.5f})}, {"mask", nabla::ones({2}).to(nabla::bool_)},
                                         {"index", nabla::tensor({1, 2}).to(nabla::int32)}},
           (folder / "map.nbl").string());
  auto model = fuzz_support::state_model();
  nn::save(*model, (folder / "module.nbl").string());
  nn::save(*model, (folder / "module-compressed.nbl").string(), nn::WriteOptions{.compress = true});
  nn::Archive texts;
  texts.put_text("epoch", "3");
  texts.put_text("note", "a text entry");
  texts.put("scalar", nabla::tensor({2.0}).reshape({}));
  nn::write_archive((folder / "texts.nbl").string(), texts);
}

// A checkpoint as the examples write it, after a few optimiser steps (so the moments exist).
void state_seeds(const std::filesystem::path& folder) {
  for (int steps : {0, 2}) {
    auto model = fuzz_support::state_model();
    auto optimizer = fuzz_support::state_optimizer(*model);
    nabla::Generator generator(11);
    for (int step = 0; step < steps; ++step) {
      const Tensor x = nabla::randn({5, 4});
      optimizer->zero_grad();
      (*model)(x).square().mean().backward();
      optimizer->step();
    }
    nn::Archive archive;
    for (const auto& [name, value] : nn::module_state(*model).entries()) archive.put("model." + name, std::get<Tensor>(value));
    for (const auto& [name, value] : optimizer->state()) archive.put("optimizer." + name, value);
    archive.put_text("epoch", std::to_string(steps));
    archive.put_text("rng", generator.state());
    const std::string name = "checkpoint-" + std::to_string(steps);
    nn::write_archive((folder / (name + ".nbl")).string(), archive);
    nn::write_archive((folder / (name + "-compressed.nbl")).string(), archive, nn::WriteOptions{.compress = true});
  }
}

void safetensors_seeds(const std::filesystem::path& folder) {
  auto model = fuzz_support::state_model();
  nn::save(*model, (folder / "module.safetensors").string());
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: make_seeds <folder>\n");
    return 2;
  }
  try {
    const std::filesystem::path root = argv[1];
    for (const char* target : {"idx", "idx_gzip", "nbl", "state", "safetensors", "torch"}) {  // torch: none (no writer)
      std::filesystem::create_directories(root / target);
    }
    idx_seeds(root / "idx", root / "idx_gzip");
    nbl_seeds(root / "nbl");
    state_seeds(root / "state");
    safetensors_seeds(root / "safetensors");
  } catch (const std::exception& error) {
    std::fprintf(stderr, "make_seeds: %s\n", error.what());
    return 1;
  }
  return 0;
}
