// Weights: named tensors from any weight file (picked by its first bytes), written by extension,
// and loaded into a module by name with optional renaming and non-strict matching.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>

#include "nabla/nn/serialize.hpp"
#include "weights_detail.hpp"

namespace nabla::nn {

using namespace detail;

// ---- Weights

const Tensor& Weights::at(const std::string& name) const {
  auto it = tensors.find(name);
  if (it == tensors.end()) {
    fail("Weights: {} has no tensor '{}'", source.empty() ? std::string("(weights built in memory)") : quoted(source),
         name);
  }
  return it->second;
}

void Weights::put(const std::string& name, const Tensor& tensor) {
  if (name.empty()) fail("Weights::put: tensor names must be non-empty");
  if (!tensor.defined()) fail("Weights::put: tensor '{}' is undefined", name);
  if (tensors.insert_or_assign(name, tensor).second) names.push_back(name);
}

int64_t Weights::numel() const {
  int64_t total = 0;
  for (const auto& [name, tensor] : tensors) total += tensor.numel();
  return total;
}

// ---- files

namespace {

enum class Kind { safetensors, torch, nbl };

std::string extension_of(const std::string& path) {
  std::string extension = std::filesystem::path(path).extension().string();
  std::transform(extension.begin(), extension.end(), extension.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return extension;
}

// By the first bytes: a zip is torch.save's, \x89NBL is nabla's; safetensors has no magic.
Kind sniff(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) {
    if (!std::filesystem::exists(path)) fail("read_weights: '{}' not found (no such file)", path);
    fail("read_weights: cannot open '{}': {}", path, std::strerror(errno));
  }
  char magic[4] = {};
  file.read(magic, 4);
  if (file.gcount() == 4 && std::memcmp(magic, "PK\x03\x04", 4) == 0) return Kind::torch;
  if (file.gcount() == 4 && std::memcmp(magic, "\x89NBL", 4) == 0) return Kind::nbl;
  return Kind::safetensors;
}

Weights from_archive(const Archive& archive) {
  Weights weights;
  weights.source = archive.source;
  weights.format = "nbl";
  for (const auto& [name, value] : archive.entries()) {
    if (const Tensor* tensor = std::get_if<Tensor>(&value)) {
      weights.put(name, Tensor(tensor->raw()));
    } else if (name != "nabla.content") {
      weights.metadata[name] = std::get<std::string>(value);
    }
  }
  return weights;
}

void sync_parent_directory(const std::string& path) {
  std::filesystem::path folder = std::filesystem::path(path).parent_path();
  if (folder.empty()) folder = ".";
  const int fd = ::open(folder.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

}  // namespace

void detail::write_file_atomically(const std::string& path, std::string_view bytes, const char* op) {
  const std::string temporary = path + ".tmp";
  FILE* file = std::fopen(temporary.c_str(), "wb");
  if (!file) fail("{}: cannot create '{}': {}", op, temporary, std::strerror(errno));
  auto abandon = [&](const char* step) {
    const int error = errno;
    std::fclose(file);
    std::remove(temporary.c_str());
    fail("{}: {} '{}' failed: {} (the previous '{}', if any, is untouched)", op, step, temporary, std::strerror(error),
         path);
  };
  if (std::fwrite(bytes.data(), 1, bytes.size(), file) != bytes.size()) abandon("writing");
  if (std::fflush(file) != 0) abandon("flushing");
  if (::fsync(fileno(file)) != 0) abandon("syncing");
  if (std::fclose(file) != 0) {
    const int error = errno;
    std::remove(temporary.c_str());
    fail("{}: closing '{}' failed: {}", op, temporary, std::strerror(error));
  }
  if (std::rename(temporary.c_str(), path.c_str()) != 0) {
    const int error = errno;
    std::remove(temporary.c_str());
    fail("{}: renaming '{}' to '{}' failed: {}", op, temporary, path, std::strerror(error));
  }
  sync_parent_directory(path);
}

Weights read_weights(const std::string& path, WeightsReadOptions options) {
  switch (sniff(path)) {
    case Kind::torch: return read_torch(path);
    case Kind::nbl: return from_archive(read_archive(path));
    case Kind::safetensors: break;
  }
  return read_safetensors(path, options);
}

void write_weights(const std::string& path, const Weights& weights) {
  const std::string extension = extension_of(path);
  if (extension == ".safetensors") return write_safetensors(path, weights);
  if (extension == ".nbl") {
    // Tensors only, as a module's file: nn::load(module, path) reads it. (Metadata has no place there.)
    Archive archive;
    for (const std::string& name : weights.names) archive.put(name, weights.at(name));
    return write_archive(path, archive);
  }
  if (extension == ".pt" || extension == ".pth") {
    fail("write_weights: '{}': nabla does not write torch.save files; write .safetensors, which PyTorch reads with "
         "safetensors.torch.load_file (or nabla's reader in docs/FORMAT.md)",
         path);
  }
  fail("write_weights: '{}' has extension '{}'; use .safetensors or .nbl", path, extension);
}

Weights state_dict(const Module& module) {
  Weights weights;
  weights.format = "state_dict";
  for (const auto& [name, parameter] : module.named_parameters()) weights.put(name, Tensor(parameter.raw()));
  for (const auto& [name, buffer] : module.named_buffers()) weights.put(name, Tensor(buffer.raw()));
  return weights;
}

// ---- loading into a module

LoadResult load_state_dict(Module& module, const Weights& weights, const LoadOptions& options) {
  const std::string where = weights.source.empty() ? std::string("the weights") : quoted(weights.source);
  std::vector<std::pair<std::string, kernels::Tensor>> targets;
  for (const auto& [name, parameter] : module.named_parameters()) targets.emplace_back(name, parameter.raw());
  for (const auto& [name, buffer] : module.named_buffers()) targets.emplace_back(name, buffer.raw());

  // File names -> module names.
  std::map<std::string, std::string> source_of;  // module name -> file name
  std::vector<std::string> mapped_order;
  for (const std::string& file_name : weights.names) {
    std::string name = file_name;
    if (auto it = options.names.find(name); it != options.names.end()) name = it->second;
    if (options.rename) name = options.rename(name);
    if (name.empty()) continue;  // dropped on purpose
    if (!source_of.emplace(name, file_name).second) {
      fail("load: {}: entries '{}' and '{}' both map to '{}'; fix the name mapping", where, source_of[name], file_name,
           name);
    }
    mapped_order.push_back(name);
  }

  LoadResult result;
  std::set<std::string> expected;
  for (const auto& [name, target] : targets) {
    expected.insert(name);
    auto it = source_of.find(name);
    if (it == source_of.end()) {
      result.missing.push_back(name);
      continue;
    }
    const Tensor& source = weights.at(it->second);
    if (source.shape() != target.shape()) {
      result.mismatched.push_back(fmt::format("{}: {} in the file but {} in the module", name, source.shape(),
                                              target.shape()));
    }
  }
  for (const std::string& name : mapped_order) {
    if (!expected.count(name)) result.unexpected.push_back(name);
  }

  if (options.strict && !result.ok()) {
    auto first = [](const std::vector<std::string>& names) {
      return names.size() == 1 ? fmt::format("'{}'", names[0])
                               : fmt::format("'{}' (and {} more)", names[0], names.size() - 1);
    };
    std::vector<std::string> problems;
    if (!result.missing.empty()) problems.push_back("missing " + first(result.missing) + " that the module has");
    if (!result.unexpected.empty()) {
      problems.push_back("unexpected " + first(result.unexpected) + " that the module does not have");
    }
    if (!result.mismatched.empty()) problems.push_back("mis-shaped " + first(result.mismatched));
    fail("load: {} does not match the {}: {}; define the model as the one that was saved, map the names "
         "(LoadOptions::names / rename), or pass strict = false",
         where, module.type_name(), fmt::join(problems, "; "));
  }

  // Copy into the existing storage, so handles to the parameters (an optimiser's) stay valid.
  NoGradGuard no_grad;
  std::set<std::string> mismatched;
  for (const std::string& entry : result.mismatched) mismatched.insert(entry.substr(0, entry.find(": ")));
  for (auto& [name, target] : targets) {
    auto it = source_of.find(name);
    if (it == source_of.end() || mismatched.count(name)) continue;
    target.copy_(weights.at(it->second).raw());
  }
  return result;
}

LoadResult load(Module& module, const std::string& path, const LoadOptions& options) {
  return load_state_dict(module, read_weights(path), options);
}

}  // namespace nabla::nn
