// The process group on MPI: joining the job, and collectives on tensors. Each collective is one
// non-blocking MPI call (MPI_Iallreduce, ...) on the tensor's own memory when it is contiguous; the
// blocking forms start it and wait. A Work owns what the call needs until it completes: the
// tensors (so their storage stays alive), a packed copy for a non-contiguous tensor, and what to do
// once the bytes have arrived (copy back, divide for a mean).
#include "nabla/distributed/process_group.hpp"

#include <mpi.h>

#include <climits>
#include <cstdlib>
#include <string>

namespace nabla::distributed {

// ---- the job ---------------------------------------------------------------------------------

bool launched() {
  // OpenMPI's mpirun, PMIx-based launchers, MPICH/Hydra (PMI), and Slurm's srun.
  for (const char* variable : {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK", "PMI_SIZE", "SLURM_PROCID"}) {
    if (std::getenv(variable)) return true;
  }
  return false;
}

namespace {

// Ends MPI when the program exits. A normal exit (status 0) finalises; a failed one (a rank that
// returns 1 from main after printing its error) aborts the whole job instead: MPI_Finalize waits
// for every rank, and the others may be waiting in a collective for this one, so finalising would
// hang the job. glibc's on_exit passes the exit status; elsewhere every exit finalises.
void end_mpi(int status, void*) {
  int initialized = 0, finalized = 0;
  MPI_Initialized(&initialized);
  MPI_Finalized(&finalized);
  if (!initialized || finalized) return;
  int ranks = 1;
  MPI_Comm_size(MPI_COMM_WORLD, &ranks);
  if (status != 0 && ranks > 1) MPI_Abort(MPI_COMM_WORLD, status);
  MPI_Finalize();
}

void end_mpi_at_exit() {
#ifdef __GLIBC__
  on_exit(end_mpi, nullptr);
#else
  std::atexit([] { end_mpi(0, nullptr); });
#endif
}

void require_initialized(const char* what) {
  if (!is_initialized()) {
    fail("distributed::{}: the process group is not initialised; call distributed::init() first (in every "
         "process of the job, started with mpirun -np N)", what);
  }
}

const char* thread_level_name(int level) {
  switch (level) {
    case MPI_THREAD_SINGLE: return "MPI_THREAD_SINGLE";
    case MPI_THREAD_FUNNELED: return "MPI_THREAD_FUNNELED";
    case MPI_THREAD_SERIALIZED: return "MPI_THREAD_SERIALIZED";
    case MPI_THREAD_MULTIPLE: return "MPI_THREAD_MULTIPLE";
    default: return "an unknown level";
  }
}

}  // namespace

void init() {
  if (is_initialized()) return;
  if (!launched()) {
    fail("distributed::init: this process was not started by mpirun or srun (none of OMPI_COMM_WORLD_SIZE, "
         "PMIX_RANK, PMI_RANK, SLURM_PROCID is set); launch the program as mpirun -np N <program> [args], or "
         "check distributed::launched() and train in one process without init()");
  }
  int provided = MPI_THREAD_SINGLE;
  if (MPI_Init_thread(nullptr, nullptr, MPI_THREAD_SERIALIZED, &provided) != MPI_SUCCESS) {
    fail("distributed::init: MPI_Init_thread failed");
  }
  if (provided < MPI_THREAD_SERIALIZED) {
    MPI_Finalize();
    fail("distributed::init: this MPI library gives only {} but nabla needs MPI_THREAD_SERIALIZED (it calls MPI "
         "from the thread that runs backward); use an MPI built with thread support (Debian's OpenMPI has it)",
         thread_level_name(provided));
  }
  end_mpi_at_exit();
}

bool is_initialized() {
  int initialized = 0, finalized = 0;
  MPI_Initialized(&initialized);
  MPI_Finalized(&finalized);
  return initialized && !finalized;
}

int rank() {
  require_initialized("rank");
  int value = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &value);
  return value;
}

int world_size() {
  require_initialized("world_size");
  int value = 0;
  MPI_Comm_size(MPI_COMM_WORLD, &value);
  return value;
}

void barrier() {
  require_initialized("barrier");
  MPI_Barrier(MPI_COMM_WORLD);
}

void abort(int exit_code) {
  if (is_initialized()) MPI_Abort(MPI_COMM_WORLD, exit_code);
  std::exit(exit_code);
}

// ---- Work --------------------------------------------------------------------------------------

struct Work::State {
  MPI_Request request = MPI_REQUEST_NULL;
  bool done = false;
  std::vector<kernels::Tensor> keep_alive;  // the tensors MPI reads and writes
  std::function<void()> on_complete;        // copy back, divide: run once, after the bytes arrived

