#include "nabla/tensor/loss.hpp"

#include <algorithm>
#include <cmath>
#include <iterator>
#include <limits>
#include <type_traits>
#include <vector>

#include "nabla/tensor/error.hpp"
#include "nabla/tensor/factories.hpp"
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

// A row's class, or -1 when its target is ignore_index (checked otherwise).
int64_t class_or_ignored(const int64_t* target, int64_t row, int64_t classes, int64_t ignore_index, const char* op) {
  return target[row] == ignore_index ? -1 : checked_class(target, row, classes, op);
}

// The class weights as a contiguous [C] array of the logits' dtype (undefined without weights).
Tensor class_weights(const Tensor& weight, const Tensor& logits, const char* op) {
  if (!weight.defined()) return {};
  const int64_t classes = logits.size(1);
  if (weight.dim() != 1 || weight.size(0) != classes) {
    fail("{}: weight tensor should be defined either for all {} classes or no classes but got weight tensor of shape: {}",
         op, classes, weight.shape());
  }
  if (!is_floating(weight.dtype())) fail("{}: weight must be float32 or float64, got {}", op, weight.dtype());
  return weight.dtype() == logits.dtype() && weight.is_contiguous() ? weight : weight.to(logits.dtype()).contiguous();
}

// The mean's denominator: the summed weights of the rows whose target is not ignored (their count
// without weights), checking each target.
template <class T>
double total_weight(const int64_t* target, int64_t rows, int64_t classes, const T* w, int64_t ignore_index, const char* op) {
  double total = 0.0;
  for (int64_t i = 0; i < rows; ++i) {
    const int64_t c = class_or_ignored(target, i, classes, ignore_index, op);
    if (c >= 0) total += w != nullptr ? static_cast<double>(w[c]) : 1.0;
  }
  return total;
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
// points at its logits (of their type T), c is its checked class (-1 when the row is ignored),
// keep and spread the label-smoothing weights of the target class and of every class, exps its
// exp(row - shift).
template <class Fn>
void for_each_row(const Tensor& logits, const Tensor& target, double label_smoothing, int64_t ignore_index,
                  const char* op, Fn fn) {
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
          fn(i, x + i * classes, class_or_ignored(t, i, classes, ignore_index, op), keep, spread, exps + k * classes,
             shifts[k]);
        }
      }
    });
  });
}

}  // namespace

