#include "nabla/datasets/dataloader.hpp"

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <exception>
#include <mutex>
#include <thread>

#include "nabla/tensor/error.hpp"
#include "nabla/tensor/random.hpp"

namespace nabla::datasets {

namespace {

// A seed for one epoch's shuffle: (seed, epoch) mixed by SplitMix64's finaliser, so neighbouring
// epochs (and neighbouring seeds) give unrelated streams.
uint64_t epoch_seed(uint64_t seed, int64_t epoch) {
  uint64_t z = seed ^ (0x9E3779B97F4A7C15ULL * (static_cast<uint64_t>(epoch) + 1));
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

}  // namespace

// ---- one epoch's iteration: the order, the consumer's current batch, and the producer thread

struct DataLoader::Iterator::State {
  const Dataset* dataset = nullptr;
  std::vector<int64_t> order;  // the epoch's indices, already cut for drop_last
  int64_t batch_size = 1;
  int64_t num_batches = 0;
  int64_t prefetch = 0;

  // Consumer side.
  Batch current;
  int64_t current_index = -1;

  // Shared with the producer, guarded by mutex.
  std::mutex mutex;
  std::condition_variable batch_ready;   // producer -> consumer
  std::condition_variable space_free;    // consumer (or shutdown) -> producer
  std::deque<Batch> queue;
  bool stopping = false;
  bool producer_done = false;
  std::exception_ptr error;
  std::thread producer;

  ~State() {
    {
      std::lock_guard<std::mutex> lock(mutex);
      stopping = true;
    }
    space_free.notify_all();
    if (producer.joinable()) producer.join();
  }

  // The dataset indices of batch `batch` (the last may be short).
  std::span<const int64_t> indices_of(int64_t batch) const {
    const int64_t begin = batch * batch_size;
    const int64_t end = std::min<int64_t>(begin + batch_size, static_cast<int64_t>(order.size()));
    return {order.data() + begin, static_cast<size_t>(end - begin)};
  }

  Batch make_batch(int64_t batch) const { return dataset->get_batch(indices_of(batch)); }

  int64_t refill_at() const { return prefetch / 2; }

  // Tells the dataset which examples batch `batch` will read.
  void hint(int64_t batch) const { dataset->will_need(indices_of(batch)); }

  void produce() {
    for (int64_t batch = 0; batch < num_batches; ++batch) {
      {
        std::unique_lock<std::mutex> lock(mutex);
        // A full queue is refilled once half of it is consumed: one wake-up per prefetch / 2
        // batches rather than one per batch (which costs more than a small batch takes to make).
        if (static_cast<int64_t>(queue.size()) >= prefetch) {
          space_free.wait(lock, [&] { return stopping || static_cast<int64_t>(queue.size()) <= refill_at(); });
        }
        if (stopping) return;
      }
      Batch made;
      try {
        made = make_batch(batch);
      } catch (...) {
        std::lock_guard<std::mutex> lock(mutex);
        error = std::current_exception();
        producer_done = true;
        batch_ready.notify_one();
        return;
      }
      {
        std::lock_guard<std::mutex> lock(mutex);
        queue.push_back(std::move(made));
      }
      batch_ready.notify_one();
    }
    std::lock_guard<std::mutex> lock(mutex);
    producer_done = true;
    batch_ready.notify_one();
  }

  // Makes the next batch the current one (or moves past the end).
  void advance() {
    ++current_index;
    if (current_index >= num_batches) {
      current = {};
      return;
    }
    if (prefetch == 0) {
      current = make_batch(current_index);
      if (current_index + 1 < num_batches) hint(current_index + 1);
      return;
    }
    std::unique_lock<std::mutex> lock(mutex);
    batch_ready.wait(lock, [&] { return !queue.empty() || producer_done; });
    if (queue.empty()) {
      // The producer stopped on an error: end the iteration and hand the error to the consumer.
      const int64_t missing = current_index;
      current_index = num_batches;
      current = {};
      if (error) std::rethrow_exception(error);
      fail("DataLoader: the background thread stopped before batch {} of {}", missing, num_batches);
    }
    current = std::move(queue.front());
    queue.pop_front();
    const bool wake_producer = static_cast<int64_t>(queue.size()) == refill_at();
    lock.unlock();
    if (wake_producer) space_free.notify_one();
  }
};

// ---- DataLoader

DataLoader::DataLoader(const Dataset& dataset, DataLoaderOptions options)
    : dataset_(dataset), options_(options) {
  if (options.batch_size < 1) fail("DataLoader: batch_size must be at least 1, got {}", options.batch_size);
  if (options.prefetch < 0) {
    fail("DataLoader: prefetch must be 0 (no background thread) or more, got {}", options.prefetch);
  }
}

int64_t DataLoader::size() const {
  const int64_t n = dataset_.size();
  return options_.drop_last ? n / options_.batch_size : (n + options_.batch_size - 1) / options_.batch_size;
}

int64_t DataLoader::num_examples() const {
  return options_.drop_last ? size() * options_.batch_size : dataset_.size();
}

void DataLoader::set_epoch(int64_t epoch) {
  if (epoch < 0) fail("DataLoader::set_epoch: epoch must be non-negative, got {}", epoch);
  epoch_ = epoch;
}

std::vector<int64_t> DataLoader::order(int64_t epoch) const {
  const int64_t n = dataset_.size();
  if (!options_.shuffle) {
    std::vector<int64_t> identity(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) identity[static_cast<size_t>(i)] = i;
    return identity;
  }
  Generator generator(epoch_seed(options_.seed, epoch));
  return kernels::randperm(n, generator).to_vector<int64_t>();
}

DataLoader::Iterator DataLoader::begin() {
  auto state = std::make_unique<Iterator::State>();
  state->dataset = &dataset_;
  state->order = order(epoch_);
  state->order.resize(static_cast<size_t>(num_examples()));
  state->batch_size = options_.batch_size;
  state->num_batches = size();
  state->prefetch = options_.prefetch;
  ++epoch_;
  if (state->prefetch > 0 && state->num_batches > 0) {
    state->producer = std::thread([raw = state.get()] { raw->produce(); });
  }
  state->advance();
  return Iterator(std::move(state));
}

// ---- Iterator

DataLoader::Iterator::Iterator() = default;
DataLoader::Iterator::Iterator(std::unique_ptr<State> state) : state_(std::move(state)) {}
DataLoader::Iterator::Iterator(Iterator&&) noexcept = default;
DataLoader::Iterator& DataLoader::Iterator::operator=(Iterator&&) noexcept = default;
DataLoader::Iterator::~Iterator() = default;

bool DataLoader::Iterator::at_end() const { return !state_ || state_->current_index >= state_->num_batches; }

Batch& DataLoader::Iterator::operator*() const {
  if (at_end()) fail("DataLoader: dereferenced an iterator that is past the last batch");
  return state_->current;
}

DataLoader::Iterator& DataLoader::Iterator::operator++() {
  if (at_end()) fail("DataLoader: incremented an iterator that is past the last batch");
  state_->advance();
  return *this;
}

int64_t DataLoader::Iterator::batch_index() const { return state_ ? state_->current_index : 0; }

}  // namespace nabla::datasets
