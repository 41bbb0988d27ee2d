// Sampling: categories from weights (multinomial), draws shaped like a tensor (*_like), and
// in-place fills. Every draw comes from a Generator in row-major order, so results repeat exactly.
#include <algorithm>
#include <cmath>
#include <vector>

#include "nabla/tensor/elementwise.hpp"
#include "nabla/tensor/random.hpp"
#include "nabla/tensor/threads.hpp"

namespace nabla::kernels {

namespace {

void check_defined(const Tensor& x, const char* op) {
  if (!x.defined()) fail("{}: the tensor is undefined", op);
}

void check_floating(const Tensor& x, const char* op) {
  check_defined(x, op);
  if (!is_floating(x.dtype())) {
    fail("{}: draws real numbers, so it needs a float tensor; got {} (for integers use random integers: "
         "randint_like)", op, x.dtype());
  }
}

// An in-place fill writes each element once: a broadcast (stride-0) view cannot take one.
void check_fillable(const Tensor& x, const char* op) {
  check_defined(x, op);
  for (int64_t i = 0; i < x.dim(); ++i) {
    if (x.strides()[i] == 0 && x.shape()[i] > 1) {
      fail("{}: the tensor of shape {} is an expanded view (stride 0 on axis {}); its elements share memory, "
           "so they cannot each get a draw. Call .clone() first.", op, x.shape(), i);
    }
  }
}

// Checks the rows of weights as PyTorch checks them.
void check_weights(const double* weights, int64_t rows, int64_t categories, const Shape& shape) {
  for (int64_t row = 0; row < rows; ++row) {
    double total = 0.0;
    for (int64_t c = 0; c < categories; ++c) {
      const double w = weights[row * categories + c];
      if (!std::isfinite(w) || w < 0.0) {
        fail("multinomial: probability tensor contains either inf, nan or element < 0 ({} at category {} of row "
             "{}); weights must be finite and non-negative", w, c, row);
      }
      total += w;
    }
    if (total <= 0.0) {
      fail("multinomial: invalid multinomial distribution (sum of probabilities <= 0): row {} of shape {} is all "
           "zeros", row, shape);
    }
  }
}

}  // namespace

Tensor multinomial(const Tensor& probabilities, int64_t num_samples, bool replacement, Generator& generator) {
  check_defined(probabilities, "multinomial");
  if (probabilities.dim() < 1 || probabilities.dim() > 2) {
    fail("multinomial: prob_dist must be 1 or 2 dim: got shape {} (one row of category weights, or a batch of "
         "rows)", probabilities.shape());
  }
  if (!is_floating(probabilities.dtype())) {
    fail("multinomial: only supports floating-point dtypes for input, got {}", probabilities.dtype());
  }
  if (num_samples <= 0) fail("multinomial: cannot sample n_sample <= 0 samples (num_samples = {})", num_samples);
  const int64_t categories = probabilities.size(-1);
  if (!replacement && num_samples > categories) {
    fail("multinomial: cannot sample n_sample > prob_dist.size(-1) samples without replacement ({} samples, {} "
         "categories); pass replacement = true to draw categories repeatedly", num_samples, categories);
  }
  if (categories > (int64_t(1) << 24)) fail("multinomial: number of categories cannot exceed 2^24, got {}", categories);
  const int64_t rows = probabilities.dim() == 2 ? probabilities.size(0) : 1;
  // float64 working copies in the allocator's cached blocks (a std::vector of this size would be
  // fresh pages, faulted in and zeroed, on every call).
  const Tensor weights_tensor = probabilities.to(DType::float64).contiguous();
  const double* weights = weights_tensor.data<double>();
  check_weights(weights, rows, categories, probabilities.shape());

  Shape out_shape = probabilities.dim() == 2 ? Shape{rows, num_samples} : Shape{num_samples};
  Tensor out = Tensor::empty(out_shape, DType::int64);
  int64_t* samples = out.data<int64_t>();
  // The generator's draws first, in row order (one per category without replacement, one per
  // sample with it); then the rows are independent and threads share them.
  const bool exponential_keys = !replacement || num_samples == 1;
  const int64_t draws_per_row = exponential_keys ? categories : num_samples;
  const Tensor uniforms_tensor = Tensor::empty({rows * draws_per_row}, DType::float64);
  double* uniforms = uniforms_tensor.data<double>();
  for (int64_t i = 0; i < rows * draws_per_row; ++i) uniforms[i] = generator.uniform();
  parallel_for(0, rows, std::max<int64_t>(1, 4096 / categories), [&](int64_t lo, int64_t hi) {
    std::vector<double> scratch(static_cast<size_t>(categories));
    std::vector<int64_t> order(static_cast<size_t>(categories));
    for (int64_t row = lo; row < hi; ++row) {
      const double* w = weights + row * categories;
      const double* u = uniforms + row * draws_per_row;
      int64_t* drawn = samples + row * num_samples;
      if (exponential_keys) {
        // The categories of the num_samples largest w / q, q ~ Exp(1): a draw without replacement
        // in proportion to the weights (the exponential form of the Gumbel-max trick).
        for (int64_t c = 0; c < categories; ++c) {
          const double q = -std::log(1.0 - u[c]);  // 1 - uniform() is in (0, 1]
          scratch[static_cast<size_t>(c)] = w[c] / q;
        }
        for (int64_t c = 0; c < categories; ++c) order[static_cast<size_t>(c)] = c;
        auto larger = [&](int64_t a, int64_t b) {
          const double ka = scratch[static_cast<size_t>(a)], kb = scratch[static_cast<size_t>(b)];
          return ka > kb || (ka == kb && a < b);
        };
        std::partial_sort(order.begin(), order.begin() + num_samples, order.end(), larger);
        std::copy(order.begin(), order.begin() + num_samples, drawn);
      } else {
        // Inverse transform: the first category whose running total exceeds a uniform draw.
        double total = 0.0;
        for (int64_t c = 0; c < categories; ++c) scratch[static_cast<size_t>(c)] = total += w[c];
        int64_t last_positive = categories - 1;
        while (w[last_positive] == 0.0) --last_positive;
        for (int64_t s = 0; s < num_samples; ++s) {
          const int64_t c = std::upper_bound(scratch.begin(), scratch.end(), u[s] * total) - scratch.begin();
          drawn[s] = std::min(c, last_positive);  // u rounding up to total lands on the last weighted category
        }
      }
    }
  });
  return out;
}

Tensor rand_like(const Tensor& like, Generator& generator) {
  check_floating(like, "rand_like");
  return rand(like.shape(), like.dtype(), generator);
}

Tensor randn_like(const Tensor& like, Generator& generator) {
  check_floating(like, "randn_like");
  return randn(like.shape(), like.dtype(), generator);
}

Tensor randint_like(const Tensor& like, int64_t low, int64_t high, Generator& generator) {
  check_defined(like, "randint_like");
  if (low >= high) fail("randint_like: low {} must be less than high {}", low, high);
  // The integers each dtype holds exactly (int64 holds every draw).
  if (like.dtype() != DType::int64) {
    double lowest = -9007199254740992.0, highest = 9007199254740992.0;  // float64: 2^53
    switch (like.dtype()) {
      case DType::float32: lowest = -16777216.0, highest = 16777216.0; break;  // 2^24
      case DType::int32: lowest = -2147483648.0, highest = 2147483647.0; break;
      case DType::uint8: lowest = 0.0, highest = 255.0; break;
      case DType::bool_: lowest = 0.0, highest = 1.0; break;
      default: break;
    }
    if (static_cast<double>(low) < lowest || static_cast<double>(high - 1) > highest) {
      fail("randint_like: the range [{}, {}) does not fit {}, which holds the integers {} to {} exactly", low, high,
           like.dtype(), lowest, highest);
    }
  }
  return randint(low, high, like.shape(), generator).to(like.dtype());
}

Tensor randint_like(const Tensor& like, int64_t high, Generator& generator) {
  return randint_like(like, 0, high, generator);
}

const Tensor& uniform_(const Tensor& x, double from, double to, Generator& generator) {
  check_floating(x, "uniform_");
  check_fillable(x, "uniform_");
  if (!(from <= to)) fail("uniform_: expects to return a [from, to) range, but found from = {} > to = {}", from, to);
  return x.copy_(uniform(x.shape(), from, to, x.dtype(), generator));
}

const Tensor& normal_(const Tensor& x, double mean, double stddev, Generator& generator) {
  check_floating(x, "normal_");
  check_fillable(x, "normal_");
  if (!(stddev >= 0.0)) fail("normal_: expects stddev >= 0.0, but found stddev {}", stddev);
  return x.copy_(normal(x.shape(), mean, stddev, x.dtype(), generator));
}

const Tensor& bernoulli_(const Tensor& x, double p, Generator& generator) {
  check_fillable(x, "bernoulli_");
  if (!(p >= 0.0 && p <= 1.0)) fail("bernoulli_: expects p to be in [0, 1], but got p = {}", p);
  return x.copy_(bernoulli(x.shape(), p, x.dtype(), generator));
}

const Tensor& bernoulli_(const Tensor& x, const Tensor& p, Generator& generator) {
  check_fillable(x, "bernoulli_");
  check_defined(p, "bernoulli_");
  if (!is_floating(p.dtype())) fail("bernoulli_: the probabilities must be a float tensor, got {}", p.dtype());
  if (broadcast_shapes(p.shape(), x.shape(), "bernoulli_") != x.shape()) {
    fail("bernoulli_: probabilities of shape {} do not broadcast to the tensor's shape {}", p.shape(), x.shape());
  }
  const std::vector<double> probabilities = p.expand(x.shape()).to_vector<double>();
  for (double value : probabilities) {
    if (!(value >= 0.0 && value <= 1.0)) fail("bernoulli_: every probability must be in [0, 1], got {}", value);
  }
  Tensor draws = Tensor::empty(x.shape(), x.dtype());
  dispatch(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    T* out = draws.data<T>();
    for (size_t i = 0; i < probabilities.size(); ++i) out[i] = generator.uniform() < probabilities[i] ? T(1) : T(0);
  });
  return x.copy_(draws);
}

}  // namespace nabla::kernels
