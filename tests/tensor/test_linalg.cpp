// matmul: known values, NumPy's 1-d and batch-broadcast rules, every operand layout BLAS can take
// in place (row-major, transposed) or must copy (strided, expanded), the single-GEMM path for
// folded batches, integer and mixed dtypes, empty dimensions, and the error messages.
#include <cstdint>
#include <string>
#include <vector>

#include "reference.hpp"

using namespace nabla;
using namespace nabla::kernels;
using Catch::Contains;
using reference::check_elements;
using reference::check_values;
using reference::Index;
using reference::Layout;
using reference::read;

namespace {

// matmul written out: promotes 1-d operands, broadcasts batch axes, sums in long double.
void check_matmul(const Tensor& a, const Tensor& b, const Tensor& result, reference::Tolerance tolerance) {
  const bool a_vector = a.dim() == 1, b_vector = b.dim() == 1;
  const Shape a_shape = a_vector ? Shape{1, a.size(0)} : a.shape();
  const Shape b_shape = b_vector ? Shape{b.size(0), 1} : b.shape();
  Shape a_batch, b_batch;
  for (int64_t i = 0; i + 2 < a_shape.size(); ++i) a_batch.push_back(a_shape[i]);
  for (int64_t i = 0; i + 2 < b_shape.size(); ++i) b_batch.push_back(b_shape[i]);
  const Shape batch = reference::broadcast_shape(a_batch, b_batch);
  const int64_t m = a_shape[a_shape.size() - 2], k = a_shape.back(), n = b_shape.back();
  Shape expected_shape = batch;
  if (!a_vector) expected_shape.push_back(m);
  if (!b_vector) expected_shape.push_back(n);

  check_elements(result, expected_shape, [&](const Index& out) {
    const Index batch_index(out.begin(), out.begin() + batch.size());
    const int64_t i = a_vector ? 0 : out[static_cast<size_t>(batch.size())];
    const int64_t j = b_vector ? 0 : out.back();
    Index a_index = reference::broadcast_index(batch_index, a_batch);
    Index b_index = reference::broadcast_index(batch_index, b_batch);
    if (!a_vector) a_index.push_back(i);
    a_index.push_back(0);
    b_index.push_back(0);
    if (!b_vector) b_index.push_back(j);
    long double sum = 0;
    for (int64_t p = 0; p < k; ++p) {
      a_index.back() = p;
      b_index[b_index.size() - (b_vector ? 1 : 2)] = p;
      sum += static_cast<long double>(read(a, a_index)) * read(b, b_index);
    }
    return static_cast<double>(sum);
  }, tolerance);
}

reference::Tolerance matmul_tolerance(DType dtype) {
  return dtype == float64 ? reference::Tolerance{1e-11, 1e-11} : reference::Tolerance{1e-4, 1e-4};
}

// A product's sizes: op(A) is m x k, op(B) is k x n.
struct Sizes {
  int64_t m, n, k;
};

// Runs the enclosing scope on `threads` threads and restores the count after, even when a check
// throws (so a failure does not leave the next tests on a different thread count).
class ThreadsForScope {
 public:
  explicit ThreadsForScope(int threads) : saved_(get_num_threads()) { set_num_threads(threads); }
  ~ThreadsForScope() { set_num_threads(saved_); }
  ThreadsForScope(const ThreadsForScope&) = delete;
  ThreadsForScope& operator=(const ThreadsForScope&) = delete;

 private:
  int saved_;
};

// Random batch shape of 0..2 axes, each 1 or 2..3 (so both sides broadcast).
Shape random_batch(reference::Rng& rng) {
  Shape batch;
  const int64_t ndim = rng.integer(0, 2);
  for (int64_t i = 0; i < ndim; ++i) batch.push_back(rng.chance(0.4) ? 1 : rng.integer(2, 3));
  return batch;
}

Shape with_matrix(Shape batch, int64_t rows, int64_t cols) {
  batch.push_back(rows);
  batch.push_back(cols);
  return batch;
}

}  // namespace

TEST_CASE("matmul of known matrices", "[linalg]") {
  const Tensor a = tensor({1, 2, 3, 4, 5, 6}, {2, 3});
  const Tensor b = tensor({7, 8, 9, 10, 11, 12}, {3, 2});
  check_values(matmul(a, b), {2, 2}, {58, 64, 139, 154});
  check_values(matmul(b, a), {3, 3}, {39, 54, 69, 49, 68, 87, 59, 82, 105});
  CHECK(matmul(a, b).dtype() == float32);
  check_values(matmul(a.to(float64), b.to(float64)), {2, 2}, {58, 64, 139, 154}, 1e-12);
}

