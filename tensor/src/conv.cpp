// 2-d convolution. im2col path: each thread takes a share of the batch, unfolds one image at a
// time and multiplies it with the weight of each group in a single-threaded GEMM. The threads own
// the cores (BLAS runs one thread inside them), and the only column matrix alive is one image's
// per thread. Batched im2col path, for layers with few output positions per image: each thread
// unfolds all its images side by side into one column matrix and runs one GEMM for them (with the
// channels last where a layer has many; there, when autograd asks, the forward unfolds the whole
// batch into one matrix it keeps for the weight gradient). Winograd path: winograd.cpp.
#include "nabla/tensor/conv.hpp"

#include <algorithm>
#include <cstdint>
#include <vector>

#include "blas.hpp"
#include "row_sums.hpp"
#include "window.hpp"
#include "winograd.hpp"
#include "nabla/tensor/elementwise.hpp"
#include "nabla/tensor/factories.hpp"
#include "nabla/tensor/threads.hpp"
#include "nabla/tensor/mixed_dtypes.hpp"
#include "nabla/tensor/reduce.hpp"

namespace nabla::kernels {

namespace {

// relu as pointwise.def defines it (x < 0 ? 0 : x: NaN and -0.0 pass), for conv2d's fused form.
template <class T>
T relu_of(T x) {
  return x < T(0) ? T(0) : x;
}

struct ConvShape {
  int64_t batch, in_channels, out_channels, groups;
  int64_t kernel_h, kernel_w;
  Size2d out;
  Window2d window;
  int64_t patch() const { return in_channels / groups * kernel_h * kernel_w; }  // K per group
  int64_t positions() const { return out.h * out.w; }                          // L
  int64_t out_per_group() const { return out_channels / groups; }
};

ConvShape conv_shape(const Shape& x, const Shape& w, const Conv2dParams& p, const char* op) {
  if (x.size() != 4) fail("{}: input must be [N, C, H, W], got shape {}", op, x);
  if (w.size() != 4) fail("{}: weight must be [out_channels, in_channels/groups, kh, kw], got shape {}", op, w);
  if (p.groups < 1) fail("{}: groups must be at least 1, got {}", op, p.groups);
  if (x[1] != w[1] * p.groups) {
    fail("{}: input of shape {} has {} channels but the weight of shape {} with groups={} expects {}", op, x, x[1], w,
         p.groups, w[1] * p.groups);
  }
  if (w[0] % p.groups != 0) fail("{}: out_channels {} is not divisible by groups {}", op, w[0], p.groups);
  ConvShape s{x[0], x[1], w[0], p.groups, w[2], w[3], {}, Window2d{{w[2], w[3]}, p.stride, p.padding, p.dilation}};
  s.out = window_output_size({x[2], x[3]}, s.window, op);
  return s;
}

// An adjoint's grad_output must have the convolution's output shape.
void check_grad_output(const Tensor& grad_output, const ConvShape& s, const char* op) {
  const Shape expected{s.batch, s.out_channels, s.out.h, s.out.w};
  if (grad_output.shape() != expected) {
    fail("{}: grad_output of shape {} does not match the convolution's output shape {}", op, grad_output.shape(),
         expected);
  }
}

void check_float_operands(const char* op, std::initializer_list<const Tensor*> tensors) {
  DType dtype = (*tensors.begin())->dtype();
  for (const Tensor* t : tensors) {
    if (!t->defined()) continue;
    if (!is_floating(t->dtype())) fail("{}: operands must be float32 or float64, got {}", op, t->dtype());
    if (t->dtype() != dtype) fail("{}: operands mix {} and {}; convert them to one dtype", op, dtype, t->dtype());
  }
}

// The columns of image n, [C*kh*kw, OH*OW]: unfolded into `buffer`, or, for a 1x1 convolution
// with stride 1 and no padding, the image itself (it already is its column matrix).
template <class T>
const T* image_columns(const T* x, int64_t n, const ConvShape& s, Size2d in, T* buffer) {
  const T* image = x + n * s.in_channels * in.h * in.w;
  const bool identity = s.kernel_h == 1 && s.kernel_w == 1 && s.window.stride == Size2d(1) &&
                        s.window.padding == Size2d(0);
  if (identity) return image;
  detail::im2col_image<T>(image, buffer, s.in_channels, in, s.window);
  return buffer;
}

// Images per parallel chunk: one, unless images are tiny.
constexpr int64_t kImageGrain = 1;

// Fewer channels than this and the 36 Winograd GEMMs are too thin to beat one im2col GEMM.
constexpr int64_t kWinogradMinChannels = 8;

bool use_winograd(const ConvShape& s, const Conv2dParams& p, const char* op) {
  const bool applies = s.kernel_h == 3 && s.kernel_w == 3 && p.stride == Size2d(1) && p.dilation == Size2d(1) &&
                       p.groups == 1 && p.padding.h <= 2 && p.padding.w <= 2;
  switch (p.algorithm) {
    case ConvAlgorithm::im2col: return false;
    case ConvAlgorithm::winograd:
      if (!applies) {
        fail("{}: the Winograd algorithm needs a 3x3 kernel, stride 1, dilation 1, groups 1 and padding at most 2 "
             "(got kernel {}x{}, stride {}x{}, dilation {}x{}, groups {}, padding {}x{}); use ConvAlgorithm::automatic",
             op, s.kernel_h, s.kernel_w, p.stride.h, p.stride.w, p.dilation.h, p.dilation.w, p.groups, p.padding.h,
             p.padding.w);
      }
      return true;
    case ConvAlgorithm::automatic:
      return applies && s.in_channels >= kWinogradMinChannels && s.out_channels >= kWinogradMinChannels;
  }
  return false;
}

// ---- batched im2col
// Per image, a layer with few output positions L makes a thin GEMM ([O, K] x [K, L]) in which
// packing the weight costs about as much as the multiply: DCGAN's 4x4 stride-2 layers have L = 1 to
// 49 (and one GEMV per image for its first transposed convolution). Below kBatchedMaxPositions the
// columns of a thread's images sit side by side in one [K, images * L] matrix: one GEMM per group.
// The bound covers all of DCGAN's layers (the largest, 14x14 = 196 positions): measured on the whole
// dcgan workload (nabla-bench --model dcgan), not tuned layer by layer.
constexpr int64_t kBatchedMaxPositions = 256;
// At most this many column elements per GEMM (16 MB of float32); larger batches go in parts.
constexpr int64_t kBatchedMaxColumns = int64_t{1} << 22;

bool use_batched(const ConvShape& s) { return s.batch > 1 && s.positions() < kBatchedMaxPositions; }

// Images unfolded together: as many as kBatchedMaxColumns allows, at least one.
int64_t images_per_gemm(const ConvShape& s, int64_t images) {
  const int64_t per_image = std::max<int64_t>(1, s.groups * s.patch() * s.positions());
  return std::clamp<int64_t>(kBatchedMaxColumns / per_image, 1, std::max<int64_t>(images, 1));
}

// Images [first, first + count) of x [N, C, H, W] unfolded into columns [C*kh*kw, count * L].
template <class T>
void unfold_images(const T* x, int64_t first, int64_t count, const ConvShape& s, Size2d in, T* columns) {
  const int64_t L = s.positions(), width = count * L;
  for (int64_t i = 0; i < count; ++i) {
    detail::im2col_image<T>(x + (first + i) * s.in_channels * in.h * in.w, columns + i * L, s.in_channels, in,
                            s.window, width);
  }
}

// relu's backward folded into a weight gradient's reading of gy, for y = relu(z), z = conv2d(x, w)
// + b: the gradient used is dL/dz = relu_backward(gy, y), never written whole, and `sums` [N, C_out]
// gets each image's and channel's sum of it over the positions (the bias gradient's first step).
template <class T>
struct ReluFold {
  const T* output = nullptr;  // y, laid out as gy (null: no relu)
  T* sums = nullptr;
};

// Rows [C_out, count * L] <-> images [count, C_out, L] (gy's layout, and y's). Gathering images
// [first, first + count) of gy with a ReluFold: dL/dz instead, and its sums.
template <class T>
void gather_outputs(const T* images, int64_t count, const ConvShape& s, T* rows, int64_t first = 0,
                    const ReluFold<T>& fold = {}) {
  const int64_t L = s.positions(), width = count * L;
  for (int64_t i = 0; i < count; ++i) {
    for (int64_t o = 0; o < s.out_channels; ++o) {
      const int64_t at = (i * s.out_channels + o) * L;
      if (fold.output) {
        const int64_t image = (first + i) * s.out_channels;
        fold.sums[image + o] =
            detail::relu_gradient_row(images + at, fold.output + image * L + o * L, rows + o * width + i * L, L);
      } else {
        std::copy_n(images + at, L, rows + o * width + i * L);
      }
    }
  }
}
template <class T>
void scatter_outputs(const T* rows, int64_t count, const ConvShape& s, const T* bias, bool relu, T* images) {
  const int64_t L = s.positions(), width = count * L;
  for (int64_t i = 0; i < count; ++i) {
    for (int64_t o = 0; o < s.out_channels; ++o) {
      const T* src = rows + o * width + i * L;
      T* dst = images + (i * s.out_channels + o) * L;
      const T b = bias ? bias[o] : T(0);
      if (relu) {
        for (int64_t l = 0; l < L; ++l) dst[l] = relu_of(src[l] + b);
      } else {
        for (int64_t l = 0; l < L; ++l) dst[l] = src[l] + b;
      }
    }
  }
}

// Layers with this many channels or more unfold with the channels last (columns_channels_last.cpp):
// columns [images * L, kh*kw * C] built from runs of C numbers, not element by element; the weight
// is reordered to [O, kh*kw, C] to match, and the GEMMs take the columns transposed. One group only.
constexpr int64_t kChannelsLastMinChannels = 16;
constexpr int64_t kChannelsLastMostTableEntries = int64_t{1} << 16;  // kh*kw * L: the offset table

bool use_channels_last(const ConvShape& s, Size2d in) {
  return s.groups == 1 && s.in_channels >= kChannelsLastMinChannels &&
         s.kernel_h * s.kernel_w * s.positions() <= kChannelsLastMostTableEntries && in.h * in.w <= INT32_MAX;
}

// The weight [O, C, kh, kw] as [O, kh*kw, C], once per call (all threads taking a share of O).
template <class T>
Tensor weight_channels_last(const T* w, const ConvShape& s, DType dtype) {
  Tensor reordered = Tensor::empty({s.out_channels, s.patch()}, dtype);
  T* result = reordered.data<T>();
  const int64_t taps = s.kernel_h * s.kernel_w, per_output = s.patch();
  parallel_for(0, s.out_channels, std::max<int64_t>(1, (int64_t{1} << 14) / per_output), [&](int64_t lo, int64_t hi) {
    detail::transpose_each<T>(w + lo * per_output, hi - lo, s.in_channels, taps, result + lo * per_output);
  });
  return reordered;
}

// A thread's plane of [H*W + 1, C] for the channels-last unfolding (undefined when not used).
Tensor channels_last_scratch(bool channels_last, const ConvShape& s, Size2d in, DType dtype) {
  return channels_last ? Tensor::empty({(in.h * in.w + 1) * s.in_channels}, dtype) : Tensor();
}

// conv2d keeps the columns it unfolded for the weight gradient when asked (autograd asks when the
// weight needs a gradient): on the batched channels-last path only, where the columns of
// consecutive images are consecutive rows of one [N * L, K] matrix, and up to this many elements
// (64 MB of float32), past which the memory matters more than the unfolding it saves.
constexpr int64_t kKeptColumnsMost = int64_t{1} << 24;

bool can_keep_columns(const ConvShape& s, Size2d in) {
  return use_batched(s) && use_channels_last(s, in) && s.batch * s.positions() * s.patch() <= kKeptColumnsMost;
}

// Runs step(first, count, columns, rows) over images [lo, hi) in groups of images_per_gemm, all
// groups sharing one column buffer [groups * K, count * L] (none when the caller has the batch's
// columns elsewhere) and one row buffer [C_out, count * L].
template <class T, class Step>
void for_each_image_group(const ConvShape& s, int64_t lo, int64_t hi, DType dtype, bool column_buffer_needed,
                          Step&& step) {
  const int64_t most = images_per_gemm(s, hi - lo);
  Tensor column_buffer = Tensor::empty({column_buffer_needed ? s.groups * s.patch() * most * s.positions() : 0}, dtype);
  Tensor row_buffer = Tensor::empty({s.out_channels * most * s.positions()}, dtype);
  for (int64_t first = lo; first < hi; first += most) {
    step(first, std::min(most, hi - first), column_buffer.data<T>(), row_buffer.data<T>());
  }
}

// The columns of images [first, first + count) of x: [count * L, K] with the channels last (the
// thread's `scratch` plane in use), else [groups * K, count * L].
template <class T>
void unfold_for_gemm(const T* x, int64_t first, int64_t count, const ConvShape& s, Size2d in, bool channels_last,
                     const Tensor& scratch, T* cols) {
  if (channels_last) {
    detail::im2col_channels_last<T>(x + first * s.in_channels * in.h * in.w, count, s.in_channels, in, s.window,
                                    scratch.data<T>(), cols);
  } else {
    unfold_images<T>(x, first, count, s, in, cols);
  }
}

// rows [C_out, count * L] = W @ columns, group by group; `w` is the reordered weight [O, kh*kw, C]
// when the columns have the channels last.
template <class T>
void forward_gemm(const T* w, const T* cols, int64_t count, const ConvShape& s, bool channels_last, T* rows) {
  const int64_t K = s.patch(), O = s.out_per_group(), width = count * s.positions();
  if (channels_last) {  // rows [O, width] = W [O, K] @ columns^T [K, width]
    detail::gemm<T>(false, true, O, width, K, T(1), w, K, cols, K, T(0), rows, width);
    return;
  }
  for (int64_t g = 0; g < s.groups; ++g) {
    detail::gemm<T>(false, false, O, width, K, T(1), w + g * O * K, K, cols + g * K * width, width, T(0),
                    rows + g * O * width, width);
  }
}

// dW (+)= rows [C_out, count * L] @ columns^T, group by group (beta 0 writes, 1 adds); dW is
// [O, kh*kw, C] when the columns have the channels last.
template <class T>
void weight_gradient_gemm(const T* rows, const T* cols, int64_t count, const ConvShape& s, bool channels_last, T beta,
                          T* gw) {
  const int64_t K = s.patch(), O = s.out_per_group(), width = count * s.positions();
  if (channels_last) {  // dW [O, K] (+)= gy [O, width] @ columns [width, K]
    detail::gemm<T>(false, false, O, K, width, T(1), rows, width, cols, K, beta, gw, K);
    return;
  }
  for (int64_t g = 0; g < s.groups; ++g) {
    detail::gemm<T>(false, true, O, K, width, T(1), rows + g * O * width, width, cols + g * K * width, width, beta,
                    gw + g * O * K, K);
  }
}

// y = conv2d(x, w) + bias (relu'd if asked). With batch_columns (not null: can_keep_columns holds),
// the columns are unfolded there, [N * L, K], and stay for the weight gradient.
template <class T>
void conv2d_batched(const T* x, const T* w, const T* bias, bool relu, T* y, const ConvShape& s, Size2d in,
                    DType dtype, T* batch_columns) {
  const int64_t L = s.positions();
  const bool channels_last = use_channels_last(s, in);
  const Tensor reordered = channels_last ? weight_channels_last<T>(w, s, dtype) : Tensor();
  const T* gemm_weight = channels_last ? reordered.data<T>() : w;
  parallel_for(0, s.batch, kImageGrain, [&](int64_t lo, int64_t hi) {
    const Tensor scratch = channels_last_scratch(channels_last, s, in, dtype);
    for_each_image_group<T>(s, lo, hi, dtype, !batch_columns, [&](int64_t first, int64_t count, T* buffer, T* rows) {
      T* cols = batch_columns ? batch_columns + first * L * s.patch() : buffer;
      unfold_for_gemm<T>(x, first, count, s, in, channels_last, scratch, cols);
      forward_gemm<T>(gemm_weight, cols, count, s, channels_last, rows);
      scatter_outputs<T>(rows, count, s, bias, relu, y + first * s.out_channels * L);
    });
  });
}

template <class T>
void conv2d_backward_input_batched(const T* gy, const T* w, T* gx, const ConvShape& s, Size2d in, DType dtype) {
  const int64_t K = s.patch(), L = s.positions(), O = s.out_per_group();
  const bool channels_last = use_channels_last(s, in);
  const Tensor reordered = channels_last ? weight_channels_last<T>(w, s, dtype) : Tensor();
  parallel_for(0, s.batch, kImageGrain, [&](int64_t lo, int64_t hi) {
    const Tensor scratch = channels_last_scratch(channels_last, s, in, dtype);
    for_each_image_group<T>(s, lo, hi, dtype, true, [&](int64_t first, int64_t count, T* cols, T* rows) {
      const int64_t width = count * L;
      gather_outputs<T>(gy + first * s.out_channels * L, count, s, rows);
      if (channels_last) {
        // columns [count * L, K] = gy^T [count * L, O] @ W [O, K]
        detail::gemm<T>(true, false, width, K, O, T(1), rows, width, reordered.data<T>(), K, T(0), cols, K);
        detail::col2im_channels_last<T>(cols, count, s.in_channels, in, s.window, scratch.data<T>(),
                                        gx + first * s.in_channels * in.h * in.w);
        return;
      }
      for (int64_t g = 0; g < s.groups; ++g) {
        // columns of group g = W_g^T [K, O] @ gy_g [O, count * L]
        detail::gemm<T>(true, false, K, width, O, T(1), w + g * O * K, K, rows + g * O * width, width, T(0),
                        cols + g * K * width, width);
      }
      for (int64_t i = 0; i < count; ++i) {
        detail::col2im_image<T>(cols + i * L, gx + (first + i) * s.in_channels * in.h * in.w, s.in_channels, in,
                                s.window, width);
      }
    });
  });
}

// dW [groups * O, K] = gy [O, L] @ columns^T summed over images [lo, hi), lo < hi: written, not
// added. The columns are conv2d's kept ones when given (kept_columns, [N * L, K]), else unfolded
// here. With `w` and `y` (not null), also y = conv2d(x, w) for those images, from the same
// columns: what a transposed convolution's backward needs, unfolding its grad_output once for both.
template <class T>
void conv2d_backward_weight_batched(const T* x, const T* gy, T* gw, int64_t lo, int64_t hi, const ConvShape& s,
                                    Size2d in, DType dtype, const T* kept_columns, const T* w = nullptr,
                                    T* y = nullptr, const ReluFold<T>& fold = {}) {
  const int64_t L = s.positions(), O = s.out_per_group();
  const bool channels_last = use_channels_last(s, in);
  const Tensor scratch = channels_last_scratch(channels_last && !kept_columns, s, in, dtype);
  const Tensor reordered_gw = channels_last ? Tensor::empty({O, s.patch()}, dtype) : Tensor();  // [O, kh*kw, C]
  T* gemm_gw = channels_last ? reordered_gw.data<T>() : gw;
  T beta = T(0);  // the first group of images writes dW, the others add to it
  for_each_image_group<T>(s, lo, hi, dtype, !kept_columns, [&](int64_t first, int64_t count, T* buffer, T* rows) {
    const T* cols = buffer;
    if (kept_columns) {
      cols = kept_columns + first * L * s.patch();
    } else {
      unfold_for_gemm<T>(x, first, count, s, in, channels_last, scratch, buffer);
    }
    if (y) {
      forward_gemm<T>(w, cols, count, s, channels_last, rows);
      scatter_outputs<T>(rows, count, s, nullptr, false, y + first * s.out_channels * L);
    }
    gather_outputs<T>(gy + first * s.out_channels * L, count, s, rows, first, fold);
    weight_gradient_gemm<T>(rows, cols, count, s, channels_last, beta, gemm_gw);
    beta = T(1);
  });
  if (channels_last) {  // [O, kh*kw, C] back to the weight's [O, C, kh*kw]
    detail::transpose_each<T>(reordered_gw.data<T>(), O, s.kernel_h * s.kernel_w, s.in_channels, gw);
  }
}

detail::Winograd3x3 winograd_geometry(const ConvShape& s, Size2d in, const Conv2dParams& p) {
  return {s.batch, s.in_channels, s.out_channels, in, p.padding, s.out};
}

}  // namespace

namespace {

// conv2d's operands, checked (naming conv2d) and contiguous, with the convolution's shape.
struct ConvOperands {
  ConvShape s;
  Tensor x, weight, bias;
};

ConvOperands conv_operands(const Tensor& x, const Tensor& weight, const Tensor& bias, const Conv2dParams& params) {
  if (!x.defined() || !weight.defined()) fail("conv2d: an operand is undefined");
  check_same_dtype("conv2d", "input", x.dtype(), "weight", weight.dtype());
  if (bias.defined()) check_same_dtype("conv2d", "input", x.dtype(), "bias", bias.dtype());
  check_float_operands("conv2d", {&x, &weight, &bias});
  const ConvShape s = conv_shape(x.shape(), weight.shape(), params, "conv2d");
  if (bias.defined() && bias.shape() != Shape{s.out_channels}) {
    fail("conv2d: bias of shape {} does not match out_channels {}", bias.shape(), s.out_channels);
  }
  return {s, x.contiguous(), weight.contiguous(), bias.defined() ? bias.contiguous() : Tensor()};
}

}  // namespace

Tensor conv2d(const Tensor& x_in, const Tensor& weight_in, const Tensor& bias_in, const Conv2dParams& params,
              bool relu, Tensor* kept_columns) {
  if (kept_columns) *kept_columns = Tensor();
  const ConvOperands operands = conv_operands(x_in, weight_in, bias_in, params);
  const ConvShape& s = operands.s;  // (named references: lambdas below capture them)
  const Tensor &x = operands.x, &weight = operands.weight, &bias = operands.bias;
  Tensor out = Tensor::empty({s.batch, s.out_channels, s.out.h, s.out.w}, x.dtype());
  if (out.numel() == 0) return out;
  if (use_winograd(s, params, "conv2d")) {
    dispatch_floating(x.dtype(), [&](auto tag) {
      using T = decltype(tag);
      detail::winograd_conv3x3<T>(x.data<T>(), weight.data<T>(), bias.defined() ? bias.data<T>() : nullptr,
                                  out.data<T>(), winograd_geometry(s, {x.size(2), x.size(3)}, params), relu);
    });
    return out;
  }
  const int64_t K = s.patch(), L = s.positions(), O = s.out_per_group();
  dispatch_floating(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* w = weight.data<T>();
    const T* b = bias.defined() ? bias.data<T>() : nullptr;
    T* y = out.data<T>();
    const T* px = x.data<T>();
    const Size2d in{x.size(2), x.size(3)};
    if (use_batched(s)) {
      const bool keep = kept_columns && can_keep_columns(s, in);
      if (keep) *kept_columns = Tensor::empty({s.batch * L, K}, x.dtype());
      conv2d_batched<T>(px, w, b, relu, y, s, in, x.dtype(), keep ? kept_columns->data<T>() : nullptr);
      return;
    }
    parallel_for(0, s.batch, kImageGrain, [&](int64_t lo, int64_t hi) {
      Tensor buffer = Tensor::empty({s.groups * K * L}, x.dtype());  // this thread's columns
      for (int64_t n = lo; n < hi; ++n) {
        const T* cols = image_columns<T>(px, n, s, in, buffer.data<T>());
        T* y_n = y + n * s.out_channels * L;
        if (b) {
          for (int64_t o = 0; o < s.out_channels; ++o) std::fill(y_n + o * L, y_n + (o + 1) * L, b[o]);
        }
        for (int64_t g = 0; g < s.groups; ++g) {
          detail::gemm<T>(false, false, O, L, K, T(1), w + g * O * K, K, cols + g * K * L, L, b ? T(1) : T(0),
                          y_n + g * O * L, L);
        }
        if (relu) {  // while this image's output is still in cache
          for (int64_t i = 0; i < s.out_channels * L; ++i) y_n[i] = relu_of(y_n[i]);
        }
      }
    });
  });
  return out;
}

