#pragma once
// Recurrent layers' fused primitive: one layer, one direction, a whole sequence recorded as ONE op
// (the kernels of nabla/tensor/recurrent.hpp, PyTorch's equations and gate orders). nn::RNN, LSTM,
// GRU and their cells are built on it; their backward is one fused kernel, and their second
// derivatives come from the same layer written with differentiable ops (recurrent_layer_composite).
#include "nabla/autograd/tensor.hpp"
#include "nabla/tensor/recurrent.hpp"

namespace nabla {

// PyTorch's names: weight_ih [G*H, I], weight_hh [G*H, H_out], bias_ih, bias_hh [G*H] (optional),
// weight_hr [P, H] (LSTM with a projection only).
struct RecurrentParameters {
  Tensor weight_ih, weight_hh, bias_ih, bias_hh, weight_hr;
};

struct RecurrentResult {
  Tensor output;  // [T, B, H_out]: h after each step (zero past an example's length)
  Tensor h_n;     // [B, H_out]: h after each example's last step
  Tensor c_n;     // [B, H]: the LSTM cell state after it (undefined for RNN and GRU)
};

// x [T, B, I], h0 [B, H_out], c0 [B, H] (LSTM), lengths int64 [B] (optional; each in 1..T).
RecurrentResult recurrent_layer(RecurrentCell cell, const Tensor& x, const Tensor& h0, const Tensor& c0,
                                const RecurrentParameters& parameters, const Tensor& lengths = {});

// The same computation step by step with differentiable ops: the reference the fused op is tested
// against, and what its second derivatives are taken from.
RecurrentResult recurrent_layer_composite(RecurrentCell cell, const Tensor& x, const Tensor& h0, const Tensor& c0,
                                          const RecurrentParameters& parameters, const Tensor& lengths = {});

}  // namespace nabla
