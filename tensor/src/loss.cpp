#include "nabla/tensor/loss.hpp"

#include <algorithm>
#include <cmath>
#include <iterator>
#include <limits>
#include <type_traits>
#include <vector>

#include "nabla/tensor/error.hpp"
#include "nabla/tensor/threads.hpp"
#include "contiguous_ref.hpp"
#include "vector_math.hpp"

namespace nabla::kernels {

using detail::ContiguousRef;

namespace {

// Rows per parallel chunk: enough elements that waking a thread pays.
int64_t row_grain(int64_t classes) { return std::max<int64_t>(1, 32768 / std::max<int64_t>(classes, 1)); }

void check_rows(const Tensor& logits, const Tensor& target, const char* op) {
  if (!logits.defined() || !target.defined()) fail("{}: an operand is undefined", op);
  if (logits.dim() != 2) fail("{}: logits must be [N, C], got shape {}", op, logits.shape());
  if (!is_floating(logits.dtype())) fail("{}: logits must be float32 or float64, got {}", op, logits.dtype());
  if (target.dtype() != int64 || target.dim() != 1 || target.size(0) != logits.size(0)) {
    fail("{}: target must be int64 class indices of shape [{}] for logits of shape {}, got {} {}", op, logits.size(0),
         logits.shape(), target.dtype(), target.shape());
  }
  if (logits.size(1) == 0 && logits.size(0) > 0) fail("{}: logits of shape {} have no classes", op, logits.shape());
}

int64_t checked_class(const int64_t* target, int64_t row, int64_t classes, const char* op) {
  const int64_t t = target[row];
  if (t < 0 || t >= classes) {
    fail("{}: target contains class {}, but the scores have {} classes (valid: 0 to {}); first at row {}", op, t,
         classes, classes - 1, row);
  }
  return t;
}

// A row's largest logit, subtracted before exp so that nothing overflows; a row whose max is
// infinite is not shifted (as logsumexp: an all -inf row gives -inf, not NaN).
template <class T>
T row_shift(const T* row, int64_t n) {
  T top = -std::numeric_limits<T>::infinity();
  for (int64_t j = 0; j < n; ++j) top = row[j] > top ? row[j] : top;
  return std::isinf(top) ? T(0) : top;
}

// Logits whose exponentials are taken in one pass: enough to fill the vectors, few enough to stay
// on the stack.
constexpr int64_t kBlockElements = 1024;

// The shifted exponentials of a block of rows, the part of cross-entropy that costs: exps[i][j] =
// exp(x[i][j] - shifts[i]). float32 goes through the vectorised exp, as one array.
template <class T>
void shifted_exps(const T* x, int64_t rows, int64_t classes, T* shifts, T* shifted, T* exps) {
  for (int64_t i = 0; i < rows; ++i) {
    const T* row = x + i * classes;
    const T shift = shifts[i] = row_shift(row, classes);
    for (int64_t j = 0; j < classes; ++j) shifted[i * classes + j] = row[j] - shift;
  }
  const int64_t n = rows * classes;
  if constexpr (std::is_same_v<T, float>) {
    detail::exp_floats(shifted, exps, n);
  } else {
    for (int64_t k = 0; k < n; ++k) exps[k] = std::exp(shifted[k]);
  }
}

// Runs fn(i, row, c, keep, spread, exps, shift) for every row i of the logits, in parallel: row
// points at its logits (of their type T), c is its checked class, keep and spread the
// label-smoothing weights of the target class and of every class, exps its exp(row - shift).
template <class Fn>
void for_each_row(const Tensor& logits, const Tensor& target, double label_smoothing, const char* op, Fn fn) {
  const int64_t rows = logits.size(0), classes = logits.size(1);
  dispatch_floating(logits.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* x = logits.data<T>();
    const int64_t* t = target.data<int64_t>();
    const T keep = static_cast<T>(1.0 - label_smoothing);
    const T spread = static_cast<T>(label_smoothing / static_cast<double>(classes));
    parallel_for(0, rows, row_grain(classes), [&](int64_t lo, int64_t hi) {
      const int64_t block = std::clamp<int64_t>(kBlockElements / classes, 1, hi - lo);
      // shifts, shifted and exps: block * (2 * classes + 1) values, at most 3 * kBlockElements
      // when classes <= kBlockElements.
      const size_t need = static_cast<size_t>(block * (2 * classes + 1));
      T on_stack[3 * kBlockElements];
      std::vector<T> on_heap(need > std::size(on_stack) ? need : 0);  // only for rows of > 1024 classes
      T* shifts = on_heap.empty() ? on_stack : on_heap.data();
      T* shifted = shifts + block;
      T* exps = shifted + block * classes;
      for (int64_t first = lo; first < hi; first += block) {
        const int64_t count = std::min(block, hi - first);
        shifted_exps(x + first * classes, count, classes, shifts, shifted, exps);
        for (int64_t i = first; i < first + count; ++i) {
          const int64_t k = i - first;
          fn(i, x + i * classes, checked_class(t, i, classes, op), keep, spread, exps + k * classes, shifts[k]);
        }
      }
    });
  });
}

}  // namespace

