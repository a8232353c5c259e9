#!/bin/sh
# run.sh: dtask's benchmark suite (make bench).
#
# Today it measures what is built: the per-call cost of a sync-mode stub
# against a direct call of the same function, in the same run.  Each
# figure is the median of R rounds of N calls (the program computes the
# median), and the direct-call baseline is measured right before.  The
# offload benchmarks (round trip, throughput, argument sizes, anchors)
# arrive with the offload path.  QUICK=1 makes a short smoke run.
set -eu
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$PWD/$BUILD ;; esac
B=$BUILD/bench
if [ "${QUICK:-0}" = 1 ]; then N=200000; R=3; else N=5000000; R=9; fi

direct=$("$B/sync_overhead" "$N" "$R")
sync=$(DTASK_CONFIG=bench/sync.toml DTASK_MODE=sync LD_PRELOAD="$BUILD/libdtask_shim.so" \
  "$B/sync_overhead" "$N" "$R")

echo "sync-mode stub overhead, median of $R rounds x $N calls ($(nproc) cores, $(uname -m))"
echo
echo "| function | direct call (ns) | through dtask sync stub (ns) | overhead (ns) |"
echo "|---|---:|---:|---:|"
for f in bn_add bn_mix; do
  d=$(echo "$direct" | awk -v f=$f '$1 == f { print $2 }')
  s=$(echo "$sync" | awk -v f=$f '$1 == f { print $2 }')
  o=$(awk -v a="$s" -v b="$d" 'BEGIN { printf "%.2f", a - b }')
  echo "| $f | $d | $s | $o |"
done
