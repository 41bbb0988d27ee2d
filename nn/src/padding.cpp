#include "nabla/nn/padding.hpp"

namespace nabla::nn {

const char* padding_mode_name(PaddingMode mode) {
  switch (mode) {
    case PaddingMode::zeros: return "zeros";
    case PaddingMode::reflect: return "reflect";
    case PaddingMode::replicate: return "replicate";
    case PaddingMode::circular: return "circular";
  }
  return "?";
}

PadMode pad_mode(PaddingMode mode) {
  switch (mode) {
    case PaddingMode::zeros: return PadMode::constant;
    case PaddingMode::reflect: return PadMode::reflect;
    case PaddingMode::replicate: return PadMode::replicate;
    case PaddingMode::circular: return PadMode::circular;
  }
  return PadMode::constant;
}

ConvPadding resolve_padding(const Padding& padding, Size2d kernel_size, Size2d dilation) {
  switch (padding.kind()) {
    case Padding::Kind::valid: return {};
    case Padding::Kind::sizes: {
      const Size2d p = padding.sizes();
      return {p.h, p.h, p.w, p.w};
    }
    case Padding::Kind::same: {
      // PyTorch's split: the total an axis needs to keep its size, half (rounded down) before.
      const int64_t rows = dilation.h * (kernel_size.h - 1), columns = dilation.w * (kernel_size.w - 1);
      return {rows / 2, rows - rows / 2, columns / 2, columns - columns / 2};
    }
  }
  return {};
}

}  // namespace nabla::nn
