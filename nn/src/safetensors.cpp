// safetensors files (docs/FORMAT.md): an 8-byte little-endian header length, a JSON header of
// name -> {dtype, shape, data_offsets} (plus an optional "__metadata__" of strings), then the raw
// little-endian data. Reading checks the whole header against the file before touching any data:
// every tensor must lie inside the data, the tensors must cover it exactly (no gaps, no overlaps,
// no trailing bytes), each byte range must fit its dtype and shape, and names must be unique.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>

#include "weights_detail.hpp"

namespace nabla::nn {

using namespace detail;

namespace {

// The Rust reference implementation refuses headers over 100 MB; so does nabla.
constexpr uint64_t kMaxHeaderSize = 100'000'000;
constexpr const char* kMetadataKey = "__metadata__";

// A read-only view of a file's bytes: memory-mapped (copy-on-write, so tensors viewing it may be
// written in place without touching the file), unmapped when the last tensor viewing it dies.
class Mapping {
 public:
  Mapping(void* data, size_t size) : data_(data), size_(size) {}
  Mapping(const Mapping&) = delete;
  Mapping& operator=(const Mapping&) = delete;
  ~Mapping() {
    if (data_) ::munmap(data_, size_);
  }
  unsigned char* data() const { return static_cast<unsigned char*>(data_); }
  size_t size() const { return size_; }

