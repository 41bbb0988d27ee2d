#pragma once
// Private: fixed 64-byte vectors for the Winograd transforms (GCC/Clang vector extensions), so
// that one source compiles to AVX-512, AVX2 or SSE in each NABLA_SIMD_CLONES version, and a
// lane permutation is one instruction where the CPU has it (vpermt2ps on AVX-512).
#include <cstdint>
#include <cstring>
#include <type_traits>
#include <utility>

namespace nabla::detail::simd {

template <class T>
struct Vector {
  static constexpr int kLanes = static_cast<int>(64 / sizeof(T));
  using Lane = std::conditional_t<sizeof(T) == 4, int32_t, int64_t>;
  typedef T Type __attribute__((vector_size(64)));
  typedef Lane Index __attribute__((vector_size(64)));
};

template <class T>
using Vec = typename Vector<T>::Type;
template <class T>
using Index = typename Vector<T>::Index;
template <class T>
inline constexpr int kLanes = Vector<T>::kLanes;

template <class T>
inline Vec<T> load(const T* p) {
  Vec<T> v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

template <class T>
inline void store(T* p, const Vec<T>& v) {
  std::memcpy(p, &v, sizeof v);
}

// The first n (< kLanes) lanes of v to p, in halving chunks of fixed size (a loop would become
// a call to memmove).
template <class T, int Chunk>
inline void store_chunks(T* p, const T* lanes, int64_t n) {
  if constexpr (Chunk > 0) {
    if (n >= Chunk) {
      std::memcpy(p, lanes, Chunk * sizeof(T));
      p += Chunk, lanes += Chunk, n -= Chunk;
    }
    store_chunks<T, Chunk / 2>(p, lanes, n);
  }
}
template <class T>
inline void store_first(T* p, const Vec<T>& v, int64_t n) {
  T lanes[kLanes<T>];
  store(lanes, v);
  store_chunks<T, kLanes<T> / 2>(p, lanes, n);
}

// index(lane) for every lane, as a permutation index vector (folded to a constant).
template <class T, class F, size_t... L>
inline Index<T> make_index(F index, std::index_sequence<L...>) {
  return Index<T>{static_cast<typename Vector<T>::Lane>(index(static_cast<int>(L)))...};
}
template <class T, class F>
inline Index<T> make_index(F index) {
  return make_index<T>(index, std::make_index_sequence<kLanes<T>>{});
}

// Lane l of the result is lane index[l] of the 2 * kLanes lanes of (a, b).
template <class T>
inline Vec<T> permute(const Vec<T>& a, const Vec<T>& b, const Index<T>& index) {
#if defined(__clang__)
  Vec<T> r;
  for (int l = 0; l < kLanes<T>; ++l) r[l] = index[l] < kLanes<T> ? a[index[l]] : b[index[l] - kLanes<T>];
  return r;
#else
  return __builtin_shuffle(a, b, index);
#endif
}

}  // namespace nabla::detail::simd
