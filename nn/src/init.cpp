#include "nabla/nn/init.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>
#include <vector>

#include "nabla/autograd/factories.hpp"
#include "nabla/autograd/grad_mode.hpp"
#include "nabla/nn/detail/householder_qr.hpp"

namespace nabla::nn::init {

double calculate_gain(Nonlinearity nonlinearity, double param) {
  switch (nonlinearity) {
    case Nonlinearity::linear:
    case Nonlinearity::sigmoid: return 1.0;
    case Nonlinearity::tanh: return 5.0 / 3.0;
    case Nonlinearity::relu: return std::sqrt(2.0);
    case Nonlinearity::leaky_relu: return std::sqrt(2.0 / (1.0 + param * param));
  }
  return 1.0;
}

std::pair<int64_t, int64_t> calculate_fans(const Shape& shape) {
  if (shape.size() < 2) fail("init: fan in and fan out need a tensor with at least 2 dimensions, got shape {}", shape);
  int64_t receptive = 1;
  for (int64_t i = 2; i < shape.size(); ++i) receptive *= shape[i];
  return {shape[1] * receptive, shape[0] * receptive};
}

namespace {
void check(const Tensor& tensor, const char* op) {
  if (!tensor.defined()) fail("{}: the tensor is undefined", op);
  if (!is_floating(tensor.dtype())) fail("{}: needs a float tensor, got {}", op, tensor.dtype());
}
}  // namespace

Tensor uniform_(const Tensor& tensor, double low, double high, Generator& generator) {
  check(tensor, "uniform_");
  tensor.raw().copy_(kernels::uniform(tensor.shape(), low, high, tensor.dtype(), generator));
  return tensor;
}

Tensor normal_(const Tensor& tensor, double mean, double stddev, Generator& generator) {
  check(tensor, "normal_");
  tensor.raw().copy_(kernels::normal(tensor.shape(), mean, stddev, tensor.dtype(), generator));
  return tensor;
}

Tensor constant_(const Tensor& tensor, double value) {
  check(tensor, "constant_");
  tensor.raw().fill_(value);
  return tensor;
}
Tensor zeros_(const Tensor& tensor) { return constant_(tensor, 0.0); }
Tensor ones_(const Tensor& tensor) { return constant_(tensor, 1.0); }

namespace {
double kaiming_std(const Tensor& tensor, double a, FanMode mode, Nonlinearity nonlinearity) {
  auto [fan_in, fan_out] = calculate_fans(tensor.shape());
  const int64_t fan = mode == FanMode::fan_in ? fan_in : fan_out;
  if (fan == 0) fail("kaiming init: the tensor of shape {} has a zero fan", tensor.shape());
  return calculate_gain(nonlinearity, a) / std::sqrt(static_cast<double>(fan));
}
}  // namespace

Tensor kaiming_uniform_(const Tensor& tensor, double a, FanMode mode, Nonlinearity nonlinearity, Generator& generator) {
  check(tensor, "kaiming_uniform_");
  const double bound = std::sqrt(3.0) * kaiming_std(tensor, a, mode, nonlinearity);
  return uniform_(tensor, -bound, bound, generator);
}

Tensor kaiming_normal_(const Tensor& tensor, double a, FanMode mode, Nonlinearity nonlinearity, Generator& generator) {
  check(tensor, "kaiming_normal_");
  return normal_(tensor, 0.0, kaiming_std(tensor, a, mode, nonlinearity), generator);
}

Tensor xavier_uniform_(const Tensor& tensor, double gain, Generator& generator) {
  check(tensor, "xavier_uniform_");
  auto [fan_in, fan_out] = calculate_fans(tensor.shape());
  const double bound = gain * std::sqrt(6.0 / static_cast<double>(fan_in + fan_out));
  return uniform_(tensor, -bound, bound, generator);
}

Tensor xavier_normal_(const Tensor& tensor, double gain, Generator& generator) {
  check(tensor, "xavier_normal_");
  auto [fan_in, fan_out] = calculate_fans(tensor.shape());
  return normal_(tensor, 0.0, gain * std::sqrt(2.0 / static_cast<double>(fan_in + fan_out)), generator);
}

}  // namespace nabla::nn::init

