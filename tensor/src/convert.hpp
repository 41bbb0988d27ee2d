#pragma once
// Private: how one element becomes another dtype's — what .to(), copy_, item/at, fill_ and the
// factories use. A plain static_cast from a float to an integer type is undefined behaviour in
// C++ when the integer type cannot hold the truncated value (NaN, ±inf, out of range); convert
// defines every case, as PyTorch 1.13 on x86-64 gives it (the results of the CPU's truncating
// conversion instructions):
//   float -> int64, int32   truncate toward zero; NaN, ±inf and out of range give the
//                           "integer indefinite" value, the type's minimum (INT64_MIN, INT32_MIN)
//   float -> uint8          the low 8 bits of the int64 conversion (so -1.0 -> 255, 300.0 -> 44,
//                           NaN -> 0)
//   anything -> bool        x != 0 (NaN -> true)
//   integer -> narrower     the low bits (two's complement wrap-around, defined since C++20)
//   float64 -> float32      IEEE 754 rounding (beyond float32's range: ±inf)
#include <cstdint>
#include <limits>
#include <type_traits>

namespace nabla::kernels::detail {

template <class To, class From>
constexpr To convert(From x) {
  if constexpr (std::is_same_v<To, From>) {
    return x;
  } else if constexpr (std::is_same_v<To, bool>) {
    return x != From(0);
  } else if constexpr (std::is_floating_point_v<From> && std::is_integral_v<To>) {
    using Wide = std::conditional_t<std::is_same_v<To, int32_t>, int32_t, int64_t>;
    // -2^(n-1) and 2^(n-1) are exact in float and double: every x in [low, high) truncates into
    // range. A double in (-2^31 - 1, -2^31) would truncate to INT32_MIN too, which is also what
    // the out-of-range branch gives, so the half-open test is exact for every source type.
    constexpr From low = -static_cast<From>(uint64_t{1} << (8 * sizeof(Wide) - 1));
    constexpr From high = static_cast<From>(uint64_t{1} << (8 * sizeof(Wide) - 1));
    const Wide wide = (x >= low && x < high) ? static_cast<Wide>(x) : std::numeric_limits<Wide>::min();
    return static_cast<To>(wide);  // uint8: the low 8 bits
  } else {
    return static_cast<To>(x);
  }
}

}  // namespace nabla::kernels::detail
