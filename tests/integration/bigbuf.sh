#!/bin/bash
# bigbuf.sh: integration tests of big buffers travelling through the
# caller threads' arenas (queue/arena.c, shim/bigbuf.c, runner/worker.c),
# on real processes: `dtask run` pools for tests/fixtures/bigbuf's
# bbprog, whose every call checks every byte it gets back.
#
#   a. in, out and inout buffers of 1 MiB, 3 rounds: all right, offloaded;
#      an out buffer the function half writes comes back half zeros, after
#      calls that left other bytes in the arena;
#   b. sizes around the arena's threshold (64 KiB) and beyond, from
#      unaligned pointers, nothing written past an out buffer;
#   c. 4 threads x 10 calls of 300000 bytes at once, each its own arena;
#   d. a fork: parent and child both call at once, each its own arena;
#   e. a worker that scribbles over its in buffer and dies is retried
#      (on_crash = "retry"), and the retry reads the caller's bytes;
#   f. while a call of 1 MiB is held in a worker, the caller's arena file
#      is there (arena.SLOT, 0600, >= 2 MiB of data), and dtask status
#      shows it (--json's arenas and arena_bytes, --prometheus's
#      dtask_queue_arena_bytes); after the program exits none is left;
#   g. control for f: a call of 4 KiB makes no arena;
#   h. a caller killed during its call: the pool's sweep unlinks its
#      arena, and the worker lets go of its mapping when idle;
#   i. the queue's filesystem too full for an arena: the call goes
#      through its record (or inline), right, no crash (needs root, to
#      mount a small tmpfs in a private mount namespace);
#   j. a call whose answer is refused (a forged answer for another call,
#      from qtool) while a worker may still hold it lets go of its arena;
#      its retry (on_crash = "retry") makes a new one and is right, and
#      the caller does not crash writing into the old one;
#   k. a thread's arena file removed under it: the worker refuses the
#      next call (it runs inline, once), and the thread's following calls
#      make a new arena and are offloaded again;
#   l. a caller that exec's another program after a big call: the pool's
#      sweep unlinks its arena, which the new program no longer maps;
#   m. a program that exits while threads that made big calls still run:
#      no arena is left (the exit unlinks every one of the process's).
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
QTOOL=$BUILD/fixtures/qtool
BB=$BUILD/fixtures/bigbuf
PROG=$BB/bbprog
need_built "dtask, the shim and the bigbuf fixtures are built" "make all" \
  "$DTASK" "$SHIM" "$PROG" "$QTOOL" "$BB/libbb.so" \
  tests/fixtures/bigbuf/bb.toml
BBTOML=$PWD/tests/fixtures/bigbuf/bb.toml

if [ -z "${SANITIZE:-}" ] || [ "$SANITIZE" = 0 ]; then
  SANITIZE=0
  grep -qa 'libasan\.so' "$SHIM" && SANITIZE=1
fi
# ASan's own signal handlers stay on, as they always have here.
ASAN_HANDLERS=asan
# shellcheck source=tests/integration/asanfx.bash
. "$(dirname "$0")/asanfx.bash"
CLEAN=("${CLEAN_DTASK[@]}" -u BB_HOLD -u BB_CRASH)

scratch_dir bigbuf /dev/shm
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

# config FILE QUEUE-PATH [MAP-SIZE]: bb.toml with its queue at QUEUE-PATH.
config() {
  {
    cat "$BBTOML"
    printf '\n[queue]\npath = "%s"\n' "$2"
    [ -n "${3:-}" ] && printf 'map_size = "%s"\n' "$3"
    printf '\n[runner]\nautostart = false\n'
    printf '\n[defaults]\nwait_for_runner = "2s"\n'
  } >"$1"
}
cfg=$root/c.toml
config "$cfg" "$root/q"

# pool OUT [VAR=VALUE...] -- PROG-ARGS...: dtask run -w 2 with info logs.
pool() {
  local o=$1
  shift
  split_at_dashes "$@"
  timeout 120 env "${CLEAN[@]}" "${LAUNCH_ENV[@]}" DTASK_LOG=info \
    "${VARS[@]}" "$DTASK" run -c "$cfg" -w 2 -- "$PROG" "${CMD[@]}" \
    >"$o.out" 2>"$o.err"
  echo $? >"$o.rc"
}

