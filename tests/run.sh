#!/bin/sh
# run.sh: runs dtask's test suite and prints one total line at the end.
#
# Usage: BUILD=build sh tests/run.sh UNIT_TEST_BINARY...
# Each unit test is a cmocka program, $BUILD/tests/<area>/test_* (built
# from tests/<area>/test_*.c); its own summary is shown and its counts
# (passed, failed, skipped) are added up.  Then every
# tests/integration/*.sh runs; each prints "N passed, N failed, N skipped"
# as its last line.  A program that dies before its summary counts as one
# failure, so a crash can never pass silently.  A skipped test is counted
# as skipped, never as passed, and names its reason ("# SKIP REASON");
# every skip is listed again before the total.  With DTASK_NO_SKIP=1 in
# the environment (CI, which has root and every package) a skip is a
# failure: the programs fail their own skips, and any skip a program
# still reports is counted here as a failure.  The last line is
# "N passed, N failed, N skipped" for the whole suite; the exit status is
# 1 if anything failed or if no test passed at all.
set -u
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$PWD/$BUILD ;; esac
export BUILD
NO_SKIP=${DTASK_NO_SKIP:-0}
passed=0
failed=0
skipped=0
log=$(mktemp)
skips=$(mktemp)
trap 'rm -f "$log" "$skips"' EXIT

count() { # $1: file with output; sets p, f and s from cmocka or plain lines
  p=$(sed -n 's/^\[  PASSED  \] \([0-9][0-9]*\) test.*/\1/p' "$1" | tail -n 1)
  f=$(sed -n 's/^\[  FAILED  \] \([0-9][0-9]*\) test.*/\1/p' "$1" | tail -n 1)
  s=$(sed -n 's/^\[  SKIPPED \] \([0-9][0-9]*\) test.*/\1/p' "$1" | tail -n 1)
  if [ -z "$p" ] && [ -z "$f" ] && [ -z "$s" ]; then
    line=$(grep -E '^([A-Za-z]+: )?[0-9]+ passed, [0-9]+ failed' "$1" | tail -n 1)
    p=$(echo "$line" | sed -n 's/^.*\b\([0-9][0-9]*\) passed.*/\1/p')
    f=$(echo "$line" | sed -n 's/^.*passed, \([0-9][0-9]*\) failed.*/\1/p')
    s=$(echo "$line" | sed -n 's/^.*failed, \([0-9][0-9]*\) skipped.*/\1/p')
  fi
}

run_one() { # $1: label, then the command
  label=$1
  shift
  echo "=== $label"
  "$@" >"$log" 2>&1
  rc=$?
  cat "$log"
  count "$log"
  p=${p:-0}
  f=${f:-0}
  s=${s:-0}
  # The skips' reasons: TAP's "ok - DESC # SKIP REASON", and the
  # "# SKIP test_name: REASON" line of the cmocka tests' skip_because.
  grep -E '^(ok - .*)?# SKIP ' "$log" | sed "s|^|  $label: |" >>"$skips"
  if [ "$s" -gt 0 ] && [ "$NO_SKIP" = 1 ]; then
    echo "--- $label skipped $s test(s), and DTASK_NO_SKIP=1 counts a skip as a failure"
    f=$((f + s))
    s=0
  fi
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
    echo "--- $label exited with status $rc without reporting a failure; counted as one failure"
    f=1
  fi
  if [ "$p" -eq 0 ] && [ "$f" -eq 0 ] && [ "$s" -eq 0 ]; then
    echo "--- $label ran no test; counted as one failure"
    f=1
  fi
  passed=$((passed + p))
  failed=$((failed + f))
  skipped=$((skipped + s))
}

for bin in "$@"; do
  name=${bin##*/tests/} # area/test_name
  case "$name" in
    runner/test_elf_file) fx="$BUILD/fixtures/elf" ;;
    shim/test_got) fx="$BUILD/fixtures/got" ;;
    *) fx="$BUILD/fixtures" ;;
  esac
  run_one "$name" env DTASK_FIXTURE_DIR="$fx" DTASK_BUILD="$BUILD" "$bin"
done

for script in tests/integration/*.sh; do
  [ -e "$script" ] || continue
  run_one "$(basename "$script")" bash "$script"
done

echo
if [ -s "$skips" ]; then
  if [ "$NO_SKIP" = 1 ]; then
    echo "skips, each counted as a failure (DTASK_NO_SKIP=1):"
  else
    echo "skipped (with DTASK_NO_SKIP=1 each would be a failure):"
  fi
  cat "$skips"
fi
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
