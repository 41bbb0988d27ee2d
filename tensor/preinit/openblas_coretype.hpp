#pragma once
// Shared by the preinit object (nabla_blas_preinit) and blas.cpp: which OpenBLAS kernel set this
// CPU can run, and the record of what the preinit did about it. Header-only and free of the C++
// runtime, because the preinit code runs before any library is initialised.
#include <cstdint>
#include <initializer_list>
#include <strings.h>  // strcasecmp

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

namespace nabla::detail {

// The strongest OpenBLAS core type (an OPENBLAS_CORETYPE value) whose instructions this CPU and
// its operating system support, or nullptr when nabla has no advice (no AVX2, or not x86).
inline const char* openblas_core_for_this_cpu() {
#if defined(__x86_64__) || defined(__i386__)
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx)) return nullptr;
  const bool has_fma = ecx & bit_FMA;
  const bool has_avx = ecx & bit_AVX;
  // The OS must save the wide registers on context switch (XCR0), or using them is unsafe.
  if (!(ecx & bit_OSXSAVE) || !has_avx) return nullptr;
  uint32_t xcr0_low = 0, xcr0_high = 0;
  __asm__ volatile("xgetbv" : "=a"(xcr0_low), "=d"(xcr0_high) : "c"(0));
  const bool os_saves_ymm = (xcr0_low & 0x6u) == 0x6u;    // SSE and AVX state
  const bool os_saves_zmm = (xcr0_low & 0xe6u) == 0xe6u;  // plus opmask and both ZMM halves

  if (!__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx)) return nullptr;
  const uint32_t max_subleaf = eax;
  const bool has_avx2 = ebx & bit_AVX2;
  const bool has_avx512 = (ebx & bit_AVX512F) && (ebx & bit_AVX512CD) && (ebx & bit_AVX512BW) &&
                          (ebx & bit_AVX512DQ) && (ebx & bit_AVX512VL);
  bool has_avx512_bf16 = false;
  if (max_subleaf >= 1 && __get_cpuid_count(7, 1, &eax, &ebx, &ecx, &edx)) {
    has_avx512_bf16 = eax & (1u << 5);
  }
  if (os_saves_zmm && has_avx512) return has_avx512_bf16 ? "Cooperlake" : "SkylakeX";
  if (os_saves_ymm && has_avx2 && has_fma) return "Haswell";
#endif
  return nullptr;
}

// 2: AVX-512 kernels, 1: AVX2 kernels, 0: older or unknown. Names as OpenBLAS spells them in
// OPENBLAS_CORETYPE and openblas_get_corename(), compared without case.
inline int openblas_core_level(const char* core) {
  if (core == nullptr) return 0;
  for (const char* name : {"SkylakeX", "Cooperlake", "SapphireRapids"}) {
    if (strcasecmp(core, name) == 0) return 2;
  }
  for (const char* name : {"Haswell", "Zen", "Excavator"}) {
    if (strcasecmp(core, name) == 0) return 1;
  }
  return 0;
}

}  // namespace nabla::detail

// What the preinit function found and did; plain C so it reads the same from any translation unit.
enum NablaBlasPreinitStatus : int32_t {
  kNablaPreinitUserSet = 1,   // OPENBLAS_CORETYPE was already set: left alone
  kNablaPreinitSelected = 2,  // nabla put `core` into the environment for OpenBLAS
  kNablaPreinitNoAdvice = 3,  // no AVX2: nothing better to offer than OpenBLAS's own choice
  kNablaPreinitNoRoom = 4,    // wanted `core` but the environment had no slot to lend (see the .cpp)
};
struct NablaBlasPreinitRecord {
  int32_t status;
  char core[24];
};

// Defined by the preinit object. blas.cpp declares it weak: in a process whose executable was not
// linked with the preinit object (nabla loaded with dlopen) the address is null.
extern "C" const NablaBlasPreinitRecord* nabla_blas_preinit_record();