// ---- structured initialisers (issue 13) ---------------------------------------------------------

namespace nabla::nn::init {

namespace {

// Writes row-major float64 values into the tensor (any layout, any float dtype).
void write_values(const Tensor& tensor, std::vector<double> values) {
  tensor.raw().copy_(kernels::from_vector(values, tensor.shape()));
}

// The inverse of erf on (-1, 1): a rational first guess (Giles, "Approximating the erfinv
// function", 2010), then two Newton steps on erf(x) = y, which take it to double precision.
double erfinv(double y) {
  if (y <= -1.0) return y == -1.0 ? -std::numeric_limits<double>::infinity() : std::numeric_limits<double>::quiet_NaN();
  if (y >= 1.0) return y == 1.0 ? std::numeric_limits<double>::infinity() : std::numeric_limits<double>::quiet_NaN();
  double w = -std::log((1.0 - y) * (1.0 + y));
  double x = 0.0;
  if (w < 5.0) {
    w -= 2.5;
    double p = 2.81022636e-08;
    p = 3.43273939e-07 + p * w;
    p = -3.5233877e-06 + p * w;
    p = -4.39150654e-06 + p * w;
    p = 0.00021858087 + p * w;
    p = -0.00125372503 + p * w;
    p = -0.00417768164 + p * w;
    p = 0.246640727 + p * w;
    p = 1.50140941 + p * w;
    x = p * y;
  } else {
    w = std::sqrt(w) - 3.0;
    double p = -0.000200214257;
    p = 0.000100950558 + p * w;
    p = 0.00134934322 + p * w;
    p = -0.00367342844 + p * w;
    p = 0.00573950773 + p * w;
    p = -0.0076224613 + p * w;
    p = 0.00943887047 + p * w;
    p = 1.00167406 + p * w;
    p = 2.83297682 + p * w;
    x = p * y;
  }
  const double two_over_sqrt_pi = 2.0 / std::sqrt(std::numbers::pi);
  for (int i = 0; i < 2; ++i) x -= (std::erf(x) - y) / (two_over_sqrt_pi * std::exp(-x * x));
  return x;
}

double norm_cdf(double x) { return (1.0 + std::erf(x / std::sqrt(2.0))) / 2.0; }

}  // namespace

Tensor orthogonal_(const Tensor& tensor, double gain, Generator& generator) {
  check(tensor, "orthogonal_");
  if (tensor.dim() < 2) {
    fail("orthogonal_: only tensors with 2 or more dimensions are supported, got shape {}", tensor.shape());
  }
  if (tensor.numel() == 0) return tensor;
  const int64_t rows = tensor.size(0);
  const int64_t cols = tensor.numel() / rows;
  const std::vector<double> normal = kernels::normal({rows, cols}, 0.0, 1.0, float64, generator).to_vector<double>();
  // QR of the tall orientation: the matrix itself, or its transpose when it is wide.
  const bool wide = rows < cols;
  const int64_t m = wide ? cols : rows, n = wide ? rows : cols;
  std::vector<double> tall(static_cast<size_t>(m * n));
  for (int64_t i = 0; i < rows; ++i) {
    for (int64_t j = 0; j < cols; ++j) {
      tall[static_cast<size_t>(wide ? j * n + i : i * n + j)] = normal[static_cast<size_t>(i * cols + j)];
    }
  }
  const detail::QR qr = detail::householder_qr(tall, m, n);
  std::vector<double> values(static_cast<size_t>(rows * cols));
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t j = 0; j < n; ++j) {
      const double diagonal = qr.r[static_cast<size_t>(j * n + j)];
      const double sign = diagonal > 0.0 ? 1.0 : diagonal < 0.0 ? -1.0 : 0.0;  // torch.sign
      const double value = gain * qr.q[static_cast<size_t>(i * n + j)] * sign;
      values[static_cast<size_t>(wide ? j * cols + i : i * cols + j)] = value;
    }
  }
  write_values(tensor, std::move(values));
  return tensor;
}

