#pragma once
// Attention and transformer layers as PyTorch's: LayerNorm, MultiheadAttention (packed
// in_proj_weight layout, key_padding_mask and attn_mask boolean or additive, need_weights averaged
// or per head, batch_first, kdim/vdim), TransformerEncoderLayer / TransformerEncoder and
// TransformerDecoderLayer / TransformerDecoder (norm_first, relu or gelu, layer_norm_eps,
// batch_first), and sinusoidal and learned positional encodings. Parameter names and
// initialisation are PyTorch's, so a state_dict from PyTorch loads by name.
//
// Masks follow PyTorch's module conventions: in MultiheadAttention and the transformer layers a
// boolean mask is true where attention is NOT allowed (and a float mask is added to the scores);
// nabla::scaled_dot_product_attention takes PyTorch 2's functional convention instead (true where
// attention IS allowed).
#include <cstdint>
#include <optional>
#include <string>
#include <tuple>

#include "nabla/nn/layers.hpp"
#include "nabla/nn/module.hpp"

namespace nabla::nn {

struct LayerNormOptions {
  Shape normalized_shape;
  double eps = 1e-5;
  bool elementwise_affine = true;  // learnable weight (ones) and bias (zeros) of normalized_shape
  bool bias = true;                // with elementwise_affine: learn the bias too
};

// Normalises each sample over its trailing normalized_shape dims (PyTorch's LayerNorm).
class LayerNorm : public Module {
 public:
  explicit LayerNorm(const LayerNormOptions& options);
  explicit LayerNorm(const Shape& normalized_shape, double eps = 1e-5)
      : LayerNorm(LayerNormOptions{.normalized_shape = normalized_shape, .eps = eps}) {}
  Tensor forward(const Tensor& input) override;
  std::string extra_repr() const override;
  const LayerNormOptions& options() const { return options_; }
  Tensor weight, bias;

 private:
  LayerNormOptions options_;
};

struct MultiheadAttentionOptions {
  int64_t embed_dim = 0;
  int64_t num_heads = 1;
  double dropout = 0.0;  // on the attention weights, while training
  bool bias = true;      // in_proj_bias and out_proj.bias
  int64_t kdim = 0;      // key features (0: embed_dim)
  int64_t vdim = 0;      // value features (0: embed_dim)
  bool batch_first = false;
};

// Multi-head attention. Parameters: in_proj_weight [3E, E] and in_proj_bias [3E] (or, when
// kdim or vdim differ from E, q_proj_weight [E, E], k_proj_weight [E, kdim], v_proj_weight [E, vdim]),
// and out_proj (a Linear(E, E)).
class MultiheadAttention : public Module {
 public:
  explicit MultiheadAttention(const MultiheadAttentionOptions& options);
  MultiheadAttention(int64_t embed_dim, int64_t num_heads)
      : MultiheadAttention(MultiheadAttentionOptions{.embed_dim = embed_dim, .num_heads = num_heads}) {}

  // query [L, B, E] (batch_first [B, L, E], unbatched [L, E]); key [S, B, kdim]; value [S, B, vdim].
  // key_padding_mask [B, S] (true or -inf: ignore that key); attn_mask [L, S] or [B*num_heads, L, S].
  // Returns the output [L, B, E] and, with need_weights, the weights [B, L, S] averaged over heads
  // (or [B, num_heads, L, S]); the weights are undefined without need_weights.
  std::tuple<Tensor, Tensor> forward(const Tensor& query, const Tensor& key, const Tensor& value,
                                     const Tensor& key_padding_mask = {}, bool need_weights = true,
                                     const Tensor& attn_mask = {}, bool average_attn_weights = true,
                                     bool is_causal = false);
  std::string extra_repr() const override;
  const MultiheadAttentionOptions& options() const { return options_; }

  Tensor in_proj_weight, q_proj_weight, k_proj_weight, v_proj_weight, in_proj_bias;
  Shared<Linear> out_proj;

 private:
  MultiheadAttentionOptions options_;
};

struct TransformerLayerOptions {
  int64_t d_model = 0;
  int64_t nhead = 1;
  int64_t dim_feedforward = 2048;
  double dropout = 0.1;
  std::string activation = "relu";  // "relu" or "gelu"
  double layer_norm_eps = 1e-5;
  bool batch_first = false;
  bool norm_first = false;  // pre-norm (LayerNorm before each block) instead of post-norm
};

// Self-attention and a feed-forward block, each with a residual connection and LayerNorm.
// Submodules: self_attn, linear1, dropout, linear2, norm1, norm2, dropout1, dropout2.
class TransformerEncoderLayer : public Module {
 public:
  explicit TransformerEncoderLayer(const TransformerLayerOptions& options);
  Tensor forward(const Tensor& src, const Tensor& src_mask, const Tensor& src_key_padding_mask = {}, bool is_causal = false);
  Tensor forward(const Tensor& src) override { return forward(src, Tensor()); }
  const TransformerLayerOptions& options() const { return options_; }

