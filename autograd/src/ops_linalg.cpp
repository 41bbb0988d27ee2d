// Matrix products: forward on BLAS, backward as two more products.
#include "nabla/autograd/functions.hpp"
#include "nabla/autograd/node.hpp"

namespace nabla {

Tensor matmul(const Tensor& a, const Tensor& b) {
  if (!a.defined() || !b.defined()) fail("matmul: an operand is undefined");
  if (a.dim() == 0 || b.dim() == 0) {
    fail("matmul: both operands need at least 1 dimension, got shapes {} and {} (use mul for scalars)", a.shape(), b.shape());
  }
  // 1-d operands become a row (left) or a column (right), and that axis is removed afterwards.
  // vector . vector: [1, n] @ [n, 1] gives [1, 1]; both added axes go.
  if (a.dim() == 1 && b.dim() == 1) return reshape(matmul(unsqueeze(a, 0), unsqueeze(b, 1)), Shape{});
  if (a.dim() == 1) return squeeze(matmul(unsqueeze(a, 0), b), -2);
  if (b.dim() == 1) return squeeze(matmul(a, unsqueeze(b, 1)), -1);
  // Batch axes broadcast; the engine sums each gradient back over them.
  return record("matmul", {a, b}, kernels::matmul(a.raw(), b.raw()),
                [self = save(a), other = save(b)](const Tensor& grad, const NeedsInputGrad& needs_input_grad) {
                  return Gradients{needs_input_grad[0] ? matmul(grad, transpose(other.get(), -1, -2)) : Tensor(),
                                   needs_input_grad[1] ? matmul(transpose(self.get(), -1, -2), grad) : Tensor()};
                });
}

Tensor mm(const Tensor& a, const Tensor& b) {
  if (!a.defined() || !b.defined()) fail("mm: an operand is undefined");
  if (a.dim() != 2 || b.dim() != 2) {
    fail("mm: both operands must be 2-d matrices, got shapes {} and {} (matmul takes batches and vectors)", a.shape(),
         b.shape());
  }
  return matmul(a, b);
}

}  // namespace nabla
