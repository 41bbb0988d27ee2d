#pragma once
// Private: conv2d and its two adjoints as recorded ops, given values a kernel already computed.
// A backward that gets two of them from one kernel (conv2d_backward, conv2d_and_backward_weight)
// records each as its own op, exactly as if computed apart, so its formula stays the same.
#include "nabla/autograd/tensor.hpp"

namespace nabla::detail {

// kept_columns: those conv2d kept for the weight gradient (see nabla/tensor/conv.hpp), or none.
Tensor record_conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias, const Conv2dParams& params,
                     kernels::Tensor out, kernels::Tensor kept_columns = kernels::Tensor());
Tensor record_backward_input(const Tensor& grad_output, const Tensor& weight, const Conv2dParams& params,
                             kernels::Tensor out);
Tensor record_backward_weight(const Tensor& x, const Tensor& grad_output, const Conv2dParams& params,
                              kernels::Tensor out);

}  // namespace nabla::detail
