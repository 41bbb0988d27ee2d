#pragma once
// Hot loops compiled for several instruction sets, the best one picked when the library
// loads (GCC function multi-versioning, resolved once through an ifunc). The library stays
// portable (a default build targets plain x86-64), yet its kernels run AVX2 or AVX-512 code on
// CPUs that have them. A -march=native build (NABLA_NATIVE) needs no clones. Put
// NABLA_SIMD_CLONES before a function whose loops should vectorise; keep the loops simple
// (restrict pointers, unit strides) so that the compiler can.
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && !defined(__AVX2__) && \
    !defined(NABLA_NO_SIMD_CLONES)
#define NABLA_SIMD_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#define NABLA_SIMD_DISPATCH 1  // code may also be versioned by hand (winograd.cpp), chosen at run time
#else
#define NABLA_SIMD_CLONES
#endif