PoolResult conv2d_relu_max_pool2d(const Tensor& x_in, const Tensor& weight_in, const Tensor& bias_in,
                                  const Conv2dParams& params) {
  const Window2d pool{.kernel = 2, .stride = 2};
  const ConvOperands operands = conv_operands(x_in, weight_in, bias_in, params);
  const ConvShape& s = operands.s;  // (named references: lambdas below capture them)
  const Tensor &x = operands.x, &weight = operands.weight, &bias = operands.bias;
  if (!use_winograd(s, params, "conv2d") || s.out.h < 2 || s.out.w < 2) {
    return max_pool2d(conv2d(x, weight, bias, params, /*relu=*/true), pool);  // the two kernels in turn
  }
  const Shape pooled_shape{s.batch, s.out_channels, s.out.h / 2, s.out.w / 2};
  PoolResult result{Tensor::empty(pooled_shape, x.dtype()), Tensor::empty(pooled_shape, int64)};
  if (result.values.numel() == 0) return result;
  dispatch_floating(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    detail::winograd_conv3x3_relu_max_pool<T>(x.data<T>(), weight.data<T>(), bias.defined() ? bias.data<T>() : nullptr,
                                              result.values.data<T>(), result.indices.data<int64_t>(),
                                              winograd_geometry(s, {x.size(2), x.size(3)}, params));
  });
  return result;
}

