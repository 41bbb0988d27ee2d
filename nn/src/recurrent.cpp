// RNN, LSTM, GRU and their cells on the fused recurrent op (nabla/autograd/recurrent.hpp).
#include "nabla/nn/recurrent.hpp"

#include <cmath>

#include "nabla/nn/functional.hpp"
#include "nabla/nn/init.hpp"

namespace nabla::nn {

namespace utils::rnn {

namespace {
void check_lengths(const Tensor& lengths, int64_t steps, int64_t batch, const char* op) {
  if (!lengths.defined() || lengths.dim() != 1 || lengths.size(0) != batch) {
    fail("{}: lengths must be 1-d with one entry per sequence ({}), got {}", op, batch,
         lengths.defined() ? to_string(lengths.shape()) : "undefined");
  }
  const std::vector<int64_t> values = lengths.to_vector<int64_t>();
  for (size_t b = 0; b < values.size(); ++b) {
    if (values[b] < 1 || values[b] > steps) {
      fail("{}: sequence {} has length {}; lengths must be in 1..{} (the padded length)", op, b, values[b], steps);
    }
  }
}
}  // namespace

PackedSequence pack_padded_sequence(const Tensor& padded, const Tensor& lengths, bool batch_first, bool enforce_sorted) {
  if (!padded.defined() || padded.dim() < 2) {
    fail("pack_padded_sequence: input must be [T, B, *] (or [B, T, *] with batch_first), got {}",
         padded.defined() ? to_string(padded.shape()) : "undefined");
  }
  const int64_t steps = padded.size(batch_first ? 1 : 0), batch = padded.size(batch_first ? 0 : 1);
  const Tensor as_int64 = lengths.defined() ? lengths.to(int64) : Tensor();
  check_lengths(as_int64, steps, batch, "pack_padded_sequence");
  if (enforce_sorted) {
    const std::vector<int64_t> values = as_int64.to_vector<int64_t>();
    for (size_t b = 1; b < values.size(); ++b) {
      if (values[b] > values[b - 1]) {
        fail("pack_padded_sequence: lengths must be sorted in decreasing order when enforce_sorted is true (sequence "
             "{} has length {} after {}); pass enforce_sorted = false (nabla needs no sorting)",
             b, values[b], values[b - 1]);
      }
    }
  }
  return {padded, as_int64, batch_first};
}

std::tuple<Tensor, Tensor> pad_packed_sequence(const PackedSequence& sequence, bool batch_first, double padding_value,
                                               int64_t total_length) {
  Tensor data = sequence.batch_first ? sequence.data.transpose(0, 1) : sequence.data;  // [T, B, *]
  const int64_t steps = data.size(0), batch = data.size(1);
  check_lengths(sequence.lengths, steps, batch, "pad_packed_sequence");
  Shape mask_shape = Dims::filled(data.dim(), 1);
  mask_shape[0] = steps;
  mask_shape[1] = batch;
  const Tensor step = arange(steps).reshape({steps, 1});
  const Tensor inside = step.lt(sequence.lengths.reshape({1, batch})).reshape(mask_shape);
  data = where(inside, data, padding_value);
  if (total_length >= 0) {
    const int64_t longest = sequence.lengths.max().item<int64_t>();
    if (total_length < longest) {
      fail("pad_packed_sequence: total_length {} is shorter than the longest sequence ({})", total_length, longest);
    }
    if (total_length < steps) {
      data = data.narrow(0, 0, total_length);
    } else if (total_length > steps) {
      Shape pad_shape = data.shape();
      pad_shape[0] = total_length - steps;
      data = cat({data, full(pad_shape, padding_value, data.dtype())}, 0);
    }
  }
  return {batch_first ? data.transpose(0, 1) : data, sequence.lengths};
}

}  // namespace utils::rnn

namespace {

// Each sequence reversed within its own length (time-major x [T, B, *]); positions past a length
// stay where they are. Its own inverse, and differentiable (a gather).
Tensor reverse_sequences(const Tensor& x, const Tensor& lengths) {
  const int64_t steps = x.size(0), batch = x.size(1);
  Tensor index;
  if (!lengths.defined()) {
    index = arange(static_cast<double>(steps - 1), -1.0, -1.0, int64).reshape({steps, 1}).expand({steps, batch});
  } else {
    const Tensor step = arange(steps).reshape({steps, 1});
    const Tensor length = lengths.reshape({1, batch});
    index = where(step.lt(length), length - 1 - step, step);
  }
  Shape index_shape = x.shape();
  Shape view_shape = Dims::filled(x.dim(), 1);
  view_shape[0] = steps;
  view_shape[1] = batch;
  return x.gather(0, index.reshape(view_shape).expand(index_shape).contiguous());
}

// PyTorch's default for every recurrent parameter: uniform in +-1/sqrt(hidden_size).
void init_recurrent(const std::vector<Tensor>& parameters, int64_t hidden_size) {
  const double bound = 1.0 / std::sqrt(static_cast<double>(hidden_size));
  for (const Tensor& parameter : parameters) {
    if (parameter.defined()) init::uniform_(parameter, -bound, bound);
  }
}

RecurrentCell rnn_cell_for(const std::string& nonlinearity, const char* op) {
  if (nonlinearity == "tanh") return RecurrentCell::rnn_tanh;
  if (nonlinearity == "relu") return RecurrentCell::rnn_relu;
  fail("{}: unknown nonlinearity '{}' (use \"tanh\" or \"relu\")", op, nonlinearity);
}

}  // namespace

// ---- RNNBase

RNNBase::RNNBase(RecurrentCell cell, const RNNOptions& options, const char* name)
    : cell_(cell), options_(options), name_(name) {
  const RNNOptions& o = options;
  if (o.input_size < 1 || o.hidden_size < 1) {
    fail("{}: input_size and hidden_size must be positive, got {} and {}", name, o.input_size, o.hidden_size);
  }
  if (o.num_layers < 1) fail("{}: num_layers must be at least 1, got {}", name, o.num_layers);
  if (!(o.dropout >= 0.0 && o.dropout <= 1.0)) fail("{}: dropout must be in [0, 1], got {}", name, o.dropout);
  if (o.proj_size < 0 || (o.proj_size > 0 && cell != RecurrentCell::lstm)) {
    fail("{}: proj_size must be 0 (only LSTM has a projection), got {}", name, o.proj_size);
  }
  if (o.proj_size >= o.hidden_size && o.proj_size > 0) {
    fail("{}: proj_size {} must be smaller than hidden_size {}", name, o.proj_size, o.hidden_size);
  }
  const int64_t gates = recurrent_gates(cell) * o.hidden_size;
  const int64_t out = o.proj_size > 0 ? o.proj_size : o.hidden_size;
  const int64_t directions = o.bidirectional ? 2 : 1;
  for (int64_t layer = 0; layer < o.num_layers; ++layer) {
    for (int64_t direction = 0; direction < directions; ++direction) {
      const int64_t input = layer == 0 ? o.input_size : out * directions;
      const std::string suffix = fmt::format("_l{}{}", layer, direction == 1 ? "_reverse" : "");
      RecurrentParameters p;
      p.weight_ih = register_parameter("weight_ih" + suffix, empty({gates, input}));
      p.weight_hh = register_parameter("weight_hh" + suffix, empty({gates, out}));
      if (o.bias) {
        p.bias_ih = register_parameter("bias_ih" + suffix, empty({gates}));
        p.bias_hh = register_parameter("bias_hh" + suffix, empty({gates}));
      }
      if (o.proj_size > 0) p.weight_hr = register_parameter("weight_hr" + suffix, empty({o.proj_size, o.hidden_size}));
      layers_.push_back(p);
    }
  }
  init_recurrent(parameters(false), o.hidden_size);
}

RecurrentParameters RNNBase::layer_parameters(int64_t layer, int64_t direction) const {
  const int64_t directions = options_.bidirectional ? 2 : 1;
  if (layer < 0 || layer >= options_.num_layers || direction < 0 || direction >= directions) {
    fail("{}: no layer {} direction {} (the layer has {} layers and {} directions)", name_, layer, direction,
         options_.num_layers, directions);
  }
  return layers_[static_cast<size_t>(layer * directions + direction)];
}

std::string RNNBase::extra_repr() const {
  std::string out = fmt::format("{}, {}", options_.input_size, options_.hidden_size);
  if (options_.num_layers != 1) out += fmt::format(", num_layers={}", options_.num_layers);
  if (cell_ == RecurrentCell::rnn_relu) out += ", nonlinearity=relu";
  if (!options_.bias) out += ", bias=false";
  if (options_.batch_first) out += ", batch_first=true";
  if (options_.dropout > 0) out += fmt::format(", dropout={}", options_.dropout);
  if (options_.bidirectional) out += ", bidirectional=true";
  if (options_.proj_size > 0) out += fmt::format(", proj_size={}", options_.proj_size);
  return out;
}

std::tuple<Tensor, Tensor, Tensor> RNNBase::run(const Tensor& input, const Tensor& state0, const Tensor& cell0,
                                               const Tensor& lengths) {
  const RNNOptions& o = options_;
  if (!input.defined() || (input.dim() != 3 && input.dim() != 2)) {
    fail("{}: input must be [T, B, input_size] ([B, T, input_size] with batch_first, or unbatched [T, input_size]), "
         "got {}", name_, input.defined() ? to_string(input.shape()) : "undefined");
  }
  if (input.size(-1) != o.input_size) {
    fail("{}: input of shape {} has {} features, but the layer was built for input_size {}", name_, input.shape(),
         input.size(-1), o.input_size);
  }
  const bool batched = input.dim() == 3;
  // Time-major [T, B, I] inside.
  const Tensor x = !batched ? input.unsqueeze(1) : (o.batch_first ? input.transpose(0, 1) : input);
  const int64_t batch = x.size(1);
  const int64_t directions = o.bidirectional ? 2 : 1;
  const int64_t out = o.proj_size > 0 ? o.proj_size : o.hidden_size;
  const int64_t states = o.num_layers * directions;
  auto state_or_zeros = [&](const Tensor& given, int64_t width, const char* what) {
    if (!given.defined()) return zeros({states, batch, width}, x.dtype());
    const Shape expected = batched ? Shape{states, batch, width} : Shape{states, width};
    if (given.shape() != expected) {
      fail("{}: {} has shape {}, expected {} (num_layers * num_directions, batch, size)", name_, what, given.shape(),
           expected);
    }
    return batched ? given : given.unsqueeze(1);
  };
  const Tensor h0 = state_or_zeros(state0, out, "the initial hidden state");
  const Tensor c0 = cell_ == RecurrentCell::lstm ? state_or_zeros(cell0, o.hidden_size, "the initial cell state") : Tensor();

  Tensor layer_input = x;
  std::vector<Tensor> h_n, c_n;
  for (int64_t layer = 0; layer < o.num_layers; ++layer) {
    std::vector<Tensor> outputs;
    for (int64_t direction = 0; direction < directions; ++direction) {
      const int64_t k = layer * directions + direction;
      const Tensor sequence = direction == 0 ? layer_input : reverse_sequences(layer_input, lengths);
      const RecurrentResult r = recurrent_layer(cell_, sequence, h0.select(0, k),
                                                c0.defined() ? c0.select(0, k) : Tensor(), layers_[static_cast<size_t>(k)],
                                                lengths);
      outputs.push_back(direction == 0 ? r.output : reverse_sequences(r.output, lengths));
      h_n.push_back(r.h_n);
      if (r.c_n.defined()) c_n.push_back(r.c_n);
    }
    layer_input = directions == 2 ? cat(outputs, 2) : outputs[0];
    if (o.dropout > 0.0 && is_training() && layer + 1 < o.num_layers) {
      layer_input = functional::dropout(layer_input, o.dropout, true);
    }
  }
  Tensor output = !batched ? layer_input.squeeze(1) : (o.batch_first ? layer_input.transpose(0, 1) : layer_input);
  Tensor hidden = stack(h_n, 0), cell = c_n.empty() ? Tensor() : stack(c_n, 0);
  if (!batched) {
    hidden = hidden.squeeze(1);
    if (cell.defined()) cell = cell.squeeze(1);
  }
  return {output, hidden, cell};
}

// ---- RNN, LSTM, GRU

RNN::RNN(const RNNOptions& options) : RNNBase(rnn_cell_for(options.nonlinearity, "RNN"), options, "RNN") {}

std::tuple<Tensor, Tensor> RNN::forward(const Tensor& input, const Tensor& h0) {
  auto [output, h_n, c_n] = run(input, h0, Tensor(), Tensor());
  return {output, h_n};
}

std::tuple<utils::rnn::PackedSequence, Tensor> RNN::forward(const utils::rnn::PackedSequence& input, const Tensor& h0) {
  if (input.batch_first != options().batch_first) {
    fail("RNN: the packed sequence is {} but the layer is {}; pack with batch_first = {}",
         input.batch_first ? "batch-first" : "time-major", options().batch_first ? "batch-first" : "time-major",
         options().batch_first);
  }
  auto [output, h_n, c_n] = run(input.data, h0, Tensor(), input.lengths);
  return {{output, input.lengths, input.batch_first}, h_n};
}

LSTM::LSTM(const RNNOptions& options) : RNNBase(RecurrentCell::lstm, options, "LSTM") {}

std::tuple<Tensor, std::tuple<Tensor, Tensor>> LSTM::forward(const Tensor& input,
                                                             const std::optional<std::tuple<Tensor, Tensor>>& hx) {
  auto [output, h_n, c_n] = run(input, hx ? std::get<0>(*hx) : Tensor(), hx ? std::get<1>(*hx) : Tensor(), Tensor());
  return {output, {h_n, c_n}};
}

std::tuple<utils::rnn::PackedSequence, std::tuple<Tensor, Tensor>> LSTM::forward(
    const utils::rnn::PackedSequence& input, const std::optional<std::tuple<Tensor, Tensor>>& hx) {
  if (input.batch_first != options().batch_first) {
    fail("LSTM: the packed sequence is {} but the layer is {}; pack with batch_first = {}",
         input.batch_first ? "batch-first" : "time-major", options().batch_first ? "batch-first" : "time-major",
         options().batch_first);
  }
  auto [output, h_n, c_n] =
      run(input.data, hx ? std::get<0>(*hx) : Tensor(), hx ? std::get<1>(*hx) : Tensor(), input.lengths);
  return {{output, input.lengths, input.batch_first}, {h_n, c_n}};
}

GRU::GRU(const RNNOptions& options) : RNNBase(RecurrentCell::gru, options, "GRU") {}

std::tuple<Tensor, Tensor> GRU::forward(const Tensor& input, const Tensor& h0) {
  auto [output, h_n, c_n] = run(input, h0, Tensor(), Tensor());
  return {output, h_n};
}

std::tuple<utils::rnn::PackedSequence, Tensor> GRU::forward(const utils::rnn::PackedSequence& input, const Tensor& h0) {
  if (input.batch_first != options().batch_first) {
    fail("GRU: the packed sequence is {} but the layer is {}; pack with batch_first = {}",
         input.batch_first ? "batch-first" : "time-major", options().batch_first ? "batch-first" : "time-major",
         options().batch_first);
  }
  auto [output, h_n, c_n] = run(input.data, h0, Tensor(), input.lengths);
  return {{output, input.lengths, input.batch_first}, h_n};
}

// ---- cells: one step of the fused op

namespace {

struct CellParameters {
  Tensor weight_ih, weight_hh, bias_ih, bias_hh;
};

CellParameters make_cell(Module& module, RecurrentCell cell, const RNNCellOptions& o, const char* name) {
  if (o.input_size < 1 || o.hidden_size < 1) {
    fail("{}: input_size and hidden_size must be positive, got {} and {}", name, o.input_size, o.hidden_size);
  }
  const int64_t gates = recurrent_gates(cell) * o.hidden_size;
  CellParameters p;
  p.weight_ih = module.register_parameter("weight_ih", empty({gates, o.input_size}));
  p.weight_hh = module.register_parameter("weight_hh", empty({gates, o.hidden_size}));
  if (o.bias) {
    p.bias_ih = module.register_parameter("bias_ih", empty({gates}));
    p.bias_hh = module.register_parameter("bias_hh", empty({gates}));
  }
  init_recurrent({p.weight_ih, p.weight_hh, p.bias_ih, p.bias_hh}, o.hidden_size);
  return p;
}

// One step for input [B, I] (or [I]) from state [B, H] (or [H]; zeros when undefined).
RecurrentResult cell_step(RecurrentCell cell, const char* name, const RNNCellOptions& o, const Tensor& input,
                          const Tensor& h, const Tensor& c, const RecurrentParameters& p) {
  if (!input.defined() || (input.dim() != 1 && input.dim() != 2) || input.size(-1) != o.input_size) {
    fail("{}: input must be [B, {}] or [{}], got {}", name, o.input_size, o.input_size,
         input.defined() ? to_string(input.shape()) : "undefined");
  }
  const bool batched = input.dim() == 2;
  const Tensor x = batched ? input : input.unsqueeze(0);
  const int64_t batch = x.size(0);
  auto state = [&](const Tensor& given, const char* what) {
    if (!given.defined()) return zeros({batch, o.hidden_size}, x.dtype());
    const Shape expected = batched ? Shape{batch, o.hidden_size} : Shape{o.hidden_size};
    if (given.shape() != expected) fail("{}: {} has shape {}, expected {}", name, what, given.shape(), expected);
    return batched ? given : given.unsqueeze(0);
  };
  const Tensor h0 = state(h, "the hidden state");
  const Tensor c0 = cell == RecurrentCell::lstm ? state(c, "the cell state") : Tensor();
  RecurrentResult r = recurrent_layer(cell, x.unsqueeze(0), h0, c0, p);
  if (!batched) {
    r.h_n = r.h_n.squeeze(0);
    if (r.c_n.defined()) r.c_n = r.c_n.squeeze(0);
  }
  return r;
}

std::string cell_repr(const RNNCellOptions& o, bool with_nonlinearity) {
  std::string out = fmt::format("{}, {}", o.input_size, o.hidden_size);
  if (!o.bias) out += ", bias=false";
  if (with_nonlinearity && o.nonlinearity != "tanh") out += ", nonlinearity=" + o.nonlinearity;
  return out;
}

}  // namespace

RNNCell::RNNCell(const RNNCellOptions& options) : options_(options) {
  rnn_cell_for(options.nonlinearity, "RNNCell");
  const CellParameters p = make_cell(*this, RecurrentCell::rnn_tanh, options, "RNNCell");
  weight_ih = p.weight_ih, weight_hh = p.weight_hh, bias_ih = p.bias_ih, bias_hh = p.bias_hh;
}

Tensor RNNCell::forward(const Tensor& input, const Tensor& hx) {
  return cell_step(rnn_cell_for(options_.nonlinearity, "RNNCell"), "RNNCell", options_, input, hx, Tensor(),
                   {weight_ih, weight_hh, bias_ih, bias_hh, Tensor()})
      .h_n;
}

std::string RNNCell::extra_repr() const { return cell_repr(options_, true); }

LSTMCell::LSTMCell(const RNNCellOptions& options) : options_(options) {
  const CellParameters p = make_cell(*this, RecurrentCell::lstm, options, "LSTMCell");
  weight_ih = p.weight_ih, weight_hh = p.weight_hh, bias_ih = p.bias_ih, bias_hh = p.bias_hh;
}

std::tuple<Tensor, Tensor> LSTMCell::forward(const Tensor& input, const std::optional<std::tuple<Tensor, Tensor>>& hx) {
  const RecurrentResult r = cell_step(RecurrentCell::lstm, "LSTMCell", options_, input, hx ? std::get<0>(*hx) : Tensor(),
                                      hx ? std::get<1>(*hx) : Tensor(), {weight_ih, weight_hh, bias_ih, bias_hh, Tensor()});
  return {r.h_n, r.c_n};
}

std::string LSTMCell::extra_repr() const { return cell_repr(options_, false); }

GRUCell::GRUCell(const RNNCellOptions& options) : options_(options) {
  const CellParameters p = make_cell(*this, RecurrentCell::gru, options, "GRUCell");
  weight_ih = p.weight_ih, weight_hh = p.weight_hh, bias_ih = p.bias_ih, bias_hh = p.bias_hh;
}

Tensor GRUCell::forward(const Tensor& input, const Tensor& hx) {
  return cell_step(RecurrentCell::gru, "GRUCell", options_, input, hx, Tensor(), {weight_ih, weight_hh, bias_ih, bias_hh, Tensor()})
      .h_n;
}

std::string GRUCell::extra_repr() const { return cell_repr(options_, false); }

}  // namespace nabla::nn
