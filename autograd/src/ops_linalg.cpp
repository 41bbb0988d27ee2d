// Matrix product: forward on BLAS, backward as two more products.
#include "nabla/autograd/functions.hpp"
#include "nabla/autograd/node.hpp"

namespace nabla {

Variable matmul(const Variable& a, const Variable& b) {
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
  return record("matmul", {a, b}, nabla::matmul(a.data(), b.data()),
                [sa = save(a), sb = save(b), a_needs = a.requires_grad(), b_needs = b.requires_grad()](const Variable& g) {
                  return Gradients{a_needs ? matmul(g, transpose(sb.get(), -1, -2)) : Variable(),
                                   b_needs ? matmul(transpose(sa.get(), -1, -2), g) : Variable()};
                });
}

}  // namespace nabla