Tensor conv2d_backward_input(const Tensor& grad_output_in, const Tensor& weight_in, const Shape& input_shape,
                             const Conv2dParams& params) {
  if (!grad_output_in.defined() || !weight_in.defined()) fail("conv2d_backward_input: an operand is undefined");
  check_float_operands("conv2d_backward_input", {&grad_output_in, &weight_in});
  const ConvShape s = conv_shape(input_shape, weight_in.shape(), params, "conv2d_backward_input");
  check_grad_output(grad_output_in, s, "conv2d_backward_input");
  const Tensor gy = grad_output_in.contiguous();
  const Tensor weight = weight_in.contiguous();
  Tensor gx = Tensor::empty(input_shape, gy.dtype());
  if (gx.numel() == 0) return gx;
  const Size2d in{input_shape[2], input_shape[3]};
  if (use_winograd(s, params, "conv2d_backward_input")) {
    dispatch_floating(gy.dtype(), [&](auto tag) {
      using T = decltype(tag);
      detail::winograd_conv3x3_input_grad<T>(gy.data<T>(), weight.data<T>(), gx.data<T>(),
                                             winograd_geometry(s, in, params));
    });
    return gx;
  }
  const int64_t K = s.patch(), L = s.positions(), O = s.out_per_group();
  dispatch_floating(gy.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* w = weight.data<T>();
    const T* g_all = gy.data<T>();
    if (use_batched(s)) {
      conv2d_backward_input_batched<T>(g_all, w, gx.data<T>(), s, in, gy.dtype());
      return;
    }
    parallel_for(0, s.batch, kImageGrain, [&](int64_t lo, int64_t hi) {
      Tensor columns = Tensor::empty({s.groups * K, L}, gy.dtype());
      T* cols = columns.data<T>();
      for (int64_t n = lo; n < hi; ++n) {
        const T* g_n = g_all + n * s.out_channels * L;
        for (int64_t g = 0; g < s.groups; ++g) {
          // columns of group g = W_g^T [K, O] @ gy_n,g [O, L]
          detail::gemm<T>(true, false, K, L, O, T(1), w + g * O * K, K, g_n + g * O * L, L, T(0), cols + g * K * L, L);
        }
        detail::col2im_image<T>(cols, gx.data<T>() + n * s.in_channels * in.h * in.w, s.in_channels, in, s.window);
      }
    });
  });
  return gx;
}

