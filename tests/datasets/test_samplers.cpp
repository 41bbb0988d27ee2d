// Samplers: each one's orders (known values for small cases), PyTorch's semantics of
// replacement, num_samples and weights (empirical frequencies against their probabilities),
// the DataLoader following a sampler's length, and the errors for bad samplers.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include <nabla/datasets.hpp>
#include <nabla/nabla.hpp>

using namespace nabla;
using Catch::Contains;
namespace ds = nabla::datasets;

namespace {

std::vector<int64_t> iota(int64_t n) {
  std::vector<int64_t> values(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) values[static_cast<size_t>(i)] = i;
  return values;
}

bool is_permutation_of(std::vector<int64_t> values, std::vector<int64_t> of) {
  std::sort(values.begin(), values.end());
  std::sort(of.begin(), of.end());
  return values == of;
}

// `count` occurrences out of `draws` are within 5 standard deviations of the expected
// draws * p (a false failure has probability below 1e-6 per check).
bool near_expected(int64_t count, int64_t draws, double p) {
  const double expected = static_cast<double>(draws) * p;
  const double sigma = std::sqrt(static_cast<double>(draws) * p * (1.0 - p));
  return std::abs(static_cast<double>(count) - expected) <= 5.0 * sigma + 1e-9;
}

// n examples whose input row i is [i] and target i: batches show which indices they hold.
ds::TensorDataset numbered(int64_t n) {
  std::vector<float> inputs(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) inputs[static_cast<size_t>(i)] = float(i);
  return ds::TensorDataset(from_vector(inputs, {n, 1}), arange(n));
}

std::vector<int64_t> one_epoch(ds::DataLoader& loader) {
  std::vector<int64_t> seen;
  for (ds::Batch& batch : loader) seen.insert(seen.end(), batch.indices.begin(), batch.indices.end());
  return seen;
}

}  // namespace

TEST_CASE("SequentialSampler gives 0..N-1 every epoch", "[sampler]") {
  const ds::SequentialSampler sampler;
  CHECK(sampler.order(5, 0) == std::vector<int64_t>{0, 1, 2, 3, 4});
  CHECK(sampler.order(5, 7) == std::vector<int64_t>{0, 1, 2, 3, 4});
  CHECK(sampler.length(5, 3) == 5);
  CHECK(sampler.order(0, 0).empty());
}

TEST_CASE("RandomSampler without replacement is the DataLoader's shuffle, unchanged from earlier nabla",
          "[sampler]") {
  // The shuffle nabla's DataLoader has always made: randperm from a generator seeded by
  // (seed, epoch) mixed with SplitMix64's finaliser. Checkpoints resumed across versions rely on it.
  auto legacy_order = [](uint64_t seed, int64_t epoch, int64_t n) {
    uint64_t z = seed ^ (0x9E3779B97F4A7C15ULL * (static_cast<uint64_t>(epoch) + 1));
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    Generator generator(z ^ (z >> 31));
    return kernels::randperm(n, generator).to_vector<int64_t>();
  };
  const ds::RandomSampler sampler({.seed = 7});
  for (int64_t epoch : {0, 1, 5}) CHECK(sampler.order(50, epoch) == legacy_order(7, epoch, 50));
  // Known values (a pin: any change to the orders must be deliberate).
  const ds::RandomSampler small({.seed = 1});
  CHECK(small.order(6, 0) == legacy_order(1, 0, 6));
  CHECK(is_permutation_of(small.order(6, 0), iota(6)));
  CHECK(small.order(6, 0) != small.order(6, 1));
  CHECK(small.order(6, 3) == small.order(6, 3));  // a function of (seed, epoch) only
  CHECK(ds::RandomSampler({.seed = 2}).order(50, 0) != sampler.order(50, 0));

  // The loader's shorthand: shuffle = true, seed = s is RandomSampler({.seed = s}).
  const ds::TensorDataset data = numbered(50);
  ds::DataLoader loader(data, {.batch_size = 8, .shuffle = true, .seed = 7});
  CHECK(one_epoch(loader) == sampler.order(50, 0));
  CHECK(one_epoch(loader) == sampler.order(50, 1));
  CHECK(dynamic_cast<const ds::RandomSampler*>(&loader.sampler()) != nullptr);
}

