#include "nabla/datasets/dataset.hpp"

#include <algorithm>
#include <cstring>

#include "cache_hint.hpp"
#include "nabla/autograd/factories.hpp"
#include "nabla/autograd/functions.hpp"
#include "nabla/tensor/error.hpp"
#include "nabla/tensor/index.hpp"

namespace nabla::datasets {

void Dataset::check_index(int64_t index, const char* dataset_name) const {
  if (index < 0 || index >= size()) {
    fail("{}: index {} is out of range for a dataset of {} examples (valid: 0..{})", dataset_name,
         index, size(), size() - 1);
  }
}

void Dataset::will_need(std::span<const int64_t> /*indices*/) const {}

Batch Dataset::get_batch(std::span<const int64_t> indices) const {
  if (indices.empty()) fail("Dataset::get_batch: no indices given; a batch needs at least one example");
  std::vector<Tensor> inputs;
  inputs.reserve(indices.size());
  Batch batch;
  batch.targets = nabla::empty({static_cast<int64_t>(indices.size())}, int64);
  int64_t* targets = batch.targets.data_ptr<int64_t>();
  for (size_t row = 0; row < indices.size(); ++row) {
    Example example = get(indices[row]);
    if (row > 0 && !(example.input.shape() == inputs.front().shape())) {
      fail("Dataset::get_batch: example {} has input shape {} but example {} has {}; a batch needs "
           "equal shapes",
           indices[row], example.input.shape(), indices[0], inputs.front().shape());
    }
    inputs.push_back(std::move(example.input));
    targets[row] = example.target;
  }
  batch.inputs = stack(inputs, 0);
  batch.indices.assign(indices.begin(), indices.end());
  return batch;
}

// ---- TensorDataset

TensorDataset::TensorDataset(Tensor inputs, Tensor targets) {
  if (!inputs.defined() || !targets.defined()) fail("TensorDataset: inputs and targets must be defined tensors");
  if (inputs.dim() < 1) {
    fail("TensorDataset: inputs must have at least one axis (the examples), got shape {}", inputs.shape());
  }
  if (targets.dim() != 1) {
    fail("TensorDataset: targets must be 1-d [N] class labels, got shape {}", targets.shape());
  }
  if (targets.dtype() != int64 && targets.dtype() != uint8) {
    fail("TensorDataset: targets must be integer class labels (int64 or uint8), got {}; convert "
         "with .to(nabla::int64)",
         targets.dtype());
  }
  if (inputs.size(0) != targets.size(0)) {
    fail("TensorDataset: inputs {} hold {} examples but targets {} hold {}; the first axes must agree",
         inputs.shape(), inputs.size(0), targets.shape(), targets.size(0));
  }
  inputs_ = inputs.contiguous();
  targets_ = targets.to(int64).contiguous();
}

Example TensorDataset::get(int64_t index) const {
  check_index(index, "TensorDataset");
  return {inputs_.select(0, index).clone(), targets_.data_ptr<int64_t>()[index]};
}

Batch TensorDataset::get_batch(std::span<const int64_t> indices) const {
  for (int64_t index : indices) check_index(index, "TensorDataset::get_batch");
  const int64_t batch_size = static_cast<int64_t>(indices.size());
  Shape shape = inputs_.shape();
  shape[0] = batch_size;
  Batch batch;
  batch.inputs = nabla::empty(shape, inputs_.dtype());
  batch.targets = nabla::empty({batch_size}, int64);
  // One row of the inputs is a contiguous run of bytes: copy whole rows.
  const size_t row_bytes =
      static_cast<size_t>(inputs_.numel() / std::max<int64_t>(inputs_.size(0), 1)) * itemsize(inputs_.dtype());
  const auto* source = static_cast<const uint8_t*>(inputs_.data_ptr());
  auto* destination = static_cast<uint8_t*>(batch.inputs.data_ptr());
  const int64_t* labels = targets_.data_ptr<int64_t>();
  int64_t* targets = batch.targets.data_ptr<int64_t>();
  for (int64_t row = 0; row < batch_size; ++row) {
    const int64_t index = indices[static_cast<size_t>(row)];
    std::memcpy(destination + static_cast<size_t>(row) * row_bytes,
                source + static_cast<size_t>(index) * row_bytes, row_bytes);
    targets[row] = labels[index];
  }
  batch.indices.assign(indices.begin(), indices.end());
  return batch;
}

void TensorDataset::will_need(std::span<const int64_t> indices) const {
  const size_t row_bytes =
      static_cast<size_t>(inputs_.numel() / std::max<int64_t>(inputs_.size(0), 1)) * itemsize(inputs_.dtype());
  detail::prefetch_examples(inputs_.data_ptr(), row_bytes, size(), indices);
}

// ---- Subset

Subset::Subset(const Dataset& base, std::vector<int64_t> indices)
    : base_(base), indices_(std::move(indices)) {
  for (size_t i = 0; i < indices_.size(); ++i) {
    if (indices_[i] < 0 || indices_[i] >= base_.size()) {
      fail("Subset: index {} (entry {}) is out of range for a dataset of {} examples", indices_[i], i,
           base_.size());
    }
  }
}

Example Subset::get(int64_t index) const {
  check_index(index, "Subset");
  return base_.get(indices_[static_cast<size_t>(index)]);
}

Batch Subset::get_batch(std::span<const int64_t> indices) const {
  std::vector<int64_t> mapped(indices.size());
  for (size_t row = 0; row < indices.size(); ++row) {
    check_index(indices[row], "Subset::get_batch");
    mapped[row] = indices_[static_cast<size_t>(indices[row])];
  }
  Batch batch = base_.get_batch(mapped);
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
    if (count == kPiece) base_.will_need({mapped, count}), count = 0;
  }
  if (count > 0) base_.will_need({mapped, count});
}

Subset first_examples(const Dataset& base, int64_t count) {
  const int64_t n = std::clamp<int64_t>(count, 0, base.size());
  std::vector<int64_t> indices(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) indices[static_cast<size_t>(i)] = i;
  return Subset(base, std::move(indices));
}

}  // namespace nabla::datasets
