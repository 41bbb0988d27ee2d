// Winograd F(2x2, 3x3). Notation (Lavin & Gray): for a 4x4 input block d, a 3x3 filter g and a
// 2x2 output block Y,
//   Y = A^T [ (G g G^T) . (B^T d B) ] A
//   B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1]
//   G   = [1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 1]
//   A^T = [1 1 1 0; 0 1 -1 -1]
// Summing over input channels turns the element-wise product into 16 matrix products, one per
// element xi of the 4x4 transformed block: M[xi] (K x tiles) = U[xi] (K x C) . V[xi] (C x tiles).
// Since Y is linear in g, the filter gradient is the adjoint: dU[xi] = dM[xi] . V[xi]^T with
// dM = A dY A^T, and dg = G^T dU G.
//
// Work is split into blocks (a few whole images, or a band of tile rows of a large image) across
// the thread pool; each thread transforms a block into its own buffers (sized to stay in cache)
// and runs single-threaded GEMMs on them. F(4x4, 3x3) would need 2.25 multiplies per output
// instead of 4; tried, its 6-point transforms over rows of a few tiles cost more here than the
// GEMM time they saved, so F(2x2) it is.
#include "winograd.hpp"

#include <algorithm>
#include <vector>

#include "blas.hpp"
#include "nabla/tensor/simd.hpp"
#include "nabla/tensor/factories.hpp"
#include "nabla/tensor/tensor.hpp"
#include "nabla/tensor/threads.hpp"