TEST_CASE("RandomSampler with num_samples beyond the dataset chains whole permutations", "[sampler]") {
  // PyTorch: num_samples // n permutations, then the start of one more.
  const ds::RandomSampler sampler({.num_samples = 8, .seed = 3});
  CHECK(sampler.length(3, 0) == 8);
  const std::vector<int64_t> order = sampler.order(3, 0);
  REQUIRE(order.size() == 8);
  CHECK(is_permutation_of({order.begin(), order.begin() + 3}, {0, 1, 2}));
  CHECK(is_permutation_of({order.begin() + 3, order.begin() + 6}, {0, 1, 2}));
  std::set<int64_t> tail(order.begin() + 6, order.end());
  CHECK(tail.size() == 2);  // the third permutation cut short: no repeat within it
  // Fewer than the dataset: the start of one permutation, so no repeats.
  const std::vector<int64_t> few = ds::RandomSampler({.num_samples = 4, .seed = 3}).order(10, 2);
  CHECK(std::set<int64_t>(few.begin(), few.end()).size() == 4);
}

TEST_CASE("RandomSampler with replacement draws indices uniformly and independently", "[sampler]") {
  const ds::RandomSampler sampler({.replacement = true, .num_samples = 40000, .seed = 11});
  const std::vector<int64_t> order = sampler.order(4, 0);
  REQUIRE(order.size() == 40000);
  std::map<int64_t, int64_t> counts;
  for (int64_t index : order) ++counts[index];
  REQUIRE(counts.size() == 4);
  CHECK(counts.begin()->first == 0);
  CHECK(counts.rbegin()->first == 3);
  for (const auto& [index, count] : counts) CHECK(near_expected(count, 40000, 0.25));
  // Pairs of successive draws are independent: P(next == this) = 1/4.
  int64_t repeats = 0;
  for (size_t i = 1; i < order.size(); ++i) repeats += order[i] == order[i - 1];
  CHECK(near_expected(repeats, 39999, 0.25));
  // num_samples defaults to the dataset's size; a one-example dataset gives that example.
  CHECK(ds::RandomSampler({.replacement = true}).order(7, 0).size() == 7);
  CHECK(ds::RandomSampler({.replacement = true, .num_samples = 3}).order(1, 4) == std::vector<int64_t>{0, 0, 0});
  CHECK_THROWS_WITH(ds::RandomSampler({.replacement = true, .num_samples = 3}).order(0, 0),
                    Contains("RandomSampler") && Contains("empty dataset"));
  CHECK_THROWS_WITH(ds::RandomSampler({.num_samples = 0}), Contains("num_samples must be positive") && Contains("got 0"));
}

TEST_CASE("WeightedRandomSampler with replacement draws in proportion to the weights", "[sampler]") {
  const std::vector<double> weights{1.0, 2.0, 0.0, 7.0};
  const int64_t draws = 100000;
  const ds::WeightedRandomSampler sampler(weights, draws, {.seed = 5});
  CHECK(sampler.length(4, 0) == draws);
  const std::vector<int64_t> order = sampler.order(4, 0);
  std::vector<int64_t> counts(4, 0);
  for (int64_t index : order) ++counts[static_cast<size_t>(index)];
  CHECK(near_expected(counts[0], draws, 0.1));
  CHECK(near_expected(counts[1], draws, 0.2));
  CHECK(counts[2] == 0);  // weight 0 is never drawn
  CHECK(near_expected(counts[3], draws, 0.7));
  // Reproducible per (seed, epoch), new per epoch.
  CHECK(sampler.order(4, 0) == order);
  CHECK(sampler.order(4, 1) != order);
  // The weights need not sum to 1, and may cover only the first examples of the dataset.
  const std::vector<int64_t> first_two = ds::WeightedRandomSampler({3.0, 1.0}, 2000, {.seed = 1}).order(10, 0);
  CHECK(*std::max_element(first_two.begin(), first_two.end()) == 1);
}

