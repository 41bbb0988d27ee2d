// Generator reproducibility and the random tensor factories: ranges, moments over 100k samples,
// bernoulli frequencies, randint coverage, randperm.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <set>
#include <string>
#include <vector>

#include "reference.hpp"

using namespace nabla;
using namespace nabla::kernels;
using Catch::Contains;

namespace {

struct Moments {
  double mean;
  double stddev;
};

Moments moments(const Tensor& t) {
  const std::vector<double> values = t.to_vector<double>();
  double total = 0;
  for (double v : values) total += v;
  const double mean = total / static_cast<double>(values.size());
  double squares = 0;
  for (double v : values) squares += (v - mean) * (v - mean);
  return {mean, std::sqrt(squares / static_cast<double>(values.size() - 1))};
}

constexpr int64_t kSamples = 100000;

uint64_t inverse_mod_2_64(uint64_t x) {  // x odd; Newton's iteration doubles the correct bits
  uint64_t inverse = x;
  for (int i = 0; i < 6; ++i) inverse *= 2 - x * inverse;
  return inverse;
}
uint64_t rotate_right(uint64_t x, int k) { return (x >> k) | (x << (64 - k)); }

// A generator whose next next_u64() is `output`. White-box: xoshiro256** outputs
// rotl(s1 * 5, 7) * 9, so s1 = rotr(output / 9, 7) / 5 (mod 2^64).
Generator generator_returning(uint64_t output) {
  const uint64_t s1 = inverse_mod_2_64(5) * rotate_right(output * inverse_mod_2_64(9), 7);
  Generator g;
  g.set_state(fmt::format("xoshiro256** 1 {} 2 3 0 0", s1));
  return g;
}

}  // namespace

TEST_CASE("Generator: the same seed gives the same stream", "[random]") {
  Generator a(42);
  Generator b(42);
  for (int i = 0; i < 100; ++i) REQUIRE(a.next_u64() == b.next_u64());
  for (int i = 0; i < 100; ++i) REQUIRE(a.uniform() == b.uniform());
  for (int i = 0; i < 101; ++i) REQUIRE(a.normal() == b.normal());
  for (int i = 0; i < 100; ++i) REQUIRE(a.below(7) == b.below(7));
}

TEST_CASE("Generator: different seeds differ and manual_seed restarts the stream", "[random]") {
  Generator a(1);
  Generator b(2);
  std::vector<uint64_t> first;
  int same = 0;
  for (int i = 0; i < 64; ++i) {
    const uint64_t x = a.next_u64();
    first.push_back(x);
    same += x == b.next_u64();
  }
  CHECK(same == 0);
  a.normal();  // leaves a cached second normal behind: manual_seed must drop it
  a.manual_seed(1);
  for (uint64_t x : first) REQUIRE(a.next_u64() == x);
  // Seed 0 is a valid seed (the state is expanded, never all zero).
  Generator zero(0);
  std::set<uint64_t> seen;
  for (int i = 0; i < 16; ++i) seen.insert(zero.next_u64());
  CHECK(seen.size() == 16);
  // Default-constructed generators agree with each other.
  Generator d1, d2;
  CHECK(d1.next_u64() == d2.next_u64());
}

TEST_CASE("Generator: state() and set_state() round-trip, cached normal included", "[random]") {
  Generator g(7);
  for (int i = 0; i < 10; ++i) g.next_u64();
  g.normal();  // a spare normal is now cached
  const std::string saved = g.state();
  std::vector<double> expected;
  for (int i = 0; i < 5; ++i) expected.push_back(g.normal());
  for (int i = 0; i < 5; ++i) expected.push_back(g.uniform());

  Generator other(12345);
  other.set_state(saved);
  CHECK(other.state() == saved);
  for (int i = 0; i < 5; ++i) CHECK(other.normal() == expected[static_cast<size_t>(i)]);
  for (int i = 5; i < 10; ++i) CHECK(other.uniform() == expected[static_cast<size_t>(i)]);
  g.set_state(saved);  // restoring onto itself rewinds
  CHECK(g.normal() == expected[0]);

  // Tensors drawn after a restore repeat exactly.
  Generator t1(99);
  const std::string before = t1.state();
  const Tensor x = randn({50}, float64, t1);
  t1.set_state(before);
  CHECK(equal(randn({50}, float64, t1), x));
}

TEST_CASE("Generator::set_state refuses text that is not a state", "[random][errors]") {
  Generator g;
  CHECK_THROWS_AS(g.set_state("not a state"), Error);
  CHECK_THROWS_WITH(g.set_state(""), Contains("set_state"));
}

TEST_CASE("Generator: 0 <= uniform() < 1 and 0 <= below(n) < n", "[random]") {
  Generator g(3);
  double low = 1, high = 0;
  for (int i = 0; i < 10000; ++i) {
    const double u = g.uniform();
    low = std::min(low, u);
    high = std::max(high, u);
    REQUIRE(u >= 0.0);
    REQUIRE(u < 1.0);
  }
  CHECK(low < 0.01);
  CHECK(high > 0.99);
  std::vector<int> counts(5, 0);
  for (int i = 0; i < 5000; ++i) {
    const uint64_t v = g.below(5);
    REQUIRE(v < 5);
    ++counts[v];
  }
  for (int c : counts) CHECK(c > 800);  // expected 1000 each
  for (int i = 0; i < 10; ++i) CHECK(g.below(1) == 0);
}

