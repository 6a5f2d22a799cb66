#!/bin/sh
# Runs the libFuzzer targets built by tests/fuzz/build.sh.
#
#   tests/fuzz/run.sh BUILD_DIR            regression: every target over its
#                                          checked-in corpus, each input once
#   tests/fuzz/run.sh BUILD_DIR SECONDS    fuzz each target for SECONDS
#   TARGETS="http_request_fuzz" tests/fuzz/run.sh BUILD_DIR 600   just one
#
# Fuzzing starts from corpus/<target>/ and writes what it learns to
# BUILD_DIR/fuzz-work/<target>/corpus (the checked-in corpus is only read);
# a crasher lands in BUILD_DIR/fuzz-work/<target>/ as crash-*, leak-*,
# timeout-* or oom-*. Once fixed, copy it into corpus/<target>/ as a
# regression input. Exits non-zero when any target crashed.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
if [ $# -lt 1 ]; then
  echo "usage: $0 BUILD_DIR [SECONDS]" >&2
  exit 2
fi
BUILD_DIR=$(cd "$1" && pwd)
SECONDS_EACH=${2:-}
TARGETS=${TARGETS:-"config_fuzz target_acl_fuzz basic_auth_fuzz v3_request_fuzz http_request_fuzz grpc_request_fuzz grpc_stream_fuzz auth_token_fuzz nginx_import_fuzz"}
# Per-input time and memory limits: a slow or greedy input is a finding too.
COMMON="-timeout=10 -rss_limit_mb=2048 -print_final_stats=1"

failed=""
for target in $TARGETS; do
  bin="$BUILD_DIR/tests/fuzz/$target"
  corpus="$HERE/corpus/$target"
  work="$BUILD_DIR/fuzz-work/$target"
  if [ ! -x "$bin" ]; then
    echo "$target: not built ($bin); run tests/fuzz/build.sh first" >&2
    failed="$failed $target"
    continue
  fi
  mkdir -p "$work/corpus"
  log="$work/last.log"
  dict=""
  if [ -f "$HERE/dicts/$target.dict" ]; then dict="-dict=$HERE/dicts/$target.dict"; fi
  if [ -z "$SECONDS_EACH" ]; then
    # shellcheck disable=SC2086
    "$bin" $COMMON -runs=0 -artifact_prefix="$work/" "$corpus" >"$log" 2>&1
  else
    # shellcheck disable=SC2086
    "$bin" $COMMON $dict -max_total_time="$SECONDS_EACH" -artifact_prefix="$work/" \
      "$work/corpus" "$corpus" >"$log" 2>&1
  fi
  status=$?
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  inputs=$(find "$corpus" -type f | wc -l)
  if [ "$status" -ne 0 ]; then
    echo "$target: FAILED (exit $status) after ${runs:-?} runs; log: $log"
    grep -E "ERROR|invariant failed|Test unit written|SUMMARY" "$log" | head -20
    failed="$failed $target"
  else
    echo "$target: ok, ${inputs} seed inputs, ${runs:-?} runs, ${speed:-?} exec/s"
  fi
done
if [ -n "$failed" ]; then
  echo "fuzz targets failed:$failed" >&2
  exit 1
fi
