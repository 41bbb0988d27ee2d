#include "nabla/datasets/random_key.hpp"

#include "seed_mixing.hpp"

namespace nabla::datasets {

Generator RandomKey::generator(int64_t row) const {
  return Generator(detail::combine(detail::epoch_seed(seed, epoch), static_cast<uint64_t>(position + row)));
}

RandomKey RandomKey::fold_in(uint64_t stream) const {
  // A different multiplier from combine's, so that folding in k and sitting at position k (or
  // epoch k) never give the same stream.
  return {detail::mix64(seed ^ (0xD1B54A32D192ED03ULL * (stream + 1))), epoch, position};
}

}  // namespace nabla::datasets
