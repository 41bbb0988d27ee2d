// Factories: the tensor layer's arrays, handed out as leaves that require no grad.
#include "nabla/autograd/factories.hpp"

namespace nabla {

Tensor empty(const Shape& shape, DType dtype) { return kernels::empty(shape, dtype); }
Tensor zeros(const Shape& shape, DType dtype) { return kernels::zeros(shape, dtype); }
Tensor ones(const Shape& shape, DType dtype) { return kernels::ones(shape, dtype); }
Tensor full(const Shape& shape, double value, DType dtype) { return kernels::full(shape, value, dtype); }
Tensor empty_like(const Tensor& like) { return kernels::empty_like(like.raw()); }
Tensor zeros_like(const Tensor& like) { return kernels::zeros_like(like.raw()); }
Tensor ones_like(const Tensor& like) { return kernels::ones_like(like.raw()); }
Tensor full_like(const Tensor& like, double value) { return kernels::full_like(like.raw(), value); }
Tensor scalar_tensor(double value, DType dtype) { return kernels::scalar_tensor(value, dtype); }
Tensor arange(double start, double end, double step, DType dtype) { return kernels::arange(start, end, step, dtype); }
Tensor arange(int64_t end, DType dtype) { return kernels::arange(end, dtype); }
Tensor linspace(double start, double end, int64_t steps, DType dtype) { return kernels::linspace(start, end, steps, dtype); }
Tensor eye(int64_t rows, int64_t cols, DType dtype) { return kernels::eye(rows, cols, dtype); }
Tensor tensor(std::initializer_list<double> values, const Shape& shape, DType dtype) {
  return kernels::tensor(values, shape, dtype);
}

Tensor uniform(const Shape& shape, double low, double high, DType dtype, Generator& generator) {
  return kernels::uniform(shape, low, high, dtype, generator);
}
Tensor rand(const Shape& shape, DType dtype, Generator& generator) { return kernels::rand(shape, dtype, generator); }
Tensor normal(const Shape& shape, double mean, double stddev, DType dtype, Generator& generator) {
  return kernels::normal(shape, mean, stddev, dtype, generator);
}
Tensor randn(const Shape& shape, DType dtype, Generator& generator) { return kernels::randn(shape, dtype, generator); }
Tensor bernoulli(const Shape& shape, double p, DType dtype, Generator& generator) {
  return kernels::bernoulli(shape, p, dtype, generator);
}
Tensor randint(int64_t low, int64_t high, const Shape& shape, Generator& generator) {
  return kernels::randint(low, high, shape, generator);
}
Tensor randperm(int64_t n, Generator& generator) { return kernels::randperm(n, generator); }

// ---- issue 13: sampling
Tensor rand_like(const Tensor& like, Generator& generator) { return kernels::rand_like(like.raw(), generator); }
Tensor randn_like(const Tensor& like, Generator& generator) { return kernels::randn_like(like.raw(), generator); }
Tensor randint_like(const Tensor& like, int64_t low, int64_t high, Generator& generator) {
  return kernels::randint_like(like.raw(), low, high, generator);
}
Tensor randint_like(const Tensor& like, int64_t high, Generator& generator) {
  return kernels::randint_like(like.raw(), high, generator);
}
Tensor multinomial(const Tensor& probabilities, int64_t num_samples, bool replacement, Generator& generator) {
  return kernels::multinomial(probabilities.raw(), num_samples, replacement, generator);
}

}  // namespace nabla