  void finish() {
    if (done) return;
    MPI_Wait(&request, MPI_STATUS_IGNORE);
    done = true;
    if (on_complete) on_complete();
    on_complete = nullptr;
    keep_alive.clear();
  }
  ~State() {
    // A collective must complete before its memory goes; errors cannot leave a destructor.
    if (!done) {
      MPI_Wait(&request, MPI_STATUS_IGNORE);
      try {
        if (on_complete) on_complete();
      } catch (...) {
      }
    }
  }
};

struct WorkAccess {
  static Work make(std::shared_ptr<Work::State> state) {
    Work work;
    work.state_ = std::move(state);
    return work;
  }
};

void Work::wait() {
  if (state_) state_->finish();
}

bool Work::is_completed() {
  if (!state_ || state_->done) return true;
  int flag = 0;
  MPI_Test(&state_->request, &flag, MPI_STATUS_IGNORE);
  if (flag) {
    state_->request = MPI_REQUEST_NULL;  // MPI_Test freed it; finish() waits on a null request
    state_->finish();
  }
  return flag != 0;
}

// ---- collectives -------------------------------------------------------------------------------

namespace {

MPI_Datatype mpi_type(DType dtype) {
  switch (dtype) {
    case DType::float32: return MPI_FLOAT;
    case DType::float64: return MPI_DOUBLE;
    case DType::int64: return MPI_INT64_T;
    case DType::int32: return MPI_INT32_T;
    case DType::uint8: return MPI_UINT8_T;
    case DType::bool_: return MPI_UINT8_T;  // bytes 0/1: max is "any", min "all"
  }
  fail("distributed: unsupported dtype {}", dtype);
}

MPI_Op mpi_op(ReduceOp op, DType dtype, const char* what) {
  const bool floating = dtype == DType::float32 || dtype == DType::float64;
  if (op == ReduceOp::mean && !floating) {
    fail("distributed::{}: mean needs a floating-point tensor, got {}; reduce with sum and divide, or convert "
         "with .to(float32)", what, dtype);
  }
  if (dtype == DType::bool_) return op == ReduceOp::min ? MPI_MIN : MPI_MAX;
  switch (op) {
    case ReduceOp::sum:
    case ReduceOp::mean: return MPI_SUM;
    case ReduceOp::max: return MPI_MAX;
    case ReduceOp::min: return MPI_MIN;
  }
  return MPI_SUM;
}

int mpi_count(int64_t numel, const char* what) {
  if (numel > INT_MAX) {
    fail("distributed::{}: {} elements exceed MPI's int count ({}); split the tensor into chunks", what, numel,
         INT_MAX);
  }
  return static_cast<int>(numel);
}

// The memory MPI works on for `tensor`: its own when contiguous, else a packed copy that is
// copied back when the collective completes (if it writes the tensor).
struct Operand {
  kernels::Tensor target;
  kernels::Tensor buffer;
  bool packed = false;
};

Operand operand(const Tensor& tensor, const char* what, const char* role) {
  if (!tensor.defined()) fail("distributed::{}: the {} tensor is undefined", what, role);
  Operand result{tensor.raw(), tensor.raw(), false};
  if (!result.target.is_contiguous()) {
    result.buffer = result.target.contiguous();
    result.packed = true;
  }
  return result;
}

// What runs when a collective that wrote `out` completes: copy back a packed buffer, divide for a
// mean, and bump the storage version so that a backward that saved the tensor refuses it.
std::function<void()> completion(const Operand& out, double divide_by = 1.0) {
  return [target = out.target, buffer = out.buffer, packed = out.packed, divide_by] {
    if (divide_by != 1.0) buffer.div_(divide_by);
    if (packed) target.copy_(buffer);
    target.storage()->bump_version();
  };
}

Work start(std::shared_ptr<Work::State> state, int status, const char* what) {
  if (status != MPI_SUCCESS) fail("distributed::{}: MPI returned error {}", what, status);
  return WorkAccess::make(std::move(state));
}

void check_same(const Tensor& a, const Tensor& b, const char* what, const char* names) {
  if (a.dtype() != b.dtype()) fail("distributed::{}: {} have dtypes {} and {}; they must match", what, names, a.dtype(), b.dtype());
}

}  // namespace

Work all_reduce_async(const Tensor& tensor, ReduceOp op) {
  require_initialized("all_reduce");
  const Operand data = operand(tensor, "all_reduce", "input");
  const MPI_Op reduction = mpi_op(op, tensor.dtype(), "all_reduce");
  auto state = std::make_shared<Work::State>();
  state->keep_alive = {data.target, data.buffer};
  state->on_complete = completion(data, op == ReduceOp::mean ? world_size() : 1.0);
  const int status = MPI_Iallreduce(MPI_IN_PLACE, data.buffer.raw_data(), mpi_count(tensor.numel(), "all_reduce"),
                                    mpi_type(tensor.dtype()), reduction, MPI_COMM_WORLD, &state->request);
  return start(std::move(state), status, "all_reduce");
}

void all_reduce(const Tensor& tensor, ReduceOp op) { all_reduce_async(tensor, op).wait(); }

Work broadcast_async(const Tensor& tensor, int source) {
  require_initialized("broadcast");
  if (source < 0 || source >= world_size()) {
    fail("distributed::broadcast: source rank {} is outside the job's ranks 0 .. {}", source, world_size() - 1);
  }
  const Operand data = operand(tensor, "broadcast", "input");
  auto state = std::make_shared<Work::State>();
  state->keep_alive = {data.target, data.buffer};
  state->on_complete = completion(data);
  const int status = MPI_Ibcast(data.buffer.raw_data(), mpi_count(tensor.numel(), "broadcast"),
                                mpi_type(tensor.dtype()), source, MPI_COMM_WORLD, &state->request);
  return start(std::move(state), status, "broadcast");
}

void broadcast(const Tensor& tensor, int source) { broadcast_async(tensor, source).wait(); }

Work all_gather_into_tensor_async(const Tensor& output, const Tensor& input) {
  require_initialized("all_gather_into_tensor");
  const char* what = "all_gather_into_tensor";
  const Operand in = operand(input, what, "input");
  const Operand out = operand(output, what, "output");
  check_same(output, input, what, "output and input");
  const int ranks = world_size();
  if (output.numel() != input.numel() * ranks || (input.dim() > 0 && output.dim() > 0 && output.shape()[0] != input.shape()[0] * ranks)) {
    fail("distributed::{}: output has shape {} but {} ranks' inputs of shape {} need [{} * size(0), ...]; make "
         "the output {} times as long along axis 0", what, output.shape(), ranks, input.shape(), ranks, ranks);
  }
  auto state = std::make_shared<Work::State>();
  state->keep_alive = {in.target, in.buffer, out.target, out.buffer};
  state->on_complete = completion(out);
  const int count = mpi_count(input.numel(), what);
  const int status = MPI_Iallgather(in.buffer.raw_data(), count, mpi_type(input.dtype()), out.buffer.raw_data(), count,
                                    mpi_type(input.dtype()), MPI_COMM_WORLD, &state->request);
  return start(std::move(state), status, what);
}

void all_gather_into_tensor(const Tensor& output, const Tensor& input) {
  all_gather_into_tensor_async(output, input).wait();
}

void all_gather(const std::vector<Tensor>& outputs, const Tensor& input) {
  require_initialized("all_gather");
  const int ranks = world_size();
  if (static_cast<int>(outputs.size()) != ranks) {
    fail("distributed::all_gather: got {} output tensors for {} ranks; give one per rank", outputs.size(), ranks);
  }
  for (size_t r = 0; r < outputs.size(); ++r) {
    if (!outputs[r].defined() || outputs[r].shape() != input.shape() || outputs[r].dtype() != input.dtype()) {
      fail("distributed::all_gather: outputs[{}] is {} {}, but the input is {} {}; every output must have the "
           "input's shape and dtype", r, outputs[r].defined() ? to_string(outputs[r].shape()) : "undefined",
           outputs[r].defined() ? dtype_name(outputs[r].dtype()) : "", input.shape(), input.dtype());
    }
  }
  Shape stacked = input.shape();
  stacked.insert(0, ranks);
  const Tensor gathered(kernels::Tensor::empty(stacked, input.dtype()));
  all_gather_into_tensor(gathered.reshape({-1}), input.reshape({-1}));
  for (int r = 0; r < ranks; ++r) {
    outputs[static_cast<size_t>(r)].raw().copy_(gathered.raw().select(0, r));
    outputs[static_cast<size_t>(r)].raw().storage()->bump_version();
  }
}

Work reduce_scatter_tensor_async(const Tensor& output, const Tensor& input, ReduceOp op) {
  require_initialized("reduce_scatter_tensor");
  const char* what = "reduce_scatter_tensor";
  const Operand in = operand(input, what, "input");
  const Operand out = operand(output, what, "output");
  check_same(output, input, what, "output and input");
  const int ranks = world_size();
  if (input.numel() != output.numel() * ranks || (input.dim() > 0 && output.dim() > 0 && input.shape()[0] != output.shape()[0] * ranks)) {
    fail("distributed::{}: input has shape {} but {} ranks' outputs of shape {} need [{} * size(0), ...]; make "
         "the input {} times as long along axis 0", what, input.shape(), ranks, output.shape(), ranks, ranks);
  }
  const MPI_Op reduction = mpi_op(op, input.dtype(), what);
  auto state = std::make_shared<Work::State>();
  state->keep_alive = {in.target, in.buffer, out.target, out.buffer};
  state->on_complete = completion(out, op == ReduceOp::mean ? ranks : 1.0);
  const int status =
      MPI_Ireduce_scatter_block(in.buffer.raw_data(), out.buffer.raw_data(), mpi_count(output.numel(), what),
                                mpi_type(input.dtype()), reduction, MPI_COMM_WORLD, &state->request);
  return start(std::move(state), status, what);
}

void reduce_scatter_tensor(const Tensor& output, const Tensor& input, ReduceOp op) {
  reduce_scatter_tensor_async(output, input, op).wait();
}

void reduce_scatter(const Tensor& output, const std::vector<Tensor>& inputs, ReduceOp op) {
  require_initialized("reduce_scatter");
  const int ranks = world_size();
  if (static_cast<int>(inputs.size()) != ranks) {
    fail("distributed::reduce_scatter: got {} input tensors for {} ranks; give one per rank", inputs.size(), ranks);
  }
  for (size_t r = 0; r < inputs.size(); ++r) {
    if (!inputs[r].defined() || inputs[r].shape() != output.shape() || inputs[r].dtype() != output.dtype()) {
      fail("distributed::reduce_scatter: inputs[{}] is {} {}, but the output is {} {}; every input must have the "
           "output's shape and dtype", r, inputs[r].defined() ? to_string(inputs[r].shape()) : "undefined",
           inputs[r].defined() ? dtype_name(inputs[r].dtype()) : "", output.shape(), output.dtype());
    }
  }
  Shape stacked = output.shape();
  stacked.insert(0, ranks);
  const kernels::Tensor packed = kernels::Tensor::empty(stacked, output.dtype());
  for (int r = 0; r < ranks; ++r) packed.select(0, r).copy_(inputs[static_cast<size_t>(r)].raw());
  const Tensor result(kernels::Tensor::empty(output.shape(), output.dtype()));
  reduce_scatter_tensor(result.reshape({-1}), Tensor(packed).reshape({-1}), op);
  output.raw().copy_(result.raw());
  output.raw().storage()->bump_version();
}

// ---- small values ------------------------------------------------------------------------------

std::vector<std::vector<char>> all_gather_bytes(const std::vector<char>& bytes) {
  require_initialized("all_gather_bytes");
  const int ranks = world_size();
  const int size = mpi_count(static_cast<int64_t>(bytes.size()), "all_gather_bytes");
  std::vector<int> sizes(static_cast<size_t>(ranks));
  MPI_Allgather(&size, 1, MPI_INT, sizes.data(), 1, MPI_INT, MPI_COMM_WORLD);
  std::vector<int> offsets(static_cast<size_t>(ranks));
  int64_t total = 0;
  for (int r = 0; r < ranks; ++r) {
    offsets[static_cast<size_t>(r)] = static_cast<int>(total);
    total += sizes[static_cast<size_t>(r)];
  }
  std::vector<char> all(static_cast<size_t>(mpi_count(total, "all_gather_bytes")));
  MPI_Allgatherv(bytes.data(), size, MPI_CHAR, all.data(), sizes.data(), offsets.data(), MPI_CHAR, MPI_COMM_WORLD);
  std::vector<std::vector<char>> result(static_cast<size_t>(ranks));
  for (int r = 0; r < ranks; ++r) {
    const char* begin = all.data() + offsets[static_cast<size_t>(r)];
    result[static_cast<size_t>(r)].assign(begin, begin + sizes[static_cast<size_t>(r)]);
  }
  return result;
}

}  // namespace nabla::distributed
