// The structured initialisers: orthogonal_ (and the Householder QR beneath it), trunc_normal_,
// eye_, dirac_ and sparse_. Q and R, and dirac_'s non-zero positions, were computed with
// PyTorch 1.13 (torch.linalg.qr, torch.nn.init.dirac_) by tests/nn/reference/training_reference.py and pasted
// here as literals; the random ones are checked by their defining properties.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <numbers>
#include <vector>

#include "nabla/nn.hpp"
#include "nabla/nn/detail/householder_qr.hpp"

using namespace nabla;
using Catch::Contains;

namespace {

void check_values(const std::vector<double>& actual, const std::vector<double>& expected, double tolerance = 1e-12) {
  REQUIRE(actual.size() == expected.size());
  for (size_t k = 0; k < actual.size(); ++k) {
    INFO("element " << k);
    CHECK(actual[k] == Approx(expected[k]).epsilon(tolerance).margin(tolerance));
  }
}

// M M^T for a rows x cols row-major matrix.
std::vector<double> gram_rows(const std::vector<double>& m, int64_t rows, int64_t cols) {
  std::vector<double> out(static_cast<size_t>(rows * rows), 0.0);
  for (int64_t i = 0; i < rows; ++i) {
    for (int64_t j = 0; j < rows; ++j) {
      for (int64_t k = 0; k < cols; ++k) out[static_cast<size_t>(i * rows + j)] += m[i * cols + k] * m[j * cols + k];
    }
  }
  return out;
}

std::vector<double> transpose(const std::vector<double>& m, int64_t rows, int64_t cols) {
  std::vector<double> out(m.size());
  for (int64_t i = 0; i < rows; ++i) {
    for (int64_t j = 0; j < cols; ++j) out[static_cast<size_t>(j * rows + i)] = m[static_cast<size_t>(i * cols + j)];
  }
  return out;
}

void check_identity(const std::vector<double>& gram, int64_t n, double scale, double tolerance) {
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t j = 0; j < n; ++j) {
      INFO("(" << i << ", " << j << ")");
      CHECK(gram[static_cast<size_t>(i * n + j)] == Approx(i == j ? scale : 0.0).margin(tolerance));
    }
  }
}

const std::vector<double> kMatrix = {2.0, -1.0, 0.5, 1.0, 3.0, -2.0, -0.5, 1.5, 1.0, 4.0, 0.0, -1.0, 0.25, -2.0, 3.0};

}  // namespace

TEST_CASE("init: the Householder QR is LAPACK's (torch.linalg.qr)", "[init][torch]") {
  // torch.linalg.qr of the 5 x 3 matrix: R's diagonal comes out negative, as LAPACK's does.
  const nn::detail::QR tall = nn::detail::householder_qr(kMatrix, 5, 3);
  check_values(tall.q, {-0.4332242888591058, 0.24227151929926163, -0.10891011794912238, -0.21661214442955293,
                        -0.7471857366977228, -0.10544142024949925, 0.10830607221477646, -0.37068269994887026,
                        -0.7378278235324177, -0.8664485777182117, -0.01164067359996454, 0.029654307285946355,
                        -0.05415303610738823, 0.49545617009848997, -0.6570779390490009});
  check_values(tall.r, {-4.616546328154847, 0.05415303610738831, 1.0289076860403763, 0.0, -4.030765119512715,
                        2.742833716991641, 0.0, 0.0, -2.58228816644093});
  // and of its 3 x 5 transpose: Q is 3 x 3, R 3 x 5
  const nn::detail::QR wide = nn::detail::householder_qr(transpose(kMatrix, 5, 3), 3, 5);
  check_values(wide.q, {-0.8728715609439694, -0.48425005502640867, 0.0599760143904067, 0.4364357804719848,
                        -0.7198311628770941, 0.5397841295136604, -0.2182178902359924, 0.4973378943514467,
                        0.8396642014656941});
  check_values(wide.r, {-2.29128784747792, 0.8728715609439698, 0.8728715609439694, -3.273268353539885,
                        -1.745743121887939, 0.0, -3.638419332360584, -0.3402838224509901, -2.4343381144570815,
                        2.8106134950519257, 0.0, 0.0, 1.6193523885409813, -0.5997601439040672, 1.454418348967363});
  CHECK_THROWS_WITH(nn::detail::householder_qr(kMatrix, 4, 3), Contains("15 values") && Contains("4 x 3"));
}

