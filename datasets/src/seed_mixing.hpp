#pragma once
// Private: how the samplers and random transforms turn (seed, epoch, ...) into generator seeds.
#include <cstdint>

namespace nabla::datasets::detail {

// SplitMix64's finaliser: neighbouring inputs give unrelated outputs.
inline uint64_t mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

// `seed` and one more value mixed into a new seed; combine(combine(s, a), b) differs from
// combine(combine(s, b), a), so the order of what is mixed in matters (as it should: an epoch is
// not a position).
inline uint64_t combine(uint64_t seed, uint64_t value) {
  return mix64(seed ^ (0x9E3779B97F4A7C15ULL * (value + 1)));
}

// The seed of one epoch's shuffle. (The DataLoader's shuffles have always been seeded this way;
// keeping it keeps the orders of existing runs and checkpoints.)
inline uint64_t epoch_seed(uint64_t seed, int64_t epoch) { return combine(seed, static_cast<uint64_t>(epoch)); }

}  // namespace nabla::datasets::detail
