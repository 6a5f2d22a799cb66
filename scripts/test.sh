#!/bin/sh
# The whole test suite: unit tests and integration tests (a real etcd and
# the real proxy binary on loopback), built with AddressSanitizer and
# UndefinedBehaviorSanitizer in build-test/. Exits non-zero on any failure.
set -eu

cd "$(dirname "$0")/.."

./scripts/install-deps.sh

cmake -S . -B build-test -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTLSPROXY_SANITIZE=ON
cmake --build build-test -j2

# Any sanitizer report fails the process that made it (the proxy under test
# then exits non-zero, which the integration tests check on every stop).
ASAN_OPTIONS="halt_on_error=1:abort_on_error=0:detect_leaks=1:detect_stack_use_after_return=1:strict_string_checks=1:check_initialization_order=1"
UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
LSAN_OPTIONS="exitcode=23"
export ASAN_OPTIONS UBSAN_OPTIONS LSAN_OPTIONS

# Each test is its own process with its own etcd, proxy, ports and temporary
# directories, so tests can run in parallel.
ctest --test-dir build-test --output-on-failure -j2 --timeout 900

# The libFuzzer targets (clang, ASan, UBSan), each run over its checked-in
# corpus (regression inputs included). Longer fuzzing: tests/fuzz/README.md.
tests/fuzz/build.sh build-fuzz-test
tests/fuzz/run.sh build-fuzz-test
