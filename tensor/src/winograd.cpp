// Winograd F(4x4, 3x3). Notation (Lavin & Gray): for a 6x6 input block d, a 3x3 filter g and a
// 4x4 output block Y,
//   Y = A^T [ (G g G^T) . (B^T d B) ] A
//   B^T = [4 0 -5 0 1 0; 0 -4 -4 1 1 0; 0 4 -4 -1 1 0; 0 -2 -1 2 1 0; 0 2 -1 -2 1 0; 0 4 0 -5 0 1]
//   G   = [1/4 0 0; -1/6 -1/6 -1/6; -1/6 1/6 -1/6; 1/24 1/12 1/6; 1/24 -1/12 1/6; 0 0 1]
//   A^T = [1 1 1 1 1 0; 0 1 -1 2 -2 0; 0 1 1 4 4 0; 0 1 -1 8 -8 1]
// Summing over input channels turns the element-wise product into 36 matrix products, one per
// element xi = 6a + b of the 6x6 transformed block: M[xi] (K x tiles) = U[xi] (K x C) . V[xi]
// (C x tiles). That is 2.25 multiplies per output instead of the direct 9 (F(2x2) needs 4; on
// the MNIST CNN F(4x4) trains ~15 % faster). The price is precision: in float32 about 1e-4
// relative instead of 1e-5.
// Since Y is linear in g, the filter gradient is the adjoint: dU[xi] = dM[xi] . V[xi]^T with
// dM = A dY A^T, and dg = G^T dU G.
//
// The transforms work on one row of tiles at a time, vectorised across the tiles of the row: a
// vertical pass over whole image rows (contiguous, any width), then the horizontal pass in
// registers, where the tiles' columns 4 apart are gathered by lane permutations (7 tiles per pair
// of 16-float vectors). Rows of only 6 or 7 tiles, as in MNIST's 24x24 and 26x26 planes, thus
// still run in full vectors.
//
// Work is split into blocks (a few whole images, or a band of tile rows of a large image) across
// the thread pool; each thread transforms a block into its own buffers (sized to stay in cache)
// and runs single-threaded GEMMs on them.
#include "winograd.hpp"

#include <algorithm>
#include <vector>

#include "blas.hpp"
#include "nabla/tensor/factories.hpp"
#include "nabla/tensor/simd.hpp"
#include "nabla/tensor/tensor.hpp"
#include "nabla/tensor/threads.hpp"
#include "winograd_simd.hpp"

