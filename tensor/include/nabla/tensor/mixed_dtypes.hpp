#pragma once
// The one rule for mixed dtypes (issue 18), as PyTorch's:
//   - plain arithmetic and comparisons promote (float32 + float64 -> float64, int64 * float32 ->
//     float32), as NumPy does;
//   - where an input meets a layer's parameters or another matrix in a product — matmul, linear,
//     the convolutions, layer/group/batch norm with weights, embedding_bag's per_sample_weights,
//     the recurrent layers, PReLU — both must have one dtype. A float64 batch into a float32 model
//     is refused instead of silently computing in float64 (slower, and not what the model holds).
#include <string_view>

#include "nabla/tensor/dtype.hpp"

namespace nabla {

// Throws when `input` and `parameter` differ: "linear: input is float64 but weight is float32;
// linear needs one dtype for both, as in PyTorch (no silent promotion): convert the input with
// .to(float32), or the weight with .to(float64) (a module: model.to(float64))".
void check_same_dtype(std::string_view op, std::string_view input_name, DType input, std::string_view parameter_name,
                      DType parameter);

}  // namespace nabla
