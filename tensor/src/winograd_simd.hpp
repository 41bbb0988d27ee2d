#pragma once
// Private: fixed-width vectors for the Winograd transforms (GCC/Clang vector extensions). One
// source compiles for each instruction set (winograd_transforms.inc), with vectors as wide as
// its registers, and a lane permutation is one instruction where the CPU has one (vpermt2ps).
#include <cstdint>
#include <cstring>
#include <type_traits>
#include <utility>

namespace nabla::kernels::detail::simd {

template <class T, int Bytes>
struct Simd {
  static constexpr int kLanes = static_cast<int>(Bytes / sizeof(T));
  using Lane = std::conditional_t<sizeof(T) == 4, int32_t, int64_t>;
  typedef T Vec __attribute__((vector_size(Bytes)));
  typedef Lane Index __attribute__((vector_size(Bytes)));

  static Vec load(const T* p) {
    Vec v;
    std::memcpy(&v, p, sizeof v);
    return v;
  }

  static void store(T* p, const Vec& v) { std::memcpy(p, &v, sizeof v); }

  // The first n (< kLanes) values of `from` to `to`, in halving chunks of fixed size (a loop
  // would become a call to memmove).
  template <int Chunk = kLanes / 2>
  static void store_chunks(T* to, const T* from, int64_t n) {
    if constexpr (Chunk > 0) {
      if (n >= Chunk) {
        std::memcpy(to, from, Chunk * sizeof(T));
        to += Chunk, from += Chunk, n -= Chunk;
      }
      store_chunks<Chunk / 2>(to, from, n);
    }
  }

  // The first n (< kLanes) lanes of v to p.
  static void store_first(T* p, const Vec& v, int64_t n) {
    T lanes[kLanes];
    store(lanes, v);
    store_chunks(p, lanes, n);
  }

  // index(lane) for every lane, as a permutation index vector.
  template <class F>
  static Index make_index(F index) {
    return make_index(index, std::make_index_sequence<kLanes>{});
  }
  template <class F, size_t... L>
  static Index make_index(F index, std::index_sequence<L...>) {
    return Index{static_cast<Lane>(index(static_cast<int>(L)))...};
  }

  // Lane l of the result is lane index[l] of the 2 * kLanes lanes of (a, b): values (Vec) or
  // lane indices (Index).
  template <class V>
  static V permute(const V& a, const V& b, const Index& index) {
#if defined(__clang__)
    V r;
    for (int l = 0; l < kLanes; ++l) r[l] = index[l] < kLanes ? a[index[l]] : b[index[l] - kLanes];
    return r;
#else
    return __builtin_shuffle(a, b, index);
#endif
  }
};

}  // namespace nabla::kernels::detail::simd
