#pragma once
// Fused primitives behind nn's LayerNorm and attention layers: each one recorded op whose forward
// and backward are single kernels (nabla/tensor/fused_layers.hpp), with PyTorch's semantics.
// Their second derivatives come from the same computation written with differentiable ops
// (detail::recompute_gradients), so they are twice differentiable like everything else.
#include <optional>

#include "nabla/autograd/tensor.hpp"

namespace nabla {

// Normalises over the trailing dims `normalized_shape` (biased variance), then scales by weight and
// shifts by bias (both of normalized_shape, optional): PyTorch's F.layer_norm.
Tensor layer_norm(const Tensor& x, const Shape& normalized_shape, const Tensor& weight = {}, const Tensor& bias = {},
                  double eps = 1e-5);

struct AttentionResult {
  Tensor output;   // [..., L, Ev]
  Tensor weights;  // [..., L, S]: the attention weights (after dropout), when asked for
};

// softmax(query key^T * scale + mask) value, over the last two dims with any leading (batch,
// head) dims broadcast: PyTorch's F.scaled_dot_product_attention. query [..., L, E],
// key [..., S, E], value [..., S, Ev]. attn_mask broadcasts to [..., L, S]: bool (true = may attend,
// PyTorch's SDPA convention) or float (added to the scores). is_causal masks key j > query i.
// scale defaults to 1 / sqrt(E). Dropout (p > 0) zeroes weights and scales the rest by 1/(1-p).
Tensor scaled_dot_product_attention(const Tensor& query, const Tensor& key, const Tensor& value,
                                    const Tensor& attn_mask = {}, double dropout_p = 0.0, bool is_causal = false,
                                    std::optional<double> scale = std::nullopt,
                                    Generator& generator = default_generator());
// The same, also returning the weights (what MultiheadAttention's need_weights gives).
AttentionResult scaled_dot_product_attention_with_weights(const Tensor& query, const Tensor& key, const Tensor& value,
                                                          const Tensor& attn_mask = {}, double dropout_p = 0.0,
                                                          bool is_causal = false,
                                                          std::optional<double> scale = std::nullopt,
                                                          Generator& generator = default_generator());

// ---- issue 13: embedding lookups and group normalisation

// The rows of weight [V, D] at int64 indices of any shape: [indices..., D] (torch.embedding; note
// the order: weight first, as torch.embedding's, where F.embedding takes the input first). Its
// gradient is an index_add of the output's gradient rows into zeros [V, D]; the row at
// padding_idx (in [0, V)) gets none, and with scale_grad_by_freq each gradient row is divided by
// how often its index occurs in `indices`.
Tensor embedding(const Tensor& weight, const Tensor& indices, std::optional<int64_t> padding_idx = std::nullopt,
                 bool scale_grad_by_freq = false);

// PyTorch's F.group_norm: x [N, C, ...] with its channels split into num_groups groups, each
// (sample, group) normalised over its channels and positions (biased variance), then scaled by
// weight [C] and shifted by bias [C] (both optional).
Tensor group_norm(const Tensor& x, int64_t num_groups, const Tensor& weight = {}, const Tensor& bias = {},
                  double eps = 1e-5);

// Batch normalisation of x [N, C, ...] with the batch's own statistics (what BatchNorm does in
// training; PyTorch's native_batch_norm): each channel normalised over its N x positions values
// (biased variance), scaled by weight [C] and shifted by bias [C] (both optional). Also returns
// the batch mean and biased variance per channel, without gradient, for the running statistics.
struct NativeBatchNorm {
  Tensor output;
  Tensor mean, var;  // [C]
};
NativeBatchNorm native_batch_norm(const Tensor& x, const Tensor& weight = {}, const Tensor& bias = {},
                                  double eps = 1e-5);

}  // namespace nabla