namespace {

// Columns handed back to the backward must be the ones conv2d keeps for this convolution.
void check_kept_columns(const Tensor& columns, const Tensor& x, const ConvShape& s, const char* op) {
  const Shape expected{s.batch * s.positions(), s.patch()};
  if (!can_keep_columns(s, {x.size(2), x.size(3)}) || columns.shape() != expected || columns.dtype() != x.dtype() ||
      !columns.is_contiguous()) {
    fail("{}: kept_columns of shape {} ({}) are not what conv2d keeps for an input of shape {} (expected {} {}, on "
         "the batched channels-last path); pass the columns conv2d returned for this input, or none",
         op, columns.shape(), columns.dtype(), x.shape(), expected, x.dtype());
  }
}

// dW over the batch, im2col path (x and gy contiguous): each thread sums its images into a partial
// gradient of its own, and the partials are added at the end (a chunk without images has none).
// With kept_columns defined (conv2d's, checked), the batched path reads them rather than unfolding
// x; with `y` defined, it also writes y = conv2d(x, weight) from the same columns.
// With relu_output defined (y = relu(z), contiguous, gy's shape), the weight gradient is dL/dW for
// dL/dz = relu_backward(gy, y) (ReluFold), and relu_sums [N, C_out] gets that gradient's sums.
Tensor im2col_weight_gradient(const Tensor& x, const Tensor& gy, const Shape& weight_shape, const ConvShape& s,
                              const Tensor& kept_columns, const Tensor& weight = Tensor(), const Tensor& y = Tensor(),
                              const Tensor& relu_output = Tensor(), Tensor* relu_sums = nullptr) {
  const int64_t K = s.patch(), L = s.positions(), O = s.out_per_group();
  const int64_t chunks = std::max<int64_t>(1, std::min<int64_t>(get_num_threads(), s.batch));
  std::vector<Tensor> partials(static_cast<size_t>(chunks));
  const int64_t per_chunk = (s.batch + chunks - 1) / chunks;
  dispatch_floating(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* g_all = gy.data<T>();
    const T* px = x.data<T>();
    const Size2d in{x.size(2), x.size(3)};
    const bool batched = use_batched(s);
    const bool with_output = y.defined();
    // The forward GEMM's weight, reordered once for all threads when the columns have the channels last.
    const Tensor reordered =
        with_output && use_channels_last(s, in) ? weight_channels_last<T>(weight.data<T>(), s, x.dtype()) : Tensor();
    const T* forward_weight = !with_output ? nullptr : reordered.defined() ? reordered.data<T>() : weight.data<T>();
    const ReluFold<T> fold{relu_output.defined() ? relu_output.data<T>() : nullptr,
                           relu_sums ? relu_sums->data<T>() : nullptr};
    parallel_for(0, chunks, 1, [&](int64_t lo, int64_t hi) {
      Tensor buffer = Tensor::empty({batched ? 0 : s.groups * K * L}, x.dtype());
      Tensor relu_gradient = Tensor::empty({fold.output && !batched ? s.out_channels * L : 0}, x.dtype());
      for (int64_t chunk = lo; chunk < hi; ++chunk) {
        const int64_t first = chunk * per_chunk, last = std::min(s.batch, first + per_chunk);
        if (first >= last) continue;
        if (batched) {  // writes all of the partial
          Tensor partial = Tensor::empty(weight_shape, x.dtype());
          conv2d_backward_weight_batched<T>(px, g_all, partial.data<T>(), first, last, s, in, x.dtype(),
                                            kept_columns.defined() ? kept_columns.data<T>() : nullptr, forward_weight,
                                            with_output ? y.data<T>() : nullptr, fold);
          partials[static_cast<size_t>(chunk)] = partial;
          continue;
        }
        Tensor partial = zeros(weight_shape, x.dtype());
        T* pw = partial.data<T>();
        for (int64_t n = first; n < last; ++n) {
          const T* cols = image_columns<T>(px, n, s, in, buffer.data<T>());
          const T* g_n = g_all + n * s.out_channels * L;
          if (fold.output) {  // this image's dL/dz, in cache for the products below
            T* rows = relu_gradient.data<T>();
            for (int64_t o = 0; o < s.out_channels; ++o) {
              fold.sums[n * s.out_channels + o] = detail::relu_gradient_row(
                  g_n + o * L, fold.output + (n * s.out_channels + o) * L, rows + o * L, L);
            }
            g_n = rows;
          }
          for (int64_t g = 0; g < s.groups; ++g) {
            // dW_g [O, K] += gy_n,g [O, L] @ columns_g^T [L, K]
            detail::gemm<T>(false, true, O, K, L, T(1), g_n + g * O * L, L, cols + g * K * L, L, T(1), pw + g * O * K, K);
          }
        }
        partials[static_cast<size_t>(chunk)] = partial;
      }
    });
  });
  Tensor gw;
  for (const Tensor& partial : partials) {
    if (!partial.defined()) continue;
    if (gw.defined()) {
      gw.add_(partial);
    } else {
      gw = partial;
    }
  }
  return gw;
}

}  // namespace

