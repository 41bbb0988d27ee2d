#include "distributed_run.hpp"

#include <algorithm>
#include <cstdlib>
#include <thread>

#ifdef NABLA_EXAMPLES_DISTRIBUTED
#include "nabla/distributed.hpp"
#endif

namespace nabla::examples {

DistributedRun DistributedRun::join(const std::shared_ptr<nn::Module>& model) {
  DistributedRun run;
#ifdef NABLA_EXAMPLES_DISTRIBUTED
  if (!distributed::launched()) return run;
  distributed::init();
  run.rank_ = distributed::rank();
  run.ranks_ = distributed::world_size();
  run.data_parallel_ = std::make_shared<distributed::DistributedDataParallel>(model);
#endif
  return run;
}

std::shared_ptr<const datasets::Sampler> DistributedRun::sampler(uint64_t seed) const {
  if (ranks_ == 1 && !data_parallel_) return nullptr;
  return std::make_shared<datasets::DistributedSampler>(
      datasets::DistributedSamplerOptions{.num_replicas = ranks_, .rank = rank_, .seed = seed});
}

int threads_per_rank() {
  const char* local_size = std::getenv("OMPI_COMM_WORLD_LOCAL_SIZE");
  if (!local_size) return 0;
  const int ranks_here = std::max(1, std::atoi(local_size));
  return std::max(1, static_cast<int>(std::thread::hardware_concurrency()) / ranks_here);
}

}  // namespace nabla::examples
