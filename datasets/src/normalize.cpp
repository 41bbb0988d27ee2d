#include <algorithm>
#include <cmath>

#include "nabla/autograd/factories.hpp"
#include "nabla/datasets/transforms.hpp"
#include "nabla/tensor/error.hpp"

namespace nabla::datasets::transforms {

namespace {

// One channel plane of one row: contiguous, so the loop vectorises.
template <class T>
void normalize_plane(const T* __restrict in, T* __restrict out, int64_t count, T mean, T std) {
  for (int64_t i = 0; i < count; ++i) out[i] = (in[i] - mean) / std;
}

template <class T>
void normalize_rows(const Tensor& rows, const Tensor& out, const std::vector<double>& mean,
                    const std::vector<double>& std) {
  const int64_t channels = static_cast<int64_t>(mean.size());
  const int64_t plane = rows.numel() / std::max<int64_t>(rows.size(0) * channels, 1);
  const T* in = rows.data_ptr<T>();
  T* result = out.data_ptr<T>();
  for (int64_t row = 0; row < rows.size(0); ++row) {
    for (int64_t channel = 0; channel < channels; ++channel, in += plane, result += plane) {
      normalize_plane(in, result, plane, static_cast<T>(mean[static_cast<size_t>(channel)]),
                      static_cast<T>(std[static_cast<size_t>(channel)]));
    }
  }
}

}  // namespace

Normalize::Normalize(std::vector<double> mean, std::vector<double> std) : mean_(std::move(mean)), std_(std::move(std)) {
  if (mean_.empty() || mean_.size() != std_.size()) {
    fail("Normalize: needs one mean and one std per channel (or one of each for all), got {} means and {} stds",
         mean_.size(), std_.size());
  }
  for (size_t channel = 0; channel < mean_.size(); ++channel) {
    if (!std::isfinite(mean_[channel]) || !std::isfinite(std_[channel]) || !(std_[channel] > 0.0)) {
      fail("Normalize: channel {} has mean {} and std {}; the mean must be finite and the std positive and finite",
           channel, mean_[channel], std_[channel]);
    }
  }
}

Tensor Normalize::operator()(const Tensor& rows, const RandomKey& /*key*/) const {
  if (!rows.is_floating_point()) {
    fail("Normalize: needs float32 or float64 rows, got {}; convert first, e.g. with a transform "
         "[](const Tensor& rows) {{ return rows.to(nabla::float32).div(255.0); }}",
         rows.dtype());
  }
  const int64_t channels = static_cast<int64_t>(mean_.size());
  if (channels > 1 && (rows.dim() < 2 || rows.size(1) != channels)) {
    fail("Normalize: has {} channel means but the rows have shape {}; the channels are axis 1 of rows [B, C, ...]",
         channels, rows.shape());
  }
  const Tensor input = rows.contiguous();
  Tensor out = nabla::empty(input.shape(), input.dtype());
  if (input.dtype() == float32) {
    normalize_rows<float>(input, out, mean_, std_);
  } else {
    normalize_rows<double>(input, out, mean_, std_);
  }
  return out;
}

}  // namespace nabla::datasets::transforms
