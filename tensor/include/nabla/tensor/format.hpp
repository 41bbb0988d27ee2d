#pragma once
// Printing: fmt::format("{}", t) gives "tensor(float32, [2, 3]) [[...], [...]]", abbreviated with
// "..." past 6 entries per axis.
#include <ostream>
#include <string>

#include <fmt/format.h>

#include "nabla/tensor/tensor.hpp"

namespace nabla::kernels {
std::string to_string(const Tensor& x);
std::ostream& operator<<(std::ostream& out, const Tensor& x);
}  // namespace nabla::kernels

template <>
struct fmt::formatter<nabla::kernels::Tensor> : fmt::formatter<std::string> {
  auto format(const nabla::kernels::Tensor& x, fmt::format_context& ctx) const {
    return fmt::formatter<std::string>::format(nabla::kernels::to_string(x), ctx);
  }
};