 private:
  void* data_;
  size_t size_;
};

struct Entry {
  std::string name;
  const ForeignDType* row;
  Shape shape;
  uint64_t begin, end;
};

[[noreturn]] void refuse(const std::string& where, const std::string& problem) {
  fail("read_safetensors: {} is not a valid safetensors file: {}", quoted(where), problem);
}

uint64_t as_offset(const nlohmann::json& value, const std::string& where, const std::string& name, const char* what) {
  if (!value.is_number_unsigned()) {
    refuse(where, fmt::format("tensor '{}' has {} {}, not a non-negative integer", name, what, value.dump()));
  }
  return value.get<uint64_t>();
}

Entry parse_entry(const std::string& name, const nlohmann::json& info, const std::string& where) {
  if (name.empty()) refuse(where, "a tensor has an empty name");
  if (!info.is_object()) refuse(where, fmt::format("entry '{}' is {}, not an object", name, info.type_name()));
  for (const auto& [key, value] : info.items()) {
    if (key != "dtype" && key != "shape" && key != "data_offsets") {
      refuse(where, fmt::format("tensor '{}' has unknown field '{}' (known: dtype, shape, data_offsets)", name, key));
    }
  }
  if (!info.contains("dtype") || !info.contains("shape") || !info.contains("data_offsets")) {
    refuse(where, fmt::format("tensor '{}' lacks one of dtype, shape, data_offsets", name));
  }
  const nlohmann::json& dtype = info["dtype"];
  if (!dtype.is_string()) refuse(where, fmt::format("tensor '{}' has dtype {}, not a string", name, dtype.dump()));
  const std::string dtype_text = dtype.get<std::string>();
  const ForeignDType* row = find_safetensors_dtype(dtype_text);
  if (!row) refuse(where, fmt::format("tensor '{}' has unknown dtype '{}'", name, dtype_text));
  if (row->conversion == Conversion::unsupported) {
    fail("read_safetensors: {}: tensor '{}' has dtype {} ({}), which nabla does not have (it reads F32, F64, I64, "
         "I32, U8, BOOL, and F16/BF16 as float32); convert it in PyTorch first",
         quoted(where), name, dtype_text, row->torch_dtype);
  }

  const nlohmann::json& shape_json = info["shape"];
  if (!shape_json.is_array()) refuse(where, fmt::format("tensor '{}' has shape {}, not a list", name, shape_json.dump()));
  if (shape_json.size() > static_cast<size_t>(Dims::kMaxDims)) {
    refuse(where, fmt::format("tensor '{}' has {} axes, more than the {} a nabla tensor can have", name,
                              shape_json.size(), Dims::kMaxDims));
  }
  Entry entry{name, row, {}, 0, 0};
  // The byte count is computed with overflow checks: a huge shape must be refused, not wrap around.
  uint64_t bytes = row->itemsize;
  bool overflow = false;
  for (const nlohmann::json& extent : shape_json) {
    const uint64_t value = as_offset(extent, where, name, "an extent");
    if (value > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) overflow = true;
    entry.shape.push_back(static_cast<int64_t>(value));
    if (value != 0 && bytes > std::numeric_limits<uint64_t>::max() / value) overflow = true;
    bytes *= value;
  }
  const nlohmann::json& offsets = info["data_offsets"];
  if (!offsets.is_array() || offsets.size() != 2) {
    refuse(where, fmt::format("tensor '{}' has data_offsets {}, not [begin, end]", name, offsets.dump()));
  }
  entry.begin = as_offset(offsets[0], where, name, "a data offset");
  entry.end = as_offset(offsets[1], where, name, "a data offset");
  if (entry.end < entry.begin) {
    refuse(where, fmt::format("tensor '{}' has data_offsets [{}, {}] that end before they begin", name, entry.begin,
                              entry.end));
  }
  const bool zero = std::any_of(entry.shape.begin(), entry.shape.end(), [](int64_t e) { return e == 0; });
  if (zero) {
    bytes = 0;
    overflow = false;
  }
  if (overflow || bytes != entry.end - entry.begin) {
    refuse(where, fmt::format("tensor '{}' of shape {} and dtype {} needs {} bytes, but its data_offsets [{}, {}] "
                              "hold {}",
                              name, entry.shape, dtype_text,
                              overflow ? std::string("more than 2^64") : std::to_string(bytes), entry.begin, entry.end,
                              entry.end - entry.begin));
  }
  return entry;
}

// The header, checked: entries sorted by where their data lies, and the metadata.
std::vector<Entry> parse_header(const unsigned char* bytes, size_t size, const std::string& where,
                                std::map<std::string, std::string>& metadata, uint64_t& data_start) {
  if (size < 8) refuse(where, fmt::format("it has {} bytes, fewer than the 8 of the header length", size));
  uint64_t header_size = 0;
  for (int i = 0; i < 8; ++i) header_size |= static_cast<uint64_t>(bytes[i]) << (8 * i);
  if (header_size > size - 8) {
    refuse(where, fmt::format("the header length {} is longer than the file ({} bytes after the length): the file is "
                              "truncated or not safetensors",
                              header_size, size - 8));
  }
  if (header_size > kMaxHeaderSize) {
    refuse(where, fmt::format("the header length {} exceeds the limit of {} bytes", header_size, kMaxHeaderSize));
  }
  if (header_size < 2 || bytes[8] != '{') refuse(where, "the header does not start with '{' (a JSON object)");
  data_start = 8 + header_size;

  // Parse, refusing duplicate names (a JSON object may repeat a key; the format may not).
  std::set<std::string> seen;
  nlohmann::json header;
  try {
    header = nlohmann::json::parse(
        bytes + 8, bytes + data_start,
        [&](int depth, nlohmann::json::parse_event_t event, nlohmann::json& parsed) {
          if (depth == 1 && event == nlohmann::json::parse_event_t::key) {
            const std::string& key = parsed.get_ref<const std::string&>();
            if (!seen.insert(key).second) refuse(where, fmt::format("the header names '{}' twice", key));
          }
          return true;
        });
  } catch (const nlohmann::json::exception& error) {
    refuse(where, fmt::format("the header is not valid JSON (or not UTF-8): {}", error.what()));
  }
  if (!header.is_object()) refuse(where, "the header is not a JSON object");

  std::vector<Entry> entries;
  for (const auto& [name, info] : header.items()) {
    if (name == kMetadataKey) {
      if (!info.is_object()) refuse(where, "__metadata__ is not an object of strings");
      for (const auto& [key, value] : info.items()) {
        if (!value.is_string()) refuse(where, fmt::format("__metadata__ entry '{}' is {}, not a string", key, value.dump()));
        metadata[key] = value.get<std::string>();
      }
      continue;
    }
    entries.push_back(parse_entry(name, info, where));
  }

  // The tensors must tile the data exactly: sorted by offset, each begins where the last ended.
  std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  const uint64_t data_size = size - data_start;
  uint64_t covered = 0;
  const Entry* previous = nullptr;
  for (const Entry& entry : entries) {
    if (entry.end > data_size) {
      refuse(where, fmt::format("tensor '{}' has data_offsets [{}, {}], past the end of the {} data bytes",
                                entry.name, entry.begin, entry.end, data_size));
    }
    if (entry.begin < covered) {
      refuse(where, fmt::format("tensors '{}' and '{}' overlap (bytes {} to {} of the data)", previous->name,
                                entry.name, entry.begin, covered));
    }
    if (entry.begin > covered) {
      refuse(where, fmt::format("bytes {} to {} of the data belong to no tensor (a gap before '{}')", covered,
                                entry.begin, entry.name));
    }
    covered = entry.end;
    previous = &entry;
  }
  if (covered != data_size) {
    refuse(where, fmt::format("the last {} bytes of the data belong to no tensor (the tensors end at byte {} of {})",
                              data_size - covered, covered, data_size));
  }
  return entries;
}

// Reads the checked entries; with `mapping`, aligned native data is viewed in place.
Weights build(const unsigned char* bytes, size_t size, const std::string& where,
              const std::shared_ptr<Mapping>& mapping) {
  Weights weights;
  weights.source = where;
  weights.format = "safetensors";
  uint64_t data_start = 0;
  const std::vector<Entry> entries = parse_header(bytes, size, where, weights.metadata, data_start);
  for (const Entry& entry : entries) {
    const unsigned char* source = bytes + data_start + entry.begin;
    const uint64_t length = entry.end - entry.begin;
    const bool aligned = reinterpret_cast<uintptr_t>(source) % entry.row->itemsize == 0;
    kernels::Tensor values;
    if (mapping && length > 0 && aligned && entry.row->conversion == Conversion::none &&
        std::endian::native == std::endian::little) {
      auto storage = Storage::wrap(const_cast<unsigned char*>(source), static_cast<size_t>(length),
                                   [keep = mapping](void*) {});
      values = kernels::Tensor(std::move(storage), entry.row->dtype, entry.shape, contiguous_strides(entry.shape), 0);
    } else {
      values = kernels::Tensor::empty(entry.shape, entry.row->dtype);
      decode_elements(*entry.row, source, static_cast<size_t>(shape_numel(entry.shape)), values.raw_data());
    }
    weights.put(entry.name, Tensor(std::move(values)));
  }
  return weights;
}

}  // namespace

Weights parse_safetensors(const void* data, size_t size, const std::string& where) {
  return build(static_cast<const unsigned char*>(data), size, where, nullptr);
}

Weights read_safetensors(const std::string& path, WeightsReadOptions options) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int error = errno;
    if (error == ENOENT) fail("read_safetensors: '{}' not found (no such file)", path);
    fail("read_safetensors: cannot open '{}': {}", path, std::strerror(error));
  }
  struct stat status {};
  if (::fstat(fd, &status) != 0 || !S_ISREG(status.st_mode)) {
    ::close(fd);
    fail("read_safetensors: '{}' is not a regular file", path);
  }
  const size_t size = static_cast<size_t>(status.st_size);
  if (size < 8) {
    ::close(fd);
    refuse(path, fmt::format("it has {} bytes, fewer than the 8 of the header length", size));
  }
  // MAP_PRIVATE: tensors may be written in place (copy-on-write) without changing the file.
  void* address = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
  const int error = errno;
  ::close(fd);
  if (address == MAP_FAILED) fail("read_safetensors: cannot map '{}': {}", path, std::strerror(error));
  auto mapping = std::make_shared<Mapping>(address, size);
  return build(mapping->data(), size, path, options.mmap ? mapping : nullptr);
}

