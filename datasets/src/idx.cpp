#include "nabla/datasets/idx.hpp"

#include <zlib.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cerrno>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "file_io.hpp"
#include "nabla/autograd/factories.hpp"
#include "nabla/autograd/functions.hpp"
#include "nabla/tensor/error.hpp"

namespace nabla::datasets {

namespace {

// What an IDX type code means: its name, bytes per element in the file, and the dtype it loads as.
struct IdxType {
  uint8_t code;
  const char* name;
  size_t file_itemsize;
  DType dtype;
};
constexpr std::array<IdxType, 6> kIdxTypes{{
    {0x08, "unsigned byte", 1, uint8},
    {0x09, "signed byte", 1, int64},
    {0x0B, "int16", 2, int64},
    {0x0C, "int32", 4, int64},
    {0x0D, "float32", 4, float32},
    {0x0E, "float64", 8, float64},
}};

const IdxType* find_idx_type(uint8_t code) {
  for (const IdxType& type : kIdxTypes) {
    if (type.code == code) return &type;
  }
  return nullptr;
}

// The most payload a file of its size can hold: its size, or for gzip the size times deflate's
// largest compression ratio (1032:1).
uint64_t plausible_payload(const std::filesystem::path& file, bool compressed) {
  std::error_code error;
  const uint64_t size = std::filesystem::file_size(file, error);
  if (error) return 0;
  return compressed ? size * 1032 : size;
}

// Reads a file through zlib's gz* interface, which decompresses gzip data and passes anything
// else through unchanged. Every read either returns bytes, returns short at the true end of the
// data, or throws naming the file and zlib's message (a corrupt or cut-off gzip stream).
class ByteReader {
 public:
  explicit ByteReader(const std::filesystem::path& file) : file_(file) {
    std::error_code error;
    if (!std::filesystem::exists(file, error)) {
      fail("read_idx: {} does not exist; check the path (or the data directory you passed)",
           file.string());
    }
    if (std::filesystem::is_directory(file, error)) {
      fail("read_idx: {} is a directory, not an IDX file", file.string());
    }
    errno = 0;
    handle_ = gzopen(file.c_str(), "rb");
    if (!handle_) {
      fail("read_idx: cannot open {}: {}", file.string(),
           errno ? detail::errno_message() : std::string("zlib could not allocate its state"));
    }
    gzbuffer(handle_, 1 << 18);
  }
  ~ByteReader() { gzclose(handle_); }
  ByteReader(const ByteReader&) = delete;
  ByteReader& operator=(const ByteReader&) = delete;

  // Reads up to n bytes into out; fewer only at the end of the data.
  size_t read(void* out, size_t n) {
    auto* bytes = static_cast<uint8_t*>(out);
    size_t total = 0;
    while (total < n) {
      const unsigned piece = static_cast<unsigned>(std::min<size_t>(n - total, 1u << 30));
      const int got = gzread(handle_, bytes + total, piece);
      check_stream();
      if (got <= 0) break;
      total += static_cast<size_t>(got);
    }
    return total;
  }

  // True once a read has shown the file to be gzip-compressed.
  bool compressed() const { return gzdirect(handle_) == 0; }

 private:
  void check_stream() {
    int status = Z_OK;
    const char* message = gzerror(handle_, &status);
    if (status == Z_OK) return;
    if (status == Z_ERRNO) {
      fail("read_idx: reading {} failed: {}", file_.string(), detail::errno_message());
    }
    const uint64_t position = static_cast<uint64_t>(gztell(handle_));
    if (status == Z_BUF_ERROR) {  // zlib's "unexpected end of file"
      fail("read_idx: {} is cut off: its gzip stream ends early, after {} decompressed bytes "
           "(zlib: {}); download or copy the file again",
           file_.string(), position, message);
    }
    fail("read_idx: {} is a corrupt gzip stream (zlib: {}, after {} decompressed bytes); download "
         "or copy the file again",
         file_.string(), message, position);
  }

