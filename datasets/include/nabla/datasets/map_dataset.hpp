#pragma once
// MapDataset: another dataset with a transform applied to every example (libtorch's
// dataset.map(...), torchvision's transform= / target_transform=).
//
//   namespace T = datasets::transforms;
//   datasets::MapDataset train(datasets::TensorDataset(images, labels),   // owned: moved in
//                              T::Compose{T::RandomCrop(32, 4), T::RandomHorizontalFlip()});
//   datasets::DataLoader loader(train, {.batch_size = 128, .shuffle = true, .seed = 1});
//
// The transform is applied per example, but executed per batch: get_batch asks the base for the
// batch and transforms its inputs as rows [B, ...] in one call (each row alone, with its own
// randomness), which gives the same result as transforming the examples one by one, without a
// tensor per example. The base's examples must therefore share one shape (transform examples of
// different shapes in your dataset's get()).
//
// Randomness: row r is transformed with the key the DataLoader passes (seed, epoch, position of
// the row), so it is reproducible (random_key.hpp). The target transform gets the same key as
// the input transform: the same random transform applied to an image and to its mask (a
// segmentation target) crops, flips and shifts both alike. The base dataset is read with
// key.fold_in(...), independent of this dataset's draws. Called directly, get(i) transforms
// example i as if it sat at position i of epoch 0 with seed 0, and get_batch(indices) as rows at
// positions 0, 1, ... of epoch 0.
//
// Holds `base` as Subset does: borrowed from an lvalue, owned from an rvalue or a shared_ptr.
// Errors: a null base (at construction); the base's index errors and the transforms' own errors
// (e.g. Normalize on uint8 rows) when a batch is made, and a transform that does not return one
// row per example.
#include <memory>

#include "nabla/datasets/dataset.hpp"
#include "nabla/datasets/transform.hpp"

namespace nabla::datasets {

class MapDataset : public Dataset {
 public:
  MapDataset(const Dataset& base, Transform transform, Transform target_transform = {})
      : MapDataset(detail::borrow(base), std::move(transform), std::move(target_transform)) {}
  template <DatasetRvalue D>
  MapDataset(D&& base, Transform transform, Transform target_transform = {})
      : MapDataset(detail::own(std::forward<D>(base)), std::move(transform), std::move(target_transform)) {}
  MapDataset(std::shared_ptr<const Dataset> base, Transform transform, Transform target_transform = {});

  int64_t size() const override { return base_->size(); }
  Example get(int64_t index) const override;
  Batch get_batch(std::span<const int64_t> indices) const override;
  Batch get_batch_at(std::span<const int64_t> indices, const RandomKey& key) const override;
  void will_need(std::span<const int64_t> indices) const override { base_->will_need(indices); }

  const Dataset& base() const { return *base_; }
  const Transform& transform() const { return transform_; }
  const Transform& target_transform() const { return target_transform_; }

 private:
  std::shared_ptr<const Dataset> base_;
  Transform transform_;
  Transform target_transform_;
};

}  // namespace nabla::datasets
