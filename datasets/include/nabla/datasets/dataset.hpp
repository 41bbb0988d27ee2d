#pragma once
// Datasets: numbered collections of (input, target) examples. A Dataset makes one example with
// get(i) and a whole batch with get_batch(indices); the DataLoader only asks for batches, so a
// dataset that fills its batch in one tight loop is as fast as the data can be copied.
//
// Wrappers (Subset, MapDataset) and the DataLoader hold the dataset they read in one of two ways:
//   - borrowed, when given an lvalue: `DataLoader loader(train)` reads `train`, which must outlive
//     the loader (and the wrapper, and any iteration);
//   - owned, when given an rvalue or a std::shared_ptr: `DataLoader loader(MNIST(dir, Split::train))`
//     moves the dataset in and keeps it alive as long as the loader or an iteration needs it.
// A temporary can therefore never be left dangling.
#include <concepts>
#include <cstdint>
#include <memory>
#include <span>
#include <type_traits>
#include <utility>
#include <vector>

#include "nabla/autograd/tensor.hpp"
#include "nabla/datasets/random_key.hpp"

namespace nabla::datasets {

// One example: an input and a target, each a tensor of any shape and dtype. A class label is a
// 0-d int64 tensor (Example(input, label) makes one); a regression target a float vector; a
// sequence an int64 [T] tensor; a mask or a picture an image. Datasets without targets leave
// target undefined.
struct Example {
  Tensor input = {};
  Tensor target = {};

  Example() = default;
  Example(Tensor input, Tensor target) : input(std::move(input)), target(std::move(target)) {}
  // A classification example: the label becomes a 0-d int64 tensor.
  Example(Tensor input, int64_t label);
};

// A batch of examples stacked along a new first axis: inputs [B, ...the input's shape], targets
// [B, ...the target's shape] (int64 [B] for class labels, int64 [B, T] for sequences of length
// T, ...; undefined when the examples have no targets), and the dataset positions the rows came
// from (row r is example indices[r]).
struct Batch {
  Tensor inputs = {};
  Tensor targets = {};
  std::vector<int64_t> indices = {};
  int64_t size() const { return static_cast<int64_t>(indices.size()); }
};

// The interface the DataLoader reads from.
//
// Contract: size() is fixed for the dataset's lifetime; get and get_batch throw nabla::Error for
// an index outside [0, size()). get, get_batch, get_batch_at and will_need are const and must be
// safe to call from another thread while the dataset is not being modified (the DataLoader calls
// them from its background thread).
class Dataset {
 public:
  virtual ~Dataset() = default;

  virtual int64_t size() const = 0;
  virtual Example get(int64_t index) const = 0;
  // The examples at `indices`, in that order (repeats allowed), as one batch. The default stacks
  // get() results and throws, naming both examples, if their inputs or targets differ in shape
  // or dtype (pad sequences to one length first). Datasets override it with a single loop that
  // writes straight into the batch tensors.
  virtual Batch get_batch(std::span<const int64_t> indices) const;
  // The same batch when its place in the run is known (what the DataLoader calls): `key` says
  // which epoch and which positions of its order the rows are (random_key.hpp). Datasets whose
  // examples are random (MapDataset with a random transform) override it to draw from the key;
  // datasets that wrap another (Subset) override it to pass the key on. The default ignores the
  // key and calls get_batch.
  virtual Batch get_batch_at(std::span<const int64_t> indices, const RandomKey& key) const;
  // A hint that the examples at `indices` will be read soon: datasets held in memory pull their
  // bytes toward the CPU cache so that the next get_batch does not wait on memory (the
  // DataLoader gives it one batch ahead). The default ignores it; so do overrides for indices
  // outside [0, size()).
  virtual void will_need(std::span<const int64_t> indices) const;

