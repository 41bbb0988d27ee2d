#include <nabla/nabla.hpp>

#include <cstdio>

int main() {
  nabla::Tensor a = nabla::tensor({1, 2, 3, 4}, {2, 2});
  nabla::Tensor b = nabla::matmul(a, nabla::eye(2));
  // Prints the product; exits non-zero if the values are not a's.
  std::printf("%s\n", nabla::to_string(b).c_str());
  return nabla::equal(a, b) ? 0 : 1;
}
