// split, chunk, unbind (views), and flip, roll, repeat, tile (copies through one index map per
// axis: see axis_maps.hpp), tril/triu and diag.
#include "nabla/tensor/shape_ops.hpp"

#include <algorithm>
#include <array>
#include <cstdlib>
#include <limits>
#include <numeric>
#include <string>

#include <fmt/ranges.h>

#include "axis_maps.hpp"
#include "contiguous_ref.hpp"
#include "loops.hpp"
#include "nabla/tensor/error.hpp"
#include "nabla/tensor/factories.hpp"
#include "nabla/tensor/shape_check.hpp"
#include "nabla/tensor/threads.hpp"

namespace nabla::kernels {
namespace {

void check_defined(const Tensor& x, const char* op) {
  if (!x.defined()) fail("{}: the tensor is undefined (default-constructed)", op);
}

detail::AxisMap identity_map(int64_t extent) {
  detail::AxisMap map(static_cast<size_t>(extent));
  std::iota(map.begin(), map.end(), int64_t{0});
  return map;
}

std::string sizes_string(const std::vector<int64_t>& sizes) { return fmt::format("[{}]", fmt::join(sizes, ", ")); }

}  // namespace

// ---- split, chunk, unbind

std::vector<Tensor> split(const Tensor& x, int64_t split_size, int64_t axis_in) {
  check_defined(x, "split");
  if (x.dim() == 0) fail("split: expects a tensor with at least one axis, got a 0-d tensor");
  const int64_t axis = normalize_axis(axis_in, x.dim(), "split");
  const int64_t extent = x.size(axis);
  if (split_size < 0) fail("split: split_size must be non-negative, got {}", split_size);
  if (split_size == 0 && extent > 0) {
    fail("split: split_size 0 is only allowed for an empty axis, but axis {} of shape {} has {} elements", axis,
         x.shape(), extent);
  }
  // An empty axis still gives one (empty) piece, as in PyTorch.
  const int64_t pieces = split_size == 0 ? 1 : std::max<int64_t>((extent + split_size - 1) / split_size, 1);
  std::vector<Tensor> out;
  out.reserve(static_cast<size_t>(pieces));
  for (int64_t i = 0; i < pieces; ++i) {
    const int64_t start = i * split_size;
    out.push_back(x.narrow(axis, start, std::min(split_size, extent - start)));
  }
  return out;
}

std::vector<Tensor> split_with_sizes(const Tensor& x, const std::vector<int64_t>& split_sizes, int64_t axis_in) {
  check_defined(x, "split_with_sizes");
  if (x.dim() == 0) fail("split_with_sizes: expects a tensor with at least one axis, got a 0-d tensor");
  const int64_t axis = normalize_axis(axis_in, x.dim(), "split_with_sizes");
  const int64_t extent = x.size(axis);
  int64_t total = 0;
  for (int64_t size : split_sizes) {
    if (size < 0) fail("split_with_sizes: sizes {} must be non-negative", sizes_string(split_sizes));
    total += size;
  }
  if (total != extent) {
    fail("split_with_sizes: sizes {} add up to {}, but axis {} of shape {} has {} elements; they must add up exactly",
         sizes_string(split_sizes), total, axis, x.shape(), extent);
  }
  std::vector<Tensor> out;
  out.reserve(split_sizes.size());
  int64_t start = 0;
  for (int64_t size : split_sizes) {
    out.push_back(x.narrow(axis, start, size));
    start += size;
  }
  return out;
}

std::vector<Tensor> split(const Tensor& x, const std::vector<int64_t>& split_sizes, int64_t axis) {
  return split_with_sizes(x, split_sizes, axis);
}
std::vector<Tensor> split(const Tensor& x, std::initializer_list<int64_t> split_sizes, int64_t axis) {
  return split_with_sizes(x, std::vector<int64_t>(split_sizes), axis);
}

std::vector<Tensor> chunk(const Tensor& x, int64_t chunks, int64_t axis_in) {
  check_defined(x, "chunk");
  if (x.dim() == 0) fail("chunk: expects a tensor with at least one axis, got a 0-d tensor");
  if (chunks <= 0) fail("chunk: chunks must be at least 1, got {}", chunks);
  const int64_t axis = normalize_axis(axis_in, x.dim(), "chunk");
  const int64_t extent = x.size(axis);
  // PyTorch: an empty axis gives `chunks` empty pieces; otherwise pieces of ceil(extent / chunks),
  // which may be fewer than asked for (6 in 4 chunks: three of 2).
  if (extent == 0) return split_with_sizes(x, std::vector<int64_t>(static_cast<size_t>(chunks), 0), axis);
  return split(x, (extent + chunks - 1) / chunks, axis);
}

std::vector<Tensor> unbind(const Tensor& x, int64_t axis_in) {
  check_defined(x, "unbind");
  const int64_t axis = normalize_axis(axis_in, x.dim(), "unbind");
  std::vector<Tensor> out;
  out.reserve(static_cast<size_t>(x.size(axis)));
  for (int64_t i = 0; i < x.size(axis); ++i) out.push_back(x.select(axis, i));
  return out;
}

// ---- flip, roll, repeat, tile

Tensor flip(const Tensor& x, const Dims& axes) {
  check_defined(x, "flip");
  if (x.dim() == 0) {
    // A 0-d tensor has nothing to reverse; PyTorch accepts axis 0 or -1 for it.
    for (int64_t axis : axes) {
      if (axis != 0 && axis != -1) fail("flip: axis {} is out of range for a 0-d tensor (0 or -1 allowed)", axis);
    }
    return x.clone();
  }
  std::array<bool, Dims::kMaxDims> flipped{};
  for (int64_t axis_in : axes) {
    const int64_t axis = normalize_axis(axis_in, x.dim(), "flip");
    if (flipped[static_cast<size_t>(axis)]) fail("flip: axis {} appears more than once in axes {}", axis, axes);
    flipped[static_cast<size_t>(axis)] = true;
  }
  std::vector<detail::AxisMap> maps;
  for (int64_t axis = 0; axis < x.dim(); ++axis) {
    detail::AxisMap map = identity_map(x.size(axis));
    if (flipped[static_cast<size_t>(axis)]) std::reverse(map.begin(), map.end());
    maps.push_back(std::move(map));
  }
  return detail::gather_axis_maps(x, maps);
}

Tensor roll(const Tensor& x, const Dims& shifts, const Dims& axes) {
  check_defined(x, "roll");
  if (axes.empty()) {
    if (shifts.size() != 1) {
      fail("roll: without axes give exactly one shift (the tensor is rolled as a flat list), got shifts {}; "
           "pass one axis per shift to roll along axes",
           shifts);
    }
    if (x.numel() == 0) return x.clone();
    return roll(x.reshape({-1}), shifts, {0}).view(x.shape());
  }
  if (shifts.size() != axes.size()) {
    fail("roll: shifts {} and axes {} must have the same length (one shift per axis)", shifts, axes);
  }
  // Rolling twice along one axis adds the shifts, as PyTorch's one roll after another does.
  std::array<int64_t, Dims::kMaxDims> total{};
  // Each shift is reduced modulo its extent as it is added, so that no sum of shifts overflows.
  for (int64_t i = 0; i < axes.size(); ++i) {
    const int64_t axis = normalize_axis(axes[i], x.dim(), "roll");
    const int64_t extent = std::max<int64_t>(x.size(axis), 1);
    total[static_cast<size_t>(axis)] = (total[static_cast<size_t>(axis)] + shifts[i] % extent) % extent;
  }
  std::vector<detail::AxisMap> maps;
  for (int64_t axis = 0; axis < x.dim(); ++axis) {
    const int64_t extent = x.size(axis);
    detail::AxisMap map(static_cast<size_t>(extent));
    const int64_t shift = extent == 0 ? 0 : ((total[static_cast<size_t>(axis)] % extent) + extent) % extent;
    for (int64_t o = 0; o < extent; ++o) map[static_cast<size_t>(o)] = (o - shift + extent) % extent;
    maps.push_back(std::move(map));
  }
  return detail::gather_axis_maps(x, maps);
}

Tensor repeat(const Tensor& x, const Dims& repeats) {
  check_defined(x, "repeat");
  if (repeats.size() < x.dim()) {
    fail("repeat: repeats {} has {} counts for a tensor of shape {} with {} axes; give one count per axis "
         "(extra leading counts add axes), or use tile, which pads the counts with 1s",
         repeats, repeats.size(), x.shape(), x.dim());
  }
  for (int64_t count : repeats) {
    if (count < 0) fail("repeat: repeats {} has the negative count {}; counts must be >= 0", repeats, count);
  }
  Tensor source = x;
  while (source.dim() < repeats.size()) source = source.unsqueeze(0);
  Shape result_shape;
  for (int64_t axis = 0; axis < source.dim(); ++axis) {
    int64_t extent = 0;
    if (__builtin_mul_overflow(source.size(axis), repeats[axis], &extent)) extent = kMaxShapeElements + 1;
    result_shape.push_back(extent);
  }
  check_shape(result_shape);  // before the index maps are allocated
  std::vector<detail::AxisMap> maps;
  for (int64_t axis = 0; axis < source.dim(); ++axis) {
    const int64_t extent = source.size(axis);
    detail::AxisMap map(static_cast<size_t>(extent * repeats[axis]));
    for (size_t o = 0; o < map.size(); ++o) map[o] = static_cast<int64_t>(o) % extent;
    maps.push_back(std::move(map));
  }
  return detail::gather_axis_maps(source, maps);
}

Tensor tile(const Tensor& x, const Dims& reps) {
  check_defined(x, "tile");
  Dims counts = reps;
  while (counts.size() < x.dim()) counts.insert(0, 1);
  return repeat(x, counts);
}

// ---- triangles and diagonals

namespace {
Tensor triangle(const Tensor& x, int64_t diagonal, bool lower, const char* op) {
  check_defined(x, op);
  if (x.dim() < 2) {
    fail("{}: expects a tensor with at least 2 axes (a matrix or a batch of them), got shape {}", op, x.shape());
  }
  Tensor out = Tensor::empty(x.shape(), x.dtype());
  if (out.numel() == 0) return out;
  const detail::ContiguousRef source(x);
  const int64_t rows_per_matrix = x.size(-2);
  const int64_t columns = x.size(-1);
  const int64_t rows = x.numel() / columns;
  // Diagonals beyond the matrix keep all or nothing; clamped so that row + diagonal cannot overflow.
  diagonal = std::clamp<int64_t>(diagonal, -rows_per_matrix - 1, columns + 1);
  dispatch(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* in = static_cast<const T*>(source->raw_data());
    T* result = static_cast<T*>(out.raw_data());
    parallel_for(0, rows, std::max<int64_t>(1, detail::kParallelGrain / columns), [&](int64_t lo, int64_t hi) {
      for (int64_t r = lo; r < hi; ++r) {
        const int64_t row = r % rows_per_matrix;
        // Kept: columns j with j - row <= diagonal (lower) or >= diagonal (upper).
        const int64_t boundary = std::clamp<int64_t>(row + diagonal + (lower ? 1 : 0), 0, columns);
        const T* in_row = in + r * columns;
        T* out_row = result + r * columns;
        if (lower) {
          std::copy_n(in_row, boundary, out_row);
          std::fill(out_row + boundary, out_row + columns, T(0));
        } else {
          std::fill_n(out_row, boundary, T(0));
          std::copy(in_row + boundary, in_row + columns, out_row + boundary);
        }
      }
    });
  });
  return out;
}
}  // namespace

