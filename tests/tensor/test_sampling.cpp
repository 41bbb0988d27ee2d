// Sampling: multinomial (with and without replacement, frequencies, PyTorch's errors), the *_like
// draws, and the in-place fills uniform_, normal_ and bernoulli_ (the same draws as the factories,
// into any writable layout).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <set>
#include <vector>

#include "reference.hpp"

using reference::check_values;

using namespace nabla;
using namespace nabla::kernels;
using Catch::Contains;

TEST_CASE("multinomial without replacement draws each category at most once per row", "[random][multinomial]") {
  Generator generator(5);
  const Tensor weights = tensor({1, 0, 3, 2, 0.5, 4, 0, 1, 1, 1}, {2, 5}, float64);
  const Tensor draws = multinomial(weights, 3, false, generator);
  CHECK(draws.dtype() == int64);
  CHECK(draws.shape() == Shape{2, 3});
  for (int64_t row = 0; row < 2; ++row) {
    const std::vector<int64_t> picked = draws.select(0, row).to_vector<int64_t>();
    CHECK(std::set<int64_t>(picked.begin(), picked.end()).size() == 3);
    for (int64_t c : picked) {
      CHECK(c >= 0);
      CHECK(c < 5);
      CHECK(weights.at<double>({row, c}) > 0);  // zero weights come last, and 3 positive ones remain
    }
  }
  // All categories of a row: a permutation.
  std::vector<int64_t> all = multinomial(tensor({1, 2, 3, 4}, {4}), 4, false, generator).to_vector<int64_t>();
  std::sort(all.begin(), all.end());
  CHECK(all == std::vector<int64_t>{0, 1, 2, 3});
  // Reproducible through the generator.
  Generator a(9), b(9);
  CHECK(equal(multinomial(weights, 2, false, a), multinomial(weights, 2, false, b)));
}

TEST_CASE("multinomial frequencies follow the weights", "[random][multinomial]") {
  Generator generator(6);
  const Tensor weights = tensor({1, 0, 2, 5}, {4}, float32);  // sums to 8: need not be normalised
  const int64_t n = 40000;
  for (bool replacement : {true, false}) {
    std::vector<int64_t> counts(4, 0);
    if (replacement) {
      for (int64_t c : multinomial(weights, n, true, generator).to_vector<int64_t>()) ++counts[static_cast<size_t>(c)];
    } else {
      // One draw per row of a batch: the first draw of a draw without replacement.
      const Tensor rows = weights.unsqueeze(0).expand({n, 4});
      for (int64_t c : multinomial(rows, 1, false, generator).to_vector<int64_t>()) ++counts[static_cast<size_t>(c)];
    }
    INFO((replacement ? "with" : "without") << " replacement");
    CHECK(counts[1] == 0);
    CHECK(static_cast<double>(counts[0]) / n == Approx(1.0 / 8).margin(0.01));
    CHECK(static_cast<double>(counts[2]) / n == Approx(2.0 / 8).margin(0.01));
    CHECK(static_cast<double>(counts[3]) / n == Approx(5.0 / 8).margin(0.01));
  }
  // Without replacement the second draw of [1, 1, 2] is category 2 half the time (when it was not first).
  std::vector<int64_t> second(3, 0);
  const Tensor pair = multinomial(tensor({1, 1, 2}, {1, 3}).expand({n, 3}), 2, false, generator);
  for (int64_t c : pair.select(1, 1).to_vector<int64_t>()) ++second[static_cast<size_t>(c)];
  // P(second = 2) = P(first = 0) * 2/3 + P(first = 1) * 2/3 = 1/4 * 2/3 * 2 = 1/3.
  CHECK(static_cast<double>(second[2]) / n == Approx(1.0 / 3).margin(0.01));
}

