#pragma once
// Tensor: a strided n-d view (dtype, shape, strides, offset) over shared Storage. Copying a
// Tensor is cheap and shares the data; clone() copies it. Views (reshape, transpose, slice,
// expand, ...) never copy. The tensor layer knows nothing of gradients: see nabla/autograd.
#include <cstdint>
#include <memory>
#include <vector>

#include "nabla/tensor/dims.hpp"
#include "nabla/tensor/dtype.hpp"
#include "nabla/tensor/error.hpp"
#include "nabla/tensor/storage.hpp"

namespace nabla::kernels {

class Tensor {
 public:
  Tensor() = default;
  Tensor(std::shared_ptr<Storage> storage, DType dtype, Shape shape, Strides strides, int64_t offset);

  // A new contiguous tensor with uninitialised contents.
  static Tensor empty(const Shape& shape, DType dtype = float32);

  bool defined() const { return storage_ != nullptr; }
  DType dtype() const { return dtype_; }
  const Shape& shape() const { return shape_; }
  const Strides& strides() const { return strides_; }
  int64_t offset() const { return offset_; }
  int64_t dim() const { return shape_.size(); }
  int64_t size(int64_t axis) const;    // axis may be negative
  int64_t stride(int64_t axis) const;  // in elements
  int64_t numel() const { return shape_numel(shape_); }
  bool is_contiguous() const;
  const std::shared_ptr<Storage>& storage() const { return storage_; }
  bool shares_storage(const Tensor& other) const { return storage_ && storage_ == other.storage_; }

  // Pointer to the first element; T must match dtype() exactly.
  template <class T>
  T* data() const {
    check_dtype(dtype_v<T>, "data");
    return static_cast<T*>(raw_data());
  }
  void* raw_data() const;

  // The value of a one-element tensor, converted to T.
  template <class T = double>
  T item() const;
  // The element at a full index (negative indices count from the end), converted to T.
  template <class T = double>
  T at(std::initializer_list<int64_t> index) const;
  // All elements in row-major order, converted to T.
  template <class T>
  std::vector<T> to_vector() const;

  // ---- copies and conversions
  Tensor contiguous() const;  // this tensor if already contiguous, else a packed copy
  Tensor clone() const;       // always a packed copy
  Tensor to(DType dtype) const;  // this tensor if already of that dtype

  // ---- views (share storage; never copy)
  Tensor view(const Shape& shape) const;     // one axis may be -1; throws if the strides forbid it
  Tensor reshape(const Shape& shape) const;  // a view when possible, else a copy
  Tensor flatten(int64_t start_axis = 0, int64_t end_axis = -1) const;
  Tensor transpose(int64_t axis0, int64_t axis1) const;
  Tensor t() const;  // 2-d transpose
  Tensor permute(const Dims& order) const;
  Tensor squeeze() const;                // drops every size-1 axis
  Tensor squeeze(int64_t axis) const;    // drops `axis` if it has size 1
  Tensor unsqueeze(int64_t axis) const;  // inserts a size-1 axis before `axis` (-1: at the end)
  // Elements start, start+step, ... < end along axis; start/end clamp like Python slices. The step
  // must be positive, as in PyTorch (reverse an axis with flip).
  Tensor slice(int64_t axis, int64_t start, int64_t end, int64_t step = 1) const;
  Tensor narrow(int64_t axis, int64_t start, int64_t length) const;
  Tensor select(int64_t axis, int64_t index) const;  // removes `axis`
  Tensor operator[](int64_t index) const { return select(0, index); }
  Tensor expand(const Shape& shape) const;  // -1 keeps an axis; size-1 axes broadcast by stride 0
  Tensor broadcast_to(const Shape& shape) const { return expand(shape); }

  // ---- in-place (each bumps the storage version). Like the handle itself, these are const: a
  // const Tensor cannot be re-pointed at other storage, but its elements can be written.
  const Tensor& fill_(double value) const;
  const Tensor& zero_() const { return fill_(0.0); }
  const Tensor& copy_(const Tensor& source) const;  // source broadcasts to this shape; dtype converts
  const Tensor& add_(const Tensor& other, double alpha = 1.0) const;  // this += alpha * other
  const Tensor& add_(double value) const;
  const Tensor& sub_(const Tensor& other) const { return add_(other, -1.0); }
  const Tensor& sub_(double value) const { return add_(-value); }
  const Tensor& mul_(const Tensor& other) const;
  const Tensor& mul_(double value) const;
  const Tensor& div_(const Tensor& other) const;
  const Tensor& div_(double value) const { return mul_(1.0 / value); }
  const Tensor& clamp_(double low, double high) const;

  void check_dtype(DType expected, const char* op) const;

 private:
  std::shared_ptr<Storage> storage_;
  Shape shape_;
  Strides strides_;
  int64_t offset_ = 0;
  DType dtype_ = DType::float32;
};

}  // namespace nabla::kernels