# right OUT PATTERN: the run exited 0 and its output has PATTERN.
right() { [ "$(cat "$1.rc")" = 0 ] && grep -q "$2" "$1.out"; }

# arenas: the arena files of the queue (its image's directory).
arenas() { find "$root/q" -name 'arena.*' -type f 2>/dev/null; }

# wait_for FILE: until FILE exists, at most 20 s.
wait_for() {
  for _ in $(seq 400); do
    [ -e "$1" ] && return 0
    sleep 0.05
  done
  return 1
}

# ------------------------------------------------ a-d. the bytes are right
pool "$root/a" -- check 1048576 3
right "$root/a" 'check: 16 calls, 0 wrong, offloaded=yes'
check $? "a. in, out and inout buffers of 1 MiB: every byte right, the half of an out buffer not written zeros, offloaded" \
  "$root/a.out" "$root/a.err"
pool "$root/b" -- sizes
right "$root/b" 'sizes: 30 calls, 0 wrong'
check $? "b. sizes from 0 to 3 MiB, unaligned, nothing written past a buffer" \
  "$root/b.out" "$root/b.err"
pool "$root/c" -- threads 4 10 300000
right "$root/c" 'threads: 40 calls, 0 wrong'
check $? "c. 4 threads x 10 calls of 300000 bytes at once: all right" \
  "$root/c.out" "$root/c.err"
pool "$root/d" -- fork 5 200000
right "$root/d" 'fork: parent 6 calls, 0 wrong' &&
  grep -q 'fork: child 5 calls, 0 wrong' "$root/d.out"
check $? "d. after fork, parent and child call at once: all right" \
  "$root/d.out" "$root/d.err"
[ -z "$(arenas)" ]
check $? "a-d. no arena file is left once the programs have exited" \
  <(arenas)
pool "$root/m" -- leave 3 300000
right "$root/m" 'leave: 3 calls, 0 wrong' && [ -z "$(arenas)" ]
check $? "m. a program that exits while 3 threads that made big calls still run leaves no arena" \
  "$root/m.out" "$root/m.err" <(arenas)

# ------------------------------------- e. a crash after scribbling: retry
touch "$root/crash"
pool "$root/e" BB_CRASH="$root/crash" -- crash 1048576
right "$root/e" 'crash: 1 calls, 0 wrong' && [ ! -e "$root/crash" ] &&
  grep -q 'retry 1 of 2' "$root/e.err"
check $? "e. a worker that overwrote its in buffer and died: the retry read the caller's bytes" \
  "$root/e.out" "$root/e.err"

