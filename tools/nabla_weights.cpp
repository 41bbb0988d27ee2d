// nabla-weights: look inside a weight file, or convert one format into another.
//
//   nabla-weights inspect cnn.pt                      names, dtypes, shapes, parameter count, metadata
//   nabla-weights convert cnn.pt cnn.safetensors      .pt / .safetensors / .nbl  ->  .safetensors / .nbl
//
// Reading never runs code from a .pt file (see nabla/nn/weights.hpp); every file is checked first.
#include <cstdio>
#include <string>

#include <nabla/nabla.hpp>

using namespace nabla;

namespace nabla_weights {

int usage() {
  std::fprintf(stderr,
               "usage: nabla-weights inspect FILE\n"
               "       nabla-weights convert IN OUT\n"
               "FILE/IN: .pt/.pth (torch.save), .safetensors, .nbl; OUT: .safetensors or .nbl\n");
  return 2;
}

int inspect(const std::string& path) {
  const nn::Weights weights = nn::read_weights(path);
  size_t width = 4;
  for (const std::string& name : weights.names) width = std::max(width, name.size());
  fmt::print("{} ({}): {} tensors, {} elements\n", path, weights.format, weights.names.size(), weights.numel());
  for (const std::string& name : weights.names) {
    const Tensor& tensor = weights.at(name);
    fmt::print("  {:<{}}  {:<7}  {}\n", name, width, tensor.dtype(), tensor.shape());
  }
  if (!weights.metadata.empty()) {
    fmt::print("metadata:\n");
    for (const auto& [key, value] : weights.metadata) fmt::print("  {}: {}\n", key, value);
  }
  return 0;
}

int convert(const std::string& in, const std::string& out) {
  const nn::Weights weights = nn::read_weights(in);
  nn::write_weights(out, weights);
  fmt::print("{} ({}) -> {}: {} tensors, {} elements\n", in, weights.format, out, weights.names.size(),
             weights.numel());
  return 0;
}

}  // namespace nabla_weights

int main(int argc, char** argv) {
  const std::string command = argc > 1 ? argv[1] : "";
  try {
    if (command == "inspect" && argc == 3) return nabla_weights::inspect(argv[2]);
    if (command == "convert" && argc == 4) return nabla_weights::convert(argv[2], argv[3]);
  } catch (const std::exception& error) {
    std::fprintf(stderr, "nabla-weights: %s\n", error.what());
    return 1;
  }
  return nabla_weights::usage();
}
