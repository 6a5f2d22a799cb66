#!/bin/sh
# Builds the libFuzzer targets of tests/fuzz/ in BUILD_DIR (default
# build-fuzz): a separate CMake configure of the whole project with clang,
# every library instrumented for coverage and built with ASan + UBSan.
#
#   tests/fuzz/build.sh [BUILD_DIR]
set -eu
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD_DIR=${1:-$ROOT/build-fuzz}
mkdir -p "$BUILD_DIR"
CC=${CC_FUZZ:-clang} CXX=${CXX_FUZZ:-clang++} cmake -S "$ROOT" -B "$BUILD_DIR" \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DTLSPROXY_TESTS=OFF -DTLSPROXY_FUZZ=ON -DTLSPROXY_SANITIZE=ON \
  -DCMAKE_C_FLAGS=-fsanitize=fuzzer-no-link -DCMAKE_CXX_FLAGS=-fsanitize=fuzzer-no-link \
  >"$BUILD_DIR/configure.log" 2>&1 || { cat "$BUILD_DIR/configure.log" >&2; exit 1; }
cmake --build "$BUILD_DIR" --target fuzz_targets -j "$(nproc)"
