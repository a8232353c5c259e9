#!/usr/bin/env bash
# demo/run.sh: the README's main demo (make demo).
#
# An unmodified program, `reports`, calls build_report() from
# libreport.so, which waits 0.5 s per report (simulated database work).
# It runs three ways: without dtask, under the shim in sync mode, and
# offloaded with `dtask run` to a pool of 5 runner workers over the
# embedded LMDB queue.  The report lines must be identical in all three;
# the timings are printed side by side.  Then `legacy`, whose library
# serializes every call behind one global lock, runs without and with
# dtask: offloaded, each worker process has its own lock.
#
# Two layouts.  In the source tree (make demo): the programs in
# $BUILD/demo, the commands and the shim in $BUILD, the config
# demo/dtask.toml.  Installed (make install puts this script, the
# programs and dtask.toml in $(LIBDIR)/dtask/demo): everything beside
# this script, `dtask` from PATH and the shim preloaded by its bare name,
# libdtask_shim.so, found by the dynamic loader.  DTASK, SHIM, DEMO and
# CFG override either.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
if [ -x "$here/reports" ] && [ -f "$here/dtask.toml" ]; then
  DEMO=${DEMO:-$here}
  DTASK=${DTASK:-dtask}
  SHIM=${SHIM:-libdtask_shim.so}
  CFG=${CFG:-$here/dtask.toml}
else
  BUILD=${BUILD:-build}
  case $BUILD in /*) ;; *) BUILD=$PWD/$BUILD ;; esac
  DEMO=${DEMO:-$BUILD/demo}
  DTASK=${DTASK:-$BUILD/dtask}
  SHIM=${SHIM:-$BUILD/libdtask_shim.so}
  CFG=${CFG:-$here/dtask.toml}
fi
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

echo "== dtask check $CFG --binary $DEMO/reports"
"$DTASK" check "$CFG" --binary "$DEMO/reports" | sed -n '/offload build_report/,/offload legacy/p' | sed '$d'
echo

echo "== reports: without dtask"
"$DEMO/reports" >"$T/plain.out"
cat "$T/plain.out"
echo
echo "== reports: DTASK_MODE=sync (interposed, run inline)"
DTASK_CONFIG=$CFG DTASK_MODE=sync LD_PRELOAD="$SHIM" \
  "$DEMO/reports" >"$T/sync.out"
echo "== reports: dtask run -w 5 (offloaded to 5 runner workers)"
"$DTASK" run -c "$CFG" -w 5 -- "$DEMO/reports" >"$T/off.out" 2>"$T/off.err"
cat "$T/off.err"
echo

for run in sync off; do
  if [ "$(grep '^report' "$T/plain.out")" != "$(grep '^report' "$T/$run.out")" ]; then
    echo "demo: the $run run printed different reports:" >&2
    diff "$T/plain.out" "$T/$run.out" >&2 || true
    exit 1
  fi
done
echo "report lines: identical in all three runs ($(grep -c '^report' "$T/plain.out") each)"
t() { awk -v k="$2" '$1 == "time" && $2 == k { print $3 " s" }' "$T/$1.out"; }
printf '\n%-34s %-20s %-12s %s\n' "reports" "5 calls in a row" "5 threads" "1 batch call of 5"
printf '%-34s %-20s %-12s %s\n' "without dtask" "$(t plain sequential)" "$(t plain threads)" "$(t plain batch)"
printf '%-34s %-20s %-12s %s\n' "DTASK_MODE=sync" "$(t sync sequential)" "$(t sync threads)" "$(t sync batch)"
printf '%-34s %-20s %-12s %s\n' "offloaded, 5 workers" "$(t off sequential)" "$(t off threads)" "$(t off batch)"
echo
echo "A caller blocks by design: five calls in a row stay about 5 x 0.5 s"
echo "offloaded too; what dtask adds per call is its round trip (see the"
echo "p50 above and make bench), and five threads take about 0.5 s either way."
echo "The batch call is split (split = { over = \"n\" }): its five slices run"
echo "on the five workers at once, so one call of a single-threaded program"
echo "takes about 0.5 s instead of 2.5 s."
echo

echo "== legacy: 5 threads call a library that holds one global lock per call"
"$DEMO/legacy" >"$T/lplain.out"
"$DTASK" run -c "$CFG" -w 5 -- "$DEMO/legacy" >"$T/loff.out" 2>"$T/loff.err"
cat "$T/loff.err"
if [ "$(grep '^lookup' "$T/lplain.out")" != "$(grep '^lookup' "$T/loff.out")" ]; then
  echo "demo: the offloaded legacy run printed different lookups" >&2
  diff "$T/lplain.out" "$T/loff.out" >&2 || true
  exit 1
fi
grep '^lookup' "$T/lplain.out"
echo "lookup lines: identical with and without dtask"
printf '\n%-34s %s\n' "legacy" "5 threads"
printf '%-34s %s\n' "without dtask (one lock)" "$(t lplain threads)"
printf '%-34s %s\n' "offloaded, 5 workers (5 locks)" "$(t loff threads)"
