// Chooses OpenBLAS's kernels before OpenBLAS loads.
//
// OpenBLAS built with DYNAMIC_ARCH (Debian's is) picks its kernel set once, in its library
// constructor: from OPENBLAS_CORETYPE if set, else from its own table of CPU models. A CPU newer
// than the OpenBLAS release is missing from that table and gets a generic fallback (SSE3
// "Prescott" kernels for an unknown Intel model), 2-5x slower sgemm than the AVX-512 kernels the
// library already contains. So nabla sets OPENBLAS_CORETYPE from CPUID when the user has not, and
// it must do so before that constructor runs: this file puts a function into the executable's
// .preinit_array, which the dynamic loader calls before any shared library's constructor (the
// mechanism sanitizers use).
//
// One glibc detail shapes the code: when the preinit array runs, libc has not initialised yet, so
// `environ` is still null and setenv's result would be discarded when libc's initialiser sets
// environ to the loader's envp array. The only environment OpenBLAS will see is that array, and it
// cannot grow. So the preinit lends one of its slots to OPENBLAS_CORETYPE (preferably bash's "_",
// which nothing reads at startup) and a constructor in the executable gives the slot back once
// every shared library, OpenBLAS included, has initialised. main() and child processes see the
// environment exactly as the user set it. (In a static executable libc is ready before the
// preinit array runs, so plain setenv works there and the variable simply stays set.)
//
// This object must be linked into executables only (a .preinit_array is not allowed in a shared
// library); tensor/CMakeLists.txt arranges that for every executable linking nabla::tensor.
// It assumes OpenBLAS is a shared library, as nabla's build links it: a static libopenblas.a in a
// dynamic executable would run its constructor among the executable's own, possibly after the
// slot is returned.
#include "openblas_coretype.hpp"

#include <cstddef>
#include <cstdlib>
#include <cstring>

extern char** environ;

namespace {

NablaBlasPreinitRecord g_record{};
char g_coretype_entry[64];         // "OPENBLAS_CORETYPE=<core>", lent to the environment
char* g_borrowed_entry = nullptr;  // the entry that slot held

bool entry_has_name(const char* entry, const char* name) {
  const size_t length = strlen(name);
  return strncmp(entry, name, length) == 0 && entry[length] == '=';
}

// Variables some library may read while initialising, so never hidden even briefly.
bool may_be_read_at_startup(const char* entry) {
  for (const char* prefix : {"LD_", "GLIBC_", "MALLOC_", "OPENBLAS_", "GOTO", "OMP_", "GOMP_", "KMP_",
                             "GFORTRAN_", "LANG", "LC_", "TZ", "HOME", "PATH", "TMP", "NABLA_"}) {
    if (strncmp(entry, prefix, strlen(prefix)) == 0) return true;
  }
  return false;
}

// The envp slot to lend: "_" if present, else the last entry no startup code should read; -1 if
// none.
ptrdiff_t slot_to_borrow(char** envp) {
  ptrdiff_t fallback = -1;
  for (ptrdiff_t i = 0; envp[i] != nullptr; ++i) {
    if (entry_has_name(envp[i], "_")) return i;
    if (!may_be_read_at_startup(envp[i])) fallback = i;
  }
  return fallback;
}

void select_openblas_core(int /*argc*/, char** /*argv*/, char** envp) {
  if (envp != nullptr) {
    for (char** entry = envp; *entry != nullptr; ++entry) {
      if (entry_has_name(*entry, "OPENBLAS_CORETYPE")) {
        g_record.status = kNablaPreinitUserSet;
        return;
      }
    }
  }
  const char* core = nabla::detail::openblas_core_for_this_cpu();
  if (core == nullptr) {
    g_record.status = kNablaPreinitNoAdvice;
    return;
  }
  strncpy(g_record.core, core, sizeof(g_record.core) - 1);
  strcpy(g_coretype_entry, "OPENBLAS_CORETYPE=");
  strcat(g_coretype_entry, core);

  if (environ != nullptr) {
    // libc is already initialised (a static executable, or a libc that sets environ early):
    // the ordinary way works. The variable stays set; children inherit the same choice.
    setenv("OPENBLAS_CORETYPE", core, /*overwrite=*/0);
    g_record.status = kNablaPreinitSelected;
    return;
  }
  const ptrdiff_t slot = envp != nullptr ? slot_to_borrow(envp) : -1;
  if (slot < 0) {
    g_record.status = kNablaPreinitNoRoom;
    return;
  }
  g_borrowed_entry = envp[slot];
  envp[slot] = g_coretype_entry;
  g_record.status = kNablaPreinitSelected;
}

// Priority 101: before the program's own constructors, after every shared library's (OpenBLAS is
// one; the executable's constructors always run after its libraries').
__attribute__((constructor(101))) void return_borrowed_slot() {
  if (g_borrowed_entry == nullptr || environ == nullptr) return;
  // libc may have copied the array (a setenv in some library constructor): find our entry.
  for (char** entry = environ; *entry != nullptr; ++entry) {
    if (*entry == g_coretype_entry) {
      *entry = g_borrowed_entry;
      break;
    }
  }
  g_borrowed_entry = nullptr;
}

__attribute__((section(".preinit_array"), used)) void (*const g_preinit_entry)(int, char**, char**) =
    select_openblas_core;

}  // namespace

extern "C" const NablaBlasPreinitRecord* nabla_blas_preinit_record() { return &g_record; }
