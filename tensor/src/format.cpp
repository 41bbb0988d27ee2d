#include "nabla/tensor/format.hpp"

namespace nabla::kernels {

namespace {

constexpr int64_t kEdgeItems = 3;       // shown at each end of a long axis
constexpr int64_t kSummariseAbove = 6;  // axes longer than this are abbreviated

void append_element(std::string& out, const Tensor& x, int64_t offset) {
  dispatch(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T v = static_cast<const T*>(x.raw_data())[offset];
    if constexpr (std::is_floating_point_v<T>) {
      out += fmt::format("{:.6g}", v);
    } else if constexpr (std::is_same_v<T, bool>) {
      out += v ? "True" : "False";  // as PyTorch prints them
    } else {
      out += fmt::format("{}", static_cast<int64_t>(v));
    }
  });
}

void append_axis(std::string& out, const Tensor& x, int64_t axis, int64_t offset, int indent) {
  if (axis == x.dim()) {
    append_element(out, x, offset);
    return;
  }
  const int64_t extent = x.shape()[axis];
  const bool summarise = extent > kSummariseAbove;
  out += '[';
  for (int64_t i = 0; i < extent; ++i) {
    if (summarise && i == kEdgeItems) {
      out += axis + 1 == x.dim() ? "..., " : fmt::format("...,\n{:{}}", "", indent + 1);
      i = extent - kEdgeItems;
    }
    append_axis(out, x, axis + 1, offset + i * x.strides()[axis], indent + 1);
    if (i + 1 < extent) out += axis + 1 == x.dim() ? ", " : fmt::format(",\n{:{}}", "", indent + 1);
  }
  out += ']';
}

}  // namespace

std::string to_string(const Tensor& x) {
  if (!x.defined()) return "tensor(undefined)";
  std::string out = fmt::format("tensor({}, {})\n", x.dtype(), x.shape());
  append_axis(out, x, 0, 0, 0);
  return out;
}

std::ostream& operator<<(std::ostream& out, const Tensor& x) { return out << to_string(x); }

}  // namespace nabla::kernels