TEST_CASE("matmul promotes 1-d operands and drops the added axis", "[linalg]") {
  const Tensor v = tensor({1, 2, 3});
  const Tensor m = tensor({1, 0, 2, 1, 0, 3}, {3, 2});      // 3x2
  const Tensor mt = tensor({1, 2, 0, 0, 1, 3}, {2, 3});     // 2x3
  const Tensor dot = matmul(v, v);
  CHECK(dot.dim() == 0);
  CHECK(dot.item() == 14);
  check_values(matmul(v, m), {2}, {5, 11});                 // row vector times matrix
  check_values(matmul(mt, v), {2}, {5, 11});                // matrix times column vector
  // A batch of matrices times a vector, and a vector times a batch.
  const Tensor batch = stack({mt, mul(mt, 2.0)});           // [2, 2, 3]
  check_values(matmul(batch, v), {2, 2}, {5, 11, 10, 22});
  check_values(matmul(v, stack({m, m})), {2, 2}, {5, 11, 5, 11});
}

TEST_CASE("matmul agrees with a naive loop for every layout and broadcast", "[linalg]") {
  reference::Rng rng(20240611);
  for (DType dtype : {float32, float64}) {
    for (int trial = 0; trial < 120; ++trial) {
      const int64_t m = rng.integer(1, 6), k = rng.integer(1, 6), n = rng.integer(1, 6);
      const Shape a_shape = with_matrix(random_batch(rng), m, k);
      const Shape b_shape = with_matrix(random_batch(rng), k, n);
      const Layout a_layout = reference::all_layouts[static_cast<size_t>(trial % 6)];
      const Layout b_layout = reference::all_layouts[static_cast<size_t>(rng.integer(0, 5))];
      // Batch axes of different extents (neither 1) cannot broadcast: make them agree.
      Shape b_fixed = b_shape;
      for (int64_t i = 1; i <= std::min(a_shape.size(), b_shape.size()) - 2; ++i) {
        const int64_t ai = a_shape.size() - 2 - i, bi = b_shape.size() - 2 - i;
        if (a_shape[ai] != 1 && b_fixed[bi] != 1) b_fixed[bi] = a_shape[ai];
      }
      const Tensor a = reference::random_tensor(a_shape, dtype, a_layout, rng);
      const Tensor b = reference::random_tensor(b_fixed, dtype, b_layout, rng);
      INFO(dtype_name(dtype) << " trial " << trial << ": a " << to_string(a_shape) << " "
                             << reference::layout_name(a_layout) << ", b " << to_string(b_fixed) << " "
                             << reference::layout_name(b_layout));
      check_matmul(a, b, matmul(a, b), matmul_tolerance(dtype));
    }
  }
}

TEST_CASE("matmul splits large products across two threads and agrees with a naive loop", "[linalg][threads]") {
  // From 2^21 multiply-adds a product is cut into one block of C per thread: by rows when k is the
  // smallest size (a weight gradient) or m >= n, by columns otherwise. Each cut, each operand
  // contiguous or transposed (BLAS's two layouts), both dtypes.
  const ThreadsForScope two_threads(2);
  reference::Rng rng(20261206);
  for (const Sizes& sizes : {Sizes{130, 200, 90}, Sizes{40, 310, 200}, Sizes{310, 40, 200}, Sizes{70, 300, 110}}) {
    for (DType dtype : {float32, float64}) {
      for (Layout a_layout : {Layout::contiguous, Layout::transposed}) {
        for (Layout b_layout : {Layout::contiguous, Layout::transposed}) {
          const Tensor a = reference::random_tensor({sizes.m, sizes.k}, dtype, a_layout, rng);
          const Tensor b = reference::random_tensor({sizes.k, sizes.n}, dtype, b_layout, rng);
          INFO(dtype_name(dtype) << " m " << sizes.m << " n " << sizes.n << " k " << sizes.k << ", a "
                                 << reference::layout_name(a_layout) << ", b " << reference::layout_name(b_layout));
          check_matmul(a, b, matmul(a, b), matmul_tolerance(dtype));
        }
      }
    }
  }
}

