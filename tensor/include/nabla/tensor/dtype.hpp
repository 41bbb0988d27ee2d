#pragma once
// Element types. float32/float64 for math; int64 for indices and labels; int32 for integer data
// that comes in 32 bits; uint8 for raw image bytes; bool for truth values (what comparisons,
// isnan and the logical_* ops return, and what where/masked_fill read).
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <type_traits>

#include <fmt/format.h>

namespace nabla {

// The order of the enumerators is no format: .nbl files store their own codes (nn/src/archive_format.hpp).
enum class DType : uint8_t { float32, float64, int64, uint8, int32, bool_ };

inline constexpr DType float32 = DType::float32;
inline constexpr DType float64 = DType::float64;
inline constexpr DType int64 = DType::int64;
inline constexpr DType int32 = DType::int32;
inline constexpr DType uint8 = DType::uint8;
// torch.bool (torch::kBool). `bool` is a C++ keyword, so the name carries NumPy's trailing
// underscore (numpy.bool_); it prints as "bool".
inline constexpr DType bool_ = DType::bool_;

constexpr size_t itemsize(DType dtype) {
  switch (dtype) {
    case DType::float32: return 4;
    case DType::float64: return 8;
    case DType::int64: return 8;
    case DType::int32: return 4;
    case DType::uint8: return 1;
    case DType::bool_: return 1;
  }
  return 0;
}

constexpr std::string_view dtype_name(DType dtype) {
  switch (dtype) {
    case DType::float32: return "float32";
    case DType::float64: return "float64";
    case DType::int64: return "int64";
    case DType::int32: return "int32";
    case DType::uint8: return "uint8";
    case DType::bool_: return "bool";
  }
  return "?";
}

constexpr bool is_floating(DType dtype) { return dtype == DType::float32 || dtype == DType::float64; }

// The dtype both operands of a binary op are computed in, as PyTorch promotes two tensors:
// bool < uint8 < int32 < int64 < float32 < float64, the later one wins (so any float beats any
// integer, and int64 with float32 gives float32). Scalars follow their own rule: see
// nabla/tensor/elementwise.hpp.
constexpr DType promote_types(DType a, DType b) {
  auto rank = [](DType t) {
    switch (t) {
      case DType::bool_: return 0;
      case DType::uint8: return 1;
      case DType::int32: return 2;
      case DType::int64: return 3;
      case DType::float32: return 4;
      case DType::float64: return 5;
    }
    return 0;
  };
  return rank(a) >= rank(b) ? a : b;
}

template <class T> struct dtype_of;
template <> struct dtype_of<float> { static constexpr DType value = DType::float32; };
template <> struct dtype_of<double> { static constexpr DType value = DType::float64; };
template <> struct dtype_of<int64_t> { static constexpr DType value = DType::int64; };
template <> struct dtype_of<int32_t> { static constexpr DType value = DType::int32; };
template <> struct dtype_of<uint8_t> { static constexpr DType value = DType::uint8; };
template <> struct dtype_of<bool> { static constexpr DType value = DType::bool_; };
template <class T> inline constexpr DType dtype_v = dtype_of<T>::value;

// Calls fn(T{}) with T the C++ type of `dtype` (float, double, int64_t, int32_t, uint8_t, bool):
//   dispatch(t.dtype(), [&](auto tag) { using T = decltype(tag); ... });
template <class Fn>
decltype(auto) dispatch(DType dtype, Fn&& fn) {
  switch (dtype) {
    case DType::float32: return fn(float{});
    case DType::float64: return fn(double{});
    case DType::int64: return fn(int64_t{});
    case DType::int32: return fn(int32_t{});
    case DType::uint8: return fn(uint8_t{});
    case DType::bool_: return fn(bool{});
  }
  return fn(float{});
}

// Like dispatch, for ops that only make sense on float32/float64 (the caller checks first).
template <class Fn>
decltype(auto) dispatch_floating(DType dtype, Fn&& fn) {
  if (dtype == DType::float64) return fn(double{});
  return fn(float{});
}

}  // namespace nabla

template <>
struct fmt::formatter<nabla::DType> : fmt::formatter<std::string_view> {
  auto format(nabla::DType dtype, fmt::format_context& ctx) const {
    return fmt::formatter<std::string_view>::format(nabla::dtype_name(dtype), ctx);
  }
};
