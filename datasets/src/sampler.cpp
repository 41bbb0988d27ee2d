#include "nabla/datasets/sampler.hpp"

#include <algorithm>
#include <cmath>
#include <utility>

#include "nabla/tensor/error.hpp"
#include "nabla/tensor/random.hpp"
#include "seed_mixing.hpp"

namespace nabla::datasets {

namespace {

std::vector<int64_t> iota(int64_t count) {
  std::vector<int64_t> indices(static_cast<size_t>(count));
  for (int64_t i = 0; i < count; ++i) indices[static_cast<size_t>(i)] = i;
  return indices;
}

void check_non_negative(const std::vector<int64_t>& indices, const char* sampler) {
  for (size_t position = 0; position < indices.size(); ++position) {
    if (indices[position] < 0) {
      fail("{}: index {} at position {} is negative; indices count examples from 0", sampler, indices[position],
           position);
    }
  }
}

// A permutation of 0..n-1 drawn from `generator`: kernels::randperm, the shuffle the DataLoader
// has always used, so that shuffled runs keep their orders.
std::vector<int64_t> permutation(int64_t n, Generator& generator) {
  return kernels::randperm(n, generator).to_vector<int64_t>();
}

}  // namespace

int64_t Sampler::length(int64_t dataset_size, int64_t epoch) const {
  return static_cast<int64_t>(order(dataset_size, epoch).size());
}

// ---- SequentialSampler

std::vector<int64_t> SequentialSampler::order(int64_t dataset_size, int64_t /*epoch*/) const {
  return iota(dataset_size);
}

// ---- RandomSampler

RandomSampler::RandomSampler(RandomSamplerOptions options) : options_(options) {
  if (options.num_samples == 0 || options.num_samples < -1) {
    fail("RandomSampler: num_samples must be positive (or -1 for the dataset's size), got {}", options.num_samples);
  }
}

int64_t RandomSampler::length(int64_t dataset_size, int64_t /*epoch*/) const {
  return options_.num_samples == -1 ? dataset_size : options_.num_samples;
}

std::vector<int64_t> RandomSampler::order(int64_t dataset_size, int64_t epoch) const {
  const int64_t count = length(dataset_size, epoch);
  Generator generator(detail::epoch_seed(options_.seed, epoch));
  if (options_.replacement) {
    if (dataset_size < 1) fail("RandomSampler: cannot draw {} samples from an empty dataset", count);
    std::vector<int64_t> indices(static_cast<size_t>(count));
    for (int64_t& index : indices) index = static_cast<int64_t>(generator.below(static_cast<uint64_t>(dataset_size)));
    return indices;
  }
  if (dataset_size < 1) return {};
  // Whole permutations while they fit, then the start of one more (as PyTorch does).
  std::vector<int64_t> indices;
  indices.reserve(static_cast<size_t>(count));
  while (static_cast<int64_t>(indices.size()) < count) {
    const std::vector<int64_t> shuffled = permutation(dataset_size, generator);
    const int64_t take = std::min<int64_t>(dataset_size, count - static_cast<int64_t>(indices.size()));
    indices.insert(indices.end(), shuffled.begin(), shuffled.begin() + take);
  }
  return indices;
}

// ---- WeightedRandomSampler

WeightedRandomSampler::WeightedRandomSampler(std::vector<double> weights, int64_t num_samples,
                                             WeightedRandomSamplerOptions options)
    : weights_(std::move(weights)), num_samples_(num_samples), options_(options) {
  if (weights_.empty()) fail("WeightedRandomSampler: no weights given; give one weight per example");
  int64_t positive = 0;
  double total = 0.0;
  cumulative_.reserve(weights_.size());
  for (size_t i = 0; i < weights_.size(); ++i) {
    if (!std::isfinite(weights_[i]) || weights_[i] < 0.0) {
      fail("WeightedRandomSampler: weight {} at index {} is invalid; weights must be finite and 0 or more",
           weights_[i], i);
    }
    positive += weights_[i] > 0.0;
    total += weights_[i];
    cumulative_.push_back(total);
  }
  if (positive == 0) fail("WeightedRandomSampler: all {} weights are 0; at least one must be positive", weights_.size());
  if (num_samples < 1) fail("WeightedRandomSampler: num_samples must be positive, got {}", num_samples);
  if (!options.replacement && num_samples > positive) {
    fail("WeightedRandomSampler: cannot draw {} samples without replacement from {} examples of positive "
         "weight; draw at most {} or set replacement = true",
         num_samples, positive, positive);
  }
}

std::vector<int64_t> WeightedRandomSampler::order(int64_t dataset_size, int64_t epoch) const {
  if (static_cast<int64_t>(weights_.size()) > dataset_size) {
    fail("WeightedRandomSampler: has {} weights but the dataset has {} examples; give one weight per example",
         weights_.size(), dataset_size);
  }
  Generator generator(detail::epoch_seed(options_.seed, epoch));
  std::vector<int64_t> indices(static_cast<size_t>(num_samples_));
  if (options_.replacement) {
    // Inverse-CDF sampling: the first index whose running sum exceeds u * total. An index of
    // weight 0 adds nothing to the running sum, so it is never the first to exceed anything.
    const double total = cumulative_.back();
    for (int64_t& index : indices) {
      const double u = generator.uniform() * total;
      const auto found = std::upper_bound(cumulative_.begin(), cumulative_.end(), u);
      index = std::min<int64_t>(found - cumulative_.begin(), static_cast<int64_t>(weights_.size()) - 1);
    }
    return indices;
  }
  // Without replacement: keys weight / E with E ~ Exp(1); the num_samples largest keys, in
  // decreasing order, are distributed as successive draws without replacement (PyTorch's
  // multinomial computes it the same way). Weight 0 gives key 0, never among the largest because
  // the constructor checked that enough weights are positive.
  std::vector<std::pair<double, int64_t>> keys(weights_.size());
  for (size_t i = 0; i < weights_.size(); ++i) {
    double exponential = -std::log1p(-generator.uniform());  // in (0, inf): 1 - u > 0
    if (exponential <= 0.0) exponential = 1e-300;
    keys[i] = {weights_[i] / exponential, static_cast<int64_t>(i)};
  }
  std::partial_sort(keys.begin(), keys.begin() + num_samples_, keys.end(),
                    [](const auto& a, const auto& b) { return a.first > b.first || (a.first == b.first && a.second < b.second); });
  for (int64_t i = 0; i < num_samples_; ++i) indices[static_cast<size_t>(i)] = keys[static_cast<size_t>(i)].second;
  return indices;
}

// ---- SubsetRandomSampler

SubsetRandomSampler::SubsetRandomSampler(std::vector<int64_t> indices, uint64_t seed)
    : indices_(std::move(indices)), seed_(seed) {
  check_non_negative(indices_, "SubsetRandomSampler");
}

int64_t SubsetRandomSampler::length(int64_t /*dataset_size*/, int64_t /*epoch*/) const {
  return static_cast<int64_t>(indices_.size());
}

std::vector<int64_t> SubsetRandomSampler::order(int64_t /*dataset_size*/, int64_t epoch) const {
  Generator generator(detail::epoch_seed(seed_, epoch));
  const std::vector<int64_t> shuffled = permutation(static_cast<int64_t>(indices_.size()), generator);
  std::vector<int64_t> indices(indices_.size());
  for (size_t i = 0; i < indices.size(); ++i) indices[i] = indices_[static_cast<size_t>(shuffled[i])];
  return indices;
}

// ---- OrderSampler

OrderSampler::OrderSampler(std::vector<int64_t> indices) {
  check_non_negative(indices, "OrderSampler");
  order_of_epoch_ = [indices = std::move(indices)](int64_t) { return indices; };
}

OrderSampler::OrderSampler(OrderOfEpoch order_of_epoch) : order_of_epoch_(std::move(order_of_epoch)) {
  if (!order_of_epoch_) fail("OrderSampler: the function giving each epoch's order is empty");
}

std::vector<int64_t> OrderSampler::order(int64_t /*dataset_size*/, int64_t epoch) const {
  return order_of_epoch_(epoch);
}

}  // namespace nabla::datasets
