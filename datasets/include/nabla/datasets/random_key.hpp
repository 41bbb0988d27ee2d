#pragma once
// RandomKey: where a batch sits in a training run, and therefore which random numbers its
// transforms draw.
//
// Row r of a batch is the example at position `position + r` of epoch `epoch`'s order (the
// DataLoader numbers the examples of an epoch 0, 1, 2, ... in the order it reads them). Random
// transforms draw that row's numbers from generator(r), a Generator seeded by
// (seed, epoch, position + r) and nothing else. So the same example at the same place is
// augmented the same way whichever thread makes the batch (DataLoaderOptions::prefetch), when a
// stopped run is resumed at that epoch (DataLoader::set_epoch), and whether a transform runs on
// one example or on a whole batch at once. Nothing is shared between rows, so nothing needs a
// lock. (Google's Grain and JAX's random keys work the same way.)
#include <cstdint>

#include "nabla/tensor/random.hpp"

namespace nabla::datasets {

struct RandomKey {
  uint64_t seed = 0;
  int64_t epoch = 0;
  int64_t position = 0;  // of row 0 of the batch in the epoch's order

  // The generator of row `row` (a fresh one: calling it twice gives the same numbers).
  Generator generator(int64_t row) const;
  // The same place with an independent stream of numbers, for the `stream`-th of several random
  // things done at one place: the stages of a Compose, a MapDataset and the dataset beneath it,
  // the DataLoader's batch transforms. (JAX's fold_in.)
  RandomKey fold_in(uint64_t stream) const;
  // The key whose row 0 is row `rows` of this one (for transforming a batch in pieces).
  RandomKey skip(int64_t rows) const { return {seed, epoch, position + rows}; }
};

}  // namespace nabla::datasets
