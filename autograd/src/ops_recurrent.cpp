// The recurrent layer as one recorded op: the fused kernels forward and backward, and the
// step-by-step composite for references and second derivatives.
#include "nabla/autograd/recurrent.hpp"

#include "nabla/autograd/detail/recompute.hpp"
#include "nabla/autograd/factories.hpp"
#include "nabla/autograd/functions.hpp"
#include "nabla/autograd/node.hpp"

namespace nabla {

namespace {

const char* op_name(RecurrentCell cell) {
  switch (cell) {
    case RecurrentCell::rnn_tanh: return "rnn_tanh";
    case RecurrentCell::rnn_relu: return "rnn_relu";
    case RecurrentCell::lstm: return "lstm";
    case RecurrentCell::gru: return "gru";
  }
  return "rnn";
}

kernels::RecurrentWeights raw_weights(const RecurrentParameters& p) {
  auto raw = [](const Tensor& t) { return t.defined() ? t.raw() : kernels::Tensor(); };
  return {raw(p.weight_ih), raw(p.weight_hh), raw(p.bias_ih), raw(p.bias_hh), raw(p.weight_hr)};
}

// The op's inputs in a fixed order: x, h0, c0, weight_ih, weight_hh, bias_ih, bias_hh, weight_hr.
std::vector<Tensor> op_inputs(const Tensor& x, const Tensor& h0, const Tensor& c0, const RecurrentParameters& p) {
  return {x, h0, c0, p.weight_ih, p.weight_hh, p.bias_ih, p.bias_hh, p.weight_hr};
}

RecurrentParameters parameters_of(const std::vector<Tensor>& in) { return {in[3], in[4], in[5], in[6], in[7]}; }

// Every input kept for backward, with its version (weights changed in place before backward are
// caught, as any saved tensor is).
std::vector<SavedTensor> save_all(const std::vector<Tensor>& inputs) {
  std::vector<SavedTensor> saved;
  for (const Tensor& input : inputs) saved.push_back(save(input));
  return saved;
}

// The packed result [output | h_n | c_n] split into its parts.
RecurrentResult unpack(RecurrentCell cell, const Tensor& packed, int64_t steps, int64_t batch, int64_t out, int64_t hidden) {
  const int64_t output_size = steps * batch * out;
  RecurrentResult result;
  result.output = packed.narrow(0, 0, output_size).view({steps, batch, out});
  result.h_n = packed.narrow(0, output_size, batch * out).view({batch, out});
  if (cell == RecurrentCell::lstm) result.c_n = packed.narrow(0, output_size + batch * out, batch * hidden).view({batch, hidden});
  return result;
}

}  // namespace

RecurrentResult recurrent_layer(RecurrentCell cell, const Tensor& x, const Tensor& h0, const Tensor& c0,
                                const RecurrentParameters& p, const Tensor& lengths) {
  const kernels::Tensor raw_lengths = lengths.defined() ? lengths.raw() : kernels::Tensor();
  const kernels::RecurrentWeights weights = raw_weights(p);
  const kernels::Tensor raw_c0 = c0.defined() ? c0.raw() : kernels::Tensor();
  kernels::RecurrentForward forward =
      kernels::recurrent_forward(cell, x.raw(), h0.raw(), raw_c0, weights, raw_lengths);
  const int64_t steps = forward.output.size(0), batch = forward.output.size(1), out = forward.output.size(2);
  const int64_t hidden = p.weight_ih.size(0) / recurrent_gates(cell);
  const std::vector<Tensor> inputs = op_inputs(x, h0, c0, p);
  kernels::Tensor packed = forward.packed;
  const Tensor recorded = record(
      op_name(cell), std::span<const Tensor>(inputs), std::move(packed),
      [cell, saved = save_all(inputs), weights, raw_lengths, lengths = lengths.defined() ? lengths.detach() : Tensor(),
       forward = std::move(forward),
       steps, batch, out, hidden](const Tensor& grad, const NeedsInputGrad& needs_input_grad) {
        const RecurrentResult grads = unpack(cell, grad, steps, batch, out, hidden);
        std::vector<Tensor> originals;
        for (const SavedTensor& input : saved) originals.push_back(input.get());
        if (is_grad_enabled()) {
          // A graph of this backward is being recorded: differentiate the composite instead.
          auto composite = [cell, lengths](const std::vector<Tensor>& in) {
            const RecurrentResult r = recurrent_layer_composite(cell, in[0], in[1], in[2], parameters_of(in), lengths);
            return std::vector<Tensor>{r.output, r.h_n, r.c_n};
          };
          return detail::recompute_gradients(op_name(cell), composite, originals, {grads.output, grads.h_n, grads.c_n},
                                             needs_input_grad);
        }
        const kernels::RecurrentWanted wanted{.x = needs_input_grad[0], .h0 = needs_input_grad[1], .c0 = needs_input_grad[2],
                                              .weights = needs_input_grad[3] || needs_input_grad[4] || needs_input_grad[5] ||
                                                         needs_input_grad[6] || needs_input_grad[7]};
        const kernels::Tensor no_tensor;
        const kernels::RecurrentGradients g = kernels::recurrent_backward(
            cell, originals[0].raw(), originals[1].raw(), originals[2].defined() ? originals[2].raw() : no_tensor, weights,
            raw_lengths, forward, grads.output.raw(), grads.h_n.raw(), grads.c_n.defined() ? grads.c_n.raw() : no_tensor,
            wanted);
        auto wrap = [](const kernels::Tensor& t) { return t.defined() ? Tensor(t) : Tensor(); };
        return Gradients{wrap(g.x), wrap(g.h0), wrap(g.c0), wrap(g.w_ih), wrap(g.w_hh), wrap(g.b_ih), wrap(g.b_hh), wrap(g.w_hr)};
      });
  return unpack(cell, recorded, steps, batch, out, hidden);
}

RecurrentResult recurrent_layer_composite(RecurrentCell cell, const Tensor& x, const Tensor& h0, const Tensor& c0,
                                          const RecurrentParameters& p, const Tensor& lengths) {
  const int64_t steps = x.size(0), batch = x.size(1), hidden = p.weight_ih.size(0) / recurrent_gates(cell);
  Tensor h = h0, c = c0;
  std::vector<Tensor> outputs;
  // GRU keeps b_hh apart: r multiplies h W_hn^T + b_hn.
  for (int64_t t = 0; t < steps; ++t) {
    const Tensor x_t = x.select(0, t);
    const Tensor from_input = linear(x_t, p.weight_ih, p.bias_ih);
    const Tensor from_hidden = linear(h, p.weight_hh, p.bias_hh);
    Tensor h_new, c_new;
    if (cell == RecurrentCell::lstm) {
      const Tensor z = from_input + from_hidden;
      const Tensor i = sigmoid(z.narrow(1, 0, hidden)), f = sigmoid(z.narrow(1, hidden, hidden));
      const Tensor g = tanh(z.narrow(1, 2 * hidden, hidden)), o = sigmoid(z.narrow(1, 3 * hidden, hidden));
      c_new = f * c + i * g;
      h_new = o * tanh(c_new);
      if (p.weight_hr.defined()) h_new = linear(h_new, p.weight_hr);
    } else if (cell == RecurrentCell::gru) {
      const Tensor r = sigmoid(from_input.narrow(1, 0, hidden) + from_hidden.narrow(1, 0, hidden));
      const Tensor z = sigmoid(from_input.narrow(1, hidden, hidden) + from_hidden.narrow(1, hidden, hidden));
      const Tensor n = tanh(from_input.narrow(1, 2 * hidden, hidden) + r * from_hidden.narrow(1, 2 * hidden, hidden));
      h_new = (1.0 - z) * n + z * h;
    } else {
      const Tensor z = from_input + from_hidden;
      h_new = cell == RecurrentCell::rnn_relu ? relu(z) : tanh(z);
    }
    if (lengths.defined()) {
      const Tensor running = lengths.gt(static_cast<double>(t)).reshape({batch, 1});
      h = where(running, h_new, h);
      if (c_new.defined()) c = where(running, c_new, c);
      outputs.push_back(where(running, h_new, 0.0));
    } else {
      h = h_new;
      c = c_new;
      outputs.push_back(h_new);
    }
  }
  return {stack(outputs, 0), h, cell == RecurrentCell::lstm ? c : Tensor()};
}

}  // namespace nabla
