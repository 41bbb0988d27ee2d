// .nbl files: writing an archive atomically (atomic_file.hpp) and reading one back
// with every header field checked before the payload is used.
#include <fcntl.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <limits>
#include <memory>
#include <vector>

#include "archive_format.hpp"
#include "atomic_file.hpp"
#include "nabla/nn/archive_bytes.hpp"

namespace nabla::nn {

using namespace detail;

namespace {

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

}  // namespace

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

  // ---- written beside path and renamed over it: readers see the old file or the complete new one
  write_file_atomically(path, {header.bytes(), stored}, "write_archive");
}

Archive read_archive(const std::string& path) {
  const std::vector<unsigned char> file = read_file(path);
  return parse_archive(file.data(), file.size(), path);
}

Archive parse_archive(const unsigned char* data, size_t size, const std::string& path) {
  // (a span rather than a vector, so the fuzz target reads its input in place)
  struct Bytes {
    const unsigned char* bytes;
    size_t count;
    const unsigned char* data() const { return bytes; }
    size_t size() const { return count; }
  } const file{data, size};
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
  // The two sizes must agree before either is believed, so a corrupted size field is reported as a
  // corrupt header, not as a file truncated at byte N of some astronomical length.
  if (!(flags & kFlagCompressed) && payload_size != stored_size) {
    fail("read_archive: {} has a corrupt header: it gives payload size {} but stored size {} for an uncompressed "
         "file (they must be equal); the file is damaged",
         where, payload_size, stored_size);
  }
  if ((flags & kFlagCompressed) &&
      (payload_size / kMaxCompressionRatio > stored_size ||
       static_cast<unsigned __int128>(stored_size) > static_cast<unsigned __int128>(payload_size) * 9 / 8 + 1024)) {
    fail("read_archive: {} has a corrupt header: {} stored bytes cannot inflate to the {} it gives (deflate neither "
         "shrinks by more than 1032:1 nor grows by more than a few bytes); the file is damaged",
         where, stored_size, payload_size);
  }
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

}  // namespace nabla::nn
