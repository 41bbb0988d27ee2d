#pragma once
// nabla::Error: the one exception type every nabla check throws.
#include <stdexcept>
#include <string>
#include <utility>

#include <fmt/format.h>

namespace nabla {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Throws nabla::Error with a fmt-formatted message. Messages name the op first ("matmul: ..."),
// then the offending shapes or values, then what would fix the call when that is known.
template <class... Args>
[[noreturn]] void fail(fmt::format_string<Args...> format, Args&&... args) {
  throw Error(fmt::format(format, std::forward<Args>(args)...));
}

}  // namespace nabla