TEST_CASE("random tensors are reproducible per generator", "[random]") {
  Generator a(2024), b(2024), c(2025);
  const Tensor ua = uniform({3, 4}, -1, 1, float32, a);
  const Tensor ub = uniform({3, 4}, -1, 1, float32, b);
  const Tensor uc = uniform({3, 4}, -1, 1, float32, c);
  CHECK(equal(ua, ub));
  CHECK_FALSE(equal(ua, uc));
  // The streams keep agreeing call after call, for every factory.
  CHECK(equal(randn({17}, float64, a), randn({17}, float64, b)));
  CHECK(equal(bernoulli({33}, 0.5, float32, a), bernoulli({33}, 0.5, float32, b)));
  CHECK(equal(randint(0, 100, {9}, a), randint(0, 100, {9}, b)));
  CHECK(equal(randperm(20, a), randperm(20, b)));
  CHECK(equal(rand({2, 2}, float32, a), rand({2, 2}, float32, b)));
  CHECK(equal(normal({5}, 3, 2, float64, a), normal({5}, 3, 2, float64, b)));
  // Successive draws differ.
  CHECK_FALSE(equal(rand({8}, float64, a), rand({8}, float64, a)));
}

TEST_CASE("the default generator follows manual_seed", "[random]") {
  manual_seed(5);
  const Tensor first = rand({6});
  const Tensor second = randn({6}, float64);
  manual_seed(5);
  CHECK(equal(rand({6}), first));
  CHECK(equal(randn({6}, float64), second));
  manual_seed(6);
  CHECK_FALSE(equal(rand({6}), first));
  CHECK(&default_generator() == &default_generator());
}

TEST_CASE("uniform and rand: range and moments over 100k samples", "[random][moments]") {
  for (DType dtype : {float32, float64}) {
    INFO(dtype_name(dtype));
    Generator g(11);
    const Tensor u = uniform({kSamples}, -2, 6, dtype, g);
    CHECK(u.dtype() == dtype);
    CHECK(u.shape() == Shape{kSamples});
    CHECK(amin(u).item() >= -2.0);
    CHECK(amax(u).item() < 6.0);
    const Moments m = moments(u);
    CHECK(m.mean == Approx(2.0).margin(0.03));                    // sigma of the mean: 0.007
    CHECK(m.stddev == Approx(8.0 / std::sqrt(12.0)).margin(0.02));  // 2.309
    const Tensor r = rand({kSamples}, dtype, g);
    CHECK(amin(r).item() >= 0.0);
    CHECK(amax(r).item() < 1.0);
    CHECK(moments(r).mean == Approx(0.5).margin(0.005));
    CHECK(moments(r).stddev == Approx(1.0 / std::sqrt(12.0)).margin(0.005));
    // About a tenth of the samples fall in each tenth of the range.
    const Tensor in_first_tenth = lt(r, 0.1);
    CHECK(sum(in_first_tenth).item() == Approx(kSamples / 10.0).margin(600));
  }
}

TEST_CASE("uniform never returns high, even when rounding to float32 would", "[random]") {
  const uint64_t largest = ~uint64_t{0};  // uniform() = (2^53 - 1) / 2^53, which rounds to 1.0f
  {
    Generator probe = generator_returning(largest);
    REQUIRE(probe.next_u64() == largest);
  }
  for (DType dtype : {float32, float64}) {
    INFO(dtype_name(dtype));
    Generator g = generator_returning(largest);
    CHECK(rand({1}, dtype, g).item() < 1.0);
    Generator h = generator_returning(largest);
    CHECK(uniform({1}, -2, 6, dtype, h).item() < 6.0);
    Generator k = generator_returning(0);
    CHECK(uniform({1}, -2, 6, dtype, k).item() == -2.0);  // low itself is included
  }
}

TEST_CASE("normal and randn: moments over 100k samples", "[random][moments]") {
  for (DType dtype : {float32, float64}) {
    INFO(dtype_name(dtype));
    Generator g(12);
    const Tensor n = normal({kSamples}, 3.0, 2.0, dtype, g);
    CHECK(n.dtype() == dtype);
    const Moments m = moments(n);
    CHECK(m.mean == Approx(3.0).margin(0.03));  // sigma of the mean: 0.0063
    CHECK(m.stddev == Approx(2.0).margin(0.03));
    const Tensor z = randn({kSamples}, dtype, g);
    const Moments mz = moments(z);
    CHECK(mz.mean == Approx(0.0).margin(0.015));
    CHECK(mz.stddev == Approx(1.0).margin(0.015));
    // The tails look normal: ~4.55% beyond two standard deviations.
    const double beyond_two = sum(gt(abs(z), 2.0)).item() / static_cast<double>(kSamples);
    CHECK(beyond_two == Approx(0.0455).margin(0.004));
    CHECK(std::isfinite(amax(abs(z)).item()));
    // A zero stddev gives the mean exactly.
    CHECK(equal(normal({4}, 1.5, 0.0, dtype, g), full({4}, 1.5, dtype)));
  }
}

