#pragma once
// The pools beyond MaxPool2d / AvgPool2d / AdaptiveAvgPool2d (layers.hpp), as PyTorch's:
// MaxPool1d, AvgPool1d, AdaptiveMaxPool2d, AdaptiveMaxPool1d and AdaptiveAvgPool1d. The 1-d pools
// take [N, C, L] and run as the 2-d kernels on [N, C, 1, L] views. The max pools return their
// winners' indices from forward_with_indices (PyTorch's return_indices=True); the gradient goes
// to the first maximum of each window.
//
//   nn::MaxPool1d pool({.kernel_size = 3, .stride = 2, .ceil_mode = true});
//   nn::AdaptiveMaxPool2d global({1, 1});
//   auto [values, indices] = global.forward_with_indices(features);
#include <cstdint>
#include <optional>
#include <string>

#include "nabla/nn/functional.hpp"
#include "nabla/nn/module.hpp"

namespace nabla::nn {

// PyTorch's MaxPool1d and AvgPool1d options (each uses its own).
struct Pool1dOptions {
  int64_t kernel_size = 0;
  int64_t stride = 0;  // 0: same as kernel_size
  int64_t padding = 0;
  int64_t dilation = 1;           // max pooling only
  bool ceil_mode = false;         // round the output length up (the last window starts inside the input or left padding)
  bool count_include_pad = true;  // average pooling only
};

class MaxPool1d : public Module {
 public:
  explicit MaxPool1d(const Pool1dOptions& options);
  explicit MaxPool1d(int64_t kernel_size) : MaxPool1d(Pool1dOptions{.kernel_size = kernel_size}) {}
  Tensor forward(const Tensor& input) override;
  ValuesIndices forward_with_indices(const Tensor& input);  // indices within L
  std::string type_name() const override { return "MaxPool1d"; }
  std::string extra_repr() const override;

 private:
  Pool1dOptions options_;
};

class AvgPool1d : public Module {
 public:
  explicit AvgPool1d(const Pool1dOptions& options);
  explicit AvgPool1d(int64_t kernel_size) : AvgPool1d(Pool1dOptions{.kernel_size = kernel_size}) {}
  Tensor forward(const Tensor& input) override;
  std::string type_name() const override { return "AvgPool1d"; }
  std::string extra_repr() const override;

 private:
  Pool1dOptions options_;
};

// Maxima over PyTorch's adaptive regions: any input size gives output_size.
class AdaptiveMaxPool2d : public Module {
 public:
  explicit AdaptiveMaxPool2d(Size2d output_size);
  Tensor forward(const Tensor& input) override;
  ValuesIndices forward_with_indices(const Tensor& input);  // indices within each H*W plane
  std::string type_name() const override { return "AdaptiveMaxPool2d"; }
  std::string extra_repr() const override;

 private:
  Size2d output_size_;
};

class AdaptiveMaxPool1d : public Module {
 public:
  explicit AdaptiveMaxPool1d(int64_t output_size);
  Tensor forward(const Tensor& input) override;
  ValuesIndices forward_with_indices(const Tensor& input);  // indices within L
  std::string type_name() const override { return "AdaptiveMaxPool1d"; }
  std::string extra_repr() const override;

 private:
  int64_t output_size_;
};

class AdaptiveAvgPool1d : public Module {
 public:
  explicit AdaptiveAvgPool1d(int64_t output_size);
  Tensor forward(const Tensor& input) override;
  std::string type_name() const override { return "AdaptiveAvgPool1d"; }
  std::string extra_repr() const override;

 private:
  int64_t output_size_;
};

}  // namespace nabla::nn