 protected:
  // Throws naming `dataset_name` when index is outside [0, size()).
  void check_index(int64_t index, const char* dataset_name) const;
};

// A dataset given by value (an rvalue, moved into a wrapper that then owns it). An lvalue is not
// one: it is borrowed through `const Dataset&` instead.
template <class D>
concept DatasetRvalue = std::derived_from<std::remove_cvref_t<D>, Dataset> && !std::is_lvalue_reference_v<D>;

namespace detail {
// A pointer that does not own `dataset` (a borrowed dataset must outlive its users).
inline std::shared_ptr<const Dataset> borrow(const Dataset& dataset) {
  return std::shared_ptr<const Dataset>(std::shared_ptr<const Dataset>(), &dataset);
}
template <DatasetRvalue D>
std::shared_ptr<const Dataset> own(D&& dataset) {
  return std::make_shared<const std::remove_cvref_t<D>>(std::forward<D>(dataset));
}
// Throws naming `owner` when `dataset` is null.
std::shared_ptr<const Dataset> require(std::shared_ptr<const Dataset> dataset, const char* owner);
}  // namespace detail

// Examples held in memory as tensors whose first axis counts the examples: inputs [N, ...] and
// targets [N, ...], both of any dtype and kept as given (as PyTorch's TensorDataset): int64 [N]
// class labels give int64 [B] batch targets, float [N, K] regression targets float [B, K],
// int64 [N, T] sequences int64 [B, T]. Targets may be left undefined (unlabelled data). Example
// i is (inputs[i], targets[i]); a batch copies whole rows. The tensors are made contiguous once,
// at construction.
// Errors: an undefined or 0-d input; a 0-d target; first axes of different lengths.
class TensorDataset : public Dataset {
 public:
  explicit TensorDataset(Tensor inputs, Tensor targets = {});

  int64_t size() const override { return inputs_.size(0); }
  Example get(int64_t index) const override;
  Batch get_batch(std::span<const int64_t> indices) const override;
  void will_need(std::span<const int64_t> indices) const override;

  const Tensor& inputs() const { return inputs_; }
  const Tensor& targets() const { return targets_; }

 private:
  Tensor inputs_;
  Tensor targets_;
};

// A view of some examples of another dataset, e.g. the first 1000 for a quick run, or a
// validation split. Example i of the subset is example indices[i] of `base`. Borrows an lvalue
// `base` (it must outlive the subset), owns an rvalue or a shared_ptr (see the top of this file).
// Errors: an index outside the base dataset (at construction).
class Subset : public Dataset {
 public:
  Subset(const Dataset& base, std::vector<int64_t> indices) : Subset(detail::borrow(base), std::move(indices)) {}
  template <DatasetRvalue D>
  Subset(D&& base, std::vector<int64_t> indices) : Subset(detail::own(std::forward<D>(base)), std::move(indices)) {}
  Subset(std::shared_ptr<const Dataset> base, std::vector<int64_t> indices);

  int64_t size() const override { return static_cast<int64_t>(indices_.size()); }
  Example get(int64_t index) const override;
  // Batch::indices are positions in the subset (not in `base`).
  Batch get_batch(std::span<const int64_t> indices) const override;
  Batch get_batch_at(std::span<const int64_t> indices, const RandomKey& key) const override;
  void will_need(std::span<const int64_t> indices) const override;

  const Dataset& base() const { return *base_; }
  const std::vector<int64_t>& indices() const { return indices_; }

 private:
  std::shared_ptr<const Dataset> base_;
  std::vector<int64_t> indices_;
};

// The first `count` examples of `base` (all of them if it has fewer); borrows or owns `base` as
// Subset does.
Subset first_examples(const Dataset& base, int64_t count);
Subset first_examples(std::shared_ptr<const Dataset> base, int64_t count);
template <DatasetRvalue D>
Subset first_examples(D&& base, int64_t count) {
  return first_examples(detail::own(std::forward<D>(base)), count);
}

}  // namespace nabla::datasets