TEST_CASE("WeightedRandomSampler without replacement draws like successive draws from what remains", "[sampler]") {
  const std::vector<double> weights{1.0, 2.0, 0.0, 7.0};
  const ds::WeightedRandomSampler sampler(weights, 3, {.replacement = false, .seed = 9});
  const int64_t epochs = 20000;
  std::vector<int64_t> first(4, 0), second(4, 0);
  for (int64_t epoch = 0; epoch < epochs; ++epoch) {
    const std::vector<int64_t> order = sampler.order(4, epoch);
    REQUIRE(is_permutation_of(order, {0, 1, 3}));  // each positive-weight index once, never index 2
    ++first[static_cast<size_t>(order[0])];
    ++second[static_cast<size_t>(order[1])];
  }
  // P(first = i) = w_i / 10.
  CHECK(near_expected(first[0], epochs, 0.1));
  CHECK(near_expected(first[1], epochs, 0.2));
  CHECK(near_expected(first[3], epochs, 0.7));
  // P(second = 0) = P(first = 1) * 1/8 + P(first = 3) * 1/3 = 0.025 + 0.2333...
  CHECK(near_expected(second[0], epochs, 0.2 / 8.0 + 0.7 / 3.0));
  CHECK(near_expected(second[1], epochs, 0.1 * 2.0 / 9.0 + 0.7 * 2.0 / 3.0));

  CHECK_THROWS_WITH(ds::WeightedRandomSampler(weights, 4, {.replacement = false}),
                    Contains("cannot draw 4 samples without replacement from 3 examples of positive weight") &&
                        Contains("replacement = true"));
}

TEST_CASE("WeightedRandomSampler refuses weights it cannot draw from", "[sampler][errors]") {
  CHECK_THROWS_WITH(ds::WeightedRandomSampler({}, 3), Contains("WeightedRandomSampler: no weights"));
  CHECK_THROWS_WITH(ds::WeightedRandomSampler({1.0, -2.0}, 3),
                    Contains("weight -2 at index 1 is invalid") && Contains("finite and 0 or more"));
  CHECK_THROWS_WITH(ds::WeightedRandomSampler({1.0, std::nan("")}, 3), Contains("at index 1 is invalid"));
  CHECK_THROWS_WITH(ds::WeightedRandomSampler({0.0, 0.0}, 3), Contains("all 2 weights are 0"));
  CHECK_THROWS_WITH(ds::WeightedRandomSampler({1.0}, 0), Contains("num_samples must be positive, got 0"));
  // More weights than examples would draw indices outside the dataset.
  const ds::TensorDataset data = numbered(3);
  ds::DataLoader loader(data, {.sampler = std::make_shared<ds::WeightedRandomSampler>(std::vector<double>{1, 1, 1, 1}, 5)});
  CHECK_THROWS_WITH(loader.begin(), Contains("has 4 weights but the dataset has 3 examples"));
}

TEST_CASE("SubsetRandomSampler shuffles the given indices every epoch", "[sampler]") {
  const std::vector<int64_t> indices{5, 2, 9, 7};
  const ds::SubsetRandomSampler sampler(indices, /*seed=*/4);
  CHECK(sampler.length(100, 0) == 4);
  std::set<std::vector<int64_t>> orders;
  for (int64_t epoch = 0; epoch < 10; ++epoch) {
    const std::vector<int64_t> order = sampler.order(100, epoch);
    CHECK(is_permutation_of(order, indices));
    CHECK(order == sampler.order(100, epoch));
    orders.insert(order);
  }
  CHECK(orders.size() > 3);  // 24 possible orders; ten epochs repeating one would be a broken shuffle
  CHECK_THROWS_WITH(ds::SubsetRandomSampler({1, -3}), Contains("index -3 at position 1 is negative"));
}

