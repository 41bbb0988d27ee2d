#include "file_io.hpp"

#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <system_error>

#include "nabla/tensor/error.hpp"

namespace nabla::datasets::detail {

std::string errno_message() { return std::strerror(errno); }

void write_file_atomically(const std::filesystem::path& file, std::span<const uint8_t> bytes,
                           const char* op) {
  // Unique per process and call, so concurrent writers never share a temporary file.
  static std::atomic<uint64_t> counter{0};
  std::filesystem::path temporary = file;
  temporary += ".tmp." + std::to_string(::getpid()) + "." + std::to_string(counter++);

  std::FILE* out = std::fopen(temporary.c_str(), "wb");
  if (!out) {
    fail("{}: cannot create {}: {}; check that the directory exists and is writable", op,
         temporary.string(), errno_message());
  }
  const bool written = std::fwrite(bytes.data(), 1, bytes.size(), out) == bytes.size();
  const bool flushed = std::fflush(out) == 0 && ::fsync(::fileno(out)) == 0;
  const std::string write_error = errno_message();
  const bool closed = std::fclose(out) == 0;
  if (!written || !flushed || !closed) {
    std::remove(temporary.c_str());
    fail("{}: writing {} failed: {} (is the disk full?)", op, temporary.string(), write_error);
  }
  std::error_code error;
  std::filesystem::rename(temporary, file, error);
  if (error) {
    std::remove(temporary.c_str());
    fail("{}: cannot rename {} to {}: {}", op, temporary.string(), file.string(), error.message());
  }
}

std::vector<uint8_t> deflate_bytes(std::span<const uint8_t> bytes, Wrapper wrapper, const char* op) {
  z_stream stream{};
  // windowBits 16 + MAX_WBITS asks for a gzip header and trailer instead of a zlib one.
  const int window_bits = wrapper == Wrapper::gzip ? 16 + MAX_WBITS : MAX_WBITS;
  if (deflateInit2(&stream, Z_DEFAULT_COMPRESSION, Z_DEFLATED, window_bits, 8,
                   Z_DEFAULT_STRATEGY) != Z_OK) {
    fail("{}: zlib deflateInit2 failed (out of memory?)", op);
  }
  std::vector<uint8_t> out(deflateBound(&stream, bytes.size()) + 64);
  // zlib counts in 32-bit uInt: feed and drain in pieces so inputs over 4 GiB work too.
  constexpr size_t kPiece = size_t{1} << 30;
  size_t consumed = 0;
  int status = Z_OK;
  while (status == Z_OK) {
    if (stream.avail_in == 0 && consumed < bytes.size()) {
      const size_t piece = std::min(kPiece, bytes.size() - consumed);
      stream.next_in = const_cast<Bytef*>(bytes.data() + consumed);
      stream.avail_in = static_cast<uInt>(piece);
      consumed += piece;
    }
    if (stream.total_out == out.size()) out.resize(out.size() * 2);
    stream.next_out = out.data() + stream.total_out;
    stream.avail_out = static_cast<uInt>(std::min(kPiece, out.size() - stream.total_out));
    status = deflate(&stream, consumed == bytes.size() ? Z_FINISH : Z_NO_FLUSH);
    if (status == Z_BUF_ERROR) status = Z_OK;  // no progress possible this round: more room next
  }
  const size_t produced = stream.total_out;
  deflateEnd(&stream);
  if (status != Z_STREAM_END) fail("{}: zlib deflate failed (status {})", op, status);
  out.resize(produced);
  return out;
}

}  // namespace nabla::datasets::detail
