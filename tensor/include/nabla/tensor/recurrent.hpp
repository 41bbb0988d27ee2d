#pragma once
// The fused kernels behind nn's recurrent layers: one layer, one direction, a whole sequence per
// call. The input projection x W_ih^T is one GEMM over every time step; each step then runs one
// GEMM for h W_hh^T and one pass over the gates. Backward mirrors it, and accumulates the weight
// gradients with one GEMM over all steps after the loop. Equations, gate orders and parameter
// layouts are PyTorch's (torch.nn.RNN / LSTM / GRU):
//   RNN:  h' = act(x W_ih^T + b_ih + h W_hh^T + b_hh), act = tanh or relu
//   LSTM: i, f, g, o = split(x W_ih^T + b_ih + h W_hh^T + b_hh, 4)
//         c' = sigmoid(f) c + sigmoid(i) tanh(g);  h' = sigmoid(o) tanh(c') [W_hr^T when projected]
//   GRU:  r, z, n: r = sigmoid(x W_ir^T + b_ir + h W_hr^T + b_hr), z likewise,
//         n = tanh(x W_in^T + b_in + r (h W_hn^T + b_hn)),  h' = (1 - z) n + z h
// Variable lengths: with `lengths` (int64 [B], each in 1..T) example b runs steps 0..len_b-1 only;
// its state is carried unchanged past its end, its outputs there are zero and get no gradient,
// and its final state is the one after its own last step (what PyTorch's packed sequences give).
#include <cstdint>

#include "nabla/tensor/tensor.hpp"

namespace nabla {

enum class RecurrentCell { rnn_tanh, rnn_relu, lstm, gru };

// Gates per hidden unit: 1 (RNN), 4 (LSTM: i, f, g, o), 3 (GRU: r, z, n).
constexpr int64_t recurrent_gates(RecurrentCell cell) {
  return cell == RecurrentCell::lstm ? 4 : cell == RecurrentCell::gru ? 3 : 1;
}

}  // namespace nabla

namespace nabla::kernels {

// One layer's parameters (PyTorch's names): w_ih [G*H, I], w_hh [G*H, H_out], b_ih and b_hh [G*H]
// (both optional), w_hr [P, H] (LSTM with proj_size P only; then H_out = P, else H_out = H).
struct RecurrentWeights {
  Tensor w_ih, w_hh, b_ih, b_hh, w_hr;
};

// What one layer's forward gives, and keeps for its backward. output, last_hidden and last_cell
// are views into one buffer (`packed`), so that they can be recorded as one result.
struct RecurrentForward {
  Tensor packed;       // 1-d: output, then last_hidden, then last_cell
  Tensor output;       // [T, B, H_out]: h after each step (zero past an example's length)
  Tensor last_hidden;  // [B, H_out]: h after each example's last step
  Tensor last_cell;    // [B, H] (LSTM; undefined otherwise)
  Tensor workspace;    // activations: LSTM i, f, g, o, c (and o tanh(c) when projected); GRU r, z, n, h W_hn^T + b_hn
  Tensor previous;     // [T, B, H_out]: the state each step started from
};

// x [T, B, I] (any layout), h0 [B, H_out], c0 [B, H] (LSTM only), lengths int64 [B] or undefined.
RecurrentForward recurrent_forward(RecurrentCell cell, const Tensor& x, const Tensor& h0, const Tensor& c0,
                                   const RecurrentWeights& weights, const Tensor& lengths);

struct RecurrentGradients {
  Tensor x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr;
};

// The gradients of a forward's results, given the gradients of output ([T, B, H_out]),
// last_hidden ([B, H_out]) and last_cell ([B, H]); any of them may be undefined (zero). Only the
// gradients asked for in `wanted` (same fields, any defined tensor meaning yes) are computed.
struct RecurrentWanted {
  bool x = true, h0 = true, c0 = true, weights = true;
};
RecurrentGradients recurrent_backward(RecurrentCell cell, const Tensor& x, const Tensor& h0, const Tensor& c0,
                                      const RecurrentWeights& weights, const Tensor& lengths,
                                      const RecurrentForward& forward, const Tensor& grad_output,
                                      const Tensor& grad_last_hidden, const Tensor& grad_last_cell,
                                      RecurrentWanted wanted = {});

}  // namespace nabla::kernels