TEST_CASE("OrderSampler reads a fixed order or a function of the epoch", "[sampler]") {
  const ds::OrderSampler fixed({3, 3, 0, 1});  // repeats allowed
  CHECK(fixed.order(4, 0) == std::vector<int64_t>{3, 3, 0, 1});
  CHECK(fixed.order(4, 9) == std::vector<int64_t>{3, 3, 0, 1});
  CHECK(fixed.length(4, 0) == 4);
  // A curriculum: epoch e reads the first 2 + e examples, last first.
  const ds::OrderSampler growing([](int64_t epoch) {
    std::vector<int64_t> order = iota(std::min<int64_t>(2 + epoch, 5));
    std::reverse(order.begin(), order.end());
    return order;
  });
  CHECK(growing.order(5, 0) == std::vector<int64_t>{1, 0});
  CHECK(growing.order(5, 2) == std::vector<int64_t>{3, 2, 1, 0});
  CHECK(growing.length(5, 7) == 5);
  CHECK_THROWS_WITH(ds::OrderSampler({0, -1}), Contains("OrderSampler: index -1 at position 1 is negative"));
  CHECK_THROWS_WITH(ds::OrderSampler(ds::OrderSampler::OrderOfEpoch()), Contains("OrderSampler") && Contains("empty"));
}

TEST_CASE("DataLoader batches follow the sampler's length, epoch by epoch", "[sampler][dataloader]") {
  const ds::TensorDataset data = numbered(10);
  // 25 draws with replacement from 10 examples, in batches of 4.
  auto with_replacement = std::make_shared<ds::RandomSampler>(ds::RandomSamplerOptions{.replacement = true, .num_samples = 25, .seed = 2});
  ds::DataLoader loader(data, {.batch_size = 4, .sampler = with_replacement});
  CHECK(loader.size() == 7);
  CHECK(loader.num_examples() == 25);
  const std::vector<int64_t> expected = with_replacement->order(10, 0);
  std::vector<int64_t> sizes, seen;
  for (ds::Batch& batch : loader) {
    sizes.push_back(batch.size());
    seen.insert(seen.end(), batch.indices.begin(), batch.indices.end());
    // The rows are the examples the sampler named (input row i is [i]).
    for (int64_t row = 0; row < batch.size(); ++row) {
      CHECK(batch.inputs.at<float>({row, 0}) == float(batch.indices[static_cast<size_t>(row)]));
    }
  }
  CHECK(sizes == std::vector<int64_t>{4, 4, 4, 4, 4, 4, 1});
  CHECK(seen == expected);
  ds::DataLoader dropping(data, {.batch_size = 4, .sampler = with_replacement, .drop_last = true});
  CHECK(dropping.size() == 6);
  CHECK(dropping.num_examples() == 24);
  CHECK(one_epoch(dropping) == std::vector<int64_t>(expected.begin(), expected.begin() + 24));

  // A sampler whose length changes with the epoch: size() is that of epoch().
  auto growing = std::make_shared<ds::OrderSampler>([](int64_t epoch) { return iota(3 + 2 * epoch); });
  ds::DataLoader curriculum(data, {.batch_size = 2, .sampler = growing});
  CHECK(curriculum.size() == 2);
  CHECK(one_epoch(curriculum) == std::vector<int64_t>{0, 1, 2});
  CHECK(curriculum.size() == 3);
  CHECK(curriculum.num_examples() == 5);
  CHECK(one_epoch(curriculum) == std::vector<int64_t>{0, 1, 2, 3, 4});
  curriculum.set_epoch(3);
  CHECK(curriculum.num_examples() == 9);
}

TEST_CASE("DataLoader names a sampler that does not fit the dataset", "[sampler][dataloader][errors]") {
  const ds::TensorDataset data = numbered(10);
  ds::DataLoader loader(data, {.batch_size = 4, .sampler = std::make_shared<ds::OrderSampler>(std::vector<int64_t>{0, 4, 12, 1})});
  CHECK_THROWS_WITH(loader.begin(), Contains("DataLoader: the sampler's order for epoch 0 has index 12 at position 2") &&
                                        Contains("10 examples (valid: 0..9)"));
  CHECK_THROWS_WITH(ds::DataLoader(data, {.shuffle = true, .sampler = std::make_shared<ds::SequentialSampler>()}),
                    Contains("both shuffle = true and a sampler") && Contains("leave shuffle false"));
}
