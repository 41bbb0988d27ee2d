#pragma once
// Private: what the weight-file readers and writers share: the element types of foreign files and
// how each becomes a nabla dtype (one row per type), element decoding, and atomic file writes.
#include <bit>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

#include "nabla/nn/weights.hpp"

namespace nabla::nn::detail {

enum class Conversion : uint8_t {
  none,      // the bytes are the nabla dtype's bytes
  half,      // IEEE binary16 -> float32
  bfloat16,  // bfloat16 -> float32
  unsupported,
};

struct ForeignDType {
  std::string_view safetensors;  // the safetensors "dtype" string
  std::string_view torch;        // the torch storage class (torch.<name>) and torch dtype (torch.<dtype>)
  std::string_view torch_dtype;
  size_t itemsize;
  DType dtype;             // what nabla holds it as (meaningless when unsupported)
  Conversion conversion;
};

// Adding a nabla dtype is one row here: say which safetensors and torch names it has.
inline constexpr ForeignDType kForeignDTypes[] = {
    {"F32", "FloatStorage", "float32", 4, DType::float32, Conversion::none},
    {"F64", "DoubleStorage", "float64", 8, DType::float64, Conversion::none},
    {"I64", "LongStorage", "int64", 8, DType::int64, Conversion::none},
    {"I32", "IntStorage", "int32", 4, DType::int32, Conversion::none},
    {"U8", "ByteStorage", "uint8", 1, DType::uint8, Conversion::none},
    {"BOOL", "BoolStorage", "bool", 1, DType::bool_, Conversion::none},
    {"F16", "HalfStorage", "float16", 2, DType::float32, Conversion::half},
    {"BF16", "BFloat16Storage", "bfloat16", 2, DType::float32, Conversion::bfloat16},
    // Known to the formats, not to nabla: refused with their names.
    {"I16", "ShortStorage", "int16", 2, DType::float32, Conversion::unsupported},
    {"I8", "CharStorage", "int8", 1, DType::float32, Conversion::unsupported},
    {"U16", "", "uint16", 2, DType::float32, Conversion::unsupported},
    {"U32", "", "uint32", 4, DType::float32, Conversion::unsupported},
    {"U64", "", "uint64", 8, DType::float32, Conversion::unsupported},
    {"C64", "ComplexFloatStorage", "complex64", 8, DType::float32, Conversion::unsupported},
    {"F8_E4M3", "", "float8_e4m3fn", 1, DType::float32, Conversion::unsupported},
    {"F8_E5M2", "", "float8_e5m2", 1, DType::float32, Conversion::unsupported},
};

inline const ForeignDType* find_safetensors_dtype(std::string_view name) {
  for (const ForeignDType& row : kForeignDTypes) {
    if (row.safetensors == name) return &row;
  }
  return nullptr;
}

inline const ForeignDType* find_torch_storage(std::string_view name) {
  for (const ForeignDType& row : kForeignDTypes) {
    if (!row.torch.empty() && row.torch == name) return &row;
  }
  return nullptr;
}

inline const ForeignDType* find_torch_dtype(std::string_view name) {
  for (const ForeignDType& row : kForeignDTypes) {
    if (row.torch_dtype == name) return &row;
  }
  return nullptr;
}

// The row nabla writes a dtype as (only rows without conversion).
inline const ForeignDType* foreign_of(DType dtype) {
  for (const ForeignDType& row : kForeignDTypes) {
    if (row.conversion == Conversion::none && row.dtype == dtype) return &row;
  }
  return nullptr;
}

inline float half_to_float(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  uint32_t exponent = (h >> 10) & 0x1f;
  uint32_t mantissa = h & 0x3ffu;
  uint32_t bits;
  if (exponent == 0x1f) {
    bits = sign | 0x7f800000u | (mantissa << 13);  // inf or NaN (payload kept)
  } else if (exponent != 0) {
    bits = sign | ((exponent + 112) << 23) | (mantissa << 13);
  } else if (mantissa == 0) {
    bits = sign;  // +-0
  } else {
    // subnormal: normalise
    exponent = 113;
    while ((mantissa & 0x400u) == 0) {
      mantissa <<= 1;
      --exponent;
    }
    bits = sign | (exponent << 23) | ((mantissa & 0x3ffu) << 13);
  }
  return std::bit_cast<float>(bits);
}

inline float bfloat16_to_float(uint16_t b) { return std::bit_cast<float>(static_cast<uint32_t>(b) << 16); }

// Decodes `count` little-endian elements of `row` at `source` into `target` (nabla's dtype),
// converting F16/BF16 and swapping bytes on a big-endian host.
inline void decode_elements(const ForeignDType& row, const unsigned char* source, size_t count, void* target) {
  if (row.conversion == Conversion::half || row.conversion == Conversion::bfloat16) {
    auto* out = static_cast<float*>(target);
    for (size_t i = 0; i < count; ++i) {
      const uint16_t bits = static_cast<uint16_t>(source[2 * i] | (source[2 * i + 1] << 8));
      out[i] = row.conversion == Conversion::half ? half_to_float(bits) : bfloat16_to_float(bits);
    }
    return;
  }
  const size_t bytes = count * row.itemsize;
  if constexpr (std::endian::native == std::endian::little) {
    if (bytes) std::memcpy(target, source, bytes);
  } else {
    auto* out = static_cast<unsigned char*>(target);
    for (size_t offset = 0; offset < bytes; offset += row.itemsize) {
      for (size_t b = 0; b < row.itemsize; ++b) out[offset + b] = source[offset + row.itemsize - 1 - b];
    }
  }
}

// Writes `bytes` to "<path>.tmp", flushes it to disk and renames it over path; `op` names the
// caller in messages. The previous file, if any, survives any failure.
void write_file_atomically(const std::string& path, std::string_view bytes, const char* op);

// "'path'" for messages.
inline std::string quoted(const std::string& where) { return "'" + where + "'"; }

}  // namespace nabla::nn::detail
