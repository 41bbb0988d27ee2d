// libFuzzer target: the safetensors reader must refuse any input with nabla::Error, never crash,
// leak or allocate more than the input permits. Build and run: see fuzz/README.md.
#include <cstddef>
#include <cstdint>

#include <nabla/nabla.hpp>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const nabla::nn::Weights weights = nabla::nn::parse_safetensors(data, size, "fuzz input");
    (void)weights.numel();
  } catch (const nabla::Error&) {
    // refused cleanly: what a malformed file must get
  }
  return 0;
}
