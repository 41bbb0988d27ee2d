// linear: y = x W^T + b as one GEMM whose C starts out holding the bias (blas.hpp, gemm_bias).
#include "blas.hpp"
#include "contiguous_ref.hpp"
#include "nabla/tensor/elementwise.hpp"
#include "nabla/tensor/linalg.hpp"
#include "nabla/tensor/mixed_dtypes.hpp"

namespace nabla::kernels {

using detail::ContiguousRef;

Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias) {
  if (!x.defined() || !weight.defined()) fail("linear: an operand is undefined");
  if (weight.dim() != 2) fail("linear: weight must be [out_features, in_features], got shape {}", weight.shape());
  const int64_t out_features = weight.size(0), in_features = weight.size(1);
  if (x.dim() == 0 || x.size(-1) != in_features) {
    fail("linear: input of shape {} has {} features but the weight of shape {} expects {} (in_features)", x.shape(),
         x.dim() ? x.size(-1) : 0, weight.shape(), in_features);
  }
  if (bias.defined() && bias.shape() != Shape{out_features}) {
    fail("linear: bias of shape {} does not match out_features {}", bias.shape(), out_features);
  }
  // Mixed dtypes are refused, as in PyTorch (nabla/tensor/mixed_dtypes.hpp).
  check_same_dtype("linear", "input", x.dtype(), "weight", weight.dtype());
  if (bias.defined()) check_same_dtype("linear", "input", x.dtype(), "bias", bias.dtype());
  if (!is_floating(x.dtype())) {
    // Integer dtypes: the general path.
    Tensor out = matmul(x, weight.t());
    return bias.defined() ? add(out, bias) : out;
  }
  // x as rows [m, in_features]: a reshaped view, or x itself when it is 2-d.
  const Tensor rows = x.dim() == 2 ? Tensor() : x.reshape({-1, in_features});
  const ContiguousRef x_rows(rows.defined() ? rows : x);
  const ContiguousRef w(weight);
  const int64_t m = x_rows->size(0);
  Shape out_shape = x.shape();
  out_shape[out_shape.size() - 1] = out_features;
  Tensor out = Tensor::empty(out_shape, x.dtype());
  if (out.numel() == 0) return out;
  dispatch_floating(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    T* y = out.data<T>();
    if (in_features == 0) {  // an empty sum: the output is the bias (or zero)
      out.zero_();
      if (bias.defined()) out.add_(bias);
      return;
    }
    if (!bias.defined()) {
      detail::gemm<T>(false, true, m, out_features, in_features, T(1), x_rows->data<T>(), in_features, w->data<T>(),
                      in_features, T(0), y, out_features);
      return;
    }
    const ContiguousRef b(bias);
    detail::gemm_bias<T>(false, true, m, out_features, in_features, x_rows->data<T>(), in_features, w->data<T>(),
                         in_features, b->data<T>(), y, out_features);
  });
  return out;
}

}  // namespace nabla::kernels
