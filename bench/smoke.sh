#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Runs every benchmark briefly, to show that each one builds and runs: not a measurement.
#
#   bench/smoke.sh <build-dir>
#
# Google Benchmarks run with --benchmark_min_time=0.01, the load scripts with --quick (a few
# seconds each). Exits non-zero only if something failed to run. A missing tool (wrk, nginx, the
# Beast example source) or binary is reported and skipped; nothing is installed.
set -uo pipefail

if (($# != 1)); then
  echo "usage: bench/smoke.sh <build-dir>" >&2
  exit 64
fi
build=$(cd "$1" && pwd) || exit 66
here=$(cd "$(dirname "$0")" && pwd)
export LIFETIME_BENCH_CACHE=${LIFETIME_BENCH_CACHE:-$build/bench-cache}

failed=()
started=$SECONDS

step() {
  local name=$1
  shift
  local t=$SECONDS
  echo "=== $name"
  if "$@"; then
    echo "--- $name: ok ($((SECONDS - t)) s)"
  else
    echo "--- $name: FAILED (exit $?)"
    failed+=("$name")
  fi
}

google_benchmark() {
  local binary=$1
  if [[ ! -x $binary ]]; then
    echo "$(basename "$binary"): not built in $build: skipped"
    return 0
  fi
  if [[ $(basename "$binary") == lifetime_disconnect_bench ]]; then
    "$binary" 10  # not a Google Benchmark: its argument is the number of rounds
  else
    "$binary" --benchmark_min_time=0.01
  fi
}

google_benchmark_named() {
  local name=$1 found
  found=$(find "$build" -type f -name "$name" -perm -u+x 2>/dev/null | head -1)
  google_benchmark "${found:-$build/bench/$name}"
}

token_ratios() {
  local found
  found=$(find "$build" -type f -name lifetime_token_bench -perm -u+x 2>/dev/null | head -1)
  if [[ -z $found ]]; then
    echo "lifetime_token_bench: not built in $build: skipped"
    return 0
  fi
  if [[ -f $here/token_ratios.py ]]; then
    python3 "$here/token_ratios.py" --binary "$found" --repetitions 1 --min-time 0.01
  else
    google_benchmark "$found"
  fi
}

step lifetime_token_bench token_ratios
step lifetime_bookkeeping_bench google_benchmark_named lifetime_bookkeeping_bench
step lifetime_capi_bench google_benchmark_named lifetime_capi_bench

demo=$build/demo/lifetime-demo
if [[ -x $demo ]]; then
  export LIFETIME_DEMO=$demo
else
  echo "lifetime-demo not built in $build: the load scripts measure what they can without it"
  export LIFETIME_DEMO=
fi

step throughput.sh "$here/http/throughput.sh" --quick ${LIFETIME_DEMO:+--demo "$LIFETIME_DEMO"}
step disconnect_latency.py python3 "$here/http/disconnect_latency.py" --quick --no-install
step lifetime_disconnect_bench google_benchmark_named lifetime_disconnect_bench
step shutdown.py python3 "$here/http/shutdown.py" --quick
step memory.py python3 "$here/http/memory.py" --quick
stream_server=$build/bench/http/lifetime_stream_server
[[ -x $stream_server ]] || stream_server=
step streams.py python3 "$here/http/streams.py" --quick ${stream_server:+--server "$stream_server"}
step restart.py python3 "$here/http/restart.py" --quick
step upgrade.py python3 "$here/http/upgrade.py" --quick
step rolling_restart.py python3 "$here/http/rolling_restart.py" --quick --listener handed --no-install

echo "=== smoke run took $((SECONDS - started)) s"
if ((${#failed[@]})); then
  echo "failed to run: ${failed[*]}" >&2
  exit 1
fi
