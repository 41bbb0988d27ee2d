#pragma once
// The convolution family beyond Conv2d (layers.hpp), as PyTorch's: Conv1d, ConvTranspose1d and
// ConvTranspose2d, with its options (in its order, so designated initialisers read as PyTorch's
// keyword arguments), parameter names, layouts and initialisation (weight and bias uniform in
// +-1/sqrt(fan_in), fan_in = weight.size(1) * kernel elements).
//
//   nn::ConvTranspose2d up({.in_channels = 128, .out_channels = 64, .kernel_size = 4, .stride = 2, .padding = 1});
//   Tensor y = up(x);                     // [N, 128, 7, 7] -> [N, 64, 14, 14]
//   Tensor z = up->forward(x, {15, 15});  // the output_padding that gives 15x15 (PyTorch's output_size)
//
// A transposed convolution is conv2d's input adjoint: it runs on the same GEMM (or Winograd)
// kernels, and its gradients are conv2d and conv2d's weight adjoint. Transposed convolutions pad
// with zeros only (PyTorch refuses any other padding_mode for them), so their options have no
// padding_mode.
#include <cstdint>
#include <string>
#include <vector>

#include "nabla/nn/functional.hpp"
#include "nabla/nn/module.hpp"
#include "nabla/nn/padding.hpp"

namespace nabla::nn {

struct Conv1dOptions {
  int64_t in_channels = 0;
  int64_t out_channels = 0;
  int64_t kernel_size = 0;
  int64_t stride = 1;
  Padding1d padding = 0;  // a size, nn::same (stride 1 only) or nn::valid
  int64_t dilation = 1;
  int64_t groups = 1;
  bool bias = true;
  PaddingMode padding_mode = PaddingMode::zeros;
};

// 1-d convolution over [N, C, L]. weight [out, in/groups, k], bias [out].
class Conv1d : public Module {
 public:
  explicit Conv1d(const Conv1dOptions& options);
  Conv1d(int64_t in_channels, int64_t out_channels, int64_t kernel_size)
      : Conv1d(Conv1dOptions{.in_channels = in_channels, .out_channels = out_channels, .kernel_size = kernel_size}) {}
  Tensor forward(const Tensor& input) override;
  std::string type_name() const override { return "Conv1d"; }
  std::string extra_repr() const override;
  const Conv1dOptions& options() const { return options_; }
  Tensor weight, bias;

 private:
  Conv1dOptions options_;
  std::vector<int64_t> pad_counts_;  // (left, right), for padding modes other than zeros
};

struct ConvTranspose2dOptions {
  int64_t in_channels = 0;
  int64_t out_channels = 0;
  Size2d kernel_size = 0;
  Size2d stride = 1;
  Size2d padding = 0;         // removed from each side of the full output
  Size2d output_padding = 0;  // added at the bottom/right; smaller than the stride or the dilation
  int64_t groups = 1;
  bool bias = true;
  Size2d dilation = 1;
};

// 2-d transposed convolution over NCHW input. weight [in, out/groups, kh, kw], bias [out]. The
// output is (H - 1) * stride - 2 * padding + dilation * (kh - 1) + output_padding + 1 high (and
// likewise wide).
class ConvTranspose2d : public Module {
 public:
  explicit ConvTranspose2d(const ConvTranspose2dOptions& options);
  ConvTranspose2d(int64_t in_channels, int64_t out_channels, Size2d kernel_size)
      : ConvTranspose2d(ConvTranspose2dOptions{.in_channels = in_channels, .out_channels = out_channels,
                                               .kernel_size = kernel_size}) {}
  Tensor forward(const Tensor& input) override;
  // With the output's spatial size asked for (PyTorch's forward(input, output_size)): a stride
  // above 1 leaves several sizes possible, and this picks the output_padding that gives this one.
  Tensor forward(const Tensor& input, Size2d output_size);
  std::string type_name() const override { return "ConvTranspose2d"; }
  std::string extra_repr() const override;
  const ConvTranspose2dOptions& options() const { return options_; }
  Tensor weight, bias;

 private:
  ConvTranspose2dOptions options_;
};

struct ConvTranspose1dOptions {
  int64_t in_channels = 0;
  int64_t out_channels = 0;
  int64_t kernel_size = 0;
  int64_t stride = 1;
  int64_t padding = 0;
  int64_t output_padding = 0;
  int64_t groups = 1;
  bool bias = true;
  int64_t dilation = 1;
};

// 1-d transposed convolution over [N, C, L]. weight [in, out/groups, k], bias [out].
class ConvTranspose1d : public Module {
 public:
  explicit ConvTranspose1d(const ConvTranspose1dOptions& options);
  ConvTranspose1d(int64_t in_channels, int64_t out_channels, int64_t kernel_size)
      : ConvTranspose1d(ConvTranspose1dOptions{.in_channels = in_channels, .out_channels = out_channels,
                                               .kernel_size = kernel_size}) {}
  Tensor forward(const Tensor& input) override;
  // With the output length asked for (PyTorch's output_size): picks the output_padding.
  Tensor forward(const Tensor& input, int64_t output_size);
  std::string type_name() const override { return "ConvTranspose1d"; }
  std::string extra_repr() const override;
  const ConvTranspose1dOptions& options() const { return options_; }
  Tensor weight, bias;

 private:
  ConvTranspose1dOptions options_;
};

}  // namespace nabla::nn