Tensor tril(const Tensor& x, int64_t diagonal) { return triangle(x, diagonal, true, "tril"); }
Tensor triu(const Tensor& x, int64_t diagonal) { return triangle(x, diagonal, false, "triu"); }

Tensor diag(const Tensor& x, int64_t diagonal) {
  check_defined(x, "diag");
  if (x.dim() == 1 && (diagonal == std::numeric_limits<int64_t>::min() ||
                       std::abs(diagonal) > std::numeric_limits<int64_t>::max() - x.size(0))) {
    fail("diag: diagonal {} is too far from the main diagonal: the [{} + |diagonal|]-square result of the 1-d tensor of "
         "shape {} cannot be sized", diagonal, x.size(0), x.shape());
  }
  if (x.dim() == 2) {
    // A diagonal beyond the matrix is empty (said here, so that the arithmetic below cannot overflow).
    diagonal = std::clamp<int64_t>(diagonal, -x.size(0), x.size(1));
  }
  const int64_t shift = diagonal < 0 ? -diagonal : diagonal;
  if (x.dim() == 1) {
    const int64_t n = x.size(0) + shift;
    Tensor out = zeros({n, n}, x.dtype());
    // The diagonal of out as a strided view (row stride + column stride), then one copy into it.
    const int64_t start = diagonal >= 0 ? diagonal : shift * n;
    Tensor(out.storage(), out.dtype(), {x.size(0)}, {n + 1}, start).copy_(x);
    return out;
  }
  if (x.dim() == 2) {
    const int64_t rows = x.size(0), columns = x.size(1);
    const int64_t length = std::max<int64_t>(0, diagonal >= 0 ? std::min(rows, columns - diagonal)
                                                              : std::min(rows + diagonal, columns));
    const int64_t start = length == 0 ? 0 : (diagonal >= 0 ? diagonal * x.stride(1) : shift * x.stride(0));
    return Tensor(x.storage(), x.dtype(), {length}, {x.stride(0) + x.stride(1)}, x.offset() + start).clone();
  }
  fail("diag: expects a 1-d tensor (to make a matrix with it on a diagonal) or a 2-d tensor (to take a diagonal), "
       "got shape {}",
       x.shape());
}

}  // namespace nabla::kernels
