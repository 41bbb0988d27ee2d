#pragma once
// The process group: the processes of one job started by mpirun (or srun), and the collectives
// that move tensors between them (torch.distributed's names and meanings). MPI carries the bytes;
// nabla never opens sockets of its own.
//
//   distributed::init();                        // once, in every process
//   Tensor t = full({4}, distributed::rank());
//   distributed::all_reduce(t);                 // every rank now holds 0 + 1 + ... + (N-1)
//   distributed::Work work = distributed::all_reduce_async(t, distributed::ReduceOp::mean);
//   ...                                         // compute while the reduction runs
//   work.wait();
//
// Every collective is called by every rank, in the same order, with tensors of the same shape and
// dtype (all_gather and reduce_scatter: the shapes below). Collectives write into the tensors they
// are given, in place (the values only: they record nothing on the tape). A contiguous tensor is
// handed to MPI as it is, without a copy; a non-contiguous one goes through a packed copy.
// Tensors of every dtype are accepted; mean needs a floating-point one.
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "nabla/autograd.hpp"

namespace nabla::distributed {

// ---- the job ---------------------------------------------------------------------------------

// True when this process was started by a launcher nabla can join: mpirun/mpiexec (OpenMPI or
// MPICH/Hydra) or Slurm's srun. Programs that also run alone use it to decide whether to init().
bool launched();

// Joins the job: MPI_Init_thread with MPI_THREAD_SERIALIZED (nabla calls MPI from the thread that
// runs backward, one call at a time). Calling it again does nothing. Throws nabla::Error when the
// process was not started by mpirun/srun, or when the MPI library cannot give that thread level.
// MPI is finalised when the program exits; when it exits with a non-zero status (an error one
// rank cannot recover from), the whole job is aborted instead, so the other ranks do not wait for
// it in a collective forever.
void init();
bool is_initialized();
// This process's place in the job, 0 .. world_size() - 1, and the number of processes.
int rank();
int world_size();
// Returns once every rank has called it.
void barrier();
// Ends the whole job at once (MPI_Abort): for an error one rank cannot recover from, so that the
// others do not wait for it in a collective forever.
[[noreturn]] void abort(int exit_code = 1);

// ---- collectives -----------------------------------------------------------------------------

enum class ReduceOp { sum, mean, max, min };  // torch.distributed.ReduceOp SUM, AVG, MAX, MIN

// A collective in flight (torch.distributed's Work). wait() returns once its results are in the
// tensors it was given; a Work that was never waited on is waited on when its last copy goes.
class Work {
 public:
  Work() = default;  // a completed no-op
  void wait();
  bool is_completed();  // true after wait(), or when MPI reports the operation done

  struct State;

 private:
  friend struct WorkAccess;
  std::shared_ptr<State> state_;
};

// Reduces `tensor` over all ranks; every rank receives the result in `tensor`. For bool tensors
// sum and max are "any", min is "all".
void all_reduce(const Tensor& tensor, ReduceOp op = ReduceOp::sum);
Work all_reduce_async(const Tensor& tensor, ReduceOp op = ReduceOp::sum);

// Copies rank `source`'s `tensor` into every other rank's `tensor`.
void broadcast(const Tensor& tensor, int source = 0);
Work broadcast_async(const Tensor& tensor, int source = 0);

// outputs[r] receives rank r's `input` (outputs: world_size() tensors of input's shape and dtype).
void all_gather(const std::vector<Tensor>& outputs, const Tensor& input);
// The same into one tensor: `output` is [world_size() * input.size(0), ...], rank r's input at
// rows r * input.size(0) ... (torch.distributed.all_gather_into_tensor).
void all_gather_into_tensor(const Tensor& output, const Tensor& input);
Work all_gather_into_tensor_async(const Tensor& output, const Tensor& input);

// Reduces `inputs` element-wise over the ranks and gives rank r the reduction of inputs[r]
// (inputs: world_size() tensors of output's shape and dtype).
void reduce_scatter(const Tensor& output, const std::vector<Tensor>& inputs, ReduceOp op = ReduceOp::sum);
// The same from one tensor: `input` is [world_size() * output.size(0), ...]; rank r receives the
// reduction of rows r * output.size(0) ... (torch.distributed.reduce_scatter_tensor).
void reduce_scatter_tensor(const Tensor& output, const Tensor& input, ReduceOp op = ReduceOp::sum);
Work reduce_scatter_tensor_async(const Tensor& output, const Tensor& input, ReduceOp op = ReduceOp::sum);

// ---- small values (bookkeeping: model signatures, unused-parameter flags, timings) -------------

// Every rank's bytes, indexed by rank.
std::vector<std::vector<char>> all_gather_bytes(const std::vector<char>& bytes);

}  // namespace nabla::distributed