Tensor cross_entropy_rows(const Tensor& logits_in, const Tensor& target_in, double label_smoothing,
                          Reduction reduction, const Tensor& weight_in, int64_t ignore_index) {
  check_rows(logits_in, target_in, "cross_entropy");
  const ContiguousRef logits(logits_in), target(target_in);
  const Tensor weight = class_weights(weight_in, *logits, "cross_entropy");
  const int64_t rows = logits->size(0), classes = logits->size(1);
  Tensor loss = Tensor::empty({rows}, logits->dtype());
  void* out = loss.raw_data();
  const void* weights = weight.defined() ? weight.raw_data() : nullptr;
  for_each_row(*logits, *target, label_smoothing, ignore_index, "cross_entropy",
               [&](int64_t i, const auto* row, int64_t c, auto keep, auto spread, const auto* exps, auto shift) {
                 using T = decltype(keep);
                 if (c < 0) {
                   static_cast<T*>(out)[i] = 0;
                   return;
                 }
                 T total = 0;
                 for (int64_t j = 0; j < classes; ++j) total += exps[j];
                 const T log_normaliser = std::log(total) + shift;
                 T value;
                 if (weights == nullptr) {
                   value = log_normaliser - keep * row[c];
                   if (label_smoothing > 0.0) {
                     T logit_sum = 0;
                     for (int64_t j = 0; j < classes; ++j) logit_sum += row[j];
                     value -= spread * logit_sum;
                   }
                 } else {
                   const T* w = static_cast<const T*>(weights);
                   value = keep * w[c] * (log_normaliser - row[c]);
                   if (label_smoothing > 0.0) {
                     T smooth = 0;  // sum_j w[j] * (log_normaliser - x[j])
                     for (int64_t j = 0; j < classes; ++j) smooth += w[j] * (log_normaliser - row[j]);
                     value += spread * smooth;
                   }
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
    if (reduction == Reduction::mean) {
      // N without weights or ignored rows; no rows (or all ignored): 0 / 0 = NaN.
      total /= total_weight(target->data<int64_t>(), rows, classes, static_cast<const T*>(weights), ignore_index,
                            "cross_entropy");
    }
    *reduced.data<T>() = static_cast<T>(total);
  });
  return reduced;
}

Tensor cross_entropy_rows_backward(const Tensor& logits_in, const Tensor& target_in, const Tensor& grad_in,
                                   double label_smoothing, Reduction reduction, const Tensor& weight_in,
                                   int64_t ignore_index) {
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
  const Tensor weight = class_weights(weight_in, *logits, "cross_entropy_rows_backward");
  Tensor result = Tensor::empty(logits->shape(), logits->dtype());
  void* out = result.raw_data();
  const void* grads = grad->raw_data();
  const void* weights = weight.defined() ? weight.raw_data() : nullptr;
  // Each row's share of a reduced loss's gradient: all of it (sum), or 1 / (the mean's denominator).
  double share = 1.0;
  double weight_sum = 0.0;  // sum_j w[j], for label smoothing with weights
  dispatch_floating(logits->dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* w = static_cast<const T*>(weights);
    if (reduction == Reduction::mean) {
      // As the forward's; 1 / 0 = inf when every row is ignored, times rows' zeros below.
      share = 1.0 / total_weight(target->data<int64_t>(), rows, classes, w, ignore_index, "cross_entropy_rows_backward");
    }
    if (w != nullptr) {
      for (int64_t j = 0; j < classes; ++j) weight_sum += static_cast<double>(w[j]);
    }
  });
  for_each_row(*logits, *target, label_smoothing, ignore_index, "cross_entropy_rows_backward",
               [&](int64_t i, const auto*, int64_t c, auto keep, auto spread, const auto* exps, auto) {
                 using T = decltype(keep);
                 T* o = static_cast<T*>(out) + i * classes;
                 if (c < 0) {
                   std::fill(o, o + classes, T(0));
                   return;
                 }
                 const T* g_in = static_cast<const T*>(grads);
                 const T g = per_row ? g_in[i] : static_cast<T>(g_in[0] * share);
                 // softmax = exp(row - shift) / their sum: one exp per class (not exp(row - logsumexp),
                 // which takes two, and a log).
                 T total = 0;
                 for (int64_t j = 0; j < classes; ++j) total += exps[j];
                 if (weights == nullptr) {
                   const T scale = g / total;
                   for (int64_t j = 0; j < classes; ++j) o[j] = exps[j] * scale - spread * g;
                   o[c] -= keep * g;
                 } else {
                   const T* w = static_cast<const T*>(weights);
                   const T target_weight = keep * w[c];
                   const T scale = g * (target_weight + spread * static_cast<T>(weight_sum)) / total;
                   for (int64_t j = 0; j < classes; ++j) o[j] = exps[j] * scale - spread * w[j] * g;
                   o[c] -= target_weight * g;
                 }
               });
  return result;
}

CrossEntropyRowsCoefficients cross_entropy_rows_coefficients(const Tensor& target_in, int64_t classes, DType dtype,
                                                             double label_smoothing, const Tensor& weight_in,
                                                             int64_t ignore_index) {
  if (!target_in.defined() || target_in.dtype() != int64 || target_in.dim() != 1) {
    fail("cross_entropy_rows_coefficients: target must be int64 class indices [N]");
  }
  const int64_t rows = target_in.size(0);
  const Tensor target = target_in.contiguous();
  const Tensor weight = weight_in.defined() ? weight_in.to(float64).contiguous() : Tensor();
  if (weight.defined() && weight.shape() != Shape{classes}) {
    fail("cross_entropy_rows_coefficients: weight of shape {} for {} classes", weight.shape(), classes);
  }
  const double* w = weight.defined() ? weight.data<double>() : nullptr;
  const int64_t* t = target.data<int64_t>();
  const double spread = label_smoothing / static_cast<double>(classes);
  double weight_sum = 0.0;
  for (int64_t j = 0; j < classes; ++j) weight_sum += w != nullptr ? w[j] : 1.0;
  Tensor scale = zeros({rows}, float64);
  Tensor q = zeros({rows, classes}, float64);
  double* s = scale.data<double>();
  double* qs = q.data<double>();
  CrossEntropyRowsCoefficients result;
  for (int64_t i = 0; i < rows; ++i) {
    const int64_t c = class_or_ignored(t, i, classes, ignore_index, "cross_entropy_rows_coefficients");
    if (c < 0) continue;
    const double target_weight = w != nullptr ? w[c] : 1.0;
    result.total_weight += target_weight;
    s[i] = (1.0 - label_smoothing) * target_weight + spread * weight_sum;
    for (int64_t j = 0; j < classes; ++j) qs[i * classes + j] = spread * (w != nullptr ? w[j] : 1.0);
    qs[i * classes + c] += (1.0 - label_smoothing) * target_weight;
  }
  result.scale = scale.to(dtype);
  result.q = q.to(dtype);
  return result;
}

}  // namespace nabla::kernels
