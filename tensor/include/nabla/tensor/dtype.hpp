#pragma once
// Element types. float32/float64 for math, int64 for indices and labels, uint8 for masks
// (comparison results) and raw image bytes.
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <type_traits>

#include <fmt/format.h>

namespace nabla {

enum class DType : uint8_t { float32, float64, int64, uint8 };

inline constexpr DType float32 = DType::float32;
inline constexpr DType float64 = DType::float64;
inline constexpr DType int64 = DType::int64;
inline constexpr DType uint8 = DType::uint8;

constexpr size_t itemsize(DType dtype) {
  switch (dtype) {
    case DType::float32: return 4;
    case DType::float64: return 8;
    case DType::int64: return 8;
    case DType::uint8: return 1;
  }
  return 0;
}

constexpr std::string_view dtype_name(DType dtype) {
  switch (dtype) {
    case DType::float32: return "float32";
    case DType::float64: return "float64";
    case DType::int64: return "int64";
    case DType::uint8: return "uint8";
  }
  return "?";
}

constexpr bool is_floating(DType dtype) { return dtype == DType::float32 || dtype == DType::float64; }

// The dtype both operands of a binary op are computed in: the "wider" of the two, with any
// floating type winning over any integer type.
constexpr DType promote_types(DType a, DType b) {
  auto rank = [](DType t) {
    switch (t) {
      case DType::uint8: return 0;
      case DType::int64: return 1;
      case DType::float32: return 2;
      case DType::float64: return 3;
    }
    return 0;
  };
  return rank(a) >= rank(b) ? a : b;
}

template <class T> struct dtype_of;
template <> struct dtype_of<float> { static constexpr DType value = DType::float32; };
template <> struct dtype_of<double> { static constexpr DType value = DType::float64; };
template <> struct dtype_of<int64_t> { static constexpr DType value = DType::int64; };
template <> struct dtype_of<uint8_t> { static constexpr DType value = DType::uint8; };
template <class T> inline constexpr DType dtype_v = dtype_of<T>::value;

// Calls fn(T{}) with T the C++ type of `dtype`:
//   dispatch(t.dtype(), [&](auto tag) { using T = decltype(tag); ... });
template <class Fn>
decltype(auto) dispatch(DType dtype, Fn&& fn) {
  switch (dtype) {
    case DType::float32: return fn(float{});
    case DType::float64: return fn(double{});
    case DType::int64: return fn(int64_t{});
    case DType::uint8: return fn(uint8_t{});
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
