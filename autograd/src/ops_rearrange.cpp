// Ops that rearrange elements without arithmetic: split, chunk and unbind (views, built from the
// recorded narrow and select), flip, roll, repeat/tile, tril/triu and diag. Each backward is the
// op's adjoint written with these same ops, so second derivatives come for free.
#include "nabla/autograd/factories.hpp"
#include "nabla/autograd/functions.hpp"
#include "nabla/autograd/node.hpp"

namespace nabla {

// ---- split, chunk, unbind: the tensor layer checks the call and cuts the pieces; each piece is
// then the recorded view that computes it, so the gradients of all pieces meet in x's.

namespace {
std::vector<Tensor> narrowed_pieces(const Tensor& x, const std::vector<kernels::Tensor>& pieces, int64_t axis) {
  std::vector<Tensor> out;
  out.reserve(pieces.size());
  int64_t start = 0;
  for (const kernels::Tensor& piece : pieces) {
    out.push_back(narrow(x, axis, start, piece.size(axis)));
    start += piece.size(axis);
  }
  return out;
}
}  // namespace

std::vector<Tensor> split(const Tensor& x, int64_t split_size, int64_t axis) {
  const std::vector<kernels::Tensor> pieces = kernels::split(x.raw(), split_size, axis);
  return narrowed_pieces(x, pieces, normalize_axis(axis, x.dim(), "split"));
}

std::vector<Tensor> split_with_sizes(const Tensor& x, const std::vector<int64_t>& split_sizes, int64_t axis) {
  const std::vector<kernels::Tensor> pieces = kernels::split_with_sizes(x.raw(), split_sizes, axis);
  return narrowed_pieces(x, pieces, normalize_axis(axis, x.dim(), "split_with_sizes"));
}
std::vector<Tensor> split(const Tensor& x, const std::vector<int64_t>& split_sizes, int64_t axis) {
  return split_with_sizes(x, split_sizes, axis);
}
std::vector<Tensor> split(const Tensor& x, std::initializer_list<int64_t> split_sizes, int64_t axis) {
  return split_with_sizes(x, std::vector<int64_t>(split_sizes), axis);
}

std::vector<Tensor> chunk(const Tensor& x, int64_t chunks, int64_t axis) {
  const std::vector<kernels::Tensor> pieces = kernels::chunk(x.raw(), chunks, axis);
  return narrowed_pieces(x, pieces, normalize_axis(axis, x.dim(), "chunk"));
}

std::vector<Tensor> unbind(const Tensor& x, int64_t axis) {
  const int64_t a = normalize_axis(axis, x.dim(), "unbind");
  std::vector<Tensor> out;
  out.reserve(static_cast<size_t>(x.size(a)));
  for (int64_t i = 0; i < x.size(a); ++i) out.push_back(select(x, a, i));
  return out;
}

// ---- flip, roll, repeat, tile

Tensor flip(const Tensor& x, const Dims& axes) {
  return record("flip", {x}, kernels::flip(x.raw(), axes), [axes](const Tensor& grad) { return Gradients{flip(grad, axes)}; });
}

Tensor roll(const Tensor& x, const Dims& shifts, const Dims& axes) {
  kernels::Tensor out = kernels::roll(x.raw(), shifts, axes);  // checks shifts and axes
  // The backward rolls back by -shift, taken modulo the extent first so that no shift (not even
  // INT64_MIN) overflows when negated.
  Dims back = shifts;
  for (int64_t i = 0; i < back.size(); ++i) {
    const int64_t extent = std::max<int64_t>(axes.empty() ? x.numel() : x.shape()[normalize_axis(axes[i], x.dim(), "roll")], 1);
    back[i] = -(shifts[i] % extent);
  }
  return record("roll", {x}, std::move(out), [back, axes](const Tensor& grad) { return Gradients{roll(grad, back, axes)}; });
}
Tensor roll(const Tensor& x, int64_t shift, int64_t axis) { return roll(x, Dims{shift}, Dims{axis}); }

namespace {
// repeat's adjoint: the copies of each element summed, one repeated axis at a time (viewing an
// axis of r * n elements as [r, n] and summing the r).
Tensor sum_repeats(const Tensor& grad, const Shape& x_shape, const Dims& repeats) {
  Tensor sum_of_copies = grad;
  const int64_t lead = repeats.size() - x_shape.size();
  for (int64_t axis = repeats.size() - 1; axis >= 0; --axis) {
    if (repeats[axis] == 1) continue;
    Shape split_shape = sum_of_copies.shape();
    split_shape[axis] = axis < lead ? 1 : x_shape[axis - lead];
    split_shape.insert(axis, repeats[axis]);
    sum_of_copies = sum(reshape(sum_of_copies, split_shape), {axis});
  }
  return reshape(sum_of_copies, x_shape);
}
}  // namespace

Tensor repeat(const Tensor& x, const Dims& repeats) {
  return record("repeat", {x}, kernels::repeat(x.raw(), repeats), [x_shape = x.shape(), repeats](const Tensor& grad) {
    return Gradients{sum_repeats(grad, x_shape, repeats)};
  });
}

Tensor tile(const Tensor& x, const Dims& reps) {
  Dims counts = reps;
  while (counts.size() < x.dim()) counts.insert(0, 1);
  return repeat(x, counts);
}

// ---- triangles and diagonals

Tensor tril(const Tensor& x, int64_t diagonal) {
  return record("tril", {x}, kernels::tril(x.raw(), diagonal),
                [diagonal](const Tensor& grad) { return Gradients{tril(grad, diagonal)}; });
}

Tensor triu(const Tensor& x, int64_t diagonal) {
  return record("triu", {x}, kernels::triu(x.raw(), diagonal),
                [diagonal](const Tensor& grad) { return Gradients{triu(grad, diagonal)}; });
}

Tensor diag(const Tensor& x, int64_t diagonal) {
  return record("diag", {x}, kernels::diag(x.raw(), diagonal), [x_shape = x.shape(), diagonal](const Tensor& grad) {
    if (x_shape.size() == 1) return Gradients{diag(grad, diagonal)};
    // The diagonal of an [R, C] matrix came out: put grad back on it. diag(grad) is the square of
    // side S = length + |diagonal| holding it in place; pad or crop that square (only zeros) to [R, C].
    const int64_t side = grad.size(0) + (diagonal < 0 ? -diagonal : diagonal);
    return Gradients{pad(diag(grad, diagonal), {0, x_shape[1] - side, 0, x_shape[0] - side})};
  });
}

}  // namespace nabla
