// LayerNorm, MultiheadAttention, the transformer layers and positional encodings (transformer.hpp),
// composed from the fused layer_norm and scaled_dot_product_attention ops and nn's layers.
#include "nabla/nn/transformer.hpp"

#include <cmath>
#include <limits>

#include "nabla/nn/functional.hpp"
#include "nabla/nn/init.hpp"

namespace nabla::nn {

// ---- LayerNorm

LayerNorm::LayerNorm(const LayerNormOptions& options) : options_(options) {
  if (options.normalized_shape.empty()) fail("LayerNorm: normalized_shape must name at least one dim");
  for (int64_t extent : options.normalized_shape) {
    if (extent < 1) fail("LayerNorm: normalized_shape {} must be positive", options.normalized_shape);
  }
  if (options.elementwise_affine) {
    weight = register_parameter("weight", ones(options.normalized_shape));
    if (options.bias) bias = register_parameter("bias", zeros(options.normalized_shape));
  }
}

Tensor LayerNorm::forward(const Tensor& input) {
  return layer_norm(input, options_.normalized_shape, weight, bias, options_.eps);
}

std::string LayerNorm::extra_repr() const {
  return fmt::format("{}, eps={}, elementwise_affine={}", options_.normalized_shape, options_.eps,
                     options_.elementwise_affine);
}

// ---- MultiheadAttention

namespace {

// A user's mask as an additive float mask: bool true (or a non-zero uint8) means "may not attend".
Tensor as_additive(const Tensor& mask, DType dtype, const char* what) {
  if (!mask.defined()) return Tensor();
  if (is_floating(mask.dtype())) return mask.to(dtype);
  if (mask.dtype() != bool_ && mask.dtype() != uint8) {
    fail("MultiheadAttention: {} must be bool/uint8 (true = masked) or float, got {}", what, mask.dtype());
  }
  return where(mask, full({}, -std::numeric_limits<double>::infinity(), dtype), zeros({}, dtype));
}

}  // namespace

MultiheadAttention::MultiheadAttention(const MultiheadAttentionOptions& options) : options_(options) {
  const int64_t e = options.embed_dim;
  if (e < 1 || options.num_heads < 1) {
    fail("MultiheadAttention: embed_dim and num_heads must be positive, got {} and {}", e, options.num_heads);
  }
  if (e % options.num_heads != 0) {
    fail("MultiheadAttention: embed_dim {} must be divisible by num_heads {}", e, options.num_heads);
  }
  if (!(options.dropout >= 0.0 && options.dropout < 1.0)) {
    fail("MultiheadAttention: dropout must be in [0, 1), got {}", options.dropout);
  }
  options_.kdim = options.kdim > 0 ? options.kdim : e;
  options_.vdim = options.vdim > 0 ? options.vdim : e;
  const bool same_dims = options_.kdim == e && options_.vdim == e;
  // PyTorch's registration order and initialisation: xavier_uniform_ on the input projections,
  // zeros for the biases, Linear's default for out_proj.weight.
  if (same_dims) {
    in_proj_weight = register_parameter("in_proj_weight", empty({3 * e, e}));
    init::xavier_uniform_(in_proj_weight);
  } else {
    q_proj_weight = register_parameter("q_proj_weight", empty({e, e}));
    k_proj_weight = register_parameter("k_proj_weight", empty({e, options_.kdim}));
    v_proj_weight = register_parameter("v_proj_weight", empty({e, options_.vdim}));
    init::xavier_uniform_(q_proj_weight);
    init::xavier_uniform_(k_proj_weight);
    init::xavier_uniform_(v_proj_weight);
  }
  if (options.bias) in_proj_bias = register_parameter("in_proj_bias", zeros({3 * e}));
  out_proj = register_module("out_proj", Linear(e, e, options.bias));
  if (options.bias) init::zeros_(out_proj->bias);
}

std::string MultiheadAttention::extra_repr() const {
  return fmt::format("embed_dim={}, num_heads={}, dropout={}, batch_first={}", options_.embed_dim, options_.num_heads,
                     options_.dropout, options_.batch_first);
}

std::tuple<Tensor, Tensor> MultiheadAttention::forward(const Tensor& query, const Tensor& key, const Tensor& value,
                                                       const Tensor& key_padding_mask, bool need_weights,
                                                       const Tensor& attn_mask, bool average_attn_weights,
                                                       bool is_causal) {
  const MultiheadAttentionOptions& o = options_;
  const int64_t e = o.embed_dim, heads = o.num_heads, head_dim = e / heads;
  for (const Tensor* t : {&query, &key, &value}) {
    if (!t->defined() || (t->dim() != 3 && t->dim() != 2)) {
      fail("MultiheadAttention: query, key and value must be [L, B, E] ([B, L, E] with batch_first, or unbatched "
           "[L, E]), got {}", t->defined() ? to_string(t->shape()) : "undefined");
    }
  }
  const bool batched = query.dim() == 3;
  if (key.dim() != query.dim() || value.dim() != query.dim()) {
    fail("MultiheadAttention: query {}, key {} and value {} must all be batched or all unbatched", query.shape(),
         key.shape(), value.shape());
  }
  auto time_major = [&](const Tensor& t) {
    return !batched ? t.unsqueeze(1) : (o.batch_first ? t.transpose(0, 1) : t);
  };
  const bool self_attention = query.is_same(key) && key.is_same(value);
  const Tensor q_in = time_major(query), k_in = self_attention ? q_in : time_major(key),
               v_in = self_attention ? q_in : time_major(value);
  const int64_t l = q_in.size(0), batch = q_in.size(1), s = k_in.size(0);
  if (q_in.size(2) != e || k_in.size(2) != o.kdim || v_in.size(2) != o.vdim) {
    fail("MultiheadAttention: features of query {}, key {}, value {} must be embed_dim {}, kdim {}, vdim {}",
         query.shape(), key.shape(), value.shape(), e, o.kdim, o.vdim);
  }
  if (k_in.size(1) != batch || v_in.size(1) != batch || v_in.size(0) != s) {
    fail("MultiheadAttention: query {}, key {} and value {} disagree on the batch or the source length", query.shape(),
         key.shape(), value.shape());
  }

  // The input projections: one GEMM for self-attention on the packed weight, else three.
  Tensor q, k, v;
  auto bias_part = [&](int64_t part) { return in_proj_bias.defined() ? in_proj_bias.narrow(0, part * e, e) : Tensor(); };
  if (in_proj_weight.defined() && self_attention) {
    const Tensor qkv = linear(q_in, in_proj_weight, in_proj_bias);
    q = qkv.narrow(2, 0, e);
    k = qkv.narrow(2, e, e);
    v = qkv.narrow(2, 2 * e, e);
  } else if (in_proj_weight.defined()) {
    q = linear(q_in, in_proj_weight.narrow(0, 0, e), bias_part(0));
    k = linear(k_in, in_proj_weight.narrow(0, e, e), bias_part(1));
    v = linear(v_in, in_proj_weight.narrow(0, 2 * e, e), bias_part(2));
  } else {
    q = linear(q_in, q_proj_weight, bias_part(0));
    k = linear(k_in, k_proj_weight, bias_part(1));
    v = linear(v_in, v_proj_weight, bias_part(2));
  }
  // [L, B, E] -> [B, heads, L, head_dim]
  auto split_heads = [&](const Tensor& t, int64_t length) {
    return t.reshape({length, batch, heads, head_dim}).permute({1, 2, 0, 3});
  };
  q = split_heads(q, l);
  k = split_heads(k, s);
  v = split_heads(v, s);

  // One additive mask [B, heads, L, S] (or broadcastable) from attn_mask and key_padding_mask.
  Tensor mask = as_additive(attn_mask, q.dtype(), "attn_mask");
  if (mask.defined()) {
    if (mask.dim() == 2) {
      if (mask.shape() != Shape{l, s}) fail("MultiheadAttention: attn_mask has shape {}, expected [{}, {}]", attn_mask.shape(), l, s);
    } else if (mask.dim() == 3 && mask.shape() == Shape{batch * heads, l, s}) {
      mask = mask.reshape({batch, heads, l, s});
    } else {
      fail("MultiheadAttention: attn_mask has shape {}, expected [{}, {}] or [{}, {}, {}] (batch * num_heads, L, S)",
           attn_mask.shape(), l, s, batch * heads, l, s);
    }
  }
  if (key_padding_mask.defined()) {
    const Shape expected = batched ? Shape{batch, s} : Shape{s};
    if (key_padding_mask.shape() != expected) {
      fail("MultiheadAttention: key_padding_mask has shape {}, expected {}", key_padding_mask.shape(), expected);
    }
    const Tensor padding = as_additive(key_padding_mask, q.dtype(), "key_padding_mask").reshape({batch, 1, 1, s});
    mask = mask.defined() ? mask + padding : padding;
  }
  const double p = is_training() ? o.dropout : 0.0;
  const AttentionResult attended =
      scaled_dot_product_attention_with_weights(q, k, v, mask, p, is_causal && !attn_mask.defined());
  // [B, heads, L, head_dim] -> [L, B, E]
  Tensor out = out_proj(attended.output.permute({2, 0, 1, 3}).reshape({l, batch, e}));
  if (!batched) {
    out = out.squeeze(1);
  } else if (o.batch_first) {
    out = out.transpose(0, 1);
  }
  Tensor weights;
  if (need_weights) {
    weights = average_attn_weights ? attended.weights.mean({1}) : attended.weights;
    if (!batched) weights = weights.squeeze(0);
  }
  return {out, weights};
}

// ---- the transformer layers

namespace {

void check_layer_options(const TransformerLayerOptions& o, const char* name) {
  if (o.d_model < 1 || o.nhead < 1 || o.dim_feedforward < 1) {
    fail("{}: d_model, nhead and dim_feedforward must be positive, got {}, {}, {}", name, o.d_model, o.nhead,
         o.dim_feedforward);
  }
  if (o.activation != "relu" && o.activation != "gelu") {
    fail("{}: activation must be \"relu\" or \"gelu\", got \"{}\"", name, o.activation);
  }
}

Tensor activate(const Tensor& x, const std::string& activation) {
  return activation == "gelu" ? functional::gelu(x) : relu(x);
}

MultiheadAttentionOptions attention_options(const TransformerLayerOptions& o) {
  return {.embed_dim = o.d_model, .num_heads = o.nhead, .dropout = o.dropout, .batch_first = o.batch_first};
}

LayerNormOptions norm_options(const TransformerLayerOptions& o) {
  return {.normalized_shape = {o.d_model}, .eps = o.layer_norm_eps};
}

// Copies every parameter and buffer value of `from` into `to` (same architecture).
void copy_state(const Module& from, Module& to) {
  NoGradGuard no_grad;
  const auto source = from.named_parameters();
  const auto target = to.named_parameters();
  for (size_t i = 0; i < source.size(); ++i) target[i].second.data().copy_(source[i].second);
  const auto source_buffers = from.named_buffers();
  const auto target_buffers = to.named_buffers();
  for (size_t i = 0; i < source_buffers.size(); ++i) target_buffers[i].second.data().copy_(source_buffers[i].second);
}

}  // namespace

TransformerEncoderLayer::TransformerEncoderLayer(const TransformerLayerOptions& options) : options_(options) {
  check_layer_options(options, "TransformerEncoderLayer");
  self_attn = register_module("self_attn", MultiheadAttention(attention_options(options)));
  linear1 = register_module("linear1", Linear(options.d_model, options.dim_feedforward));
  dropout = register_module("dropout", Dropout(options.dropout));
  linear2 = register_module("linear2", Linear(options.dim_feedforward, options.d_model));
  norm1 = register_module("norm1", LayerNorm(norm_options(options)));
  norm2 = register_module("norm2", LayerNorm(norm_options(options)));
  dropout1 = register_module("dropout1", Dropout(options.dropout));
  dropout2 = register_module("dropout2", Dropout(options.dropout));
}

Tensor TransformerEncoderLayer::forward(const Tensor& src, const Tensor& src_mask, const Tensor& src_key_padding_mask,
                                        bool is_causal) {
  auto self_attention = [&](const Tensor& x) {
    return dropout1(std::get<0>(self_attn(x, x, x, src_key_padding_mask, false, src_mask, true, is_causal)));
  };
  auto feed_forward = [&](const Tensor& x) {
    return dropout2(linear2(dropout(activate(linear1(x), options_.activation))));
  };
  Tensor x = src;
  if (options_.norm_first) {
    x = x + self_attention(norm1(x));
    x = x + feed_forward(norm2(x));
  } else {
    x = norm1(x + self_attention(x));
    x = norm2(x + feed_forward(x));
  }
  return x;
}

TransformerEncoder::TransformerEncoder(const TransformerEncoderLayer& layer, int64_t num_layers, std::optional<LayerNorm> final_norm) {
  if (num_layers < 1) fail("TransformerEncoder: num_layers must be at least 1, got {}", num_layers);
  layers = register_module("layers", ModuleList());
  for (int64_t i = 0; i < num_layers; ++i) {
    auto copy = std::make_shared<TransformerEncoderLayer>(layer.options());
    copy_state(layer, *copy);
    layers->push_back(copy);
  }
  if (final_norm) norm = register_module("norm", std::move(*final_norm));
}

Tensor TransformerEncoder::forward(const Tensor& src, const Tensor& mask, const Tensor& src_key_padding_mask,
                                   bool is_causal) {
  Tensor x = src;
  for (size_t i = 0; i < layers->size(); ++i) x = layers->at<TransformerEncoderLayer>(i)->forward(x, mask, src_key_padding_mask, is_causal);
  return norm ? norm(x) : x;
}

TransformerDecoderLayer::TransformerDecoderLayer(const TransformerLayerOptions& options) : options_(options) {
  check_layer_options(options, "TransformerDecoderLayer");
  self_attn = register_module("self_attn", MultiheadAttention(attention_options(options)));
  multihead_attn = register_module("multihead_attn", MultiheadAttention(attention_options(options)));
  linear1 = register_module("linear1", Linear(options.d_model, options.dim_feedforward));
  dropout = register_module("dropout", Dropout(options.dropout));
  linear2 = register_module("linear2", Linear(options.dim_feedforward, options.d_model));
  norm1 = register_module("norm1", LayerNorm(norm_options(options)));
  norm2 = register_module("norm2", LayerNorm(norm_options(options)));
  norm3 = register_module("norm3", LayerNorm(norm_options(options)));
  dropout1 = register_module("dropout1", Dropout(options.dropout));
  dropout2 = register_module("dropout2", Dropout(options.dropout));
  dropout3 = register_module("dropout3", Dropout(options.dropout));
}

Tensor TransformerDecoderLayer::forward(const Tensor& tgt, const Tensor& memory, const Tensor& tgt_mask,
                                        const Tensor& memory_mask, const Tensor& tgt_key_padding_mask,
                                        const Tensor& memory_key_padding_mask, bool tgt_is_causal) {
  auto self_attention = [&](const Tensor& x) {
    return dropout1(std::get<0>(self_attn(x, x, x, tgt_key_padding_mask, false, tgt_mask, true, tgt_is_causal)));
  };
  auto cross_attention = [&](const Tensor& x) {
    return dropout2(std::get<0>(multihead_attn(x, memory, memory, memory_key_padding_mask, false, memory_mask)));
  };
  auto feed_forward = [&](const Tensor& x) {
    return dropout3(linear2(dropout(activate(linear1(x), options_.activation))));
  };
  Tensor x = tgt;
  if (options_.norm_first) {
    x = x + self_attention(norm1(x));
    x = x + cross_attention(norm2(x));
    x = x + feed_forward(norm3(x));
  } else {
    x = norm1(x + self_attention(x));
    x = norm2(x + cross_attention(x));
    x = norm3(x + feed_forward(x));
  }
  return x;
}

TransformerDecoder::TransformerDecoder(const TransformerDecoderLayer& layer, int64_t num_layers, std::optional<LayerNorm> final_norm) {
  if (num_layers < 1) fail("TransformerDecoder: num_layers must be at least 1, got {}", num_layers);
  layers = register_module("layers", ModuleList());
  for (int64_t i = 0; i < num_layers; ++i) {
    auto copy = std::make_shared<TransformerDecoderLayer>(layer.options());
    copy_state(layer, *copy);
    layers->push_back(copy);
  }
  if (final_norm) norm = register_module("norm", std::move(*final_norm));
}

Tensor TransformerDecoder::forward(const Tensor& tgt, const Tensor& memory, const Tensor& tgt_mask, const Tensor& memory_mask,
                                   const Tensor& tgt_key_padding_mask, const Tensor& memory_key_padding_mask,
                                   bool tgt_is_causal) {
  Tensor x = tgt;
  for (size_t i = 0; i < layers->size(); ++i) {
    x = layers->at<TransformerDecoderLayer>(i)->forward(x, memory, tgt_mask, memory_mask, tgt_key_padding_mask,
                                                        memory_key_padding_mask, tgt_is_causal);
  }
  return norm ? norm(x) : x;
}

Tensor generate_square_subsequent_mask(int64_t size, DType dtype) {
  if (size < 1) fail("generate_square_subsequent_mask: size must be positive, got {}", size);
  const Tensor above = arange(size).reshape({1, size}).gt(arange(size).reshape({size, 1}));
  return where(above, full({}, -std::numeric_limits<double>::infinity(), dtype), zeros({}, dtype));
}

// ---- positional encodings

SinusoidalPositionalEncoding::SinusoidalPositionalEncoding(int64_t d_model, int64_t max_len, double dropout, bool batch_first)
    : batch_first_(batch_first) {
  if (d_model < 1 || max_len < 1) fail("SinusoidalPositionalEncoding: d_model and max_len must be positive, got {} and {}", d_model, max_len);
  std::vector<double> table(static_cast<size_t>(max_len * d_model));
  for (int64_t pos = 0; pos < max_len; ++pos) {
    for (int64_t i = 0; i < d_model; i += 2) {
      const double angle = static_cast<double>(pos) * std::exp(-std::log(10000.0) * static_cast<double>(i) / static_cast<double>(d_model));
      table[static_cast<size_t>(pos * d_model + i)] = std::sin(angle);
      if (i + 1 < d_model) table[static_cast<size_t>(pos * d_model + i + 1)] = std::cos(angle);
    }
  }
  pe = register_buffer("pe", from_vector(table, {max_len, d_model}).to(float32));
  dropout_ = register_module("dropout", Dropout(dropout));
}

Tensor SinusoidalPositionalEncoding::forward(const Tensor& x) {
  if (!x.defined() || x.dim() != 3 || x.size(-1) != pe.size(1)) {
    fail("SinusoidalPositionalEncoding: input must be [L, B, {}] ([B, L, {}] with batch_first), got {}", pe.size(1),
         pe.size(1), x.defined() ? to_string(x.shape()) : "undefined");
  }
  const int64_t length = x.size(batch_first_ ? 1 : 0);
  if (length > pe.size(0)) fail("SinusoidalPositionalEncoding: sequence of {} steps exceeds max_len {}", length, pe.size(0));
  const Tensor table = pe.narrow(0, 0, length).to(x.dtype());
  return dropout_(x + (batch_first_ ? table : table.unsqueeze(1)));
}

LearnedPositionalEncoding::LearnedPositionalEncoding(int64_t max_len, int64_t d_model, bool batch_first)
    : batch_first_(batch_first) {
  if (d_model < 1 || max_len < 1) fail("LearnedPositionalEncoding: max_len and d_model must be positive, got {} and {}", max_len, d_model);
  weight = register_parameter("weight", empty({max_len, d_model}));
  init::normal_(weight, 0.0, 0.02);
}

Tensor LearnedPositionalEncoding::forward(const Tensor& x) {
  if (!x.defined() || x.dim() != 3 || x.size(-1) != weight.size(1)) {
    fail("LearnedPositionalEncoding: input must be [L, B, {}] ([B, L, {}] with batch_first), got {}", weight.size(1),
         weight.size(1), x.defined() ? to_string(x.shape()) : "undefined");
  }
  const int64_t length = x.size(batch_first_ ? 1 : 0);
  if (length > weight.size(0)) fail("LearnedPositionalEncoding: sequence of {} steps exceeds max_len {}", length, weight.size(0));
  const Tensor table = weight.narrow(0, 0, length);
  return x + (batch_first_ ? table : table.unsqueeze(1));
}

}  // namespace nabla::nn
