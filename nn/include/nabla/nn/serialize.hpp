#pragma once
// Saving and loading: modules, optimiser state and training checkpoints, in one documented,
// versioned binary format (docs/FORMAT.md):
//
//   magic "\x89NBL\r\n\x1a\n" | version u32 | flags u32 | payload size u64 | stored size u64 | crc32 u32 |
//   payload (zlib-compressed when flags bit 0 is set) = entry count u32, then per entry:
//     name length u32, name (UTF-8) | kind u8 (0 tensor, 1 text) |
//     tensor: dtype u8 (0 float32, 1 float64, 2 int64, 3 uint8, 4 int32, 5 bool), rank u8, extents i64..., raw data |
//     text: length u64, bytes
//   all little-endian; the CRC-32 (zlib) covers the stored payload.
//
// Writing goes to "<path>.tmp", is flushed to disk and renamed over <path>, so a crash mid-write
// never destroys the previous file. Reading checks magic, version, sizes and CRC before anything
// is used; loading into a module or optimiser checks every name, dtype and shape first and
// changes nothing if any check fails.
#include <cstdint>
#include <initializer_list>
#include <map>
#include <string>
#include <variant>

#include "nabla/nn/module.hpp"
#include "nabla/nn/optim.hpp"

namespace nabla::nn {

// An ordered collection of named tensors and texts: the content of one file.
class Archive {
 public:
  void put(const std::string& name, const Tensor& tensor);
  void put_text(const std::string& name, const std::string& text);
  bool contains(const std::string& name) const { return entries_.count(name) != 0; }
  // Throws naming the entry (and the file it came from) when missing or of the other kind.
  const Tensor& tensor(const std::string& name) const;
  const std::string& text(const std::string& name) const;
  const std::map<std::string, std::variant<Tensor, std::string>>& entries() const& { return entries_; }
  // On a temporary (`for (auto& e : module_state(m).entries())`) the entries are moved out, so the loop
  // does not walk a map that died with the archive.
  std::map<std::string, std::variant<Tensor, std::string>> entries() && { return std::move(entries_); }
  // Where the archive was read from (for error messages); empty when built in memory.
  std::string source;

 private:
  std::map<std::string, std::variant<Tensor, std::string>> entries_;
};

struct WriteOptions {
  bool compress = false;  // zlib (deflate) the payload
};

void write_archive(const std::string& path, const Archive& archive, WriteOptions options = {});
Archive read_archive(const std::string& path);

// Every parameter and buffer, by dotted name.
Archive module_state(const Module& module);
// Copies the archive's values into the module; every name, dtype and shape must match exactly
// (no missing or extra entries), else it throws naming the entry and both shapes, changing nothing.
// `prefix` selects entries "prefix.<name>" (used by checkpoints holding several things).
void load_module_state(Module& module, const Archive& archive, const std::string& prefix = "");

void save(const Module& module, const std::string& path, WriteOptions options = {});
void load(Module& module, const std::string& path);
void save(const Optimizer& optimizer, const std::string& path, WriteOptions options = {});
void load(Optimizer& optimizer, const std::string& path);

// ---- tensors (issue 13) -----------------------------------------------------------------------
// A tensor, a list of tensors or a map of named tensors in one file (written atomically, like the
// rest; the file says which of the three it holds):
//   nn::save(weights, "w.nbl");                      Tensor w = nn::load_tensor("w.nbl");
//   nn::save(std::vector<Tensor>{a, b}, "ab.nbl");   std::vector<Tensor> ab = nn::load_tensors("ab.nbl");
//   nn::save(std::map<std::string, Tensor>{{"mean", m}}, "stats.nbl");
//   std::map<std::string, Tensor> stats = nn::load_tensor_map("stats.nbl");
// libtorch's form, loading into a variable, works as well: Tensor w; nn::load(w, "w.nbl").
// load_tensor_map also reads a module's file (its parameters and buffers by dotted name).
// Loaded tensors are new leaves that require no grad.
void save(const Tensor& tensor, const std::string& path, WriteOptions options = {});
void save(const std::vector<Tensor>& tensors, const std::string& path, WriteOptions options = {});
void save(std::initializer_list<Tensor> tensors, const std::string& path, WriteOptions options = {});  // save({a, b}, ...)
void save(const std::map<std::string, Tensor>& tensors, const std::string& path, WriteOptions options = {});
Tensor load_tensor(const std::string& path);
std::vector<Tensor> load_tensors(const std::string& path);
std::map<std::string, Tensor> load_tensor_map(const std::string& path);
void load(Tensor& tensor, const std::string& path);
void load(std::vector<Tensor>& tensors, const std::string& path);
void load(std::map<std::string, Tensor>& tensors, const std::string& path);

}  // namespace nabla::nn
