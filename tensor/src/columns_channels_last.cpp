// im2col and col2im with the channels last, for convolutions with many channels and short, strided
// rows (DCGAN's 4x4 stride-2 layers: 64 to 256 channels, 1 to 14 columns per row).
//
// Unfolded channel by channel (window.hpp's im2col_image), every column entry is one element read
// from a table of offsets: a gather, element by element. With the image transposed to [H*W, C]
// first, the entries a tap reads at one output position are C contiguous numbers: the columns
// [images * OH*OW, kh*kw*C] are built from copies of C numbers, and col2im adds C numbers at a
// time. The price is one transpose of each image (to the columns, or back from them), and the
// weight reordered to the columns' order (conv.cpp).
#include <algorithm>
#include <cstring>
#include <type_traits>

#include "nabla/tensor/simd.hpp"
#include "window.hpp"

namespace nabla::kernels::detail {

namespace {

// Eight floats: one AVX register, two SSE ones in the baseline build.
using Floats8 = float __attribute__((vector_size(32)));

// dst (8 rows, ld dst_ld) = src (8 rows, ld src_ld)^T: three rounds of shuffles (pairs, quads,
// halves), which GCC turns into unpack, shuffle and lane-permute instructions.
[[gnu::always_inline]] inline void transpose_8x8(const float* src, int64_t src_ld, float* dst, int64_t dst_ld) {
  Floats8 r[8];
  for (int i = 0; i < 8; ++i) std::memcpy(&r[i], src + i * src_ld, sizeof(Floats8));
  Floats8 pairs[8], quads[8];
  for (int i = 0; i < 8; i += 2) {  // (r_i[0], r_i+1[0], r_i[1], r_i+1[1], ...) per 128-bit half
    pairs[i] = __builtin_shufflevector(r[i], r[i + 1], 0, 8, 1, 9, 4, 12, 5, 13);
    pairs[i + 1] = __builtin_shufflevector(r[i], r[i + 1], 2, 10, 3, 11, 6, 14, 7, 15);
  }
  for (int i = 0; i < 8; i += 4) {  // four rows of one column per 128-bit half
    for (int j = 0; j < 2; ++j) {
      quads[i + 2 * j] = __builtin_shufflevector(pairs[i + j], pairs[i + j + 2], 0, 1, 8, 9, 4, 5, 12, 13);
      quads[i + 2 * j + 1] = __builtin_shufflevector(pairs[i + j], pairs[i + j + 2], 2, 3, 10, 11, 6, 7, 14, 15);
    }
  }
  for (int j = 0; j < 4; ++j) {  // rows 0-3 and 4-7 of columns j and j + 4
    const Floats8 low = __builtin_shufflevector(quads[j], quads[j + 4], 0, 1, 2, 3, 8, 9, 10, 11);
    const Floats8 high = __builtin_shufflevector(quads[j], quads[j + 4], 4, 5, 6, 7, 12, 13, 14, 15);
    std::memcpy(dst + j * dst_ld, &low, sizeof(Floats8));
    std::memcpy(dst + (j + 4) * dst_ld, &high, sizeof(Floats8));
  }
}

// dst [cols, rows] = src [rows, cols]^T: float in 8x8 blocks, the edges (and double) element by
// element.
template <class T>
NABLA_SIMD_CLONES void transpose(const T* __restrict src, T* __restrict dst, int64_t rows, int64_t cols) {
  int64_t r0 = 0, c0 = 0;
  if constexpr (std::is_same_v<T, float>) {
    for (; r0 + 8 <= rows; r0 += 8) {
      for (c0 = 0; c0 + 8 <= cols; c0 += 8) transpose_8x8(src + r0 * cols + c0, cols, dst + c0 * rows + r0, rows);
    }
    c0 = (cols / 8) * 8;
  }
  // What the blocks left: columns [c0, cols) of rows [0, r0), then rows [r0, rows).
  for (int64_t r = 0; r < r0; ++r) {
    for (int64_t c = c0; c < cols; ++c) dst[c * rows + r] = src[r * cols + c];
  }
  for (int64_t c = 0; c < cols; ++c) {
    for (int64_t r = r0; r < rows; ++r) dst[c * rows + r] = src[r * cols + c];
  }
}

// dst[0, n) = src[0, n), or += with Add: runs of C channels, eight floats at a time (no calls to
// memcpy: see tensor/CMakeLists.txt).
template <bool Add, class T>
[[gnu::always_inline]] inline void copy_run(const T* __restrict src, T* __restrict dst, int64_t n) {
  int64_t c = 0;
  if constexpr (std::is_same_v<T, float>) {
    for (; c + 8 <= n; c += 8) {
      Floats8 v;
      std::memcpy(&v, src + c, sizeof(Floats8));
      if constexpr (Add) {
        Floats8 sum;
        std::memcpy(&sum, dst + c, sizeof(Floats8));
        v += sum;
      }
      std::memcpy(dst + c, &v, sizeof(Floats8));
    }
  }
  for (; c < n; ++c) dst[c] = Add ? dst[c] + src[c] : src[c];
}

// Walks the rows of one image's columns [OH*OW, kh*kw * C] and the rows of its transposed plane
// [H*W + 1, C] that they read, the plane's last row zeros (read where offsets say -1: padding).
// ToColumns copies plane rows into the columns (im2col); otherwise column rows are added into the
// plane rows (col2im; what lands in the padding row is discarded), in output-position order, then
// tap order. Taps that read consecutive plane rows (neighbouring columns of the window, inside
// the image) are one run: a 4-wide window row over 64 channels is one copy of 256 numbers.
template <bool ToColumns, class T>
NABLA_SIMD_CLONES void move_rows(const T* __restrict from, T* __restrict to, int64_t padding_row,
                                 const int32_t* __restrict offsets, int64_t positions, int64_t taps,
                                 int64_t channels) {
  for (int64_t l = 0; l < positions; ++l) {
    for (int64_t t = 0, run = 1; t < taps; t += run) {
      const int32_t k = offsets[t * positions + l];
      run = 1;
      if (k >= 0) {
        while (t + run < taps && offsets[(t + run) * positions + l] == k + run) ++run;
      }
      const int64_t plane_row = (k < 0 ? padding_row : int64_t{k}) * channels;
      const int64_t column_row = (l * taps + t) * channels;
      if constexpr (ToColumns) {
        copy_run<false>(from + plane_row, to + column_row, run * channels);
      } else {
        copy_run<true>(from + column_row, to + plane_row, run * channels);
      }
    }
  }
}

// What both directions need: an image's positions, output positions, taps and offset table.
struct Unfolding {
  int64_t plane, positions, taps;
  const int32_t* offsets;
};
Unfolding unfolding(Size2d in, const Window2d& window) {
  const Size2d out = window_output_size(in, window, "im2col");
  return {in.h * in.w, out.h * out.w, window.kernel.h * window.kernel.w, window_offset_table(in, window)};
}

}  // namespace

template <class T>
void im2col_channels_last(const T* images, int64_t count, int64_t channels, Size2d in, const Window2d& window,
                          T* scratch, T* columns) {
  const Unfolding u = unfolding(in, window);
  std::fill_n(scratch + u.plane * channels, channels, T(0));  // the padding row
  for (int64_t i = 0; i < count; ++i) {
    transpose<T>(images + i * channels * u.plane, scratch, channels, u.plane);
    move_rows<true, T>(scratch, columns + i * u.positions * u.taps * channels, u.plane, u.offsets, u.positions, u.taps,
                       channels);
  }
}

template <class T>
void col2im_channels_last(const T* columns, int64_t count, int64_t channels, Size2d in, const Window2d& window,
                          T* scratch, T* images) {
  const Unfolding u = unfolding(in, window);
  for (int64_t i = 0; i < count; ++i) {
    std::fill_n(scratch, (u.plane + 1) * channels, T(0));
    move_rows<false, T>(columns + i * u.positions * u.taps * channels, scratch, u.plane, u.offsets, u.positions, u.taps,
                        channels);
    transpose<T>(scratch, images + i * channels * u.plane, u.plane, channels);
  }
}

template <class T>
void transpose_each(const T* matrices, int64_t count, int64_t rows, int64_t cols, T* result) {
  for (int64_t i = 0; i < count; ++i) transpose<T>(matrices + i * rows * cols, result + i * rows * cols, rows, cols);
}

#define NABLA_CHANNELS_LAST(T)                                                                                   \
  template void im2col_channels_last<T>(const T*, int64_t, int64_t, Size2d, const Window2d&, T*, T*);             \
  template void col2im_channels_last<T>(const T*, int64_t, int64_t, Size2d, const Window2d&, T*, T*);             \
  template void transpose_each<T>(const T*, int64_t, int64_t, int64_t, T*);
NABLA_CHANNELS_LAST(float)
NABLA_CHANNELS_LAST(double)
#undef NABLA_CHANNELS_LAST

}  // namespace nabla::kernels::detail