namespace nabla::detail {

namespace {

using simd::kLanes;
using simd::Vec;

constexpr int kAlpha = 6;                // a transformed block is kAlpha x kAlpha
constexpr int kTile = 4;                 // output tile size
constexpr int64_t kXi = kAlpha * kAlpha;  // elements of a transformed block

// ---- the 1-d transforms, on scalars or on vectors of tiles (T is the element type)

// B^T d
template <class T, class V>
inline void input_1d(const V (&d)[6], V (&o)[6]) {
  const V a = d[4] - T(4) * d[2], b = d[3] - T(4) * d[1], c = d[4] - d[2], e = T(2) * (d[3] - d[1]);
  o[0] = T(4) * d[0] - T(5) * d[2] + d[4];
  o[1] = a + b, o[2] = a - b;
  o[3] = c + e, o[4] = c - e;
  o[5] = T(4) * d[1] - T(5) * d[3] + d[5];
}

// A^T m
template <class T, class V>
inline void output_1d(const V (&m)[6], V (&y)[4]) {
  const V p = m[1] + m[2], q = m[1] - m[2], r = m[3] + m[4], s = m[3] - m[4];
  y[0] = m[0] + p + r, y[1] = q + T(2) * s, y[2] = p + T(4) * r, y[3] = q + T(8) * s + m[5];
}

// A y, the adjoint of output_1d
template <class T, class V>
inline void grad_1d(const V (&y)[4], V (&s)[6]) {
  const V even = y[0] + y[2], odd = y[1] + y[3];
  const V even4 = y[0] + T(4) * y[2], odd4 = T(2) * y[1] + T(8) * y[3];
  s[0] = y[0], s[1] = even + odd, s[2] = even - odd, s[3] = even4 + odd4, s[4] = even4 - odd4, s[5] = y[3];
}

// G g
template <class T, class V>
inline void filter_1d(const V (&g)[3], V (&u)[6]) {
  const T sixth = T(1) / T(6);
  const V a = g[0] + g[2], b = g[0] * T(0.25) + g[2];  // and u[3], u[4] = (b +- g[1] / 2) / 6
  u[0] = g[0] * T(0.25);
  u[1] = -(a + g[1]) * sixth;
  u[2] = -(a - g[1]) * sixth;
  u[3] = (b + T(0.5) * g[1]) * sixth;
  u[4] = (b - T(0.5) * g[1]) * sixth;
  u[5] = g[2];
}

// G g G^T for a 3x3 filter g (row-major), into u[6a + b]
template <class T, class V>
inline void filter_2d(const V (&g)[9], V (&u)[kXi]) {
  V r[kAlpha][3];  // G g
  for (int j = 0; j < 3; ++j) {
    const V column[3] = {g[j], g[3 + j], g[6 + j]};
    V transformed[kAlpha];
    filter_1d<T>(column, transformed);
    for (int a = 0; a < kAlpha; ++a) r[a][j] = transformed[a];
  }
  for (int a = 0; a < kAlpha; ++a) {  // (G g) G^T
    V transformed[kAlpha];
    filter_1d<T>(r[a], transformed);
    for (int b = 0; b < kAlpha; ++b) u[a * kAlpha + b] = transformed[b];
  }
}

// G^T u, the adjoint of filter_1d
template <class T>
inline void filter_grad_1d(const T (&u)[6], T (&g)[3]) {
  const T sixth = T(1) / T(6), p = u[3] + u[4];
  g[0] = T(0.25) * u[0] + (T(0.25) * p - u[1] - u[2]) * sixth;
  g[1] = (u[2] - u[1] + T(0.5) * (u[3] - u[4])) * sixth;
  g[2] = (p - u[1] - u[2]) * sixth + u[5];
}

// ---- geometry

struct Tiling {
  int64_t rows, cols;  // tiles per image, vertically and horizontally
  int64_t per_image() const { return rows * cols; }
};

Tiling tiling_of(const Winograd3x3& g) { return {(g.out.h + kTile - 1) / kTile, (g.out.w + kTile - 1) / kTile}; }

// Tiles per horizontal segment: a segment's input, 4 * tiles + 2 columns, fits two vectors.
template <class T>
constexpr int64_t kSegment = (2 * kLanes<T> - 2) / kTile;

// Width of a scratch row: every segment can read two whole vectors from it.
template <class T>
int64_t scratch_width(const Tiling& t) {
  const int64_t last_segment = (t.cols - 1) / kSegment<T> * kSegment<T>;
  const int64_t width = kTile * last_segment + 2 * kLanes<T>;
  return (width + kLanes<T> - 1) / kLanes<T> * kLanes<T>;
}

// Tiles per block of work: enough columns for an efficient GEMM, few enough that a block's
// transformed input and output stay in the core's L2 cache.
constexpr int64_t kTargetTiles = 64;

// A unit of work: tile rows [row_lo, row_hi) of `images` consecutive images. Small images are
// grouped; a large image is cut into bands of tile rows.
struct Block {
  int64_t first_image, images, row_lo, row_hi;
  int64_t tiles(const Tiling& t) const { return images * (row_hi - row_lo) * t.cols; }
};

std::vector<Block> make_blocks(int64_t batch, const Tiling& t) {
  std::vector<Block> blocks;
  if (2 * t.per_image() <= kTargetTiles) {
    const int64_t per_block = kTargetTiles / t.per_image();
    for (int64_t n = 0; n < batch; n += per_block) blocks.push_back({n, std::min(per_block, batch - n), 0, t.rows});
    return blocks;
  }
  const int64_t bands = std::max<int64_t>(1, (t.per_image() + kTargetTiles / 2) / kTargetTiles);
  const int64_t band_rows = (t.rows + bands - 1) / bands;
  for (int64_t n = 0; n < batch; ++n) {
    for (int64_t r = 0; r < t.rows; r += band_rows) blocks.push_back({n, 1, r, std::min(t.rows, r + band_rows)});
  }
  return blocks;
}

int64_t max_band_rows(const std::vector<Block>& blocks) {
  int64_t most = 0;
  for (const Block& b : blocks) most = std::max(most, b.row_hi - b.row_lo);
  return most;
}

int64_t max_block_tiles(const std::vector<Block>& blocks, const Tiling& t) {
  int64_t most = 0;
  for (const Block& b : blocks) most = std::max(most, b.tiles(t));
  return most;
}

// A block's transformed data is laid out [xi][channel][tile], rows of `ld` = tiles + one vector:
// the transforms store whole vectors, and the lanes past a row's last tile land in that slack
// (or on tiles that are written afterwards). xi planes are `pitch` apart, a little more than a
// plane, so that the 36 planes do not all start at the same cache set (4 KiB aliasing).
template <class T>
int64_t row_stride(int64_t tiles) {
  return tiles + kLanes<T>;
}
int64_t plane_pitch(int64_t channels, int64_t ld) { return channels * ld + 16; }

// ---- the transforms

// A vertical pass over whole rows: out[a][x] = f(in[0][x], .., in[N-1][x])[a] for x in [0, n), a
// vector of columns at a time. The last vector ends at n, overlapping the one before it (both
// store the same values), so that no row has a scalar tail; rows narrower than a vector go one
// column at a time.
template <class T, int N, class F>
inline void vertical_pass(const T* const (&in)[N], T* const (&out)[kAlpha], int64_t n, F f) {
  constexpr int64_t L = kLanes<T>;
  auto columns = [&](int64_t x) {
    Vec<T> a[N], b[kAlpha];
    for (int i = 0; i < N; ++i) a[i] = simd::load(in[i] + x);
    f(a, b);
    for (int k = 0; k < kAlpha; ++k) simd::store(out[k] + x, b[k]);
  };
  if (n >= L) {
    for (int64_t x = 0; x + L <= n; x += L) columns(x);
    if (n % L != 0) columns(n - L);
    return;
  }
  for (int64_t x = 0; x < n; ++x) {
    T a[N], b[kAlpha];
    for (int i = 0; i < N; ++i) a[i] = in[i][x];
    f(a, b);
    for (int k = 0; k < kAlpha; ++k) out[k][x] = b[k];
  }
}

// Scratch for the vertical passes of a band of tile rows: kAlpha rows of scratch_width per tile
// row, then a row of zeros (what the vertical pass reads above and below the image). Zeroed when
// a transform starts; the vertical passes write only the image's columns, so the lanes around
// them stay zero: they are the horizontal padding.
template <class T>
int64_t scratch_size(const Tiling& t, int64_t band_rows) {
  return (kAlpha * band_rows + 1) * scratch_width<T>(t);
}

template <class T>
class Scratch {
 public:
  Scratch(T* base, const Tiling& t, int64_t band_rows) : base_(base), width_(scratch_width<T>(t)) {
    std::fill(base, base + scratch_size<T>(t, band_rows), T(0));
    zeros_ = base + kAlpha * band_rows * width_;
  }
  // Row a of the vertical pass of tile row `band_row` of the band.
  T* row(int64_t band_row, int a) const { return base_ + (band_row * kAlpha + a) * width_; }
  const T* zeros() const { return zeros_; }

