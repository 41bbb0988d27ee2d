#!/usr/bin/env bash
# scripts/mnist (issue 18): builds only mnist_cnn and the libraries, says each stage with the build's
# percentage, and trains. Run by CTest against the already-built tree: the build step is then a
# quick no-op, and a short run (--epochs 1 --limit 500) checks the rest. Exit 77 = skipped (no MNIST).
set -euo pipefail
source_dir="$1" build_dir="$2" work="$3"
data="$source_dir/../shared/data/mnist"
[ -f "$data/train-images-idx3-ubyte.gz" ] || { echo "MNIST not found at $data; skipping"; exit 77; }
rm -rf "$work" && mkdir -p "$work"
NABLA_SKIP_INSTALL=1 NABLA_BUILD_DIR="$build_dir" OUT="$work/out" \
  "$source_dir/scripts/mnist" --epochs 1 --limit 500 --data "$data" >"$work/stdout" 2>"$work/stderr"
fail() { echo "FAILED: $*"; echo "--- stderr"; cat "$work/stderr"; echo "--- stdout"; cat "$work/stdout"; exit 1; }
grep -q '^\[1/3\] checking the Debian packages' "$work/stderr" || fail "no installing stage"
grep -q '^\[2/3\] building mnist_cnn and the nabla libraries' "$work/stderr" || fail "no building stage"
grep -q 'building mnist_cnn: done' "$work/stderr" || fail "no end of the build"
grep -q '^\[3/3\] training' "$work/stderr" || fail "no training stage"
grep -q 'test accuracy' "$work/stdout" || fail "no training report"
# Only mnist_cnn (and what it needs) was asked of the build: the log names no test binary.
if grep -E 'Built target (test_|extract_snippets|nabla-bench)' "$build_dir/build.log"; then fail "built more than mnist_cnn"; fi
grep -q 'Built target mnist_cnn' "$build_dir/build.log" || fail "the build log does not show mnist_cnn"
[ -f "$work/out/curves.png" ] || fail "no pictures in OUT"
echo "scripts/mnist: stages, targeted build and a short training run are as expected"
