// The DataLoader's transforms and the keys it hands out: what each batch's dataset call and
// transforms receive, and the determinism the keys buy — the same augmented batches with or
// without prefetch threads, after a resume at any epoch, and whatever the batch size.
#include <catch2/catch.hpp>

#include <algorithm>
#include <mutex>

#include <nabla/datasets.hpp>
#include <nabla/nabla.hpp>

using namespace nabla;
using Catch::Contains;
namespace ds = nabla::datasets;
namespace T = nabla::datasets::transforms;

namespace {

// 40 images 1x6x6 whose pixels are 100 i + the pixel's number + 1, labels i % 10.
ds::TensorDataset pictures() {
  std::vector<float> pixels;
  std::vector<int64_t> labels;
  for (int64_t i = 0; i < 40; ++i) {
    for (int64_t p = 0; p < 36; ++p) pixels.push_back(float(100 * i + p + 1));
    labels.push_back(i % 10);
  }
  return ds::TensorDataset(from_vector(pixels, {40, 1, 6, 6}), from_vector(labels, {40}));
}

// Each delivered row, keyed by its position in the epoch: what a run saw.
struct Seen {
  std::vector<Tensor> inputs, targets;
  std::vector<int64_t> indices;
};

Seen run_epoch(ds::DataLoader& loader) {
  Seen seen;
  for (ds::Batch& batch : loader) {
    for (int64_t row = 0; row < batch.size(); ++row) {
      seen.inputs.push_back(batch.inputs.select(0, row).clone());
      seen.targets.push_back(batch.targets.select(0, row).clone());
    }
    seen.indices.insert(seen.indices.end(), batch.indices.begin(), batch.indices.end());
  }
  return seen;
}

bool same_run(const Seen& a, const Seen& b) {
  if (a.indices != b.indices || a.inputs.size() != b.inputs.size()) return false;
  for (size_t i = 0; i < a.inputs.size(); ++i) {
    if (!a.inputs[i].equal(b.inputs[i]) || !a.targets[i].equal(b.targets[i])) return false;
  }
  return true;
}

// Records the keys its batches are asked for.
class KeyRecordingDataset : public ds::Dataset {
 public:
  int64_t size() const override { return 10; }
  ds::Example get(int64_t index) const override { return {full({1}, double(index)), index}; }
  ds::Batch get_batch_at(std::span<const int64_t> indices, const ds::RandomKey& key) const override {
    std::lock_guard<std::mutex> lock(mutex_);
    keys.push_back(key);
    return get_batch(indices);
  }
  mutable std::vector<ds::RandomKey> keys;

 private:
  mutable std::mutex mutex_;
};

}  // namespace

TEST_CASE("DataLoader tells the dataset each batch's epoch and position", "[dataloader][transforms]") {
  const KeyRecordingDataset data;
  ds::DataLoader loader(data, {.batch_size = 4, .shuffle = true, .seed = 33});
  loader.set_epoch(5);
  for (ds::Batch& batch : loader) (void)batch;
  REQUIRE(data.keys.size() == 3);
  for (size_t b = 0; b < 3; ++b) {
    CHECK(data.keys[b].seed == 33);
    CHECK(data.keys[b].epoch == 5);
    CHECK(data.keys[b].position == int64_t(4 * b));
  }
}

TEST_CASE("DataLoader applies its transforms to each batch's inputs and targets", "[dataloader][transforms]") {
  const ds::TensorDataset data(arange(6).to(float32).reshape({6, 1}), arange(6).to(float32).mul(2.0).reshape({6, 1}));
  ds::DataLoader loader(data, {.batch_size = 4,
                               .transform = [](const Tensor& rows) { return rows.add(0.5); },
                               .target_transform = T::Normalize({2.0}, {4.0})});
  std::vector<float> inputs, targets;
  for (ds::Batch& batch : loader) {
    for (float v : batch.inputs.to_vector<float>()) inputs.push_back(v);
    for (float v : batch.targets.to_vector<float>()) targets.push_back(v);
  }
  CHECK(inputs == std::vector<float>{0.5, 1.5, 2.5, 3.5, 4.5, 5.5});
  CHECK(targets == std::vector<float>{-0.5, 0.0, 0.5, 1.0, 1.5, 2.0});  // (2 i - 2) / 4
  // The loader's transform must keep one row per example.
  ds::DataLoader broken(data, {.batch_size = 4, .transform = [](const Tensor& rows) { return rows.narrow(0, 0, 1); }});
  CHECK_THROWS_WITH(broken.begin(), Contains("Transform: the function turned rows [4, 1] into [1, 1]"));
}