Tensor conv2d_backward_weight(const Tensor& x_in, const Tensor& grad_output_in, const Shape& weight_shape,
                              const Conv2dParams& params, const Tensor& kept_columns) {
  if (!x_in.defined() || !grad_output_in.defined()) fail("conv2d_backward_weight: an operand is undefined");
  check_float_operands("conv2d_backward_weight", {&x_in, &grad_output_in});
  const ConvShape s = conv_shape(x_in.shape(), weight_shape, params, "conv2d_backward_weight");
  check_grad_output(grad_output_in, s, "conv2d_backward_weight");
  const Tensor x = x_in.contiguous();
  const Tensor gy = grad_output_in.contiguous();
  if (shape_numel(weight_shape) == 0 || s.batch == 0) return zeros(weight_shape, x.dtype());
  if (use_winograd(s, params, "conv2d_backward_weight")) {
    Tensor gw = zeros(weight_shape, x.dtype());
    dispatch_floating(x.dtype(), [&](auto tag) {
      using T = decltype(tag);
      detail::winograd_conv3x3_weight_grad<T>(x.data<T>(), gy.data<T>(), gw.data<T>(),
                                              winograd_geometry(s, {x.size(2), x.size(3)}, params));
    });
    return gw;
  }
  if (kept_columns.defined()) check_kept_columns(kept_columns, x, s, "conv2d_backward_weight");
  return im2col_weight_gradient(x, gy, weight_shape, s, kept_columns);
}

