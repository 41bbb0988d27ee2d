// General examples: targets of any shape and dtype through TensorDataset, the default
// get_batch's stacking and its errors, MapDataset (per-example transforms, the target transform
// sharing the input's randomness), and who owns a dataset (borrowed lvalues, owned temporaries).
#include <catch2/catch.hpp>

#include <nabla/datasets.hpp>
#include <nabla/nabla.hpp>

using namespace nabla;
using Catch::Contains;
namespace ds = nabla::datasets;
namespace T = nabla::datasets::transforms;

namespace {

// Example i: input [i, i, i] (float32), target a sequence [i, i + 1, ..., i + length - 1]
// (int64) whose length is 3, except example `odd_one` whose sequence has 4 elements.
class SequenceDataset : public ds::Dataset {
 public:
  explicit SequenceDataset(int64_t odd_one = -1) : odd_one_(odd_one) {}
  int64_t size() const override { return 6; }
  ds::Example get(int64_t index) const override {
    check_index(index, "SequenceDataset");
    const int64_t length = index == odd_one_ ? 4 : 3;
    return {full({3}, double(index)), arange(double(index), double(index + length), 1.0, int64)};
  }

 private:
  int64_t odd_one_;
};

// Inputs only (unsupervised data): targets stay undefined.
class UnlabelledDataset : public ds::Dataset {
 public:
  int64_t size() const override { return 4; }
  ds::Example get(int64_t index) const override { return {full({2}, double(index)), Tensor()}; }
};

bool same_values(const Tensor& a, const Tensor& b) {
  return a.shape() == b.shape() && a.dtype() == b.dtype() && a.to_vector<double>() == b.to_vector<double>();
}

}  // namespace

TEST_CASE("TensorDataset keeps targets of any shape and dtype", "[dataset]") {
  // Regression: float32 [N, 2] targets give float32 [B, 2].
  const Tensor inputs = from_vector<float>({0, 1, 2, 3, 4, 5, 6, 7}, {4, 2});
  const Tensor vectors = from_vector<float>({0.5, -1, 1.5, -2, 2.5, -3, 3.5, -4}, {4, 2});
  const ds::TensorDataset regression(inputs, vectors);
  const ds::Batch batch = regression.get_batch(std::vector<int64_t>{3, 1});
  CHECK(batch.targets.dtype() == float32);
  CHECK(batch.targets.shape() == Shape{2, 2});
  CHECK(batch.targets.to_vector<float>() == std::vector<float>{3.5, -4, 1.5, -2});
  CHECK(batch.inputs.to_vector<float>() == std::vector<float>{6, 7, 2, 3});
  CHECK(regression.get(2).target.to_vector<float>() == std::vector<float>{2.5, -3});

  // Sequences: int64 [N, T] gives int64 [B, T].
  const Tensor sequences = arange(12).reshape({4, 3});
  const ds::Batch sequence_batch = ds::TensorDataset(inputs, sequences).get_batch(std::vector<int64_t>{2, 2, 0});
  CHECK(sequence_batch.targets.shape() == Shape{3, 3});
  CHECK(sequence_batch.targets.to_vector<int64_t>() == std::vector<int64_t>{6, 7, 8, 6, 7, 8, 0, 1, 2});

  // Class labels: int64 [N] gives int64 [B] and 0-d examples; uint8 labels stay uint8 (as PyTorch).
  const ds::TensorDataset labelled(inputs, from_vector<int64_t>({7, 8, 9, 4}));
  CHECK(labelled.get_batch(std::vector<int64_t>{1, 3}).targets.to_vector<int64_t>() == std::vector<int64_t>{8, 4});
  CHECK(labelled.get(0).target.shape() == Shape{});
  CHECK(ds::TensorDataset(inputs, from_vector<uint8_t>({1, 2, 3, 4})).get_batch(std::vector<int64_t>{0}).targets.dtype() == uint8);

  // No targets.
  const ds::TensorDataset unlabelled(inputs);
  CHECK(!unlabelled.get_batch(std::vector<int64_t>{0, 1}).targets.defined());
  CHECK(!unlabelled.get(1).target.defined());
  // Images as targets (a segmentation mask per image).
  const ds::TensorDataset masks(zeros({4, 3, 8, 8}), ones({4, 8, 8}, uint8));
  CHECK(masks.get_batch(std::vector<int64_t>{0, 1}).targets.shape() == Shape{2, 8, 8});
}

