// The 1-d pools (as the 2-d kernels on [N, C, 1, L] views) and adaptive max pooling: the
// functional forms and the modules.
#include "nabla/nn/pooling.hpp"

namespace nabla::nn {

namespace functional {

namespace {

void check_1d_input(const Tensor& x, const char* op) {
  if (!x.defined() || x.dim() != 3) fail("{}: input must be [N, C, L], got shape {}", op, x.defined() ? x.shape() : Shape{});
}

// The 1-d window as a 2-d one over a single row, after the checks whose 2-d wording would confuse.
Window2d window_1d(int64_t kernel, int64_t stride, int64_t padding, int64_t dilation, bool ceil_mode, const char* op) {
  if (kernel < 1) fail("{}: kernel_size must be positive, got {}", op, kernel);
  if (stride < 0) fail("{}: stride must be positive (or 0 for the kernel size), got {}", op, stride);
  if (dilation < 1) fail("{}: dilation must be positive, got {}", op, dilation);
  const int64_t span = dilation * (kernel - 1) + 1;
  if (padding < 0 || 2 * padding > span) {
    fail("{}: padding must be between 0 and half the window ({}), got padding {} with kernel_size {}", op, span / 2,
         padding, kernel);
  }
  return Window2d{{1, kernel}, {1, stride == 0 ? kernel : stride}, {0, padding}, {1, dilation}, ceil_mode};
}

ValuesIndices squeezed(const ValuesIndices& result) {
  return {squeeze(result.values, 2), squeeze(result.indices, 2)};
}

}  // namespace

Tensor max_pool1d(const Tensor& x, int64_t kernel, int64_t stride, int64_t padding, int64_t dilation, bool ceil_mode) {
  check_1d_input(x, "max_pool1d");
  const Window2d window = window_1d(kernel, stride, padding, dilation, ceil_mode, "max_pool1d");
  return squeeze(max_pool2d(unsqueeze(x, 2), window.kernel, window.stride, window.padding, window.dilation, ceil_mode), 2);
}

ValuesIndices max_pool1d_with_indices(const Tensor& x, int64_t kernel, int64_t stride, int64_t padding, int64_t dilation,
                                      bool ceil_mode) {
  check_1d_input(x, "max_pool1d");
  // Indices within the 1 x L plane are positions in L.
  return squeezed(nabla::max_pool2d(unsqueeze(x, 2), window_1d(kernel, stride, padding, dilation, ceil_mode, "max_pool1d")));
}

Tensor avg_pool1d(const Tensor& x, int64_t kernel, int64_t stride, int64_t padding, bool ceil_mode,
                  bool count_include_pad) {
  check_1d_input(x, "avg_pool1d");
  const Window2d window = window_1d(kernel, stride, padding, 1, ceil_mode, "avg_pool1d");
  return squeeze(nabla::avg_pool2d(unsqueeze(x, 2), window, count_include_pad), 2);
}

Tensor adaptive_max_pool2d(const Tensor& x, Size2d output_size) {
  return nabla::adaptive_max_pool2d(x, output_size).values;
}

ValuesIndices adaptive_max_pool2d_with_indices(const Tensor& x, Size2d output_size) {
  return nabla::adaptive_max_pool2d(x, output_size);
}

Tensor adaptive_max_pool1d(const Tensor& x, int64_t output_size) {
  return adaptive_max_pool1d_with_indices(x, output_size).values;
}

ValuesIndices adaptive_max_pool1d_with_indices(const Tensor& x, int64_t output_size) {
  check_1d_input(x, "adaptive_max_pool1d");
  if (output_size < 1) fail("adaptive_max_pool1d: output size must be positive, got {}", output_size);
  return squeezed(nabla::adaptive_max_pool2d(unsqueeze(x, 2), {1, output_size}));
}

Tensor adaptive_avg_pool1d(const Tensor& x, int64_t output_size) {
  check_1d_input(x, "adaptive_avg_pool1d");
  if (output_size < 1) fail("adaptive_avg_pool1d: output size must be positive, got {}", output_size);
  return squeeze(adaptive_avg_pool2d(unsqueeze(x, 2), {1, output_size}), 2);
}

}  // namespace functional

namespace {

void check_pool(const Pool1dOptions& o, const char* layer) {
  if (o.kernel_size < 1) fail("{}: kernel_size must be positive, got {}", layer, o.kernel_size);
}

std::string pool_repr(const Pool1dOptions& o) {
  std::string out = fmt::format("kernel_size={}, stride={}, padding={}", o.kernel_size,
                                o.stride == 0 ? o.kernel_size : o.stride, o.padding);
  if (o.ceil_mode) out += ", ceil_mode=true";
  return out;
}

std::string size2d(Size2d s) { return s.h == s.w ? fmt::format("{}", s.h) : fmt::format("({}, {})", s.h, s.w); }

}  // namespace

MaxPool1d::MaxPool1d(const Pool1dOptions& options) : options_(options) { check_pool(options, "MaxPool1d"); }
Tensor MaxPool1d::forward(const Tensor& input) {
  const auto& o = options_;
  return functional::max_pool1d(input, o.kernel_size, o.stride, o.padding, o.dilation, o.ceil_mode);
}
ValuesIndices MaxPool1d::forward_with_indices(const Tensor& input) {
  const auto& o = options_;
  return functional::max_pool1d_with_indices(input, o.kernel_size, o.stride, o.padding, o.dilation, o.ceil_mode);
}
std::string MaxPool1d::extra_repr() const {
  std::string out = pool_repr(options_);
  if (options_.dilation != 1) out += fmt::format(", dilation={}", options_.dilation);
  return out;
}

AvgPool1d::AvgPool1d(const Pool1dOptions& options) : options_(options) { check_pool(options, "AvgPool1d"); }
Tensor AvgPool1d::forward(const Tensor& input) {
  const auto& o = options_;
  return functional::avg_pool1d(input, o.kernel_size, o.stride, o.padding, o.ceil_mode, o.count_include_pad);
}
std::string AvgPool1d::extra_repr() const { return pool_repr(options_); }

AdaptiveMaxPool2d::AdaptiveMaxPool2d(Size2d output_size) : output_size_(output_size) {
  if (output_size.h < 1 || output_size.w < 1) fail("AdaptiveMaxPool2d: output_size must be positive, got {}", size2d(output_size));
}
Tensor AdaptiveMaxPool2d::forward(const Tensor& input) { return functional::adaptive_max_pool2d(input, output_size_); }
ValuesIndices AdaptiveMaxPool2d::forward_with_indices(const Tensor& input) {
  return functional::adaptive_max_pool2d_with_indices(input, output_size_);
}
std::string AdaptiveMaxPool2d::extra_repr() const { return "output_size=" + size2d(output_size_); }

AdaptiveMaxPool1d::AdaptiveMaxPool1d(int64_t output_size) : output_size_(output_size) {
  if (output_size < 1) fail("AdaptiveMaxPool1d: output_size must be positive, got {}", output_size);
}
Tensor AdaptiveMaxPool1d::forward(const Tensor& input) { return functional::adaptive_max_pool1d(input, output_size_); }
ValuesIndices AdaptiveMaxPool1d::forward_with_indices(const Tensor& input) {
  return functional::adaptive_max_pool1d_with_indices(input, output_size_);
}
std::string AdaptiveMaxPool1d::extra_repr() const { return fmt::format("output_size={}", output_size_); }

AdaptiveAvgPool1d::AdaptiveAvgPool1d(int64_t output_size) : output_size_(output_size) {
  if (output_size < 1) fail("AdaptiveAvgPool1d: output_size must be positive, got {}", output_size);
}
Tensor AdaptiveAvgPool1d::forward(const Tensor& input) { return functional::adaptive_avg_pool1d(input, output_size_); }
std::string AdaptiveAvgPool1d::extra_repr() const { return fmt::format("output_size={}", output_size_); }

}  // namespace nabla::nn
