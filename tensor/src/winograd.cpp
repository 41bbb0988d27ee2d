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
// Work is split by images across the thread pool; each thread transforms a block of images into
// its own buffers (sized to stay in cache) and runs single-threaded GEMMs on them.
#include "winograd.hpp"

#include <algorithm>

#include "blas.hpp"
#include "simd.hpp"
#include "nabla/tensor/factories.hpp"
#include "nabla/tensor/tensor.hpp"
#include "nabla/tensor/threads.hpp"

namespace nabla::detail {

namespace {

constexpr int64_t kXi = 16;  // elements of a transformed 4x4 block

// Tiles per image block: enough columns for an efficient GEMM, few enough that the transformed
// input and output of a block stay in the core's cache.
constexpr int64_t kTargetTiles = 288;

struct Tiling {
  int64_t rows, cols;  // tiles per image, vertically and horizontally
  int64_t per_image() const { return rows * cols; }
  // A zero-bordered copy of one input plane, so that every tile reads in bounds.
  int64_t plane_h() const { return 2 * rows + 2; }
  int64_t plane_w() const { return 2 * cols + 2; }
};

Tiling tiling_of(const Winograd3x3& g) { return {(g.out.h + 1) / 2, (g.out.w + 1) / 2}; }

int64_t images_per_block(const Tiling& t) { return std::max<int64_t>(1, kTargetTiles / t.per_image()); }

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
template <class T>
inline void copy_row(const T* NABLA_R src, T* NABLA_R dst, int64_t n) {  // short rows: no memcpy call
  for (int64_t i = 0; i < n; ++i) dst[i] = src[i];
}
#undef NABLA_R

// V[xi][c][first + tile] = (B^T d B)[xi] for every 4x4 block d of one image's channels.
template <class T>
NABLA_SIMD_CLONES void transform_input(const T* image, T* plane, T* scratch, T* v, int64_t channels, Size2d in,
                                       Size2d padding, const Tiling& t, int64_t first, int64_t ld, int64_t pitch) {
  const int64_t pw = t.plane_w(), ph = t.plane_h(), cols = t.cols;
  for (int64_t c = 0; c < channels; ++c) {
    const T* src = image + c * in.h * in.w;
    for (int64_t r = 0; r < in.h; ++r) {
      copy_row(src + r * in.w, plane + (r + padding.h) * pw + padding.w, in.w);
    }
    // d B on every row: h[j][r][tile column].
    for (int64_t r = 0; r < ph; ++r) {
      const T* p = plane + r * pw;
      T* h0 = scratch + r * cols;
      T* h1 = h0 + ph * cols;
      T* h2 = h1 + ph * cols;
      T* h3 = h2 + ph * cols;
      rows_b(p, h0, h1, h2, h3, cols);
    }
    // B^T (d B) down every column.
    for (int64_t j = 0; j < 4; ++j) {
      const T* h = scratch + j * ph * cols;
      for (int64_t ty = 0; ty < t.rows; ++ty) {
        const T* r0 = h + 2 * ty * cols;
        const T* r1 = r0 + cols;
        const T* r2 = r1 + cols;
        const T* r3 = r2 + cols;
        T* o0 = v + j * pitch + c * ld + first + ty * cols;
        T* o1 = o0 + 4 * pitch;
        T* o2 = o1 + 4 * pitch;
        T* o3 = o2 + 4 * pitch;
        columns_bt(r0, r1, r2, r3, o0, o1, o2, o3, cols);
      }
    }
  }
}

// y[k] = A^T m A (+ bias) for every tile of one image; m = M[xi][k][first + tile].
template <class T>
NABLA_SIMD_CLONES void transform_output(const T* m, const T* bias, T* scratch, T* y, int64_t channels, Size2d out,
                                        const Tiling& t, int64_t first, int64_t ld, int64_t pitch) {
  const int64_t cols = t.cols;
  const bool whole_rows = out.w == 2 * cols;  // else rows go through scratch and are cut to out.w
  T* a = scratch;                    // A^T m: a[i][j][tile column], 8 rows
  T* row_buffer = scratch + 8 * cols;  // one output row of 2 * cols
  for (int64_t k = 0; k < channels; ++k) {
    const T b = bias ? bias[k] : T(0);
    T* plane = y + k * out.h * out.w;
    for (int64_t ty = 0; ty < t.rows; ++ty) {
      const T* s = m + k * ld + first + ty * cols;
      for (int64_t j = 0; j < 4; ++j) {
        const T* m0 = s + j * pitch;
        const T* m1 = m0 + 4 * pitch;
        const T* m2 = m1 + 4 * pitch;
        const T* m3 = m2 + 4 * pitch;
        T* a0 = a + j * cols;
        T* a1 = a + (4 + j) * cols;
        columns_at(m0, m1, m2, m3, a0, a1, cols);
      }
      for (int64_t i = 0; i < 2 && 2 * ty + i < out.h; ++i) {
        const T* a0 = a + (4 * i) * cols;
        const T* a1 = a0 + cols;
        const T* a2 = a1 + cols;
        const T* a3 = a2 + cols;
        T* row = plane + (2 * ty + i) * out.w;
        T* o = whole_rows ? row : row_buffer;
        rows_a(a0, a1, a2, a3, b, o, cols);
        if (!whole_rows) copy_row(row_buffer, row, out.w);
      }
    }
  }
}

// dM[xi][k][first + tile] = (A dY A^T)[xi] for every 2x2 block dY of one image's output gradient.
template <class T>
NABLA_SIMD_CLONES void transform_output_grad(const T* grad_y, T* plane, T* scratch, T* dm, int64_t channels,
                                             Size2d out, const Tiling& t, int64_t first, int64_t ld, int64_t pitch) {
  const int64_t cols = t.cols, pw = 2 * cols, ph = 2 * t.rows;  // the plane is padded to whole tiles
  for (int64_t k = 0; k < channels; ++k) {
    const T* src = grad_y + k * out.h * out.w;
    for (int64_t r = 0; r < out.h; ++r) copy_row(src + r * out.w, plane + r * pw, out.w);
    // dY A^T on every row: h[j][r][tile column].
    for (int64_t r = 0; r < ph; ++r) {
      const T* p = plane + r * pw;
      T* h0 = scratch + r * cols;
      T* h1 = h0 + ph * cols;
      T* h2 = h1 + ph * cols;
      T* h3 = h2 + ph * cols;
      rows_at(p, h0, h1, h2, h3, cols);
    }
    // A (dY A^T) down every column.
    for (int64_t j = 0; j < 4; ++j) {
      const T* h = scratch + j * ph * cols;
      for (int64_t ty = 0; ty < t.rows; ++ty) {
        const T* r0 = h + 2 * ty * cols;
        const T* r1 = r0 + cols;
        T* o0 = dm + j * pitch + k * ld + first + ty * cols;
        T* o1 = o0 + 4 * pitch;
        T* o2 = o1 + 4 * pitch;
        T* o3 = o2 + 4 * pitch;
        columns_a(r0, r1, o0, o1, o2, o3, cols);
      }
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

// Scratch for the transforms' intermediate rows.
int64_t scratch_size(const Tiling& t) { return 4 * t.plane_h() * t.cols + 8 * t.cols + 2 * t.cols; }

}  // namespace

template <class T>
void winograd_conv3x3(const T* x, const T* weight, const T* bias, T* y, const Winograd3x3& g) {
  const int64_t C = g.in_channels, K = g.out_channels;
  const Tiling t = tiling_of(g);
  const int64_t per_block = images_per_block(t);
  Tensor filters = Tensor::empty({kXi * K * C}, dtype_v<T>);
  transform_filters<T>(weight, filters.data<T>(), K, C);
  const T* u = filters.data<T>();
  const int64_t in_size = C * g.in.h * g.in.w, out_size = K * g.out.h * g.out.w;

  parallel_for(0, g.batch, 1, [&](int64_t lo, int64_t hi) {
    const int64_t ld_max = std::min(per_block, hi - lo) * t.per_image();
    Tensor plane = zeros({t.plane_h() * t.plane_w()}, dtype_v<T>);  // borders stay zero
    Tensor scratch = Tensor::empty({scratch_size(t)}, dtype_v<T>);
    Tensor v_buffer = Tensor::empty({kXi * plane_pitch(C, ld_max)}, dtype_v<T>);
    Tensor m_buffer = Tensor::empty({kXi * plane_pitch(K, ld_max)}, dtype_v<T>);
    T* v = v_buffer.data<T>();
    T* m = m_buffer.data<T>();
    for (int64_t first = lo; first < hi; first += per_block) {
      const int64_t images = std::min(per_block, hi - first);
      const int64_t ld = images * t.per_image();
      const int64_t v_pitch = plane_pitch(C, ld), m_pitch = plane_pitch(K, ld);
      for (int64_t i = 0; i < images; ++i) {
        transform_input<T>(x + (first + i) * in_size, plane.data<T>(), scratch.data<T>(), v, C, g.in, g.padding, t,
                           i * t.per_image(), ld, v_pitch);
      }
      for (int64_t xi = 0; xi < kXi; ++xi) {
        gemm<T>(false, false, K, ld, C, T(1), u + xi * K * C, C, v + xi * v_pitch, ld, T(0), m + xi * m_pitch, ld);
      }
      for (int64_t i = 0; i < images; ++i) {
        transform_output<T>(m, bias, scratch.data<T>(), y + (first + i) * out_size, K, g.out, t, i * t.per_image(),
                            ld, m_pitch);
      }
    }
  });
}

template <class T>
void winograd_conv3x3_weight_grad(const T* x, const T* grad_y, T* grad_weight, const Winograd3x3& g) {
  const int64_t C = g.in_channels, K = g.out_channels;
  const Tiling t = tiling_of(g);
  const int64_t per_block = images_per_block(t);
  const int64_t in_size = C * g.in.h * g.in.w, out_size = K * g.out.h * g.out.w;
  // Each thread sums its images into its own dU; the partial sums are added at the end.
  const int64_t chunks = std::max<int64_t>(1, std::min<int64_t>(get_num_threads(), g.batch));
  const int64_t per_chunk = (g.batch + chunks - 1) / chunks;
  Tensor partials = zeros({chunks, kXi * K * C}, dtype_v<T>);
  T* du_all = partials.data<T>();

  parallel_for(0, chunks, 1, [&](int64_t chunk_lo, int64_t chunk_hi) {
    // Zero-bordered planes: the borders stay zero, only the interiors are rewritten.
    Tensor input_plane = zeros({t.plane_h() * t.plane_w()}, dtype_v<T>);
    Tensor grad_plane = zeros({4 * t.per_image()}, dtype_v<T>);
    Tensor scratch = Tensor::empty({scratch_size(t)}, dtype_v<T>);
    const int64_t ld_max = per_block * t.per_image();
    Tensor v_buffer = Tensor::empty({kXi * plane_pitch(C, ld_max)}, dtype_v<T>);
    Tensor dm_buffer = Tensor::empty({kXi * plane_pitch(K, ld_max)}, dtype_v<T>);
    T* v = v_buffer.data<T>();
    T* dm = dm_buffer.data<T>();
    for (int64_t chunk = chunk_lo; chunk < chunk_hi; ++chunk) {
      T* du = du_all + chunk * kXi * K * C;
      const int64_t lo = chunk * per_chunk, hi = std::min(g.batch, lo + per_chunk);
      for (int64_t first = lo; first < hi; first += per_block) {
        const int64_t images = std::min(per_block, hi - first);
        const int64_t ld = images * t.per_image();
        const int64_t v_pitch = plane_pitch(C, ld), dm_pitch = plane_pitch(K, ld);
        for (int64_t i = 0; i < images; ++i) {
          transform_input<T>(x + (first + i) * in_size, input_plane.data<T>(), scratch.data<T>(), v, C, g.in,
                             g.padding, t, i * t.per_image(), ld, v_pitch);
          transform_output_grad<T>(grad_y + (first + i) * out_size, grad_plane.data<T>(), scratch.data<T>(), dm, K,
                                   g.out, t, i * t.per_image(), ld, dm_pitch);
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