TEST_CASE("linear on two threads: x W^T + b on every cut of the product, against a naive loop", "[linalg][threads]") {
  // The bias is C's starting value, written by the thread computing each block: one thread (small),
  // rows (m >= n), columns through each thread's buffer (small blocks) and in place (wide ones),
  // and no in_features at all (the output is the bias).
  const ThreadsForScope two_threads(2);
  reference::Rng rng(20261207);
  for (const Sizes& sizes : {Sizes{5, 7, 3}, Sizes{310, 40, 200}, Sizes{40, 310, 200}, Sizes{20, 30000, 20},
                             Sizes{6, 4, 0}}) {
    for (DType dtype : {float32, float64}) {
      const Tensor x = reference::random_tensor({sizes.m, sizes.k}, dtype, Layout::contiguous, rng);
      const Tensor weight = reference::random_tensor({sizes.n, sizes.k}, dtype, Layout::contiguous, rng);
      const Tensor bias = reference::random_tensor({sizes.n}, dtype, Layout::contiguous, rng);
      INFO(dtype_name(dtype) << " m " << sizes.m << " n " << sizes.n << " k " << sizes.k);
      for (bool with_bias : {true, false}) {
        const Tensor y = linear(x, weight, with_bias ? bias : Tensor());
        check_elements(y, {sizes.m, sizes.n}, [&](const Index& at) {
          long double sum = with_bias ? read(bias, {at[1]}) : 0;
          for (int64_t p = 0; p < sizes.k; ++p) sum += read(x, {at[0], p}) * read(weight, {at[1], p});
          return static_cast<double>(sum);
        }, matmul_tolerance(dtype));
      }
    }
  }
}

TEST_CASE("products of 16 to 64 rows by wide weights agree with a naive loop on one and two threads", "[linalg][threads]") {
  // On AVX-512 CPUs these float products (op(A) = A with 16..64 rows, n and k >= 64) run in
  // gemm_few_rows: the batch across 1..4 vectors, tiles of 6..12 columns with a partial last one,
  // chunks of 256 columns and blocks of 256 of k (several of each below), rows of A with a gap
  // (lda > k), B as stored (x W) or transposed (x W^T, a linear layer), and a linear layer's bias.
  // On two threads: cut by columns (m < n) or by rows (64x64x600, 32 rows each). Elsewhere OpenBLAS
  // computes the same products.
  reference::Rng rng(20261208);
  const auto tolerance = matmul_tolerance(float32);
  for (int threads : {1, 2}) {
    const ThreadsForScope scope(threads);
    for (const Sizes& sizes : {Sizes{16, 64, 64}, Sizes{17, 300, 77}, Sizes{33, 70, 530}, Sizes{48, 523, 260},
                               Sizes{64, 300, 300}, Sizes{50, 100, 64}, Sizes{64, 64, 600}}) {
      INFO(threads << " thread(s), m " << sizes.m << " n " << sizes.n << " k " << sizes.k);
      for (Layout b_layout : {Layout::contiguous, Layout::transposed}) {
        INFO("b " << reference::layout_name(b_layout));
        // Every other row of a [2m, k] matrix: row stride 2k.
        const Tensor a = reference::random_tensor({2 * sizes.m, sizes.k}, float32, Layout::contiguous, rng)
                             .slice(0, 0, 2 * sizes.m, 2);
        const Tensor b = reference::random_tensor({sizes.k, sizes.n}, float32, b_layout, rng);
        check_matmul(a, b, matmul(a, b), tolerance);
        check_matmul(a.contiguous(), b, matmul(a.contiguous(), b), tolerance);
      }
      const Tensor x = reference::random_tensor({sizes.m, sizes.k}, float32, Layout::contiguous, rng);
      const Tensor weight = reference::random_tensor({sizes.n, sizes.k}, float32, Layout::contiguous, rng);
      const Tensor bias = reference::random_tensor({sizes.n}, float32, Layout::contiguous, rng);
      check_elements(linear(x, weight, bias), {sizes.m, sizes.n}, [&](const Index& at) {
        long double sum = read(bias, {at[1]});
        for (int64_t p = 0; p < sizes.k; ++p) sum += read(x, {at[0], p}) * read(weight, {at[1], p});
        return static_cast<double>(sum);
      }, tolerance);
    }
  }
}