std::pair<Tensor, Tensor> conv2d_relu_backward_weight_bias(const Tensor& x_in, const Tensor& grad_output_in,
                                                           const Tensor& output_in, const Shape& weight_shape,
                                                           const Conv2dParams& params, const Tensor& kept_columns) {
  const char* op = "conv2d_relu_backward_weight_bias";
  if (!x_in.defined() || !grad_output_in.defined() || !output_in.defined()) fail("{}: an operand is undefined", op);
  check_float_operands(op, {&x_in, &grad_output_in, &output_in});
  check_same_dtype(op, "input", x_in.dtype(), "grad_output", grad_output_in.dtype());
  const ConvShape s = conv_shape(x_in.shape(), weight_shape, params, op);
  check_grad_output(grad_output_in, s, op);
  if (output_in.shape() != grad_output_in.shape() || output_in.dtype() != grad_output_in.dtype()) {
    fail("{}: the output of shape {} ({}) does not match grad_output of shape {} ({})", op, output_in.shape(),
         dtype_name(output_in.dtype()), grad_output_in.shape(), dtype_name(grad_output_in.dtype()));
  }
  const Tensor x = x_in.contiguous();
  if (use_winograd(s, params, op) || shape_numel(weight_shape) == 0 || s.batch == 0) {
    // The Winograd path transforms the whole gradient: it is written first.
    const Tensor grad_z = relu_backward(grad_output_in, output_in);
    return {conv2d_backward_weight(x_in, grad_z, weight_shape, params, kept_columns), sum(sum(grad_z, {2, 3}), {0})};
  }
  if (kept_columns.defined()) check_kept_columns(kept_columns, x, s, op);
  Tensor sums = Tensor::empty({s.batch, s.out_channels}, x.dtype());
  Tensor gw = im2col_weight_gradient(x, grad_output_in.contiguous(), weight_shape, s, kept_columns, Tensor(),
                                     Tensor(), output_in.contiguous(), &sums);
  return {gw, sum(sums, {0})};
}

