#pragma once
// Data-parallel training over MPI (link nabla::distributed): the process group and its
// collectives, and DistributedDataParallel. The DistributedSampler lives with the other samplers
// (<nabla/datasets.hpp>), since it needs no MPI.
#include "nabla/distributed/data_parallel.hpp"
#include "nabla/distributed/process_group.hpp"
#include "nabla/distributed/sync_batch_norm.hpp"
