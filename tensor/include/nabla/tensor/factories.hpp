#pragma once
// Ways to make a tensor: constants, ranges, identity, and from C++ containers.
#include <initializer_list>
#include <vector>

#include "nabla/tensor/tensor.hpp"

namespace nabla::kernels {

Tensor empty(const Shape& shape, DType dtype = float32);
Tensor zeros(const Shape& shape, DType dtype = float32);
Tensor ones(const Shape& shape, DType dtype = float32);
Tensor full(const Shape& shape, double value, DType dtype = float32);
Tensor empty_like(const Tensor& like);
Tensor zeros_like(const Tensor& like);
Tensor ones_like(const Tensor& like);
Tensor full_like(const Tensor& like, double value);
// A 0-d tensor holding value.
Tensor scalar_tensor(double value, DType dtype = float32);

// start, start+step, ... < end (like numpy.arange).
Tensor arange(double start, double end, double step = 1.0, DType dtype = float32);
// 0, 1, ..., end-1 as int64.
Tensor arange(int64_t end, DType dtype = int64);
// `steps` evenly spaced values from start to end inclusive.
Tensor linspace(double start, double end, int64_t steps, DType dtype = float32);
// rows x cols identity (cols < 0: square).
Tensor eye(int64_t rows, int64_t cols = -1, DType dtype = float32);

// Copies values into a new tensor of `shape` (empty shape: 1-d of values.size()).
// The dtype follows T (float -> float32, double -> float64, int64_t -> int64, int32_t -> int32,
// uint8_t -> uint8, bool -> bool).
template <class T>
Tensor from_vector(const std::vector<T>& values, const Shape& shape = {});
// Literal values in a given dtype: tensor({1, 2, 3, 4}, {2, 2}). Converted as .to() converts
// (for bool: non-zero is true).
Tensor tensor(std::initializer_list<double> values, const Shape& shape = {}, DType dtype = float32);

}  // namespace nabla::kernels
