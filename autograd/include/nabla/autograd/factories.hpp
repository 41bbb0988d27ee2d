#pragma once
// Ways to make a Tensor: constants, ranges, identity, C++ containers and random draws. Results are
// leaves that require no grad; call .requires_grad_() on one to train it:
//   Tensor w = randn({784, 10}).requires_grad_();
#include <initializer_list>
#include <vector>

#include "nabla/autograd/tensor.hpp"

namespace nabla {

Tensor empty(const Shape& shape, DType dtype = float32);
Tensor zeros(const Shape& shape, DType dtype = float32);
Tensor ones(const Shape& shape, DType dtype = float32);
Tensor full(const Shape& shape, double value, DType dtype = float32);
// Shaped and typed like `like`.
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
Tensor from_vector(const std::vector<T>& values, const Shape& shape = {}) {
  return Tensor(kernels::from_vector(values, shape));
}
// Literal values in a given dtype: tensor({1, 2, 3, 4}, {2, 2}); for bool, non-zero is true.
Tensor tensor(std::initializer_list<double> values, const Shape& shape = {}, DType dtype = float32);

// ---- random draws (reproducible: each takes a Generator, default_generator() when omitted)
// Uniform in [low, high).
Tensor uniform(const Shape& shape, double low, double high, DType dtype = float32,
               Generator& generator = default_generator());
Tensor rand(const Shape& shape, DType dtype = float32, Generator& generator = default_generator());
// Normal with mean and standard deviation.
Tensor normal(const Shape& shape, double mean, double stddev, DType dtype = float32,
              Generator& generator = default_generator());
Tensor randn(const Shape& shape, DType dtype = float32, Generator& generator = default_generator());
// 1 with probability p, else 0.
Tensor bernoulli(const Shape& shape, double p, DType dtype = float32, Generator& generator = default_generator());
// Integers uniform in [low, high), int64.
Tensor randint(int64_t low, int64_t high, const Shape& shape, Generator& generator = default_generator());
// A random permutation of 0..n-1, int64.
Tensor randperm(int64_t n, Generator& generator = default_generator());

// ---- issue 13: sampling (no gradient)
// Draws shaped and typed like `like`: uniform in [0, 1), standard normal (float tensors only), and
// integers in [low, high) in like's dtype.
Tensor rand_like(const Tensor& like, Generator& generator = default_generator());
Tensor randn_like(const Tensor& like, Generator& generator = default_generator());
Tensor randint_like(const Tensor& like, int64_t low, int64_t high, Generator& generator = default_generator());
Tensor randint_like(const Tensor& like, int64_t high, Generator& generator = default_generator());
// int64 category indices drawn from the rows of weights `probabilities` (1-d [categories] ->
// [num_samples]; 2-d [rows, categories] -> [rows, num_samples]; finite, non-negative, not all
// zero, need not sum to 1). Without replacement a category appears at most once per row.
Tensor multinomial(const Tensor& probabilities, int64_t num_samples, bool replacement = false,
                   Generator& generator = default_generator());

}  // namespace nabla
