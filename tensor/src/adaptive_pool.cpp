// Adaptive max pooling: the output size is given and each output position takes the maximum of
// its PyTorch region. Planes are split across threads; each region is scanned row by row over
// contiguous memory. The gradient reuses max_pool2d_backward (indices are plane offsets).
#include <algorithm>
#include <cmath>
#include <vector>

#include "nabla/tensor/conv_kernels.hpp"
#include "nabla/tensor/error.hpp"
#include "nabla/tensor/threads.hpp"

namespace nabla::kernels {

namespace {

// Region i of `out` over `in` positions: [floor(i * in / out), ceil((i + 1) * in / out)).
struct Region {
  int64_t first, last;
};
std::vector<Region> adaptive_regions(int64_t in, int64_t out) {
  std::vector<Region> regions(static_cast<size_t>(out));
  for (int64_t i = 0; i < out; ++i) regions[static_cast<size_t>(i)] = {(i * in) / out, ((i + 1) * in + out - 1) / out};
  return regions;
}

template <class T>
void adaptive_max_kernel(const T* x, T* values, int64_t* indices, int64_t planes, Size2d in, Size2d out) {
  const std::vector<Region> rows = adaptive_regions(in.h, out.h), cols = adaptive_regions(in.w, out.w);
  const int64_t in_plane = in.h * in.w, out_plane = out.h * out.w;
  parallel_for(0, planes, std::max<int64_t>(1, (1 << 15) / std::max<int64_t>(in_plane, 1)), [&](int64_t lo, int64_t hi) {
    for (int64_t p = lo; p < hi; ++p) {
      const T* src = x + p * in_plane;
      for (int64_t oh = 0; oh < out.h; ++oh) {
        const Region r = rows[static_cast<size_t>(oh)];
        for (int64_t ow = 0; ow < out.w; ++ow) {
          const Region c = cols[static_cast<size_t>(ow)];
          int64_t best_index = r.first * in.w + c.first;
          T best = src[best_index];
          // Strictly greater keeps the first of equal maxima; the first NaN wins and stays.
          for (int64_t i = r.first; i < r.last && !std::isnan(best); ++i) {
            for (int64_t j = c.first; j < c.last; ++j) {
              const T value = src[i * in.w + j];
              if (value > best || std::isnan(value)) {
                best = value;
                best_index = i * in.w + j;
                if (std::isnan(value)) break;
              }
            }
          }
          values[p * out_plane + oh * out.w + ow] = best;
          indices[p * out_plane + oh * out.w + ow] = best_index;
        }
      }
    }
  });
}

}  // namespace

PoolResult adaptive_max_pool2d(const Tensor& x_in, Size2d output_size) {
  if (!x_in.defined()) fail("adaptive_max_pool2d: x is undefined");
  if (x_in.dim() != 4) fail("adaptive_max_pool2d: input must be [N, C, H, W], got shape {}", x_in.shape());
  if (!is_floating(x_in.dtype())) fail("adaptive_max_pool2d: input must be float32 or float64, got {}", x_in.dtype());
  if (output_size.h < 1 || output_size.w < 1) {
    fail("adaptive_max_pool2d: output size must be positive, got {}x{}", output_size.h, output_size.w);
  }
  const Shape& shape = x_in.shape();
  if (shape[2] < 1 || shape[3] < 1) {
    fail("adaptive_max_pool2d: input of shape {} has an empty spatial axis; each region needs an element", shape);
  }
  const Shape out_shape{shape[0], shape[1], output_size.h, output_size.w};
  PoolResult result{Tensor::empty(out_shape, x_in.dtype()), Tensor::empty(out_shape, int64)};
  if (result.values.numel() == 0) return result;
  const Tensor x = x_in.contiguous();
  dispatch_floating(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    adaptive_max_kernel<T>(x.data<T>(), result.values.data<T>(), result.indices.data<int64_t>(), shape[0] * shape[1],
                           {shape[2], shape[3]}, output_size);
  });
  return result;
}

}  // namespace nabla::kernels
