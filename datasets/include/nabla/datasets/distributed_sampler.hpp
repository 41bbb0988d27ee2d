#pragma once
// DistributedSampler (torch.utils.data.distributed.DistributedSampler): each of `num_replicas`
// processes reads its own 1/num_replicas of every epoch. All ranks shuffle the whole dataset
// identically from (seed, epoch) — no communication needed — and rank r takes positions
// r, r + num_replicas, r + 2 num_replicas, ... of that order. So that every rank runs the same
// number of steps, the order is padded with its own first indices up to a multiple of
// num_replicas (a few examples are read twice per epoch), or with drop_last cut down to one.
//
//   auto sampler = std::make_shared<datasets::DistributedSampler>(
//       datasets::DistributedSamplerOptions{.num_replicas = distributed::world_size(),
//                                           .rank = distributed::rank(), .seed = 42});
//   datasets::DataLoader loader(train, {.batch_size = 64, .sampler = sampler, .seed = 42 + rank});
//
// The loader passes the epoch (PyTorch's set_epoch), so each epoch has a new shuffle. Give every
// rank the same sampler seed (the orders must agree) and, when the loader applies random
// transforms, a loader seed that differs per rank (sampler.hpp explains why).
// Errors (at construction): num_replicas below 1, rank outside [0, num_replicas).
#include <cstdint>
#include <vector>

#include "nabla/datasets/sampler.hpp"

namespace nabla::datasets {

struct DistributedSamplerOptions {
  int64_t num_replicas = 1;  // the job's world size
  int64_t rank = 0;          // this process's rank
  bool shuffle = true;       // a new permutation each epoch, from (seed, epoch); else 0, 1, 2, ...
  uint64_t seed = 0;         // the same on every rank
  bool drop_last = false;    // cut the tail to a multiple of num_replicas instead of padding
};

class DistributedSampler : public Sampler {
 public:
  explicit DistributedSampler(DistributedSamplerOptions options);

  std::vector<int64_t> order(int64_t dataset_size, int64_t epoch) const override;
  // ceil(size / num_replicas), or with drop_last floor(size / num_replicas) (PyTorch's num_samples).
  int64_t length(int64_t dataset_size, int64_t epoch) const override;
  const DistributedSamplerOptions& options() const { return options_; }

 private:
  DistributedSamplerOptions options_;
};

}  // namespace nabla::datasets
