// Archive: named tensors and texts in memory, what an .nbl file holds.
#include "archive_format.hpp"

namespace nabla::nn {

using detail::describe_source;

void Archive::put(const std::string& name, const Tensor& tensor) {
  if (name.empty()) fail("Archive::put: entry names must be non-empty");
  if (!tensor.defined()) fail("Archive::put: entry '{}' is an undefined tensor", name);
  entries_.insert_or_assign(name, tensor);
}

void Archive::put_text(const std::string& name, const std::string& text) {
  if (name.empty()) fail("Archive::put_text: entry names must be non-empty");
  entries_.insert_or_assign(name, text);
}

const Tensor& Archive::tensor(const std::string& name) const {
  auto it = entries_.find(name);
  if (it == entries_.end()) fail("Archive: {} has no entry '{}'", describe_source(source), name);
  if (!std::holds_alternative<Tensor>(it->second)) {
    fail("Archive: entry '{}' in {} is text, not a tensor", name, describe_source(source));
  }
  return std::get<Tensor>(it->second);
}

const std::string& Archive::text(const std::string& name) const {
  auto it = entries_.find(name);
  if (it == entries_.end()) fail("Archive: {} has no entry '{}'", describe_source(source), name);
  if (!std::holds_alternative<std::string>(it->second)) {
    fail("Archive: entry '{}' in {} is a tensor, not text", name, describe_source(source));
  }
  return std::get<std::string>(it->second);
}

}  // namespace nabla::nn
