// The one door to OpenBLAS: gemm for float and double, the thread count, and the report of which
// kernels OpenBLAS runs (see tensor/preinit/openblas_coretype.cpp for how they are chosen).
#include "blas.hpp"

#include <algorithm>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include <cblas.h>
#include <fmt/format.h>

#include "nabla/tensor/error.hpp"
#include "nabla/tensor/linalg.hpp"
#include "nabla/tensor/threads.hpp"
#include "gemm_avx512.hpp"
#include "openblas_coretype.hpp"

// Weak: null when the executable was not linked with the preinit object (nabla reached through
// dlopen, or a shared library built on nabla).
extern "C" __attribute__((weak)) const NablaBlasPreinitRecord* nabla_blas_preinit_record();

namespace nabla::kernels {
namespace {

// "OpenBLAS 0.3.21" from the build configuration string.
std::string openblas_version() {
  const std::string_view config = openblas_get_config();
  const size_t first_space = config.find(' ');
  const size_t second_space =
      first_space == std::string_view::npos ? first_space : config.find(' ', first_space + 1);
  return std::string(config.substr(0, second_space));
}

const char* instruction_set_of(const char* core) {
  return nabla::detail::openblas_core_level(core) == 2 ? "AVX-512" : "AVX2";
}

// Says once, on stderr, what nabla did about OpenBLAS's kernel choice, or what the user could do.
// Silent when the user chose OPENBLAS_CORETYPE or when OpenBLAS already runs the best kernels.
void report_openblas_kernels() {
  const char* in_use = openblas_get_corename();
  const NablaBlasPreinitRecord* record = nabla_blas_preinit_record ? nabla_blas_preinit_record() : nullptr;
  const int status = record ? record->status : 0;
  if (status == kNablaPreinitUserSet || status == kNablaPreinitNoAdvice) return;
  if (status == kNablaPreinitSelected) {
    if (strcasecmp(in_use, record->core) == 0) {
      fmt::print(stderr,
                 "nabla: selected OPENBLAS_CORETYPE={} for this {} CPU ({} falls back to slower kernels "
                 "on CPUs it does not know; set OPENBLAS_CORETYPE to override)\n",
                 record->core, instruction_set_of(record->core), openblas_version());
    } else {
      fmt::print(stderr,
                 "nabla: set OPENBLAS_CORETYPE={} for this {} CPU but {} is running its {} kernels "
                 "(this OpenBLAS build may lack them)\n",
                 record->core, instruction_set_of(record->core), openblas_version(), in_use);
    }
    return;
  }
  // The preinit did not run (or found no room in the environment): advise if it would have helped.
  if (std::getenv("OPENBLAS_CORETYPE") != nullptr) return;
  const char* best = nabla::detail::openblas_core_for_this_cpu();
  if (best != nullptr && nabla::detail::openblas_core_level(in_use) < nabla::detail::openblas_core_level(best)) {
    fmt::print(stderr,
               "nabla: {} is running its {} kernels but this CPU supports {}; start the program with "
               "OPENBLAS_CORETYPE={} in its environment for faster matrix products\n",
               openblas_version(), in_use, instruction_set_of(best), best);
  }
}

// nabla's thread pool owns the cores: OpenBLAS runs one thread inside whichever thread calls it, and
// large products are split across the pool by gemm() below. Two pools spinning on two cores would
// take them from each other (libtorch's OpenMP and OpenBLAS pools do exactly that).
void first_use_setup() {
  static const bool done = (report_openblas_kernels(), openblas_set_num_threads(1), true);
  (void)done;
}

// Multiply-adds below which one thread does the whole product (splitting costs a wake-up).
constexpr double kParallelGemmWork = 1 << 21;

template <class T>
void call_blas(bool transpose_a, bool transpose_b, int64_t m, int64_t n, int64_t k, T alpha, const T* a, int64_t lda,
               const T* b, int64_t ldb, T beta, T* c, int64_t ldc) {
  const CBLAS_TRANSPOSE op_a = transpose_a ? CblasTrans : CblasNoTrans;
  const CBLAS_TRANSPOSE op_b = transpose_b ? CblasTrans : CblasNoTrans;
  if constexpr (std::is_same_v<T, float>) {
    cblas_sgemm(CblasRowMajor, op_a, op_b, int(m), int(n), int(k), alpha, a, int(lda), b, int(ldb),
                beta, c, int(ldc));
  } else {
    cblas_dgemm(CblasRowMajor, op_a, op_b, int(m), int(n), int(k), alpha, a, int(lda), b, int(ldb),
                beta, c, int(ldc));
  }
}

// BLAS takes 32-bit sizes: refuse what would be truncated rather than compute garbage.
void check_fits_blas(int64_t value, const char* what) {
  if (value < 0 || value > INT_MAX) {
    fail("gemm: {} = {} does not fit OpenBLAS's 32-bit sizes (split the product into smaller ones)",
         what, value);
  }
}

template <class T>
void check_gemm_arguments(bool transpose_a, bool transpose_b, int64_t m, int64_t n, int64_t k,
                          int64_t lda, int64_t ldb, int64_t ldc) {
  check_fits_blas(m, "m");
  check_fits_blas(n, "n");
  check_fits_blas(k, "k");
  check_fits_blas(lda, "lda");
  check_fits_blas(ldb, "ldb");
  check_fits_blas(ldc, "ldc");
  // Row-major: a stored matrix's row stride must cover its columns.
  const int64_t a_columns = transpose_a ? m : k;
  const int64_t b_columns = transpose_b ? k : n;
  if (lda < std::max<int64_t>(1, a_columns) || ldb < std::max<int64_t>(1, b_columns) ||
      ldc < std::max<int64_t>(1, n)) {
    fail("gemm: leading dimensions lda={}, ldb={}, ldc={} are too small for m={}, n={}, k={} "
         "(transpose_a={}, transpose_b={})",
         lda, ldb, ldc, m, n, k, transpose_a, transpose_b);
  }
}

// dst's rows = src's rows, `columns` values each, for `rows` rows (ld_src = 0: every row of dst
// gets src's one row).
template <class T>
void copy_rows(const T* src, int64_t ld_src, T* dst, int64_t ld_dst, int64_t rows, int64_t columns) {
  for (int64_t i = 0; i < rows; ++i) std::copy(src + i * ld_src, src + i * ld_src + columns, dst + i * ld_dst);
}

// A thread's buffer for its block of C's columns (see gemm), kept between calls and grown to the
// largest block asked for, which kColumnBlockMost bounds.
constexpr int64_t kColumnBlockMost = int64_t{1} << 18;  // elements: 1 MB of float
template <class T>
T* column_block_buffer(int64_t elements) {
  thread_local std::vector<T> buffer;
  if (static_cast<int64_t>(buffer.size()) < elements) buffer.resize(static_cast<size_t>(elements));
  return buffer.data();
}

}  // namespace

}  // namespace nabla::kernels