TEST_CASE("Dataset::get_batch stacks examples' inputs and targets", "[dataset]") {
  const SequenceDataset data;
  const ds::Batch batch = data.get_batch(std::vector<int64_t>{4, 0});
  CHECK(batch.inputs.shape() == Shape{2, 3});
  CHECK(batch.targets.dtype() == int64);
  CHECK(batch.targets.shape() == Shape{2, 3});
  CHECK(batch.targets.to_vector<int64_t>() == std::vector<int64_t>{4, 5, 6, 0, 1, 2});
  CHECK(batch.indices == std::vector<int64_t>{4, 0});
  // 0-d class labels stack to int64 [B].
  const ds::Example labelled(full({2}, 1.0), 3);
  CHECK(labelled.target.dtype() == int64);
  CHECK(labelled.target.dim() == 0);
  // No targets: the batch has none.
  CHECK(!UnlabelledDataset().get_batch(std::vector<int64_t>{3, 1}).targets.defined());
}

TEST_CASE("Dataset::get_batch names the examples whose shapes differ", "[dataset][errors]") {
  const SequenceDataset ragged(/*odd_one=*/3);
  CHECK_THROWS_WITH(ragged.get_batch(std::vector<int64_t>{1, 2, 3}),
                    Contains("Dataset::get_batch: example 3 has target int64 [4] but example 1 has int64 [3]") &&
                        Contains("pad sequences to one length"));
  CHECK_THROWS_WITH(ragged.get_batch(std::vector<int64_t>{}), Contains("no indices given"));

  // Inputs that differ, and a target missing from one example.
  class Mixed : public ds::Dataset {
   public:
    int64_t size() const override { return 3; }
    ds::Example get(int64_t index) const override {
      if (index == 1) return {zeros({2, 2}), 0};
      if (index == 2) return {zeros({4}), Tensor()};
      return {zeros({4}), 0};
    }
  };
  const Mixed mixed;
  CHECK_THROWS_WITH(mixed.get_batch(std::vector<int64_t>{0, 1}),
                    Contains("example 1 has input float32 [2, 2] but example 0 has float32 [4]"));
  CHECK_THROWS_WITH(mixed.get_batch(std::vector<int64_t>{0, 2}),
                    Contains("example 2 has target none (undefined) but example 0 has int64 []"));
}

TEST_CASE("MapDataset transforms every example, per batch or one at a time", "[dataset][transforms]") {
  const ds::TensorDataset base(arange(8).to(float32).reshape({2, 1, 2, 2}), from_vector<int64_t>({5, 6}));
  const ds::MapDataset mapped(base, [](const Tensor& rows) { return rows.mul(10.0); },
                              [](const Tensor& targets) { return targets.add(1.0); });
  CHECK(mapped.size() == 2);
  const ds::Example example = mapped.get(1);
  CHECK(example.input.shape() == Shape{1, 2, 2});
  CHECK(example.input.to_vector<float>() == std::vector<float>{40, 50, 60, 70});
  CHECK(example.target.item<int64_t>() == 7);
  const ds::Batch batch = mapped.get_batch(std::vector<int64_t>{1, 0});
  CHECK(batch.inputs.to_vector<float>() == std::vector<float>{40, 50, 60, 70, 0, 10, 20, 30});
  CHECK(batch.targets.to_vector<int64_t>() == std::vector<int64_t>{7, 6});
  CHECK(batch.indices == std::vector<int64_t>{1, 0});

  // A random transform: row r of a batch at a key is the transform of that example at
  // key.skip(r), exactly as if it were done alone.
  const Tensor images = arange(6 * 25).to(float32).reshape({6, 1, 5, 5});
  const ds::TensorDataset pictures(images, arange(6));
  const T::Compose augment{T::RandomCrop(5, 2), T::RandomHorizontalFlip()};
  const ds::MapDataset augmented(pictures, augment);
  const ds::RandomKey key{.seed = 3, .epoch = 2, .position = 12};
  const std::vector<int64_t> indices{4, 1, 4};
  const ds::Batch made = augmented.get_batch_at(indices, key);
  for (int64_t row = 0; row < 3; ++row) {
    const Tensor alone = augment(images.narrow(0, indices[static_cast<size_t>(row)], 1), key.skip(row));
    CHECK(same_values(made.inputs.narrow(0, row, 1), alone));
  }
  CHECK(!same_values(made.inputs.narrow(0, 0, 1), made.inputs.narrow(0, 2, 1)));  // same example, new draws
  // get(i) is the example at position i of epoch 0, seed 0.
  CHECK(same_values(augmented.get(4).input.unsqueeze(0), augment(images.narrow(0, 4, 1), {.position = 4})));
}

