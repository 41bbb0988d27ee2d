// The PyTorch reference values of layers_reference.hpp, compiled once.
#include "layers_reference.hpp"

namespace layers_reference {

const std::map<std::string, Case>& cases() {
  static const std::map<std::string, Case> all = {
#include "reference/layers_reference.inc"
  };
  return all;
}

}  // namespace layers_reference
