// libFuzzer target: the .nbl archive reader (nn::read_archive, through parse_archive). Every input
// must be read or refused with nabla::Error: no crash, no sanitizer report, no allocation beyond
// what the input permits. The header CRC is made to match first (fuzz_crc.hpp), so mutations reach
// the entries. Build and run: see tests/fuzz/README.md.
#include <cstddef>
#include <cstdint>

#include <nabla/nabla.hpp>
#include <nabla/nn/archive_bytes.hpp>

#include "fuzz_crc.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::vector<unsigned char> bytes = fuzz_support::with_matching_crc(data, size);
  try {
    const nabla::nn::Archive archive = nabla::nn::parse_archive(bytes.data(), bytes.size(), "fuzz input");
    for (const auto& [name, value] : archive.entries()) {
      if (const nabla::Tensor* tensor = std::get_if<nabla::Tensor>(&value)) {
        if (tensor->numel() > 0) (void)tensor->raw().contiguous().raw_data();
      }
    }
  } catch (const nabla::Error&) {
    // refused cleanly
  }
  return 0;
}