TEST_CASE("Augmented epochs are the same with or without prefetch threads, and after a resume",
          "[dataloader][transforms]") {
  // Augmentation in both places: per example in the dataset, per batch in the loader.
  const ds::MapDataset augmented(pictures(), T::Compose{T::RandomCrop(6, 2), T::RandomHorizontalFlip()});
  const ds::DataLoaderOptions options{.batch_size = 7,
                                      .shuffle = true,
                                      .seed = 12,
                                      .transform = T::Compose{T::RandomTranslate(0.2), T::Normalize({50.0}, {25.0})}};
  ds::DataLoader reference(augmented, options);
  std::vector<Seen> epochs;
  for (int epoch = 0; epoch < 3; ++epoch) epochs.push_back(run_epoch(reference));
  CHECK(epochs[0].inputs.size() == 40);
  CHECK(!same_run(epochs[0], epochs[1]));
  // Not only the order changes between epochs: the same example is augmented differently.
  const auto find = [](const Seen& seen, int64_t index) {
    return std::find(seen.indices.begin(), seen.indices.end(), index) - seen.indices.begin();
  };
  int64_t changed = 0;
  for (int64_t index = 0; index < 40; ++index) {
    changed += !epochs[0].inputs[size_t(find(epochs[0], index))].equal(epochs[1].inputs[size_t(find(epochs[1], index))]);
  }
  CHECK(changed > 30);

  for (int64_t prefetch : {1, 2, 5}) {
    ds::DataLoaderOptions threaded = options;
    threaded.prefetch = prefetch;
    ds::DataLoader loader(augmented, threaded);
    for (int epoch = 0; epoch < 3; ++epoch) CHECK(same_run(run_epoch(loader), epochs[size_t(epoch)]));
  }
  // A run stopped after epoch 1 and resumed with a fresh loader at epoch 2.
  for (int64_t prefetch : {0, 3}) {
    ds::DataLoaderOptions resumed_options = options;
    resumed_options.prefetch = prefetch;
    ds::DataLoader resumed(augmented, resumed_options);
    resumed.set_epoch(2);
    CHECK(same_run(run_epoch(resumed), epochs[2]));
  }
}

TEST_CASE("An example's augmentation depends on its position, not on the batch size", "[dataloader][transforms]") {
  const ds::MapDataset augmented(pictures(), T::RandomCrop(5, 1));
  std::vector<Seen> runs;
  for (int64_t batch_size : {1, 4, 7, 40}) {
    ds::DataLoader loader(augmented, {.batch_size = batch_size, .shuffle = true, .seed = 2,
                                      .transform = T::RandomHorizontalFlip()});
    runs.push_back(run_epoch(loader));
  }
  for (size_t i = 1; i < runs.size(); ++i) CHECK(same_run(runs[i], runs[0]));
}

TEST_CASE("A CIFAR-style recipe augments uint8 images and then converts them", "[dataloader][transforms]") {
  // 10 uint8 images 3x8x8 whose pixels are all 200: after crop-with-padding and flip, a pixel is
  // either 200 (image) or 0 (padding); then scaled to [0, 1] and normalised per channel.
  const ds::TensorDataset images(full({10, 3, 8, 8}, 200.0, uint8), arange(10));
  const ds::Transform to_unit_range = [](const Tensor& rows) { return rows.to(float32).div(255.0); };
  const ds::MapDataset augmented(images, T::Compose{T::RandomCrop(8, 2), T::RandomHorizontalFlip()});
  ds::DataLoader loader(augmented, {.batch_size = 4, .shuffle = true, .seed = 1,
                                    .transform = T::Compose{to_unit_range, T::Normalize({0.5, 0.4, 0.3}, {0.25, 0.2, 0.1})}});
  const double means[] = {0.5, 0.4, 0.3}, deviations[] = {0.25, 0.2, 0.1};
  int64_t padding_pixels = 0, image_pixels = 0;
  for (ds::Batch& batch : loader) {
    CHECK(batch.inputs.dtype() == float32);
    CHECK(batch.inputs.shape() == Shape{batch.size(), 3, 8, 8});
    for (int64_t row = 0; row < batch.size(); ++row) {
      for (int64_t channel = 0; channel < 3; ++channel) {
        const double mean = means[channel], deviation = deviations[channel];
        for (float value : batch.inputs.select(0, row).select(0, channel).to_vector<float>()) {
          if (value == Approx((0.0 - mean) / deviation)) {
            ++padding_pixels;
          } else {
            REQUIRE(value == Approx((200.0 / 255.0 - mean) / deviation));
            ++image_pixels;
          }
        }
      }
    }
  }
  CHECK(padding_pixels + image_pixels == 10 * 3 * 64);
  CHECK(padding_pixels > 0);  // some windows reached into the padding
  CHECK(image_pixels > padding_pixels);
}
