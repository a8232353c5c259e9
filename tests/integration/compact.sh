#!/bin/bash
# compact.sh: integration tests of the LMDB queue's compaction by the
# pool (queue/lmdb_compact.c, runner/supervisor.c), on real processes:
# `dtask run` pools for tests/fixtures/offload's olprog, a queue aged by
# hand with qtool (300 shared buffers of 16 KiB left by a dead caller,
# which the pool's sweep removes, leaving their pages free in the map).
#
#   a. a pool that stops while no other process has the queue open
#      rewrites it: one "compacted" line, and the map's high-water mark
#      falls from >= 4.5 MiB to < 1 MiB; the program's calls were served;
#   b. while a program still has the queue open, neither the pool's start
#      nor its stop rewrites it (no "compacted" line, the mark stays);
#      control for a and c;
#   c. the next pool, started alone with the queue, rewrites it at its
#      start, then serves the program's calls.
# dtask status --json's free_bytes shows the free pages before (>= 4 MiB)
# and after (< 1 MiB).
#
# Environment: BUILD (default build); SANITIZE=1 when the shim and the
# commands were built with ASan/UBSan (default: found out from the shim).
# Output: "ok - ..." or "not ok - ..." per check, then "N passed,
# N failed, N skipped".  Exit status 1 if any check failed.
# shellcheck disable=SC2317  # cleanup runs from the EXIT trap
set -u

# shellcheck source=tests/integration/tap.bash
. "$(dirname "$0")/tap.bash"
# shellcheck source=tests/integration/runs.bash
. "$(dirname "$0")/runs.bash"

DTASK=$BUILD/dtask
SHIM=$BUILD/libdtask_shim.so
OL=$BUILD/fixtures/offload
PROG=$OL/olprog
QTOOL=$BUILD/fixtures/qtool
export QTOOL_PROG=$PROG
need_built "dtask, the shim and the offload fixtures are built" "make all" \
  "$DTASK" "$SHIM" "$PROG" "$QTOOL" "$OL/libol.so" \
  tests/fixtures/offload/ol.toml
OLTOML=$PWD/tests/fixtures/offload/ol.toml

if [ -z "${SANITIZE:-}" ] || [ "$SANITIZE" = 0 ]; then
  SANITIZE=0
  grep -qa 'libasan\.so' "$SHIM" && SANITIZE=1
fi
# ASan's own signal handlers stay on, as they always have here.
ASAN_HANDLERS=asan
# shellcheck source=tests/integration/asanfx.bash
. "$(dirname "$0")/asanfx.bash"
CLEAN=("${CLEAN_DTASK[@]}")

