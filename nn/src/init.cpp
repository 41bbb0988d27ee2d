#include "nabla/nn/init.hpp"

#include <cmath>

#include "nabla/autograd/factories.hpp"
#include "nabla/autograd/grad_mode.hpp"

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
