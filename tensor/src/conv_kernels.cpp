// The kernels under convolution and pooling. Every kernel works on one [H, W] plane at a time of a
// contiguous NCHW input; planes (N * C of them) are split across threads, and each plane writes
// only its own part of the output, so no two threads touch the same memory.
//
// Padding is never materialised. For each kernel tap the range of output positions that read
// inside the input is computed once per call, so the inner loops run over exactly the in-bounds
// part with no per-element test (and, for stride 1, as a memcpy). im2col and col2im on short or
// strided rows use a per-geometry table of input offsets instead (see use_tap_table).
#include "nabla/tensor/conv_kernels.hpp"

#include "nabla/tensor/simd.hpp"
#include "pool_rows.hpp"
#include "window.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include "nabla/tensor/error.hpp"
#include "nabla/tensor/factories.hpp"
#include "nabla/tensor/threads.hpp"

namespace nabla::kernels {
namespace {

constexpr int64_t kWorkPerThread = 1 << 15;  // multiply-adds (or copies) worth a thread

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

// Planes per parallel_for chunk so that a chunk holds about kWorkPerThread of work.
int64_t plane_grain(int64_t work_per_plane) {
  return std::max<int64_t>(1, kWorkPerThread / std::max<int64_t>(work_per_plane, 1));
}

// A half-open range [first, last).
struct Range {
  int64_t first = 0;
  int64_t last = 0;
  int64_t size() const { return last - first; }
};

// Along one axis: the output positions o whose window tap `tap` reads inside the input, i.e.
// 0 <= o * stride - padding + tap * dilation < in.
Range outputs_inside(int64_t in, int64_t out, int64_t stride, int64_t padding, int64_t dilation,
                     int64_t tap) {
  const int64_t offset = tap * dilation - padding;
  Range range;
  range.first = offset >= 0 ? 0 : ceil_div(-offset, stride);
  range.last = offset >= in ? 0 : ceil_div(in - offset, stride);
  range.first = std::min(range.first, out);
  range.last = std::clamp(range.last, range.first, out);
  return range;
}

// Along one axis: for each output position, the kernel taps that read inside the input.
std::vector<Range> taps_inside(int64_t in, int64_t out, int64_t kernel, int64_t stride, int64_t padding,
                               int64_t dilation) {
  std::vector<Range> taps(static_cast<size_t>(out));
  for (int64_t o = 0; o < out; ++o) {
    const int64_t start = o * stride - padding;
    Range& range = taps[static_cast<size_t>(o)];
    range.first = std::min(start >= 0 ? 0 : ceil_div(-start, dilation), kernel);
    range.last = std::clamp(start >= in ? 0 : ceil_div(in - start, dilation), range.first, kernel);
  }
  return taps;
}

// Everything the kernels need to know about one call.
struct Geometry {
  int64_t planes = 0;  // N * C
  int64_t in_h = 0, in_w = 0;
  int64_t out_h = 0, out_w = 0;
  int64_t kernel_h = 0, kernel_w = 0;
  int64_t stride_h = 0, stride_w = 0;
  int64_t padding_h = 0, padding_w = 0;
  int64_t dilation_h = 0, dilation_w = 0;

