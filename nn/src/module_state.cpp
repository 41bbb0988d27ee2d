// A module's state: every parameter and buffer by dotted name, saved and loaded as an archive.
// Loading checks every name, dtype and shape first and changes nothing when one is wrong.
#include <algorithm>
#include <set>
#include <vector>

#include "archive_format.hpp"
#include "nabla/nn/weights.hpp"

namespace nabla::nn {

using detail::describe_source;

namespace {

std::string entry_name(const std::string& prefix, const std::string& name) {
  return prefix.empty() ? name : prefix + "." + name;
}

// Parameters and buffers by dotted name, as handles (snapshot: as copies).
Archive collect_module_state(const Module& module, bool snapshot) {
  Archive archive;
  for (const auto& [name, parameter] : module.named_parameters()) {
    archive.put(name, snapshot ? parameter.raw().clone() : parameter.raw());
  }
  for (const auto& [name, buffer] : module.named_buffers()) archive.put(name, snapshot ? buffer.clone() : buffer);
  return archive;
}

}  // namespace

Archive module_state(const Module& module) { return collect_module_state(module, /*snapshot=*/true); }

void load_module_state(Module& module, const Archive& archive, const std::string& prefix) {
  const std::string where = describe_source(archive.source);
  std::vector<std::pair<std::string, Tensor>> targets;
  for (const auto& [name, parameter] : module.named_parameters()) targets.emplace_back(name, parameter.raw());
  for (const auto& [name, buffer] : module.named_buffers()) targets.emplace_back(name, buffer);

  // ---- check every name, dtype and shape before copying anything
  std::set<std::string> expected;
  std::vector<std::string> missing;
  for (const auto& [name, target] : targets) {
    const std::string key = entry_name(prefix, name);
    expected.insert(key);
    if (!archive.contains(key)) missing.push_back(key);
  }
  std::vector<std::string> unexpected;
  const std::string scope = prefix.empty() ? "" : prefix + ".";
  for (const auto& [key, value] : archive.entries()) {
    if (key.compare(0, scope.size(), scope) != 0) continue;  // another part of a checkpoint
    if (!expected.count(key)) unexpected.push_back(key);
  }
  if (!missing.empty() || !unexpected.empty()) {
    auto list = [](const std::vector<std::string>& names) {
      constexpr size_t kShown = 8;
      std::string out;
      for (size_t i = 0; i < std::min(names.size(), kShown); ++i) out += (i ? ", '" : "'") + names[i] + "'";
      if (names.size() > kShown) out += fmt::format(", ... ({} in all)", names.size());
      return out;
    };
    std::string problem;
    if (!missing.empty()) problem += fmt::format("missing {} that the {} has", list(missing), module.type_name());
    if (!unexpected.empty()) {
      problem += fmt::format("{}unexpected {} that the {} does not have", problem.empty() ? "" : "; ", list(unexpected),
                             module.type_name());
    }
    fail("load_module_state: {} does not match the module: {}; load a state saved from the same architecture", where,
         problem);
  }
  for (const auto& [name, target] : targets) {
    const std::string key = entry_name(prefix, name);
    const auto& value = archive.entries().at(key);
    if (!std::holds_alternative<Tensor>(value)) {
      fail("load_module_state: entry '{}' in {} is text, but the module's '{}' is a tensor", key, where, name);
    }
    const Tensor& source = std::get<Tensor>(value);
    if (source.shape() != target.shape() || source.dtype() != target.dtype()) {
      fail("load_module_state: entry '{}' is {} {} in {} but {} {} in the module; the saved model was built with "
           "other sizes",
           key, source.dtype(), source.shape(), where, target.dtype(), target.shape());
    }
  }

  // ---- copy into the existing storage, so handles to the parameters (an optimiser's) stay valid
  NoGradGuard no_grad;
  for (auto& [name, target] : targets) target.copy_(std::get<Tensor>(archive.entries().at(entry_name(prefix, name))));
}

// Foreign weight files (safetensors, torch.save) by extension; .nbl (and anything else) as before.
static bool is_foreign_weights(const std::string& path, bool writing) {
  auto ends_with = [&](const char* suffix) {
    const std::string s = suffix;
    return path.size() >= s.size() && path.compare(path.size() - s.size(), s.size(), s) == 0;
  };
  return ends_with(".safetensors") || (!writing && (ends_with(".pt") || ends_with(".pth")));
}

void save(const Module& module, const std::string& path, WriteOptions options) {
  if (is_foreign_weights(path, /*writing=*/true)) return write_weights(path, state_dict(module));
  write_archive(path, collect_module_state(module, /*snapshot=*/false), options);
}

void load(Module& module, const std::string& path) {
  if (is_foreign_weights(path, /*writing=*/false)) {
    load(module, path, LoadOptions{});
    return;
  }
  load_module_state(module, read_archive(path));
}

}  // namespace nabla::nn