TEST_CASE("init: orthogonal_ gives orthonormal rows or columns, scaled by gain", "[init]") {
  for (const Shape& shape : {Shape{6, 4}, Shape{4, 6}, Shape{5, 5}, Shape{3, 2, 2, 2}}) {
    INFO("shape " << to_string(shape));
    Tensor w = zeros(shape, float64);
    nn::init::orthogonal_(w, 2.0);
    const int64_t rows = shape[0], cols = w.numel() / rows;
    const std::vector<double> values = w.to_vector<double>();
    if (rows <= cols) {
      check_identity(gram_rows(values, rows, cols), rows, 4.0, 1e-12);  // W W^T = gain^2 I
    } else {
      check_identity(gram_rows(transpose(values, rows, cols), cols, rows), cols, 4.0, 1e-12);  // W^T W = gain^2 I
    }
  }
  Tensor f = zeros({8, 3});
  nn::init::orthogonal_(f);
  check_identity(gram_rows(transpose(f.to_vector<double>(), 8, 3), 3, 8), 3, 1.0, 1e-6);  // float32 too
}

TEST_CASE("init: orthogonal_ is the sign-fixed Q of the generator's normal matrix", "[init]") {
  // PyTorch's recipe: Q of QR(normal matrix) times sign(diag R); so Q^T A = |R| has a positive
  // diagonal and zeros below it, which fixes Q uniquely.
  Generator draw(11), init(11);
  const std::vector<double> a = kernels::normal({6, 3}, 0.0, 1.0, float64, draw).to_vector<double>();
  Tensor w = zeros({6, 3}, float64);
  nn::init::orthogonal_(w, 1.0, init);
  const std::vector<double> q = w.to_vector<double>();
  for (int64_t i = 0; i < 3; ++i) {
    for (int64_t j = 0; j < 3; ++j) {
      double r = 0.0;  // (Q^T A)_ij
      for (int64_t k = 0; k < 6; ++k) r += q[k * 3 + i] * a[k * 3 + j];
      INFO("(" << i << ", " << j << ")");
      if (i > j) CHECK(r == Approx(0.0).margin(1e-12));
      if (i == j) CHECK(r > 0.0);
    }
  }
  // the same generator state gives the same matrix
  Generator again(11);
  Tensor w2 = zeros({6, 3}, float64);
  nn::init::orthogonal_(w2, 1.0, again);
  CHECK(w2.equal(w));
  CHECK_THROWS_WITH(nn::init::orthogonal_(zeros({4})), Contains("orthogonal_") && Contains("2 or more"));
}

TEST_CASE("init: trunc_normal_ is PyTorch's inverse-CDF draw", "[init]") {
  // Independently of nabla's erfinv: invert erf by bisection on the same uniforms.
  const double mean = 0.5, stddev = 2.0, a = -1.0, b = 3.0;
  auto phi = [](double x) { return (1.0 + std::erf(x / std::sqrt(2.0))) / 2.0; };
  const double low = phi((a - mean) / stddev), high = phi((b - mean) / stddev);
  Generator draw(4), init(4);
  const std::vector<double> u = kernels::uniform({1000}, 2 * low - 1, 2 * high - 1, float64, draw).to_vector<double>();
  Tensor w = zeros({1000}, float64);
  nn::init::trunc_normal_(w, mean, stddev, a, b, init);
  const std::vector<double> values = w.to_vector<double>();
  for (size_t k = 0; k < u.size(); ++k) {
    double lo = -10.0, hi = 10.0;
    for (int it = 0; it < 200; ++it) {
      const double mid = (lo + hi) / 2;
      (std::erf(mid) < u[k] ? lo : hi) = mid;
    }
    const double expected = std::clamp(lo * stddev * std::sqrt(2.0) + mean, a, b);
    INFO("element " << k);
    REQUIRE(values[k] == Approx(expected).epsilon(1e-12).margin(1e-12));
  }
}

