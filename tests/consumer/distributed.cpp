// Links nabla::distributed from an installed nabla (run alone: it only reports how it was started).
#include <cstdio>

#include <nabla/distributed.hpp>

int main() {
  std::printf("launched by mpirun: %s\n", nabla::distributed::launched() ? "yes" : "no");
  return 0;
}