  Shared<MultiheadAttention> self_attn;
  Shared<Linear> linear1;
  Shared<Dropout> dropout;
  Shared<Linear> linear2;
  Shared<LayerNorm> norm1, norm2;
  Shared<Dropout> dropout1, dropout2;

 private:
  TransformerLayerOptions options_;
};

// A stack of num_layers encoder layers starting from identical weights (copies of `layer`, as
// PyTorch's deep copies), then an optional final norm. Submodules: layers.0, layers.1, ..., norm.
class TransformerEncoder : public Module {
 public:
  TransformerEncoder(const TransformerEncoderLayer& layer, int64_t num_layers, std::optional<LayerNorm> norm = std::nullopt);
  Tensor forward(const Tensor& src, const Tensor& mask, const Tensor& src_key_padding_mask = {}, bool is_causal = false);
  Tensor forward(const Tensor& src) override { return forward(src, Tensor()); }

  Shared<ModuleList> layers;
  Shared<LayerNorm> norm;  // null without a final norm
};

// Self-attention, attention over the encoder's output (memory), and a feed-forward block.
// Submodules: self_attn, multihead_attn, linear1, dropout, linear2, norm1..3, dropout1..3.
class TransformerDecoderLayer : public Module {
 public:
  explicit TransformerDecoderLayer(const TransformerLayerOptions& options);
  Tensor forward(const Tensor& tgt, const Tensor& memory, const Tensor& tgt_mask = {}, const Tensor& memory_mask = {},
                 const Tensor& tgt_key_padding_mask = {}, const Tensor& memory_key_padding_mask = {},
                 bool tgt_is_causal = false);
  const TransformerLayerOptions& options() const { return options_; }

  Shared<MultiheadAttention> self_attn, multihead_attn;
  Shared<Linear> linear1;
  Shared<Dropout> dropout;
  Shared<Linear> linear2;
  Shared<LayerNorm> norm1, norm2, norm3;
  Shared<Dropout> dropout1, dropout2, dropout3;

 private:
  TransformerLayerOptions options_;
};

class TransformerDecoder : public Module {
 public:
  TransformerDecoder(const TransformerDecoderLayer& layer, int64_t num_layers, std::optional<LayerNorm> norm = std::nullopt);
  Tensor forward(const Tensor& tgt, const Tensor& memory, const Tensor& tgt_mask = {}, const Tensor& memory_mask = {},
                 const Tensor& tgt_key_padding_mask = {}, const Tensor& memory_key_padding_mask = {},
                 bool tgt_is_causal = false);

  Shared<ModuleList> layers;
  Shared<LayerNorm> norm;
};

// A [size, size] float mask with -inf above the diagonal: position i may attend to j <= i
// (PyTorch's Transformer.generate_square_subsequent_mask).
Tensor generate_square_subsequent_mask(int64_t size, DType dtype = float32);

// Adds the sinusoidal encoding of "Attention Is All You Need" (pe[pos, 2i] = sin(pos / 10000^(2i/d)),
// pe[pos, 2i+1] = cos(...)) to a sequence [L, B, d] ([B, L, d] with batch_first), then dropout.
// The table is a buffer `pe` [max_len, d_model].
class SinusoidalPositionalEncoding : public Module {
 public:
  SinusoidalPositionalEncoding(int64_t d_model, int64_t max_len = 5000, double dropout = 0.1, bool batch_first = false);
  Tensor forward(const Tensor& x) override;
  Tensor pe;

 private:
  Shared<Dropout> dropout_;
  bool batch_first_;
};

// A learned position table `weight` [max_len, d_model] (initialised N(0, 0.02^2), as ViT and BERT
// do) added to a sequence [L, B, d] ([B, L, d] with batch_first).
class LearnedPositionalEncoding : public Module {
 public:
  LearnedPositionalEncoding(int64_t max_len, int64_t d_model, bool batch_first = false);
  Tensor forward(const Tensor& x) override;
  Tensor weight;

 private:
  bool batch_first_;
};

}  // namespace nabla::nn
