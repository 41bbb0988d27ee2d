#pragma once
// PyTorch weights in and out: safetensors files (read and write) and torch.save files (.pt/.pth,
// read), besides nabla's own .nbl (docs/FORMAT.md describes all three).
//
//   nn::load(model, "cnn.safetensors");       // or "cnn.pt": the format follows the extension
//   nn::save(model, "cnn.safetensors");       // a file PyTorch reads (safetensors.torch.load_file)
//
// A nabla model defined as its PyTorch twin has the same state_dict names and layouts, so that is
// all it takes. For models whose names differ, LoadOptions maps names (a table or a function); with
// strict = false, whatever does not match is returned instead of refused.
//
// Reading never runs code: a .pt file is a zip holding a pickle, and nabla's pickle reader knows
// only the opcodes and the handful of globals a state_dict uses (collections.OrderedDict,
// torch._utils._rebuild_tensor_v2, the storage types, torch dtypes); any other global is refused
// by name. Every reader checks every offset, size and shape against the file before using it.
#include <cstddef>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "nabla/nn/module.hpp"

namespace nabla::nn {

// ---- weights (issue 15) -------------------------------------------------------------------------

// Named tensors as a file holds them, in the file's order, with its text metadata
// (safetensors "__metadata__"; for .pt, the top-level entries that are numbers or strings).
struct Weights {
  std::vector<std::string> names;        // in file order (safetensors: by data offset)
  std::map<std::string, Tensor> tensors;  // name -> tensor (leaves that require no grad)
  std::map<std::string, std::string> metadata;
  std::string source;  // the file it came from, for messages
  std::string format;  // "safetensors", "pt" or "nbl"

  bool contains(const std::string& name) const { return tensors.count(name) != 0; }
  // Throws naming the file and the entry when absent.
  const Tensor& at(const std::string& name) const;
  // Adds (or replaces) an entry at the end of `names`.
  void put(const std::string& name, const Tensor& tensor);
  int64_t numel() const;  // elements over all tensors
};

struct WeightsReadOptions {
  // safetensors: tensors whose data is aligned for their dtype view the memory-mapped file
  // (copy-on-write, private to this process) instead of being copied, so a large file costs no
  // second copy. Data converted on reading (F16, BF16) is always copied. false: copy everything.
  bool mmap = true;
};

// By extension: ".safetensors", ".pt"/".pth"/".bin" (torch.save zip), ".nbl" (a module or tensor-map
// file). Throws naming the file and the problem for anything malformed.
Weights read_weights(const std::string& path, WeightsReadOptions options = {});
Weights read_safetensors(const std::string& path, WeightsReadOptions options = {});
Weights read_torch(const std::string& path);
// The same readers over bytes in memory (`where` names them in messages); they copy what they keep.
Weights parse_safetensors(const void* data, size_t size, const std::string& where = "(memory)");
Weights parse_torch(const void* data, size_t size, const std::string& where = "(memory)");

// Writes safetensors (".safetensors") or .nbl (".nbl") by extension, atomically (a temporary file,
// fsync, rename). safetensors keeps every nabla dtype (F32, F64, I64, I32, U8, BOOL); metadata goes to
// "__metadata__". Writing .pt is not supported (PyTorch reads safetensors: see docs/GUIDE.md).
void write_weights(const std::string& path, const Weights& weights);
void write_safetensors(const std::string& path, const Weights& weights);
// The bytes write_safetensors would write.
std::string safetensors_bytes(const Weights& weights);

// A module's parameters and buffers by dotted name (state_dict order), sharing their storage.
Weights state_dict(const Module& module);

struct LoadOptions {
  // false: load the entries that match, return the rest instead of throwing.
  bool strict = true;
  // File name -> module name, for models whose names differ. `names` is looked up first; then
  // `rename` (when set) is applied to the result. Mapping a name to "" drops that entry.
  std::map<std::string, std::string> names;
  std::function<std::string(const std::string&)> rename;
};

// What did not match (empty when everything loaded), in module / file order.
struct LoadResult {
  std::vector<std::string> missing;     // module entries the file does not have
  std::vector<std::string> unexpected;  // file entries (after renaming) the module does not have
  std::vector<std::string> mismatched;  // in both, but of other shapes: "name: file [..] vs module [..]"
  bool ok() const { return missing.empty() && unexpected.empty() && mismatched.empty(); }
};

// Copies `weights` into the module's parameters and buffers (converting dtypes as PyTorch's
// load_state_dict does; shapes must agree). strict: any mismatch throws naming the first missing,
// unexpected and mis-shaped entry, and nothing is changed.
LoadResult load_state_dict(Module& module, const Weights& weights, const LoadOptions& options = {});
// read_weights + load_state_dict. (nn::load(module, path) without options does the same, strictly.)
LoadResult load(Module& module, const std::string& path, const LoadOptions& options);

}  // namespace nabla::nn
