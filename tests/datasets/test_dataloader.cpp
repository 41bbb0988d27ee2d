// DataLoader: batch shapes, coverage of every example once per epoch, shuffles that repeat for a
// seed and change between epochs, errors from the background thread, and early exits that must
// not hang. Also the generic datasets (TensorDataset, Subset, the default get_batch).
#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <thread>

#include <nabla/datasets.hpp>
#include <nabla/nabla.hpp>

using namespace nabla;
using Catch::Contains;
namespace ds = nabla::datasets;

namespace {

// n examples: input row i = [i, 10 i, 100 i] (float32), target i % 7.
ds::TensorDataset numbered_dataset(int64_t n) {
  std::vector<float> inputs;
  std::vector<int64_t> targets;
  for (int64_t i = 0; i < n; ++i) {
    inputs.insert(inputs.end(), {float(i), float(10 * i), float(100 * i)});
    targets.push_back(i % 7);
  }
  return ds::TensorDataset(from_vector(inputs, {n, 3}), from_vector(targets, {n}));
}

// Every epoch's indices, flattened, as the loader delivered them.
std::vector<int64_t> one_epoch(ds::DataLoader& loader) {
  std::vector<int64_t> seen;
  for (ds::Batch& batch : loader) seen.insert(seen.end(), batch.indices.begin(), batch.indices.end());
  return seen;
}

// A dataset whose batches fail from batch `failing_batch` on (counting calls to get_batch).
class FailingDataset : public ds::Dataset {
 public:
  explicit FailingDataset(int64_t failing_batch) : failing_batch_(failing_batch) {}
  int64_t size() const override { return 100; }
  ds::Example get(int64_t index) const override { return {full({2}, double(index)), index % 3}; }
  ds::Batch get_batch(std::span<const int64_t> indices) const override {
    if (calls_++ >= failing_batch_) fail("FailingDataset: disk on fire at index {}", indices[0]);
    return Dataset::get_batch(indices);
  }

 private:
  int64_t failing_batch_;
  mutable std::atomic<int64_t> calls_{0};
};

// Only get(): batches come from the default (stacking) get_batch.
class ExampleOnlyDataset : public ds::Dataset {
 public:
  int64_t size() const override { return 5; }
  ds::Example get(int64_t index) const override {
    check_index(index, "ExampleOnlyDataset");
    return {full({2, 2}, double(index)), 4 - index};
  }
};

}  // namespace

TEST_CASE("DataLoader batches cover the dataset in order without shuffle", "[dataloader]") {
  const ds::TensorDataset data = numbered_dataset(10);
  for (int64_t prefetch : {0, 1, 2, 5, 8}) {
    ds::DataLoader loader(data, {.batch_size = 4, .prefetch = prefetch});
    CHECK(loader.size() == 3);
    CHECK(loader.num_examples() == 10);
    std::vector<int64_t> sizes;
    for (ds::Batch& batch : loader) {
      sizes.push_back(batch.size());
      CHECK(batch.inputs.dtype() == float32);
      CHECK(batch.inputs.shape() == Shape{batch.size(), 3});
      CHECK(batch.targets.dtype() == int64);
      CHECK(batch.targets.shape() == Shape{batch.size()});
      for (int64_t row = 0; row < batch.size(); ++row) {
        const int64_t index = batch.indices[static_cast<size_t>(row)];
        CHECK(batch.inputs.at<float>({row, 2}) == float(100 * index));
        CHECK(batch.targets.at<int64_t>({row}) == index % 7);
      }
    }
    CHECK(sizes == std::vector<int64_t>{4, 4, 2});
    CHECK(one_epoch(loader) == std::vector<int64_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9});
  }
  ds::DataLoader dropping(data, {.batch_size = 4, .drop_last = true});
  CHECK(dropping.size() == 2);
  CHECK(dropping.num_examples() == 8);
  CHECK(one_epoch(dropping) == std::vector<int64_t>{0, 1, 2, 3, 4, 5, 6, 7});
}

