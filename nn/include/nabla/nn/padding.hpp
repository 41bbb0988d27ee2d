#pragma once
// How a convolution pads its input: explicit sizes, or PyTorch's padding="same" / "valid", spelled
// nn::same and nn::valid; and with what (padding_mode).
//
//   nn::Conv2d({.in_channels = 3, .out_channels = 8, .kernel_size = 4, .padding = nn::same})
//   F::conv2d(x, weight, bias, /*stride=*/1, nn::same)
//
// A string would be checked only when the layer runs and a misspelling would be a runtime error;
// a bool beside the sizes would let a call set both. A Padding is one or the other by
// construction, converts implicitly from the sizes everyone already writes (1, {1, 2}, Size2d),
// and nn::same reads as PyTorch's padding="same".
#include <cstdint>
#include <string>
#include <type_traits>
#include <vector>

#include "nabla/autograd.hpp"

namespace nabla::nn {

struct SamePadding {};
struct ValidPadding {};
// padding="same": the output has the input's size (stride 1 only). Each axis is padded by
// dilation * (kernel - 1) in all, half (rounded down) before and the rest after, as PyTorch does;
// an even kernel thus pads one more at the bottom/right.
inline constexpr SamePadding same{};
// padding="valid": no padding.
inline constexpr ValidPadding valid{};

// Explicit padding sizes (Size2d for 2-d convolutions, int64_t for 1-d), or nn::same / nn::valid.
template <class Sizes>
class BasicPadding {
 public:
  enum class Kind { sizes, same, valid };
  BasicPadding(int64_t both) : sizes_(both) {}  // NOLINT(google-explicit-constructor)
  BasicPadding(int64_t height, int64_t width)
    requires std::is_same_v<Sizes, Size2d>
      : sizes_(height, width) {}
  BasicPadding(Sizes sizes)  // NOLINT(google-explicit-constructor)
    requires(!std::is_same_v<Sizes, int64_t>)
      : sizes_(sizes) {}
  BasicPadding(SamePadding) : kind_(Kind::same) {}    // NOLINT(google-explicit-constructor)
  BasicPadding(ValidPadding) : kind_(Kind::valid) {}  // NOLINT(google-explicit-constructor)

  Kind kind() const { return kind_; }
  bool is_same() const { return kind_ == Kind::same; }
  // The explicit sizes (0 for valid; those of same depend on the kernel: ask the layer).
  Sizes sizes() const { return sizes_; }

 private:
  Kind kind_ = Kind::sizes;
  Sizes sizes_ = 0;
};
using Padding = BasicPadding<Size2d>;
using Padding1d = BasicPadding<int64_t>;

// What the padded border holds (PyTorch's padding_mode): zeros, or the input reflected at its
// edge (without repeating it), the edge value repeated, or the input wrapped around.
enum class PaddingMode { zeros, reflect, replicate, circular };
const char* padding_mode_name(PaddingMode mode);  // "zeros", "reflect", ...
// The nabla::pad mode that fills the border as `mode` does (zeros: constant).
PadMode pad_mode(PaddingMode mode);

// The padding before and after each axis that a convolution with this kernel and dilation gets.
struct ConvPadding {
  int64_t top = 0, bottom = 0, left = 0, right = 0;
  bool symmetric() const { return top == bottom && left == right; }
  // As nabla::pad (F.pad) counts: last axis first.
  std::vector<int64_t> pad_counts() const { return {left, right, top, bottom}; }
};
ConvPadding resolve_padding(const Padding& padding, Size2d kernel_size, Size2d dilation);

}  // namespace nabla::nn
