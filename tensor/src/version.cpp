#include "nabla/version.hpp"

namespace nabla {
std::string version() { return NABLA_VERSION_STRING; }
}  // namespace nabla
