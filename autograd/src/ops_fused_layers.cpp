// LayerNorm and attention as recorded ops: fused kernels forward and backward, and the composed
// form they are differentiated through when backward itself is recorded.
#include <cmath>
#include <limits>

#include "nabla/autograd/detail/recompute.hpp"
#include "nabla/autograd/factories.hpp"
#include "nabla/autograd/functions.hpp"
#include "nabla/autograd/fused_layers.hpp"
#include "nabla/autograd/node.hpp"

namespace nabla {

namespace {

kernels::Tensor raw_or_undefined(const Tensor& t) { return t.defined() ? t.raw() : kernels::Tensor(); }
Tensor wrap(const kernels::Tensor& t) { return t.defined() ? Tensor(t) : Tensor(); }

// layer_norm written with differentiable ops: the reference, and the second-derivative path.
Tensor layer_norm_composite(const Tensor& x, const Shape& normalized_shape, const Tensor& weight, const Tensor& bias,
                            double eps) {
  Dims axes;
  for (int64_t i = 0; i < normalized_shape.size(); ++i) axes.push_back(x.dim() - normalized_shape.size() + i);
  const Tensor centered = x - x.mean(axes, true);
  Tensor out = centered / sqrt((centered * centered).mean(axes, true) + eps);
  if (weight.defined()) out = out * weight;
  if (bias.defined()) out = out + bias;
  return out;
}

}  // namespace

Tensor layer_norm(const Tensor& x, const Shape& normalized_shape, const Tensor& weight, const Tensor& bias, double eps) {
  if (!x.defined()) fail("layer_norm: the input is undefined");
  const int64_t d = normalized_shape.size();
  bool fits = d >= 1 && d <= x.dim();
  for (int64_t i = 0; fits && i < d; ++i) fits = x.size(x.dim() - d + i) == normalized_shape[i];
  if (!fits) {
    fail("layer_norm: normalized_shape {} must be the trailing dims of the input, whose shape is {}", normalized_shape,
         x.shape());
  }
  for (const Tensor* p : {&weight, &bias}) {
    if (p->defined() && p->shape() != normalized_shape) {
      fail("layer_norm: {} has shape {}, expected normalized_shape {}", p == &weight ? "weight" : "bias", p->shape(),
           normalized_shape);
    }
  }
  if (!(eps >= 0.0)) fail("layer_norm: eps must be non-negative, got {}", eps);
  const int64_t normalized = shape_numel(normalized_shape);
  kernels::LayerNormForward forward =
      kernels::layer_norm(x.raw(), normalized, raw_or_undefined(weight), raw_or_undefined(bias), eps);
  kernels::Tensor out = forward.output;
  return record("layer_norm", {x, weight, bias}, std::move(out),
                [saved_x = save(x), saved_w = save(weight), saved_b = save(bias), forward = std::move(forward),
                 normalized_shape, eps](const Tensor& grad, const NeedsInputGrad& needs_input_grad) {
                  const Tensor& x = saved_x.get();
                  const Tensor& w = saved_w.get();
                  if (is_grad_enabled()) {
                    auto composite = [normalized_shape, eps](const std::vector<Tensor>& in) {
                      return std::vector<Tensor>{layer_norm_composite(in[0], normalized_shape, in[1], in[2], eps)};
                    };
                    return detail::recompute_gradients("layer_norm", composite, {x, w, saved_b.get()}, {grad},
                                                       needs_input_grad);
                  }
                  const kernels::LayerNormGradients g = kernels::layer_norm_backward(
                      grad.raw(), x.raw(), forward, raw_or_undefined(w), needs_input_grad[0], needs_input_grad[1],
                      needs_input_grad[2]);
                  return Gradients{wrap(g.x), g.weight.defined() ? Tensor(g.weight.view(normalized_shape)) : Tensor(),
                                   g.bias.defined() ? Tensor(g.bias.view(normalized_shape)) : Tensor()};
                });
}

namespace {

// The additive float mask for scores [..., L, S] from a user's mask (bool: true may attend).
Tensor additive_mask(const Tensor& mask, DType dtype) {
  if (!mask.defined()) return Tensor();
  if (is_floating(mask.dtype())) return mask.to(dtype);
  return where(mask, zeros({}, dtype), full({}, -std::numeric_limits<double>::infinity(), dtype));
}

// Attention written with differentiable ops (3-d q [N, L, E]): the second-derivative path.
std::vector<Tensor> attention_composite(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& mask,
                                        const Tensor& keep, bool causal, double scale) {
  Tensor scores = matmul(q, k.transpose(1, 2)) * scale;
  if (mask.defined()) scores = scores + mask;
  if (causal) {
    const int64_t l = q.size(1), s = k.size(1);
    const Tensor above = arange(s).reshape({1, s}).gt(arange(l).reshape({l, 1}));
    scores = scores.masked_fill(above, -std::numeric_limits<double>::infinity());
  }
  Tensor weights = softmax(scores, -1);
  if (keep.defined()) weights = weights * keep;
  return {matmul(weights, v), weights};
}

}  // namespace

AttentionResult scaled_dot_product_attention_with_weights(const Tensor& query, const Tensor& key, const Tensor& value,
                                                          const Tensor& attn_mask, double dropout_p, bool is_causal,
                                                          std::optional<double> scale, Generator& generator) {
  for (const Tensor* t : {&query, &key, &value}) {
    if (!t->defined() || t->dim() < 2) fail("scaled_dot_product_attention: query, key and value need at least 2 dims");
  }
  const int64_t l = query.size(-2), s = key.size(-2), e = query.size(-1), ev = value.size(-1);
  if (key.size(-1) != e || value.size(-2) != s) {
    fail("scaled_dot_product_attention: query {}, key {} and value {} do not fit ([..., L, E], [..., S, E], [..., S, Ev])",
         query.shape(), key.shape(), value.shape());
  }
  // Leading dims broadcast together, then flatten to N (batch * heads) pairs.
  Shape lead_q = query.shape(), lead_k = key.shape(), lead_v = value.shape();
  for (Shape* lead : {&lead_q, &lead_k, &lead_v}) {
    lead->pop_back();
    lead->pop_back();
  }
  const Shape lead = broadcast_shapes(broadcast_shapes(lead_q, lead_k, "scaled_dot_product_attention"), lead_v,
                                      "scaled_dot_product_attention");
  auto flat = [&](const Tensor& t, int64_t rows, int64_t cols) {
    Shape full_shape = lead;
    full_shape.push_back(rows);
    full_shape.push_back(cols);
    return t.expand(full_shape).reshape({-1, rows, cols});
  };
  const Tensor q = flat(query, l, e), k = flat(key, s, e), v = flat(value, s, ev);
  const int64_t n = q.size(0);
  Tensor mask = additive_mask(attn_mask, query.dtype());
  if (mask.defined()) {
    Shape mask_shape = lead;
    mask_shape.push_back(l);
    mask_shape.push_back(s);
    if (broadcast_shapes(mask.shape(), mask_shape, "scaled_dot_product_attention") != mask_shape) {
      fail("scaled_dot_product_attention: a mask of shape {} does not broadcast to {}", attn_mask.shape(), mask_shape);
    }
    // Per pair when it varies over the leading dims, else one [L, S] block for all.
    bool per_pair = false;
    for (int64_t i = 0; i + 2 < mask.dim(); ++i) per_pair = per_pair || mask.size(i) != 1;
    mask = per_pair ? mask.expand(mask_shape).reshape({n, l, s}) : mask.reshape({l, s});
  }
  const double factor = scale ? *scale : 1.0 / std::sqrt(static_cast<double>(e));
  kernels::AttentionForward forward =
      kernels::attention(q.raw(), k.raw(), v.raw(), raw_or_undefined(mask), is_causal, factor, dropout_p, generator);
  // One recorded result: [output | weights], split into the two below.
  const int64_t out_size = n * l * ev;
  kernels::Tensor packed = kernels::Tensor::empty({out_size + n * l * s}, query.dtype());
  packed.narrow(0, 0, out_size).copy_(forward.output.reshape({-1}));
  packed.narrow(0, out_size, n * l * s)
      .copy_(forward.keep.defined() ? kernels::mul(forward.probabilities, forward.keep).reshape({-1})
                                    : forward.probabilities.reshape({-1}));
  const Tensor keep = wrap(forward.keep);
  const Tensor recorded = record(
      "scaled_dot_product_attention", {q, k, v, mask}, std::move(packed),
      [saved_q = save(q), saved_k = save(k), saved_v = save(v), saved_mask = save(mask), keep,
       forward = std::move(forward), is_causal, factor, out_size, n, l, s, ev](const Tensor& grad,
                                                                                const NeedsInputGrad& needs_input_grad) {
        const Tensor grad_output = grad.narrow(0, 0, out_size).view({n, l, ev});
        const Tensor grad_weights = grad.narrow(0, out_size, n * l * s).view({n, l, s});
        if (is_grad_enabled()) {
          auto composite = [keep, is_causal, factor](const std::vector<Tensor>& in) {
            return attention_composite(in[0], in[1], in[2], in[3], keep, is_causal, factor);
          };
          return detail::recompute_gradients("scaled_dot_product_attention", composite,
                                             {saved_q.get(), saved_k.get(), saved_v.get(), saved_mask.get()},
                                             {grad_output, grad_weights}, needs_input_grad);
        }
        const kernels::AttentionGradients g = kernels::attention_backward(
            grad_output.raw(), grad_weights.raw(), saved_q->raw(), saved_k->raw(), saved_v->raw(), forward, factor,
            needs_input_grad[0], needs_input_grad[1], needs_input_grad[2], needs_input_grad[3]);
        Tensor grad_mask = wrap(g.mask);
        if (grad_mask.defined() && saved_mask->dim() == 2) grad_mask = grad_mask.sum({0});
        return Gradients{wrap(g.q), wrap(g.k), wrap(g.v), grad_mask};
      });
  Shape out_shape = lead, weights_shape = lead;
  out_shape.push_back(l);
  out_shape.push_back(ev);
  weights_shape.push_back(l);
  weights_shape.push_back(s);
  return {recorded.narrow(0, 0, out_size).view(out_shape), recorded.narrow(0, out_size, n * l * s).view(weights_shape)};
}

Tensor scaled_dot_product_attention(const Tensor& query, const Tensor& key, const Tensor& value, const Tensor& attn_mask,
                                    double dropout_p, bool is_causal, std::optional<double> scale, Generator& generator) {
  return scaled_dot_product_attention_with_weights(query, key, value, attn_mask, dropout_p, is_causal, scale, generator)
      .output;
}

}  // namespace nabla
