#include "nabla/nn/serialize.hpp"

#include <fcntl.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <limits>
#include <memory>
#include <set>
#include <vector>

namespace nabla::nn {

namespace {

// ---- the format (docs/FORMAT.md)

constexpr unsigned char kMagic[8] = {0x89, 'N', 'B', 'L', '\r', '\n', 0x1a, '\n'};
constexpr uint32_t kVersion = 1;
constexpr uint32_t kFlagCompressed = 1u << 0;
constexpr uint32_t kKnownFlags = kFlagCompressed;
constexpr size_t kHeaderSize = 8 + 4 + 4 + 8 + 8 + 4;
constexpr uint8_t kKindTensor = 0;
constexpr uint8_t kKindText = 1;
// deflate cannot shrink data by more than about 1032:1, so a header claiming more is lying.
constexpr uint64_t kMaxCompressionRatio = 1032;

uint8_t dtype_code(DType dtype) {
  switch (dtype) {
    case DType::float32: return 0;
    case DType::float64: return 1;
    case DType::int64: return 2;
    case DType::uint8: return 3;
  }
  fail("write_archive: unknown dtype");
}

std::string describe_source(const std::string& source) {
  return source.empty() ? std::string("(an archive built in memory)") : fmt::format("'{}'", source);
}

// ---- little-endian encoding, independent of the host's byte order

class Writer {
 public:
  template <class T>
  void put(T value) {
    static_assert(std::is_integral_v<T> && std::is_unsigned_v<T>);
    for (size_t i = 0; i < sizeof(T); ++i) bytes_.push_back(static_cast<char>((value >> (8 * i)) & 0xff));
  }
  void put_bytes(const void* data, size_t size) { bytes_.append(static_cast<const char*>(data), size); }

  // Appends a tensor's elements, each little-endian.
  void put_elements(const Tensor& tensor) {
    const kernels::Tensor packed = tensor.raw().contiguous();
    const size_t size = static_cast<size_t>(packed.numel()) * itemsize(packed.dtype());
    if constexpr (std::endian::native == std::endian::little) {
      put_bytes(packed.raw_data(), size);
    } else {
      const size_t item = itemsize(packed.dtype());
      const char* data = static_cast<const char*>(packed.raw_data());
      for (size_t offset = 0; offset < size; offset += item) {
        for (size_t b = item; b-- > 0;) bytes_.push_back(data[offset + b]);
      }
    }
  }

  std::string& bytes() { return bytes_; }

 private:
  std::string bytes_;
};

// Reads from a byte range; every read checks the bytes remaining, so a bad length can never make
// it read past the end or allocate more than the input could hold.
class Reader {
 public:
  Reader(const unsigned char* data, size_t size, std::string where)
      : data_(data), size_(size), where_(std::move(where)) {}

  size_t position() const { return position_; }
  size_t remaining() const { return size_ - position_; }

  template <class T>
  T get(const char* what) {
    need(sizeof(T), what);
    T value = 0;
    for (size_t i = 0; i < sizeof(T); ++i) value |= static_cast<T>(static_cast<T>(data_[position_ + i]) << (8 * i));
    position_ += sizeof(T);
    return value;
  }

  const unsigned char* get_bytes(uint64_t size, const char* what) {
    need(size, what);
    const unsigned char* start = data_ + position_;
    position_ += static_cast<size_t>(size);
    return start;
  }

  void need(uint64_t size, const char* what) const {
    if (size > remaining()) {
      fail("read_archive: {}: {} needs {} bytes at payload byte {}, but only {} remain (the file is corrupt)",
           where_, what, size, position_, remaining());
    }
  }

