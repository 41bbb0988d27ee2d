#pragma once
// Parameter initialisers (in place, like torch.nn.init). Each takes a tensor handle (writes go to
// its storage, unrecorded, as under NoGradGuard) and an optional generator, so initialisation is
// reproducible; each returns the same handle.
#include <utility>

#include "nabla/autograd/tensor.hpp"

namespace nabla::nn::init {

enum class FanMode { fan_in, fan_out };
enum class Nonlinearity { linear, sigmoid, tanh, relu, leaky_relu };

// The recommended gain for a nonlinearity (PyTorch's calculate_gain); `param` is leaky_relu's slope.
double calculate_gain(Nonlinearity nonlinearity, double param = 0.01);
// (fan_in, fan_out) of a weight: [out, in] for linear, [out, in, kh, kw] for convolution.
std::pair<int64_t, int64_t> calculate_fans(const Shape& shape);

Tensor uniform_(const Tensor& tensor, double low = 0.0, double high = 1.0, Generator& generator = default_generator());
Tensor normal_(const Tensor& tensor, double mean = 0.0, double stddev = 1.0, Generator& generator = default_generator());
Tensor constant_(const Tensor& tensor, double value);
Tensor zeros_(const Tensor& tensor);
Tensor ones_(const Tensor& tensor);
// He initialisation: bound = gain * sqrt(3 / fan); `a` is the leaky_relu slope used for the gain.
Tensor kaiming_uniform_(const Tensor& tensor, double a = 0.0, FanMode mode = FanMode::fan_in,
                      Nonlinearity nonlinearity = Nonlinearity::leaky_relu, Generator& generator = default_generator());
Tensor kaiming_normal_(const Tensor& tensor, double a = 0.0, FanMode mode = FanMode::fan_in,
                     Nonlinearity nonlinearity = Nonlinearity::leaky_relu, Generator& generator = default_generator());
// Glorot initialisation: bound = gain * sqrt(6 / (fan_in + fan_out)).
Tensor xavier_uniform_(const Tensor& tensor, double gain = 1.0, Generator& generator = default_generator());
Tensor xavier_normal_(const Tensor& tensor, double gain = 1.0, Generator& generator = default_generator());

}  // namespace nabla::nn::init