# ------------------------------------ f-g. the arena file while a call runs
# held OUT SIZE: bbprog hold SIZE under a pool, in the background; sets HP.
held() {
  rm -f "$root/h" "$root/h.started"
  pool "$1" BB_HOLD="$root/h" -- hold "$2" &
  HP=$!
  wait_for "$root/h.started"
}
held "$root/f" 1048576
files=$(arenas)
n=$(printf '%s' "$files" | grep -c .)
ok_f=1
if [ "$n" = 1 ]; then
  mode=$(stat -c %a "$files")
  size=$(stat -c %s "$files")
  [ "$mode" = 600 ] && [ "$size" -ge $((4096 + 2 * 1048576)) ] &&
    [[ ${files##*/} =~ ^arena\.[0-9]+$ ]] && ok_f=0
fi
timeout 20 env "${CLEAN[@]}" "$DTASK" status -c "$cfg" --json \
  >"$root/f.json" 2>"$root/f.jerr"
timeout 20 env "${CLEAN[@]}" "$DTASK" status -c "$cfg" --prometheus \
  >"$root/f.prom" 2>>"$root/f.jerr"
touch "$root/h"
wait "$HP"
check $ok_f "f. while a call of 1 MiB runs, its thread's arena is there ($n file: ${files##*/}, mode ${mode:-?}, ${size:-?} bytes)"
ab=$(sed -n 's/.*"arenas":1,"arena_bytes":\([0-9]*\).*/\1/p' "$root/f.json")
pb=$(awk '$1 ~ /^dtask_queue_arena_bytes[{]/ { print $2 }' "$root/f.prom")
[ "${ab:-0}" -ge $((2 * 1048576)) ] && [ "${pb:-0}" = "$ab" ]
check $? "f. dtask status shows the arena: 1 file of $ab bytes (--json), $pb (--prometheus)" \
  "$root/f.json" "$root/f.jerr"
right "$root/f" 'hold: 1 calls, 0 wrong' && [ -z "$(arenas)" ]
check $? "f. the held call was right, and its arena is gone after the program" \
  "$root/f.out" "$root/f.err"
held "$root/g" 4096
n=$(arenas | grep -c .)
touch "$root/h"
wait "$HP"
[ "$n" = 0 ] && right "$root/g" 'hold: 1 calls, 0 wrong'
check $? "g. control: a call of 4 KiB travels in its record, no arena ($n files)" \
  "$root/g.out" "$root/g.err"

# --------------------------------- h. a caller killed during its call
rm -f "$root/h" "$root/h.started"
RUNNER=$BUILD/dtask-runner
timeout 120 env "${CLEAN[@]}" "${LAUNCH_ENV[@]}" BB_HOLD="$root/h" \
  "$RUNNER" -c "$cfg" -w 1 -- "$PROG" >"$root/hpool.out" \
  2>"$root/hpool.err" &
hpool=$!
for _ in $(seq 200); do
  [ -e "$root/q" ] && find "$root/q" -name bell | grep -q . && break
  sleep 0.05
done
env "${CLEAN[@]}" LD_PRELOAD="$PRELOAD" DTASK_CONFIG="$cfg" \
  ASAN_OPTIONS=detect_leaks=0 timeout 60 "$PROG" hold 1048576 \
  >"$root/hc.out" 2>"$root/hc.err" &
caller=$!
wait_for "$root/h.started"
before=$(arenas | grep -c .)
kill -KILL "$caller"
wait "$caller" 2>/dev/null
touch "$root/h" # the worker finishes, into the dead caller's arena
gone=1
for _ in $(seq 100); do
  [ -z "$(arenas)" ] && gone=0 && break
  sleep 0.1
done
[ "$before" = 1 ] && [ "$gone" = 0 ]
check $? "h. the arena of a caller killed during its call ($before file) is unlinked by the pool's sweep" \
  "$root/hc.err" "$root/hpool.err"
# mapped: how many processes of this test still map a deleted arena.
mapped() {
  local d n=0
  for d in /proc/[0-9]*; do
    grep -qaF -e "$root/" "$d/environ" 2>/dev/null || continue
    grep -q 'arena\.[0-9]* (deleted)' "$d/maps" 2>/dev/null && n=$((n + 1))
  done
  echo "$n"
}
m=1
for _ in $(seq 60); do
  m=$(mapped)
  [ "$m" = 0 ] && break
  sleep 0.1
done
[ "$m" = 0 ]
check $? "h. the worker lets go of the dead caller's arena when idle ($m processes map it)"
# l. A caller that exec's after its call: its thread lives on (the
# same pid and tid), but the program it became no longer maps the arena.
env "${CLEAN[@]}" LD_PRELOAD="$PRELOAD" DTASK_CONFIG="$cfg" \
  ASAN_OPTIONS=detect_leaks=0 timeout 60 "$PROG" exec 1048576 8 \
  >"$root/l.out" 2>"$root/l.err" &
lp=$!
for _ in $(seq 200); do
  grep -q 'exec: 1 calls' "$root/l.out" 2>/dev/null && break
  sleep 0.05
done
made=$(arenas | grep -c .)
gone=1
for _ in $(seq 100); do
  [ -z "$(arenas)" ] && gone=0 && break
  sleep 0.05
done
kill -0 "$lp" 2>/dev/null
alive=$?
right_l=1
grep -q 'exec: 1 calls, 0 wrong' "$root/l.out" && right_l=0
[ "$right_l" = 0 ] && [ "$made" = 1 ] && [ "$gone" = 0 ] && [ "$alive" = 0 ]
check $? "l. the arena of a caller that exec'd ($made file) is unlinked by the sweep while the process runs on" \
  "$root/l.out" "$root/l.err"
kill "$lp" 2>/dev/null
wait "$lp" 2>/dev/null
kill -TERM "$hpool" 2>/dev/null
wait "$hpool" 2>/dev/null

# ------------------------------ i. no room for an arena on the filesystem
if [ "$(id -u)" != 0 ] || ! unshare -m true 2>/dev/null; then
  skip "i. a filesystem too full for an arena: the call is still right" \
    "needs root and a mount namespace, to mount a small tmpfs"
else
  mkdir -p "$root/small"
  config "$root/small.toml" "$root/small/q" "4MiB"
  # shellcheck disable=SC2016  # $1 and $@ are the inner sh's
  timeout 120 env "${CLEAN[@]}" "${LAUNCH_ENV[@]}" DTASK_LOG=info \
    unshare -m --propagation private sh -c \
    'mount -t tmpfs -o size=3m,mode=700 tmpfs "$1" && shift && exec "$@"' \
    sh "$root/small" "$DTASK" run -c "$root/small.toml" -w 1 -- \
    "$PROG" sizes >"$root/i.out" 2>"$root/i.err"
  echo $? >"$root/i.rc"
  right "$root/i" 'sizes: 30 calls, 0 wrong' &&
    grep -q 'No space left on device' "$root/i.err" &&
    grep -q 'its buffers go in the record instead' "$root/i.err"
  check $? "i. no room for an arena (a 3 MiB tmpfs): said, the calls still right" \
    "$root/i.out" "$root/i.err"
fi

# ------------------------- j. a refused answer, then a retry: a new arena
{
  cat "$BBTOML"
  printf '\n[[offload]]\nsignature = "int tr_add(int a, int b)"\n'
  printf '\n[queue]\npath = "%s"\n\n[runner]\nautostart = false\n' "$root/qj"
  printf '\n[defaults]\nwait_for_runner = "1s"\n'
} >"$root/j.toml"
env "${CLEAN[@]}" LD_PRELOAD="$PRELOAD" DTASK_CONFIG="$root/j.toml" \
  ASAN_OPTIONS=detect_leaks=0 timeout 60 "$PROG" crash 1048576 \
  >"$root/j.out" 2>"$root/j.err" &
jp=$!
QTOOL_PROG=$PROG timeout 30 env "${CLEAN[@]}" "$QTOOL" "$root/j.toml" forge badid \
  >"$root/jq.out" 2>&1
wait "$jp"
echo $? >"$root/j.rc"
right "$root/j" 'crash: 1 calls, 0 wrong' &&
  grep -q 'forged badid' "$root/jq.out" &&
  grep -q 'refused its result' "$root/j.err" &&
  grep -q 'retry 1 of 2' "$root/j.err"
check $? "j. an answer refused while a worker may hold the call: the retry makes a new arena, right, no crash (exit $(cat "$root/j.rc"))" \
  "$root/j.out" "$root/j.err" "$root/jq.out"

# ------------------------ k. the arena file removed under a live thread
pool "$root/k" -- loop 8 1048576 400 &
kp=$!
for _ in $(seq 200); do
  grep -q 'loop: call 2' "$root/k.out" 2>/dev/null && break
  sleep 0.05
done
arenas | xargs -r rm -f
wait "$kp"
gone=$(grep -c "arena .* is gone" "$root/k.err")
inline=$(grep -c 'calling it inline' "$root/k.err")
right "$root/k" 'loop: 8 calls, 0 wrong' && [ "$gone" = 1 ] &&
  [ "$inline" = 1 ]
check $? "k. an arena removed under its thread: one call refused and run inline ($gone, $inline), then a new arena" \
  "$root/k.out" "$root/k.err"

finish