TEST_CASE("init: trunc_normal_'s samples have the truncated normal's moments", "[init]") {
  Tensor w = zeros({200000}, float64);
  Generator generator(9);
  nn::init::trunc_normal_(w, 0.0, 1.0, -1.0, 2.0, generator);
  const std::vector<double> v = w.to_vector<double>();
  CHECK(*std::min_element(v.begin(), v.end()) >= -1.0);
  CHECK(*std::max_element(v.begin(), v.end()) <= 2.0);
  auto pdf = [](double x) { return std::exp(-x * x / 2) / std::sqrt(2 * std::numbers::pi); };
  auto cdf = [](double x) { return (1.0 + std::erf(x / std::sqrt(2.0))) / 2.0; };
  const double z = cdf(2.0) - cdf(-1.0);
  const double expected_mean = (pdf(-1.0) - pdf(2.0)) / z;
  const double expected_variance = 1.0 + (-1.0 * pdf(-1.0) - 2.0 * pdf(2.0)) / z - expected_mean * expected_mean;
  double mean = 0.0;
  for (double x : v) mean += x;
  mean /= static_cast<double>(v.size());
  double variance = 0.0;
  for (double x : v) variance += (x - mean) * (x - mean);
  variance /= static_cast<double>(v.size());
  CHECK(mean == Approx(expected_mean).margin(0.01));
  CHECK(variance == Approx(expected_variance).margin(0.01));
  // the default interval is [-2, 2]
  Tensor d = zeros({1000});
  nn::init::trunc_normal_(d);
  const std::vector<float> dv = d.to_vector<float>();
  CHECK(*std::max_element(dv.begin(), dv.end()) <= 2.0f);
  CHECK(*std::min_element(dv.begin(), dv.end()) >= -2.0f);
  CHECK_THROWS_WITH(nn::init::trunc_normal_(d, 0.0, 1.0, 2.0, -2.0), Contains("a < b"));
  CHECK_THROWS_WITH(nn::init::trunc_normal_(d, 0.0, 0.0), Contains("stddev"));
}

TEST_CASE("init: eye_ and dirac_ follow torch", "[init][torch]") {
  auto nonzeros = [](const Tensor& t) {
    std::vector<int64_t> out;
    const std::vector<double> v = t.to_vector<double>();
    for (size_t k = 0; k < v.size(); ++k) {
      if (v[k] != 0.0) {
        out.push_back(static_cast<int64_t>(k));
        CHECK(v[k] == 1.0);
      }
    }
    return out;
  };
  Tensor e = full({3, 5}, 7.0);
  nn::init::eye_(e);
  CHECK(nonzeros(e) == std::vector<int64_t>{0, 6, 12});
  // torch.nn.init.dirac_(w, groups): the flat indices of its ones
  struct Case {
    Shape shape;
    int64_t groups;
    std::vector<int64_t> ones;
  };
  for (const Case& c : std::vector<Case>{{{4, 2, 3}, 2, {1, 10, 13, 22}},
                                         {{6, 4, 3, 3}, 3, {4, 49, 76, 121, 148, 193}},
                                         {{2, 3, 2, 3, 4}, 1, {18, 114}},
                                         {{3, 2, 5}, 1, {2, 17}}}) {
    INFO("shape " << to_string(c.shape) << ", groups " << c.groups);
    Tensor w = full(c.shape, 3.0);
    nn::init::dirac_(w, c.groups);
    CHECK(nonzeros(w) == c.ones);
  }
  // a Dirac-initialised convolution passes its input through
  Tensor kernel = zeros({2, 2, 3, 3});
  nn::init::dirac_(kernel);
  const Tensor x = randn({1, 2, 5, 5});
  CHECK(nn::functional::conv2d(x, kernel, Tensor(), 1, 1).allclose(x));
  CHECK_THROWS_WITH(nn::init::eye_(zeros({2, 2, 2})), Contains("eye_") && Contains("2-d"));
  CHECK_THROWS_WITH(nn::init::dirac_(zeros({2, 2})), Contains("3, 4 or 5"));
  CHECK_THROWS_WITH(nn::init::dirac_(zeros({3, 2, 3}), 2), Contains("divisible by groups"));
}

TEST_CASE("init: sparse_ zeroes ceil(sparsity * rows) of every column", "[init]") {
  Tensor w = zeros({10, 200}, float64);
  Generator generator(2);
  nn::init::sparse_(w, 0.25, 0.5, generator);
  const std::vector<double> v = w.to_vector<double>();
  double sum_sq = 0.0;
  int64_t kept = 0;
  for (int64_t c = 0; c < 200; ++c) {
    int64_t zero_count = 0;
    for (int64_t r = 0; r < 10; ++r) {
      const double x = v[static_cast<size_t>(r * 200 + c)];
      if (x == 0.0) {
        ++zero_count;
      } else {
        sum_sq += x * x;
        ++kept;
      }
    }
    INFO("column " << c);
    REQUIRE(zero_count == 3);  // ceil(0.25 * 10)
  }
  CHECK(std::sqrt(sum_sq / static_cast<double>(kept)) == Approx(0.5).epsilon(0.05));
  CHECK_THROWS_WITH(nn::init::sparse_(zeros({2, 2, 2}), 0.1), Contains("2-d"));
  CHECK_THROWS_WITH(nn::init::sparse_(zeros({2, 2}), 1.5), Contains("sparsity"));
}
