// Norms and standard deviations, composed of the element-wise and reduction kernels; and all/any,
// composed of a comparison and a count so that they return whatever dtype comparisons return.
#include <array>
#include <cmath>

#include "nabla/tensor/elementwise.hpp"
#include "nabla/tensor/reduce.hpp"

namespace nabla::kernels {

namespace {

// The number of elements each result of reducing x over axes combines; checks the axes in op's
// name (an empty list means every axis).
int64_t reduced_count(const Tensor& x, const Dims& axes, const char* op) {
  if (!x.defined()) fail("{}: the input tensor is undefined", op);
  if (axes.empty()) return x.numel();
  std::array<bool, Dims::kMaxDims> seen{};
  int64_t count = 1;
  for (int64_t axis : axes) {
    const int64_t a = normalize_axis(axis, x.dim(), op);
    if (seen[static_cast<size_t>(a)]) fail("{}: axis {} is listed twice in {}", op, a, axes);
    seen[static_cast<size_t>(a)] = true;
    count *= x.shape()[a];
  }
  return count;
}

void check_floating(const Tensor& x, const char* op) {
  if (!is_floating(x.dtype())) fail("{}: needs a float tensor, got {} (convert with .to(nabla::float32))", op, x.dtype());
}

// The count of non-zero elements over axes (int64).
Tensor count_nonzero(const Tensor& x, const Dims& axes, bool keepdim) { return sum(ne(x, 0.0), axes, keepdim); }

}  // namespace

Tensor std(const Tensor& x, const Dims& axes, bool keepdim, int64_t correction) {
  const int64_t count = reduced_count(x, axes, "std");
  check_floating(x, "std");
  if (count - correction <= 0) {
    fail("std: {} elements with correction {} leave no degrees of freedom (shape {}, axes {})", count, correction,
         x.shape(), axes);
  }
  return sqrt(var(x, axes, keepdim, correction));
}

Tensor norm(const Tensor& x, double p, const Dims& axes, bool keepdim) {
  const int64_t count = reduced_count(x, axes, "norm");
  check_floating(x, "norm");
  if (std::isnan(p)) fail("norm: the order p is NaN");
  if (std::isinf(p)) {
    if (count == 0) {
      fail("norm: the {}infinity norm of an empty selection is undefined (shape {}, axes {})", p > 0 ? "" : "-",
           x.shape(), axes);
    }
    return p > 0 ? amax(abs(x), axes, keepdim) : amin(abs(x), axes, keepdim);
  }
  if (p == 0.0) return count_nonzero(x, axes, keepdim).to(x.dtype());
  if (p == 1.0) return sum(abs(x), axes, keepdim);
  if (p == 2.0) return sqrt(sum(mul(x, x), axes, keepdim));
  return pow(sum(pow(abs(x), p), axes, keepdim), 1.0 / p);
}

Tensor norm(const Tensor& x, std::string_view p, const Dims& axes, bool keepdim) {
  if (p == "fro") {
    if (axes.size() > 2) {
      fail("norm: the Frobenius norm ('fro') is a matrix norm over at most 2 axes, got axes {}; for a vector "
           "2-norm over more axes pass p = 2", axes);
    }
    return norm(x, 2.0, axes, keepdim);
  }
  if (p == "nuc") {
    fail("norm: the nuclear norm ('nuc') needs singular values, which nabla does not compute; use 'fro' or a "
         "number");
  }
  fail("norm: unknown norm '{}'; pass a number (any real p, inf or -inf) or \"fro\"", p);
}

Tensor all(const Tensor& x, const Dims& axes, bool keepdim) {
  const int64_t count = reduced_count(x, axes, "all");
  const Tensor result = eq(count_nonzero(x, axes, keepdim), static_cast<double>(count));
  return x.dtype() == DType::uint8 ? result.to(DType::uint8) : result;
}

Tensor any(const Tensor& x, const Dims& axes, bool keepdim) {
  reduced_count(x, axes, "any");
  const Tensor result = gt(count_nonzero(x, axes, keepdim), 0.0);
  return x.dtype() == DType::uint8 ? result.to(DType::uint8) : result;
}

}  // namespace nabla::kernels
