// libFuzzer target: loading a training checkpoint — module state (load_module_state), optimiser
// state (Optimizer::load_state) and generator state (Generator::set_state) from one .nbl archive,
// as the examples resume (fuzz_state_model.hpp). Every input must be loaded or refused with
// nabla::Error, and a refused load must leave the model, optimiser and generator unchanged. The
// header CRC is made to match first (fuzz_crc.hpp). Build and run: see tests/fuzz/README.md.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <nabla/nabla.hpp>
#include <nabla/nn/archive_bytes.hpp>

#include "fuzz_crc.hpp"
#include "fuzz_state_model.hpp"

namespace nn = nabla::nn;

namespace {

// Every name and value of a state, flattened (to compare before and after a refused load).
std::vector<std::pair<std::string, std::vector<double>>> flatten(const std::map<std::string, nabla::Tensor>& state) {
  std::vector<std::pair<std::string, std::vector<double>>> values;
  for (const auto& [name, tensor] : state) values.emplace_back(name, tensor.to(nabla::float64).to_vector<double>());
  return values;
}
std::vector<std::pair<std::string, std::vector<double>>> snapshot(const nn::Module& model) {
  std::map<std::string, nabla::Tensor> state;
  for (const auto& [name, value] : nn::module_state(model).entries()) state[name] = std::get<nabla::Tensor>(value);
  return flatten(state);
}

void require(bool condition, const char* what) {
  if (!condition) {
    fprintf(stderr, "fuzz_state: %s\n", what);
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::vector<unsigned char> bytes = fuzz_support::with_matching_crc(data, size);
  nn::Archive archive;
  try {
    archive = nn::parse_archive(bytes.data(), bytes.size(), "fuzz input");
  } catch (const nabla::Error&) {
    return 0;
  }
  auto model = fuzz_support::state_model();
  auto optimizer = fuzz_support::state_optimizer(*model);
  const auto model_before = snapshot(*model);
  const auto optimizer_before = flatten(optimizer->state());

  try {
    nn::load_module_state(*model, archive, "model");
  } catch (const nabla::Error&) {
    require(snapshot(*model) == model_before, "a refused module state changed the model");
  }

  std::map<std::string, nabla::Tensor> optimizer_state;
  for (const auto& [name, value] : archive.entries()) {
    if (name.rfind("optimizer.", 0) == 0) {
      if (const nabla::Tensor* tensor = std::get_if<nabla::Tensor>(&value)) optimizer_state[name.substr(10)] = *tensor;
    }
  }
  try {
    optimizer->load_state(optimizer_state);
  } catch (const nabla::Error&) {
    require(flatten(optimizer->state()) == optimizer_before, "a refused optimiser state changed the optimiser");
  }

  if (archive.contains("rng")) {
    try {
      nabla::Generator generator(7);
      generator.set_state(archive.text("rng"));
      (void)generator.next_u64();
      (void)generator.normal();
    } catch (const nabla::Error&) {
    }
  }
  return 0;
}
