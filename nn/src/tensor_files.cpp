// A tensor, a list or a map of tensors as an .nbl archive. A text entry "nabla.content" says which
// ("tensor", "tensor list", "tensor map"); the tensors are entry "tensor", entries "0".."n-1", or
// the map's own names.
#include <string>

#include "archive_format.hpp"

namespace nabla::nn {

namespace {

constexpr const char* kContent = "nabla.content";
constexpr const char* kOneTensor = "tensor";
constexpr const char* kTensorList = "tensor list";
constexpr const char* kTensorMap = "tensor map";

// What the file says it holds ("" when it is not one of these: a module or optimiser file).
std::string content_of(const Archive& archive) {
  if (!archive.contains(kContent)) return "";
  const auto& value = archive.entries().at(kContent);
  return std::holds_alternative<std::string>(value) ? std::get<std::string>(value) : "";
}

std::string describe(const Archive& archive) {
  const std::string content = content_of(archive);
  if (content == kOneTensor) return "one tensor";
  if (content == kTensorList) return fmt::format("a list of {} tensors", archive.entries().size() - 1);
  if (content == kTensorMap) return fmt::format("a map of {} tensors", archive.entries().size() - 1);
  return "no saved tensors (it is not a tensor file: a module or optimiser file?)";
}

// A fresh leaf: a file's tensor must not alias the archive (which is gone after loading anyway).
Tensor leaf(const Tensor& tensor) { return Tensor(tensor.raw()); }

}  // namespace

void save(const Tensor& tensor, const std::string& path, WriteOptions options) {
  if (!tensor.defined()) fail("save: the tensor for '{}' is undefined", path);
  Archive archive;
  archive.put_text(kContent, kOneTensor);
  archive.put(kOneTensor, tensor);
  write_archive(path, archive, options);
}

void save(const std::vector<Tensor>& tensors, const std::string& path, WriteOptions options) {
  Archive archive;
  archive.put_text(kContent, kTensorList);
  for (size_t i = 0; i < tensors.size(); ++i) {
    if (!tensors[i].defined()) fail("save: tensor {} of the list for '{}' is undefined", i, path);
    archive.put(std::to_string(i), tensors[i]);
  }
  write_archive(path, archive, options);
}

void save(std::initializer_list<Tensor> tensors, const std::string& path, WriteOptions options) {
  save(std::vector<Tensor>(tensors), path, options);
}

void save(const std::map<std::string, Tensor>& tensors, const std::string& path, WriteOptions options) {
  Archive archive;
  archive.put_text(kContent, kTensorMap);
  for (const auto& [name, tensor] : tensors) {
    if (name.empty() || name == kContent) fail("save: '{}' cannot name a tensor (it is empty or reserved)", name);
    if (!tensor.defined()) fail("save: tensor '{}' of the map for '{}' is undefined", name, path);
    archive.put(name, tensor);
  }
  write_archive(path, archive, options);
}

Tensor load_tensor(const std::string& path) {
  const Archive archive = read_archive(path);
  if (content_of(archive) != kOneTensor) {
    fail("load_tensor: '{}' holds {}; read it with {}", path, describe(archive),
         content_of(archive) == kTensorList  ? "nn::load_tensors"
         : content_of(archive) == kTensorMap ? "nn::load_tensor_map"
                                             : "nn::load(module, path) or nn::load_tensor_map");
  }
  return leaf(archive.tensor(kOneTensor));
}

std::vector<Tensor> load_tensors(const std::string& path) {
  const Archive archive = read_archive(path);
  if (content_of(archive) != kTensorList) {
    fail("load_tensors: '{}' holds {}; read it with {}", path, describe(archive),
         content_of(archive) == kOneTensor ? "nn::load_tensor" : "nn::load_tensor_map");
  }
  const size_t count = archive.entries().size() - 1;
  std::vector<Tensor> out;
  out.reserve(count);
  for (size_t i = 0; i < count; ++i) {
    const std::string name = std::to_string(i);
    if (!archive.contains(name)) {
      fail("load_tensors: '{}' is a list of {} tensors without entry '{}' (the file is corrupt)", path, count, name);
    }
    out.push_back(leaf(archive.tensor(name)));
  }
  return out;
}

std::map<std::string, Tensor> load_tensor_map(const std::string& path) {
  const Archive archive = read_archive(path);
  const std::string content = content_of(archive);
  if (content == kOneTensor || content == kTensorList) {
    fail("load_tensor_map: '{}' holds {}; read it with {}", path, describe(archive),
         content == kOneTensor ? "nn::load_tensor" : "nn::load_tensors");
  }
  std::map<std::string, Tensor> out;
  for (const auto& [name, value] : archive.entries()) {
    if (name == kContent) continue;
    if (!std::holds_alternative<Tensor>(value)) {
      fail("load_tensor_map: '{}' holds text entry '{}', which is not a tensor", path, name);
    }
    out.emplace(name, leaf(std::get<Tensor>(value)));
  }
  return out;
}

void load(Tensor& tensor, const std::string& path) { tensor = load_tensor(path); }
void load(std::vector<Tensor>& tensors, const std::string& path) { tensors = load_tensors(path); }
void load(std::map<std::string, Tensor>& tensors, const std::string& path) { tensors = load_tensor_map(path); }

}  // namespace nabla::nn