Tensor cross_entropy_rows(const Tensor& logits_in, const Tensor& target_in, double label_smoothing,
                          Reduction reduction) {
  check_rows(logits_in, target_in, "cross_entropy");
  const ContiguousRef logits(logits_in), target(target_in);
  const int64_t rows = logits->size(0), classes = logits->size(1);
  Tensor loss = Tensor::empty({rows}, logits->dtype());
  void* out = loss.raw_data();
  for_each_row(*logits, *target, label_smoothing, "cross_entropy",
               [&](int64_t i, const auto* row, int64_t c, auto keep, auto spread, const auto* exps, auto shift) {
                 using T = decltype(keep);
                 T total = 0;
                 for (int64_t j = 0; j < classes; ++j) total += exps[j];
                 T value = std::log(total) + shift - keep * row[c];
                 if (label_smoothing > 0.0) {
                   T logit_sum = 0;
                   for (int64_t j = 0; j < classes; ++j) logit_sum += row[j];
                   value -= spread * logit_sum;
                 }
                 static_cast<T*>(out)[i] = value;
               });
  if (reduction == Reduction::none) return loss;
  // The rows' losses in order, accumulated in double: the same total for any thread count.
  Tensor reduced = Tensor::empty({}, logits->dtype());
  dispatch_floating(loss.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* values = loss.data<T>();
    double total = 0;
    for (int64_t i = 0; i < rows; ++i) total += static_cast<double>(values[i]);
    if (reduction == Reduction::mean) total /= static_cast<double>(rows);  // no rows: 0 / 0 = NaN
    *reduced.data<T>() = static_cast<T>(total);
  });
  return reduced;
}

Tensor cross_entropy_rows_backward(const Tensor& logits_in, const Tensor& target_in, const Tensor& grad_in,
                                   double label_smoothing, Reduction reduction) {
  check_rows(logits_in, target_in, "cross_entropy_rows_backward");
  if (!grad_in.defined()) fail("cross_entropy_rows_backward: grad is undefined");
  const int64_t rows = logits_in.size(0), classes = logits_in.size(1);
  const bool per_row = reduction == Reduction::none;
  if (grad_in.dtype() != logits_in.dtype() || (per_row ? grad_in.shape() != Shape{rows} : grad_in.numel() != 1)) {
    fail("cross_entropy_rows_backward: grad must be {} of shape {}, got {} {}", logits_in.dtype(),
         per_row ? fmt::format("[{}] (one value per row)", rows) : std::string("[] (the reduced loss's gradient)"),
         grad_in.dtype(), grad_in.shape());
  }
  const ContiguousRef logits(logits_in), target(target_in), grad(grad_in);
  Tensor result = Tensor::empty(logits->shape(), logits->dtype());
  void* out = result.raw_data();
  const void* grads = grad->raw_data();
  // Each row's share of a reduced loss's gradient: all of it (sum), or 1 / N of it (mean).
  const double share = reduction == Reduction::mean ? 1.0 / static_cast<double>(std::max<int64_t>(rows, 1)) : 1.0;
  for_each_row(*logits, *target, label_smoothing, "cross_entropy_rows_backward",
               [&](int64_t i, const auto*, int64_t c, auto keep, auto spread, const auto* exps, auto) {
                 using T = decltype(keep);
                 const T* g_in = static_cast<const T*>(grads);
                 const T g = per_row ? g_in[i] : static_cast<T>(g_in[0] * share);
                 T* o = static_cast<T*>(out) + i * classes;
                 // softmax = exp(row - shift) / their sum: one exp per class (not exp(row - logsumexp),
                 // which takes two, and a log).
                 T total = 0;
                 for (int64_t j = 0; j < classes; ++j) total += exps[j];
                 const T scale = g / total;
                 for (int64_t j = 0; j < classes; ++j) o[j] = exps[j] * scale - spread * g;
                 o[c] -= keep * g;
               });
  return result;
}

}  // namespace nabla::kernels