TEST_CASE("DataLoader shuffles visit every example exactly once per epoch", "[dataloader]") {
  const ds::TensorDataset data = numbered_dataset(103);
  for (bool drop_last : {false, true}) {
    ds::DataLoader loader(data, {.batch_size = 10, .shuffle = true, .seed = 42, .drop_last = drop_last});
    for (int epoch = 0; epoch < 3; ++epoch) {
      std::vector<int64_t> seen = one_epoch(loader);
      CHECK(seen.size() == (drop_last ? 100u : 103u));
      std::sort(seen.begin(), seen.end());
      CHECK(std::adjacent_find(seen.begin(), seen.end()) == seen.end());  // no repeats
      CHECK(seen.front() >= 0);
      CHECK(seen.back() <= 102);
    }
    CHECK(loader.epoch() == 3);
  }
}

TEST_CASE("DataLoader shuffles repeat for a seed and differ between epochs", "[dataloader]") {
  const ds::TensorDataset data = numbered_dataset(50);
  ds::DataLoader first(data, {.batch_size = 8, .shuffle = true, .seed = 7});
  ds::DataLoader second(data, {.batch_size = 8, .shuffle = true, .seed = 7});
  ds::DataLoader other_seed(data, {.batch_size = 8, .shuffle = true, .seed = 8});
  const std::vector<int64_t> epoch0 = one_epoch(first);
  const std::vector<int64_t> epoch1 = one_epoch(first);
  CHECK(epoch0 == one_epoch(second));
  CHECK(epoch1 == one_epoch(second));
  CHECK(epoch0 != epoch1);
  CHECK(epoch0 != one_epoch(other_seed));
  std::vector<int64_t> identity(50);
  for (int64_t i = 0; i < 50; ++i) identity[static_cast<size_t>(i)] = i;
  CHECK(epoch0 != identity);
  // The order is a function of (seed, epoch): set_epoch resumes exactly.
  CHECK(first.order(1) == epoch1);
  ds::DataLoader resumed(data, {.batch_size = 8, .shuffle = true, .seed = 7});
  resumed.set_epoch(1);
  CHECK(one_epoch(resumed) == epoch1);
  CHECK(resumed.epoch() == 2);
  CHECK_THROWS_WITH(resumed.set_epoch(-1), Contains("non-negative"));
}

TEST_CASE("DataLoader rethrows a batch error in the consumer after the earlier batches", "[dataloader][errors]") {
  for (int64_t prefetch : {0, 2}) {
    const FailingDataset data(/*failing_batch=*/2);
    ds::DataLoader loader(data, {.batch_size = 10, .prefetch = prefetch});
    int delivered = 0;
    auto run = [&] {
      for (ds::Batch& batch : loader) {
        CHECK(batch.inputs.shape() == Shape{10, 2});
        ++delivered;
      }
    };
    CHECK_THROWS_WITH(run(), Contains("disk on fire at index 20"));
    CHECK(delivered == 2);
  }
  // An error on the very first batch comes out of begin().
  const FailingDataset broken(0);
  ds::DataLoader loader(broken, {.batch_size = 10});
  CHECK_THROWS_WITH(loader.begin(), Contains("disk on fire at index 0"));
}

TEST_CASE("DataLoader stops its thread when an iteration ends early", "[dataloader]") {
  const ds::TensorDataset data = numbered_dataset(2000);
  ds::DataLoader loader(data, {.batch_size = 1, .shuffle = true, .prefetch = 2});
  const auto start = std::chrono::steady_clock::now();
  for (int repeat = 0; repeat < 20; ++repeat) {
    for (ds::Batch& batch : loader) {
      CHECK(batch.size() == 1);
      break;
    }
    auto it = loader.begin();  // destroyed without being read
  }
  {
    // The iterator owns its thread and needs only the dataset: it may outlive the loader.
    ds::DataLoader::Iterator it;
    {
      ds::DataLoader scoped(data, {.batch_size = 500});
      it = scoped.begin();
    }
    int batches = 0;
    for (; it != ds::DataLoader::Sentinel{}; ++it) ++batches;
    CHECK(batches == 4);
    CHECK_THROWS_WITH(*it, Contains("past the last batch"));
  }
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(5));
}