std::pair<Tensor, Tensor> conv2d_and_backward_weight(const Tensor& x_in, const Tensor& weight_in,
                                                     const Tensor& grad_output_in, const Conv2dParams& params) {
  if (!grad_output_in.defined()) fail("conv2d_and_backward_weight: grad_output is undefined");
  const ConvOperands operands = conv_operands(x_in, weight_in, Tensor(), params);
  const ConvShape& s = operands.s;
  check_same_dtype("conv2d_and_backward_weight", "input", x_in.dtype(), "grad_output", grad_output_in.dtype());
  check_grad_output(grad_output_in, s, "conv2d_and_backward_weight");
  if (use_winograd(s, params, "conv2d") || !use_batched(s) || x_in.numel() == 0 || weight_in.numel() == 0) {
    return {conv2d(x_in, weight_in, Tensor(), params),
            conv2d_backward_weight(x_in, grad_output_in, weight_in.shape(), params)};
  }
  Tensor y = Tensor::empty({s.batch, s.out_channels, s.out.h, s.out.w}, x_in.dtype());
  Tensor gw = im2col_weight_gradient(operands.x, grad_output_in.contiguous(), weight_in.shape(), s, Tensor(),
                                     operands.weight, y);
  return {y, gw};
}

std::pair<Tensor, Tensor> conv2d_backward(const Tensor& x_in, const Tensor& grad_output_in, const Tensor& weight_in,
                                          const Conv2dParams& params, const Tensor& kept_columns) {
  if (!x_in.defined() || !grad_output_in.defined() || !weight_in.defined()) {
    fail("conv2d_backward: an operand is undefined");
  }
  check_float_operands("conv2d_backward", {&x_in, &grad_output_in, &weight_in});
  const ConvShape s = conv_shape(x_in.shape(), weight_in.shape(), params, "conv2d_backward");
  check_grad_output(grad_output_in, s, "conv2d_backward");
  if (!use_winograd(s, params, "conv2d_backward") || x_in.numel() == 0 || weight_in.numel() == 0) {
    return {conv2d_backward_input(grad_output_in, weight_in, x_in.shape(), params),
            conv2d_backward_weight(x_in, grad_output_in, weight_in.shape(), params, kept_columns)};
  }
  const Tensor x = x_in.contiguous(), gy = grad_output_in.contiguous(), weight = weight_in.contiguous();
  Tensor gx = Tensor::empty(x.shape(), x.dtype()), gw = Tensor::empty(weight.shape(), x.dtype());
  dispatch_floating(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    detail::winograd_conv3x3_backward<T>(x.data<T>(), gy.data<T>(), weight.data<T>(), gx.data<T>(), gw.data<T>(),
                                         winograd_geometry(s, {x.size(2), x.size(3)}, params));
  });
  return {gx, gw};
}

