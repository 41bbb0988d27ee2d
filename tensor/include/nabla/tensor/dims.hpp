#pragma once
// Dims: a small fixed-capacity list of int64 used for shapes and strides. Tensors are created
// and destroyed on every op, so shapes live inline (no heap allocation per tensor).
#include <array>
#include <cstdint>
#include <initializer_list>
#include <span>
#include <string>
#include <vector>

#include <fmt/format.h>

namespace nabla {

class Dims {
 public:
  static constexpr int64_t kMaxDims = 8;

  Dims() = default;
  Dims(std::initializer_list<int64_t> values);
  Dims(std::span<const int64_t> values);
  Dims(const std::vector<int64_t>& values) : Dims(std::span<const int64_t>(values)) {}
  // n copies of value.
  static Dims filled(int64_t n, int64_t value);

  int64_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  int64_t& operator[](int64_t i) { return values_[static_cast<size_t>(i)]; }
  int64_t operator[](int64_t i) const { return values_[static_cast<size_t>(i)]; }
  int64_t* begin() { return values_.data(); }
  int64_t* end() { return values_.data() + size_; }
  const int64_t* begin() const { return values_.data(); }
  const int64_t* end() const { return values_.data() + size_; }
  const int64_t* data() const { return values_.data(); }
  int64_t back() const { return values_[static_cast<size_t>(size_ - 1)]; }
  int64_t front() const { return values_[0]; }

  void push_back(int64_t value);
  void pop_back() { --size_; }
  void insert(int64_t position, int64_t value);
  void erase(int64_t position);
  void resize(int64_t n, int64_t value = 0);

  std::vector<int64_t> vec() const { return {begin(), end()}; }
  friend bool operator==(const Dims& a, const Dims& b);

 private:
  std::array<int64_t, kMaxDims> values_{};
  int64_t size_ = 0;
};

using Shape = Dims;
using Strides = Dims;

// Product of the extents (1 for a 0-d shape).
int64_t shape_numel(const Shape& shape);
// Row-major (C-order) strides, in elements, for a shape.
Strides contiguous_strides(const Shape& shape);
// Wraps a possibly negative axis into [0, ndim); throws naming `op` when out of range.
int64_t normalize_axis(int64_t axis, int64_t ndim, const char* op);
// "[2, 3, 4]".
std::string to_string(const Dims& dims);

}  // namespace nabla

template <>
struct fmt::formatter<nabla::Dims> : fmt::formatter<std::string> {
  auto format(const nabla::Dims& dims, fmt::format_context& ctx) const {
    return fmt::formatter<std::string>::format(nabla::to_string(dims), ctx);
  }
};
