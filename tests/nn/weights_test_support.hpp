#pragma once
// Shared by the weight-file tests: a temporary folder, where the PyTorch-made fixtures are, and
// writers for the pieces of a torch.save file (a stored zip, a state_dict pickle) so tests can make
// small .pt files — valid, hostile and broken — without PyTorch.
#include <catch2/catch.hpp>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "nabla/nn.hpp"

namespace weights_test {

namespace fs = std::filesystem;

// A fresh folder under the system temp dir, removed with everything in it at scope exit.
struct TempDir {
  fs::path path;
  TempDir() {
    std::random_device device;
    path = fs::temp_directory_path() / ("nabla-weights-test-" + std::to_string(device()) + "-" + std::to_string(device()));
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ignored;
    fs::remove_all(path, ignored);
  }
  std::string file(const std::string& name) const { return (path / name).string(); }
};

inline std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

inline void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// The PyTorch-made fixtures (../shared/interop, see its README): $NABLA_INTEROP_DIR, else
// interop/ or ../shared/interop beside the source tree; empty when absent (tests then skip).
inline fs::path interop_dir() {
  std::vector<fs::path> candidates;
  if (const char* env = std::getenv("NABLA_INTEROP_DIR")) candidates.emplace_back(env);
  if (const char* source = std::getenv("NABLA_SOURCE_DIR")) {
    candidates.push_back(fs::path(source) / "interop");
    candidates.push_back(fs::path(source) / ".." / "shared" / "interop");
  }
  candidates.push_back(fs::path("..") / "shared" / "interop");
  for (const fs::path& candidate : candidates) {
    if (fs::exists(candidate / "cnn.safetensors")) return candidate;
  }
  return {};
}

// ---- little-endian pieces

inline void put_le(std::string& out, uint64_t value, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xff));
}

inline uint32_t crc32(const std::string& bytes) {
  uint32_t crc = 0xffffffffu;
  for (unsigned char c : bytes) {
    crc ^= c;
    for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1u)));
  }
  return ~crc;
}

// A zip archive of stored (uncompressed) records, as torch.save writes them.
inline std::string stored_zip(const std::vector<std::pair<std::string, std::string>>& records) {
  std::string out, directory;
  for (const auto& record : records) {
    // Plain references, not a structured binding: the lambda below uses them, and clang 14 cannot
    // capture bindings.
    const auto& name = record.first;
    const auto& data = record.second;
    const uint64_t offset = out.size();
    const uint32_t crc = crc32(data);
    auto header = [&](std::string& to, bool central) {
      put_le(to, central ? 0x02014b50 : 0x04034b50, 4);
      if (central) put_le(to, 20, 2);  // version made by
      put_le(to, 20, 2);               // version needed
      put_le(to, 0, 2);                // flags
      put_le(to, 0, 2);                // method: stored
      put_le(to, 0, 4);                // time, date
      put_le(to, crc, 4);
      put_le(to, data.size(), 4);
      put_le(to, data.size(), 4);
      put_le(to, name.size(), 2);
      put_le(to, 0, 2);  // extra
      if (central) {
        put_le(to, 0, 2);  // comment
        put_le(to, 0, 2);  // disk
        put_le(to, 0, 2);  // internal attributes
        put_le(to, 0, 4);  // external attributes
        put_le(to, offset, 4);
      }
      to += name;
    };
    header(out, false);
    out += data;
    header(directory, true);
  }
  const uint64_t directory_offset = out.size();
  out += directory;
  put_le(out, 0x06054b50, 4);
  put_le(out, 0, 4);
  put_le(out, records.size(), 2);
  put_le(out, records.size(), 2);
  put_le(out, directory.size(), 4);
  put_le(out, directory_offset, 4);
  put_le(out, 0, 2);
  return out;
}

// Protocol-2 pickle pieces, as torch.save writes a state_dict.
struct Pickle {
  std::string bytes = std::string("\x80\x02", 2);

  Pickle& op(char c) {
    bytes.push_back(c);
    return *this;
  }
  Pickle& global(const std::string& module, const std::string& name) {
    bytes += "c" + module + "\n" + name + "\n";
    return *this;
  }
  Pickle& str(const std::string& s) {
    bytes.push_back('X');
    put_le(bytes, s.size(), 4);
    bytes += s;
    return *this;
  }
  Pickle& integer(int64_t v) {
    if (v >= 0 && v < 256) {
      bytes.push_back('K');
      put_le(bytes, static_cast<uint64_t>(v), 1);
    } else {
      bytes.push_back('J');
      put_le(bytes, static_cast<uint64_t>(v), 4);
    }
    return *this;
  }
  Pickle& ints(const std::vector<int64_t>& values) {  // a tuple
    op('(');
    for (int64_t v : values) integer(v);
    return op('t');
  }
  // _rebuild_tensor_v2(('storage', torch.<storage_type>, key, 'cpu', numel), offset, size, stride, False, OrderedDict())
  Pickle& tensor(const std::string& storage_type, const std::string& key, int64_t numel, int64_t offset,
                 const std::vector<int64_t>& size, const std::vector<int64_t>& stride) {
    global("torch._utils", "_rebuild_tensor_v2").op('(');
    op('(').str("storage").global("torch", storage_type).str(key).str("cpu").integer(numel).op('t').op('Q');
    integer(offset).ints(size).ints(stride).op('\x89');
    global("collections", "OrderedDict").op(')').op('R');
    return op('t').op('R');
  }
  Pickle& ordered_dict() { return global("collections", "OrderedDict").op(')').op('R'); }
};

// A torch.save zip: "archive/data.pkl", "archive/data/<key>" for each storage, "archive/version".
inline std::string torch_file(const std::string& pickle, const std::vector<std::pair<std::string, std::string>>& storages) {
  std::vector<std::pair<std::string, std::string>> records{{"archive/data.pkl", pickle}};
  for (const auto& [key, data] : storages) records.emplace_back("archive/data/" + key, data);
  records.emplace_back("archive/version", "3\n");
  return stored_zip(records);
}

template <class T>
std::string raw_bytes(const std::vector<T>& values) {
  return std::string(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(T));
}

}  // namespace weights_test
