#include <nabla/nabla.hpp>
#include <nabla/version.hpp>  // NABLA_VERSION_*, nabla::version()

#include <cstdio>
#include <string>

int main() {
  nabla::Tensor a = nabla::tensor({1, 2, 3, 4}, {2, 2});
  nabla::Tensor b = nabla::matmul(a, nabla::eye(2));
  // Prints the product; exits non-zero if the values are not a's.
  std::printf("%s\n", nabla::to_string(b).c_str());
  // The version: headers, library and CMake package agree.
  const std::string macros = std::to_string(NABLA_VERSION_MAJOR) + "." + std::to_string(NABLA_VERSION_MINOR) + "." +
                             std::to_string(NABLA_VERSION_PATCH);
  std::printf("nabla %s (headers %s, package %s)\n", nabla::version().c_str(), macros.c_str(), CONSUMER_FOUND_VERSION);
  if (nabla::version() != macros || macros != NABLA_VERSION_STRING || macros != CONSUMER_FOUND_VERSION) return 2;
  return nabla::equal(a, b) ? 0 : 1;
}
