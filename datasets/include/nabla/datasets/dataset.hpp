#pragma once
// Datasets: numbered collections of (input, class label) examples. A Dataset makes one example
// with get(i) and a whole batch with get_batch(indices); the DataLoader only uses get_batch, so a
// dataset that fills its batch in one tight loop is as fast as the data can be copied.
#include <cstdint>
#include <span>
#include <vector>

#include "nabla/autograd/tensor.hpp"

namespace nabla::datasets {

// One example: its input (for images, float32 [1, H, W]) and its class label.
struct Example {
  Tensor input = {};
  int64_t target = 0;
};

// A batch of examples: inputs [B, ...the example's input shape], targets int64 [B], and the
// dataset positions the rows came from (row r is example indices[r]).
struct Batch {
  Tensor inputs = {};
  Tensor targets = {};
  std::vector<int64_t> indices = {};
  int64_t size() const { return static_cast<int64_t>(indices.size()); }
};

// The interface the DataLoader reads from.
//
// Contract: size() is fixed for the dataset's lifetime; get and get_batch throw nabla::Error for
// an index outside [0, size()). get and get_batch are const and must be safe to call from another
// thread while the dataset is not being modified (the DataLoader calls get_batch from its
// background thread).
class Dataset {
 public:
  virtual ~Dataset() = default;

  virtual int64_t size() const = 0;
  virtual Example get(int64_t index) const = 0;
  // The examples at `indices`, in that order (repeats allowed), as one batch. The default builds
  // it from get() one example at a time; datasets override it with a single loop that writes
  // straight into the batch tensor.
  virtual Batch get_batch(std::span<const int64_t> indices) const;
  // A hint that the examples at `indices` will be read soon: datasets held in memory pull their
  // bytes toward the CPU cache so that the next get_batch does not wait on memory (the
  // DataLoader gives it one batch ahead). The default ignores it; so do overrides for indices
  // outside [0, size()).
  virtual void will_need(std::span<const int64_t> indices) const;

 protected:
  // Throws naming `dataset_name` when index is outside [0, size()).
  void check_index(int64_t index, const char* dataset_name) const;
};

// Examples held in memory as two tensors whose first axis counts the examples: inputs [N, ...]
// (any dtype, kept as given) and targets [N] (int64 or uint8 class labels). Batches have the
// inputs' dtype and shape [B, ...]. The tensors are made contiguous once, at construction.
class TensorDataset : public Dataset {
 public:
  TensorDataset(Tensor inputs, Tensor targets);

  int64_t size() const override { return inputs_.size(0); }
  Example get(int64_t index) const override;
  Batch get_batch(std::span<const int64_t> indices) const override;
  void will_need(std::span<const int64_t> indices) const override;

  const Tensor& inputs() const { return inputs_; }
  const Tensor& targets() const { return targets_; }  // int64 [N]

 private:
  Tensor inputs_;
  Tensor targets_;
};

// A view of some examples of another dataset, e.g. the first 1000 for a quick run, or a
// validation split. Example i of the subset is example indices[i] of `base`.
// `base` must outlive the subset.
class Subset : public Dataset {
 public:
  Subset(const Dataset& base, std::vector<int64_t> indices);
  Subset(const Dataset&& base, std::vector<int64_t> indices) = delete;  // would dangle

  int64_t size() const override { return static_cast<int64_t>(indices_.size()); }
  Example get(int64_t index) const override;
  // Batch::indices are positions in the subset (not in `base`).
  Batch get_batch(std::span<const int64_t> indices) const override;
  void will_need(std::span<const int64_t> indices) const override;

 private:
  const Dataset& base_;
  std::vector<int64_t> indices_;
};

// The first `count` examples of `base` (all of them if it has fewer).
Subset first_examples(const Dataset& base, int64_t count);
Subset first_examples(const Dataset&& base, int64_t count) = delete;  // would dangle

}  // namespace nabla::datasets
