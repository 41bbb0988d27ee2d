// Transposed convolution: conv2d's input adjoint run forwards. The GEMM (or Winograd) work is
// conv2d_backward_input's (conv.cpp); this file holds PyTorch's shape rules, output_padding and
// the bias.
#include <algorithm>

#include "nabla/tensor/conv.hpp"
#include "nabla/tensor/factories.hpp"
#include "nabla/tensor/threads.hpp"

namespace nabla::kernels {

Size2d conv_transpose2d_output_size(Size2d in, Size2d kernel, const Conv2dParams& p, Size2d output_padding,
                                    const char* op) {
  const Size2d& s = p.stride;
  const Size2d& d = p.dilation;
  const Size2d& op_ = output_padding;
  if (kernel.h < 1 || kernel.w < 1) fail("{}: kernel size must be positive, got {}x{}", op, kernel.h, kernel.w);
  if (s.h < 1 || s.w < 1) fail("{}: stride must be positive, got {}x{}", op, s.h, s.w);
  if (d.h < 1 || d.w < 1) fail("{}: dilation must be positive, got {}x{}", op, d.h, d.w);
  if (p.padding.h < 0 || p.padding.w < 0) {
    fail("{}: padding must be non-negative, got {}x{}", op, p.padding.h, p.padding.w);
  }
  // PyTorch's rule: a larger output_padding would add rows that no stride step or tap explains.
  if (op_.h < 0 || op_.w < 0 || op_.h >= std::max(s.h, d.h) || op_.w >= std::max(s.w, d.w)) {
    fail("{}: output_padding must be non-negative and smaller than either stride or dilation, got output_padding "
         "{}x{} with stride {}x{} and dilation {}x{}",
         op, op_.h, op_.w, s.h, s.w, d.h, d.w);
  }
  const Size2d out{(in.h - 1) * s.h - 2 * p.padding.h + d.h * (kernel.h - 1) + op_.h + 1,
                   (in.w - 1) * s.w - 2 * p.padding.w + d.w * (kernel.w - 1) + op_.w + 1};
  if (out.h < 1 || out.w < 1) {
    fail("{}: an input of size {}x{} gives an output of size {}x{}, which is too small (padding {}x{} removes more "
         "than the kernel and stride add; use less padding)",
         op, in.h, in.w, out.h, out.w, p.padding.h, p.padding.w);
  }
  return out;
}

namespace {

void check_operands(const Tensor& x, const Tensor& weight, const Tensor& bias, const Conv2dParams& params) {
  constexpr const char* op = "conv_transpose2d";
  if (!x.defined() || !weight.defined()) fail("{}: the input or the weight is undefined", op);
  for (const Tensor* t : {&x, &weight, &bias}) {
    if (!t->defined()) continue;
    if (!is_floating(t->dtype())) fail("{}: operands must be float32 or float64, got {}", op, t->dtype());
    if (t->dtype() != x.dtype()) fail("{}: operands mix {} and {}; convert them to one dtype", op, x.dtype(), t->dtype());
  }
  if (x.dim() != 4) fail("{}: input must be [N, C_in, H, W], got shape {}", op, x.shape());
  if (weight.dim() != 4) {
    fail("{}: weight must be [in_channels, out_channels/groups, kh, kw], got shape {}", op, weight.shape());
  }
  if (params.groups < 1) fail("{}: groups must be at least 1, got {}", op, params.groups);
  if (weight.size(0) != x.size(1)) {
    fail("{}: input of shape {} has {} channels but the weight of shape {} expects {} (the weight of a transposed "
         "convolution is [in_channels, out_channels/groups, kh, kw])",
         op, x.shape(), x.size(1), weight.shape(), weight.size(0));
  }
  if (weight.size(0) % params.groups != 0) {
    fail("{}: in_channels {} (weight of shape {}) is not divisible by groups {}", op, weight.size(0), weight.shape(),
         params.groups);
  }
  if (x.size(2) < 1 || x.size(3) < 1) fail("{}: input of shape {} has an empty spatial axis", op, x.shape());
  const int64_t out_channels = weight.size(1) * params.groups;
  if (bias.defined() && bias.shape() != Shape{out_channels}) {
    fail("{}: bias of shape {} does not match out_channels {} (weight of shape {} with groups={})", op, bias.shape(),
         out_channels, weight.shape(), params.groups);
  }
}

// out[n, c, :] += bias[c], plane by plane.
template <class T>
void add_bias(T* out, const T* bias, int64_t batch, int64_t channels, int64_t plane) {
  parallel_for(0, batch * channels, std::max<int64_t>(1, (1 << 15) / std::max<int64_t>(plane, 1)),
               [&](int64_t lo, int64_t hi) {
                 for (int64_t i = lo; i < hi; ++i) {
                   const T b = bias[i % channels];
                   T* p = out + i * plane;
                   for (int64_t j = 0; j < plane; ++j) p[j] += b;
                 }
               });
}

}  // namespace

Tensor conv_transpose2d(const Tensor& x, const Tensor& weight, const Tensor& bias, const Conv2dParams& params,
                        Size2d output_padding) {
  check_operands(x, weight, bias, params);
  const int64_t batch = x.size(0), out_channels = weight.size(1) * params.groups;
  const Size2d out = conv_transpose2d_output_size({x.size(2), x.size(3)}, {weight.size(2), weight.size(3)}, params,
                                                  output_padding, "conv_transpose2d");
  // Output rows past the last tap of the last input row (output_padding beyond stride - 1, which
  // PyTorch allows when the dilation is larger) receive nothing: the adjoint is computed for the
  // rows it reaches, whose conv2d gives back exactly the input's size, and the rest stay zero.
  const Size2d reached{out.h - std::max<int64_t>(0, output_padding.h - (params.stride.h - 1)),
                       out.w - std::max<int64_t>(0, output_padding.w - (params.stride.w - 1))};
  Tensor result;
  if (reached.h < 1 || reached.w < 1) {
    result = zeros({batch, out_channels, out.h, out.w}, x.dtype());
  } else {
    result = conv2d_backward_input(x, weight, {batch, out_channels, reached.h, reached.w}, params);
    if (!(reached == out)) {
      Tensor padded = zeros({batch, out_channels, out.h, out.w}, x.dtype());
      padded.slice(2, 0, reached.h).slice(3, 0, reached.w).copy_(result);
      result = padded;
    }
  }
  if (bias.defined() && result.numel() > 0) {
    const Tensor b = bias.contiguous();
    dispatch_floating(result.dtype(), [&](auto tag) {
      using T = decltype(tag);
      add_bias<T>(result.data<T>(), b.data<T>(), batch, out_channels, out.h * out.w);
    });
  }
  return result;
}

}  // namespace nabla::kernels
