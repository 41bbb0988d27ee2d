// DistributedSampler (issue 16): ranks read disjoint shares that together cover the epoch,
// shuffled alike on every rank from (seed, epoch), padded or cut to equal length as PyTorch's
// DistributedSampler (its padding rule: repeat the order from the start).
#include <catch2/catch.hpp>

#include <algorithm>
#include <map>
#include <set>

#include <nabla/nabla.hpp>

using namespace nabla;
using Catch::Contains;
namespace ds = nabla::datasets;

namespace {

std::vector<std::vector<int64_t>> shares(int64_t size, int64_t replicas, int64_t epoch, bool shuffle, bool drop_last,
                                         uint64_t seed = 7) {
  std::vector<std::vector<int64_t>> result;
  for (int64_t rank = 0; rank < replicas; ++rank) {
    const ds::DistributedSampler sampler(
        {.num_replicas = replicas, .rank = rank, .shuffle = shuffle, .seed = seed, .drop_last = drop_last});
    result.push_back(sampler.order(size, epoch));
    CHECK(sampler.length(size, epoch) == static_cast<int64_t>(result.back().size()));
  }
  return result;
}

}  // namespace

TEST_CASE("DistributedSampler: without shuffle, rank r takes r, r + N, ... and pads from the start", "[datasets][sampler]") {
  // PyTorch: DistributedSampler(range(10), num_replicas=3, rank=r, shuffle=False) gives
  // [0, 3, 6, 9], [1, 4, 7, 0], [2, 5, 8, 1].
  const auto padded = shares(10, 3, 0, false, false);
  CHECK(padded[0] == std::vector<int64_t>{0, 3, 6, 9});
  CHECK(padded[1] == std::vector<int64_t>{1, 4, 7, 0});
  CHECK(padded[2] == std::vector<int64_t>{2, 5, 8, 1});
  // drop_last=True: [0, 3, 6], [1, 4, 7], [2, 5, 8].
  const auto cut = shares(10, 3, 0, false, true);
  CHECK(cut[0] == std::vector<int64_t>{0, 3, 6});
  CHECK(cut[2] == std::vector<int64_t>{2, 5, 8});
  // Fewer examples than ranks: the order repeats as often as needed.
  const auto tiny = shares(2, 5, 0, false, false);
  CHECK(tiny[0] == std::vector<int64_t>{0});
  CHECK(tiny[2] == std::vector<int64_t>{0});
  CHECK(tiny[3] == std::vector<int64_t>{1});
  CHECK(shares(2, 5, 0, false, true)[0].empty());
}

TEST_CASE("DistributedSampler: shuffled shares are disjoint, cover the epoch and change with the epoch", "[datasets][sampler]") {
  for (const int64_t replicas : {1, 2, 3, 4}) {
    for (const int64_t size : {12, 13, 101}) {
      const auto epoch0 = shares(size, replicas, 0, true, false);
      std::map<int64_t, int> seen;
      for (const auto& share : epoch0) {
        CHECK(share.size() == epoch0[0].size());  // equal lengths: every rank runs the same steps
        for (int64_t index : share) ++seen[index];
      }
      CHECK(static_cast<int64_t>(seen.size()) == size);  // every example read
      int repeats = 0;
      for (const auto& [index, count] : seen) repeats += count - 1;
      CHECK(repeats == (replicas - size % replicas) % replicas);  // only the padding repeats
      const auto cut = shares(size, replicas, 0, true, true);
      std::set<int64_t> distinct;
      for (const auto& share : cut) distinct.insert(share.begin(), share.end());
      CHECK(static_cast<int64_t>(distinct.size()) == size / replicas * replicas);  // disjoint
      // Another process with the same options computes the same share; another epoch differs.
      CHECK(shares(size, replicas, 0, true, false) == epoch0);
      CHECK(shares(size, replicas, 1, true, false) != epoch0);
      CHECK(shares(size, replicas, 0, true, false, 8) != epoch0);
    }
  }
}

TEST_CASE("DistributedSampler: a DataLoader reads the rank's share in batches", "[datasets][sampler]") {
  ds::TensorDataset data(zeros({10, 1}), zeros({10}, int64));
  auto sampler = std::make_shared<ds::DistributedSampler>(
      ds::DistributedSamplerOptions{.num_replicas = 3, .rank = 1, .shuffle = false});
  ds::DataLoader loader(data, {.batch_size = 3, .sampler = sampler});
  CHECK(loader.size() == 2);  // 4 examples: batches of 3 and 1
  CHECK_THROWS_WITH(ds::DistributedSampler({.num_replicas = 2, .rank = 2}), Contains("rank 2 is outside [0, 2)"));
  CHECK_THROWS_WITH(ds::DistributedSampler({.num_replicas = 0}), Contains("num_replicas must be at least 1"));
}