 private:
  const unsigned char* data_;
  size_t size_;
  size_t position_ = 0;
  std::string where_;
};

Tensor read_tensor(Reader& reader, const std::string& where, const std::string& name) {
  const uint8_t code = reader.get<uint8_t>("a dtype code");
  if (code > 3) {
    fail("read_archive: {}: entry '{}' has bad dtype code {} (known: 0 float32, 1 float64, 2 int64, 3 uint8)", where,
         name, code);
  }
  const DType dtype = static_cast<DType>(code);
  const uint8_t rank = reader.get<uint8_t>("a rank");
  if (rank > Dims::kMaxDims) {
    fail("read_archive: {}: entry '{}' has rank {}, more than the {} axes a tensor can have", where, name, rank,
         Dims::kMaxDims);
  }
  Shape shape;
  // The element count is bounded by the bytes left, so the multiplication cannot overflow and the
  // allocation below is never larger than the file.
  const uint64_t max_elements = reader.remaining() / itemsize(dtype);
  uint64_t numel = 1;
  for (uint8_t axis = 0; axis < rank; ++axis) {
    const int64_t extent = static_cast<int64_t>(reader.get<uint64_t>("an extent"));
    if (extent < 0) fail("read_archive: {}: entry '{}' has negative extent {} on axis {}", where, name, extent, axis);
    shape.push_back(extent);
    if (numel != 0 && static_cast<uint64_t>(extent) > max_elements / numel) {
      // Keep multiplying only to report the claimed shape; the data can't be there.
      numel = max_elements + 1;
    } else {
      numel *= static_cast<uint64_t>(extent);
    }
  }
  const uint64_t bytes = numel * itemsize(dtype);
  if (numel > max_elements || bytes > reader.remaining()) {
    fail("read_archive: {}: entry '{}' claims shape {} of {}, more data than the {} bytes left (the file is corrupt)",
         where, name, shape, dtype, reader.remaining());
  }
  kernels::Tensor tensor = kernels::Tensor::empty(shape, dtype);
  const unsigned char* source = reader.get_bytes(bytes, "tensor data");
  if constexpr (std::endian::native == std::endian::little) {
    if (bytes) std::memcpy(tensor.raw_data(), source, static_cast<size_t>(bytes));
  } else {
    const size_t item = itemsize(dtype);
    auto* target = static_cast<unsigned char*>(tensor.raw_data());
    for (size_t offset = 0; offset < bytes; offset += item) {
      for (size_t b = 0; b < item; ++b) target[offset + b] = source[offset + item - 1 - b];
    }
  }
  return tensor;
}

std::vector<unsigned char> read_file(const std::string& path) {
  std::unique_ptr<FILE, int (*)(FILE*)> file(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (!file) {
    const int error = errno;
    if (error == ENOENT) fail("read_archive: '{}' not found (no such file)", path);
    fail("read_archive: cannot open '{}': {}", path, std::strerror(error));
  }
  std::vector<unsigned char> bytes;
  unsigned char chunk[1 << 16];
  size_t got = 0;
  while ((got = std::fread(chunk, 1, sizeof chunk, file.get())) > 0) bytes.insert(bytes.end(), chunk, chunk + got);
  if (std::ferror(file.get())) fail("read_archive: error reading '{}': {}", path, std::strerror(errno));
  return bytes;
}

uint32_t crc_of(const unsigned char* data, size_t size) {
  return static_cast<uint32_t>(crc32_z(crc32_z(0L, Z_NULL, 0), data, size));
}

// fsync the folder holding `path`, so the rename itself survives a power cut. Best effort: some
// file systems refuse fsync on directories.
void sync_parent_directory(const std::string& path) {
  std::filesystem::path folder = std::filesystem::path(path).parent_path();
  if (folder.empty()) folder = ".";
  const int fd = ::open(folder.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

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

// ---------------------------------------------------------------------------------------------
// Archive

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

// ---------------------------------------------------------------------------------------------
// Writing

void write_archive(const std::string& path, const Archive& archive, WriteOptions options) {
  // ---- payload
  Writer payload;
  if (archive.entries().size() > std::numeric_limits<uint32_t>::max()) {
    fail("write_archive: '{}': {} entries exceed the format's limit of 2^32 - 1", path, archive.entries().size());
  }
  payload.put(static_cast<uint32_t>(archive.entries().size()));
  for (const auto& [name, value] : archive.entries()) {
    if (name.size() > std::numeric_limits<uint32_t>::max()) {
      fail("write_archive: '{}': an entry name is longer than the format's limit of 2^32 - 1 bytes", path);
    }
    payload.put(static_cast<uint32_t>(name.size()));
    payload.put_bytes(name.data(), name.size());
    if (const Tensor* tensor = std::get_if<Tensor>(&value)) {
      payload.put(kKindTensor);
      payload.put(dtype_code(tensor->dtype()));
      payload.put(static_cast<uint8_t>(tensor->dim()));
      for (int64_t extent : tensor->shape()) payload.put(static_cast<uint64_t>(extent));
      payload.put_elements(*tensor);
    } else {
      const std::string& text = std::get<std::string>(value);
      payload.put(kKindText);
      payload.put(static_cast<uint64_t>(text.size()));
      payload.put_bytes(text.data(), text.size());
    }
  }

  // ---- optional compression
  const std::string& raw = payload.bytes();
  std::string compressed;
  if (options.compress) {
    uLongf size = compressBound(static_cast<uLong>(raw.size()));
    compressed.resize(size);
    const int status = compress2(reinterpret_cast<Bytef*>(compressed.data()), &size,
                                 reinterpret_cast<const Bytef*>(raw.data()), static_cast<uLong>(raw.size()),
                                 Z_DEFAULT_COMPRESSION);
    if (status != Z_OK) fail("write_archive: '{}': zlib compress2 failed with status {}", path, status);
    compressed.resize(size);
  }
  const std::string& stored = options.compress ? compressed : raw;

  // ---- header
  Writer header;
  header.put_bytes(kMagic, sizeof kMagic);
  header.put(kVersion);
  header.put(options.compress ? kFlagCompressed : uint32_t{0});
  header.put(static_cast<uint64_t>(raw.size()));
  header.put(static_cast<uint64_t>(stored.size()));
  header.put(crc_of(reinterpret_cast<const unsigned char*>(stored.data()), stored.size()));

  // ---- write "<path>.tmp", flush it to disk, then rename over path: readers see the old file or
  // the complete new one, never a half-written one.
  const std::string temporary = path + ".tmp";
  FILE* file = std::fopen(temporary.c_str(), "wb");
  if (!file) fail("write_archive: cannot create '{}': {}", temporary, std::strerror(errno));
  auto abandon = [&](const char* step) {
    const int error = errno;
    std::fclose(file);
    std::remove(temporary.c_str());
    fail("write_archive: {} '{}' failed: {} (the previous '{}', if any, is untouched)", step, temporary,
         std::strerror(error), path);
  };
  if (std::fwrite(header.bytes().data(), 1, header.bytes().size(), file) != header.bytes().size()) abandon("writing");
  if (std::fwrite(stored.data(), 1, stored.size(), file) != stored.size()) abandon("writing");
  if (std::fflush(file) != 0) abandon("flushing");
  if (::fsync(fileno(file)) != 0) abandon("syncing");
  if (std::fclose(file) != 0) {
    const int error = errno;
    std::remove(temporary.c_str());
    fail("write_archive: closing '{}' failed: {}", temporary, std::strerror(error));
  }
  if (std::rename(temporary.c_str(), path.c_str()) != 0) {
    const int error = errno;
    std::remove(temporary.c_str());
    fail("write_archive: renaming '{}' to '{}' failed: {}", temporary, path, std::strerror(error));
  }
  sync_parent_directory(path);
}

// ---------------------------------------------------------------------------------------------
// Reading

Archive read_archive(const std::string& path) {
  const std::vector<unsigned char> file = read_file(path);
  const size_t file_size = file.size();
  const std::string where = fmt::format("'{}'", path);

  // ---- header
  const size_t magic_checked = std::min(file_size, sizeof kMagic);
  if (magic_checked > 0 && std::memcmp(file.data(), kMagic, magic_checked) != 0) {
    fail("read_archive: {} is not a nabla file (it does not start with the nabla magic bytes \\x89NBL)", where);
  }
  if (file_size < kHeaderSize) {
    fail("read_archive: {} is truncated at byte {} of {} (the header is incomplete)", where, file_size, kHeaderSize);
  }
  Reader header(file.data(), kHeaderSize, where);
  header.get_bytes(sizeof kMagic, "magic");
  const uint32_t version = header.get<uint32_t>("version");
  if (version != kVersion) {
    fail("read_archive: {} has unsupported version {} (this build reads version {}); use a nabla build that writes "
         "and reads version {}",
         where, version, kVersion, version);
  }
  const uint32_t flags = header.get<uint32_t>("flags");
  if (flags & ~kKnownFlags) {
    fail("read_archive: {} has unknown flags 0x{:x} (this build knows only bit 0, zlib compression)", where, flags);
  }
  const uint64_t payload_size = header.get<uint64_t>("payload size");
  const uint64_t stored_size = header.get<uint64_t>("stored size");
  const uint32_t crc = header.get<uint32_t>("crc32");
  const uint64_t available = file_size - kHeaderSize;
  if (stored_size > available) {
    fail("read_archive: {} is truncated at byte {} of {} (the write was interrupted or the copy is incomplete)", where,
         file_size, stored_size > std::numeric_limits<uint64_t>::max() - kHeaderSize
                        ? std::numeric_limits<uint64_t>::max()
                        : stored_size + kHeaderSize);
  }
  if (stored_size < available) {
    fail("read_archive: {} has {} bytes of trailing garbage after the payload (it should end at byte {} of {})", where,
         available - stored_size, stored_size + kHeaderSize, file_size);
  }
  const unsigned char* stored = file.data() + kHeaderSize;
  const uint32_t actual_crc = crc_of(stored, static_cast<size_t>(stored_size));
  if (actual_crc != crc) {
    fail("read_archive: {} is corrupt: CRC mismatch (the header says 0x{:08x}, the data gives 0x{:08x})", where, crc,
         actual_crc);
  }

  // ---- payload (inflated when compressed)
  if (payload_size < 4) {
    fail("read_archive: {} gives payload size {}, too small for even the entry count (the file is corrupt)", where,
         payload_size);
  }
  std::vector<unsigned char> inflated;
  const unsigned char* payload = stored;
  if (flags & kFlagCompressed) {
    if (payload_size > stored_size * kMaxCompressionRatio + 64) {
      fail("read_archive: {} claims {} bytes inflate to {}, an implausible ratio (the file is corrupt)", where,
           stored_size, payload_size);
    }
    inflated.resize(static_cast<size_t>(payload_size));
    uLongf size = static_cast<uLongf>(payload_size);
    const int status = uncompress(inflated.data(), &size, stored, static_cast<uLong>(stored_size));
    if (status != Z_OK || size != payload_size) {
      fail("read_archive: {}: the compressed payload does not inflate to the {} bytes the header gives (zlib status "
           "{}, {} bytes); the file is corrupt",
           where, payload_size, status, static_cast<uint64_t>(size));
    }
    payload = inflated.data();
  } else if (payload_size != stored_size) {
    fail("read_archive: {}: the header gives payload size {} but stored size {} for an uncompressed file (the file is "
         "corrupt)",
         where, payload_size, stored_size);
  }

  // ---- entries
  Reader reader(payload, static_cast<size_t>(payload_size), where);
  Archive archive;
  archive.source = path;
  const uint32_t count = reader.get<uint32_t>("the entry count");
  // Each entry takes at least 5 bytes (name length and kind): a larger count is a lie.
  if (count > reader.remaining() / 5) {
    fail("read_archive: {} claims {} entries in {} bytes (the file is corrupt)", where, count, reader.remaining());
  }
  for (uint32_t index = 0; index < count; ++index) {
    const uint32_t name_size = reader.get<uint32_t>("an entry name length");
    const unsigned char* name_bytes = reader.get_bytes(name_size, "an entry name");
    const std::string name(reinterpret_cast<const char*>(name_bytes), name_size);
    if (name.empty()) fail("read_archive: {}: entry {} has an empty name (the file is corrupt)", where, index);
    if (archive.contains(name)) fail("read_archive: {}: entry '{}' appears twice (the file is corrupt)", where, name);
    const uint8_t kind = reader.get<uint8_t>("an entry kind");
    if (kind == kKindTensor) {
      archive.put(name, read_tensor(reader, where, name));
    } else if (kind == kKindText) {
      const uint64_t text_size = reader.get<uint64_t>("a text length");
      const unsigned char* text = reader.get_bytes(text_size, "text");
      archive.put_text(name, std::string(reinterpret_cast<const char*>(text), static_cast<size_t>(text_size)));
    } else {
      fail("read_archive: {}: entry '{}' has unknown kind {} (0 tensor, 1 text)", where, name, kind);
    }
  }
  if (reader.remaining() != 0) {
    fail("read_archive: {}: {} bytes of trailing garbage after the last entry (the file is corrupt)", where,
         reader.remaining());
  }
  return archive;
}

// ---------------------------------------------------------------------------------------------
// Modules

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

void save(const Module& module, const std::string& path, WriteOptions options) {
  write_archive(path, collect_module_state(module, /*snapshot=*/false), options);
}

void load(Module& module, const std::string& path) { load_module_state(module, read_archive(path)); }

// ---------------------------------------------------------------------------------------------
// Optimisers

void save(const Optimizer& optimizer, const std::string& path, WriteOptions options) {
  Archive archive;
  for (const auto& [name, tensor] : optimizer.state()) archive.put(name, tensor);
  write_archive(path, archive, options);
}

void load(Optimizer& optimizer, const std::string& path) {
  const Archive archive = read_archive(path);
  std::map<std::string, Tensor> state;
  for (const auto& [name, value] : archive.entries()) {
    if (!std::holds_alternative<Tensor>(value)) {
      fail("load: '{}' holds text entry '{}', which is not part of an optimiser state; is it an optimiser file?", path,
           name);
    }
    state.emplace(name, std::get<Tensor>(value));
  }
  try {
    optimizer.load_state(state);
  } catch (const Error& error) {
    throw Error(fmt::format("load: '{}': {}", path, error.what()));
  }
}

}  // namespace nabla::nn