TEST_CASE("weight-gradient products a^T b of depth <= 128 agree with a naive loop on one and two threads", "[linalg][threads]") {
  // On AVX-512 CPUs these float products (op(A) = A^T with m >= 64, n >= 16, k <= 128) run in
  // gemm_short_depth: strips of 64 columns and a partial one (masked lanes), tiles of 6..12 rows and
  // a partial one, depths from 1 to 128, rows of B with a gap (ldb > n). On two threads the rows of
  // C are cut between them. Elsewhere OpenBLAS computes the same products.
  reference::Rng rng(20261209);
  const auto tolerance = matmul_tolerance(float32);
  for (int threads : {1, 2}) {
    const ThreadsForScope scope(threads);
    for (const Sizes& sizes : {Sizes{64, 16, 1}, Sizes{70, 100, 64}, Sizes{130, 523, 128}, Sizes{67, 17, 5},
                               Sizes{300, 200, 100}, Sizes{512, 130, 64}}) {
      INFO(threads << " thread(s), m " << sizes.m << " n " << sizes.n << " k " << sizes.k);
      const Tensor a = reference::random_tensor({sizes.k, sizes.m}, float32, Layout::contiguous, rng).t();
      // The first n columns of a [k, 2n] matrix: row stride 2n.
      const Tensor b = reference::random_tensor({sizes.k, 2 * sizes.n}, float32, Layout::contiguous, rng)
                           .narrow(1, 0, sizes.n);
      check_matmul(a, b, matmul(a, b), tolerance);
      check_matmul(a, b.contiguous(), matmul(a, b.contiguous()), tolerance);
    }
  }
}

TEST_CASE("matmul reads transposed and sliced views in place", "[linalg]") {
  Generator generator(7);
  for (DType dtype : {float32, float64}) {
    const Tensor base = randn({40, 50}, dtype, generator);
    const Tensor other = randn({60, 40}, dtype, generator);
    // base.t(): a transposed view (stride[-2] == 1); other.slice: rows with a gap (lda > cols).
    const Tensor at = base.t();                           // [50, 40]
    const Tensor rows = other.slice(0, 1, 60, 2);         // [30, 40], row stride 80
    const Tensor cols = other.slice(1, 0, 40, 2);         // [60, 20], column stride 2: copied
    check_matmul(at, rows.t(), matmul(at, rows.t()), matmul_tolerance(dtype));
    check_matmul(rows, base, matmul(rows, base), matmul_tolerance(dtype));
    check_matmul(cols.t(), cols, matmul(cols.t(), cols), matmul_tolerance(dtype));
    // Large enough for OpenBLAS to use several threads.
    const Tensor big_a = randn({130, 70}, dtype, generator);
    const Tensor big_b = randn({90, 70}, dtype, generator).t();
    check_matmul(big_a, big_b, matmul(big_a, big_b), matmul_tolerance(dtype));
  }
}

TEST_CASE("matmul folds a batch over a shared 2-d operand into one product", "[linalg]") {
  Generator generator(11);
  for (DType dtype : {float32, float64}) {
    const Tensor weight = randn({6, 5}, dtype, generator);
    // Contiguous batch: one GEMM of 2*3*4 rows.
    const Tensor x = randn({2, 3, 4, 6}, dtype, generator);
    check_matmul(x, weight, matmul(x, weight), matmul_tolerance(dtype));
    check_matmul(x, weight.slice(1, 0, 5, 2), matmul(x, weight.slice(1, 0, 5, 2)), matmul_tolerance(dtype));
    const Tensor weight_t = randn({5, 6}, dtype, generator).t();
    check_matmul(x, weight_t, matmul(x, weight_t), matmul_tolerance(dtype));
    // Batches that do not fold: a gap between batches, a transposed batch, a broadcast batch axis.
    const Tensor gapped = randn({2, 5, 4, 6}, dtype, generator).slice(1, 0, 5, 2);   // [2, 3, 4, 6]
    check_matmul(gapped, weight, matmul(gapped, weight), matmul_tolerance(dtype));
    const Tensor transposed = randn({2, 3, 6, 4}, dtype, generator).transpose(-1, -2);
    check_matmul(transposed, weight, matmul(transposed, weight), matmul_tolerance(dtype));
    const Tensor repeated = randn({1, 1, 6}, dtype, generator).expand({4, 1, 6});  // stride 0, m = 1
    check_matmul(repeated, weight, matmul(repeated, weight), matmul_tolerance(dtype));
    const Tensor batched_b = randn({2, 1, 6, 5}, dtype, generator);
    check_matmul(x, batched_b, matmul(x, batched_b), matmul_tolerance(dtype));
  }
}