  int64_t in_plane() const { return in_h * in_w; }
  int64_t out_plane() const { return out_h * out_w; }
  int64_t taps() const { return kernel_h * kernel_w; }
};

Geometry make_geometry(const Shape& image_shape, Size2d out, const Window2d& window) {
  Geometry g;
  g.planes = image_shape[0] * image_shape[1];
  g.in_h = image_shape[2];
  g.in_w = image_shape[3];
  g.out_h = out.h;
  g.out_w = out.w;
  g.kernel_h = window.kernel.h;
  g.kernel_w = window.kernel.w;
  g.stride_h = window.stride.h;
  g.stride_w = window.stride.w;
  g.padding_h = window.padding.h;
  g.padding_w = window.padding.w;
  g.dilation_h = window.dilation.h;
  g.dilation_w = window.dilation.w;
  return g;
}

// The geometry of `window` sliding over images of image_shape [N, C, H, W]; throws naming `op`
// when the window does not fit.
Geometry window_geometry(const Shape& image_shape, const Window2d& window, const char* op) {
  return make_geometry(image_shape, window_output_size({image_shape[2], image_shape[3]}, window, op), window);
}

// Per kernel tap, the output rows / columns that read inside the input (im2col and col2im).
struct TapOutputs {
  std::vector<Range> rows;     // per tap i
  std::vector<Range> columns;  // per tap j
};
TapOutputs tap_outputs(const Geometry& g) {
  TapOutputs t;
  for (int64_t i = 0; i < g.kernel_h; ++i) {
    t.rows.push_back(outputs_inside(g.in_h, g.out_h, g.stride_h, g.padding_h, g.dilation_h, i));
  }
  for (int64_t j = 0; j < g.kernel_w; ++j) {
    t.columns.push_back(outputs_inside(g.in_w, g.out_w, g.stride_w, g.padding_w, g.dilation_w, j));
  }
  return t;
}

// ---- argument checks

void check_image(const Tensor& x, const char* op, const char* name) {
  if (!x.defined()) fail("{}: {} is undefined (default-constructed)", op, name);
  if (x.dim() != 4) fail("{}: {} must be 4-d [N, C, H, W], got shape {}", op, name, x.shape());
  if (!is_floating(x.dtype())) {
    fail("{}: {} must be float32 or float64, got {} (convert with .to(float32))", op, name, x.dtype());
  }
}

void check_image_shape(const Shape& shape, const char* op) {
  if (shape.size() != 4) fail("{}: the image shape must be 4-d [N, C, H, W], got {}", op, shape);
  for (int64_t extent : shape) {
    if (extent < 0) fail("{}: the image shape {} has a negative extent", op, shape);
  }
}

// Pooling windows must each see at least one input element: padding at most half the window (as
// PyTorch requires), and no window made only of padding between dilated taps.
struct PoolTaps {
  std::vector<Range> rows;     // per output row
  std::vector<Range> columns;  // per output column
  // Per output row / column, the taps inside the padded input (PyTorch's count_include_pad
  // divisor: the whole window except where ceil_mode lets it run past the padding).
  std::vector<int64_t> padded_rows, padded_columns;
};

// The taps of each output position's window that lie inside the input plus its padding.
std::vector<int64_t> taps_inside_padding(int64_t in, int64_t out, int64_t kernel, int64_t stride, int64_t padding,
                                         int64_t dilation) {
  std::vector<int64_t> counts(static_cast<size_t>(out));
  for (int64_t o = 0; o < out; ++o) {
    const int64_t start = o * stride - padding;  // >= -padding
    counts[static_cast<size_t>(o)] = std::min(kernel, ceil_div(in + padding - start, dilation));
  }
  return counts;
}
PoolTaps pool_taps(const Geometry& g, const Window2d& window, const char* op) {
  const int64_t window_h = window.dilation.h * (window.kernel.h - 1) + 1;
  const int64_t window_w = window.dilation.w * (window.kernel.w - 1) + 1;
  if (2 * window.padding.h > window_h || 2 * window.padding.w > window_w) {
    fail("{}: padding {}x{} is more than half the {}x{} window; use padding of at most {}x{}", op,
         window.padding.h, window.padding.w, window_h, window_w, window_h / 2, window_w / 2);
  }
  PoolTaps taps;
  taps.rows = taps_inside(g.in_h, g.out_h, g.kernel_h, g.stride_h, g.padding_h, g.dilation_h);
  taps.columns = taps_inside(g.in_w, g.out_w, g.kernel_w, g.stride_w, g.padding_w, g.dilation_w);
  taps.padded_rows = taps_inside_padding(g.in_h, g.out_h, g.kernel_h, g.stride_h, g.padding_h, g.dilation_h);
  taps.padded_columns = taps_inside_padding(g.in_w, g.out_w, g.kernel_w, g.stride_w, g.padding_w, g.dilation_w);
  for (int64_t o = 0; o < g.out_h; ++o) {
    if (taps.rows[static_cast<size_t>(o)].size() <= 0) {
      fail("{}: the window of output row {} covers only padding (input height {}); use less padding "
           "or dilation", op, o, g.in_h);
    }
  }
  for (int64_t o = 0; o < g.out_w; ++o) {
    if (taps.columns[static_cast<size_t>(o)].size() <= 0) {
      fail("{}: the window of output column {} covers only padding (input width {}); use less "
           "padding or dilation", op, o, g.in_w);
    }
  }
  return taps;
}

// ---- kernels

// One row of columns from a strided input row: zeros outside `inside`, in[o * stride] within.
// (Short strided rows take the offset table below; the rows that reach this are long.)
template <class T>
inline void im2col_strided_row(const T* __restrict in, T* __restrict dst, Range inside, int64_t stride,
                               int64_t length) {
  std::fill(dst, dst + inside.first, T(0));
  for (int64_t o = inside.first; o < inside.last; ++o) dst[o] = in[o * stride];
  std::fill(dst + inside.last, dst + length, T(0));
}

// Where the output rows are short or strided (a 4x4 stride-2 layer's are 3 to 14 long), im2col
// and col2im walk a table instead of the rows: per tap and output position, the offset in the
// input plane it reads, or -1 where it reads padding. One flat loop of OH*OW per tap then replaces
// OH short loops, each with its own set-up and padding edges.
bool use_tap_table(const Geometry& g) {
  constexpr int64_t kMostEntries = 1 << 16;  // 256 KB of table; larger planes have long rows anyway
  return (g.stride_w != 1 || g.out_w < 16) && g.taps() * g.out_plane() <= kMostEntries &&
         g.in_plane() <= INT32_MAX;
}

// Everything of g but the plane count: what the tables below depend on.
using GeometryKey = std::array<int64_t, 12>;
GeometryKey geometry_key(const Geometry& g) {
  return {g.in_h,     g.in_w,     g.out_h,     g.out_w,     g.kernel_h,   g.kernel_w,
          g.stride_h, g.stride_w, g.padding_h, g.padding_w, g.dilation_h, g.dilation_w};
}

// The table for g, built once per geometry and thread: a batch unfolds image after image (and
// threads each their own images) with one geometry, so it is built once per call, not per image.
// The pointer stays valid until this thread asks for another geometry's table.
const int32_t* tap_table(const Geometry& g) {
  struct Cached {
    GeometryKey key{};
    std::vector<int32_t> offsets;
  };
  thread_local Cached cached;
  const GeometryKey key = geometry_key(g);
  if (cached.key == key && !cached.offsets.empty()) return cached.offsets.data();
  cached.key = key;
  cached.offsets.resize(static_cast<size_t>(g.taps() * g.out_plane()));
  int32_t* entry = cached.offsets.data();
  for (int64_t i = 0; i < g.kernel_h; ++i) {
    for (int64_t j = 0; j < g.kernel_w; ++j) {
      for (int64_t oh = 0; oh < g.out_h; ++oh) {
        const int64_t row = oh * g.stride_h - g.padding_h + i * g.dilation_h;
        for (int64_t ow = 0; ow < g.out_w; ++ow) {
          const int64_t column = ow * g.stride_w - g.padding_w + j * g.dilation_w;
          const bool inside = row >= 0 && row < g.in_h && column >= 0 && column < g.in_w;
          *entry++ = inside ? static_cast<int32_t>(row * g.in_w + column) : -1;
        }
      }
    }
  }
  return cached.offsets.data();
}

// columns[l] = plane[offsets[l]], 0 where the offset is -1.
template <class T>
NABLA_SIMD_CLONES void gather_by_table(const T* __restrict plane, T* __restrict columns, const int32_t* __restrict offsets, int64_t n) {
  for (int64_t l = 0; l < n; ++l) {
    const int32_t k = offsets[l];
    const T v = plane[k < 0 ? 0 : k];
    columns[l] = k < 0 ? T(0) : v;
  }
}

// col2im's table, the other way round: for each input position, the column entries that add into
// it (tap * row_stride + output position, taps in order), `per_input` of them, -1 padding the
// shorter lists. Stored entry-major ([per_input, H*W]), so that col2im is per_input passes of
// gathers over the plane (no scatter, no zero fill first), each input summed in im2col's tap order.
struct Contributions {
  const int32_t* entries = nullptr;
  int64_t per_input = 0;
};

// False when a plane's columns (taps rows of row_stride) are too long for int32 entries.
bool fits_contribution_table(const Geometry& g, int64_t row_stride) {
  return g.taps() * row_stride <= INT32_MAX;
}

// Built once per geometry, row stride and thread, as tap_table.
Contributions contribution_table(const Geometry& g, int64_t row_stride) {
  struct Cached {
    GeometryKey key{};
    int64_t row_stride = -1;
    std::vector<int32_t> entries;
    int64_t per_input = 0;
  };
  thread_local Cached cached;
  const GeometryKey key = geometry_key(g);
  if (cached.key == key && cached.row_stride == row_stride && !cached.entries.empty()) {
    return {cached.entries.data(), cached.per_input};
  }
  const int32_t* offsets = tap_table(g);
  const int64_t length = g.out_plane();
  std::vector<int64_t> count(static_cast<size_t>(g.in_plane()), 0);
  for (int64_t e = 0; e < g.taps() * length; ++e) {
    if (offsets[e] >= 0) ++count[static_cast<size_t>(offsets[e])];
  }
  const int64_t per_input = std::max<int64_t>(1, count.empty() ? 1 : *std::max_element(count.begin(), count.end()));
  cached.key = key;
  cached.row_stride = row_stride;
  cached.per_input = per_input;
  cached.entries.assign(static_cast<size_t>(per_input * g.in_plane()), -1);
  std::fill(count.begin(), count.end(), 0);
  for (int64_t t = 0; t < g.taps(); ++t) {
    for (int64_t l = 0; l < length; ++l) {
      const int32_t k = offsets[t * length + l];
      if (k < 0) continue;
      int64_t& filled = count[static_cast<size_t>(k)];
      cached.entries[static_cast<size_t>(filled * g.in_plane() + k)] = static_cast<int32_t>(t * row_stride + l);
      ++filled;
    }
  }
  return {cached.entries.data(), per_input};
}

// plane[p] = the sum over e of columns[entries[e][p]] (skipping -1), for p in [0, n).
template <class T>
NABLA_SIMD_CLONES void sum_by_table(const T* __restrict columns, T* __restrict plane, const int32_t* __restrict entries,
                                    int64_t per_input, int64_t n) {
  for (int64_t p = 0; p < n; ++p) {
    const int32_t k = entries[p];
    const T v = columns[k < 0 ? 0 : k];
    plane[p] = T(0) + (k < 0 ? T(0) : v);  // 0 + v, as the zero-filled plane of the row path
  }
  for (int64_t e = 1; e < per_input; ++e) {
    const int32_t* row = entries + e * n;
    for (int64_t p = 0; p < n; ++p) {
      const int32_t k = row[p];
      const T v = columns[k < 0 ? 0 : k];
      plane[p] += k < 0 ? T(0) : v;
    }
  }
}

// Row r of the columns starts at columns + r * row_stride (row_stride >= OH*OW; 0 means OH*OW), so
// that the columns of several images can sit side by side in one matrix.
template <class T>
void im2col_kernel(const T* image, T* columns, const Geometry& g, int64_t row_stride = 0) {
  const int64_t length = g.out_plane();
  const int64_t ld = row_stride > 0 ? row_stride : length;
  if (use_tap_table(g)) {
    parallel_for(0, g.planes, plane_grain(g.taps() * length), [&](int64_t lo, int64_t hi) {
      const int32_t* table = tap_table(g);
      for (int64_t plane = lo; plane < hi; ++plane) {
        for (int64_t t = 0; t < g.taps(); ++t) {
          gather_by_table<T>(image + plane * g.in_plane(), columns + (plane * g.taps() + t) * ld, table + t * length,
                             length);
        }
      }
    });
    return;
  }
  const TapOutputs outputs = tap_outputs(g);
  parallel_for(0, g.planes, plane_grain(g.taps() * length), [&](int64_t lo, int64_t hi) {
    for (int64_t plane = lo; plane < hi; ++plane) {
      const T* in = image + plane * g.in_plane();
      T* out = columns + plane * g.taps() * ld;
      for (int64_t i = 0; i < g.kernel_h; ++i) {
        const Range rows = outputs.rows[static_cast<size_t>(i)];
        for (int64_t j = 0; j < g.kernel_w; ++j) {
          const Range cols = outputs.columns[static_cast<size_t>(j)];
          const int64_t column_offset = j * g.dilation_w - g.padding_w;
          T* row_out = out + (i * g.kernel_w + j) * ld;
          std::fill(row_out, row_out + rows.first * g.out_w, T(0));
          for (int64_t oh = rows.first; oh < rows.last; ++oh) {
            const T* in_row = in + (oh * g.stride_h - g.padding_h + i * g.dilation_h) * g.in_w;
            T* dst = row_out + oh * g.out_w;
            if (g.stride_w == 1 && cols.size() > 0) {
              std::fill(dst, dst + cols.first, T(0));
              std::memcpy(dst + cols.first, in_row + cols.first + column_offset,
                          static_cast<size_t>(cols.size()) * sizeof(T));
              std::fill(dst + cols.last, dst + g.out_w, T(0));
            } else {
              im2col_strided_row<T>(in_row + column_offset, dst, cols, g.stride_w, g.out_w);
            }
          }
          std::fill(row_out + rows.last * g.out_w, row_out + length, T(0));
        }
      }
    }
  });
}

// row_stride as im2col_kernel's.
template <class T>
void col2im_kernel(const T* columns, T* image, const Geometry& g, int64_t row_stride = 0) {
  const int64_t length = g.out_plane();
  const int64_t ld = row_stride > 0 ? row_stride : length;
  if (use_tap_table(g) && fits_contribution_table(g, ld)) {
    parallel_for(0, g.planes, plane_grain(g.taps() * length), [&](int64_t lo, int64_t hi) {
      const Contributions table = contribution_table(g, ld);
      for (int64_t plane = lo; plane < hi; ++plane) {
        sum_by_table<T>(columns + plane * g.taps() * ld, image + plane * g.in_plane(), table.entries, table.per_input,
                        g.in_plane());
      }
    });
    return;
  }
  const TapOutputs outputs = tap_outputs(g);
  parallel_for(0, g.planes, plane_grain(g.taps() * length), [&](int64_t lo, int64_t hi) {
    for (int64_t plane = lo; plane < hi; ++plane) {
      T* out = image + plane * g.in_plane();
      const T* in = columns + plane * g.taps() * ld;
      std::fill(out, out + g.in_plane(), T(0));
      for (int64_t i = 0; i < g.kernel_h; ++i) {
        const Range rows = outputs.rows[static_cast<size_t>(i)];
        for (int64_t j = 0; j < g.kernel_w; ++j) {
          const Range cols = outputs.columns[static_cast<size_t>(j)];
          const int64_t column_offset = j * g.dilation_w - g.padding_w;
          const T* row_in = in + (i * g.kernel_w + j) * ld;
          for (int64_t oh = rows.first; oh < rows.last; ++oh) {
            T* out_row = out + (oh * g.stride_h - g.padding_h + i * g.dilation_h) * g.in_w;
            const T* src = row_in + oh * g.out_w;
            for (int64_t ow = cols.first; ow < cols.last; ++ow) {
              out_row[ow * g.stride_w + column_offset] += src[ow];
            }
          }
        }
      }
    }
  });
}

template <class T>
NABLA_SIMD_CLONES void max_pool_2x2_planes(const T* image, T* values, int64_t* indices, const Geometry& g,
                                           int64_t first_plane, int64_t last_plane) {
  for (int64_t plane = first_plane; plane < last_plane; ++plane) {
    const T* in = image + plane * g.in_plane();
    for (int64_t oh = 0; oh < g.out_h; ++oh) {
      const int64_t row = 2 * oh * g.in_w;
      T* value_row = values + plane * g.out_plane() + oh * g.out_w;
      if (indices) {
        detail::max_pool_2x2_row<T, true>(in + row, in + row + g.in_w, value_row, indices + plane * g.out_plane() + oh * g.out_w,
                                  row, g.in_w, g.out_w);
      } else {
        detail::max_pool_2x2_row<T, false>(in + row, in + row + g.in_w, value_row, nullptr, row, g.in_w, g.out_w);
      }
    }
  }
}

// (ceil_mode may add a last, partial window, which the fast path does not handle.)
bool is_plain_2x2(const Geometry& g) {
  return g.kernel_h == 2 && g.kernel_w == 2 && g.stride_h == 2 && g.stride_w == 2 && g.padding_h == 0 &&
         g.padding_w == 0 && g.dilation_h == 1 && g.dilation_w == 1 && 2 * g.out_h <= g.in_h && 2 * g.out_w <= g.in_w;
}

template <class T>
void max_pool_kernel(const T* image, T* values, int64_t* indices, const Geometry& g, const PoolTaps& taps) {
  if (is_plain_2x2(g)) {
    parallel_for(0, g.planes, plane_grain(g.taps() * g.out_plane()), [&](int64_t lo, int64_t hi) {
      max_pool_2x2_planes<T>(image, values, indices, g, lo, hi);
    });
    return;
  }
  parallel_for(0, g.planes, plane_grain(g.taps() * g.out_plane()), [&](int64_t lo, int64_t hi) {
    for (int64_t plane = lo; plane < hi; ++plane) {
      const T* in = image + plane * g.in_plane();
      T* value_out = values + plane * g.out_plane();
      int64_t* index_out = indices ? indices + plane * g.out_plane() : nullptr;
      for (int64_t oh = 0; oh < g.out_h; ++oh) {
        const Range rows = taps.rows[static_cast<size_t>(oh)];
        const int64_t top = oh * g.stride_h - g.padding_h;
        for (int64_t ow = 0; ow < g.out_w; ++ow) {
          const Range cols = taps.columns[static_cast<size_t>(ow)];
          const int64_t left = ow * g.stride_w - g.padding_w;
          int64_t best_index = (top + rows.first * g.dilation_h) * g.in_w + left + cols.first * g.dilation_w;
          T best = in[best_index];
          bool saw_nan = false;
          // Strictly greater keeps the first of equal maxima. Written without branches (on real
          // data "greater" is a coin flip the branch predictor loses); NaNs are rare, so they only
          // set a flag here and are handled after the loop.
          for (int64_t i = rows.first; i < rows.last; ++i) {
            const int64_t row_start = (top + i * g.dilation_h) * g.in_w + left;
            for (int64_t j = cols.first; j < cols.last; ++j) {
              const int64_t index = row_start + j * g.dilation_w;
              const T value = in[index];
              const bool greater = value > best;
              best_index += (index - best_index) * static_cast<int64_t>(greater);
              best = greater ? value : best;
              saw_nan |= std::isnan(value);
            }
          }
          if (saw_nan) {
            // A NaN wins, and propagates: the first one in the window.
            for (int64_t i = rows.first; i < rows.last && !std::isnan(best); ++i) {
              const int64_t row_start = (top + i * g.dilation_h) * g.in_w + left;
              for (int64_t j = cols.first; j < cols.last; ++j) {
                const int64_t index = row_start + j * g.dilation_w;
                if (std::isnan(in[index])) {
                  best = in[index];
                  best_index = index;
                  break;
                }
              }
            }
          }
          value_out[oh * g.out_w + ow] = best;
          if (index_out) index_out[oh * g.out_w + ow] = best_index;
        }
      }
    }
  });
}

struct AvgDivisor {
  bool count_include_pad = true;
  std::optional<int64_t> override_;
};

int64_t pool_divisor(const PoolTaps& taps, int64_t oh, int64_t ow, const AvgDivisor& divisor) {
  if (divisor.override_) return *divisor.override_;
  if (divisor.count_include_pad) {
    return taps.padded_rows[static_cast<size_t>(oh)] * taps.padded_columns[static_cast<size_t>(ow)];
  }
  return taps.rows[static_cast<size_t>(oh)].size() * taps.columns[static_cast<size_t>(ow)].size();
}

template <class T>
void avg_pool_kernel(const T* image, T* out, const Geometry& g, const PoolTaps& taps, const AvgDivisor& divisor) {
  parallel_for(0, g.planes, plane_grain(g.taps() * g.out_plane()), [&](int64_t lo, int64_t hi) {
    for (int64_t plane = lo; plane < hi; ++plane) {
      const T* in = image + plane * g.in_plane();
      T* plane_out = out + plane * g.out_plane();
      for (int64_t oh = 0; oh < g.out_h; ++oh) {
        const Range rows = taps.rows[static_cast<size_t>(oh)];
        const int64_t top = oh * g.stride_h - g.padding_h;
        for (int64_t ow = 0; ow < g.out_w; ++ow) {
          const Range cols = taps.columns[static_cast<size_t>(ow)];
          const int64_t left = ow * g.stride_w - g.padding_w;
          T sum = 0;
          for (int64_t i = rows.first; i < rows.last; ++i) {
            const T* in_row = in + (top + i * g.dilation_h) * g.in_w + left;
            for (int64_t j = cols.first; j < cols.last; ++j) sum += in_row[j * g.dilation_w];
          }
          plane_out[oh * g.out_w + ow] = sum / static_cast<T>(pool_divisor(taps, oh, ow, divisor));
        }
      }
    }
  });
}

template <class T>
void avg_pool_backward_kernel(const T* grad_output, T* grad_input, const Geometry& g, const PoolTaps& taps,
                              const AvgDivisor& divisor) {
  parallel_for(0, g.planes, plane_grain(g.taps() * g.out_plane()), [&](int64_t lo, int64_t hi) {
    for (int64_t plane = lo; plane < hi; ++plane) {
      const T* go = grad_output + plane * g.out_plane();
      T* gi = grad_input + plane * g.in_plane();
      std::fill(gi, gi + g.in_plane(), T(0));
      for (int64_t oh = 0; oh < g.out_h; ++oh) {
        const Range rows = taps.rows[static_cast<size_t>(oh)];
        const int64_t top = oh * g.stride_h - g.padding_h;
        for (int64_t ow = 0; ow < g.out_w; ++ow) {
          const Range cols = taps.columns[static_cast<size_t>(ow)];
          const int64_t left = ow * g.stride_w - g.padding_w;
          const T share = go[oh * g.out_w + ow] / static_cast<T>(pool_divisor(taps, oh, ow, divisor));
          for (int64_t i = rows.first; i < rows.last; ++i) {
            T* gi_row = gi + (top + i * g.dilation_h) * g.in_w + left;
            for (int64_t j = cols.first; j < cols.last; ++j) gi_row[j * g.dilation_w] += share;
          }
        }
      }
    }
  });
}

}  // namespace

}  // namespace nabla::kernels

