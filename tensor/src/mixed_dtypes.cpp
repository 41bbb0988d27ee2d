#include "nabla/tensor/mixed_dtypes.hpp"

#include "nabla/tensor/error.hpp"

namespace nabla {

void check_same_dtype(std::string_view op, std::string_view input_name, DType input, std::string_view parameter_name,
                      DType parameter) {
  if (input == parameter) return;
  fail("{}: {} is {} but {} is {}; {} needs one dtype for both, as in PyTorch (no silent promotion): convert the {} "
       "with .to({}), or the {} with .to({}) (a module: model.to({}))",
       op, input_name, input, parameter_name, parameter, op, input_name, parameter, parameter_name, input, input);
}

}  // namespace nabla
