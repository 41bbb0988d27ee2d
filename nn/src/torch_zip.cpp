// torch.save files (PyTorch >= 1.6): a zip archive "<name>/data.pkl" (the pickled object) plus
// "<name>/data/<key>" (one raw little-endian file per storage), read with libzip. The pickle is
// read by torch_pickle.cpp; this file finds the records, reads each storage once (tensors that
// share a storage become views of one nabla storage) and flattens the state_dict into Weights.
#include <zip.h>

#include <memory>
#include <unordered_map>

#include "torch_pickle.hpp"

namespace nabla::nn {

using namespace detail;

namespace {

// deflate cannot shrink data by more than about 1032:1, so an entry claiming more is lying.
constexpr uint64_t kMaxCompressionRatio = 1032;

struct ZipCloser {
  void operator()(zip_t* archive) const { zip_discard(archive); }
};
using ZipHandle = std::unique_ptr<zip_t, ZipCloser>;

class TorchFile {
 public:
  TorchFile(ZipHandle archive, std::string where, uint64_t file_size)
      : archive_(std::move(archive)), where_(std::move(where)), file_size_(file_size) {}

  Weights read();

 private:
  template <class... Args>
  [[noreturn]] void refuse(fmt::format_string<Args...> format, Args&&... args) const {
    fail("read_torch: {}: {}", quoted(where_), fmt::format(format, std::forward<Args>(args)...));
  }

  // The whole of record `name`, its size checked against the archive first.
  std::string read_record(const std::string& name) {
    zip_stat_t stat;
    zip_stat_init(&stat);
    if (zip_stat(archive_.get(), name.c_str(), 0, &stat) != 0) refuse("has no record '{}'", name);
    const uint64_t need = ZIP_STAT_SIZE | ZIP_STAT_COMP_SIZE | ZIP_STAT_COMP_METHOD | ZIP_STAT_INDEX;
    if ((stat.valid & need) != need) refuse("record '{}' has no size in the zip directory", name);
    if (stat.comp_size > file_size_) refuse("record '{}' claims {} bytes in a {}-byte file", name, stat.comp_size, file_size_);
    const bool stored = stat.comp_method == ZIP_CM_STORE;
    if ((stored && stat.size != stat.comp_size) || stat.size > stat.comp_size * kMaxCompressionRatio + 64) {
      refuse("record '{}' claims {} bytes from {} stored (the zip directory is corrupt)", name, stat.size,
             stat.comp_size);
    }
    std::unique_ptr<zip_file_t, int (*)(zip_file_t*)> file(zip_fopen_index(archive_.get(), stat.index, 0), &zip_fclose);
    if (!file) refuse("cannot open record '{}': {}", name, zip_strerror(archive_.get()));
    std::string bytes(static_cast<size_t>(stat.size), '\0');
    uint64_t got = 0;
    while (got < stat.size) {
      const zip_int64_t n = zip_fread(file.get(), bytes.data() + got, stat.size - got);
      if (n < 0) refuse("cannot read record '{}': {}", name, zip_file_strerror(file.get()));
      if (n == 0) break;
      got += static_cast<uint64_t>(n);
    }
    if (got != stat.size) refuse("record '{}' holds {} bytes, not the {} its directory entry gives", name, got, stat.size);
    return bytes;
  }

  // Storage `key`, read once and converted to nabla's dtype; every later tensor views the same one.
  std::shared_ptr<Storage> storage(const std::string& key, const ForeignDType& row, int64_t numel) {
    auto it = storages_.find(key);
    if (it != storages_.end()) {
      if (it->second.row != &row || it->second.numel != numel) {
        refuse("storage '{}' is used as two different types or sizes", key);
      }
      return it->second.storage;
    }
    const std::string bytes = read_record(prefix_ + "data/" + key);
    if (bytes.size() != static_cast<uint64_t>(numel) * row.itemsize) {
      refuse("storage '{}' holds {} bytes, but its {} elements of torch.{} need {}", key, bytes.size(), numel,
             row.torch_dtype, static_cast<uint64_t>(numel) * row.itemsize);
    }
    auto values = Storage::allocate(static_cast<size_t>(numel) * itemsize(row.dtype));
    decode_elements(row, reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<size_t>(numel), values->data());
    storages_.emplace(key, Loaded{&row, numel, values});
    return values;
  }

  void flatten(const pickle::Ref& dict, const std::string& prefix, int level, Weights& weights);