scratch_dir compact /dev/shm
cleanup() {
  local d p
  for d in /proc/[0-9]*; do
    p=${d#/proc/}
    [ "$p" = $$ ] && continue
    grep -qaF -e "$root/" "$d/environ" "$d/cmdline" 2>/dev/null &&
      kill -KILL "$p" 2>/dev/null
  done
  cd / && rm -rf "$root"
}
trap cleanup EXIT

cfg=$root/c.toml
{
  cat "$OLTOML"
  printf '\n[queue]\npath = "%s"\n\n[runner]\nautostart = false\n' "$root/q"
  printf '\n[defaults]\nwait_for_runner = "50ms"\n'
} >"$cfg"

# used: the queue's map high-water mark in bytes.
used() { "$QTOOL" "$cfg" used | awk '$1 == "used" { print $2 }'; }

# age: 300 shared buffers of 16 KiB left by a dead caller (qtool exits).
age() { "$QTOOL" "$cfg" fill 300 16384 >"$root/fill.out" 2>&1; }

# pool OUT PROG-ARGS...: dtask run -w 1 with info logs.
pool() {
  local o=$1
  shift
  timeout 60 env "${CLEAN[@]}" "${LAUNCH_ENV[@]}" DTASK_LOG=info \
    "$DTASK" run -c "$cfg" -w 1 -- "$PROG" "$@" >"$o.out" 2>"$o.err"
  echo $? >"$o.rc"
}

# compacted_once OUT CASE WHEN FROM: OUT.err has exactly one "compacted"
# line, and the high-water mark is now under 1 MiB (it was FROM); sets U.
compacted_once() {
  local o=$1 c=$2 when=$3 from=$4 n
  n=$(grep -c 'compacted the LMDB queue' "$o.err")
  [ "$n" = 1 ]
  check $? "$c. the pool, alone with the queue $when, compacted it once ($n)" \
    "$o.err"
  U=$(used)
  [ "${U:-99999999}" -lt $((1024 * 1024)) ]
  check $? "$c. the high-water mark fell from $from to < 1 MiB ($U bytes)"
}

# ---------------------------------------------- a. at the pool's stop
age
u0=$(used)
[ "${u0:-0}" -ge $((4608 * 1024)) ]
check $? "a. 300 buffers of 16 KiB fill the map to >= 4.5 MiB ($u0 bytes)" \
  "$root/fill.out"
# 3 calls 700 ms apart: the pool's sweep (every second) removes the dead
# caller's buffers meanwhile.
pool "$root/a" spaced 3 700
[ "$(cat "$root/a.rc")" = 0 ] && grep -q 'call 3: offloaded=yes' "$root/a.out"
check $? "a. the program's calls were served by the pool" "$root/a.out" \
  "$root/a.err"
compacted_once "$root/a" a "when it stopped" "$u0"

# ------------------------------- b. a program holds the queue open
age
u2=$(used)
# A program that keeps the queue open across the pool's whole life: its
# calls go to the pool while there is one, then run in the caller.
env "${CLEAN[@]}" LD_PRELOAD="$PRELOAD" DTASK_CONFIG="$cfg" \
  ASAN_OPTIONS=detect_leaks=0 \
  timeout 60 "$PROG" spaced 12 400 >"$root/hold.out" 2>"$root/hold.err" &
holder=$!
for _ in $(seq 100); do
  grep -q 'call 1:' "$root/hold.out" 2>/dev/null && break
  sleep 0.05
done
pool "$root/b" spaced 3 700
[ "$(cat "$root/b.rc")" = 0 ] && grep -q 'call 3: offloaded=yes' "$root/b.out"
check $? "b. the program's calls were served by the pool" "$root/b.out" \
  "$root/b.err"
kill -0 "$holder" 2>/dev/null
check $? "b. control: the other program was still running when the pool stopped" \
  "$root/hold.out"
! grep -q 'compacted' "$root/b.err"
check $? "b. with another process using the queue, neither start nor stop compacted it" \
  "$root/b.err"
u3=$(used)
[ "${u3:-0}" -ge "$u2" ] && [ "$u3" -ge $((4608 * 1024)) ]
check $? "b. the high-water mark stays ($u2 then $u3 bytes)"
wait "$holder"
check $? "b. the other program's calls were all right" "$root/hold.out" \
  "$root/hold.err"
# free_bytes: the queue's free pages, as dtask status shows them.
free_bytes() {
  timeout 20 env "${CLEAN[@]}" "$DTASK" status -c "$cfg" --json 2>"$root/st.err" |
    sed -n 's/.*"free_bytes":\([0-9]*\).*/\1/p' | head -n 1
}
f3=$(free_bytes)
[ "${f3:-0}" -ge $((4096 * 1024)) ] && [ "$f3" -le "$u3" ]
check $? "b. dtask status --json shows the swept buffers' pages free ($f3 of $u3 bytes)" \
  "$root/st.err"

# ----------------------------------------------- c. at the pool's start
pool "$root/c" basic
grep -q 'basic: 3 calls, 0 wrong, offloaded=yes' "$root/c.out"
check $? "c. the next pool serves the program's calls" "$root/c.out" \
  "$root/c.err"
compacted_once "$root/c" c "at its start" "$u3"
f4=$(free_bytes)
[ -n "$f4" ] && [ "$f4" -lt $((1024 * 1024)) ]
check $? "c. dtask status --json shows almost nothing free after it ($f4 bytes)" \
  "$root/st.err"

finish