namespace nabla::detail {

namespace {

constexpr int64_t kXi = 16;  // elements of a transformed 4x4 block

// Tiles per block of work: enough columns for an efficient GEMM, few enough that a block's
// transformed input and output stay in the core's L2 cache (measured on the MNIST CNN's 32->64
// channel layer: 1 image of 144 tiles beats 2, 4 and 8 images).
constexpr int64_t kTargetTiles = 144;

struct Tiling {
  int64_t rows, cols;  // tiles per image, vertically and horizontally
  int64_t per_image() const { return rows * cols; }
};

Tiling tiling_of(const Winograd3x3& g) { return {(g.out.h + 1) / 2, (g.out.w + 1) / 2}; }

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

int64_t max_block_tiles(const std::vector<Block>& blocks, const Tiling& t) {
  int64_t most = 0;
  for (const Block& b : blocks) most = std::max(most, b.tiles(t));
  return most;
}

int64_t max_band_rows(const std::vector<Block>& blocks) {
  int64_t most = 0;
  for (const Block& b : blocks) most = std::max(most, b.row_hi - b.row_lo);
  return most;
}

// U[xi][k][c] = (G g G^T)[xi] for every filter g = weight[k][c].
template <class T>
NABLA_SIMD_CLONES void transform_filters(const T* weight, T* u, int64_t out_channels, int64_t in_channels) {
  const int64_t pairs = out_channels * in_channels;
  for (int64_t p = 0; p < pairs; ++p) {
    const T* g = weight + p * 9;
    T r[4][3];  // G g
    for (int j = 0; j < 3; ++j) {
      r[0][j] = g[j];
      r[1][j] = T(0.5) * (g[j] + g[3 + j] + g[6 + j]);
      r[2][j] = T(0.5) * (g[j] - g[3 + j] + g[6 + j]);
      r[3][j] = g[6 + j];
    }
    for (int i = 0; i < 4; ++i) {  // (G g) G^T
      T* row = u + (i * 4) * pairs + p;
      row[0 * pairs] = r[i][0];
      row[1 * pairs] = T(0.5) * (r[i][0] + r[i][1] + r[i][2]);
      row[2 * pairs] = T(0.5) * (r[i][0] - r[i][1] + r[i][2]);
      row[3 * pairs] = r[i][2];
    }
  }
}

// The transforms below run in two passes, rows then columns, so that every inner loop walks
// contiguous memory (or a stride of 2) and vectorises; `scratch` holds the intermediate rows.
// A block's transformed data is laid out [xi][channel][tile] with xi planes `pitch` apart.

// The inner loops, with restrict pointers so that they vectorise (they are inlined into the
// multi-versioned transforms below and compiled for each instruction set).
#define NABLA_R __restrict
template <class T>
inline void rows_b(const T* NABLA_R p, T* NABLA_R h0, T* NABLA_R h1, T* NABLA_R h2, T* NABLA_R h3, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {  // d B, one row
    const T d0 = p[2 * i], d1 = p[2 * i + 1], d2 = p[2 * i + 2], d3 = p[2 * i + 3];
    h0[i] = d0 - d2;
    h1[i] = d1 + d2;
    h2[i] = d2 - d1;
    h3[i] = d1 - d3;
  }
}
template <class T>
inline void columns_bt(const T* NABLA_R r0, const T* NABLA_R r1, const T* NABLA_R r2, const T* NABLA_R r3,
                       T* NABLA_R o0, T* NABLA_R o1, T* NABLA_R o2, T* NABLA_R o3, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {  // B^T x, down a column
    o0[i] = r0[i] - r2[i];
    o1[i] = r1[i] + r2[i];
    o2[i] = r2[i] - r1[i];
    o3[i] = r1[i] - r3[i];
  }
}
template <class T>
inline void columns_at(const T* NABLA_R m0, const T* NABLA_R m1, const T* NABLA_R m2, const T* NABLA_R m3,
                       T* NABLA_R a0, T* NABLA_R a1, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {  // A^T m, down a column
    a0[i] = m0[i] + m1[i] + m2[i];
    a1[i] = m1[i] - m2[i] - m3[i];
  }
}
template <class T>
inline void rows_a(const T* NABLA_R a0, const T* NABLA_R a1, const T* NABLA_R a2, const T* NABLA_R a3, T b,
                   T* NABLA_R out, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {  // (A^T m) A + bias, one row
    out[2 * i] = a0[i] + a1[i] + a2[i] + b;
    out[2 * i + 1] = a1[i] - a2[i] - a3[i] + b;
  }
}
template <class T>
inline void rows_at(const T* NABLA_R p, T* NABLA_R h0, T* NABLA_R h1, T* NABLA_R h2, T* NABLA_R h3, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {  // dY A^T, one row
    const T y0 = p[2 * i], y1 = p[2 * i + 1];
    h0[i] = y0;
    h1[i] = y0 + y1;
    h2[i] = y0 - y1;
    h3[i] = -y1;
  }
}
template <class T>
inline void columns_a(const T* NABLA_R r0, const T* NABLA_R r1, T* NABLA_R o0, T* NABLA_R o1, T* NABLA_R o2,
                      T* NABLA_R o3, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {  // A x, down a column
    o0[i] = r0[i];
    o1[i] = r0[i] + r1[i];
    o2[i] = r0[i] - r1[i];
    o3[i] = -r1[i];
  }
}
#undef NABLA_R

// Element x of a row of `width` elements, zero outside it (the padding).
template <class T>
inline T at(const T* row, int64_t x, int64_t width) {
  return x >= 0 && x < width ? row[x] : T(0);
}

// The tiles [lo, hi) of a row whose reads all fall inside it: tile tx reads x = step * tx - pad
// up to x + span - 1.
struct Inside {
  int64_t lo, hi;
};
inline Inside inside_tiles(int64_t width, int64_t pad, int64_t span, int64_t tiles) {
  const int64_t lo = std::min(tiles, (pad + 1) / 2);
  const int64_t last = width + pad - span;  // the largest 2 * tx with x + span - 1 < width
  const int64_t hi = last < 0 ? lo : std::clamp(last / 2 + 1, lo, tiles);
  return {lo, hi};
}

// d B for one row of input (row == nullptr: a row of padding), reading the source directly and
// handling only the tiles that overlap the left/right padding one element at a time.
template <class T>
inline void input_row(const T* row, int64_t width, int64_t pad, T* h0, T* h1, T* h2, T* h3, int64_t cols) {
  if (row == nullptr) {
    std::fill(h0, h0 + cols, T(0)), std::fill(h1, h1 + cols, T(0));
    std::fill(h2, h2 + cols, T(0)), std::fill(h3, h3 + cols, T(0));
    return;
  }
  const Inside inside = inside_tiles(width, pad, 4, cols);
  if (inside.hi > inside.lo) {
    rows_b(row + 2 * inside.lo - pad, h0 + inside.lo, h1 + inside.lo, h2 + inside.lo, h3 + inside.lo,
           inside.hi - inside.lo);
  }
  for (int64_t tx = 0; tx < cols; ++tx) {
    if (tx == inside.lo && inside.hi > inside.lo) tx = inside.hi;
    if (tx >= cols) break;
    const int64_t x = 2 * tx - pad;
    const T d0 = at(row, x, width), d1 = at(row, x + 1, width), d2 = at(row, x + 2, width), d3 = at(row, x + 3, width);
    h0[tx] = d0 - d2, h1[tx] = d1 + d2, h2[tx] = d2 - d1, h3[tx] = d1 - d3;
  }
}

// dY A^T for one row of output gradient (row == nullptr: past the last row).
template <class T>
inline void output_grad_row(const T* row, int64_t width, T* h0, T* h1, T* h2, T* h3, int64_t cols) {
  if (row == nullptr) {
    std::fill(h0, h0 + cols, T(0)), std::fill(h1, h1 + cols, T(0));
    std::fill(h2, h2 + cols, T(0)), std::fill(h3, h3 + cols, T(0));
    return;
  }
  const int64_t whole = width / 2;  // tiles with both columns inside
  rows_at(row, h0, h1, h2, h3, whole);
  if (whole < cols) {  // an odd width: the last tile's second column is zero
    const T y0 = row[2 * whole];
    h0[whole] = y0, h1[whole] = y0, h2[whole] = y0, h3[whole] = T(0);
  }
}

// The row pass writes even and odd rows to separate arrays, so that the column pass, which
// combines rows 2ty..2ty+3 into tile row ty, is one flat loop over all tiles of the plane.

// V[xi][c][first + tile] = (B^T d B)[xi] for every 4x4 block d of one image's channels.
template <class T>
NABLA_SIMD_CLONES void transform_input(const T* image, T* scratch, T* v, int64_t channels, Size2d in,
                                       Size2d padding, const Tiling& t, int64_t row_lo, int64_t row_hi,
                                       int64_t first, int64_t ld, int64_t pitch) {
  // Tile rows [row_lo, row_hi) read plane rows 2*row_lo .. 2*row_hi+1, split here by parity.
  const int64_t cols = t.cols, half = (row_hi - row_lo + 1) * cols;
  auto rows_of = [&](int64_t j, int64_t parity) { return scratch + (2 * j + parity) * half; };
  for (int64_t c = 0; c < channels; ++c) {
    const T* src = image + c * in.h * in.w;
    // d B on every row of the padded plane.
    for (int64_t r = 0; r < 2 * (row_hi - row_lo) + 2; ++r) {
      const int64_t source_row = 2 * row_lo + r - padding.h;
      const T* row = source_row >= 0 && source_row < in.h ? src + source_row * in.w : nullptr;
      const int64_t at = (r / 2) * cols;
      input_row(row, in.w, padding.w, rows_of(0, r % 2) + at, rows_of(1, r % 2) + at, rows_of(2, r % 2) + at,
                rows_of(3, r % 2) + at, cols);
    }
    // B^T (d B) down every column: rows 2ty, 2ty+1, 2ty+2, 2ty+3 are even[ty], odd[ty],
    // even[ty+1], odd[ty+1].
    for (int64_t j = 0; j < 4; ++j) {
      const T* even = rows_of(j, 0);
      const T* odd = rows_of(j, 1);
      T* o = v + j * pitch + c * ld + first;
      columns_bt(even, odd, even + cols, odd + cols, o, o + 4 * pitch, o + 8 * pitch, o + 12 * pitch,
                 (row_hi - row_lo) * cols);
    }
  }
}

// y[k] = A^T m A (+ bias) for every tile of one image; m = M[xi][k][first + tile].
template <class T>
NABLA_SIMD_CLONES void transform_output(const T* m, const T* bias, T* scratch, T* y, int64_t channels, Size2d out,
                                        const Tiling& t, int64_t row_lo, int64_t row_hi, int64_t first, int64_t ld,
                                        int64_t pitch) {
  const int64_t cols = t.cols, tiles = (row_hi - row_lo) * cols;
  const bool whole_rows = out.w == 2 * cols;  // else rows go through a buffer and are cut to out.w
  T* a = scratch;                           // A^T m: a[i][j][tile], 8 planes of tiles
  T* row_buffer = scratch + 8 * tiles;      // one output row of 2 * cols
  for (int64_t k = 0; k < channels; ++k) {
    const T b = bias ? bias[k] : T(0);
    const T* s = m + k * ld + first;
    for (int64_t j = 0; j < 4; ++j) {
      const T* m0 = s + j * pitch;
      columns_at(m0, m0 + 4 * pitch, m0 + 8 * pitch, m0 + 12 * pitch, a + j * tiles, a + (4 + j) * tiles, tiles);
    }
    T* plane = y + k * out.h * out.w;
    for (int64_t ty = row_lo; ty < row_hi; ++ty) {
      for (int64_t i = 0; i < 2 && 2 * ty + i < out.h; ++i) {
        const T* a0 = a + (4 * i) * tiles + (ty - row_lo) * cols;
        T* row = plane + (2 * ty + i) * out.w;
        T* o = whole_rows ? row : row_buffer;
        rows_a(a0, a0 + tiles, a0 + 2 * tiles, a0 + 3 * tiles, b, o, cols);
        if (!whole_rows) std::copy(row_buffer, row_buffer + out.w, row);
      }
    }
  }
}

// dM[xi][k][first + tile] = (A dY A^T)[xi] for every 2x2 block dY of one image's output gradient.
template <class T>
NABLA_SIMD_CLONES void transform_output_grad(const T* grad_y, T* scratch, T* dm, int64_t channels, Size2d out,
                                             const Tiling& t, int64_t row_lo, int64_t row_hi, int64_t first,
                                             int64_t ld, int64_t pitch) {
  // Tile rows [row_lo, row_hi) cover output rows 2*row_lo .. 2*row_hi-1, split by parity.
  const int64_t cols = t.cols, half = (row_hi - row_lo) * cols;
  auto rows_of = [&](int64_t j, int64_t parity) { return scratch + (2 * j + parity) * half; };
  for (int64_t k = 0; k < channels; ++k) {
    const T* src = grad_y + k * out.h * out.w;
    // dY A^T on every row (a row past the end of an odd-height output is zero).
    for (int64_t r = 0; r < 2 * (row_hi - row_lo); ++r) {
      const int64_t at = (r / 2) * cols;
      const int64_t out_row = 2 * row_lo + r;
      output_grad_row(out_row < out.h ? src + out_row * out.w : nullptr, out.w, rows_of(0, r % 2) + at, rows_of(1, r % 2) + at,
                      rows_of(2, r % 2) + at, rows_of(3, r % 2) + at, cols);
    }
    // A (dY A^T) down every column: rows 2ty, 2ty+1 are even[ty], odd[ty].
    for (int64_t j = 0; j < 4; ++j) {
      T* o = dm + j * pitch + k * ld + first;
      columns_a(rows_of(j, 0), rows_of(j, 1), o, o + 4 * pitch, o + 8 * pitch, o + 12 * pitch, half);
    }
  }
}

// grad_weight[k][c] = G^T dU[.][k][c] G.
template <class T>
void untransform_filter_grads(const T* du, T* grad_weight, int64_t out_channels, int64_t in_channels) {
  const int64_t pairs = out_channels * in_channels;
  for (int64_t p = 0; p < pairs; ++p) {
    T u[4][4];
    for (int xi = 0; xi < kXi; ++xi) u[xi / 4][xi % 4] = du[xi * pairs + p];
    T r[3][4];  // G^T dU
    for (int j = 0; j < 4; ++j) {
      r[0][j] = u[0][j] + T(0.5) * (u[1][j] + u[2][j]);
      r[1][j] = T(0.5) * (u[1][j] - u[2][j]);
      r[2][j] = T(0.5) * (u[1][j] + u[2][j]) + u[3][j];
    }
    T* g = grad_weight + p * 9;
    for (int i = 0; i < 3; ++i) {  // (G^T dU) G
      g[i * 3 + 0] = r[i][0] + T(0.5) * (r[i][1] + r[i][2]);
      g[i * 3 + 1] = T(0.5) * (r[i][1] - r[i][2]);
      g[i * 3 + 2] = T(0.5) * (r[i][1] + r[i][2]) + r[i][3];
    }
  }
}

// Distance between the xi planes of a block's transformed data: a little more than the plane,
// so that the 16 planes do not all start at the same cache set (4 KiB aliasing).
int64_t plane_pitch(int64_t channels, int64_t ld) { return channels * ld + 16; }

// Scratch for the transforms' intermediate rows, for bands of up to `band_rows` tile rows.
int64_t scratch_size(const Tiling& t, int64_t band_rows) { return 8 * (band_rows + 1) * t.cols + 2 * t.cols; }

// One thread's buffers for its share of `blocks`, sized for the largest block: the transforms'
// scratch rows, and the transformed data of `first_channels` and `second_channels` channels
// (input and output of the forward, or input and output gradient for the filter gradient).
template <class T>
struct BlockBuffers {
  Tensor scratch, first, second;
  BlockBuffers(const std::vector<Block>& blocks, const Tiling& t, int64_t first_channels, int64_t second_channels)
      : scratch(Tensor::empty({scratch_size(t, max_band_rows(blocks))}, dtype_v<T>)),
        first(Tensor::empty({kXi * plane_pitch(first_channels, max_block_tiles(blocks, t))}, dtype_v<T>)),
        second(Tensor::empty({kXi * plane_pitch(second_channels, max_block_tiles(blocks, t))}, dtype_v<T>)) {}
};

}  // namespace

template <class T>
void winograd_conv3x3(const T* x, const T* weight, const T* bias, T* y, const Winograd3x3& g) {
  const int64_t C = g.in_channels, K = g.out_channels;
  const Tiling t = tiling_of(g);
  const std::vector<Block> blocks = make_blocks(g.batch, t);
  Tensor filters = Tensor::empty({kXi * K * C}, dtype_v<T>);
  transform_filters<T>(weight, filters.data<T>(), K, C);
  const T* u = filters.data<T>();
  const int64_t in_size = C * g.in.h * g.in.w, out_size = K * g.out.h * g.out.w;

  parallel_for(0, static_cast<int64_t>(blocks.size()), 1, [&](int64_t lo, int64_t hi) {
    const BlockBuffers<T> buffers(blocks, t, C, K);
    const Tensor& scratch = buffers.scratch;
    T* v = buffers.first.template data<T>();
    T* m = buffers.second.template data<T>();
    for (int64_t index = lo; index < hi; ++index) {
      const Block& b = blocks[static_cast<size_t>(index)];
      const int64_t ld = b.tiles(t), per_image = ld / b.images;
      const int64_t v_pitch = plane_pitch(C, ld), m_pitch = plane_pitch(K, ld);
      for (int64_t i = 0; i < b.images; ++i) {
        transform_input<T>(x + (b.first_image + i) * in_size, scratch.data<T>(), v, C, g.in, g.padding, t, b.row_lo,
                           b.row_hi, i * per_image, ld, v_pitch);
      }
      for (int64_t xi = 0; xi < kXi; ++xi) {
        gemm<T>(false, false, K, ld, C, T(1), u + xi * K * C, C, v + xi * v_pitch, ld, T(0), m + xi * m_pitch, ld);
      }
      for (int64_t i = 0; i < b.images; ++i) {
        transform_output<T>(m, bias, scratch.data<T>(), y + (b.first_image + i) * out_size, K, g.out, t, b.row_lo,
                            b.row_hi, i * per_image, ld, m_pitch);
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
    const Tensor& scratch = buffers.scratch;
    T* v = buffers.first.template data<T>();
    T* dm = buffers.second.template data<T>();
    for (int64_t chunk = chunk_lo; chunk < chunk_hi; ++chunk) {
      T* du = du_all + chunk * kXi * K * C;
      const int64_t first_block = chunk * block_count / chunks, last_block = (chunk + 1) * block_count / chunks;
      for (int64_t index = first_block; index < last_block; ++index) {
        const Block& b = blocks[static_cast<size_t>(index)];
        const int64_t ld = b.tiles(t), per_image = ld / b.images;
        const int64_t v_pitch = plane_pitch(C, ld), dm_pitch = plane_pitch(K, ld);
        for (int64_t i = 0; i < b.images; ++i) {
          transform_input<T>(x + (b.first_image + i) * in_size, scratch.data<T>(), v, C, g.in, g.padding, t,
                             b.row_lo, b.row_hi, i * per_image, ld, v_pitch);
          transform_output_grad<T>(grad_y + (b.first_image + i) * out_size, scratch.data<T>(), dm, K, g.out, t,
                                   b.row_lo, b.row_hi, i * per_image, ld, dm_pitch);
        }
        for (int64_t xi = 0; xi < kXi; ++xi) {
          gemm<T>(false, true, K, C, ld, T(1), dm + xi * dm_pitch, ld, v + xi * v_pitch, ld, T(1), du + xi * K * C, C);
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
