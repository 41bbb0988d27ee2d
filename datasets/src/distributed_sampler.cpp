#include "nabla/datasets/distributed_sampler.hpp"

#include "nabla/tensor/error.hpp"
#include "nabla/tensor/random.hpp"
#include "seed_mixing.hpp"

namespace nabla::datasets {

DistributedSampler::DistributedSampler(DistributedSamplerOptions options) : options_(options) {
  if (options.num_replicas < 1) {
    fail("DistributedSampler: num_replicas must be at least 1 (the job's world size), got {}", options.num_replicas);
  }
  if (options.rank < 0 || options.rank >= options.num_replicas) {
    fail("DistributedSampler: rank {} is outside [0, {}); give this process's rank and the job's world size",
         options.rank, options.num_replicas);
  }
}

int64_t DistributedSampler::length(int64_t dataset_size, int64_t /*epoch*/) const {
  const int64_t replicas = options_.num_replicas;
  if (options_.drop_last) return dataset_size / replicas;
  return (dataset_size + replicas - 1) / replicas;
}

std::vector<int64_t> DistributedSampler::order(int64_t dataset_size, int64_t epoch) const {
  if (dataset_size < 1) return {};
  std::vector<int64_t> all;
  if (options_.shuffle) {
    Generator generator(detail::epoch_seed(options_.seed, epoch));
    all = kernels::randperm(dataset_size, generator).to_vector<int64_t>();
  } else {
    all.resize(static_cast<size_t>(dataset_size));
    for (int64_t i = 0; i < dataset_size; ++i) all[static_cast<size_t>(i)] = i;
  }
  const int64_t per_rank = length(dataset_size, epoch);
  const int64_t total = per_rank * options_.num_replicas;
  // Pad by repeating the order from its start (as often as needed when the dataset is smaller
  // than the number of ranks), or cut: PyTorch's rule.
  for (size_t i = 0; static_cast<int64_t>(all.size()) < total; ++i) all.push_back(all[i]);
  all.resize(static_cast<size_t>(total));
  std::vector<int64_t> mine;
  mine.reserve(static_cast<size_t>(per_rank));
  for (int64_t position = options_.rank; position < total; position += options_.num_replicas) {
    mine.push_back(all[static_cast<size_t>(position)]);
  }
  return mine;
}

}  // namespace nabla::datasets
