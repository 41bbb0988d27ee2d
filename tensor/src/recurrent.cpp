// The fused recurrent kernels (nabla/tensor/recurrent.hpp): RNN, LSTM and GRU over a whole
// sequence, forward and backward, for one layer and one direction.
#include "nabla/tensor/recurrent.hpp"

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "blas.hpp"
#include "fast_math.hpp"
#include "nabla/tensor/simd.hpp"
#include "nabla/tensor/threads.hpp"
#include "nabla/tensor/mixed_dtypes.hpp"

namespace nabla::kernels {

namespace {

const char* cell_name(RecurrentCell cell) {
  switch (cell) {
    case RecurrentCell::rnn_tanh: return "rnn_tanh";
    case RecurrentCell::rnn_relu: return "rnn_relu";
    case RecurrentCell::lstm: return "lstm";
    case RecurrentCell::gru: return "gru";
  }
  return "rnn";
}

// The sizes of one call, checked against each other once.
struct Geometry {
  int64_t steps = 0, batch = 0, input = 0, hidden = 0, out = 0, gates = 0;
  bool projected = false;
  int64_t gate_width() const { return gates * hidden; }
};

void check_tensor(const Tensor& t, const Shape& expected, DType dtype, const char* what, const char* op) {
  if (!t.defined()) fail("{}: {} is undefined", op, what);
  if (t.shape() != expected) fail("{}: {} has shape {}, expected {}", op, what, t.shape(), expected);
  check_same_dtype(op, "input", dtype, what, t.dtype());
}

Geometry check_geometry(RecurrentCell cell, const Tensor& x, const Tensor& h0, const Tensor& c0,
                        const RecurrentWeights& w, const Tensor& lengths) {
  const char* op = cell_name(cell);
  if (!x.defined() || x.dim() != 3) {
    fail("{}: input must be [T, B, input_size] (time-major here; the layer transposes batch_first input), got {}", op,
         x.defined() ? to_string(x.shape()) : "undefined");
  }
  if (!is_floating(x.dtype())) fail("{}: input must be float32 or float64, got {}", op, x.dtype());
  Geometry g;
  g.steps = x.size(0);
  g.batch = x.size(1);
  g.input = x.size(2);
  g.gates = recurrent_gates(cell);
  if (g.steps < 1) fail("{}: the input has no time steps (shape {})", op, x.shape());
  if (!w.w_ih.defined() || w.w_ih.dim() != 2 || w.w_ih.size(0) % g.gates != 0) {
    fail("{}: weight_ih must be [{} * hidden_size, input_size], got {}", op, g.gates,
         w.w_ih.defined() ? to_string(w.w_ih.shape()) : "undefined");
  }
  g.hidden = w.w_ih.size(0) / g.gates;
  check_tensor(w.w_ih, {g.gate_width(), g.input}, x.dtype(), "weight_ih", op);
  g.projected = w.w_hr.defined();
  if (g.projected && cell != RecurrentCell::lstm) fail("{}: only LSTM has a projection (weight_hr)", op);
  g.out = g.projected ? w.w_hr.size(0) : g.hidden;
  if (g.projected) check_tensor(w.w_hr, {g.out, g.hidden}, x.dtype(), "weight_hr", op);
  check_tensor(w.w_hh, {g.gate_width(), g.out}, x.dtype(), "weight_hh", op);
  if (w.b_ih.defined()) check_tensor(w.b_ih, {g.gate_width()}, x.dtype(), "bias_ih", op);
  if (w.b_hh.defined()) check_tensor(w.b_hh, {g.gate_width()}, x.dtype(), "bias_hh", op);
  check_tensor(h0, {g.batch, g.out}, x.dtype(), "the initial hidden state", op);
  if (cell == RecurrentCell::lstm) check_tensor(c0, {g.batch, g.hidden}, x.dtype(), "the initial cell state", op);
  if (lengths.defined()) {
    if (lengths.dtype() != int64 || lengths.shape() != Shape{g.batch}) {
      fail("{}: lengths must be int64 [{}] (one per example), got {} {}", op, g.batch, lengths.dtype(), lengths.shape());
    }
    const Tensor packed = lengths.contiguous();
    const int64_t* l = packed.data<int64_t>();
    for (int64_t b = 0; b < g.batch; ++b) {
      if (l[b] < 1 || l[b] > g.steps) {
        fail("{}: example {} has length {}; lengths must be in 1..{} (the padded length)", op, b, l[b], g.steps);
      }
    }
  }
  return g;
}

// Per example, the number of steps it runs (all of them without lengths).
std::vector<int64_t> steps_per_example(const Geometry& g, const Tensor& lengths) {
  std::vector<int64_t> out(static_cast<size_t>(g.batch), g.steps);
  if (lengths.defined()) out = lengths.contiguous().to_vector<int64_t>();
  return out;
}

// Rows [begin, end) of a B-row step, in chunks big enough to pay for a thread.
template <class Body>
void for_rows(int64_t rows, int64_t width, const Body& body) {
  const int64_t grain = std::max<int64_t>(1, 16384 / std::max<int64_t>(width, 1));
  parallel_for(0, rows, grain, body);
}

// Where the workspace keeps each cell's activations, per step row [B, per_row].
int64_t workspace_width(RecurrentCell cell, const Geometry& g) {
  switch (cell) {
    case RecurrentCell::lstm: return 5 * g.hidden + (g.projected ? g.hidden : 0);  // i f g o c (m)
    case RecurrentCell::gru: return 4 * g.hidden;                                   // r z n hn
    default: return 0;
  }
}

// ---- the per-step point-wise passes (hot: a few hundred thousand elements per batch)

// LSTM forward for one row: pre-activations in gates [4H] become i, f, g, o in place; the new
// cell state and m = o tanh(c) are written out.
template <class T>
NABLA_SIMD_CLONES void lstm_row(T* __restrict gates, const T* __restrict c_prev, T* __restrict c, T* __restrict m,
                                int64_t hidden) {
  T* i = gates;
  T* f = gates + hidden;
  T* g = gates + 2 * hidden;
  T* o = gates + 3 * hidden;
  for (int64_t j = 0; j < hidden; ++j) {
    i[j] = detail::fast_sigmoid(i[j]);
    f[j] = detail::fast_sigmoid(f[j]);
    g[j] = detail::fast_tanh(g[j]);
    o[j] = detail::fast_sigmoid(o[j]);
    c[j] = f[j] * c_prev[j] + i[j] * g[j];
    m[j] = o[j] * detail::fast_tanh(c[j]);
  }
}

// GRU forward for one row: xp [3H] is x W_ih^T + b_ih, hh [3H] is h W_hh^T + b_hh.
template <class T>
NABLA_SIMD_CLONES void gru_row(const T* __restrict xp, const T* __restrict hh, const T* __restrict h_prev,
                               T* __restrict r, T* __restrict z, T* __restrict n, T* __restrict hn, T* __restrict h,
                               int64_t hidden) {
  for (int64_t j = 0; j < hidden; ++j) {
    r[j] = detail::fast_sigmoid(xp[j] + hh[j]);
    z[j] = detail::fast_sigmoid(xp[hidden + j] + hh[hidden + j]);
    hn[j] = hh[2 * hidden + j];
    n[j] = detail::fast_tanh(xp[2 * hidden + j] + r[j] * hn[j]);
    h[j] = (T(1) - z[j]) * n[j] + z[j] * h_prev[j];
  }
}

template <class T>
NABLA_SIMD_CLONES void rnn_row(T* __restrict h, int64_t hidden, bool relu) {
  if (relu) {
    for (int64_t j = 0; j < hidden; ++j) h[j] = h[j] > T(0) ? h[j] : T(0);
  } else {
    for (int64_t j = 0; j < hidden; ++j) h[j] = detail::fast_tanh(h[j]);
  }
}

template <class T>
void forward_typed(RecurrentCell cell, const Geometry& g, const Tensor& x_in, const Tensor& h0, const Tensor& c0,
                   const RecurrentWeights& w, const std::vector<int64_t>& length, RecurrentForward& result) {
  const int64_t S = g.steps, B = g.batch, I = g.input, H = g.hidden, O = g.out, G = g.gate_width();
  const Tensor x = x_in.contiguous();
  const Tensor w_ih = w.w_ih.contiguous(), w_hh = w.w_hh.contiguous();
  const Tensor w_hr = g.projected ? w.w_hr.contiguous() : Tensor();
  const int64_t ws_width = workspace_width(cell, g);

  // x W_ih^T + biases for every step at once, as one GEMM. LSTM computes it straight into the
  // workspace's gate columns, where each step then adds h W_hh^T and applies the activations in
  // place; RNN and GRU keep it apart. LSTM and RNN fold both biases in; GRU folds in b_ih
  // everywhere but b_hh only for r and z, since r multiplies h W_hn^T + b_hn.
  const bool in_workspace = cell == RecurrentCell::lstm;
  Tensor projected = in_workspace ? Tensor() : Tensor::empty({S, B, G}, x.dtype());
  T* xp = in_workspace ? result.workspace.data<T>() : projected.data<T>();
  const int64_t xp_stride = in_workspace ? ws_width : G;
  {
    std::vector<T> bias(static_cast<size_t>(G), T(0));
    if (w.b_ih.defined()) {
      const std::vector<T> b = w.b_ih.to_vector<T>();
      for (int64_t k = 0; k < G; ++k) bias[k] += b[k];
    }
    if (w.b_hh.defined() && cell != RecurrentCell::gru) {
      const std::vector<T> b = w.b_hh.to_vector<T>();
      for (int64_t k = 0; k < G; ++k) bias[k] += b[k];
    }
    for (int64_t row = 0; row < S * B; ++row) std::memcpy(xp + row * xp_stride, bias.data(), sizeof(T) * G);
    if (I > 0) detail::gemm<T>(false, true, S * B, G, I, T(1), x.data<T>(), I, w_ih.data<T>(), I, T(1), xp, xp_stride);
  }
  std::vector<T> hh_bias(static_cast<size_t>(G), T(0));
  if (cell == RecurrentCell::gru && w.b_hh.defined()) hh_bias = w.b_hh.to_vector<T>();

  T* out = result.output.data<T>();
  T* prev = result.previous.data<T>();
  T* ws = ws_width ? result.workspace.data<T>() : nullptr;
  // The running state (carried unchanged past an example's end), and per-step scratch.
  std::vector<T> h(static_cast<size_t>(B * O)), c(static_cast<size_t>(cell == RecurrentCell::lstm ? B * H : 0));
  std::vector<T> step_h(static_cast<size_t>(B * O)), step_c(c.size()), scratch(static_cast<size_t>(B * G));
  std::memcpy(h.data(), h0.contiguous().data<T>(), sizeof(T) * B * O);
  if (cell == RecurrentCell::lstm) std::memcpy(c.data(), c0.contiguous().data<T>(), sizeof(T) * B * H);

  for (int64_t t = 0; t < S; ++t) {
    std::memcpy(prev + t * B * O, h.data(), sizeof(T) * B * O);
    const T* xp_t = xp + t * B * xp_stride;
    if (cell == RecurrentCell::lstm) {
      // gates = x W_ih^T + biases (already there) + h W_hh^T, then activated in place.
      T* row_ws = ws + t * B * ws_width;
      detail::gemm<T>(false, true, B, G, O, T(1), h.data(), O, w_hh.data<T>(), O, T(1), row_ws, ws_width);
      T* m_target = g.projected ? nullptr : step_h.data();
      for_rows(B, ws_width, [&](int64_t lo, int64_t hi) {
        for (int64_t b = lo; b < hi; ++b) {
          T* slot = row_ws + b * ws_width;
          T* m = g.projected ? slot + 5 * H : m_target + b * O;
          lstm_row<T>(slot, c.data() + b * H, step_c.data() + b * H, m, H);
          std::memcpy(slot + 4 * H, step_c.data() + b * H, sizeof(T) * H);  // c, kept for backward
        }
      });
      if (g.projected) {
        detail::gemm<T>(false, true, B, O, H, T(1), row_ws + 5 * H, ws_width, w_hr.data<T>(), H, T(0), step_h.data(), O);
      }
    } else if (cell == RecurrentCell::gru) {
      for (int64_t b = 0; b < B; ++b) std::memcpy(scratch.data() + b * G, hh_bias.data(), sizeof(T) * G);
      detail::gemm<T>(false, true, B, G, O, T(1), h.data(), O, w_hh.data<T>(), O, T(1), scratch.data(), G);
      T* row_ws = ws + t * B * ws_width;
      for_rows(B, G, [&](int64_t lo, int64_t hi) {
        for (int64_t b = lo; b < hi; ++b) {
          T* slot = row_ws + b * ws_width;
          gru_row<T>(xp_t + b * G, scratch.data() + b * G, h.data() + b * O, slot, slot + H, slot + 2 * H, slot + 3 * H,
                     step_h.data() + b * O, H);
        }
      });
    } else {
      std::memcpy(step_h.data(), xp_t, sizeof(T) * B * G);
      detail::gemm<T>(false, true, B, G, O, T(1), h.data(), O, w_hh.data<T>(), O, T(1), step_h.data(), G);
      const bool relu = cell == RecurrentCell::rnn_relu;
      for_rows(B, H, [&](int64_t lo, int64_t hi) {
        for (int64_t b = lo; b < hi; ++b) rnn_row<T>(step_h.data() + b * O, H, relu);
      });
    }
    // Examples still running take the new state and emit it; the others keep theirs and emit 0.
    T* out_t = out + t * B * O;
    for (int64_t b = 0; b < B; ++b) {
      if (t < length[b]) {
        std::memcpy(h.data() + b * O, step_h.data() + b * O, sizeof(T) * O);
        if (cell == RecurrentCell::lstm) std::memcpy(c.data() + b * H, step_c.data() + b * H, sizeof(T) * H);
        std::memcpy(out_t + b * O, step_h.data() + b * O, sizeof(T) * O);
      } else {
        std::memset(out_t + b * O, 0, sizeof(T) * O);
      }
    }
  }
  std::memcpy(result.last_hidden.data<T>(), h.data(), sizeof(T) * B * O);
  if (cell == RecurrentCell::lstm) std::memcpy(result.last_cell.data<T>(), c.data(), sizeof(T) * B * H);
}

// ---- backward

// LSTM backward for one row of one step. dh is the gradient of m = o tanh(c) (after the
// projection's adjoint), dc the cell's gradient flowing back from the next step (updated to the
// previous step's in place); writes the four pre-activation gradients.
template <class T>
NABLA_SIMD_CLONES void lstm_backward_row(const T* __restrict slot, const T* __restrict c_prev, const T* __restrict dm,
                                         T* __restrict dc, T* __restrict dz, int64_t hidden) {
  const T* i = slot;
  const T* f = slot + hidden;
  const T* g = slot + 2 * hidden;
  const T* o = slot + 3 * hidden;
  const T* c = slot + 4 * hidden;
  for (int64_t j = 0; j < hidden; ++j) {
    const T tc = detail::fast_tanh(c[j]);
    const T dc_total = dc[j] + dm[j] * o[j] * (T(1) - tc * tc);
    dz[j] = dc_total * g[j] * i[j] * (T(1) - i[j]);
    dz[hidden + j] = dc_total * c_prev[j] * f[j] * (T(1) - f[j]);
    dz[2 * hidden + j] = dc_total * i[j] * (T(1) - g[j] * g[j]);
    dz[3 * hidden + j] = dm[j] * tc * o[j] * (T(1) - o[j]);
    dc[j] = dc_total * f[j];
  }
}

// GRU backward for one row: dh is h's gradient; writes the input-side (x W_ih^T + b_ih) and
// hidden-side (h W_hh^T + b_hh) pre-activation gradients and the direct part of dh_prev.
template <class T>
NABLA_SIMD_CLONES void gru_backward_row(const T* __restrict slot, const T* __restrict h_prev, const T* __restrict dh,
                                        T* __restrict dzx, T* __restrict dzh, T* __restrict dh_prev, int64_t hidden) {
  const T* r = slot;
  const T* z = slot + hidden;
  const T* n = slot + 2 * hidden;
  const T* hn = slot + 3 * hidden;
  for (int64_t j = 0; j < hidden; ++j) {
    const T dn = dh[j] * (T(1) - z[j]);
    const T dz = dh[j] * (h_prev[j] - n[j]);
    const T dn_pre = dn * (T(1) - n[j] * n[j]);
    const T dr = dn_pre * hn[j];
    const T dr_pre = dr * r[j] * (T(1) - r[j]);
    const T dz_pre = dz * z[j] * (T(1) - z[j]);
    dzx[j] = dr_pre;
    dzx[hidden + j] = dz_pre;
    dzx[2 * hidden + j] = dn_pre;
    dzh[j] = dr_pre;
    dzh[hidden + j] = dz_pre;
    dzh[2 * hidden + j] = dn_pre * r[j];
    dh_prev[j] = dh[j] * z[j];
  }
}

template <class T>
NABLA_SIMD_CLONES void rnn_backward_row(const T* __restrict h, const T* __restrict dh, T* __restrict dz, int64_t hidden,
                                        bool relu) {
  if (relu) {
    for (int64_t j = 0; j < hidden; ++j) dz[j] = h[j] > T(0) ? dh[j] : T(0);
  } else {
    for (int64_t j = 0; j < hidden; ++j) dz[j] = dh[j] * (T(1) - h[j] * h[j]);
  }
}

// acc[k] += row[k]: one row into the running column sums, vectorised.
template <class T>
NABLA_SIMD_CLONES void add_row_to(const T* __restrict row, double* __restrict acc, int64_t cols) {
  for (int64_t k = 0; k < cols; ++k) acc[k] += static_cast<double>(row[k]);
}

// Column sums of a [rows, cols] matrix (a bias gradient), accumulated in double.
template <class T>
Tensor column_sums(const T* m, int64_t rows, int64_t cols, DType dtype) {
  std::vector<double> acc(static_cast<size_t>(cols), 0.0);
  for (int64_t r = 0; r < rows; ++r) add_row_to<T>(m + r * cols, acc.data(), cols);
  Tensor out = Tensor::empty({cols}, dtype);
  T* p = out.data<T>();
  for (int64_t k = 0; k < cols; ++k) p[k] = static_cast<T>(acc[k]);
  return out;
}

template <class T>
void backward_typed(RecurrentCell cell, const Geometry& g, const Tensor& x_in, const Tensor& h0, const Tensor& c0,
                    const RecurrentWeights& w, const std::vector<int64_t>& length, const RecurrentForward& fwd,
                    const Tensor& grad_output, const Tensor& grad_last_hidden, const Tensor& grad_last_cell,
                    const RecurrentWanted& wanted, RecurrentGradients& grads) {
  const int64_t S = g.steps, B = g.batch, I = g.input, H = g.hidden, O = g.out, G = g.gate_width();
  const DType dtype = x_in.dtype();
  const Tensor w_hh = w.w_hh.contiguous();
  const Tensor w_hr = g.projected ? w.w_hr.contiguous() : Tensor();
  const int64_t ws_width = workspace_width(cell, g);
  const T* ws = ws_width ? fwd.workspace.data<T>() : nullptr;
  const T* prev = fwd.previous.data<T>();
  const T* out = fwd.output.data<T>();
  const Tensor go = grad_output.defined() ? grad_output.contiguous() : Tensor();
  const T* grad_out = go.defined() ? go.data<T>() : nullptr;

  // Pre-activation gradients of every step: input side and hidden side (the same but for GRU).
  Tensor dzx_all = Tensor::empty({S, B, G}, dtype);
  Tensor dzh_all = cell == RecurrentCell::gru ? Tensor::empty({S, B, G}, dtype) : dzx_all;
  Tensor dh_all = g.projected ? Tensor::empty({S, B, O}, dtype) : Tensor();  // h's gradients, for dW_hr
  T* dzx = dzx_all.data<T>();
  T* dzh = dzh_all.data<T>();

  std::vector<T> dh(static_cast<size_t>(B * O), T(0)), dc(static_cast<size_t>(cell == RecurrentCell::lstm ? B * H : 0), T(0));
  if (grad_last_hidden.defined()) std::memcpy(dh.data(), grad_last_hidden.contiguous().data<T>(), sizeof(T) * B * O);
  if (grad_last_cell.defined() && cell == RecurrentCell::lstm) {
    std::memcpy(dc.data(), grad_last_cell.contiguous().data<T>(), sizeof(T) * B * H);
  }
  std::vector<T> dm(static_cast<size_t>(B * H)), dh_prev(static_cast<size_t>(B * O));
  const Tensor c0_packed = cell == RecurrentCell::lstm ? c0.contiguous() : Tensor();

  for (int64_t t = S - 1; t >= 0; --t) {
    // h_t's gradient: from the step after (dh) plus from the output at t, for running examples.
    for (int64_t b = 0; b < B; ++b) {
      if (t >= length[b] || grad_out == nullptr) continue;
      const T* g_out = grad_out + (t * B + b) * O;
      T* d = dh.data() + b * O;
      for (int64_t j = 0; j < O; ++j) d[j] += g_out[j];
    }
    T* dzx_t = dzx + t * B * G;
    T* dzh_t = dzh + t * B * G;
    const T* ws_t = ws ? ws + t * B * ws_width : nullptr;
    // Rows whose example has ended before t take no part in this step: no gradient into it, and
    // their h (and c) gradient passes through unchanged.
    auto running = [&](int64_t b) { return t < length[b]; };
    if (cell == RecurrentCell::lstm) {
      const T* dm_source = dh.data();
      if (g.projected) {
        T* dh_t = dh_all.data<T>() + t * B * O;
        std::memcpy(dh_t, dh.data(), sizeof(T) * B * O);
        for (int64_t b = 0; b < B; ++b) {
          if (!running(b)) std::memset(dh_t + b * O, 0, sizeof(T) * O);
        }
        detail::gemm<T>(false, false, B, H, O, T(1), dh.data(), O, w_hr.data<T>(), H, T(0), dm.data(), H);
        dm_source = dm.data();
      }
      const T* c0_rows = c0_packed.data<T>();
      for_rows(B, G, [&](int64_t lo, int64_t hi) {
        for (int64_t b = lo; b < hi; ++b) {
          if (!running(b)) {
            std::memset(dzx_t + b * G, 0, sizeof(T) * G);
            continue;
          }
          // The cell state the step started from: the previous step's c, or c0 (steps of a
          // running example are contiguous from 0, so step t - 1 ran too).
          const T* c_prev = t == 0 ? c0_rows + b * H : ws + ((t - 1) * B + b) * ws_width + 4 * H;
          lstm_backward_row<T>(ws_t + b * ws_width, c_prev, dm_source + b * H, dc.data() + b * H, dzx_t + b * G, H);
        }
      });
    } else if (cell == RecurrentCell::gru) {
      for_rows(B, G, [&](int64_t lo, int64_t hi) {
        for (int64_t b = lo; b < hi; ++b) {
          if (!running(b)) {
            std::memset(dzx_t + b * G, 0, sizeof(T) * G);
            std::memset(dzh_t + b * G, 0, sizeof(T) * G);
            continue;
          }
          gru_backward_row<T>(ws_t + b * ws_width, prev + (t * B + b) * O, dh.data() + b * O, dzx_t + b * G, dzh_t + b * G,
                              dh_prev.data() + b * O, H);
        }
      });
    } else {
      const bool relu = cell == RecurrentCell::rnn_relu;
      for_rows(B, H, [&](int64_t lo, int64_t hi) {
        for (int64_t b = lo; b < hi; ++b) {
          if (!running(b)) {
            std::memset(dzx_t + b * G, 0, sizeof(T) * G);
            continue;
          }
          // h_t itself is the output at t while the example runs.
          rnn_backward_row<T>(out + (t * B + b) * O, dh.data() + b * O, dzx_t + b * G, H, relu);
        }
      });
    }
    // The previous step's h gradient: through W_hh (plus GRU's direct z h term), or carried.
    detail::gemm<T>(false, false, B, O, G, T(1), dzh_t, G, w_hh.data<T>(), O, cell == RecurrentCell::gru ? T(1) : T(0),
                    dh_prev.data(), O);
    for (int64_t b = 0; b < B; ++b) {
      if (running(b)) std::memcpy(dh.data() + b * O, dh_prev.data() + b * O, sizeof(T) * O);
    }
  }
  if (wanted.h0) {
    grads.h0 = Tensor::empty({B, O}, dtype);
    std::memcpy(grads.h0.data<T>(), dh.data(), sizeof(T) * B * O);
  }
  if (wanted.c0 && cell == RecurrentCell::lstm) {
    grads.c0 = Tensor::empty({B, H}, dtype);
    std::memcpy(grads.c0.data<T>(), dc.data(), sizeof(T) * B * H);
  }
  const int64_t rows = S * B;
  if (wanted.weights) {
    const Tensor x = x_in.contiguous();
    grads.w_ih = Tensor::empty({G, I}, dtype);
    if (I > 0) detail::gemm<T>(true, false, G, I, rows, T(1), dzx, G, x.data<T>(), I, T(0), grads.w_ih.data<T>(), I);
    grads.w_hh = Tensor::empty({G, O}, dtype);
    detail::gemm<T>(true, false, G, O, rows, T(1), dzh, G, prev, O, T(0), grads.w_hh.data<T>(), O);
    // The biases' gradients are the pre-activation gradients summed over steps and examples
    // (b_ih and b_hh receive the same one, except GRU's hidden-side n).
    if (w.b_ih.defined()) grads.b_ih = column_sums<T>(dzx, rows, G, dtype);
    if (w.b_hh.defined()) {
      grads.b_hh = cell == RecurrentCell::gru ? column_sums<T>(dzh, rows, G, dtype)
                   : grads.b_ih.defined()       ? grads.b_ih.clone()
                                                : column_sums<T>(dzx, rows, G, dtype);
    }
    if (g.projected) {
      // dW_hr = sum_t dh_t^T m_t, with m = o tanh(c) kept in the workspace.
      grads.w_hr = Tensor::empty({O, H}, dtype);
      detail::gemm<T>(true, false, O, H, rows, T(1), dh_all.data<T>(), O, ws + 5 * H, ws_width, T(0),
                      grads.w_hr.data<T>(), H);
    }
  }
  if (wanted.x) {
    const Tensor w_ih = w.w_ih.contiguous();
    grads.x = Tensor::empty({S, B, I}, dtype);
    if (I > 0) detail::gemm<T>(false, false, rows, I, G, T(1), dzx, G, w_ih.data<T>(), I, T(0), grads.x.data<T>(), I);
  }
}

}  // namespace

RecurrentForward recurrent_forward(RecurrentCell cell, const Tensor& x, const Tensor& h0, const Tensor& c0,
                                   const RecurrentWeights& weights, const Tensor& lengths) {
  const Geometry g = check_geometry(cell, x, h0, c0, weights, lengths);
  const std::vector<int64_t> length = steps_per_example(g, lengths);
  RecurrentForward result;
  const int64_t output_size = g.steps * g.batch * g.out;
  const int64_t cell_size = cell == RecurrentCell::lstm ? g.batch * g.hidden : 0;
  result.packed = Tensor::empty({output_size + g.batch * g.out + cell_size}, x.dtype());
  result.output = result.packed.narrow(0, 0, output_size).view({g.steps, g.batch, g.out});
  result.last_hidden = result.packed.narrow(0, output_size, g.batch * g.out).view({g.batch, g.out});
  if (cell_size) result.last_cell = result.packed.narrow(0, output_size + g.batch * g.out, cell_size).view({g.batch, g.hidden});
  const int64_t ws_width = workspace_width(cell, g);
  if (ws_width) result.workspace = Tensor::empty({g.steps, g.batch, ws_width}, x.dtype());
  result.previous = Tensor::empty({g.steps, g.batch, g.out}, x.dtype());
  dispatch_floating(x.dtype(), [&](auto tag) {
    forward_typed<decltype(tag)>(cell, g, x, h0, c0, weights, length, result);
  });
  return result;
}

RecurrentGradients recurrent_backward(RecurrentCell cell, const Tensor& x, const Tensor& h0, const Tensor& c0,
                                      const RecurrentWeights& weights, const Tensor& lengths,
                                      const RecurrentForward& forward, const Tensor& grad_output,
                                      const Tensor& grad_last_hidden, const Tensor& grad_last_cell,
                                      RecurrentWanted wanted) {
  const Geometry g = check_geometry(cell, x, h0, c0, weights, lengths);
  const char* op = cell_name(cell);
  if (grad_output.defined() && grad_output.shape() != forward.output.shape()) {
    fail("{} backward: the output's gradient has shape {}, expected {}", op, grad_output.shape(), forward.output.shape());
  }
  const std::vector<int64_t> length = steps_per_example(g, lengths);
  RecurrentGradients grads;
  dispatch_floating(x.dtype(), [&](auto tag) {
    backward_typed<decltype(tag)>(cell, g, x, h0, c0, weights, length, forward, grad_output, grad_last_hidden,
                                  grad_last_cell, wanted, grads);
  });
  return grads;
}

}  // namespace nabla::kernels
