#pragma once
// Splitting, reversing, rolling, repeating, and the triangular and diagonal parts of tensors,
// with PyTorch's meaning. The pieces of split/chunk/unbind are views of their input (they share
// its storage); every other op here returns a new tensor.
#include <cstdint>
#include <initializer_list>
#include <vector>

#include "nabla/tensor/tensor.hpp"

namespace nabla::kernels {

// Pieces of split_size along axis (the last one smaller when the extent is not a multiple).
std::vector<Tensor> split(const Tensor& x, int64_t split_size, int64_t axis = 0);
// Pieces of the given sizes along axis; they must add up to its extent. split(x, {2, 3}) and
// split(x, {5}) take sizes (a brace list is a list of sizes, as in Python's x.split([5])).
std::vector<Tensor> split(const Tensor& x, const std::vector<int64_t>& split_sizes, int64_t axis = 0);
std::vector<Tensor> split(const Tensor& x, std::initializer_list<int64_t> split_sizes, int64_t axis = 0);
std::vector<Tensor> split_with_sizes(const Tensor& x, const std::vector<int64_t>& split_sizes, int64_t axis = 0);
// At most `chunks` pieces of ceil(extent / chunks) along axis (so possibly fewer, as in PyTorch).
std::vector<Tensor> chunk(const Tensor& x, int64_t chunks, int64_t axis = 0);
// The slices along axis, each without that axis.
std::vector<Tensor> unbind(const Tensor& x, int64_t axis = 0);

// x with the order of elements reversed along each of `axes`.
Tensor flip(const Tensor& x, const Dims& axes);
// Elements shifted by shifts[i] along axes[i], wrapping around. Without axes, x is rolled as a
// flat list by the single shift and keeps its shape.
Tensor roll(const Tensor& x, const Dims& shifts, const Dims& axes = {});
// x tiled repeats[i] times along axis i; repeats may have more axes than x (x gets leading
// size-1 axes), never fewer.
Tensor repeat(const Tensor& x, const Dims& repeats);
// repeat, with fewer reps than axes allowed (missing leading reps are 1), as torch.tile.
Tensor tile(const Tensor& x, const Dims& reps);
// The lower (tril) or upper (triu) triangle of the last two axes, the rest set to 0: elements
// with column - row <= diagonal (tril) or >= diagonal (triu).
Tensor tril(const Tensor& x, int64_t diagonal = 0);
Tensor triu(const Tensor& x, int64_t diagonal = 0);
// 1-d x: a square matrix with x on the given diagonal (> 0 above the main one). 2-d x: a copy of
// that diagonal (empty when the diagonal lies outside the matrix).
Tensor diag(const Tensor& x, int64_t diagonal = 0);

}  // namespace nabla::kernels
