#include "nabla/datasets/transform.hpp"

#include "nabla/tensor/error.hpp"

namespace nabla::datasets {

Tensor Transform::operator()(const Tensor& rows, const RandomKey& key) const {
  if (!function_) return rows;
  if (!rows.defined() || rows.dim() < 1) {
    fail("Transform: needs rows [B, ...] (examples along axis 0), got {}",
         rows.defined() ? fmt::format("shape {}", rows.shape()) : std::string("an undefined tensor"));
  }
  Tensor result = function_(rows, key);
  if (!result.defined() || result.dim() < 1 || result.size(0) != rows.size(0)) {
    fail("Transform: the function turned rows {} into {}; a transform must return one row per input row "
         "(rows [B, ...] in, rows [B, ...] out)",
         rows.shape(), result.defined() ? fmt::format("{}", result.shape()) : std::string("an undefined tensor"));
  }
  return result;
}

}  // namespace nabla::datasets

namespace nabla::datasets::transforms {

Tensor Compose::operator()(const Tensor& rows, const RandomKey& key) const {
  Tensor result = rows;
  for (size_t stage = 0; stage < stages_.size(); ++stage) result = stages_[stage](result, key.fold_in(stage));
  return result;
}

}  // namespace nabla::datasets::transforms
