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
// Y is linear in g and in d, so both gradients are adjoints: with dM = A dY A^T, the filter
// gradient is dU[xi] = dM[xi] . V[xi]^T, then dg = G^T dU G; the input gradient is dV[xi] =
// U[xi]^T . dM[xi], then B dV B^T added into each tile's 6x6 window. (Computing it instead as the
// convolution of dY with the flipped filter, padded by 2 - padding, took 49 tiles per MNIST image
// where the forward has 36: 4.9 ms against 3.8 ms per batch.)
//
// The transforms (winograd_transforms.inc, compiled once per instruction set) work on one row of
// tiles at a time, vectorised across the tiles of the row: a vertical pass over whole image rows
// (contiguous, any width), then the horizontal pass in registers, where the tiles' columns 4 apart
// are gathered by lane permutations (7 tiles per pair of 16-float vectors). Rows of only 6 or 7
// tiles, as in MNIST's 24x24 and 26x26 planes, thus still run in full vectors.
//
// Work is split into blocks (a few whole images, or a band of tile rows of a large image) across
// the thread pool; each thread transforms a block into its own buffers (sized to stay in cache)
// and runs single-threaded GEMMs on them.
#include "winograd.hpp"

#include <algorithm>
#include <atomic>
#include <bit>
#include <cstdlib>
#include <string>
#include <vector>

#include "blas.hpp"
#include "nabla/tensor/error.hpp"
#include "nabla/tensor/factories.hpp"
#include "nabla/tensor/simd.hpp"  // NABLA_SIMD_DISPATCH
#include "nabla/tensor/tensor.hpp"
#include "nabla/tensor/threads.hpp"
#include "pool_rows.hpp"
#include "row_sums.hpp"
#include "winograd_simd.hpp"

