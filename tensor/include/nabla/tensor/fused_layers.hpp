#pragma once
// Fused kernels behind nn's LayerNorm and attention: one pass over each row where the composed
// form would take several, and the attention's score matrix handled one [L, S] block at a time.
#include <cstdint>

#include "nabla/tensor/random.hpp"
#include "nabla/tensor/tensor.hpp"

namespace nabla::kernels {

// ---- layer normalisation over the last `normalized` elements of each row (PyTorch's LayerNorm:
// biased variance, y = (x - mean) / sqrt(var + eps) * weight + bias).
struct LayerNormForward {
  Tensor output;  // x's shape
  Tensor mean;    // [rows], the dtype of x
  Tensor rstd;    // [rows]: 1 / sqrt(var + eps)
};
// weight and bias: [normalized] (either may be undefined).
LayerNormForward layer_norm(const Tensor& x, int64_t normalized, const Tensor& weight, const Tensor& bias, double eps);

struct LayerNormGradients {
  Tensor x, weight, bias;
};
LayerNormGradients layer_norm_backward(const Tensor& grad_output, const Tensor& x, const LayerNormForward& forward,
                                       const Tensor& weight, bool want_x, bool want_weight, bool want_bias);

// ---- scaled dot-product attention, for N independent (batch, head) pairs:
// out[n] = dropout(softmax(q[n] k[n]^T * scale + mask[n] [+ causal])) v[n].
// q [N, L, E], k [N, S, E], v [N, S, Ev]; mask: an additive float mask broadcastable to
// [N, L, S] from [L, S] or [N, L, S] (undefined: none); causal masks positions j > i.
struct AttentionForward {
  Tensor output;         // [N, L, Ev]
  Tensor probabilities;  // [N, L, S], after softmax and before dropout
  Tensor keep;           // [N, L, S] float: the dropout mask scaled by 1/(1-p), or undefined
};
AttentionForward attention(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& mask, bool causal,
                           double scale, double dropout_p, Generator& generator);

struct AttentionGradients {
  Tensor q, k, v;
  Tensor mask;  // [N, L, S]: the gradient of the additive mask (the scores' gradient)
};
// grad_output [N, L, Ev] and grad_weights [N, L, S] (the gradient of the weights after dropout)
// may each be undefined (zero).
AttentionGradients attention_backward(const Tensor& grad_output, const Tensor& grad_weights, const Tensor& q,
                                      const Tensor& k, const Tensor& v, const AttentionForward& forward, double scale,
                                      bool want_q, bool want_k, bool want_v, bool want_mask);

// ---- issue 13: embedding lookups and group normalisation

// The rows of weight [V, D] at int64 indices of any shape: [indices..., D]. Every index must lie
// in [0, V).
Tensor embedding(const Tensor& weight, const Tensor& indices);
// The embedding's adjoint: [num_weights, D] zeros with each row of grad [indices..., D] added to
// the row its index names (an index_add). Rows at padding_idx (when >= 0) get nothing; with
// scale_grad_by_freq each row of grad is first divided by how often its index occurs.
Tensor embedding_backward(const Tensor& grad, const Tensor& indices, int64_t num_weights, int64_t padding_idx,
                          bool scale_grad_by_freq);
// torch.embedding_renorm_: each distinct row of weight named in indices whose norm_type-norm
// exceeds max_norm is scaled, in place, by max_norm / (norm + 1e-7). Returns weight.
const Tensor& embedding_renorm_(const Tensor& weight, const Tensor& indices, double max_norm, double norm_type);

// Group normalisation of x [N, C, ...] (PyTorch's GroupNorm): the C channels split into
// num_groups groups, each (sample, group) normalised over its channels and positions (biased
// variance), then scaled by weight [C] and shifted by bias [C] (either may be undefined).
struct GroupNormForward {
  Tensor output;  // x's shape
  Tensor mean;    // [N, num_groups], the dtype of x
  Tensor rstd;    // [N, num_groups]: 1 / sqrt(var + eps)
};
GroupNormForward group_norm(const Tensor& x, int64_t num_groups, const Tensor& weight, const Tensor& bias, double eps);

struct GroupNormGradients {
  Tensor x, weight, bias;
};
GroupNormGradients group_norm_backward(const Tensor& grad_output, const Tensor& x, const GroupNormForward& forward,
                                       const Tensor& weight, bool want_x, bool want_weight, bool want_bias);

// Batch normalisation of x [N, C, ...] with the batch's statistics (PyTorch's BatchNorm in
// training): each channel normalised over its N x positions values (biased variance), then scaled
// by weight [C] and shifted by bias [C] (either may be undefined).
struct BatchNormForward {
  Tensor output;  // x's shape
  Tensor mean;    // [C], the dtype of x
  Tensor var;     // [C]: the biased variance (the running statistics are the caller's)
  Tensor rstd;    // [C]: 1 / sqrt(var + eps)
};
BatchNormForward batch_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, double eps);

struct BatchNormGradients {
  Tensor x, weight, bias;
};
BatchNormGradients batch_norm_backward(const Tensor& grad_output, const Tensor& x, const BatchNormForward& forward,
                                       const Tensor& weight, bool want_x, bool want_weight, bool want_bias);

}  // namespace nabla::kernels