namespace nabla {
Size2d window_output_size(Size2d in, const Window2d& window, const char* op) {
  const Size2d& k = window.kernel;
  const Size2d& s = window.stride;
  const Size2d& p = window.padding;
  const Size2d& d = window.dilation;
  if (k.h < 1 || k.w < 1) fail("{}: kernel size must be positive, got {}x{}", op, k.h, k.w);
  if (s.h < 1 || s.w < 1) fail("{}: stride must be positive, got {}x{}", op, s.h, s.w);
  if (d.h < 1 || d.w < 1) fail("{}: dilation must be positive, got {}x{}", op, d.h, d.w);
  if (p.h < 0 || p.w < 0) fail("{}: padding must be non-negative, got {}x{}", op, p.h, p.w);
  if (in.h < 0 || in.w < 0) fail("{}: input size must be non-negative, got {}x{}", op, in.h, in.w);
  const int64_t window_h = d.h * (k.h - 1) + 1, window_w = d.w * (k.w - 1) + 1;
  const int64_t padded_h = in.h + 2 * p.h, padded_w = in.w + 2 * p.w;
  // ceil_mode rounds up: a last, partial window counts too.
  const int64_t round_h = window.ceil_mode ? s.h - 1 : 0, round_w = window.ceil_mode ? s.w - 1 : 0;
  if (padded_h + round_h < window_h || padded_w + round_w < window_w) {
    fail("{}: the {}x{} window (kernel {}x{}, dilation {}x{}) does not fit the {}x{} input with "
         "padding {}x{}; use a smaller kernel or more padding", op, window_h, window_w, k.h, k.w, d.h,
         d.w, in.h, in.w, p.h, p.w);
  }
  Size2d out((padded_h - window_h + round_h) / s.h + 1, (padded_w - window_w + round_w) / s.w + 1);
  if (window.ceil_mode) {
    // PyTorch's rule: the last window must start inside the input or its left/top padding.
    if ((out.h - 1) * s.h >= in.h + p.h) --out.h;
    if ((out.w - 1) * s.w >= in.w + p.w) --out.w;
  }
  return out;
}
}  // namespace nabla

