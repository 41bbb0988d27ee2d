// The entries of an .nbl payload: tensors and texts, encoded and decoded (docs/FORMAT.md).
#include "archive_format.hpp"

#include <zlib.h>

#include <bit>

namespace nabla::nn::detail {

Tensor read_tensor(Reader& reader, const std::string& where, const std::string& name) {
  const uint8_t code = reader.get<uint8_t>("a dtype code");
  if (code >= kDtypeCodes) {
    fail("read_archive: {}: entry '{}' has bad dtype code {} (known: 0 float32, 1 float64, 2 int64, 3 uint8, "
         "4 int32, 5 bool)", where, name, code);
  }
  const DType dtype = dtype_of_code(code);
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
  if (dtype == DType::bool_) {
    // A C++ bool holding any byte but 0 or 1 is undefined behaviour: refuse such a file.
    for (uint64_t i = 0; i < bytes; ++i) {
      if (source[i] > 1) {
        fail("read_archive: {}: entry '{}' is bool but element {} holds the byte {} (bools are 0 or 1; the file is "
             "corrupt)", where, name, i, source[i]);
      }
    }
  }
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

uint32_t crc_of(const unsigned char* data, size_t size) {
  return static_cast<uint32_t>(crc32_z(crc32_z(0L, Z_NULL, 0), data, size));
}


}  // namespace nabla::nn::detail
