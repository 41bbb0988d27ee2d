// Products: of every element, or along one axis (a line reduction, see axis_lines.hpp).
#include <algorithm>
#include <vector>

#include "axis_lines.hpp"
#include "nabla/tensor/reduce.hpp"
#include "nabla/tensor/simd.hpp"
#include "nabla/tensor/threads.hpp"

namespace nabla::kernels {

namespace {

constexpr int64_t kProdGrain = 16384;

// float32 multiplies in double; integers in wrapping unsigned arithmetic and return int64.
template <class T> struct ProdTypes { using Acc = T; using Out = T; };
template <> struct ProdTypes<float> { using Acc = double; using Out = float; };
template <> struct ProdTypes<int64_t> { using Acc = uint64_t; using Out = int64_t; };
template <> struct ProdTypes<int32_t> { using Acc = uint64_t; using Out = int64_t; };
template <> struct ProdTypes<uint8_t> { using Acc = uint64_t; using Out = int64_t; };
template <> struct ProdTypes<bool> { using Acc = uint64_t; using Out = int64_t; };

template <class T, class Acc>
NABLA_SIMD_CLONES void multiply_row(const T* __restrict row, Acc* __restrict acc, int64_t n) {
  for (int64_t i = 0; i < n; ++i) acc[i] *= static_cast<Acc>(row[i]);
}

template <class T>
void prod_kernel(const detail::AxisLines& lines, Tensor& result) {
  using Acc = typename ProdTypes<T>::Acc;
  using Out = typename ProdTypes<T>::Out;
  const T* in = lines.input.data<T>();
  Out* out = result.data<Out>();
  const int64_t O = lines.outer, R = lines.extent, I = lines.inner;
  const int64_t grain = std::max<int64_t>(1, kProdGrain / std::max<int64_t>(R, 1));
  if (I == 1) {
    parallel_for(0, O, grain, [&](int64_t lo, int64_t hi) {
      for (int64_t o = lo; o < hi; ++o) {
        const T* row = in + o * R;
        // Eight independent partial products, so the multiplies pipeline (and vectorise).
        Acc lanes[8];
        for (int k = 0; k < 8; ++k) lanes[k] = Acc(1);
        int64_t r = 0;
        for (; r + 8 <= R; r += 8) {
          for (int k = 0; k < 8; ++k) lanes[k] *= static_cast<Acc>(row[r + k]);
        }
        Acc total = Acc(1);
        for (int k = 0; k < 8; ++k) total *= lanes[k];
        for (; r < R; ++r) total *= static_cast<Acc>(row[r]);
        out[o] = static_cast<Out>(total);
      }
    });
    return;
  }
  parallel_for(0, O * I, grain, [&](int64_t lo, int64_t hi) {
    std::vector<Acc> acc;
    for (int64_t start = lo; start < hi;) {
      const int64_t o = start / I;
      const int64_t i0 = start % I;
      const int64_t n = std::min(I - i0, hi - start);
      acc.assign(static_cast<size_t>(n), Acc(1));
      for (int64_t r = 0; r < R; ++r) multiply_row(in + (o * R + r) * I + i0, acc.data(), n);
      for (int64_t i = 0; i < n; ++i) out[o * I + i0 + i] = static_cast<Out>(acc[static_cast<size_t>(i)]);
      start += n;
    }
  });
}

Tensor prod_lines(const detail::AxisLines& lines, const Tensor& x, const Shape& result_shape) {
  Tensor result = Tensor::empty(result_shape, is_floating(x.dtype()) ? x.dtype() : DType::int64);
  if (result.numel() == 0) return result;
  dispatch(x.dtype(), [&](auto tag) { prod_kernel<decltype(tag)>(lines, result); });
  return result;
}

}  // namespace

Tensor prod(const Tensor& x) {
  if (!x.defined()) fail("prod: the input tensor is undefined");
  // Every element as one line.
  detail::AxisLines lines;
  lines.input = x.contiguous();
  lines.extent = x.numel();
  return prod_lines(lines, x, Shape{});
}

Tensor prod(const Tensor& x, int64_t axis, bool keepdim) {
  const detail::AxisLines lines = detail::lines_along(x, axis, "prod");
  Shape result_shape = x.shape();
  if (x.dim() > 0) {
    if (keepdim) {
      result_shape[lines.axis] = 1;
    } else {
      result_shape.erase(lines.axis);
    }
  }
  return prod_lines(lines, x, result_shape);
}

}  // namespace nabla::kernels