TEST_CASE("multinomial refuses what PyTorch refuses", "[random][multinomial][errors]") {
  const Tensor good = tensor({0.5, 0.5}, {2});
  CHECK_THROWS_WITH(multinomial(good, 3), Contains("multinomial") && Contains("without replacement") && Contains("3"));
  CHECK_THROWS_WITH(multinomial(good, 0), Contains("multinomial") && Contains("n_sample <= 0"));
  CHECK_THROWS_WITH(multinomial(tensor({0.5, -1}, {2}), 1), Contains("multinomial") && Contains("element < 0"));
  CHECK_THROWS_WITH(multinomial(tensor({0.5, std::numeric_limits<double>::quiet_NaN()}, {2}), 1, true), Contains("multinomial") && Contains("nan"));
  CHECK_THROWS_WITH(multinomial(tensor({0.5, std::numeric_limits<double>::infinity()}, {2}), 1), Contains("multinomial") && Contains("inf"));
  CHECK_THROWS_WITH(multinomial(tensor({1, 1, 0, 0}, {2, 2}), 1, true), Contains("sum of probabilities <= 0") && Contains("row 1"));
  CHECK_THROWS_WITH(multinomial(tensor({1, 2}, {2}, int64), 1), Contains("multinomial") && Contains("floating") && Contains("int64"));
  CHECK_THROWS_WITH(multinomial(ones({2, 2, 2}), 1), Contains("1 or 2 dim") && Contains("[2, 2, 2]"));
  CHECK_THROWS_WITH(multinomial(scalar_tensor(1), 1), Contains("1 or 2 dim"));
}

TEST_CASE("rand_like, randn_like and randint_like take the shape and dtype of their model", "[random]") {
  Generator generator(7);
  const Tensor model = zeros({3, 4}, float64).t();
  const Tensor u = rand_like(model, generator);
  CHECK(u.shape() == Shape{4, 3});
  CHECK(u.dtype() == float64);
  CHECK(amin(u).item() >= 0);
  CHECK(amax(u).item() < 1);
  CHECK(randn_like(ones({2}, float32), generator).dtype() == float32);
  const Tensor integers = randint_like(zeros({1000}), 3, 7, generator);
  CHECK(integers.dtype() == float32);  // torch.randint_like(torch.zeros(3), 5) is float
  CHECK(amin(integers).item() == 3);
  CHECK(amax(integers).item() == 6);
  CHECK(equal(integers, integers.to(int64).to(float32)));  // whole numbers
  const Tensor bytes = randint_like(zeros({100}, uint8), 256, generator);
  CHECK(bytes.dtype() == uint8);
  // torch.randint_like(torch.zeros(3, dtype=torch.bool), 2) draws False/True; int32 holds 32 bits.
  const Tensor truths = randint_like(zeros({200}, bool_), 2, generator);
  CHECK(truths.dtype() == bool_);
  CHECK(sum(truths.to(int64)).item() > 0);
  CHECK(sum(truths.to(int64)).item() < 200);
  CHECK(randint_like(zeros({3}, int32), -2147483648LL, 2147483648LL, generator).dtype() == int32);
  CHECK_THROWS_WITH(randint_like(zeros({2}, bool_), 3), Contains("randint_like") && Contains("bool"));
  CHECK_THROWS_WITH(randint_like(zeros({2}, int32), 2147483649LL), Contains("randint_like") && Contains("int32"));
  Generator a(3), b(3);
  CHECK(equal(rand_like(model, a), rand(model.shape(), float64, b)));
  CHECK_THROWS_WITH(rand_like(zeros({2}, int64)), Contains("rand_like") && Contains("int64"));
  CHECK_THROWS_WITH(randn_like(zeros({2}, uint8)), Contains("randn_like") && Contains("uint8"));
  CHECK_THROWS_WITH(randint_like(zeros({2}, uint8), 300), Contains("randint_like") && Contains("uint8") && Contains("300"));
  CHECK_THROWS_WITH(randint_like(zeros({2}), 5, 5), Contains("randint_like") && Contains("5"));
}

