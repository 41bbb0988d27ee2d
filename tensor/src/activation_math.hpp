#pragma once
// Private: the vectorised float32 paths of the activations of pointwise.def (issue 13), defined
// in activations.cpp and named in the entries' vector_kernel column.
#include <cstdint>

namespace nabla::kernels::detail {

// out[i] = in[i] * sigmoid(in[i]).
void silu_floats(const float* __restrict in, float* __restrict out, int64_t n);
// out[i] = in[i] * tanh(softplus(in[i])).
void mish_floats(const float* __restrict in, float* __restrict out, int64_t n);
// out[i] = selu(in[i]).
void selu_floats(const float* __restrict in, float* __restrict out, int64_t n);

}  // namespace nabla::kernels::detail
