#pragma once
// Samplers: which examples an epoch reads, and in what order (PyTorch's torch.utils.data
// samplers). The DataLoader asks its sampler for each epoch's order and cuts it into batches.
//
//   datasets::DataLoader loader(train, {.batch_size = 64,
//                                       .sampler = std::make_shared<datasets::WeightedRandomSampler>(
//                                           weights, /*num_samples=*/train.size())});
//
// Contract of a Sampler: order(dataset_size, epoch) is a pure function of the sampler's settings,
// the dataset's size and the epoch. A sampler keeps no state between epochs (there is no
// set_epoch on it: the loader passes the epoch), so a background thread, a run resumed at epoch
// e, and several processes each reading their share (a DistributedSampler: rank r of w takes
// positions r, r + w, ... of the (seed, epoch) order, padded or cut to equal length) all agree
// without talking to each other. The order may repeat indices and may be shorter or longer than
// the dataset; each index must lie in [0, dataset_size) (the DataLoader checks, naming the
// position of the first that does not). order must be safe to call from several threads.
//
// (For that DistributedSampler: random transforms key on the position in the order each loader
// reads (random_key.hpp), so ranks that share DataLoaderOptions::seed would crop their k-th
// examples alike. Give the sampler the shared seed, and each rank's loader seed + rank.)
#include <cstdint>
#include <functional>
#include <vector>

namespace nabla::datasets {

class Sampler {
 public:
  virtual ~Sampler() = default;
  // The dataset indices epoch `epoch` reads, in order.
  virtual std::vector<int64_t> order(int64_t dataset_size, int64_t epoch) const = 0;
  // order(dataset_size, epoch).size(), without making the order when a sampler knows it (the
  // default makes it).
  virtual int64_t length(int64_t dataset_size, int64_t epoch) const;
};

// 0, 1, ..., dataset_size - 1 every epoch (what DataLoaderOptions{.shuffle = false} uses).
class SequentialSampler : public Sampler {
 public:
  std::vector<int64_t> order(int64_t dataset_size, int64_t epoch) const override;
  int64_t length(int64_t dataset_size, int64_t epoch) const override { return dataset_size; }
};

struct RandomSamplerOptions {
  bool replacement = false;  // draw each index independently (repeats possible)
  int64_t num_samples = -1;  // indices per epoch; -1: the dataset's size
  uint64_t seed = 0;         // the orders depend only on (seed, epoch)
};

// A random order each epoch, as torch.utils.data.RandomSampler: without replacement a
// permutation of the dataset (num_samples larger than the dataset: whole permutations one after
// another, the last one cut short); with replacement num_samples indices drawn uniformly and
// independently. DataLoaderOptions{.shuffle = true, .seed = s} is RandomSampler({.seed = s}).
// Errors: num_samples 0 or below -1 (at construction); with replacement, an empty dataset.
class RandomSampler : public Sampler {
 public:
  explicit RandomSampler(RandomSamplerOptions options = {});

  std::vector<int64_t> order(int64_t dataset_size, int64_t epoch) const override;
  int64_t length(int64_t dataset_size, int64_t epoch) const override;
  const RandomSamplerOptions& options() const { return options_; }

 private:
  RandomSamplerOptions options_;
};

struct WeightedRandomSamplerOptions {
  bool replacement = true;  // PyTorch's default, unlike RandomSampler's
  uint64_t seed = 0;
};

// num_samples indices drawn with probability proportional to weights[i], as
// torch.utils.data.WeightedRandomSampler (torch.multinomial): with replacement each draw is
// independent; without it each index is drawn at most once, in the order successive draws from
// the remaining weights would give (weights / Exp(1) noise, largest first, as PyTorch computes
// it). The usual use: oversample rare classes with weights[i] = 1 / count(class of i).
// Errors (at construction): no weights, a negative or non-finite weight, all weights zero,
// num_samples below 1, and without replacement more samples than positive weights. When used:
// more weights than the dataset has examples.
class WeightedRandomSampler : public Sampler {
 public:
  WeightedRandomSampler(std::vector<double> weights, int64_t num_samples, WeightedRandomSamplerOptions options = {});

  std::vector<int64_t> order(int64_t dataset_size, int64_t epoch) const override;
  int64_t length(int64_t dataset_size, int64_t epoch) const override { return num_samples_; }

 private:
  std::vector<double> weights_;
  std::vector<double> cumulative_;  // running sums of the weights, for draws with replacement
  int64_t num_samples_;
  WeightedRandomSamplerOptions options_;
};

// The given indices in a new random order every epoch (torch.utils.data.SubsetRandomSampler):
// e.g. the training part of a train/validation split of one dataset.
// Errors: a negative index (at construction); an index beyond the dataset (when used).
class SubsetRandomSampler : public Sampler {
 public:
  explicit SubsetRandomSampler(std::vector<int64_t> indices, uint64_t seed = 0);

  std::vector<int64_t> order(int64_t dataset_size, int64_t epoch) const override;
  int64_t length(int64_t dataset_size, int64_t epoch) const override;

 private:
  std::vector<int64_t> indices_;
  uint64_t seed_;
};

// An order you give: the same indices every epoch, or whatever a function of the epoch returns
// (curriculum schedules, orders computed elsewhere, ...). The function must be pure (same epoch,
// same order) and thread-safe for resumed runs and background threads to agree.
// Errors: a negative index in a fixed order (at construction); an index beyond the dataset
// (when used, through the DataLoader's check).
class OrderSampler : public Sampler {
 public:
  using OrderOfEpoch = std::function<std::vector<int64_t>(int64_t epoch)>;

  explicit OrderSampler(std::vector<int64_t> indices);
  explicit OrderSampler(OrderOfEpoch order_of_epoch);

  std::vector<int64_t> order(int64_t dataset_size, int64_t epoch) const override;

 private:
  OrderOfEpoch order_of_epoch_;
};

}  // namespace nabla::datasets
