#pragma once
// Private: the bytes of nabla's .nbl format (docs/FORMAT.md) — its constants, and little-endian
// writers and readers that never read past their input or allocate more than it could hold.
#include <cstdint>
#include <cstring>
#include <string>
#include <utility>

#include "nabla/nn/serialize.hpp"

namespace nabla::nn::detail {

constexpr unsigned char kMagic[8] = {0x89, 'N', 'B', 'L', '\r', '\n', 0x1a, '\n'};
constexpr uint32_t kVersion = 1;
constexpr uint32_t kFlagCompressed = 1u << 0;
constexpr uint32_t kKnownFlags = kFlagCompressed;
constexpr size_t kHeaderSize = 8 + 4 + 4 + 8 + 8 + 4;
constexpr uint8_t kKindTensor = 0;
constexpr uint8_t kKindText = 1;
// deflate cannot shrink data by more than about 1032:1, so a header claiming more is lying.
constexpr uint64_t kMaxCompressionRatio = 1032;

// The dtype codes of docs/FORMAT.md (4 and 5 were added later: files without them read as before).
inline uint8_t dtype_code(DType dtype) {
  switch (dtype) {
    case DType::float32: return 0;
    case DType::float64: return 1;
    case DType::int64: return 2;
    case DType::uint8: return 3;
    case DType::int32: return 4;
    case DType::bool_: return 5;
  }
  fail("write_archive: unknown dtype");
}
constexpr uint8_t kDtypeCodes = 6;
inline DType dtype_of_code(uint8_t code) {
  constexpr DType dtypes[kDtypeCodes] = {DType::float32, DType::float64, DType::int64,
                                         DType::uint8,   DType::int32,   DType::bool_};
  return dtypes[code];  // code < kDtypeCodes, checked by the caller
}

inline std::string describe_source(const std::string& source) {
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

// Reads one tensor entry (dtype code, rank, extents, data) of entry `name`.
Tensor read_tensor(Reader& reader, const std::string& where, const std::string& name);

// CRC-32 (zlib's) of a byte range.
uint32_t crc_of(const unsigned char* data, size_t size);

}  // namespace nabla::nn::detail
