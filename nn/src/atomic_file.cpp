#include "atomic_file.hpp"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <thread>

#include "nabla/tensor/error.hpp"

namespace nabla::nn::detail {

namespace {

constexpr const char* kTemporaryInfix = ".tmp.";

// A test hook, read once: NABLA_TEST_SAVE_PAUSE_MS=<ms> holds every save half-written for that
// long, so that the kill test (tests/kill) lands its SIGKILLs inside writes deterministically.
std::chrono::milliseconds pause_inside_writes() {
  static const std::chrono::milliseconds pause = [] {
    const char* text = std::getenv("NABLA_TEST_SAVE_PAUSE_MS");
    int64_t ms = 0;
    if (text) std::from_chars(text, text + std::strlen(text), ms);
    return std::chrono::milliseconds(ms > 0 ? ms : 0);
  }();
  return pause;
}

// Writes all of bytes to fd (write() may write less than asked); false with errno set on failure.
bool write_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t written = ::write(fd, bytes.data(), bytes.size());
    if (written < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    bytes.remove_prefix(static_cast<size_t>(written));
  }
  return true;
}

// fsync the folder holding `path`, so the rename itself survives a power cut. Best effort: some
// file systems refuse fsync on directories.
void sync_folder(const std::filesystem::path& folder) {
  const int fd = ::open(folder.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

// Removes "<name>.tmp" and "<name>.tmp.<pid>.<n>" of processes that no longer run. A temporary of
// a running process (this one included) may be a save in progress and is left alone.
void remove_stale_temporaries(const std::filesystem::path& folder, const std::string& name) {
  std::error_code error;
  const std::string legacy = name + ".tmp";
  const std::string prefix = name + kTemporaryInfix;
  for (std::filesystem::directory_iterator it(folder, error), end; !error && it != end; it.increment(error)) {
    const std::string entry = it->path().filename().string();
    bool stale = entry == legacy;
    if (!stale && entry.rfind(prefix, 0) == 0) {
      const char* first = entry.data() + prefix.size();
      const char* last = entry.data() + entry.size();
      pid_t pid = 0;
      const auto [next, parse_error] = std::from_chars(first, last, pid);
      stale = parse_error == std::errc() && next != last && *next == '.' && pid > 0 && pid != ::getpid() &&
              ::kill(pid, 0) != 0 && errno == ESRCH;
    }
    std::error_code ignored;
    if (stale) std::filesystem::remove(it->path(), ignored);
  }
}

}  // namespace

void write_file_atomically(const std::string& path, std::initializer_list<std::string_view> pieces, const char* op) {
  static std::atomic<uint64_t> counter{0};
  const std::filesystem::path target(path);
  std::filesystem::path folder = target.parent_path();
  if (folder.empty()) folder = ".";

  // ---- 1. create a temporary of our own (O_EXCL: a name left by an earlier process is skipped)
  std::string temporary;
  int fd = -1;
  for (int attempt = 0; fd < 0 && attempt < 100; ++attempt) {
    temporary = path + kTemporaryInfix + std::to_string(::getpid()) + "." + std::to_string(counter++);
    fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd < 0 && errno != EEXIST) break;
  }
  if (fd < 0) fail("{}: cannot create '{}': {}", op, temporary, std::strerror(errno));
  auto abandon = [&](const char* step) {
    const int error = errno;
    ::close(fd);
    ::unlink(temporary.c_str());
    fail("{}: {} '{}' failed: {} (the previous '{}', if any, is untouched)", op, step, temporary, std::strerror(error),
         path);
  };

  // ---- 2. write and flush it to disk
  size_t total = 0;
  for (std::string_view piece : pieces) total += piece.size();
  size_t written = 0;
  for (std::string_view piece : pieces) {
    if (pause_inside_writes().count() > 0 && written <= total / 2 && written + piece.size() > total / 2) {
      const size_t half = total / 2 - written;  // write up to the middle of the file, then wait there
      if (!write_all(fd, piece.substr(0, half))) abandon("writing");
      std::this_thread::sleep_for(pause_inside_writes());
      if (!write_all(fd, piece.substr(half))) abandon("writing");
    } else if (!write_all(fd, piece)) {
      abandon("writing");
    }
    written += piece.size();
  }
  if (::fsync(fd) != 0) abandon("syncing");
  if (::close(fd) != 0) {
    const int error = errno;
    ::unlink(temporary.c_str());
    fail("{}: closing '{}' failed: {}", op, temporary, std::strerror(error));
  }

  // ---- 3. rename it over path (atomic), and make the rename itself durable
  if (std::rename(temporary.c_str(), path.c_str()) != 0) {
    const int error = errno;
    ::unlink(temporary.c_str());
    fail("{}: renaming '{}' to '{}' failed: {}", op, temporary, path, std::strerror(error));
  }
  sync_folder(folder);

  // ---- 4. tidy up after earlier saves that were killed
  remove_stale_temporaries(folder, target.filename().string());
}

}  // namespace nabla::nn::detail