TEST_CASE("DataLoader validates its options", "[dataloader][errors]") {
  const ds::TensorDataset data = numbered_dataset(3);
  CHECK_THROWS_WITH(ds::DataLoader(data, {.batch_size = 0}), Contains("batch_size must be at least 1"));
  CHECK_THROWS_WITH(ds::DataLoader(data, {.prefetch = -1}), Contains("prefetch"));
  // An empty dataset gives an empty epoch.
  const ds::TensorDataset empty_data(zeros({0, 3}), zeros({0}, int64));
  ds::DataLoader empty_loader(empty_data);
  CHECK(empty_loader.size() == 0);
  CHECK(one_epoch(empty_loader).empty());
}

TEST_CASE("TensorDataset, Subset and the default get_batch", "[dataset]") {
  const ds::TensorDataset data = numbered_dataset(6);
  const ds::Example example = data.get(4);
  CHECK(example.input.to_vector<float>() == std::vector<float>{4, 40, 400});
  CHECK(example.target.dim() == 0);
  CHECK(example.target.item<int64_t>() == 4);
  CHECK_THROWS_WITH(data.get(6), Contains("index 6 is out of range") && Contains("6 examples"));

  CHECK_THROWS_WITH(ds::TensorDataset(zeros({4, 2}), zeros({3}, int64)),
                    Contains("4 examples") && Contains("hold 3"));
  CHECK_THROWS_WITH(ds::TensorDataset(zeros({4, 2}), scalar_tensor(1.0, int64)), Contains("at least one axis"));

  const ds::Subset last_three(data, {3, 4, 5});
  CHECK(last_three.size() == 3);
  CHECK(last_three.get(0).target.item<int64_t>() == 3);
  const ds::Batch batch = last_three.get_batch(std::vector<int64_t>{2, 0});
  CHECK(batch.indices == std::vector<int64_t>{2, 0});
  CHECK(batch.targets.to_vector<int64_t>() == std::vector<int64_t>{5, 3});
  CHECK(batch.inputs.at<float>({0, 1}) == 50.0f);
  CHECK(ds::first_examples(data, 2).size() == 2);
  CHECK(ds::first_examples(data, 100).size() == 6);
  CHECK_THROWS_WITH(ds::Subset(data, {0, 6}), Contains("index 6 (entry 1) is out of range"));

  const ExampleOnlyDataset simple;
  const ds::Batch stacked = simple.get_batch(std::vector<int64_t>{1, 3});
  CHECK(stacked.inputs.shape() == Shape{2, 2, 2});
  CHECK(stacked.inputs.at<float>({1, 1, 1}) == 3.0f);
  CHECK(stacked.targets.to_vector<int64_t>() == std::vector<int64_t>{3, 1});
}

namespace {

// Records the hints it is given and the batches it is asked for.
class HintRecordingDataset : public ds::Dataset {
 public:
  int64_t size() const override { return 10; }
  ds::Example get(int64_t index) const override { return {full({1}, double(index)), 0}; }
  ds::Batch get_batch(std::span<const int64_t> indices) const override {
    batches.emplace_back(indices.begin(), indices.end());
    return Dataset::get_batch(indices);
  }
  void will_need(std::span<const int64_t> indices) const override { hints.emplace_back(indices.begin(), indices.end()); }
  mutable std::vector<std::vector<int64_t>> batches, hints;
};

}  // namespace

TEST_CASE("DataLoader without a thread tells the dataset which examples come next", "[dataloader]") {
  HintRecordingDataset data;
  ds::DataLoader loader(data, {.batch_size = 4, .shuffle = true, .seed = 3});
  const std::vector<int64_t> order = loader.order(0);
  int64_t batches = 0;
  for (ds::Batch& batch : loader) {
    (void)batch;
    ++batches;
  }
  CHECK(batches == 3);
  // Each batch but the first was hinted, exactly, one batch before it was read.
  REQUIRE(data.batches.size() == 3);
  REQUIRE(data.hints.size() == 2);
  CHECK(data.hints[0] == data.batches[1]);
  CHECK(data.hints[1] == data.batches[2]);
  CHECK(data.batches[2] == std::vector<int64_t>(order.begin() + 8, order.end()));
  // Hints reach the base dataset through a Subset, mapped, with out-of-range indices ignored.
  HintRecordingDataset base;
  ds::Subset subset(base, {9, 7, 5});
  const std::vector<int64_t> asked{2, 0, 3, -1};
  subset.will_need(asked);
  REQUIRE(base.hints.size() == 1);
  CHECK(base.hints[0] == std::vector<int64_t>{5, 9});
}