namespace nabla::kernels::detail {

namespace {

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

// B o, the adjoint of input_1d
template <class T, class V>
inline void input_adjoint_1d(const V (&o)[6], V (&d)[6]) {
  const V p = o[1] + o[2], q = o[2] - o[1], r = o[3] + o[4], s = o[4] - o[3];
  d[0] = T(4) * o[0];
  d[1] = T(4) * (q + o[5]) + T(2) * s;
  d[2] = -(T(5) * o[0] + T(4) * p + r);
  d[3] = -(q + T(2) * s + T(5) * o[5]);
  d[4] = o[0] + p + r;
  d[5] = o[5];
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

// Tiles per block of work: enough columns for an efficient GEMM, few enough that a block's
// transformed input and output stay in the core's L2 cache. (128, three MNIST images a block, ran
// the MNIST CNN's second convolution 1-2.5 % faster on one thread, within the noise on two, and
// raised its training peak by 3-4 MB, past 120 MB: not worth it.)
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

// A block's transformed data is laid out [xi][channel][tile], rows of `ld` = tiles + kSlack:
// the transforms store whole vectors, and the lanes past a row's last tile land in that slack
// (or on tiles that are written afterwards). xi planes are `pitch` apart, a little more than a
// plane, so that the 36 planes do not all start at the same cache set (4 KiB aliasing).
template <class T>
constexpr int64_t kSlack = 64 / sizeof(T);  // the widest vector, in elements
template <class T>
int64_t row_stride(int64_t tiles) {
  return tiles + kSlack<T>;
}
int64_t plane_pitch(int64_t channels, int64_t ld) { return channels * ld + 16; }

// The transforms of one instruction set (winograd_transforms.inc).
template <class T>
struct Kernels {
  // V[xi][c][first + tile] = (B^T d B)[xi] for every 6x6 block d of one image's channels.
  void (*input)(const T* image, T* scratch, T* v, int64_t channels, Size2d in, Size2d padding, const Tiling& t,
                int64_t row_lo, int64_t row_hi, int64_t first, int64_t ld, int64_t pitch);
  // dM[xi][k][first + tile] = (A dY A^T)[xi] for every 4x4 block dY of one image's output gradient.
  void (*output_grad)(const T* grad_y, T* scratch, T* dm, int64_t channels, Size2d out, const Tiling& t,
                      int64_t row_lo, int64_t row_hi, int64_t first, int64_t ld, int64_t pitch);
  // The same for dY = max_pool2d_backward(grad_pooled, indices) of a 2x2, stride-2 pooling of the
  // output, without that full-size dY: rebuilt a channel's band at a time in scratch (outputs of
  // whole tiles: a channel's windows sorted into lanes, one tile per lane).
  void (*pooled_grad)(const T* grad_pooled, const int64_t* indices, T* scratch, T* dm, int64_t channels, Size2d out,
                      const Tiling& t, int64_t row_lo, int64_t row_hi, int64_t first, int64_t ld, int64_t pitch);
  // y[k] = A^T m A (+ bias, then max(., 0) when relu) for every tile of one image; m = M[xi][k][first + tile].
  void (*output)(const T* m, const T* bias, bool relu, T* y, int64_t channels, Size2d out, const Tiling& t, int64_t row_lo,
                 int64_t row_hi, int64_t first, int64_t ld, int64_t pitch);
  // The same with relu, then 2x2 stride-2 max pooling into pooled, with each winner's index.
  void (*output_relu_pool)(const T* m, const T* bias, T* pooled, int64_t* indices, int64_t channels, Size2d out,
                           const Tiling& t, int64_t row_lo, int64_t row_hi, int64_t first, int64_t ld, int64_t pitch);
  // grad_x = the adjoint of `input` applied to dV[xi][c][first + tile]; see the .inc.
  void (*input_adjoint)(const T* dv, T* scratch, T* grad_x, int64_t channels, Size2d in, Size2d padding,
                        const Tiling& t, int64_t row_lo, int64_t owned_from, int64_t row_hi, int64_t first, int64_t ld,
                        int64_t pitch);
  // U[xi][k][c] = (G g G^T)[xi] for every filter g = weight[k][c]; taps: 9 * K * C scratch.
  void (*filters)(const T* weight, T* taps, T* u, int64_t out_channels, int64_t in_channels);
  // Vt[xi][tile][c] = V[xi][c][tile], so that the filter gradient dM V^T is the plain product dM Vt:
  // OpenBLAS 0.3.21 runs A B of these small shapes in its small-matrix kernels, but A B^T through
  // packing copies, 1.5x slower (64x32x36: 29 against 43 us per image's 36 products).
  void (*transpose)(const T* v, T* vt, int64_t channels, int64_t tiles, int64_t ld, int64_t pitch, int64_t t_pitch);
  // Elements of scratch the input and output-gradient transforms need for a band of tile rows.
  int64_t (*scratch_size)(const Tiling& t, int64_t band_rows);
};

#if NABLA_SIMD_DISPATCH
namespace avx512 {
#pragma GCC push_options
#pragma GCC target("arch=x86-64-v4")
constexpr int kVectorBytes = 64;
#include "winograd_transforms.inc"
#pragma GCC pop_options
}  // namespace avx512
namespace avx2 {
#pragma GCC push_options
#pragma GCC target("arch=x86-64-v3")
constexpr int kVectorBytes = 32;
#include "winograd_transforms.inc"
#pragma GCC pop_options
}  // namespace avx2
#endif

// The build's own instruction set. 32-byte vectors at least: a segment of tiles needs 6 lanes
// of two vectors (on plain SSE2 each operation becomes two).
namespace baseline {
#if defined(__AVX512F__)
constexpr int kVectorBytes = 64;
#else
constexpr int kVectorBytes = 32;
#endif
#include "winograd_transforms.inc"
}  // namespace baseline

// The best version this CPU runs. NABLA_WINOGRAD_ISA=avx512|avx2|baseline asks for one (the
// tests check each version that way on one machine).
template <class T>
Kernels<T> choose_kernels() {
  const char* requested = std::getenv("NABLA_WINOGRAD_ISA");
  const std::string isa = requested ? requested : "";
#if NABLA_SIMD_DISPATCH
  __builtin_cpu_init();
  const bool has_avx512 = __builtin_cpu_supports("x86-64-v4"), has_avx2 = __builtin_cpu_supports("x86-64-v3");
  if ((isa == "avx512" && !has_avx512) || (isa == "avx2" && !has_avx2)) {
    fail("NABLA_WINOGRAD_ISA={}, but this CPU lacks that instruction set; unset it or ask for a lower one", isa);
  }
  if ((isa.empty() || isa == "avx512") && has_avx512) return avx512::kernels<T>();
  if ((isa.empty() || isa == "avx2") && has_avx2) return avx2::kernels<T>();
#else
  if (isa == "avx512" || isa == "avx2") {
    fail("NABLA_WINOGRAD_ISA={}: this build has one version of the Winograd transforms (compiled for its -march); "
         "unset it",
         isa);
  }
#endif
  if (!isa.empty() && isa != "avx512" && isa != "avx2" && isa != "baseline") {
    fail("NABLA_WINOGRAD_ISA={}: expected avx512, avx2 or baseline (or unset, for the best this CPU runs)", isa);
  }
  return baseline::kernels<T>();
}

template <class T>
const Kernels<T>& kernels() {
  static const Kernels<T> chosen = choose_kernels<T>();
  return chosen;
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

// The distance between xi planes of transposed data (Kernels::transpose), `tiles` rows of
// `channels`: a little more than a plane, as plane_pitch.
int64_t transposed_pitch(int64_t tiles, int64_t channels) { return tiles * channels + 16; }

// One thread's buffers for its share of `blocks`, sized for the largest block: the transforms'
// scratch rows, and the transformed data of `first_channels` (C: the input, or its gradient) and
// `second_channels` (K: the output, or its gradient) channels; with_transposed, room for the
// first's planes transposed (the filter gradient's).
// Zeroed once: the lanes the GEMMs skip are then never garbage (nor denormals) when transformed.
template <class T>
struct BlockBuffers {
  Tensor scratch, first, second, transposed;
  BlockBuffers(const std::vector<Block>& blocks, const Tiling& t, int64_t first_channels, int64_t second_channels,
               bool with_transposed = false)
      : scratch(Tensor::empty({kernels<T>().scratch_size(t, max_band_rows(blocks))}, dtype_v<T>)),
        first(zeros({kXi * plane_pitch(first_channels, row_stride<T>(max_block_tiles(blocks, t)))}, dtype_v<T>)),
        second(zeros({kXi * plane_pitch(second_channels, row_stride<T>(max_block_tiles(blocks, t)))}, dtype_v<T>)),
        transposed(Tensor::empty({with_transposed ? kXi * transposed_pitch(max_block_tiles(blocks, t), first_channels)
                                                  : 0},
                                 dtype_v<T>)) {}
};


// A block's tiles, and in its thread's buffers the row stride and the distance between xi planes of
// the C-channel data (first buffer) and of the K-channel data (second buffer).
struct BlockGeometry {
  int64_t tiles, per_image, ld, c_pitch, k_pitch;
};
template <class T>
BlockGeometry geometry_of(const Block& b, const Tiling& t, int64_t C, int64_t K) {
  const int64_t tiles = b.tiles(t), ld = row_stride<T>(tiles);
  return {tiles, tiles / b.images, ld, plane_pitch(C, ld), plane_pitch(K, ld)};
}

// One block's work as the helpers below hand it out: body(index, block, geometry, scratch,
// C-channel buffer, K-channel buffer[, dU]).
template <class T, class Body, class... Extra>
void run_block(const std::vector<Block>& blocks, const Tiling& t, int64_t C, int64_t K, int64_t index,
               const BlockBuffers<T>& buffers, Body& body, Extra... extra) {
  const Block& b = blocks[static_cast<size_t>(index)];
  body(index, b, geometry_of<T>(b, t, C, K), buffers.scratch.template data<T>(), buffers.first.template data<T>(),
       buffers.second.template data<T>(), extra...);
}

// Runs the body for every block, handing blocks out one at a time rather than in
// equal shares up front: on a shared machine a thread that loses its core for a while then holds
// up nobody. For blocks that write disjoint outputs (the results do not depend on who computes what).
template <class T, class Body>
void for_each_block(const std::vector<Block>& blocks, const Tiling& t, int64_t C, int64_t K, Body body) {
  const int64_t count = static_cast<int64_t>(blocks.size());
  std::atomic<int64_t> next{0};
  parallel_for(0, std::min<int64_t>(get_num_threads(), count), 1, [&](int64_t, int64_t) {
    const BlockBuffers<T> buffers(blocks, t, C, K);
    for (int64_t index; (index = next.fetch_add(1, std::memory_order_relaxed)) < count;) {
      run_block<T>(blocks, t, C, K, index, buffers, body);
    }
  });
}

// dU[xi] += dM[xi] V[xi]^T over the block's tiles from `skip` on, through Vt (Kernels::transpose).
template <class T>
void add_filter_grads(const T* dm, const T* v, T* vt, T* du, const BlockGeometry& e, int64_t skip, int64_t C,
                      int64_t K) {
  const int64_t tiles = e.tiles - skip, t_pitch = transposed_pitch(tiles, C);
  kernels<T>().transpose(v + skip, vt, C, tiles, e.ld, e.c_pitch, t_pitch);
  for (int64_t xi = 0; xi < kXi; ++xi) {
    gemm<T>(false, false, K, C, tiles, T(1), dm + xi * e.k_pitch + skip, e.ld, vt + xi * t_pitch, C, T(1),
            du + xi * K * C, C);
  }
}

// The filter gradient summed over blocks: fixed shares of blocks, each summing into its own dU
// through the body (so that the sum does not depend on timing), then added up and
// untransformed into grad_weight.
template <class T, class Body>
void sum_filter_grads(const std::vector<Block>& blocks, const Tiling& t, int64_t C, int64_t K, T* grad_weight,
                      Body body) {
  const int64_t count = static_cast<int64_t>(blocks.size());
  const int64_t shares = std::max<int64_t>(1, std::min<int64_t>(get_num_threads(), count));
  Tensor partials = zeros({shares, kXi * K * C}, dtype_v<T>);
  T* du_all = partials.data<T>();
  parallel_for(0, shares, 1, [&](int64_t share_lo, int64_t share_hi) {
    const BlockBuffers<T> buffers(blocks, t, C, K, /*with_transposed=*/true);
    for (int64_t share = share_lo; share < share_hi; ++share) {
      for (int64_t index = share * count / shares; index < (share + 1) * count / shares; ++index) {
        run_block<T>(blocks, t, C, K, index, buffers, body, buffers.transposed.template data<T>(),
                     du_all + share * kXi * K * C);
      }
    }
  });
  for (int64_t share = 1; share < shares; ++share) {
    const T* src = du_all + share * kXi * K * C;
    for (int64_t i = 0; i < kXi * K * C; ++i) du_all[i] += src[i];
  }
  untransform_filter_grads<T>(du_all, grad_weight, K, C);
}

}  // namespace

namespace {

// The forward's input transform and 36 GEMMs per block of tiles; then write(m, image, first,
// block, geometry) turns M into the output of each of the block's images (its tiles from `first`).
template <class T, class Write>
void winograd_forward(const T* x, const T* weight, const Winograd3x3& g, Write&& write) {
  const int64_t C = g.in_channels, K = g.out_channels;
  const Tiling t = tiling_of(g);
  const Kernels<T>& kernel = kernels<T>();
  const std::vector<Block> blocks = make_blocks(g.batch, t);
  Tensor filters = Tensor::empty({kXi * K * C}, dtype_v<T>), taps = Tensor::empty({9 * K * C}, dtype_v<T>);
  kernel.filters(weight, taps.data<T>(), filters.data<T>(), K, C);
  const T* u = filters.data<T>();
  const int64_t in_size = C * g.in.h * g.in.w;
  for_each_block<T>(blocks, t, C, K, [&](int64_t, const Block& b, const BlockGeometry& e, T* scratch, T* v, T* m) {
    for (int64_t i = 0; i < b.images; ++i) {
      kernel.input(x + (b.first_image + i) * in_size, scratch, v, C, g.in, g.padding, t, b.row_lo, b.row_hi,
                   i * e.per_image, e.ld, e.c_pitch);
    }
    for (int64_t xi = 0; xi < kXi; ++xi) {
      gemm<T>(false, false, K, e.tiles, C, T(1), u + xi * K * C, C, v + xi * e.c_pitch, e.ld, T(0), m + xi * e.k_pitch,
              e.ld);
    }
    for (int64_t i = 0; i < b.images; ++i) write(m, b.first_image + i, i * e.per_image, b, e);
  });
}

}  // namespace

template <class T>
void winograd_conv3x3(const T* x, const T* weight, const T* bias, T* y, const Winograd3x3& g, bool relu) {
  const Tiling t = tiling_of(g);
  const Kernels<T>& kernel = kernels<T>();
  const int64_t out_size = g.out_channels * g.out.h * g.out.w;
  winograd_forward<T>(x, weight, g, [&](const T* m, int64_t image, int64_t first, const Block& b, const BlockGeometry& e) {
    kernel.output(m, bias, relu, y + image * out_size, g.out_channels, g.out, t, b.row_lo, b.row_hi, first, e.ld,
                  e.k_pitch);
  });
}

template <class T>
void winograd_conv3x3_relu_max_pool(const T* x, const T* weight, const T* bias, T* pooled, int64_t* indices,
                                    const Winograd3x3& g) {
  const Tiling t = tiling_of(g);
  const Kernels<T>& kernel = kernels<T>();
  const int64_t pooled_size = g.out_channels * (g.out.h / 2) * (g.out.w / 2);
  winograd_forward<T>(x, weight, g, [&](const T* m, int64_t image, int64_t first, const Block& b, const BlockGeometry& e) {
    kernel.output_relu_pool(m, bias, pooled + image * pooled_size, indices + image * pooled_size, g.out_channels, g.out,
                            t, b.row_lo, b.row_hi, first, e.ld, e.k_pitch);
  });
}

namespace {

// Blocks for the input gradient: the forward's, except that a band also recomputes the tile row
// above it, whose last two rows of contributions overlap the band's first rows (so that each row
// of grad_x has one writer). owned_from[i] is the first tile row block i writes.
std::vector<Block> input_grad_blocks(int64_t batch, const Tiling& t, std::vector<int64_t>& owned_from) {
  std::vector<Block> blocks = make_blocks(batch, t);
  owned_from.resize(blocks.size());
  for (size_t i = 0; i < blocks.size(); ++i) {
    owned_from[i] = blocks[i].row_lo;
    blocks[i].row_lo = std::max<int64_t>(0, blocks[i].row_lo - 1);
  }
  return blocks;
}

// Ut[xi] = U[xi]^T (C x K), so that dV[xi] = Ut[xi] dM[xi] is a plain product. `filters` holds
// 2 * kXi * K * C: U, then Ut.
template <class T>
const T* transposed_filters(const Kernels<T>& kernel, const T* weight, Tensor& filters, int64_t K, int64_t C) {
  filters = Tensor::empty({2 * kXi * K * C}, dtype_v<T>);
  Tensor taps = Tensor::empty({9 * K * C}, dtype_v<T>);
  T* u = filters.data<T>();
  T* ut = u + kXi * K * C;
  kernel.filters(weight, taps.data<T>(), u, K, C);
  for (int64_t xi = 0; xi < kXi; ++xi) {
    for (int64_t k = 0; k < K; ++k) {
      for (int64_t c = 0; c < C; ++c) ut[(xi * C + c) * K + k] = u[(xi * K + k) * C + c];
    }
  }
  return ut;
}

}  // namespace

namespace {

// What the input gradient needs, shared by winograd_conv3x3_input_grad and _backward.
template <class T>
struct InputGrad {
  const Winograd3x3& g;
  const Kernels<T>& kernel = kernels<T>();
  const Tiling t = tiling_of(g);
  std::vector<int64_t> owned_from;
  const std::vector<Block> blocks = input_grad_blocks(g.batch, t, owned_from);
  Tensor filters;
  const T* ut;
  InputGrad(const Winograd3x3& geometry, const T* weight)
      : g(geometry), ut(transposed_filters(kernel, weight, filters, g.out_channels, g.in_channels)) {}

  // dM [K channels] of block `index` -> dV = U^T dM [C channels] -> grad_x rows the block owns.
  void finish(int64_t index, const Block& b, const BlockGeometry& e, T* scratch, T* dv, const T* dm,
              T* grad_x) const {
    const int64_t C = g.in_channels, K = g.out_channels;
    for (int64_t xi = 0; xi < kXi; ++xi) {
      gemm<T>(false, false, C, e.tiles, K, T(1), ut + xi * C * K, K, dm + xi * e.k_pitch, e.ld, T(0),
              dv + xi * e.c_pitch, e.ld);
    }
    for (int64_t i = 0; i < b.images; ++i) {
      kernel.input_adjoint(dv, scratch, grad_x + (b.first_image + i) * C * g.in.h * g.in.w, C, g.in, g.padding, t,
                           b.row_lo, owned_from[static_cast<size_t>(index)], b.row_hi, i * e.per_image, e.ld,
                           e.c_pitch);
    }
  }
};

}  // namespace

template <class T>
void winograd_conv3x3_input_grad(const T* grad_y, const T* weight, T* grad_x, const Winograd3x3& g) {
  const InputGrad<T> plan(g, weight);
  const int64_t C = g.in_channels, K = g.out_channels, out_size = K * g.out.h * g.out.w;
  for_each_block<T>(plan.blocks, plan.t, C, K, [&](int64_t index, const Block& b, const BlockGeometry& e,
                                                  T* scratch, T* dv, T* dm) {
    for (int64_t i = 0; i < b.images; ++i) {
      plan.kernel.output_grad(grad_y + (b.first_image + i) * out_size, scratch, dm, K, g.out, plan.t, b.row_lo,
                              b.row_hi, i * e.per_image, e.ld, e.k_pitch);
    }
    plan.finish(index, b, e, scratch, dv, dm, grad_x);
  });
}

namespace {

// Both gradients, sharing dM = A dY A^T; grad_transform(image, block, geometry, scratch, dm) writes
// dM for one of a block's images (its tiles from image * geometry.per_image).
template <class T, class GradTransform>
void conv3x3_backward(const T* x, const T* weight, T* grad_x, T* grad_weight, const Winograd3x3& g,
                      GradTransform grad_transform) {
  const InputGrad<T> plan(g, weight);
  const int64_t C = g.in_channels, K = g.out_channels;
  const int64_t in_size = C * g.in.h * g.in.w;
  const Tiling& t = plan.t;
  auto block = [&](int64_t index, const Block& b, const BlockGeometry& e, T* scratch, T* v /* V, then dV */, T* dm,
                   T* vt, T* du) {
    for (int64_t i = 0; i < b.images; ++i) {
      grad_transform(i, b, e, scratch, dm);
      plan.kernel.input(x + (b.first_image + i) * in_size, scratch, v, C, g.in, g.padding, t, b.row_lo, b.row_hi,
                        i * e.per_image, e.ld, e.c_pitch);
    }
    // dU += dM V^T over the tiles this block owns (a band's recomputed row above is its neighbour's).
    const int64_t skip = (plan.owned_from[static_cast<size_t>(index)] - b.row_lo) * t.cols;
    add_filter_grads<T>(dm, v, vt, du, e, skip, C, K);
    plan.finish(index, b, e, scratch, v, dm, grad_x);
  };
  sum_filter_grads<T>(plan.blocks, t, C, K, grad_weight, block);
}

}  // namespace

template <class T>
void winograd_conv3x3_backward(const T* x, const T* grad_y, const T* weight, T* grad_x, T* grad_weight,
                               const Winograd3x3& g) {
  const Kernels<T>& kernel = kernels<T>();
  const Tiling t = tiling_of(g);
  const int64_t out_size = g.out_channels * g.out.h * g.out.w;
  conv3x3_backward<T>(x, weight, grad_x, grad_weight, g,
                      [&](int64_t i, const Block& b, const BlockGeometry& e, T* scratch, T* dm) {
                        kernel.output_grad(grad_y + (b.first_image + i) * out_size, scratch, dm, g.out_channels,
                                           g.out, t, b.row_lo, b.row_hi, i * e.per_image, e.ld, e.k_pitch);
                      });
}

template <class T>
void winograd_conv3x3_backward_pooled(const T* x, const T* grad_pooled, const int64_t* indices, const T* weight,
                                      T* grad_x, T* grad_weight, const Winograd3x3& g, const T* relu_values,
                                      T* relu_sums) {
  const Kernels<T>& kernel = kernels<T>();
  const Tiling t = tiling_of(g);
  const int64_t plane = (g.out.h / 2) * (g.out.w / 2), pooled_size = g.out_channels * plane;
  conv3x3_backward<T>(x, weight, grad_x, grad_weight, g,
                      [&](int64_t i, const Block& b, const BlockGeometry& e, T* scratch, T* dm) {
                        const int64_t image = b.first_image + i;
                        const T* image_grad = grad_pooled + image * pooled_size;
                        if (relu_values) {
                          // This image's masked gradient, in cache for the transform below. A
                          // band of a large image masks the whole image; the first band keeps the sums.
                          thread_local std::vector<T> masked;
                          masked.resize(static_cast<size_t>(pooled_size));
                          for (int64_t k = 0; k < g.out_channels; ++k) {
                            const int64_t at = image * pooled_size + k * plane;
                            const T row_sum = relu_gradient_row(grad_pooled + at, relu_values + at,
                                                                masked.data() + k * plane, plane);
                            if (b.row_lo == 0) relu_sums[image * g.out_channels + k] = row_sum;
                          }
                          image_grad = masked.data();
                        }
                        kernel.pooled_grad(image_grad, indices + image * pooled_size, scratch, dm, g.out_channels,
                                           g.out, t, b.row_lo, b.row_hi, i * e.per_image, e.ld, e.k_pitch);
                      });
}

template <class T>
void winograd_conv3x3_weight_grad(const T* x, const T* grad_y, T* grad_weight, const Winograd3x3& g) {
  const int64_t C = g.in_channels, K = g.out_channels;
  const Tiling t = tiling_of(g);
  const Kernels<T>& kernel = kernels<T>();
  const std::vector<Block> blocks = make_blocks(g.batch, t);
  const int64_t in_size = C * g.in.h * g.in.w, out_size = K * g.out.h * g.out.w;
  auto block = [&](int64_t, const Block& b, const BlockGeometry& e, T* scratch, T* v, T* dm, T* vt, T* du) {
    for (int64_t i = 0; i < b.images; ++i) {
      kernel.input(x + (b.first_image + i) * in_size, scratch, v, C, g.in, g.padding, t, b.row_lo, b.row_hi,
                   i * e.per_image, e.ld, e.c_pitch);
      kernel.output_grad(grad_y + (b.first_image + i) * out_size, scratch, dm, K, g.out, t, b.row_lo, b.row_hi,
                         i * e.per_image, e.ld, e.k_pitch);
    }
    add_filter_grads<T>(dm, v, vt, du, e, /*skip=*/0, C, K);
  };
  sum_filter_grads<T>(blocks, t, C, K, grad_weight, block);
}

template void winograd_conv3x3<float>(const float*, const float*, const float*, float*, const Winograd3x3&, bool);
template void winograd_conv3x3<double>(const double*, const double*, const double*, double*, const Winograd3x3&,
                                       bool);
template void winograd_conv3x3_relu_max_pool<float>(const float*, const float*, const float*, float*, int64_t*,
                                                   const Winograd3x3&);
template void winograd_conv3x3_relu_max_pool<double>(const double*, const double*, const double*, double*, int64_t*,
                                                    const Winograd3x3&);
template void winograd_conv3x3_input_grad<float>(const float*, const float*, float*, const Winograd3x3&);
template void winograd_conv3x3_input_grad<double>(const double*, const double*, double*, const Winograd3x3&);
template void winograd_conv3x3_backward<float>(const float*, const float*, const float*, float*, float*,
                                               const Winograd3x3&);
template void winograd_conv3x3_backward<double>(const double*, const double*, const double*, double*, double*,
                                                const Winograd3x3&);
template void winograd_conv3x3_backward_pooled<float>(const float*, const float*, const int64_t*, const float*, float*,
                                                      float*, const Winograd3x3&, const float*, float*);
template void winograd_conv3x3_backward_pooled<double>(const double*, const double*, const int64_t*, const double*,
                                                       double*, double*, const Winograd3x3&, const double*, double*);
template void winograd_conv3x3_weight_grad<float>(const float*, const float*, float*, const Winograd3x3&);
template void winograd_conv3x3_weight_grad<double>(const double*, const double*, double*, const Winograd3x3&);

}  // namespace nabla::kernels::detail