Tensor trunc_normal_(const Tensor& tensor, double mean, double stddev, double a, double b, Generator& generator) {
  check(tensor, "trunc_normal_");
  if (!(stddev > 0.0) || !std::isfinite(stddev)) fail("trunc_normal_: stddev must be finite and > 0, got {}", stddev);
  if (!(a < b)) fail("trunc_normal_: the interval [a, b] must have a < b, got [{}, {}]", a, b);
  const double low = norm_cdf((a - mean) / stddev);
  const double high = norm_cdf((b - mean) / stddev);
  std::vector<double> values =
      kernels::uniform(tensor.shape(), 2.0 * low - 1.0, 2.0 * high - 1.0, float64, generator).to_vector<double>();
  for (double& v : values) v = std::clamp(erfinv(v) * stddev * std::sqrt(2.0) + mean, a, b);
  write_values(tensor, std::move(values));
  return tensor;
}

Tensor eye_(const Tensor& tensor) {
  check(tensor, "eye_");
  if (tensor.dim() != 2) fail("eye_: only 2-d tensors are supported, got shape {}", tensor.shape());
  const int64_t rows = tensor.size(0), cols = tensor.size(1);
  std::vector<double> values(static_cast<size_t>(rows * cols), 0.0);
  for (int64_t i = 0; i < std::min(rows, cols); ++i) values[static_cast<size_t>(i * cols + i)] = 1.0;
  write_values(tensor, std::move(values));
  return tensor;
}

Tensor dirac_(const Tensor& tensor, int64_t groups) {
  check(tensor, "dirac_");
  const int64_t dims = tensor.dim();
  if (dims < 3 || dims > 5) {
    fail("dirac_: only tensors with 3, 4 or 5 dimensions are supported, got shape {}", tensor.shape());
  }
  if (groups < 1 || tensor.size(0) % groups != 0) {
    fail("dirac_: dim 0 ({}) must be divisible by groups ({})", tensor.size(0), groups);
  }
  const Shape& shape = tensor.shape();
  const int64_t out_per_group = shape[0] / groups;
  const int64_t min_dim = std::min(out_per_group, shape[1]);
  std::vector<double> values(static_cast<size_t>(tensor.numel()), 0.0);
  for (int64_t g = 0; g < groups; ++g) {
    for (int64_t d = 0; d < min_dim; ++d) {
      // index [g * out_per_group + d, d, size(2) / 2, ...] in row-major order
      int64_t offset = (g * out_per_group + d) * shape[1] + d;
      for (int64_t axis = 2; axis < dims; ++axis) offset = offset * shape[axis] + shape[axis] / 2;
      values[static_cast<size_t>(offset)] = 1.0;
    }
  }
  write_values(tensor, std::move(values));
  return tensor;
}

Tensor sparse_(const Tensor& tensor, double sparsity, double stddev, Generator& generator) {
  check(tensor, "sparse_");
  if (tensor.dim() != 2) fail("sparse_: only 2-d tensors are supported, got shape {}", tensor.shape());
  if (!(sparsity >= 0.0 && sparsity <= 1.0)) fail("sparse_: sparsity must be in [0, 1], got {}", sparsity);
  const int64_t rows = tensor.size(0), cols = tensor.size(1);
  const int64_t zeros_per_column = static_cast<int64_t>(std::ceil(sparsity * static_cast<double>(rows)));
  std::vector<double> values = kernels::normal(tensor.shape(), 0.0, stddev, float64, generator).to_vector<double>();
  for (int64_t c = 0; c < cols; ++c) {
    const std::vector<int64_t> order = kernels::randperm(rows, generator).to_vector<int64_t>();
    for (int64_t z = 0; z < zeros_per_column; ++z) {
      values[static_cast<size_t>(order[static_cast<size_t>(z)] * cols + c)] = 0.0;
    }
  }
  write_values(tensor, std::move(values));
  return tensor;
}

}  // namespace nabla::nn::init
