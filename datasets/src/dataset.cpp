#include "nabla/datasets/dataset.hpp"

#include <algorithm>
#include <cstring>
#include <string>

#include "cache_hint.hpp"
#include "nabla/autograd/factories.hpp"
#include "nabla/autograd/functions.hpp"
#include "nabla/tensor/error.hpp"

namespace nabla::datasets {

namespace {

// Bytes of one example (one index along axis 0) of a contiguous tensor.
size_t row_bytes(const Tensor& values) {
  return static_cast<size_t>(values.numel() / std::max<int64_t>(values.size(0), 1)) * itemsize(values.dtype());
}

// The rows at `indices` of a contiguous tensor, copied into a new [B, ...] tensor.
Tensor gather_rows(const Tensor& values, std::span<const int64_t> indices) {
  Shape shape = values.shape();
  shape[0] = static_cast<int64_t>(indices.size());
  Tensor rows = nabla::empty(shape, values.dtype());
  const size_t bytes = row_bytes(values);
  const auto* source = static_cast<const uint8_t*>(values.data_ptr());
  auto* destination = static_cast<uint8_t*>(rows.data_ptr());
  for (size_t row = 0; row < indices.size(); ++row) {
    std::memcpy(destination + row * bytes, source + static_cast<size_t>(indices[row]) * bytes, bytes);
  }
  return rows;
}

std::string describe(const Tensor& value) {
  return value.defined() ? fmt::format("{} {}", value.dtype(), value.shape()) : std::string("none (undefined)");
}

// Checks that example `index` can be stacked with example `first_index` (`what`: "input" or
// "target").
void check_stackable(const Tensor& value, const Tensor& first, int64_t index, int64_t first_index, const char* what) {
  const bool agree = value.defined() == first.defined() &&
                     (!value.defined() || (value.dtype() == first.dtype() && value.shape() == first.shape()));
  if (!agree) {
    fail("Dataset::get_batch: example {} has {} {} but example {} has {}; a batch stacks its examples along a new "
         "first axis, so they need one shape and dtype (pad sequences to one length, or use batch_size 1)",
         index, what, describe(value), first_index, describe(first));
  }
}

}  // namespace

Example::Example(Tensor input, int64_t label) : input(std::move(input)), target(scalar_tensor(double(label), int64)) {}

void Dataset::check_index(int64_t index, const char* dataset_name) const {
  if (index < 0 || index >= size()) {
    fail("{}: index {} is out of range for a dataset of {} examples (valid: 0..{})", dataset_name,
         index, size(), size() - 1);
  }
}

void Dataset::will_need(std::span<const int64_t> /*indices*/) const {}

Batch Dataset::get_batch(std::span<const int64_t> indices) const {
  if (indices.empty()) fail("Dataset::get_batch: no indices given; a batch needs at least one example");
  std::vector<Tensor> inputs, targets;
  inputs.reserve(indices.size());
  targets.reserve(indices.size());
  for (size_t row = 0; row < indices.size(); ++row) {
    Example example = get(indices[row]);
    if (row > 0) {
      check_stackable(example.input, inputs.front(), indices[row], indices[0], "input");
      check_stackable(example.target, targets.front(), indices[row], indices[0], "target");
    } else if (!example.input.defined()) {
      fail("Dataset::get_batch: example {} has no input (an undefined tensor); get() must return one", indices[0]);
    }
    inputs.push_back(std::move(example.input));
    targets.push_back(std::move(example.target));
  }
  Batch batch;
  batch.inputs = stack(inputs, 0);
  if (targets.front().defined()) batch.targets = stack(targets, 0);
  batch.indices.assign(indices.begin(), indices.end());
  return batch;
}

Batch Dataset::get_batch_at(std::span<const int64_t> indices, const RandomKey& /*key*/) const {
  return get_batch(indices);
}

std::shared_ptr<const Dataset> detail::require(std::shared_ptr<const Dataset> dataset, const char* owner) {
  if (!dataset) fail("{}: the dataset is a null pointer; pass a dataset (or a shared_ptr holding one)", owner);
  return dataset;
}

// ---- TensorDataset

TensorDataset::TensorDataset(Tensor inputs, Tensor targets) {
  if (!inputs.defined()) fail("TensorDataset: inputs must be a defined tensor");
  if (inputs.dim() < 1) {
    fail("TensorDataset: inputs must have at least one axis (the examples), got shape {}", inputs.shape());
  }
  if (targets.defined()) {
    if (targets.dim() < 1) {
      fail("TensorDataset: targets must have at least one axis (the examples), got shape {}; for one label per "
           "example pass int64 [N]",
           targets.shape());
    }
    if (inputs.size(0) != targets.size(0)) {
      fail("TensorDataset: inputs {} hold {} examples but targets {} hold {}; the first axes must agree",
           inputs.shape(), inputs.size(0), targets.shape(), targets.size(0));
    }
    targets_ = targets.detach().contiguous();
  }
  inputs_ = inputs.detach().contiguous();
}

Example TensorDataset::get(int64_t index) const {
  check_index(index, "TensorDataset");
  return {inputs_.select(0, index).clone(), targets_.defined() ? targets_.select(0, index).clone() : Tensor()};
}

Batch TensorDataset::get_batch(std::span<const int64_t> indices) const {
  for (int64_t index : indices) check_index(index, "TensorDataset::get_batch");
  Batch batch;
  batch.inputs = gather_rows(inputs_, indices);
  if (targets_.defined()) batch.targets = gather_rows(targets_, indices);
  batch.indices.assign(indices.begin(), indices.end());
  return batch;
}

void TensorDataset::will_need(std::span<const int64_t> indices) const {
  detail::prefetch_examples(inputs_.data_ptr(), row_bytes(inputs_), size(), indices);
}

// ---- Subset

Subset::Subset(std::shared_ptr<const Dataset> base, std::vector<int64_t> indices)
    : base_(detail::require(std::move(base), "Subset")), indices_(std::move(indices)) {
  for (size_t i = 0; i < indices_.size(); ++i) {
    if (indices_[i] < 0 || indices_[i] >= base_->size()) {
      fail("Subset: index {} (entry {}) is out of range for a dataset of {} examples", indices_[i], i,
           base_->size());
    }
  }
}

Example Subset::get(int64_t index) const {
  check_index(index, "Subset");
  return base_->get(indices_[static_cast<size_t>(index)]);
}

Batch Subset::get_batch(std::span<const int64_t> indices) const { return get_batch_at(indices, RandomKey{}); }

Batch Subset::get_batch_at(std::span<const int64_t> indices, const RandomKey& key) const {
  std::vector<int64_t> mapped(indices.size());
  for (size_t row = 0; row < indices.size(); ++row) {
    check_index(indices[row], "Subset::get_batch");
    mapped[row] = indices_[static_cast<size_t>(indices[row])];
  }
  Batch batch = base_->get_batch_at(mapped, key);
  batch.indices.assign(indices.begin(), indices.end());
  return batch;
}

void Subset::will_need(std::span<const int64_t> indices) const {
  // Mapped in small pieces on the stack: a hint should not allocate.
  constexpr size_t kPiece = 64;
  int64_t mapped[kPiece];
  size_t count = 0;
  for (int64_t index : indices) {
    if (index < 0 || index >= size()) continue;
    mapped[count++] = indices_[static_cast<size_t>(index)];
    if (count == kPiece) base_->will_need({mapped, count}), count = 0;
  }
  if (count > 0) base_->will_need({mapped, count});
}

Subset first_examples(const Dataset& base, int64_t count) { return first_examples(detail::borrow(base), count); }

Subset first_examples(std::shared_ptr<const Dataset> base, int64_t count) {
  base = detail::require(std::move(base), "first_examples");
  const int64_t n = std::clamp<int64_t>(count, 0, base->size());
  std::vector<int64_t> indices(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) indices[static_cast<size_t>(i)] = i;
  return Subset(std::move(base), std::move(indices));
}

}  // namespace nabla::datasets
