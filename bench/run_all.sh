#!/usr/bin/env bash
# Runs every benchmark against the build in $1 (default build-bench). Each
# prints `name value unit` lines; a failing one is reported and the rest run.
set -uo pipefail
BUILD=${1:-build-bench}
cd "$(dirname "$0")/.."
export RIGWATCH_SOURCE_DIR=$PWD RIGWATCH_BUILD_DIR=$PWD/$BUILD
status=0
run() {
  echo "== $*"
  if ! timeout 600 "$@"; then echo "!! failed: $*"; status=1; fi
}
run /usr/bin/python3 bench/host_metrics_bench.py
run "$BUILD/bench/metrics_bench" 10000 5
run /usr/bin/python3 bench/fleet_bench.py
for b in "$BUILD"/bench/*/*_bench; do
  [ -x "$b" ] && run "$b"
done
for s in bench/*/*_bench.py; do
  [ -f "$s" ] && run /usr/bin/python3 "$s"
done
exit $status