  struct Loaded {
    const ForeignDType* row;
    int64_t numel;
    std::shared_ptr<Storage> storage;
  };
  ZipHandle archive_;
  std::string where_;
  uint64_t file_size_;
  std::string prefix_;  // "<name>/" of "<name>/data.pkl"
  std::unordered_map<std::string, Loaded> storages_;
};

// A state_dict's tensors by name; a dict nested one level (a checkpoint {"model": state_dict, ...})
// gives "model.<name>". Numbers and strings at the top become metadata; anything else is skipped.
void TorchFile::flatten(const pickle::Ref& dict, const std::string& prefix, int level, Weights& weights) {
  using K = pickle::Value::Kind;
  for (const auto& [key, value] : dict->entries) {
    std::string name;
    if (key->kind == K::string) {
      name = key->text;
    } else if (key->kind == K::integer) {
      name = std::to_string(key->integer);
    } else {
      continue;
    }
    name = prefix + name;
    if (value->kind == K::tensor) {
      if (weights.contains(name)) refuse("names tensor '{}' twice", name);
      weights.put(name, Tensor(value->tensor));
    } else if (value->kind == K::dict && level == 0) {
      flatten(value, name + ".", level + 1, weights);
    } else if (level == 0 && value->kind == K::integer) {
      weights.metadata[name] = std::to_string(value->integer);
    } else if (level == 0 && value->kind == K::floating) {
      weights.metadata[name] = fmt::format("{}", value->floating);
    } else if (level == 0 && value->kind == K::string) {
      weights.metadata[name] = value->text;
    }
  }
}

Weights TorchFile::read() {
  // The pickle: exactly one "<name>/data.pkl" (or "data.pkl").
  const zip_int64_t count = zip_get_num_entries(archive_.get(), 0);
  std::string pickle_name;
  for (zip_int64_t i = 0; i < count; ++i) {
    const char* name = zip_get_name(archive_.get(), static_cast<zip_uint64_t>(i), 0);
    if (!name) continue;
    const std::string entry = name;
    const bool match = entry == "data.pkl" ||
                       (entry.size() > 9 && entry.compare(entry.size() - 9, 9, "/data.pkl") == 0 &&
                        entry.find('/') == entry.size() - 9);
    if (!match) continue;
    if (!pickle_name.empty()) refuse("holds two pickles, '{}' and '{}'", pickle_name, entry);
    pickle_name = entry;
  }
  if (pickle_name.empty()) refuse("is a zip without data.pkl, not a torch.save file");
  prefix_ = pickle_name.substr(0, pickle_name.size() - 8);
  zip_stat_t stat;
  if (zip_stat(archive_.get(), (prefix_ + "byteorder").c_str(), 0, &stat) == 0) {
    const std::string order = read_record(prefix_ + "byteorder");
    if (order != "little") refuse("stores its data in '{}' byte order; nabla reads little-endian files", order);
  }

  const std::string pickle = read_record(pickle_name);
  const pickle::Ref root = pickle::unpickle(
      reinterpret_cast<const unsigned char*>(pickle.data()), pickle.size(), where_,
      [this](const std::string& key, const ForeignDType& row, int64_t numel) { return storage(key, row, numel); });

  Weights weights;
  weights.source = where_;
  weights.format = "pt";
  if (root->kind == pickle::Value::Kind::tensor) {
    weights.put("tensor", Tensor(root->tensor));  // torch.save(tensor)
    return weights;
  }
  if (root->kind != pickle::Value::Kind::dict) {
    refuse("holds a {}, not a state_dict (a dict of tensors)", root->kind_name());
  }
  flatten(root, "", 0, weights);
  return weights;
}

[[noreturn]] void refuse_zip(const std::string& where, int code, const unsigned char* head, size_t size) {
  // torch.save before PyTorch 1.6 (or with _use_new_zipfile_serialization=False) writes bare pickles.
  if (size >= 2 && head[0] == 0x80 && head[1] <= 5) {
    fail("read_torch: '{}' is in the legacy torch.save format (a bare pickle, before PyTorch 1.6); load it in PyTorch "
         "and save it again with torch.save (or as .safetensors)",
         where);
  }
  zip_error_t error;
  zip_error_init_with_code(&error, code);
  const std::string reason = zip_error_strerror(&error);
  zip_error_fini(&error);
  fail("read_torch: '{}' is not a torch.save file (a zip archive): {}", where, reason);
}

}  // namespace

Weights read_torch(const std::string& path) {
  std::FILE* probe = std::fopen(path.c_str(), "rb");
  if (!probe) fail("read_torch: '{}' not found or unreadable", path);
  unsigned char head[2] = {};
  const size_t head_size = std::fread(head, 1, 2, probe);
  std::fseek(probe, 0, SEEK_END);
  const long size = std::ftell(probe);
  std::fclose(probe);
  int code = 0;
  zip_t* archive = zip_open(path.c_str(), ZIP_RDONLY | ZIP_CHECKCONS, &code);
  if (!archive) refuse_zip(path, code, head, head_size);
  return TorchFile(ZipHandle(archive), path, size < 0 ? 0 : static_cast<uint64_t>(size)).read();
}

Weights parse_torch(const void* data, size_t size, const std::string& where) {
  zip_error_t error;
  zip_error_init(&error);
  zip_source_t* source = zip_source_buffer_create(data, size, 0, &error);
  if (!source) {
    zip_error_fini(&error);
    fail("read_torch: {}: cannot read from memory", quoted(where));
  }
  zip_t* archive = zip_open_from_source(source, ZIP_RDONLY | ZIP_CHECKCONS, &error);
  if (!archive) {
    const int code = zip_error_code_zip(&error);
    zip_source_free(source);
    zip_error_fini(&error);
    refuse_zip(where, code, static_cast<const unsigned char*>(data), size);
  }
  zip_error_fini(&error);
  return TorchFile(ZipHandle(archive), where, size).read();
}

}  // namespace nabla::nn
