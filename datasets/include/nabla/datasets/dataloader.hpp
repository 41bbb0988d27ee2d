#pragma once
// DataLoader: walks a Dataset in batches, in the order a Sampler gives for each epoch, optionally
// transforming each batch, optionally with a background thread preparing the next batches.
//
//   datasets::MNIST train(datasets::find_mnist_dir(), datasets::Split::train);
//   datasets::DataLoader loader(train, {.batch_size = 64, .shuffle = true, .seed = 1});
//   for (int epoch = 0; epoch < epochs; ++epoch) {
//     for (datasets::Batch& batch : loader) {   // each loop is one epoch, in a new order
//       // batch.inputs float32 [64, 1, 28, 28], batch.targets int64 [64]
//     }
//   }
//
// The dataset: borrowed when given as an lvalue (`train` above must outlive the loader and its
// iterations), owned when given as an rvalue or a shared_ptr
// (`DataLoader loader(TensorDataset(x, y), ...)` is safe).
//
// The order: options.sampler (sampler.hpp) gives each epoch's indices; without one,
// options.shuffle is the shorthand for RandomSampler({.seed = options.seed}) (true) or
// SequentialSampler (false), as in PyTorch. The epoch's length is the sampler's: size() and
// num_examples() follow it, and drop_last drops a short last batch of it.
//
// Epochs: every begin() (every range-for loop) starts epoch epoch() and then advances the counter
// by one, so consecutive loops see different orders. Everything an epoch delivers depends only on
// (options, epoch): the sampler's order, and the random draws of the transforms, which come from
// (seed, epoch, position in the epoch) (random_key.hpp). Runs repeat exactly, set_epoch(e)
// resumes a stopped run at epoch e with the very batches it would have had, and prefetching
// changes nothing but speed.
//
// Transforms: options.transform is applied to each batch's inputs [B, ...] and
// options.target_transform to its targets, after the dataset made the batch and in the thread
// that made it, with the key of the batch's place in the epoch (the same key for both, so one
// random crop applied to images and their masks cuts both alike). For per-example transforms
// inside the dataset, use MapDataset; the dataset receives the key too (Dataset::get_batch_at).
//
// Threads: with prefetch = 0 (the default, as PyTorch's num_workers = 0) batches are made on
// demand in the calling thread, and the dataset is told one batch ahead which examples come next
// (Dataset::will_need), so an in-memory dataset such as MNIST serves a batch from cache in a few
// microseconds; handing batches over from another thread would cost more than that. Set prefetch
// when making a batch is slow (decoding files, augmentation): each iteration then owns one
// background thread that makes the batches ahead, keeping at most `prefetch` finished batches
// queued and refilling the queue once half of it is consumed. Destroying the iteration (leaving
// the loop early, by break or exception) stops and joins the thread; an exception thrown while
// making a batch is rethrown from the iterator's ++ (or from begin()) in the consumer's thread,
// after the batches before it were delivered.
//
// Buffers: each batch is a fresh tensor pair, but nabla's caching allocator hands back the
// storage of batches already released, so a steady loop stops allocating after a few steps.
#include <concepts>
#include <cstdint>
#include <memory>
#include <vector>

#include "nabla/datasets/dataset.hpp"
#include "nabla/datasets/sampler.hpp"
#include "nabla/datasets/transform.hpp"

namespace nabla::datasets {

struct DataLoaderOptions {
  int64_t batch_size = 64;
  bool shuffle = false;     // without a sampler: a new random order every epoch; otherwise 0, 1, 2, ...
  uint64_t seed = 0;        // the shuffle's seed, and the random transforms'
  std::shared_ptr<const Sampler> sampler = nullptr;  // each epoch's order (then leave shuffle false)
  bool drop_last = false;   // skip the final batch when it would be smaller than batch_size
  int64_t prefetch = 0;     // batches prepared ahead by a background thread (0: no thread)
  Transform transform = {};         // applied to each batch's inputs [B, ...]
  Transform target_transform = {};  // applied to each batch's targets [B, ...]
};

// Errors (at construction): batch_size below 1, a negative prefetch, both shuffle and a sampler;
// (at begin()) a sampler index outside the dataset, named with its position and epoch.
class DataLoader {
 public:
  class Iterator;
  struct Sentinel {};

  // Borrows `dataset`: it must outlive the loader and any iteration over it.
  DataLoader(const Dataset& dataset, DataLoaderOptions options = {});
  // Owns the dataset (moved in, or shared).
  template <DatasetRvalue D>
  DataLoader(D&& dataset, DataLoaderOptions options = {})
      : DataLoader(detail::own(std::forward<D>(dataset)), std::move(options)) {}
  DataLoader(std::shared_ptr<const Dataset> dataset, DataLoaderOptions options = {});

  // Batches in epoch epoch() (counting a short last batch unless drop_last).
  int64_t size() const;
  // Examples in epoch epoch() (the sampler's length, less what drop_last drops).
  int64_t num_examples() const;
  const DataLoaderOptions& options() const { return options_; }
  const Dataset& dataset() const { return *dataset_; }
  const Sampler& sampler() const { return *sampler_; }

  // The epoch the next begin() will start.
  int64_t epoch() const { return epoch_; }
  void set_epoch(int64_t epoch);
  // The dataset indices of `epoch` in order, before drop_last: the sampler's order.
  std::vector<int64_t> order(int64_t epoch) const;

  // Starts epoch epoch() and advances the counter. The iterator does not refer to the loader, so
  // it may outlive it (it shares ownership of an owned dataset; a borrowed one must still live).
  Iterator begin();
  Sentinel end() const { return {}; }

 private:
  std::shared_ptr<const Dataset> dataset_;
  std::shared_ptr<const Sampler> sampler_;
  DataLoaderOptions options_;
  int64_t epoch_ = 0;
};

// An input iterator over one epoch's batches. Move-only: it owns the background thread.
class DataLoader::Iterator {
 public:
  using value_type = Batch;
  using difference_type = std::ptrdiff_t;

  Iterator();
  Iterator(Iterator&&) noexcept;
  Iterator& operator=(Iterator&&) noexcept;
  ~Iterator();  // stops and joins the background thread

  Batch& operator*() const;
  Batch* operator->() const { return &**this; }
  Iterator& operator++();
  void operator++(int) { ++*this; }
  // Index of the current batch within the epoch (0-based).
  int64_t batch_index() const;
  friend bool operator==(const Iterator& it, Sentinel) { return it.at_end(); }

 private:
  friend class DataLoader;
  struct State;
  explicit Iterator(std::unique_ptr<State> state);
  bool at_end() const;
  std::unique_ptr<State> state_;
};

}  // namespace nabla::datasets
