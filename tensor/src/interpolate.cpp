// Nearest and (bi)linear resampling of NCHW images and its adjoint. Both modes are separable, so
// each axis is described once by a table (source indices and weights per output position) and
// the kernels walk one [H, W] plane at a time: contiguous input rows in, contiguous output rows
// out, planes split across threads (each writes only its own plane, so the adjoint's scatter
// needs no atomics).
#include "nabla/tensor/interpolate.hpp"

#include <algorithm>
#include <cmath>

#include "nabla/tensor/error.hpp"
#include "nabla/tensor/factories.hpp"
#include "nabla/tensor/threads.hpp"

namespace nabla {

const char* interpolation_name(Interpolation mode) {
  switch (mode) {
    case Interpolation::nearest: return "nearest";
    case Interpolation::nearest_exact: return "nearest-exact";
    case Interpolation::linear: return "linear";
    case Interpolation::bilinear: return "bilinear";
  }
  return "?";
}

namespace {

// PyTorch's formulas (UpSample.h) in the precision T of the tensor, as its CPU kernels compute them.
template <class T>
T compute_scale(int64_t in, int64_t out, bool align_corners, std::optional<double> scale) {
  if (align_corners) return out > 1 ? static_cast<T>(in - 1) / static_cast<T>(out - 1) : T(0);
  if (scale && *scale > 0.0) return static_cast<T>(1.0 / *scale);
  return static_cast<T>(in) / static_cast<T>(out);
}

template <class T>
InterpolationAxis axis_of(int64_t in, int64_t out, Interpolation mode, bool align_corners, std::optional<double> scale) {
  InterpolationAxis axis;
  axis.index0.resize(static_cast<size_t>(out));
  axis.index1.resize(static_cast<size_t>(out));
  axis.lambda0.assign(static_cast<size_t>(out), 1.0);
  axis.lambda1.assign(static_cast<size_t>(out), 0.0);
  const bool nearest = mode == Interpolation::nearest || mode == Interpolation::nearest_exact;
  const T ratio = compute_scale<T>(in, out, nearest ? false : align_corners, scale);
  for (int64_t i = 0; i < out; ++i) {
    const auto at = static_cast<size_t>(i);
    if (nearest) {
      // floorf, as PyTorch: the position is rounded to float before it is floored.
      const float position = mode == Interpolation::nearest ? static_cast<float>(ratio * static_cast<T>(i))
                                                           : static_cast<float>((static_cast<double>(i) + 0.5) * ratio);
      axis.index0[at] = axis.index1[at] = std::min(static_cast<int64_t>(std::floor(position)), in - 1);
      continue;
    }
    if (out == in) {  // PyTorch copies an axis that keeps its size, whatever the scale factor
      axis.index0[at] = axis.index1[at] = i;
      continue;
    }
    T real = align_corners ? ratio * static_cast<T>(i) : ratio * (static_cast<T>(i) + T(0.5)) - T(0.5);
    if (!align_corners && real < T(0)) real = T(0);
    const auto first = static_cast<int64_t>(real);
    axis.index0[at] = first;
    axis.index1[at] = first + (first < in - 1 ? 1 : 0);
    const T lambda1 = std::min(std::max(real - static_cast<T>(first), T(0)), T(1));
    axis.lambda1[at] = static_cast<double>(lambda1);
    axis.lambda0[at] = static_cast<double>(T(1) - lambda1);
  }
  return axis;
}

}  // namespace

InterpolationAxis interpolation_axis(int64_t in, int64_t out, Interpolation mode, bool align_corners,
                                     std::optional<double> scale, DType dtype) {
  if (in < 1 || out < 1) fail("interpolate: input and output sizes must be positive, got {} and {}", in, out);
  return dtype == float64 ? axis_of<double>(in, out, mode, align_corners, scale)
                          : axis_of<float>(in, out, mode, align_corners, scale);
}

}  // namespace nabla