  std::filesystem::path file_;
  gzFile handle_ = nullptr;
};

uint32_t read_big_endian_u32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

// Reverses the bytes of a big-endian element in place on little-endian machines.
template <size_t N>
void from_big_endian(uint8_t* element) {
  if constexpr (std::endian::native == std::endian::little) std::reverse(element, element + N);
}

// Converts the file's big-endian elements into the output tensor's dtype.
void convert_elements(const IdxType& type, const uint8_t* in, int64_t count, const Tensor& out) {
  if (count == 0) return;  // an empty tensor (and `in` may be null)
  switch (type.code) {
    case 0x08:
      std::memcpy(out.data_ptr<uint8_t>(), in, static_cast<size_t>(count));
      return;
    case 0x09: {
      int64_t* dst = out.data_ptr<int64_t>();
      for (int64_t i = 0; i < count; ++i) dst[i] = static_cast<int8_t>(in[i]);
      return;
    }
    case 0x0B: {
      int64_t* dst = out.data_ptr<int64_t>();
      for (int64_t i = 0; i < count; ++i) {
        dst[i] = static_cast<int16_t>(static_cast<uint16_t>((in[2 * i] << 8) | in[2 * i + 1]));
      }
      return;
    }
    case 0x0C: {
      int64_t* dst = out.data_ptr<int64_t>();
      for (int64_t i = 0; i < count; ++i) dst[i] = static_cast<int32_t>(read_big_endian_u32(in + 4 * i));
      return;
    }
    case 0x0D:
    case 0x0E: {
      const size_t size = type.file_itemsize;
      auto* dst = static_cast<uint8_t*>(out.data_ptr());
      std::memcpy(dst, in, static_cast<size_t>(count) * size);
      for (int64_t i = 0; i < count; ++i) {
        if (size == 4) from_big_endian<4>(dst + 4 * i);
        else from_big_endian<8>(dst + 8 * i);
      }
      return;
    }
  }
}

std::string describe_codes() {
  std::string text;
  for (const IdxType& type : kIdxTypes) {
    if (!text.empty()) text += ", ";
    text += fmt::format("0x{:02X} {}", type.code, type.name);
  }
  return text;
}

}  // namespace

Tensor read_idx(const std::filesystem::path& file) {
  const std::string name = file.string();
  ByteReader reader(file);

  // ---- the header: magic (0, 0, type code, number of dimensions), then the dimensions
  uint8_t magic[4];
  const size_t magic_read = reader.read(magic, 4);
  // Lengths below are of the decompressed data when the file is gzip-compressed.
  const char* where = reader.compressed() ? " (after decompression)" : "";
  const char* in_stream = reader.compressed() ? "decompressed; " : "";
  if (magic_read < 4) {
    fail("read_idx: {} is too short to be an IDX file: {} bytes{}, but the header alone needs at "
         "least 8; the file is empty or cut off",
         name, magic_read, where);
  }
  if (magic[0] != 0 || magic[1] != 0) {
    fail("read_idx: {} is not an IDX file: it starts with bytes 0x{:02X} 0x{:02X}{}, an IDX file "
         "starts with 0x00 0x00 (a web page saved in place of the data? download it again)",
         name, magic[0], magic[1], where);
  }
  const IdxType* type = find_idx_type(magic[2]);
  if (!type) {
    fail("read_idx: {} has unknown IDX type code 0x{:02X} (byte 2); known codes are {}", name,
         magic[2], describe_codes());
  }
  const int ndim = magic[3];
  if (ndim < 1 || ndim > Dims::kMaxDims) {
    fail("read_idx: {} declares {} dimensions (byte 3); nabla reads IDX files with 1 to {}", name,
         ndim, Dims::kMaxDims);
  }
  const size_t header_bytes = 4 + 4 * static_cast<size_t>(ndim);
  uint8_t dims_bytes[4 * Dims::kMaxDims];
  const size_t dims_read = reader.read(dims_bytes, 4 * static_cast<size_t>(ndim));
  if (dims_read < 4 * static_cast<size_t>(ndim)) {
    fail("read_idx: {} is truncated at byte {} of its {}-byte header{}; the file is cut off — "
         "download or copy it again",
         name, 4 + dims_read, header_bytes, where);
  }
  Shape shape;
  // A bound no real file reaches, so the byte count below cannot overflow (and 8 dimensions of
  // up to 2^32 each cannot make it wrap around to something plausible).
  constexpr uint64_t kMaxPayload = uint64_t{1} << 48;
  uint64_t count = 1;
  bool too_large = false;
  for (int axis = 0; axis < ndim; ++axis) {
    const uint64_t extent = read_big_endian_u32(dims_bytes + 4 * axis);
    shape.push_back(static_cast<int64_t>(extent));
    if (extent != 0 && count > kMaxPayload / extent) too_large = true;
    count *= extent;
  }
  if (too_large || count * type->file_itemsize > kMaxPayload) {
    fail("read_idx: {} has header dimensions {} ({}), too large for any real file; the header is "
         "corrupt",
         name, shape, type->name);
  }
  const uint64_t payload_bytes = count * type->file_itemsize;
  const uint64_t total_bytes = header_bytes + payload_bytes;

  // ---- the elements. Bytes (MNIST's pixels and labels) are read straight into the tensor when
  // the file can hold what the header promises, so loading holds one copy of the data, not two.
  // Otherwise the buffer grows only as data arrives (doubling, capped at what the header
  // promises), so a lying header costs at most what the file really holds.
  const bool bytes_as_is = type->dtype == DType::uint8 && type->file_itemsize == 1;
  Tensor direct;
  if (bytes_as_is && payload_bytes <= plausible_payload(file, reader.compressed())) {
    direct = nabla::empty(shape, DType::uint8);
  }
  std::vector<uint8_t> payload;
  uint64_t have = 0;
  if (direct.defined()) have = reader.read(direct.data_ptr(), static_cast<size_t>(payload_bytes));
  while (!direct.defined() && have < payload_bytes) {
    if (have == payload.size()) {
      const uint64_t grown = std::max<uint64_t>(2 * payload.size(), uint64_t{1} << 20);
      payload.resize(static_cast<size_t>(std::min(grown, payload_bytes)));
    }
    const size_t got = reader.read(payload.data() + have, payload.size() - have);
    have += got;
    if (got == 0) break;
  }
  if (have < payload_bytes) {
    fail("read_idx: {} is truncated at byte {} of {} ({}its header describes {} {}); the file is "
         "cut off — download or copy it again",
         name, header_bytes + have, total_bytes, in_stream, type->name, shape);
  }
  // Anything after the elements means the header and the data disagree.
  // (Counting stops at a limit, so a file with endless extra data still fails quickly.)
  constexpr uint64_t kTrailingCountLimit = uint64_t{1} << 30;
  uint64_t trailing = 0;
  std::vector<uint8_t> scratch(1 << 16);
  while (trailing < kTrailingCountLimit) {
    const size_t got = reader.read(scratch.data(), scratch.size());
    if (got == 0) break;
    trailing += got;
  }
  if (trailing > 0) {
    fail("read_idx: {} has {}{} bytes of trailing data after the {} bytes its header describes "
         "({}{} {}); the header does not match the data — is this the right file?",
         name, trailing >= kTrailingCountLimit ? "at least " : "", trailing, total_bytes, in_stream,
         type->name, shape);
  }

  if (direct.defined()) return direct;
  Tensor out = nabla::empty(shape, type->dtype);
  convert_elements(*type, payload.data(), static_cast<int64_t>(count), out);
  return out;
}

void write_idx(const std::filesystem::path& file, const Tensor& values) {
  const std::string name = file.string();
  if (!values.defined()) fail("write_idx: {}: the tensor is undefined", name);
  if (values.dim() < 1 || values.dim() > Dims::kMaxDims) {
    fail("write_idx: {}: IDX holds 1 to {} dimensions, the tensor has shape {}", name,
         Dims::kMaxDims, values.shape());
  }
  for (int64_t extent : values.shape()) {
    if (extent > int64_t{std::numeric_limits<uint32_t>::max()}) {
      fail("write_idx: {}: dimension {} of shape {} does not fit IDX's 32-bit sizes", name, extent,
           values.shape());
    }
  }
  uint8_t code = 0;
  size_t file_itemsize = 0;
  switch (values.dtype()) {
    case DType::uint8: code = 0x08; file_itemsize = 1; break;
    case DType::int32:
    case DType::int64: code = 0x0C; file_itemsize = 4; break;
    case DType::float32: code = 0x0D; file_itemsize = 4; break;
    case DType::float64: code = 0x0E; file_itemsize = 8; break;
    case DType::bool_:
      fail("write_idx: {}: IDX has no bool type; convert the mask with .to(nabla::uint8) first", name);
  }
  const Tensor packed = values.contiguous();
  const int64_t count = packed.numel();
  std::vector<uint8_t> bytes;
  bytes.reserve(4 + 4 * static_cast<size_t>(packed.dim()) + static_cast<size_t>(count) * file_itemsize);
  auto put_big_endian = [&](uint64_t value, size_t size) {
    for (size_t i = size; i-- > 0;) bytes.push_back(static_cast<uint8_t>(value >> (8 * i)));
  };
  bytes.insert(bytes.end(), {0, 0, code, static_cast<uint8_t>(packed.dim())});
  for (int64_t extent : packed.shape()) put_big_endian(static_cast<uint64_t>(extent), 4);
  switch (values.dtype()) {
    case DType::uint8: {
      const uint8_t* p = packed.data_ptr<uint8_t>();
      bytes.insert(bytes.end(), p, p + count);
      break;
    }
    case DType::int64: {
      const int64_t* p = packed.data_ptr<int64_t>();
      for (int64_t i = 0; i < count; ++i) {
        if (p[i] < std::numeric_limits<int32_t>::min() || p[i] > std::numeric_limits<int32_t>::max()) {
          fail("write_idx: {}: value {} at flat index {} does not fit IDX's int32; IDX has no "
               "64-bit integer type",
               name, p[i], i);
        }
        put_big_endian(static_cast<uint32_t>(static_cast<int32_t>(p[i])), 4);
      }
      break;
    }
    case DType::float32: {
      const float* p = packed.data_ptr<float>();
      for (int64_t i = 0; i < count; ++i) put_big_endian(std::bit_cast<uint32_t>(p[i]), 4);
      break;
    }
    case DType::int32: {
      const int32_t* p = packed.data_ptr<int32_t>();
      for (int64_t i = 0; i < count; ++i) put_big_endian(static_cast<uint32_t>(p[i]), 4);
      break;
    }
    case DType::float64: {
      const double* p = packed.data_ptr<double>();
      for (int64_t i = 0; i < count; ++i) put_big_endian(std::bit_cast<uint64_t>(p[i]), 8);
      break;
    }
    case DType::bool_: break;  // refused above
  }
  if (file.extension() == ".gz") {
    detail::write_file_atomically(file, detail::deflate_bytes(bytes, detail::Wrapper::gzip, "write_idx"),
                                  "write_idx");
  } else {
    detail::write_file_atomically(file, bytes, "write_idx");
  }
}

}  // namespace nabla::datasets