TEST_CASE("uniform_, normal_ and bernoulli_ fill in place with the factories' draws", "[random][in-place]") {
  Generator a(11), b(11);
  const Tensor x = zeros({3, 4}, float64);
  const uint64_t version = x.storage()->version();
  CHECK(&uniform_(x, -2, 3, a) == &x);
  CHECK(x.storage()->version() > version);
  CHECK(equal(x, uniform({3, 4}, -2, 3, float64, b)));
  normal_(x, 1, 2, a);
  CHECK(equal(x, normal({3, 4}, 1, 2, float64, b)));
  bernoulli_(x, 0.25, a);
  CHECK(equal(x, bernoulli({3, 4}, 0.25, float64, b)));
  // A non-contiguous target gets the draws in its own (logical) row-major order.
  const Tensor base = zeros({4, 3}, float32);
  const Tensor view = base.t();
  uniform_(view, 0, 1, a);
  CHECK(equal(view, uniform({3, 4}, 0, 1, float32, b)));
  // Every element of a strided slice, nothing else.
  const Tensor row = zeros({2, 6});
  normal_(row.slice(1, 0, 6, 2), 5, 0, a);
  check_values(row, {2, 6}, {5, 0, 5, 0, 5, 0, 5, 0, 5, 0, 5, 0});
  // bernoulli_ fills any dtype; p = 0 and 1 are certain.
  const Tensor flags = full({5}, 7, int64);
  bernoulli_(flags, 1.0, a);
  CHECK(flags.to_vector<int64_t>() == std::vector<int64_t>(5, 1));
  bernoulli_(flags, 0.0, a);
  CHECK(flags.to_vector<int64_t>() == std::vector<int64_t>(5, 0));
}

TEST_CASE("bernoulli_ with a tensor of probabilities", "[random][in-place]") {
  Generator generator(12);
  const Tensor x = zeros({20000, 3}, float64);
  bernoulli_(x, tensor({0, 0.3, 1}, {3}, float64), generator);
  const Tensor frequency = mean(x, {0});
  CHECK(frequency.at<double>({0}) == 0);
  CHECK(frequency.at<double>({1}) == Approx(0.3).margin(0.015));
  CHECK(frequency.at<double>({2}) == 1);
  CHECK_THROWS_WITH(bernoulli_(x, tensor({0.5, 2}, {2}, float64)), Contains("bernoulli_") && Contains("[2]") && Contains("[20000, 3]"));
  CHECK_THROWS_WITH(bernoulli_(x, tensor({0.5, 2, 0}, {3}, float64)), Contains("bernoulli_") && Contains("[0, 1]") && Contains("2"));
  CHECK_THROWS_WITH(bernoulli_(x, tensor({0, 1, 0}, {3}, int64)), Contains("bernoulli_") && Contains("float"));
}

TEST_CASE("in-place fills refuse what they cannot fill", "[random][in-place][errors]") {
  CHECK_THROWS_WITH(uniform_(zeros({3}, int64)), Contains("uniform_") && Contains("int64"));
  CHECK_THROWS_WITH(normal_(zeros({3}, uint8)), Contains("normal_") && Contains("uint8"));
  CHECK_THROWS_WITH(uniform_(zeros({3}), 1, 0), Contains("uniform_") && Contains("from = 1") && Contains("to = 0"));
  CHECK_THROWS_WITH(normal_(zeros({3}), 0, -1), Contains("normal_") && Contains("-1"));
  CHECK_THROWS_WITH(bernoulli_(zeros({3}), 2), Contains("bernoulli_") && Contains("[0, 1]") && Contains("2"));
  CHECK_THROWS_WITH(uniform_(zeros({1, 3}).expand({2, 3})), Contains("uniform_") && Contains("expanded"));
  CHECK_THROWS_WITH(bernoulli_(Tensor()), Contains("bernoulli_") && Contains("undefined"));
}
