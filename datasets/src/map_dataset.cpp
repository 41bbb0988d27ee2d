#include "nabla/datasets/map_dataset.hpp"

#include "nabla/tensor/error.hpp"

namespace nabla::datasets {

namespace {
// The stream the base dataset draws from, apart from this dataset's own transforms (so that a
// MapDataset over a MapDataset does not repeat its base's random numbers).
constexpr uint64_t kBaseStream = 0x6d61702d62617365ULL;  // "map-base"
}  // namespace

MapDataset::MapDataset(std::shared_ptr<const Dataset> base, Transform transform, Transform target_transform)
    : base_(detail::require(std::move(base), "MapDataset")),
      transform_(std::move(transform)),
      target_transform_(std::move(target_transform)) {}

Example MapDataset::get(int64_t index) const {
  check_index(index, "MapDataset");
  Example example = base_->get(index);
  const RandomKey key{.seed = 0, .epoch = 0, .position = index};
  // One example is a batch of one row.
  if (transform_) example.input = transform_(example.input.unsqueeze(0), key).squeeze(0);
  if (target_transform_ && example.target.defined()) {
    example.target = target_transform_(example.target.unsqueeze(0), key).squeeze(0);
  }
  return example;
}

Batch MapDataset::get_batch(std::span<const int64_t> indices) const { return get_batch_at(indices, RandomKey{}); }

Batch MapDataset::get_batch_at(std::span<const int64_t> indices, const RandomKey& key) const {
  Batch batch = base_->get_batch_at(indices, key.fold_in(kBaseStream));
  if (transform_) batch.inputs = transform_(batch.inputs, key);
  if (target_transform_ && batch.targets.defined()) batch.targets = target_transform_(batch.targets, key);
  return batch;
}

}  // namespace nabla::datasets
