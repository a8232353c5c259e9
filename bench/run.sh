#!/usr/bin/env bash
# run.sh: dtask's benchmark suite (make bench).
#
# Every figure is the median of RUNS runs, and every figure is printed
# beside a baseline measured in the same run of this script:
#   1. anchors: a futex handoff between two processes (the physical
#      limit of a blocking cross-process call), a pipe round trip, and
#      Python's ProcessPoolExecutor null call when /usr/bin/python3 exists;
#   2. null-call round trip through dtask (LMDB queue, 1 caller, 1
#      worker): p50, p99, p99.9, against a direct call;
#   3. throughput with 1, 2 and 4 callers (as many workers);
#   4. sync-mode stub overhead per call, against a direct call.
# QUICK=1 makes a short smoke run (fewer calls, one run each).
set -euo pipefail
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$PWD/$BUILD ;; esac
B=$BUILD/bench
if [ "${QUICK:-0}" = 1 ]; then RUNS=1; N=2000; NS=200000; R=3; PPE=200
else RUNS=5; N=20000; NS=5000000; R=9; PPE=2000; fi

median() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
field() { awk -v k="$1" '$1 == k { print $2 }'; }

# runs KEY CMD...: runs CMD $RUNS times and prints the median of field KEY.
runs() {
  local key=$1
  shift
  for _ in $(seq "$RUNS"); do "$@" | field "$key"; done | median
}

echo "dtask bench: $(nproc) cores, $(uname -m), $(uname -r), median of $RUNS run(s)"
echo

futex=$(runs futex "$B/anchors" 20000)
pipe=$(runs pipe "$B/anchors" 20000)
ppe="n/a"
if [ -x /usr/bin/python3 ]; then ppe=$(runs ppe /usr/bin/python3 bench/ppe.py "$PPE"); fi

off() { "$BUILD/dtask" run -c bench/offload.toml -w "$1" -- "$B/roundtrip" "$1" "$2" 2>/dev/null; }
direct_p50=$(runs p50 "$B/roundtrip" 1 "$N")
p50=$(runs p50 off 1 "$N")
p99=$(runs p99 off 1 "$N")
p999=$(runs p999 off 1 "$N")

echo "| one blocking call to another process (round trip) | p50 (us) |"
echo "|---|---:|"
echo "| futex handoff in shared memory (the physical limit) | $futex |"
echo "| pipe pair | $pipe |"
echo "| dtask, LMDB queue, 1 caller, 1 worker | $p50 |"
echo "| Python ProcessPoolExecutor, null function | $ppe |"
echo "| (direct call, no process boundary) | $direct_p50 |"
echo
echo "dtask null call, 1 caller x 1 worker: p50 $p50 us, p99 $p99 us, p99.9 $p999 us"
echo
echo "| callers = workers | dtask calls/s | direct calls/s |"
echo "|---:|---:|---:|"
for c in 1 2 4; do
  t=$(runs throughput off "$c" "$N")
  d=$(runs throughput "$B/roundtrip" "$c" "$N")
  echo "| $c | $t | $d |"
done
echo

direct=$("$B/sync_overhead" "$NS" "$R")
sync=$(DTASK_CONFIG=bench/sync.toml DTASK_MODE=sync LD_PRELOAD="$BUILD/libdtask_shim.so" \
  "$B/sync_overhead" "$NS" "$R")
echo "| sync-mode stub, per call | direct (ns) | through the stub (ns) | overhead (ns) |"
echo "|---|---:|---:|---:|"
for f in bn_add bn_mix; do
  d=$(echo "$direct" | field $f)
  s=$(echo "$sync" | field $f)
  echo "| $f | $d | $s | $(awk -v a="$s" -v b="$d" 'BEGIN { printf "%.2f", a - b }') |"
done