namespace nabla::kernels {

namespace detail {

const int32_t* window_offset_table(Size2d in, const Window2d& window) {
  return tap_table(window_geometry({1, 1, in.h, in.w}, window, "im2col"));
}

template <class T>
void im2col_image(const T* image, T* columns, int64_t channels, Size2d in, const Window2d& window, int64_t row_stride) {
  im2col_kernel<T>(image, columns, window_geometry({1, channels, in.h, in.w}, window, "im2col"), row_stride);
}

template <class T>
void col2im_image(const T* columns, T* image, int64_t channels, Size2d in, const Window2d& window, int64_t row_stride) {
  col2im_kernel<T>(columns, image, window_geometry({1, channels, in.h, in.w}, window, "col2im"), row_stride);
}

template void im2col_image<float>(const float*, float*, int64_t, Size2d, const Window2d&, int64_t);
template void im2col_image<double>(const double*, double*, int64_t, Size2d, const Window2d&, int64_t);
template void col2im_image<float>(const float*, float*, int64_t, Size2d, const Window2d&, int64_t);
template void col2im_image<double>(const double*, double*, int64_t, Size2d, const Window2d&, int64_t);

}  // namespace detail

Tensor im2col(const Tensor& x_in, const Window2d& window) {
  check_image(x_in, "im2col", "x");
  const Shape& shape = x_in.shape();
  const Geometry g = window_geometry(shape, window, "im2col");
  Tensor columns = Tensor::empty({shape[0], shape[1] * g.taps(), g.out_plane()}, x_in.dtype());
  if (columns.numel() == 0) return columns;
  const Tensor x = x_in.contiguous();
  dispatch_floating(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    im2col_kernel<T>(x.data<T>(), columns.data<T>(), g);
  });
  return columns;
}

