#include "nabla/datasets/dataloader.hpp"

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <exception>
#include <mutex>
#include <thread>

#include "nabla/tensor/error.hpp"

namespace nabla::datasets {

namespace {

// The stream the loader's own batch transforms draw from, apart from the dataset's (which gets
// the batch's key as it is).
constexpr uint64_t kLoaderTransformStream = 0x6c6f61646572ULL;  // "loader"

}  // namespace

// ---- one epoch's iteration: the order, the consumer's current batch, and the producer thread

struct DataLoader::Iterator::State {
  std::shared_ptr<const Dataset> dataset;  // shares ownership when the loader owns the dataset
  std::vector<int64_t> order;  // the epoch's indices, already cut for drop_last
  int64_t batch_size = 1;
  int64_t num_batches = 0;
  int64_t prefetch = 0;
  uint64_t seed = 0;
  int64_t epoch = 0;
  Transform transform, target_transform;

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

  // Batch `batch`: made by the dataset, then transformed, with the key of its place in the epoch.
  Batch make_batch(int64_t batch) const {
    const RandomKey key{.seed = seed, .epoch = epoch, .position = batch * batch_size};
    Batch made = dataset->get_batch_at(indices_of(batch), key);
    if (transform || target_transform) {
      const RandomKey transform_key = key.fold_in(kLoaderTransformStream);
      if (transform) made.inputs = transform(made.inputs, transform_key);
      if (target_transform && made.targets.defined()) made.targets = target_transform(made.targets, transform_key);
    }
    return made;
  }

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
    : DataLoader(detail::borrow(dataset), std::move(options)) {}

DataLoader::DataLoader(std::shared_ptr<const Dataset> dataset, DataLoaderOptions options)
    : dataset_(detail::require(std::move(dataset), "DataLoader")), options_(std::move(options)) {
  if (options_.batch_size < 1) fail("DataLoader: batch_size must be at least 1, got {}", options_.batch_size);
  if (options_.prefetch < 0) {
    fail("DataLoader: prefetch must be 0 (no background thread) or more, got {}", options_.prefetch);
  }
  if (options_.sampler && options_.shuffle) {
    fail("DataLoader: got both shuffle = true and a sampler; the sampler decides the order, so leave shuffle "
         "false (for a random order pass RandomSampler)");
  }
  if (options_.sampler) {
    sampler_ = options_.sampler;
  } else if (options_.shuffle) {
    sampler_ = std::make_shared<RandomSampler>(RandomSamplerOptions{.seed = options_.seed});
  } else {
    sampler_ = std::make_shared<SequentialSampler>();
  }
}

int64_t DataLoader::size() const {
  const int64_t n = sampler_->length(dataset_->size(), epoch_);
  return options_.drop_last ? n / options_.batch_size : (n + options_.batch_size - 1) / options_.batch_size;
}

int64_t DataLoader::num_examples() const {
  return options_.drop_last ? size() * options_.batch_size : sampler_->length(dataset_->size(), epoch_);
}

void DataLoader::set_epoch(int64_t epoch) {
  if (epoch < 0) fail("DataLoader::set_epoch: epoch must be non-negative, got {}", epoch);
  epoch_ = epoch;
}

std::vector<int64_t> DataLoader::order(int64_t epoch) const {
  if (epoch < 0) fail("DataLoader::order: epoch must be non-negative, got {}", epoch);
  return sampler_->order(dataset_->size(), epoch);
}

DataLoader::Iterator DataLoader::begin() {
  const int64_t dataset_size = dataset_->size();
  std::vector<int64_t> indices = order(epoch_);
  // Checked once here, so that a bad sampler is named as such rather than as a failing batch.
  for (size_t position = 0; position < indices.size(); ++position) {
    if (indices[position] < 0 || indices[position] >= dataset_size) {
      fail("DataLoader: the sampler's order for epoch {} has index {} at position {}, but the dataset has {} "
           "examples (valid: 0..{}); the sampler was made for another dataset",
           epoch_, indices[position], position, dataset_size, dataset_size - 1);
    }
  }
  const int64_t batch_size = options_.batch_size;
  const int64_t length = static_cast<int64_t>(indices.size());
  const int64_t num_batches = options_.drop_last ? length / batch_size : (length + batch_size - 1) / batch_size;
  if (options_.drop_last) indices.resize(static_cast<size_t>(num_batches * batch_size));

  auto state = std::make_unique<Iterator::State>();
  state->dataset = dataset_;
  state->order = std::move(indices);
  state->batch_size = batch_size;
  state->num_batches = num_batches;
  state->prefetch = options_.prefetch;
  state->seed = options_.seed;
  state->epoch = epoch_;
  state->transform = options_.transform;
  state->target_transform = options_.target_transform;
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
