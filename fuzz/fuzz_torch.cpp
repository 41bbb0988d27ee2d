// libFuzzer target: the torch.save (.pt) reader — libzip plus nabla's pickle reader — must refuse
// any input with nabla::Error, never crash, leak, run anything or allocate more than the input
// permits. Build and run: see fuzz/README.md.
#include <cstddef>
#include <cstdint>

#include <nabla/nabla.hpp>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const nabla::nn::Weights weights = nabla::nn::parse_torch(data, size, "fuzz input");
    (void)weights.numel();
  } catch (const nabla::Error&) {
    // refused cleanly
  }
  return 0;
}