Tensor col2im(const Tensor& columns_in, const Shape& image_shape, const Window2d& window) {
  if (!columns_in.defined()) fail("col2im: columns is undefined (default-constructed)");
  if (!is_floating(columns_in.dtype())) {
    fail("col2im: columns must be float32 or float64, got {} (convert with .to(float32))", columns_in.dtype());
  }
  check_image_shape(image_shape, "col2im");
  const Geometry g = window_geometry(image_shape, window, "col2im");
  const Shape expected{image_shape[0], image_shape[1] * g.taps(), g.out_plane()};
  if (columns_in.shape() != expected) {
    fail("col2im: columns of shape {} do not match image shape {} with a {}x{} kernel (expected "
         "{} = [N, C*kh*kw, OH*OW])", columns_in.shape(), image_shape, g.kernel_h, g.kernel_w, expected);
  }
  Tensor image = Tensor::empty(image_shape, columns_in.dtype());
  if (image.numel() == 0) return image;
  const Tensor columns = columns_in.contiguous();
  dispatch_floating(columns.dtype(), [&](auto tag) {
    using T = decltype(tag);
    col2im_kernel<T>(columns.data<T>(), image.data<T>(), g);
  });
  return image;
}

PoolResult max_pool2d(const Tensor& x_in, const Window2d& window, bool with_indices) {
  check_image(x_in, "max_pool2d", "x");
  const Shape& shape = x_in.shape();
  const Geometry g = window_geometry(shape, window, "max_pool2d");
  const PoolTaps taps = pool_taps(g, window, "max_pool2d");
  const Shape out_shape{shape[0], shape[1], g.out_h, g.out_w};
  PoolResult result{Tensor::empty(out_shape, x_in.dtype()), with_indices ? Tensor::empty(out_shape, int64) : Tensor()};
  if (result.values.numel() == 0) return result;
  const Tensor x = x_in.contiguous();
  dispatch_floating(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    max_pool_kernel<T>(x.data<T>(), result.values.data<T>(), with_indices ? result.indices.data<int64_t>() : nullptr, g,
                       taps);
  });
  return result;
}

