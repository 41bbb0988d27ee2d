#pragma once
// DataLoader: walks a Dataset in batches, optionally shuffled, optionally with a background
// thread preparing the next batches.
//
//   datasets::MNIST train(datasets::find_mnist_dir(), datasets::Split::train);
//   datasets::DataLoader loader(train, {.batch_size = 64, .shuffle = true, .seed = 1});
//   for (int epoch = 0; epoch < epochs; ++epoch) {
//     for (datasets::Batch& batch : loader) {   // each loop is one epoch, in a new order
//       // batch.inputs float32 [64, 1, 28, 28], batch.targets int64 [64]
//     }
//   }
//
// Epochs: every begin() (every range-for loop) starts epoch epoch() and then advances the counter
// by one, so consecutive loops see different orders. The order of epoch e depends only on
// (seed, e): runs repeat exactly, and set_epoch(e) resumes a stopped run at epoch e.
//
// Threads: with prefetch = 0 (the default, as PyTorch's num_workers = 0) batches are made on
// demand in the calling thread, and the dataset is told one batch ahead which examples come next
// (Dataset::will_need), so an in-memory dataset such as MNIST serves a batch from cache in a few
// microseconds; handing batches over from another thread would cost more than that. Set prefetch
// when get_batch is slow (decoding files, augmentation): each iteration then owns one background
// thread that calls dataset.get_batch for the batches ahead, keeping at most `prefetch` finished
// batches queued and refilling the queue once half of it is consumed. Destroying the iteration
// (leaving the loop early, by break or exception) stops and joins the thread; an exception thrown
// while making a batch is rethrown from the iterator's ++ (or from begin()) in the consumer's
// thread, after the batches before it were delivered.
//
// Buffers: each batch is a fresh tensor pair, but nabla's caching allocator hands back the
// storage of batches already released, so a steady loop stops allocating after a few steps.
#include <cstdint>
#include <memory>
#include <vector>

#include "nabla/datasets/dataset.hpp"

namespace nabla::datasets {

struct DataLoaderOptions {
  int64_t batch_size = 64;
  bool shuffle = false;     // a new random order every epoch; otherwise 0, 1, 2, ...
  uint64_t seed = 0;        // the shuffle's seed
  bool drop_last = false;   // skip the final batch when it would be smaller than batch_size
  int64_t prefetch = 0;     // batches prepared ahead by a background thread (0: no thread)
};

class DataLoader {
 public:
  class Iterator;
  struct Sentinel {};

  // `dataset` must outlive the loader and any iteration over it.
  DataLoader(const Dataset& dataset, DataLoaderOptions options = {});
  DataLoader(const Dataset&& dataset, DataLoaderOptions options = {}) = delete;  // would dangle

  // Batches per epoch (counting a short last batch unless drop_last).
  int64_t size() const;
  // Examples per epoch (fewer than dataset.size() when drop_last drops some).
  int64_t num_examples() const;
  const DataLoaderOptions& options() const { return options_; }
  const Dataset& dataset() const { return dataset_; }

  // The epoch the next begin() will start.
  int64_t epoch() const { return epoch_; }
  void set_epoch(int64_t epoch);
  // The order of dataset indices in `epoch` (before drop_last): a permutation derived from
  // (seed, epoch) when shuffling, else 0..N-1.
  std::vector<int64_t> order(int64_t epoch) const;

  // Starts epoch epoch() and advances the counter. The iterator does not refer to the loader, so
  // it may outlive it (not the dataset).
  Iterator begin();
  Sentinel end() const { return {}; }

 private:
  const Dataset& dataset_;
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