namespace nabla::kernels {

namespace {

constexpr int64_t kWorkPerThread = 1 << 15;

// An axis table in the kernel's types.
template <class T>
struct Axis {
  std::vector<int64_t> i0, i1;
  std::vector<T> l0, l1;
  explicit Axis(const InterpolationAxis& a) : i0(a.index0), i1(a.index1), l0(a.lambda0.begin(), a.lambda0.end()),
                                              l1(a.lambda1.begin(), a.lambda1.end()) {}
};

bool is_nearest(Interpolation mode) { return mode == Interpolation::nearest || mode == Interpolation::nearest_exact; }

void check_params(const Upsample2dParams& params, const char* op) {
  if (is_nearest(params.mode) && params.align_corners) {
    fail("{}: align_corners only applies to the linear modes, not {}", op, interpolation_name(params.mode));
  }
}

struct Tables {
  InterpolationAxis rows, columns;
};

Tables tables(const Shape& in, Size2d out, const Upsample2dParams& params, DType dtype) {
  return {interpolation_axis(in[2], out.h, params.mode, params.align_corners, params.scale_h, dtype),
          interpolation_axis(in[3], out.w, params.mode, params.align_corners, params.scale_w, dtype)};
}

template <class T>
void upsample_kernel(const T* x, T* y, int64_t planes, Size2d in, Size2d out, const Tables& t, bool nearest) {
  const Axis<T> rows(t.rows), cols(t.columns);
  const int64_t in_plane = in.h * in.w, out_plane = out.h * out.w;
  parallel_for(0, planes, std::max<int64_t>(1, kWorkPerThread / std::max<int64_t>(out_plane, 1)),
               [&](int64_t lo, int64_t hi) {
                 for (int64_t p = lo; p < hi; ++p) {
                   const T* src = x + p * in_plane;
                   T* dst_plane = y + p * out_plane;
                   for (int64_t oh = 0; oh < out.h; ++oh) {
                     const auto r = static_cast<size_t>(oh);
                     const T* top = src + rows.i0[r] * in.w;
                     T* dst = dst_plane + oh * out.w;
                     if (nearest) {
                       for (int64_t ow = 0; ow < out.w; ++ow) dst[ow] = top[cols.i0[static_cast<size_t>(ow)]];
                       continue;
                     }
                     const T* bottom = src + rows.i1[r] * in.w;
                     const T b0 = rows.l0[r], b1 = rows.l1[r];
                     for (int64_t ow = 0; ow < out.w; ++ow) {
                       const auto c = static_cast<size_t>(ow);
                       const int64_t w0 = cols.i0[c], w1 = cols.i1[c];
                       const T a0 = cols.l0[c], a1 = cols.l1[c];
                       // Along the width first, then the height: PyTorch's order of operations.
                       dst[ow] = (top[w0] * a0 + top[w1] * a1) * b0 + (bottom[w0] * a0 + bottom[w1] * a1) * b1;
                     }
                   }
                 }
               });
}

template <class T>
void upsample_backward_kernel(const T* gy, T* gx, int64_t planes, Size2d in, Size2d out, const Tables& t,
                              bool nearest) {
  const Axis<T> rows(t.rows), cols(t.columns);
  const int64_t in_plane = in.h * in.w, out_plane = out.h * out.w;
  parallel_for(0, planes, std::max<int64_t>(1, kWorkPerThread / std::max<int64_t>(out_plane, 1)),
               [&](int64_t lo, int64_t hi) {
                 for (int64_t p = lo; p < hi; ++p) {
                   T* dst = gx + p * in_plane;
                   std::fill(dst, dst + in_plane, T(0));
                   const T* src_plane = gy + p * out_plane;
                   for (int64_t oh = 0; oh < out.h; ++oh) {
                     const auto r = static_cast<size_t>(oh);
                     T* top = dst + rows.i0[r] * in.w;
                     const T* src = src_plane + oh * out.w;
                     if (nearest) {
                       for (int64_t ow = 0; ow < out.w; ++ow) top[cols.i0[static_cast<size_t>(ow)]] += src[ow];
                       continue;
                     }
                     T* bottom = dst + rows.i1[r] * in.w;
                     const T b0 = rows.l0[r], b1 = rows.l1[r];
                     for (int64_t ow = 0; ow < out.w; ++ow) {
                       const auto c = static_cast<size_t>(ow);
                       const int64_t w0 = cols.i0[c], w1 = cols.i1[c];
                       const T a0 = cols.l0[c], a1 = cols.l1[c];
                       const T g0 = src[ow] * b0, g1 = src[ow] * b1;
                       top[w0] += g0 * a0;
                       top[w1] += g0 * a1;
                       bottom[w0] += g1 * a0;
                       bottom[w1] += g1 * a1;
                     }
                   }
                 }
               });
}

void check_image(const Tensor& x, const char* op, const char* name) {
  if (!x.defined()) fail("{}: {} is undefined", op, name);
  if (x.dim() != 4) fail("{}: {} must be 4-d [N, C, H, W], got shape {}", op, name, x.shape());
  if (!is_floating(x.dtype())) fail("{}: {} must be float32 or float64, got {}", op, name, x.dtype());
}

}  // namespace

Tensor upsample2d(const Tensor& x_in, Size2d output_size, const Upsample2dParams& params) {
  check_image(x_in, "upsample2d", "x");
  check_params(params, "upsample2d");
  const Shape& shape = x_in.shape();
  if (output_size.h < 1 || output_size.w < 1) {
    fail("upsample2d: output size must be positive, got {}x{} (input of shape {})", output_size.h, output_size.w,
         shape);
  }
  if (shape[2] < 1 || shape[3] < 1) fail("upsample2d: input of shape {} has an empty spatial axis", shape);
  Tensor y = Tensor::empty({shape[0], shape[1], output_size.h, output_size.w}, x_in.dtype());
  if (y.numel() == 0) return y;
  const Tensor x = x_in.contiguous();
  const Tables t = tables(shape, output_size, params, x.dtype());
  dispatch_floating(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    upsample_kernel<T>(x.data<T>(), y.data<T>(), shape[0] * shape[1], {shape[2], shape[3]}, output_size, t,
                       is_nearest(params.mode));
  });
  return y;
}

Tensor upsample2d_backward(const Tensor& grad_output_in, const Shape& input_shape, const Upsample2dParams& params) {
  check_image(grad_output_in, "upsample2d_backward", "grad_output");
  check_params(params, "upsample2d_backward");
  if (input_shape.size() != 4 || input_shape[0] != grad_output_in.size(0) || input_shape[1] != grad_output_in.size(1) ||
      input_shape[2] < 1 || input_shape[3] < 1) {
    fail("upsample2d_backward: input shape {} does not fit grad_output of shape {} (both [N, C, ...] with the same N "
         "and C, and a non-empty image)",
         input_shape, grad_output_in.shape());
  }
  const Size2d out{grad_output_in.size(2), grad_output_in.size(3)};
  Tensor gx = Tensor::empty(input_shape, grad_output_in.dtype());
  if (gx.numel() == 0) return gx;
  const Tensor gy = grad_output_in.contiguous();
  const Tables t = tables(input_shape, out, params, gy.dtype());
  dispatch_floating(gy.dtype(), [&](auto tag) {
    using T = decltype(tag);
    upsample_backward_kernel<T>(gy.data<T>(), gx.data<T>(), input_shape[0] * input_shape[1],
                                {input_shape[2], input_shape[3]}, out, t, is_nearest(params.mode));
  });
  return gx;
}

}  // namespace nabla::kernels