Tensor max_pool2d_backward(const Tensor& grad_output_in, const Tensor& indices_in, const Shape& input_shape) {
  check_image(grad_output_in, "max_pool2d_backward", "grad_output");
  check_image_shape(input_shape, "max_pool2d_backward");
  if (!indices_in.defined()) fail("max_pool2d_backward: indices is undefined (pass max_pool2d's indices)");
  if (indices_in.dtype() != int64 || indices_in.shape() != grad_output_in.shape()) {
    fail("max_pool2d_backward: indices must be int64 of grad_output's shape {} (as max_pool2d returns them), got {} {}",
         grad_output_in.shape(), indices_in.dtype(), indices_in.shape());
  }
  const Shape& out_shape = grad_output_in.shape();
  if (out_shape[0] != input_shape[0] || out_shape[1] != input_shape[1]) {
    fail("max_pool2d_backward: grad_output of shape {} does not pool an input of shape {} (N and C differ)", out_shape,
         input_shape);
  }
  if (grad_output_in.numel() == 0) return zeros(input_shape, grad_output_in.dtype());
  Tensor grad_input = Tensor::empty(input_shape, grad_output_in.dtype());  // zeroed plane by plane below
  const Tensor grad_output = grad_output_in.contiguous();
  const Tensor indices = indices_in.contiguous();
  const int64_t planes = input_shape[0] * input_shape[1];
  const int64_t in_plane = input_shape[2] * input_shape[3], out_plane = out_shape[2] * out_shape[3];
  dispatch_floating(grad_output.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* go = grad_output.data<T>();
    const int64_t* index = indices.data<int64_t>();
    T* gi = grad_input.data<T>();
    parallel_for(0, planes, plane_grain(out_plane), [&](int64_t lo, int64_t hi) {
      for (int64_t plane = lo; plane < hi; ++plane) {
        T* dst = gi + plane * in_plane;
        std::fill(dst, dst + in_plane, T(0));  // here, not in a separate pass: the plane stays in cache
        for (int64_t o = plane * out_plane; o < (plane + 1) * out_plane; ++o) {
          const int64_t i = index[o];
          if (i < 0 || i >= in_plane) {
            fail("max_pool2d_backward: index {} at flat position {} is outside the {}x{} input plane", i, o,
                 input_shape[2], input_shape[3]);
          }
          dst[i] += go[o];
        }
      }
    });
  });
  return grad_input;
}

