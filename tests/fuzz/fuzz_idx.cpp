// libFuzzer target: the IDX reader (datasets::read_idx, through parse_idx), raw and gzip — the
// input is the file's bytes; a gzip file is recognised by its magic, as read_idx does. Every
// input must be read or refused with nabla::Error: no crash, no sanitizer report, no allocation
// beyond what the input permits, and all input consumed. Built twice (fuzz_idx, fuzz_idx_gzip)
// with raw and gzip seeds. Build and run: see tests/fuzz/README.md.
#include <cstddef>
#include <cstdint>

#include <nabla/nabla.hpp>
#include <nabla/datasets/idx_bytes.hpp>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const nabla::Tensor values = nabla::datasets::parse_idx(data, size, "fuzz input");
    (void)values.numel();
    if (values.numel() > 0) (void)values.raw().contiguous().raw_data();
  } catch (const nabla::Error&) {
    // refused cleanly
  }
  return 0;
}
