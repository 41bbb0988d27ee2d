#pragma once
// Shared by the datasets tests: a scratch directory, raw file I/O, gzip, and a strict PNG decoder.
#include <unistd.h>
#include <zlib.h>

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>
#include <vector>

namespace test_helpers {

// A fresh directory under the system's temporary directory, removed with everything in it.
class TempDir {
 public:
  TempDir() {
    static std::atomic<int> counter{0};
    path_ = std::filesystem::temp_directory_path() /
            ("nabla-datasets-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

inline void write_bytes(const std::filesystem::path& file, const std::vector<uint8_t>& bytes) {
  std::ofstream out(file, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  if (!out) throw std::runtime_error("test: cannot write " + file.string());
}

inline std::vector<uint8_t> read_bytes(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

inline std::vector<uint8_t> gzip(const std::vector<uint8_t>& bytes) {
  z_stream stream{};
  deflateInit2(&stream, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
  std::vector<uint8_t> out(deflateBound(&stream, bytes.size()) + 64);
  stream.next_in = const_cast<Bytef*>(bytes.data());
  stream.avail_in = static_cast<uInt>(bytes.size());
  stream.next_out = out.data();
  stream.avail_out = static_cast<uInt>(out.size());
  if (deflate(&stream, Z_FINISH) != Z_STREAM_END) throw std::runtime_error("test: deflate failed");
  out.resize(stream.total_out);
  deflateEnd(&stream);
  return out;
}

// An IDX header followed by payload bytes.
inline std::vector<uint8_t> idx_bytes(uint8_t type_code, const std::vector<uint32_t>& dims,
                                      const std::vector<uint8_t>& payload) {
  std::vector<uint8_t> bytes{0, 0, type_code, static_cast<uint8_t>(dims.size())};
  for (uint32_t d : dims) {
    for (int shift = 24; shift >= 0; shift -= 8) bytes.push_back(static_cast<uint8_t>(d >> shift));
  }
  bytes.insert(bytes.end(), payload.begin(), payload.end());
  return bytes;
}

// A decoded PNG: only what nabla's encoder writes (8-bit gray or RGB, no interlace), with every
// structural property checked on the way (signature, chunk CRCs, chunk order, filter bytes).
struct DecodedPng {
  uint32_t width = 0, height = 0;
  int color_type = -1;
  std::vector<uint8_t> pixels;  // rows without their filter bytes
  std::vector<std::string> chunk_types;
};

inline uint32_t big_endian_u32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

inline DecodedPng decode_png(const std::vector<uint8_t>& png) {
  const uint8_t signature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  if (png.size() < 8 || !std::equal(signature, signature + 8, png.begin())) throw std::runtime_error("bad signature");
  DecodedPng out;
  std::vector<uint8_t> idat;
  size_t at = 8;
  while (at < png.size()) {
    if (at + 12 > png.size()) throw std::runtime_error("chunk header runs past the end");
    const uint32_t length = big_endian_u32(&png[at]);
    if (at + 12 + length > png.size()) throw std::runtime_error("chunk data runs past the end");
    const std::string type(png.begin() + static_cast<long>(at) + 4, png.begin() + static_cast<long>(at) + 8);
    const uint8_t* data = &png[at + 8];
    const uint32_t stored_crc = big_endian_u32(&png[at + 8 + length]);
    const uint32_t crc = static_cast<uint32_t>(crc32(crc32(0L, Z_NULL, 0), &png[at + 4], length + 4));
    if (crc != stored_crc) throw std::runtime_error("CRC mismatch in chunk " + type);
    out.chunk_types.push_back(type);
    if (type == "IHDR") {
      if (length != 13) throw std::runtime_error("IHDR length");
      out.width = big_endian_u32(data);
      out.height = big_endian_u32(data + 4);
      if (data[8] != 8 || data[10] != 0 || data[11] != 0 || data[12] != 0) throw std::runtime_error("IHDR fields");
      out.color_type = data[9];
    } else if (type == "IDAT") {
      idat.insert(idat.end(), data, data + length);
    } else if (type == "IEND") {
      if (length != 0) throw std::runtime_error("IEND not empty");
      if (at + 12 != png.size()) throw std::runtime_error("data after IEND");
    }
    at += 12 + length;
  }
  const size_t channels = out.color_type == 2 ? 3 : 1;
  const size_t row_bytes = out.width * channels;
  std::vector<uint8_t> raw(out.height * (row_bytes + 1));
  uLongf raw_size = raw.size();
  if (uncompress(raw.data(), &raw_size, idat.data(), idat.size()) != Z_OK || raw_size != raw.size()) {
    throw std::runtime_error("IDAT does not inflate to the image size");
  }
  for (size_t y = 0; y < out.height; ++y) {
    if (raw[y * (row_bytes + 1)] != 0) throw std::runtime_error("row filter is not 0");
    out.pixels.insert(out.pixels.end(), raw.begin() + static_cast<long>(y * (row_bytes + 1) + 1),
                      raw.begin() + static_cast<long>((y + 1) * (row_bytes + 1)));
  }
  return out;
}

}  // namespace test_helpers