 private:
  T* base_;
  int64_t width_;
  const T* zeros_;
};

// The lane permutations of the horizontal passes, built once per call (as constants folded
// into every use they would be rebuilt lane by lane inside the loops).
template <class T>
struct Permutations {
  static constexpr int L = kLanes<T>;
  simd::Index<T> column[kAlpha];  // lane l of column[j]: column kTile * l + j of a segment
  simd::Index<T> pairs;           // (a[0], b[0], a[1], b[1], ...)
  simd::Index<T> quads[2];        // from two pair vectors p, q: (p[0], p[1], q[0], q[1], p[2], ...), and the upper half
  Permutations() {
    for (int j = 0; j < kAlpha; ++j) {
      column[j] = simd::make_index<T>([j](int l) { return std::min(kTile * l + j, 2 * L - 1); });
    }
    pairs = simd::make_index<T>([](int l) { return (l % 2) * L + l / 2; });
    for (int half = 0; half < 2; ++half) {
      quads[half] = simd::make_index<T>([half](int l) {
        const int tile = half * (L / 4) + l / 4, j = l % 4;
        return j < 2 ? 2 * tile + j : L + 2 * tile + j - 2;
      });
    }
  }
};

// The horizontal pass of one scratch row: lane l of d[j] is column kTile * l + j of the segment.
template <class T, int N>
inline void gather_columns(const T* row, const Permutations<T>& p, Vec<T> (&d)[N]) {
  const Vec<T> lo = simd::load(row), hi = simd::load(row + kLanes<T>);
  for (int j = 0; j < N; ++j) d[j] = simd::permute<T>(lo, hi, p.column[j]);
}

// Asks for the next plane while this one is transformed: the transforms read activations that
// were written long ago (out of L2), and the hardware prefetcher alone left them waiting on
// memory (a third of the input transform's time).
template <class T>
inline void prefetch(const T* p, int64_t n) {
  for (int64_t i = 0; i < n; i += 64 / static_cast<int64_t>(sizeof(T))) __builtin_prefetch(p + i);
}

// Both transforms below first run the vertical pass over every tile row of a channel, then the
// horizontal passes: reading a scratch row right after writing it stalled on store forwarding.

// V[xi][c][first + tile] = (B^T d B)[xi] for every 6x6 block d of one image's channels.
template <class T>
NABLA_SIMD_CLONES void transform_input(const T* image, T* scratch, T* v, int64_t channels, Size2d in,
                                       Size2d padding, const Tiling& t, int64_t row_lo, int64_t row_hi,
                                       int64_t first, int64_t ld, int64_t pitch) {
  const Scratch<T> rows(scratch, t, row_hi - row_lo);
  const Permutations<T> permutations;
  for (int64_t c = 0; c < channels; ++c) {
    const T* plane = image + c * in.h * in.w;
    if (c + 1 < channels) prefetch(plane + in.h * in.w, in.h * in.w);
    for (int64_t ty = row_lo; ty < row_hi; ++ty) {
      const T* r[kAlpha];
      for (int i = 0; i < kAlpha; ++i) {
        const int64_t y = kTile * ty - padding.h + i;
        r[i] = y >= 0 && y < in.h ? plane + y * in.w : rows.zeros();
      }
      T* o[kAlpha];
      for (int a = 0; a < kAlpha; ++a) o[a] = rows.row(ty - row_lo, a) + padding.w;  // the image's column 0
      vertical_pass<T>(r, o, in.w, [](const auto& d, auto& b) { input_1d<T>(d, b); });  // B^T d
    }
    for (int64_t ty = row_lo; ty < row_hi; ++ty) {
      T* out = v + c * ld + first + (ty - row_lo) * t.cols;
      for (int64_t tx = 0; tx < t.cols; tx += kSegment<T>) {
        for (int a = 0; a < kAlpha; ++a) {
          Vec<T> d[kAlpha], o[kAlpha];
          gather_columns<T>(rows.row(ty - row_lo, a) + kTile * tx, permutations, d);
          input_1d<T>(d, o);
          for (int b = 0; b < kAlpha; ++b) simd::store(out + (a * kAlpha + b) * pitch + tx, o[b]);
        }
      }
    }
  }
}

// dM[xi][k][first + tile] = (A dY A^T)[xi] for every 4x4 block dY of one image's output gradient.
template <class T>
NABLA_SIMD_CLONES void transform_output_grad(const T* grad_y, T* scratch, T* dm, int64_t channels, Size2d out,
                                             const Tiling& t, int64_t row_lo, int64_t row_hi, int64_t first,
                                             int64_t ld, int64_t pitch) {
  const Scratch<T> rows(scratch, t, row_hi - row_lo);
  const Permutations<T> permutations;
  for (int64_t k = 0; k < channels; ++k) {
    const T* plane = grad_y + k * out.h * out.w;
    if (k + 1 < channels) prefetch(plane + out.h * out.w, out.h * out.w);
    for (int64_t ty = row_lo; ty < row_hi; ++ty) {
      const T* r[kTile];
      for (int i = 0; i < kTile; ++i) {
        const int64_t y = kTile * ty + i;
        r[i] = y < out.h ? plane + y * out.w : rows.zeros();
      }
      T* o[kAlpha];
      for (int a = 0; a < kAlpha; ++a) o[a] = rows.row(ty - row_lo, a);
      vertical_pass<T>(r, o, out.w, [](const auto& y, auto& b) { grad_1d<T>(y, b); });  // A dY
    }
    for (int64_t ty = row_lo; ty < row_hi; ++ty) {
      T* out_row = dm + k * ld + first + (ty - row_lo) * t.cols;
      for (int64_t tx = 0; tx < t.cols; tx += kSegment<T>) {
        for (int a = 0; a < kAlpha; ++a) {
          Vec<T> e[kTile], s[kAlpha];
          gather_columns<T>(rows.row(ty - row_lo, a) + kTile * tx, permutations, e);
          grad_1d<T>(e, s);
          for (int b = 0; b < kAlpha; ++b) simd::store(out_row + (a * kAlpha + b) * pitch + tx, s[b]);
        }
      }
    }
  }
}

// Output row segment from the four columns of its tiles (lane l of y[j] is column j of tile l):
// interleaved, it is 2 * kLanes consecutive values, of which the first `n` are stored.
template <class T>
inline void store_interleaved(const Vec<T> (&y)[kTile], const Permutations<T>& p, T* row, int64_t n) {
  constexpr int L = kLanes<T>;
  const Vec<T> p01 = simd::permute<T>(y[0], y[1], p.pairs), p23 = simd::permute<T>(y[2], y[3], p.pairs);
  const Vec<T> lo = simd::permute<T>(p01, p23, p.quads[0]);
  if (n < L) return simd::store_first(row, lo, n);
  simd::store(row, lo);
  const Vec<T> hi = simd::permute<T>(p01, p23, p.quads[1]);
  if (n < 2 * L) return simd::store_first(row + L, hi, n - L);
  simd::store(row + L, hi);
}

// y[k] = A^T m A (+ bias) for every tile of one image; m = M[xi][k][first + tile].
template <class T>
NABLA_SIMD_CLONES void transform_output(const T* m, const T* bias, T* y, int64_t channels, Size2d out,
                                        const Tiling& t, int64_t row_lo, int64_t row_hi, int64_t first, int64_t ld,
                                        int64_t pitch) {
  const Permutations<T> permutations;
  for (int64_t k = 0; k < channels; ++k) {
    const T b = bias ? bias[k] : T(0);
    T* plane = y + k * out.h * out.w;
    for (int64_t ty = row_lo; ty < row_hi; ++ty) {
      const T* s = m + k * ld + first + (ty - row_lo) * t.cols;
      for (int64_t tx = 0; tx < t.cols; tx += kSegment<T>) {
        Vec<T> h[kAlpha][kTile];  // m A, row by row
        for (int a = 0; a < kAlpha; ++a) {
          Vec<T> row[kAlpha];
          for (int j = 0; j < kAlpha; ++j) row[j] = simd::load(s + (a * kAlpha + j) * pitch + tx);
          output_1d<T>(row, h[a]);
        }
        Vec<T> y_rows[kTile][kTile];  // A^T (m A): y_rows[i][j], lane l = Y[i][j] of tile l
        for (int j = 0; j < kTile; ++j) {
          Vec<T> column[kAlpha], r[kTile];
          for (int a = 0; a < kAlpha; ++a) column[a] = h[a][j];
          output_1d<T>(column, r);
          for (int i = 0; i < kTile; ++i) y_rows[i][j] = r[i] + b;
        }
        const int64_t x = kTile * tx;
        const int64_t n = std::min(kTile * std::min(kSegment<T>, t.cols - tx), out.w - x);
        for (int i = 0; i < kTile && kTile * ty + i < out.h; ++i) {
          store_interleaved<T>(y_rows[i], permutations, plane + (kTile * ty + i) * out.w + x, n);
        }
      }
    }
  }
}

// U[xi][k][c] = (G g G^T)[xi] for every filter g = weight[k][c], a vector of filters at a time:
// the 9 taps are first gathered into planes (`taps`, 9 * K * C).
template <class T>
NABLA_SIMD_CLONES void transform_filters(const T* weight, T* taps, T* u, int64_t out_channels,
                                         int64_t in_channels) {
  const int64_t pairs = out_channels * in_channels;
  for (int64_t p = 0; p < pairs; ++p) {
    for (int q = 0; q < 9; ++q) taps[q * pairs + p] = weight[p * 9 + q];
  }
  int64_t p = 0;
  for (; p + kLanes<T> <= pairs; p += kLanes<T>) {
    Vec<T> g[9], transformed[kXi];
    for (int q = 0; q < 9; ++q) g[q] = simd::load(taps + q * pairs + p);
    filter_2d<T>(g, transformed);
    for (int xi = 0; xi < kXi; ++xi) simd::store(u + xi * pairs + p, transformed[xi]);
  }
  for (; p < pairs; ++p) {
    T g[9], transformed[kXi];
    for (int q = 0; q < 9; ++q) g[q] = taps[q * pairs + p];
    filter_2d<T>(g, transformed);
    for (int xi = 0; xi < kXi; ++xi) u[xi * pairs + p] = transformed[xi];
  }
}

// grad_weight[k][c] = G^T dU[.][k][c] G.
template <class T>
void untransform_filter_grads(const T* du, T* grad_weight, int64_t out_channels, int64_t in_channels) {
  const int64_t pairs = out_channels * in_channels;
  for (int64_t p = 0; p < pairs; ++p) {
    T r[3][kAlpha];  // G^T dU
    for (int b = 0; b < kAlpha; ++b) {
      T column[kAlpha], g[3];
      for (int a = 0; a < kAlpha; ++a) column[a] = du[(a * kAlpha + b) * pairs + p];
      filter_grad_1d(column, g);
      for (int i = 0; i < 3; ++i) r[i][b] = g[i];
    }
    for (int i = 0; i < 3; ++i) {  // (G^T dU) G
      T g[3];
      filter_grad_1d(r[i], g);
      for (int j = 0; j < 3; ++j) grad_weight[p * 9 + i * 3 + j] = g[j];
    }
  }
}

// One thread's buffers for its share of `blocks`, sized for the largest block: the transforms'
// scratch rows, and the transformed data of `first_channels` and `second_channels` channels
// (input and output of the forward, or input and output gradient for the filter gradient).
// Zeroed once: the lanes the GEMMs skip are then never garbage (nor denormals) when transformed.
template <class T>
struct BlockBuffers {
  Tensor scratch, first, second;
  BlockBuffers(const std::vector<Block>& blocks, const Tiling& t, int64_t first_channels, int64_t second_channels)
      : scratch(Tensor::empty({scratch_size<T>(t, max_band_rows(blocks))}, dtype_v<T>)),
        first(zeros({kXi * plane_pitch(first_channels, row_stride<T>(max_block_tiles(blocks, t)))}, dtype_v<T>)),
        second(zeros({kXi * plane_pitch(second_channels, row_stride<T>(max_block_tiles(blocks, t)))}, dtype_v<T>)) {}
};

}  // namespace

template <class T>
void winograd_conv3x3(const T* x, const T* weight, const T* bias, T* y, const Winograd3x3& g) {
  const int64_t C = g.in_channels, K = g.out_channels;
  const Tiling t = tiling_of(g);
  const std::vector<Block> blocks = make_blocks(g.batch, t);
  Tensor filters = Tensor::empty({kXi * K * C}, dtype_v<T>), taps = Tensor::empty({9 * K * C}, dtype_v<T>);
  transform_filters<T>(weight, taps.data<T>(), filters.data<T>(), K, C);
  const T* u = filters.data<T>();
  const int64_t in_size = C * g.in.h * g.in.w, out_size = K * g.out.h * g.out.w;

  parallel_for(0, static_cast<int64_t>(blocks.size()), 1, [&](int64_t lo, int64_t hi) {
    const BlockBuffers<T> buffers(blocks, t, C, K);
    T* scratch = buffers.scratch.template data<T>();
    T* v = buffers.first.template data<T>();
    T* m = buffers.second.template data<T>();
    for (int64_t index = lo; index < hi; ++index) {
      const Block& b = blocks[static_cast<size_t>(index)];
      const int64_t tiles = b.tiles(t), per_image = tiles / b.images, ld = row_stride<T>(tiles);
      const int64_t v_pitch = plane_pitch(C, ld), m_pitch = plane_pitch(K, ld);
      for (int64_t i = 0; i < b.images; ++i) {
        transform_input<T>(x + (b.first_image + i) * in_size, scratch, v, C, g.in, g.padding, t, b.row_lo, b.row_hi,
                           i * per_image, ld, v_pitch);
      }
      for (int64_t xi = 0; xi < kXi; ++xi) {
        gemm<T>(false, false, K, tiles, C, T(1), u + xi * K * C, C, v + xi * v_pitch, ld, T(0), m + xi * m_pitch, ld);
      }
      for (int64_t i = 0; i < b.images; ++i) {
        transform_output<T>(m, bias, y + (b.first_image + i) * out_size, K, g.out, t, b.row_lo, b.row_hi,
                            i * per_image, ld, m_pitch);
      }
    }
  });
}

template <class T>
void winograd_conv3x3_weight_grad(const T* x, const T* grad_y, T* grad_weight, const Winograd3x3& g) {
  const int64_t C = g.in_channels, K = g.out_channels;
  const Tiling t = tiling_of(g);
  const std::vector<Block> blocks = make_blocks(g.batch, t);
  const int64_t block_count = static_cast<int64_t>(blocks.size());
  const int64_t in_size = C * g.in.h * g.in.w, out_size = K * g.out.h * g.out.w;
  // Each thread sums its blocks into its own dU; the partial sums are added at the end.
  const int64_t chunks = std::max<int64_t>(1, std::min<int64_t>(get_num_threads(), block_count));
  Tensor partials = zeros({chunks, kXi * K * C}, dtype_v<T>);
  T* du_all = partials.data<T>();

  parallel_for(0, chunks, 1, [&](int64_t chunk_lo, int64_t chunk_hi) {
    const BlockBuffers<T> buffers(blocks, t, C, K);
    T* scratch = buffers.scratch.template data<T>();
    T* v = buffers.first.template data<T>();
    T* dm = buffers.second.template data<T>();
    for (int64_t chunk = chunk_lo; chunk < chunk_hi; ++chunk) {
      T* du = du_all + chunk * kXi * K * C;
      const int64_t first_block = chunk * block_count / chunks, last_block = (chunk + 1) * block_count / chunks;
      for (int64_t index = first_block; index < last_block; ++index) {
        const Block& b = blocks[static_cast<size_t>(index)];
        const int64_t tiles = b.tiles(t), per_image = tiles / b.images, ld = row_stride<T>(tiles);
        const int64_t v_pitch = plane_pitch(C, ld), dm_pitch = plane_pitch(K, ld);
        for (int64_t i = 0; i < b.images; ++i) {
          transform_input<T>(x + (b.first_image + i) * in_size, scratch, v, C, g.in, g.padding, t, b.row_lo,
                             b.row_hi, i * per_image, ld, v_pitch);
          transform_output_grad<T>(grad_y + (b.first_image + i) * out_size, scratch, dm, K, g.out, t, b.row_lo,
                                   b.row_hi, i * per_image, ld, dm_pitch);
        }
        for (int64_t xi = 0; xi < kXi; ++xi) {
          gemm<T>(false, true, K, C, tiles, T(1), dm + xi * dm_pitch, ld, v + xi * v_pitch, ld, T(1), du + xi * K * C,
                  C);
        }
      }
    }
  });
  for (int64_t chunk = 1; chunk < chunks; ++chunk) {
    const T* src = du_all + chunk * kXi * K * C;
    for (int64_t i = 0; i < kXi * K * C; ++i) du_all[i] += src[i];
  }
  untransform_filter_grads<T>(du_all, grad_weight, K, C);
}

template void winograd_conv3x3<float>(const float*, const float*, const float*, float*, const Winograd3x3&);
template void winograd_conv3x3<double>(const double*, const double*, const double*, double*, const Winograd3x3&);
template void winograd_conv3x3_weight_grad<float>(const float*, const float*, float*, const Winograd3x3&);
template void winograd_conv3x3_weight_grad<double>(const double*, const double*, double*, const Winograd3x3&);

}  // namespace nabla::detail