std::string safetensors_bytes(const Weights& weights) {
  // Data ordered by element size, largest first (then file order), as the reference writer does:
  // with the header padded to 8 bytes, every tensor's data is then aligned for its dtype.
  struct Item {
    std::string name;
    kernels::Tensor values;
    const ForeignDType* row;
  };
  std::vector<Item> items;
  for (const std::string& name : weights.names) {
    if (name == kMetadataKey) fail("write_safetensors: '{}' is reserved for the metadata and cannot name a tensor", name);
    const kernels::Tensor values = weights.at(name).raw().contiguous();
    const ForeignDType* row = foreign_of(values.dtype());
    if (!row) fail("write_safetensors: tensor '{}' has dtype {}, which safetensors cannot hold", name, values.dtype());
    items.push_back({name, values, row});
  }
  std::stable_sort(items.begin(), items.end(),
                   [](const Item& a, const Item& b) { return a.row->itemsize > b.row->itemsize; });

  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!weights.metadata.empty()) header[kMetadataKey] = weights.metadata;
  uint64_t offset = 0;
  for (const Item& item : items) {
    const uint64_t bytes = static_cast<uint64_t>(item.values.numel()) * item.row->itemsize;
    header[item.name] = {{"dtype", std::string(item.row->safetensors)},
                         {"shape", item.values.shape().vec()},
                         {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
  }
  std::string text;
  try {
    text = header.dump();
  } catch (const nlohmann::json::exception& error) {
    fail("write_safetensors: a name or metadata text is not valid UTF-8 ({})", error.what());
  }
  text.append((8 - text.size() % 8) % 8, ' ');

  std::string out;
  out.reserve(8 + text.size() + offset);
  const uint64_t header_size = text.size();
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((header_size >> (8 * i)) & 0xff));
  out += text;
  for (const Item& item : items) {
    const size_t bytes = static_cast<size_t>(item.values.numel()) * item.row->itemsize;
    const char* data = static_cast<const char*>(item.values.raw_data());
    if constexpr (std::endian::native == std::endian::little) {
      out.append(data, bytes);
    } else {
      for (size_t at = 0; at < bytes; at += item.row->itemsize) {
        for (size_t b = item.row->itemsize; b-- > 0;) out.push_back(data[at + b]);
      }
    }
  }
  return out;
}

void write_safetensors(const std::string& path, const Weights& weights) {
  write_file_atomically(path, safetensors_bytes(weights), "write_safetensors");
}

}  // namespace nabla::nn
