#pragma once
// Writing a file so that a crash at any moment leaves either the previous file or the new one,
// never a mixture (docs/FORMAT.md, "Atomic saves", says what each step leaves behind).
#include <initializer_list>
#include <string>
#include <string_view>

namespace nabla::nn::detail {

// Writes the pieces, in order, to a new temporary file "<path>.tmp.<pid>.<n>" beside path (created
// exclusively, so concurrent writers never share one), flushes it to disk (fsync), renames it over
// path and fsyncs the folder. Then it removes the temporaries of path that killed writers left
// behind (those whose process no longer runs) and the "<path>.tmp" of nabla versions before
// 2026-12. `op` names the caller in messages; the previous file survives any failure.
void write_file_atomically(const std::string& path, std::initializer_list<std::string_view> pieces, const char* op);
inline void write_file_atomically(const std::string& path, std::string_view bytes, const char* op) {
  write_file_atomically(path, {bytes}, op);
}

}  // namespace nabla::nn::detail
