#pragma once
// Data-parallel training for the example programs (issue 16): under `mpirun -np N <example> ...`
// every rank trains the same model on its own 1/N of each epoch (a DistributedSampler) and
// DistributedDataParallel averages the gradients, so the run behaves as one process with an
// N times larger batch; rank 0 alone prints, evaluates and writes files. Started without mpirun
// (or built without MPI) it is a one-process run and changes nothing.
#include <cstdint>
#include <memory>

#include "nabla/nabla.hpp"

namespace nabla::examples {

class DistributedRun {
 public:
  // Joins the job when started by mpirun and wraps `model` in DistributedDataParallel (which
  // copies rank 0's weights to the other ranks); otherwise a one-process run.
  static DistributedRun join(const std::shared_ptr<nn::Module>& model);

  int rank() const { return rank_; }
  int ranks() const { return ranks_; }
  bool is_main() const { return rank_ == 0; }  // prints, evaluates and writes files
  // This rank's share of every epoch, shuffled from (seed, epoch); nullptr in a one-process run
  // (the loader shuffles by itself).
  std::shared_ptr<const datasets::Sampler> sampler(uint64_t seed) const;

 private:
  int rank_ = 0;
  int ranks_ = 1;
  std::shared_ptr<void> data_parallel_;  // the DistributedDataParallel, alive as long as the run
};

// Threads for each rank when --threads is 0: the cores shared among the ranks on this host
// (mpirun's local size), so that ranks do not oversubscribe the machine; 0 outside mpirun.
int threads_per_rank();

}  // namespace nabla::examples
