#pragma once
// One owner of the cores: nabla's own thread pool runs its kernels, and OpenBLAS is told the
// same thread count. set_num_threads(n) governs both.
#include <cstdint>

#include "nabla/tensor/function_ref.hpp"

namespace nabla {

// Sets the threads used by nabla's kernels and by OpenBLAS. n >= 1.
void set_num_threads(int n);
// Threads nabla uses (default: the number of cores available to the process).
int get_num_threads();

// Splits [begin, end) into at most get_num_threads() contiguous chunks of at least `grain`
// elements and runs fn(chunk_begin, chunk_end) on each. The caller's thread works too: each thread
// takes the next chunk nobody has taken, so one the OS has not scheduled yet leaves its share to
// the others instead of holding them up.
// Runs inline when the range is small, when only one thread is set, or when called from inside
// another parallel_for (no nested parallelism).
void parallel_for(int64_t begin, int64_t end, int64_t grain, FunctionRef<void(int64_t, int64_t)> fn);

// True while the calling thread is running a chunk of a parallel_for.
bool in_parallel_region();

}  // namespace nabla