namespace nabla {
std::string blas_core_name() { return openblas_get_corename(); }
}  // namespace nabla

namespace nabla::kernels {

namespace detail {

namespace {

// Who computes a product: OpenBLAS, or one of nabla's AVX-512 kernels for the shapes on which
// OpenBLAS is slower (gemm_avx512.hpp).
enum class GemmKernel { blas, few_rows, short_depth };

template <class T>
GemmKernel kernel_for(bool transpose_a, bool transpose_b, int64_t m, int64_t n, int64_t k, bool bias) {
  if constexpr (std::is_same_v<T, float>) {
    if (few_rows_gemm_applies(transpose_a, m, n, k)) return GemmKernel::few_rows;
    if (!bias && short_depth_gemm_applies(transpose_a, transpose_b, m, n, k)) return GemmKernel::short_depth;
  }
  return GemmKernel::blas;
}

// One block of C = alpha op(A) op(B) + beta C (+ the bias row), by kernel_for's choice; OpenBLAS
// takes the bias as C's starting value (beta = 1).
template <class T>
void multiply_block(bool transpose_a, bool transpose_b, int64_t m, int64_t n, int64_t k, T alpha, const T* a,
                    int64_t lda, const T* b, int64_t ldb, T beta, const T* bias, T* c, int64_t ldc) {
  if constexpr (std::is_same_v<T, float>) {
    switch (kernel_for<T>(transpose_a, transpose_b, m, n, k, bias != nullptr)) {
      case GemmKernel::few_rows: return gemm_few_rows(transpose_b, m, n, k, alpha, a, lda, b, ldb, beta, bias, c, ldc);
      case GemmKernel::short_depth: return gemm_short_depth(m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
      case GemmKernel::blas: break;
    }
  }
  if (bias) copy_rows(bias, 0, c, ldc, m, n);
  call_blas(transpose_a, transpose_b, m, n, k, alpha, a, lda, b, ldb, bias ? T(1) : beta, c, ldc);
}

// C = alpha op(A) op(B) + beta C, or, given a bias row, C = alpha op(A) op(B) + the bias in every
// row (beta is then 0), written block by block by the thread that computes that block of C.
template <class T>
void gemm_blocks(bool transpose_a, bool transpose_b, int64_t m, int64_t n, int64_t k, T alpha, const T* a,
                 int64_t lda, const T* b, int64_t ldb, T beta, const T* bias, T* c, int64_t ldc) {
  if (m == 0 || n == 0) return;
  check_gemm_arguments<T>(transpose_a, transpose_b, m, n, k, lda, ldb, ldc);
  if (k == 0) {
    // Nothing to multiply: C = beta * C (or the bias), without reading C when beta is 0 (it may be
    // uninitialised).
    for (int64_t i = 0; i < m; ++i) {
      T* row = c + i * ldc;
      for (int64_t j = 0; j < n; ++j) row[j] = bias ? bias[j] : beta == T(0) ? T(0) : beta * row[j];
    }
    return;
  }
  first_use_setup();
  const int threads = get_num_threads();
  const double work = static_cast<double>(m) * static_cast<double>(n) * static_cast<double>(k);
  if (threads < 2 || in_parallel_region() || work < kParallelGemmWork || std::max(m, n) < 2 * threads) {
    multiply_block(transpose_a, transpose_b, m, n, k, alpha, a, lda, b, ldb, beta, bias, c, ldc);
    return;
  }
  // One block of C per thread; each block is an independent product. Rows when k is the smallest
  // size (a weight gradient, g^T x over a batch): each thread then streams its own contiguous
  // block of C, which dominates such products; splitting columns there ran 1.6-2x slower on
  // 512x784x64 and 256x512x64 (Zen 5, OpenBLAS 0.3.21). Otherwise the longer side.
  if (m >= n || k < std::min(m, n)) {
    parallel_for(0, m, std::max<int64_t>(1, m / threads), [&](int64_t lo, int64_t hi) {
      const T* a_rows = transpose_a ? a + lo : a + lo * lda;  // rows lo..hi of op(A)
      multiply_block(transpose_a, transpose_b, hi - lo, n, k, alpha, a_rows, lda, b, ldb, beta, bias, c + lo * ldc, ldc);
    });
    return;
  }
  // A block of columns is not contiguous: its rows alternate with the other threads' in C. Products
  // into such blocks ran 5-25 % slower on two threads than into contiguous ones (64x512x784,
  // 64x512x256, 64x512x128, 128x4096x128 with beta = 0, for which OpenBLAS first zeroes the block;
  // Zen 5, OpenBLAS 0.3.21), so a block small enough to stay in cache is computed in the thread's
  // own buffer and then copied into C row by row. Not when C's values are needed (beta != 0):
  // copying them in as well costs what the buffer saves. Nor for nabla's own kernels: they zero
  // nothing first, and gemm_few_rows already builds its block in a buffer (transposed).
  const int64_t widest = (n + threads - 1) / threads;
  const bool small_block = beta == T(0) && m * widest <= kColumnBlockMost;
  parallel_for(0, n, std::max<int64_t>(1, n / threads), [&](int64_t lo, int64_t hi) {
    const T* b_columns = transpose_b ? b + lo * ldb : b + lo;  // columns lo..hi of op(B)
    const T* block_bias = bias ? bias + lo : nullptr;
    const int64_t width = hi - lo;
    const bool via_buffer =
        small_block && kernel_for<T>(transpose_a, transpose_b, m, width, k, bias != nullptr) == GemmKernel::blas;
    T* block = via_buffer ? column_block_buffer<T>(m * width) : c + lo;
    const int64_t ld_block = via_buffer ? width : ldc;
    multiply_block(transpose_a, transpose_b, m, width, k, alpha, a, lda, b_columns, ldb, beta, block_bias, block,
                   ld_block);
    if (via_buffer) copy_rows(block, width, c + lo, ldc, m, width);
  });
}

}  // namespace

template <class T>
void gemm(bool transpose_a, bool transpose_b, int64_t m, int64_t n, int64_t k, T alpha, const T* a,
          int64_t lda, const T* b, int64_t ldb, T beta, T* c, int64_t ldc) {
  gemm_blocks<T>(transpose_a, transpose_b, m, n, k, alpha, a, lda, b, ldb, beta, nullptr, c, ldc);
}

template <class T>
void gemm_bias(bool transpose_a, bool transpose_b, int64_t m, int64_t n, int64_t k, const T* a, int64_t lda,
               const T* b, int64_t ldb, const T* bias, T* c, int64_t ldc) {
  gemm_blocks<T>(transpose_a, transpose_b, m, n, k, T(1), a, lda, b, ldb, T(0), bias, c, ldc);
}

template void gemm_bias<float>(bool, bool, int64_t, int64_t, int64_t, const float*, int64_t, const float*, int64_t,
                               const float*, float*, int64_t);
template void gemm_bias<double>(bool, bool, int64_t, int64_t, int64_t, const double*, int64_t, const double*,
                                int64_t, const double*, double*, int64_t);
template void gemm<float>(bool, bool, int64_t, int64_t, int64_t, float, const float*, int64_t,
                          const float*, int64_t, float, float*, int64_t);
template void gemm<double>(bool, bool, int64_t, int64_t, int64_t, double, const double*, int64_t,
                           const double*, int64_t, double, double*, int64_t);

// nabla splits products across its own pool, so OpenBLAS itself always runs single-threaded.
void blas_set_num_threads(int) { openblas_set_num_threads(1); }

}  // namespace detail
}  // namespace nabla::kernels
