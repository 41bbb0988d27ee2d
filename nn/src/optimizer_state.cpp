// An optimiser's state (Optimizer::state(): its moments, step counts and learning rate) as a file.
#include "nabla/nn/serialize.hpp"

namespace nabla::nn {

void save(const Optimizer& optimizer, const std::string& path, WriteOptions options) {
  Archive archive;
  for (const auto& [name, tensor] : optimizer.state()) archive.put(name, tensor);
  write_archive(path, archive, options);
}

void load(Optimizer& optimizer, const std::string& path) {
  const Archive archive = read_archive(path);
  std::map<std::string, Tensor> state;
  for (const auto& [name, value] : archive.entries()) {
    if (!std::holds_alternative<Tensor>(value)) {
      fail("load: '{}' holds text entry '{}', which is not part of an optimiser state; is it an optimiser file?", path,
           name);
    }
    state.emplace(name, std::get<Tensor>(value));
  }
  try {
    optimizer.load_state(state);
  } catch (const Error& error) {
    throw Error(fmt::format("load: '{}': {}", path, error.what()));
  }
}

}  // namespace nabla::nn
