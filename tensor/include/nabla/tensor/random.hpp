#pragma once
// Reproducible random numbers. Every random op takes a Generator (or uses default_generator());
// the streams depend only on the seed, not on the standard library, so runs repeat exactly.
#include <cstdint>
#include <string>

#include "nabla/tensor/tensor.hpp"

namespace nabla {

class Generator {
 public:
  explicit Generator(uint64_t seed = 0x6e61626c61ULL) { manual_seed(seed); }
  void manual_seed(uint64_t seed);
  uint64_t next_u64();
  double uniform();  // in [0, 1), 53 random bits
  double normal();   // standard normal (Box-Muller, caches its second value)
  // Uniform integer in [0, n).
  uint64_t below(uint64_t n);

  // Full state as text, for checkpoints; set_state restores it exactly.
  std::string state() const;
  void set_state(const std::string& state);

 private:
  uint64_t s_[4] = {};  // xoshiro256**
  bool has_spare_normal_ = false;
  double spare_normal_ = 0.0;
};

// The process-wide generator used when none is given (module initialisers, dropout, ...).
Generator& default_generator();
void manual_seed(uint64_t seed);

}  // namespace nabla

namespace nabla::kernels {

// Uniform in [low, high).
Tensor uniform(const Shape& shape, double low, double high, DType dtype = float32,
               Generator& generator = default_generator());
Tensor rand(const Shape& shape, DType dtype = float32, Generator& generator = default_generator());
// Normal with mean and standard deviation.
Tensor normal(const Shape& shape, double mean, double stddev, DType dtype = float32,
              Generator& generator = default_generator());
Tensor randn(const Shape& shape, DType dtype = float32, Generator& generator = default_generator());
// 1 with probability p, else 0.
Tensor bernoulli(const Shape& shape, double p, DType dtype = float32,
                 Generator& generator = default_generator());
// Integers uniform in [low, high), int64.
Tensor randint(int64_t low, int64_t high, const Shape& shape,
               Generator& generator = default_generator());
// A random permutation of 0..n-1, int64 (Fisher-Yates).
Tensor randperm(int64_t n, Generator& generator = default_generator());

// ---- issue 13: sampling
// Category indices drawn from the rows of `probabilities` (1-d [categories] or 2-d [rows,
// categories]; weights that are finite, non-negative and not all zero, summing to anything):
// int64 [num_samples] or [rows, num_samples]. Without replacement a row's categories are drawn
// at most once each, as PyTorch's are (the num_samples largest of weight / Exp(1) draws; as in
// PyTorch, a row with fewer positive weights than num_samples ends with zero-weight categories).
Tensor multinomial(const Tensor& probabilities, int64_t num_samples, bool replacement = false,
                   Generator& generator = default_generator());
// Draws shaped and typed like `like`: uniform in [0, 1), standard normal (float tensors), and
// integers in [low, high) converted to like's dtype (any dtype that holds them).
Tensor rand_like(const Tensor& like, Generator& generator = default_generator());
Tensor randn_like(const Tensor& like, Generator& generator = default_generator());
Tensor randint_like(const Tensor& like, int64_t low, int64_t high, Generator& generator = default_generator());
Tensor randint_like(const Tensor& like, int64_t high, Generator& generator = default_generator());
// Fill x in place (in row-major order, so with the draws the factories make for x's shape):
// uniform in [from, to), normal(mean, stddev), and 1 with probability p (a number, or a tensor of
// probabilities that broadcasts to x's shape) else 0.
const Tensor& uniform_(const Tensor& x, double from = 0.0, double to = 1.0, Generator& generator = default_generator());
const Tensor& normal_(const Tensor& x, double mean = 0.0, double stddev = 1.0, Generator& generator = default_generator());
const Tensor& bernoulli_(const Tensor& x, double p = 0.5, Generator& generator = default_generator());
const Tensor& bernoulli_(const Tensor& x, const Tensor& p, Generator& generator = default_generator());

}  // namespace nabla::kernels