TEST_CASE("matmul handles empty and size-1 dimensions", "[linalg]") {
  // k = 0: a sum of nothing is zero.
  const Tensor zero_k = matmul(ones({3, 0}), ones({0, 4}));
  check_values(zero_k, {3, 4}, std::vector<double>(12, 0.0));
  CHECK(matmul(ones({0}), ones({0})).item() == 0);
  // m, n or a batch axis = 0: an empty result of the right shape.
  CHECK(matmul(ones({0, 3}), ones({3, 4})).shape() == Shape{0, 4});
  CHECK(matmul(ones({2, 3}), ones({3, 0})).shape() == Shape{2, 0});
  CHECK(matmul(ones({0, 2, 3}), ones({3, 4})).shape() == Shape{0, 2, 4});
  CHECK(matmul(ones({2, 0, 3}), ones({1, 3, 4})).shape() == Shape{2, 0, 4});
  // 1 x 1 products and size-1 everywhere.
  check_values(matmul(full({1, 1}, 3.0), full({1, 1}, 4.0)), {1, 1}, {12});
  Generator generator(3);
  for (DType dtype : {float32, float64}) {
    const Tensor a = randn({1, 1, 1, 7}, dtype, generator);
    const Tensor b = randn({3, 1, 7, 1}, dtype, generator);
    check_matmul(a, b, matmul(a, b), matmul_tolerance(dtype));
  }
}

TEST_CASE("matmul computes integer products with a loop and refuses mixed dtypes", "[linalg]") {
  const Tensor a = tensor({1, 2, 3, 4, 5, 6}, {2, 3}, int64);
  const Tensor b = tensor({7, 8, 9, 10, 11, 12}, {3, 2}, int64);
  const Tensor product = matmul(a, b);
  CHECK(product.dtype() == int64);
  check_values(product, {2, 2}, {58, 64, 139, 154});
  check_values(matmul(a.t(), a), {3, 3}, {17, 22, 27, 22, 29, 36, 27, 36, 45});
  // uint8 wraps around modulo 256, as NumPy's does.
  const Tensor bytes = tensor({16, 16}, {1, 2}, uint8);
  const Tensor wrapped = matmul(bytes, tensor({16, 1}, {2, 1}, uint8));
  CHECK(wrapped.dtype() == uint8);
  check_values(wrapped, {1, 1}, {(16 * 16 + 16) % 256});
  // Mixed dtypes are refused, as PyTorch refuses them (issue 18; nabla/tensor/mixed_dtypes.hpp),
  // naming both dtypes and the conversion that fixes the call.
  CHECK_THROWS_WITH(matmul(a, b.to(float32)), Catch::Contains("matmul: a is int64 but b is float32") &&
                                                  Catch::Contains(".to(float32)"));
  CHECK_THROWS_WITH(matmul(a.to(float32), b.to(float64)), Catch::Contains("matmul: a is float32 but b is float64"));
  check_values(matmul(a.to(float64), b.to(float64)), {2, 2}, {58, 64, 139, 154});
  // Random integer batches against the reference.
  reference::Rng rng(5);
  for (DType dtype : {int64, uint8}) {
    const Tensor x = reference::random_tensor({3, 4, 5}, dtype, Layout::transposed, rng, 0, 5);
    const Tensor y = reference::random_tensor({5, 2}, dtype, Layout::strided, rng, 0, 5);
    check_matmul(x, y, matmul(x, y), {0, 0});
  }
}

TEST_CASE("matmul reports shapes that cannot be multiplied", "[linalg][errors]") {
  CHECK_THROWS_WITH(matmul(ones({64, 1568}), ones({6272, 10})),
                    "matmul: shapes [64, 1568] and [6272, 10] cannot be multiplied (inner dimensions "
                    "1568 != 6272)");
  CHECK_THROWS_WITH(matmul(ones({3}), ones({4})),
                    Contains("shapes [3] and [4] cannot be multiplied (inner dimensions 3 != 4)"));
  CHECK_THROWS_WITH(matmul(ones({2, 3, 4}), ones({2, 5, 6})),
                    Contains("shapes [2, 3, 4] and [2, 5, 6] cannot be multiplied (inner dimensions 4 != 5)"));
  CHECK_THROWS_WITH(matmul(ones({2, 3, 4}), ones({5, 4, 6})),
                    Contains("shapes [2, 3, 4] and [5, 4, 6] cannot be multiplied (batch dimensions [2] "
                             "and [5] do not broadcast)"));
  CHECK_THROWS_WITH(matmul(scalar_tensor(2.0), ones({3})), Contains("matmul: shapes [] and [3]"));
  CHECK_THROWS_WITH(matmul(Tensor(), ones({3})), Contains("matmul: operand a is undefined"));
  CHECK_THROWS_AS(matmul(ones({2, 2}), ones({3, 2})), Error);
}
