// nabla-weights: look inside a weight file, or convert one format into another.
//
//   nabla-weights inspect cnn.pt                      names, dtypes, shapes, parameter count, metadata
//   nabla-weights convert cnn.pt cnn.safetensors      .pt / .safetensors / .nbl  ->  .safetensors / .nbl
//
// Reading never runs code from a .pt file (see nabla/nn/weights.hpp); every file is checked first.
#include <cstdio>
#include <string>

#include <nabla/nabla.hpp>

#include <cli.hpp>  // examples/common: --version, checked arguments, errors as one line

using namespace nabla;

namespace nabla_weights {

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
  CLI::App app{"Inspect a weight file or convert it: .pt/.pth (torch.save), .safetensors, .nbl -> .safetensors or .nbl",
               "nabla-weights"};
  app.require_subcommand(1);
  std::string file, in, out;
  CLI::App* inspect = app.add_subcommand("inspect", "list a file's tensors (name, dtype, shape) and metadata");
  inspect->add_option("FILE", file, "a .pt, .pth, .safetensors or .nbl file")->required();
  CLI::App* convert = app.add_subcommand("convert", "convert IN into OUT (the format from OUT's extension)");
  convert->add_option("IN", in, "a .pt, .pth, .safetensors or .nbl file")->required();
  convert->add_option("OUT", out, "a .safetensors or .nbl file")->required();
  return nabla::cli::run(app, argc, argv, [&] {
    return inspect->parsed() ? nabla_weights::inspect(file) : nabla_weights::convert(in, out);
  });
}