namespace {

// conv2d_backward_pooled, or with relu (relu_values: the pooled relu outputs, contiguous and of
// grad_pooled's shape; relu_sums: [N, C_out]) conv2d_relu_backward_pooled's gradients of x and w,
// with the masked gradient's sums per image and channel in *relu_sums.
std::pair<Tensor, Tensor> backward_pooled(const Tensor& x_in, const Tensor& grad_pooled_in, const Tensor& indices_in,
                                          const Tensor& weight_in, const Conv2dParams& params, const char* op,
                                          const Tensor* relu_values = nullptr, Tensor* relu_sums = nullptr) {
  if (!x_in.defined() || !grad_pooled_in.defined() || !indices_in.defined() || !weight_in.defined()) {
    fail("{}: an operand is undefined", op);
  }
  check_float_operands(op, {&x_in, &grad_pooled_in, &weight_in});
  const ConvShape s = conv_shape(x_in.shape(), weight_in.shape(), params, op);
  const Shape conv_out{s.batch, s.out_channels, s.out.h, s.out.w};
  const Shape pooled{s.batch, s.out_channels, s.out.h / 2, s.out.w / 2};
  if (grad_pooled_in.shape() != pooled) {
    fail("{}: grad_pooled of shape {} does not match the 2x2 pooling {} of the convolution's output shape {}", op,
         grad_pooled_in.shape(), pooled, conv_out);
  }
  if (indices_in.dtype() != int64 || indices_in.shape() != pooled) {
    fail("{}: indices must be int64 of grad_pooled's shape {} (as max_pool2d returns them), got {} {}", op, pooled,
         indices_in.dtype(), indices_in.shape());
  }
  if (!use_winograd(s, params, op) || x_in.numel() == 0 || weight_in.numel() == 0 || grad_pooled_in.numel() == 0) {
    Tensor grad = grad_pooled_in;
    if (relu_values) {
      grad = relu_backward(grad_pooled_in, *relu_values);
      *relu_sums = sum(grad, {2, 3});
    }
    return conv2d_backward(x_in, max_pool2d_backward(grad, indices_in, conv_out), weight_in, params);
  }
  const Tensor x = x_in.contiguous(), gp = grad_pooled_in.contiguous(), indices = indices_in.contiguous();
  const Tensor weight = weight_in.contiguous();
  Tensor gx = Tensor::empty(x.shape(), x.dtype()), gw = Tensor::empty(weight.shape(), x.dtype());
  dispatch_floating(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    detail::winograd_conv3x3_backward_pooled<T>(x.data<T>(), gp.data<T>(), indices.data<int64_t>(), weight.data<T>(),
                                                gx.data<T>(), gw.data<T>(),
                                                winograd_geometry(s, {x.size(2), x.size(3)}, params),
                                                relu_values ? relu_values->data<T>() : nullptr,
                                                relu_sums ? relu_sums->data<T>() : nullptr);
  });
  return {gx, gw};
}

}  // namespace

std::pair<Tensor, Tensor> conv2d_backward_pooled(const Tensor& x, const Tensor& grad_pooled, const Tensor& indices,
                                                 const Tensor& weight, const Conv2dParams& params) {
  return backward_pooled(x, grad_pooled, indices, weight, params, "conv2d_backward_pooled");
}

ConvGradients conv2d_relu_backward_pooled(const Tensor& x, const Tensor& grad_values, const Tensor& values,
                                          const Tensor& indices, const Tensor& weight, const Conv2dParams& params) {
  const char* op = "conv2d_relu_backward_pooled";
  if (!grad_values.defined() || !values.defined()) fail("{}: an operand is undefined", op);
  if (values.shape() != grad_values.shape() || values.dtype() != grad_values.dtype()) {
    fail("{}: the values of shape {} ({}) do not match grad_values of shape {} ({})", op, values.shape(),
         dtype_name(values.dtype()), grad_values.shape(), dtype_name(grad_values.dtype()));
  }
  if (!is_floating(values.dtype())) fail("{}: needs float tensors, got {}", op, dtype_name(values.dtype()));
  if (values.dim() != 4) fail("{}: values must be [N, C, H, W], got {}", op, values.shape());
  Tensor sums = Tensor::empty({values.size(0), values.size(1)}, values.dtype());
  const Tensor pooled_values = values.contiguous(), grad = grad_values.contiguous();
  auto [gx, gw] = backward_pooled(x, grad, indices, weight, params, op, &pooled_values, &sums);
  return {gx, gw, sum(sums, {0})};
}

}  // namespace nabla::kernels
