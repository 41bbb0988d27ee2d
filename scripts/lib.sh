# Shared by scripts/test, scripts/mnist and bench/run: install what is missing, configure, build.
# Sourced, not run.

NABLA_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
NABLA_BUILD_DIR="${NABLA_BUILD_DIR:-$NABLA_ROOT/build}"
NABLA_PACKAGES=(cmake g++ make pkg-config libopenblas-dev libfmt-dev zlib1g-dev catch2 libcli11-dev wamerican
                nlohmann-json3-dev libzip-dev)

# Installs the Debian packages that are not installed yet (apt-get as root, else through sudo).
nabla_install_packages() {
  local missing=() pkg
  for pkg in "${NABLA_PACKAGES[@]}" "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "installing: ${missing[*]}" >&2
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "need root or sudo to install: ${missing[*]}" >&2; return 1; }
    sudo="sudo"
  fi
  $sudo apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >&2
}

# Configures (once) and builds Release with 2 jobs.
nabla_build() {
  if [ ! -f "$NABLA_BUILD_DIR/CMakeCache.txt" ]; then
    cmake -S "$NABLA_ROOT" -B "$NABLA_BUILD_DIR" -DCMAKE_BUILD_TYPE=Release "$@" >&2
  fi
  cmake --build "$NABLA_BUILD_DIR" -j2 >&2
}
