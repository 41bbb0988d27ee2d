#include "nabla/tensor/factories.hpp"

#include <cmath>
#include <algorithm>
#include <cstring>

#include "convert.hpp"

namespace nabla::kernels {

Tensor empty(const Shape& shape, DType dtype) { return Tensor::empty(shape, dtype); }

Tensor full(const Shape& shape, double value, DType dtype) {
  Tensor out = Tensor::empty(shape, dtype);
  out.fill_(value);
  return out;
}

Tensor zeros(const Shape& shape, DType dtype) {
  Tensor out = Tensor::empty(shape, dtype);
  std::memset(out.raw_data(), 0, static_cast<size_t>(out.numel()) * itemsize(dtype));
  return out;
}

Tensor ones(const Shape& shape, DType dtype) { return full(shape, 1.0, dtype); }
Tensor empty_like(const Tensor& like) { return Tensor::empty(like.shape(), like.dtype()); }
Tensor zeros_like(const Tensor& like) { return zeros(like.shape(), like.dtype()); }
Tensor ones_like(const Tensor& like) { return ones(like.shape(), like.dtype()); }
Tensor full_like(const Tensor& like, double value) { return full(like.shape(), value, like.dtype()); }
Tensor scalar_tensor(double value, DType dtype) { return full({}, value, dtype); }

Tensor arange(double start, double end, double step, DType dtype) {
  if (step == 0 || !std::isfinite(step)) fail("arange: step must be finite and non-zero, got {}", step);
  if (!std::isfinite(start) || !std::isfinite(end)) fail("arange: start {} and end {} must be finite", start, end);
  const double count = std::ceil((end - start) / step);
  const int64_t n = count > 0 ? static_cast<int64_t>(count) : 0;
  Tensor out = Tensor::empty({n}, dtype);
  dispatch(dtype, [&](auto tag) {
    using T = decltype(tag);
    T* p = out.data<T>();
    for (int64_t i = 0; i < n; ++i) p[i] = detail::convert<T>(start + static_cast<double>(i) * step);
  });
  return out;
}

Tensor arange(int64_t end, DType dtype) { return arange(0.0, static_cast<double>(end), 1.0, dtype); }

Tensor linspace(double start, double end, int64_t steps, DType dtype) {
  if (steps < 0) fail("linspace: steps must be non-negative, got {}", steps);
  Tensor out = Tensor::empty({steps}, dtype);
  dispatch(dtype, [&](auto tag) {
    using T = decltype(tag);
    T* p = out.data<T>();
    const double delta = steps > 1 ? (end - start) / static_cast<double>(steps - 1) : 0.0;
    for (int64_t i = 0; i < steps; ++i) {
      // Fill from both ends so the last value is exactly `end`.
      p[i] = detail::convert<T>(i < (steps + 1) / 2 ? start + delta * static_cast<double>(i)
                                                : end - delta * static_cast<double>(steps - 1 - i));
    }
  });
  return out;
}

Tensor eye(int64_t rows, int64_t cols, DType dtype) {
  if (cols < 0) cols = rows;
  if (rows < 0) fail("eye: rows must be non-negative, got {}", rows);
  Tensor out = zeros({rows, cols}, dtype);
  dispatch(dtype, [&](auto tag) {
    using T = decltype(tag);
    T* p = out.data<T>();
    for (int64_t i = 0; i < std::min(rows, cols); ++i) p[i * cols + i] = T(1);
  });
  return out;
}

template <class T>
Tensor from_vector(const std::vector<T>& values, const Shape& shape_in) {
  const Shape shape = shape_in.empty() ? Shape{static_cast<int64_t>(values.size())} : shape_in;
  if (shape_numel(shape) != static_cast<int64_t>(values.size())) {
    fail("from_vector: {} values do not fill shape {} ({} elements)", values.size(), shape, shape_numel(shape));
  }
  Tensor out = Tensor::empty(shape, dtype_v<T>);
  if constexpr (std::is_same_v<T, bool>) {  // std::vector<bool> packs bits: copy one by one
    std::copy(values.begin(), values.end(), out.data<bool>());
  } else if (!values.empty()) {
    std::memcpy(out.raw_data(), values.data(), values.size() * sizeof(T));
  }
  return out;
}
template Tensor from_vector<float>(const std::vector<float>&, const Shape&);
template Tensor from_vector<double>(const std::vector<double>&, const Shape&);
template Tensor from_vector<int64_t>(const std::vector<int64_t>&, const Shape&);
template Tensor from_vector<int32_t>(const std::vector<int32_t>&, const Shape&);
template Tensor from_vector<uint8_t>(const std::vector<uint8_t>&, const Shape&);
template Tensor from_vector<bool>(const std::vector<bool>&, const Shape&);

Tensor tensor(std::initializer_list<double> values, const Shape& shape_in, DType dtype) {
  const Shape shape = shape_in.empty() ? Shape{static_cast<int64_t>(values.size())} : shape_in;
  if (shape_numel(shape) != static_cast<int64_t>(values.size())) {
    fail("tensor: {} values do not fill shape {} ({} elements)", values.size(), shape, shape_numel(shape));
  }
  Tensor out = Tensor::empty(shape, dtype);
  dispatch(dtype, [&](auto tag) {
    using T = decltype(tag);
    T* p = out.data<T>();
    int64_t i = 0;
    for (double v : values) p[i++] = detail::convert<T>(v);
  });
  return out;
}

}  // namespace nabla::kernels
