#pragma once
// Recurrent layers as PyTorch's torch.nn.RNN / LSTM / GRU and their cells: the same options,
// shapes, gate orders (LSTM i, f, g, o; GRU r, z, n with the reset gate applied to W_hn h + b_hn),
// parameter names (weight_ih_l0, weight_hh_l0, bias_ih_l0, bias_hh_l0, weight_hr_l0 for an LSTM
// projection, "_reverse" for the backward direction) and initialisation (every parameter uniform
// in +-1/sqrt(hidden_size)). Each layer and direction runs as one fused op over the whole sequence.
//
//   nn::LSTM lstm({.input_size = 28, .hidden_size = 128, .batch_first = true});
//   auto [output, state] = lstm.forward(images);            // output [B, T, 128]
//   auto [h_n, c_n] = state;                                // [1, B, 128] each
//
// Variable-length batches: pack the padded batch with its lengths (nn::utils::rnn::
// pack_padded_sequence) and pass the PackedSequence; padded steps then neither change the
// outputs (they are zero) nor receive gradient, and h_n holds each sequence's state after its own
// last step. nabla's PackedSequence keeps the padded layout plus the lengths (PyTorch's
// interleaves the steps of all sequences); pad_packed_sequence gives the same tensors as PyTorch's.
#include <cstdint>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "nabla/nn/module.hpp"

namespace nabla::nn {

namespace utils::rnn {

// A padded batch [T, B, *] (or [B, T, *] when batch_first) with one length per sequence.
struct PackedSequence {
  Tensor data;
  Tensor lengths;  // int64 [B], each in 1..T
  bool batch_first = false;
};

// Packs a padded batch with its lengths. enforce_sorted (PyTorch's default) requires the lengths
// in decreasing order, as PyTorch does; nabla does not need them sorted, so pass false freely.
PackedSequence pack_padded_sequence(const Tensor& padded, const Tensor& lengths, bool batch_first = false,
                                    bool enforce_sorted = true);
// The padded tensor (padding_value past each length; total_length pads to that many steps) and
// the lengths, as PyTorch's pad_packed_sequence.
std::tuple<Tensor, Tensor> pad_packed_sequence(const PackedSequence& sequence, bool batch_first = false,
                                               double padding_value = 0.0, int64_t total_length = -1);

}  // namespace utils::rnn

struct RNNOptions {
  int64_t input_size = 0;
  int64_t hidden_size = 0;
  int64_t num_layers = 1;
  std::string nonlinearity = "tanh";  // RNN only: "tanh" or "relu"
  bool bias = true;
  bool batch_first = false;  // input and output [B, T, *] instead of [T, B, *]
  double dropout = 0.0;      // between layers, while training
  bool bidirectional = false;
  int64_t proj_size = 0;     // LSTM only: project h to this size (0: no projection)
};

// What RNN, LSTM and GRU share: parameters per layer and direction, and the loop over layers.
class RNNBase : public Module {
 public:
  const RNNOptions& options() const { return options_; }
  std::string extra_repr() const override;
  // The parameters of layer `layer` in direction `direction` (0 forward, 1 reverse).
  RecurrentParameters layer_parameters(int64_t layer, int64_t direction) const;

 protected:
  RNNBase(RecurrentCell cell, const RNNOptions& options, const char* name);
  // Runs every layer and direction; state0 / cell0 are [L*D, B, H_out] / [L*D, B, H] or undefined.
  // Returns output, h_n, c_n (c_n for LSTM only).
  std::tuple<Tensor, Tensor, Tensor> run(const Tensor& input, const Tensor& state0, const Tensor& cell0,
                                         const Tensor& lengths);

