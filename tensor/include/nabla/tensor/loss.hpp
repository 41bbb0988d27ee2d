#pragma once
// Softmax cross-entropy over the rows of a [N, C] matrix, fused into one pass per row in each
// direction: a loss is the last op of every training step, and written as a dozen element-wise
// ops it costs more than the whole of a small network's forward.
#include "nabla/tensor/tensor.hpp"

namespace nabla {

// How a loss combines its per-row values: their mean or sum (a scalar, shape []), or none (one
// value per row). Reducing inside the loss saves a reduction op each way per training step.
enum class Reduction { mean, sum, none };

}  // namespace nabla

namespace nabla::kernels {

// loss[i] = logsumexp(x[i]) - (1 - eps) * x[i][target[i]] - eps * mean(x[i]), for logits x [N, C]
// (float32/float64) and int64 class indices target [N] in [0, C); eps is the label smoothing.
// Returned per row ([N]) for Reduction::none, else their sum or mean (the mean of no rows is NaN).
//
// With class weights w [C] (PyTorch's `weight`) a row's two terms are weighted as PyTorch's:
//   loss[i] = (1 - eps) * w[t] * (logsumexp(x[i]) - x[i][t]) + eps / C * sum_c w[c] * (logsumexp(x[i]) - x[i][c]),
// and the mean divides the sum by sum_i w[target[i]] (not by N). Rows whose target is
// ignore_index contribute 0 and are left out of the mean's denominator; ignore_index may be any
// value (PyTorch's default -100 matches no class).
Tensor cross_entropy_rows(const Tensor& logits, const Tensor& target, double label_smoothing = 0.0,
                          Reduction reduction = Reduction::none, const Tensor& weight = {}, int64_t ignore_index = -100);
// The gradient of sum_i grad[i] * loss[i] with respect to the logits:
//   (softmax(x[i]) * scale[i] - q[i]) * grad[i],
// with q[i][j] = (1 - eps) * w[t] * [j == t] + eps / C * w[j] and scale[i] = sum_j q[i][j] (w = 1
// without weights: q is the smoothed one-hot target and scale 1); ignored rows get 0. grad has one
// value per row for Reduction::none; for sum and mean it is the reduced loss's gradient (one value,
// shape [] or [1]), so that grad[i] = grad (sum) or grad / sum_i w[target[i]] (mean).
Tensor cross_entropy_rows_backward(const Tensor& logits, const Tensor& target, const Tensor& grad,
                                   double label_smoothing = 0.0, Reduction reduction = Reduction::none,
                                   const Tensor& weight = {}, int64_t ignore_index = -100);

// The coefficients of that gradient, for its own derivative (double backward): scale [N] and q
// [N, C] as above, in `dtype`, and the mean's denominator sum_i w[target[i]] over the rows not
// ignored.
struct CrossEntropyRowsCoefficients {
  Tensor scale;
  Tensor q;
  double total_weight = 0.0;
};
CrossEntropyRowsCoefficients cross_entropy_rows_coefficients(const Tensor& target, int64_t classes, DType dtype,
                                                             double label_smoothing, const Tensor& weight,
                                                             int64_t ignore_index);

}  // namespace nabla::kernels