namespace {
void check_divisor_override(std::optional<int64_t> divisor_override, const char* op) {
  if (divisor_override && *divisor_override == 0) fail("{}: divisor_override must not be zero", op);
}
}  // namespace

Tensor avg_pool2d(const Tensor& x_in, const Window2d& window, bool count_include_pad,
                  std::optional<int64_t> divisor_override) {
  check_image(x_in, "avg_pool2d", "x");
  check_divisor_override(divisor_override, "avg_pool2d");
  const Shape& shape = x_in.shape();
  const Geometry g = window_geometry(shape, window, "avg_pool2d");
  const PoolTaps taps = pool_taps(g, window, "avg_pool2d");
  Tensor result = Tensor::empty({shape[0], shape[1], g.out_h, g.out_w}, x_in.dtype());
  if (result.numel() == 0) return result;
  const Tensor x = x_in.contiguous();
  dispatch_floating(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    avg_pool_kernel<T>(x.data<T>(), result.data<T>(), g, taps, AvgDivisor{count_include_pad, divisor_override});
  });
  return result;
}

Tensor avg_pool2d_backward(const Tensor& grad_output_in, const Shape& input_shape, const Window2d& window,
                           bool count_include_pad, std::optional<int64_t> divisor_override) {
  check_image(grad_output_in, "avg_pool2d_backward", "grad_output");
  check_divisor_override(divisor_override, "avg_pool2d_backward");
  check_image_shape(input_shape, "avg_pool2d_backward");
  const Geometry g = window_geometry(input_shape, window, "avg_pool2d_backward");
  const PoolTaps taps = pool_taps(g, window, "avg_pool2d_backward");
  const Shape expected{input_shape[0], input_shape[1], g.out_h, g.out_w};
  if (grad_output_in.shape() != expected) {
    fail("avg_pool2d_backward: grad_output shape {} does not match the pooled shape {} of input shape {}",
         grad_output_in.shape(), expected, input_shape);
  }
  Tensor grad_input = Tensor::empty(input_shape, grad_output_in.dtype());
  if (grad_input.numel() == 0) return grad_input;
  const Tensor grad_output = grad_output_in.contiguous();
  dispatch_floating(grad_output.dtype(), [&](auto tag) {
    using T = decltype(tag);
    avg_pool_backward_kernel<T>(grad_output.data<T>(), grad_input.data<T>(), g, taps,
                                AvgDivisor{count_include_pad, divisor_override});
  });
  return grad_input;
}

}  // namespace nabla::kernels