 private:
  RecurrentCell cell_;
  RNNOptions options_;
  const char* name_;
  std::vector<RecurrentParameters> layers_;  // layer * directions + direction
};

// Elman RNN: h' = tanh (or relu)(x W_ih^T + b_ih + h W_hh^T + b_hh).
class RNN : public RNNBase {
 public:
  explicit RNN(const RNNOptions& options);
  RNN(int64_t input_size, int64_t hidden_size) : RNN(RNNOptions{.input_size = input_size, .hidden_size = hidden_size}) {}
  // input [T, B, I] ([B, T, I] batch_first, or unbatched [T, I]); h0 [L*D, B, H] (zeros when omitted).
  // Returns output [T, B, D*H] and h_n [L*D, B, H].
  std::tuple<Tensor, Tensor> forward(const Tensor& input, const Tensor& h0 = {});
  std::tuple<utils::rnn::PackedSequence, Tensor> forward(const utils::rnn::PackedSequence& input, const Tensor& h0 = {});
};

class LSTM : public RNNBase {
 public:
  explicit LSTM(const RNNOptions& options);
  LSTM(int64_t input_size, int64_t hidden_size) : LSTM(RNNOptions{.input_size = input_size, .hidden_size = hidden_size}) {}
  // Returns output [T, B, D*H_out] and (h_n [L*D, B, H_out], c_n [L*D, B, H]); H_out is proj_size
  // when projected, else hidden_size.
  std::tuple<Tensor, std::tuple<Tensor, Tensor>> forward(const Tensor& input,
                                                         const std::optional<std::tuple<Tensor, Tensor>>& hx = {});
  std::tuple<utils::rnn::PackedSequence, std::tuple<Tensor, Tensor>> forward(
      const utils::rnn::PackedSequence& input, const std::optional<std::tuple<Tensor, Tensor>>& hx = {});
};

class GRU : public RNNBase {
 public:
  explicit GRU(const RNNOptions& options);
  GRU(int64_t input_size, int64_t hidden_size) : GRU(RNNOptions{.input_size = input_size, .hidden_size = hidden_size}) {}
  std::tuple<Tensor, Tensor> forward(const Tensor& input, const Tensor& h0 = {});
  std::tuple<utils::rnn::PackedSequence, Tensor> forward(const utils::rnn::PackedSequence& input, const Tensor& h0 = {});
};

struct RNNCellOptions {
  int64_t input_size = 0;
  int64_t hidden_size = 0;
  bool bias = true;
  std::string nonlinearity = "tanh";  // RNNCell only
};

// One step: parameters weight_ih, weight_hh, bias_ih, bias_hh; input [B, I] or [I].
class RNNCell : public Module {
 public:
  explicit RNNCell(const RNNCellOptions& options);
  RNNCell(int64_t input_size, int64_t hidden_size) : RNNCell(RNNCellOptions{input_size, hidden_size}) {}
  Tensor forward(const Tensor& input, const Tensor& hx);
  Tensor forward(const Tensor& input) override { return forward(input, Tensor()); }
  std::string extra_repr() const override;
  Tensor weight_ih, weight_hh, bias_ih, bias_hh;

 private:
  RNNCellOptions options_;
};

class LSTMCell : public Module {
 public:
  explicit LSTMCell(const RNNCellOptions& options);
  LSTMCell(int64_t input_size, int64_t hidden_size) : LSTMCell(RNNCellOptions{input_size, hidden_size}) {}
  // Returns (h', c').
  std::tuple<Tensor, Tensor> forward(const Tensor& input, const std::optional<std::tuple<Tensor, Tensor>>& hx = {});
  std::string extra_repr() const override;
  Tensor weight_ih, weight_hh, bias_ih, bias_hh;

 private:
  RNNCellOptions options_;
};

class GRUCell : public Module {
 public:
  explicit GRUCell(const RNNCellOptions& options);
  GRUCell(int64_t input_size, int64_t hidden_size) : GRUCell(RNNCellOptions{input_size, hidden_size}) {}
  Tensor forward(const Tensor& input, const Tensor& hx);
  Tensor forward(const Tensor& input) override { return forward(input, Tensor()); }
  std::string extra_repr() const override;
  Tensor weight_ih, weight_hh, bias_ih, bias_hh;

 private:
  RNNCellOptions options_;
};

}  // namespace nabla::nn
