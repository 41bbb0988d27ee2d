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

// ---- structured initialisers (issue 13) -------------------------------------------------------
// A (semi-)orthogonal matrix times gain, for a tensor of 2 or more dimensions viewed as
// [size(0), numel / size(0)]: the Q of the QR decomposition of a standard normal matrix, with
// PyTorch's sign fix (each column times the sign of R's diagonal), so that Q is uniformly
// distributed. Rows are orthonormal when there are fewer rows than columns, else columns are.
Tensor orthogonal_(const Tensor& tensor, double gain = 1.0, Generator& generator = default_generator());
// Normal(mean, stddev) truncated to [a, b], by PyTorch's inverse-CDF method: uniform in
// [2 Phi(a') - 1, 2 Phi(b') - 1] (a', b' standardised), then erfinv, scaled, shifted and clamped.
Tensor trunc_normal_(const Tensor& tensor, double mean = 0.0, double stddev = 1.0, double a = -2.0, double b = 2.0,
                     Generator& generator = default_generator());
// The identity matrix (2-d tensors; ones on the main diagonal of a rectangular one).
Tensor eye_(const Tensor& tensor);
// The Dirac delta for convolution weights [out, in, k...] (3, 4 or 5 dimensions): each of the
// `groups` groups of out / groups output channels passes its first min(out / groups, in) input
// channels through unchanged (a 1 at the kernel's centre), so the convolution is an identity.
Tensor dirac_(const Tensor& tensor, int64_t groups = 1);
// A sparse 2-d matrix: normal(0, stddev) values with ceil(sparsity * rows) elements of each column
// set to zero (rows chosen at random), as in Martens (2010).
Tensor sparse_(const Tensor& tensor, double sparsity, double stddev = 0.01, Generator& generator = default_generator());

}  // namespace nabla::nn::init
