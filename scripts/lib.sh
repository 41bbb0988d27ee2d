# Shared by scripts/test, scripts/mnist and bench/run: install what is missing, configure, build.
# Sourced, not run.

NABLA_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
NABLA_BUILD_DIR="${NABLA_BUILD_DIR:-$NABLA_ROOT/build}"
NABLA_PACKAGES=(cmake g++ make pkg-config libopenblas-dev libfmt-dev zlib1g-dev catch2 libcli11-dev wamerican
                nlohmann-json3-dev libzip-dev libopenmpi-dev openmpi-bin)

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

# ---- issue 18: build only what a script runs, saying how far it is --------------------------------
# nabla_build_targets TARGET...: configures (once) and builds just TARGET... and what they need (the
# libraries), showing one line "building TARGET: 45%"; the full log is in $NABLA_BUILD_DIR/build.log
# and its end is shown if the build fails.
nabla_build_targets() {
  if [ ! -f "$NABLA_BUILD_DIR/CMakeCache.txt" ]; then
    echo "configuring $NABLA_BUILD_DIR (Release)" >&2
    mkdir -p "$NABLA_BUILD_DIR"
    cmake -S "$NABLA_ROOT" -B "$NABLA_BUILD_DIR" -DCMAKE_BUILD_TYPE=Release >"$NABLA_BUILD_DIR/configure.log" 2>&1 ||
      { tail -n 30 "$NABLA_BUILD_DIR/configure.log" >&2; return 1; }
  fi
  local log="$NABLA_BUILD_DIR/build.log" line percent=0 status
  set +e
  cmake --build "$NABLA_BUILD_DIR" -j2 --target "$@" 2>&1 | tee "$log" | while IFS= read -r line; do
    if [[ $line =~ ^\[\ *([0-9]+)%\] ]]; then
      percent=${BASH_REMATCH[1]}
      printf '\rbuilding %s: %3d%%' "$*" "$percent" >&2
    fi
  done
  status=${PIPESTATUS[0]}
  set -e
  if [ "$status" -ne 0 ]; then
    printf '\nthe build failed; the end of %s:\n' "$log" >&2
    tail -n 30 "$log" >&2
    return "$status"
  fi
  printf '\rbuilding %s: done\n' "$*" >&2
}
# ---- end of issue 18's block ----------------------------------------------------------------------

# Configures (once) and builds Release with 2 jobs.
nabla_build() {
  if [ ! -f "$NABLA_BUILD_DIR/CMakeCache.txt" ]; then
    cmake -S "$NABLA_ROOT" -B "$NABLA_BUILD_DIR" -DCMAKE_BUILD_TYPE=Release "$@" >&2
  fi
  cmake --build "$NABLA_BUILD_DIR" -j2 >&2
}