TEST_CASE("MapDataset gives the target transform the input's randomness", "[dataset][transforms]") {
  // A segmentation pair: the mask is the image's own values. The same random crop and flip on
  // both must keep them aligned.
  const Tensor images = arange(4 * 36).to(float32).reshape({4, 1, 6, 6});
  const T::Compose geometry{T::RandomCrop(4, 1), T::RandomHorizontalFlip(), T::RandomTranslate(0.2)};
  const ds::MapDataset pairs(ds::TensorDataset(images, images.squeeze(1)), geometry, geometry);
  const ds::Batch batch = pairs.get_batch_at(std::vector<int64_t>{0, 1, 2, 3}, {.seed = 9});
  CHECK(batch.inputs.shape() == Shape{4, 1, 4, 4});
  CHECK(batch.targets.shape() == Shape{4, 4, 4});
  CHECK(same_values(batch.inputs.squeeze(1), batch.targets));
  CHECK(!same_values(batch.inputs, images.narrow(2, 1, 4).narrow(3, 1, 4)));  // something did move
}

TEST_CASE("A DataLoader built from a temporary dataset owns it", "[dataset][ownership]") {
  // The TensorDataset is moved into the loader; no reference to the temporary remains.
  ds::DataLoader loader(ds::TensorDataset(arange(10).to(float32).reshape({10, 1}), arange(10)), {.batch_size = 4});
  CHECK(loader.dataset().size() == 10);
  std::vector<int64_t> seen;
  for (ds::Batch& batch : loader) {
    for (float value : batch.inputs.to_vector<float>()) seen.push_back(int64_t(value));
  }
  CHECK(seen == std::vector<int64_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9});

  // Wrappers of temporaries own them too, and an iteration keeps an owned dataset alive after
  // its loader is gone.
  ds::DataLoader::Iterator it;
  {
    ds::DataLoader scoped(ds::MapDataset(ds::first_examples(ds::TensorDataset(arange(6).to(float32).reshape({6, 1}),
                                                                              arange(6)),
                                                            4),
                                         [](const Tensor& rows) { return rows.add(100.0); }),
                          {.batch_size = 3, .prefetch = 1});
    it = scoped.begin();
  }
  CHECK(it->inputs.to_vector<float>() == std::vector<float>{100, 101, 102});
  ++it;
  CHECK(it->inputs.to_vector<float>() == std::vector<float>{103});
  ++it;
  CHECK(it == ds::DataLoader::Sentinel{});

  // Shared ownership: the loader and the caller share one dataset.
  auto shared = std::make_shared<ds::TensorDataset>(zeros({5, 2}), zeros({5}, int64));
  ds::DataLoader sharing(shared, {.batch_size = 5});
  CHECK(shared.use_count() == 2);
  CHECK(&sharing.dataset() == shared.get());
  shared.reset();
  CHECK((*sharing.begin()).size() == 5);

  // Lvalues are borrowed (no copy): the loader reads the caller's dataset.
  const ds::TensorDataset named(zeros({3, 1}), zeros({3}, int64));
  ds::DataLoader borrowing(named);
  CHECK(&borrowing.dataset() == &named);
  CHECK(&ds::Subset(named, {0}).base() == &named);
  CHECK_THROWS_WITH(ds::DataLoader(std::shared_ptr<const ds::Dataset>()), Contains("DataLoader: the dataset is a null pointer"));
  CHECK_THROWS_WITH(ds::Subset(std::shared_ptr<const ds::Dataset>(), {0}), Contains("Subset: the dataset is a null pointer"));
}
