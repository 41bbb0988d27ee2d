#pragma once
// Private: a pickle reader for state_dicts. It knows the opcodes torch.save writes (protocols 2-5
// minus the object-building ones) and exactly the globals a state_dict uses; any other global is
// refused by name, so nothing a .pt file carries is ever run. Values form a tree: a container is
// frozen once placed in another, so a file cannot build cycles, and nesting is limited.
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "weights_detail.hpp"

namespace nabla::nn::detail::pickle {

struct Value;
using Ref = std::shared_ptr<Value>;

struct Value {
  enum class Kind { none, boolean, integer, floating, string, bytes, tuple, list, dict, global, storage, tensor };
  Kind kind = Kind::none;
  bool boolean = false;
  int64_t integer = 0;
  double floating = 0;
  std::string text;  // string, bytes, global ("module.name"), storage key
  std::vector<Ref> items;                     // tuple, list
  std::vector<std::pair<Ref, Ref>> entries;   // dict, in insertion order
  const ForeignDType* row = nullptr;          // storage: its element type
  int64_t storage_numel = 0;                  // storage: elements
  kernels::Tensor tensor;                     // tensor
  int depth = 0;        // nesting below this value
  bool frozen = false;  // inside another container: no longer mutable

  bool is_container() const { return kind == Kind::tuple || kind == Kind::list || kind == Kind::dict; }
  const char* kind_name() const;
};

// Gives the storage named `key` (element type `row`, `numel` elements) as nabla's dtype.
using StorageLoader =
    std::function<std::shared_ptr<Storage>(const std::string& key, const ForeignDType& row, int64_t numel)>;

// Runs the pickle in `data` (a .pt file's data.pkl) and returns its result. `where` names the file
// in messages.
Ref unpickle(const unsigned char* data, size_t size, const std::string& where, const StorageLoader& load_storage);

}  // namespace nabla::nn::detail::pickle
