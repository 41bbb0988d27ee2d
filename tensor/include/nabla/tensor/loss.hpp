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
Tensor cross_entropy_rows(const Tensor& logits, const Tensor& target, double label_smoothing = 0.0,
                          Reduction reduction = Reduction::none);
// The gradient of sum_i grad[i] * loss[i] with respect to the logits: (softmax(x[i]) - q[i]) * grad[i],
// where q[i] is the smoothed one-hot target (eps / C everywhere plus 1 - eps at the target). grad
// has one value per row for Reduction::none; for sum and mean it is the reduced loss's gradient
// (one value, shape [] or [1]), so that grad[i] = grad (sum) or grad / N (mean).
Tensor cross_entropy_rows_backward(const Tensor& logits, const Tensor& target, const Tensor& grad,
                                   double label_smoothing = 0.0, Reduction reduction = Reduction::none);

}  // namespace nabla::kernels