TEST_CASE("bernoulli: 0/1 values at frequency p", "[random][moments]") {
  Generator g(13);
  for (double p : {0.1, 0.3, 0.5, 0.9}) {
    INFO("p " << p);
    const Tensor b = bernoulli({kSamples}, p, float32, g);
    CHECK(b.dtype() == float32);
    CHECK(sum(add(eq(b, 0.0), eq(b, 1.0))).item() == kSamples);  // only 0s and 1s
    CHECK(mean(b).item() == Approx(p).margin(0.006));            // sigma <= 0.0016
  }
  CHECK(sum(bernoulli({1000}, 0.0, float32, g)).item() == 0);
  CHECK(sum(bernoulli({1000}, 1.0, float32, g)).item() == 1000);
  CHECK(bernoulli({2, 3}, 0.5, float64, g).dtype() == float64);
  CHECK(bernoulli({2, 3}, 0.5, float64, g).shape() == Shape{2, 3});
}

TEST_CASE("randint: int64 values covering low <= v < high", "[random]") {
  Generator g(14);
  const Tensor r = randint(-3, 4, {10000}, g);
  CHECK(r.dtype() == int64);
  CHECK(amin(r).item<int64_t>() == -3);
  CHECK(amax(r).item<int64_t>() == 3);
  std::vector<int64_t> counts(7, 0);
  for (int64_t v : r.to_vector<int64_t>()) ++counts[static_cast<size_t>(v + 3)];
  for (int64_t c : counts) CHECK(c == Approx(10000.0 / 7).margin(200));
  CHECK(randint(5, 6, {4}, g).to_vector<int64_t>() == std::vector<int64_t>{5, 5, 5, 5});
  CHECK(randint(0, 10, {2, 0}, g).shape() == Shape{2, 0});
  const int64_t huge = int64_t{1} << 62;
  const Tensor wide = randint(-huge, huge, {1000}, g);
  CHECK(amin(wide).item<int64_t>() < -(huge / 2));
  CHECK(amax(wide).item<int64_t>() > huge / 2);
  // The widest range: high - low does not fit in int64.
  const int64_t lowest = std::numeric_limits<int64_t>::min();
  const Tensor widest = randint(lowest, std::numeric_limits<int64_t>::max(), {1000}, g);
  CHECK(amin(widest).item<int64_t>() < lowest / 2);
  CHECK(amax(widest).item<int64_t>() > std::numeric_limits<int64_t>::max() / 2);
}

TEST_CASE("randperm is a permutation of 0..n-1", "[random]") {
  Generator g(15);
  for (int64_t n : {0, 1, 2, 10, 1000}) {
    const Tensor p = randperm(n, g);
    CHECK(p.dtype() == int64);
    CHECK(p.shape() == Shape{n});
    std::vector<int64_t> values = p.to_vector<int64_t>();
    std::sort(values.begin(), values.end());
    std::vector<int64_t> expected(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) expected[static_cast<size_t>(i)] = i;
    CHECK(values == expected);
  }
  // Shuffled, not the identity, and different permutations on successive calls.
  const Tensor p = randperm(1000, g);
  CHECK_FALSE(equal(p, arange(int64_t{1000})));
  CHECK_FALSE(equal(p, randperm(1000, g)));
  // Every position sees every value about equally often (Fisher-Yates is unbiased).
  std::vector<std::vector<int>> counts(4, std::vector<int>(4, 0));
  for (int trial = 0; trial < 8000; ++trial) {
    const std::vector<int64_t> q = randperm(4, g).to_vector<int64_t>();
    for (size_t position = 0; position < 4; ++position) ++counts[position][static_cast<size_t>(q[position])];
  }
  for (const auto& row : counts) {
    for (int c : row) CHECK(c == Approx(2000).margin(200));
  }
}

TEST_CASE("random factories refuse bad arguments", "[random][errors]") {
  Generator g;
  CHECK_THROWS_AS(bernoulli({2}, 1.5, float32, g), Error);
  CHECK_THROWS_WITH(bernoulli({2}, -0.1, float32, g), Contains("bernoulli"));
  CHECK_THROWS_WITH(randint(3, 3, {2}, g), Contains("randint") && Contains("3"));
  CHECK_THROWS_WITH(randint(5, 1, {2}, g), Contains("randint"));
  CHECK_THROWS_WITH(randperm(-1, g), Contains("randperm"));
  CHECK_THROWS_WITH(uniform({2}, 0, 1, int64, g), Contains("uniform") && Contains("int64"));
  CHECK_THROWS_WITH(normal({2}, 0, -1, float32, g), Contains("normal"));
  CHECK_THROWS_WITH(randn({2}, uint8, g), Contains("uint8"));
}
