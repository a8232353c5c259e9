#!/bin/bash
# trust_records.sh: what a record in the queue may decide, on real
# processes (issue 21, items 3, 4, 5 and part of 7).
#
#   a. answers forged by a process that claims a call as a worker would
#      (tests/fixtures/qtool.c forge): a crash record that says "exit 42"
#      or "SIGKILL" neither exits the caller with 42 nor kills it (only
#      the supervisor that saw a worker die reports a crash); a result for
#      another call id is refused; an unknown status is a lost call; none
#      of them runs the function again in the caller (on_crash decides:
#      here it returns -7 and EIO).  A correct forged answer is taken (the
#      control: the forging reaches the caller);
#   b. a refusal whose message holds escape sequences, a newline and a
#      bell is logged with them escaped (\xNN), and the call runs in the
#      caller once;
#   c. map_size = 4MiB and a 6 MiB out buffer: the caller refuses to queue
#      the call before any worker sees it, says why, and the function runs
#      exactly once (in the caller); a small call is still offloaded; a
#      split call whose common buffers exceed the bound runs here, whole;
#   d. a task of about 50 bytes asking for 2^27 doubles of out buffer is
#      refused by the worker (status 9) at once, without running the
#      function or allocating for it (the worker's peak RSS stays small),
#      and the pool keeps serving;
#   e. a task that names another caller's shared buffer (blob) is refused
#      as malformed and its function never runs; naming its own works;
#   f. a split whose stride overflows 64 bits: a message, and the call
#      runs in the caller, whole and right.
#
# Fixtures: tests/fixtures/trust (libtrust.so, trprog, trust.toml) and
# qtool, built into $BUILD/fixtures/.  Every queue is a fresh directory
# under one private (0700) directory in /dev/shm, removed at exit; every
# process started here is stopped at exit.  Programs run under timeout.
#
# Environment: BUILD (default build); SANITIZE=1 for the ASan build (the
# runtime is preloaded first for the callers started here).
# Output: "ok - ..." or "not ok - ..." per check, then "N passed, N
# failed, N skipped".  Exit status 1 if any check failed.
# shellcheck disable=SC2317  # cleanup runs from the EXIT trap
set -u

# shellcheck source=tests/integration/tap.bash
. "$(dirname "$0")/tap.bash"
# shellcheck source=tests/integration/runs.bash
. "$(dirname "$0")/runs.bash"

RUNNER=$BUILD/dtask-runner
SHIM=$BUILD/libdtask_shim.so
TR=$BUILD/fixtures/trust
QTOOL=$BUILD/fixtures/qtool
export QTOOL_PROG=$TR/trprog
need_built "dtask, the shim and the fixtures are built" "make all" \
  "$RUNNER" "$SHIM" "$TR/trprog" "$TR/libtrust.so" "$TR/trust.toml" \
  "$QTOOL"

# ASan's own signal handlers stay on, as they always have here.
ASAN_HANDLERS=asan
# shellcheck source=tests/integration/asanfx.bash
. "$(dirname "$0")/asanfx.bash"
# start_runner (procs.bash) starts pools of trprog, with a 120 s limit.
RUNNER_PROG=$TR/trprog
RUNNER_TMO=120
# shellcheck source=tests/integration/procs.bash
. "$(dirname "$0")/procs.bash"

CLEAN=("${CLEAN_DTASK[@]}" -u TR_LOG)

scratch_dir trust /dev/shm
started=()

cleanup() {
  local p
  for p in "${started[@]}"; do
    kill -0 "$p" 2>/dev/null && kill -TERM "$p" 2>/dev/null
  done
  sleep 0.3
  for p in "${started[@]}"; do
    kill -0 "$p" 2>/dev/null && kill -KILL "$p" 2>/dev/null
  done
  cd / && rm -rf "$root"
}
trap cleanup EXIT

# mkcfg NAME MAP_SIZE: trust.toml plus a queue in $root/NAME/q of
# MAP_SIZE and no autostart; prints its path.
mkcfg() {
  {
    cat "$TR/trust.toml"
    printf '\n[queue]\npath = "%s"\nmap_size = "%s"\n\n[runner]\n' \
      "$root/$1/q" "$2"
    echo 'autostart = false'
  } >"$root/$1.toml"
  mkdir -m 700 "$root/$1"
  echo "$root/$1.toml"
}

# tr_caller OUT CONFIG ARGS...: trprog ARGS with the shim, in the
# foreground (runs.bash's caller); the execution log is OUT.log.
tr_caller() {
  local o=$1 cfg=$2
  shift 2
  caller "$o" "$cfg" TR_LOG="$o.log" -- "$TR/trprog" "$@"
}

# tr_pid OUT: the caller's pid, from trprog's "P PID" line.
tr_pid() { sed -n 's/^P //p' "$1.out"; }

# runs_in OUT FN: how many times FN ran in the caller, and elsewhere
# (prints "CALLER OTHER").
runs_in() {
  local p
  p=$(tr_pid "$1")
  awk -v f="$2" -v p="$p" '$1 == f { if ($2 == p) c++; else o++ }
    END { printf "%d %d\n", c, o }' "$1.log" 2>/dev/null || echo "0 0"
}

# ------------------------------------------------- a, b: forged answers

CFGA=$(mkcfg a 64MiB)

# forged OUT KIND: trprog add in the background, qtool forges KIND as the
# answer to its call; waits for both.
forged() {
  local o=$1 kind=$2 cpid
  tr_caller "$o" "$CFGA" add &
  cpid=$!
  timeout 30 "$QTOOL" "$CFGA" forge "$kind" >"$o.q" 2>&1
  wait "$cpid"
}

for kind in crash42 kill unknown badid; do
  o=$root/a_$kind
  forged "$o" "$kind"
  read -r inc other < <(runs_in "$o" tr_add)
  grep -q "^forged $kind for call" "$o.q" &&
    [ "$(cat "$o.rc")" = 0 ] && grep -q '^add -7 errno 5$' "$o.out" &&
    [ "$inc" = 0 ] && ! grep -q 'exiting with status 42' "$o.err" &&
    grep -q 'not run again here' "$o.err"
  check $? "a forged '$kind' answer: the caller neither dies as it says nor runs tr_add again (on_crash returns -7, EIO; $inc runs here)" \
    "$o.q" "$o.out" "$o.err"
done

# Under on_crash = "signal" (the default), a forged crash would have made
# the caller exit with 42, or die of SIGKILL: a lost call raises SIGABRT
# instead, whatever the record says.
CFGS=$(mkcfg s 64MiB)
sed -i '/^on_crash/d' "$CFGS"
for kind in crash42:42 kill:137; do
  o=$root/s_${kind%%:*}
  tr_caller "$o" "$CFGS" add 2>/dev/null & # no "Aborted" notice from bash
  cpid=$!
  timeout 30 "$QTOOL" "$CFGS" forge "${kind%%:*}" >"$o.q" 2>&1
  wait "$cpid"
  rc=$(cat "$o.rc")
  read -r inc other < <(runs_in "$o" tr_add)
  [ "$rc" = 134 ] && [ "$inc" = 0 ] &&
    grep -q 'raising SIGABRT here (on_crash = "signal")' "$o.err"
  check $? "a on_crash = \"signal\", a forged '${kind%%:*}' answer: the caller raises SIGABRT (status $rc), not the record's ${kind#*:}, and never runs tr_add" \
    "$o.q" "$o.out" "$o.err"
done

o=$root/a_ok
forged "$o" ok
grep -q '^add 99 errno 0$' "$o.out" && [ "$(cat "$o.rc")" = 0 ]
check $? "a control: a forged answer that is well formed for the right call is taken (99), so the checks above reach the caller" \
  "$o.q" "$o.out" "$o.err"

o=$root/b_ctrl
forged "$o" ctrl
read -r inc other < <(runs_in "$o" tr_add)
esc=$(printf '\033')
bel=$(printf '\a')
grep -q '^add 5 errno 0$' "$o.out" && [ "$inc" = 1 ] &&
  grep -qF 'forged \x1b[31mRED\x1b[0m\x0afake: line\x07' "$o.err" &&
  ! grep -q "$esc" "$o.err" && ! grep -q "$bel" "$o.err" &&
  ! grep -q '^fake: line' "$o.err"
check $? "b a refusal's message is logged with its control bytes escaped, and the call runs in the caller once ($inc)" \
  "$o.out" "$o.err"

# -------------------------------- c, d, e: a pool on a 4 MiB map

CFGC=$(mkcfg c 4MiB)
if start_runner c "$CFGC" 1 TR_LOG="$root/c.exec"; then
  o=$root/c_small
  tr_caller "$o" "$CFGC" fill 1000
  grep -q '^fill 1000 ok$' "$o.out" && [ "$(grep -c tr_fill "$root/c.exec")" = 1 ]
  check $? "c control: a small call is offloaded to the pool" \
    "$o.out" "$o.err" "$root/c.exec"

  o=$root/c_big
  tr_caller "$o" "$CFGC" fill 786432 # 6 MiB of doubles
  read -r inc other < <(runs_in "$o" tr_fill)
  worker=$(grep -c tr_fill "$root/c.exec")
  grep -q '^fill 786432 ok$' "$o.out" && [ "$inc" = 1 ] && [ "$worker" = 1 ] &&
    grep -q 'cannot queue a call of tr_fill: its result would take 6291[0-9]* bytes.*before any worker runs it' "$o.err"
  check $? "c map_size 4MiB, a 6 MiB out buffer: refused before queueing, run exactly once, in the caller ($inc here, $((worker - 1)) in the pool)" \
    "$o.out" "$o.err" "$root/c.exec"

  o=$root/d_big
  t0=$(date +%s%N)
  timeout 30 "$QTOOL" "$CFGC" bigout 134217728 >"$o.q" 2>&1
  t1=$(date +%s%N)
  ms=$(((t1 - t0) / 1000000))
  tsize=$(sed -n 's/^task of \([0-9]*\) bytes$/\1/p' "$o.q")
  hwm=0
  for w in $(pgrep -P "$RPID"); do
    kb=$(sed -n 's/^VmHWM:[^0-9]*\([0-9]*\) kB/\1/p' "/proc/$w/status")
    [ "${kb:-0}" -gt "$hwm" ] && hwm=$kb
  done
  [ -n "$tsize" ] && [ "$tsize" -le 64 ] &&
    grep -q '^result status 9 .*more than the 1048576 bytes one call may take' "$o.q" &&
    [ "$ms" -lt 5000 ] && [ "$hwm" -gt 0 ] && [ "$hwm" -lt 262144 ] &&
    [ "$(grep -c tr_fill "$root/c.exec")" = 1 ]
  check $? "d a ${tsize:-?}-byte task asking for 2^27 doubles is refused (status 9) in ${ms} ms, not run, the worker's peak RSS ${hwm} kB" \
    "$o.q" "$root/c.rlog"

  o=$root/d_after
  tr_caller "$o" "$CFGC" fill 1000
  grep -q '^fill 1000 ok$' "$o.out" && [ "$(grep -c tr_fill "$root/c.exec")" = 2 ]
  check $? "d the pool keeps serving after the refusal" "$o.out" "$o.err"

  # Two buffers common to every slice, 800 KB each: together over the
  # 1 MiB a call may take, so the call runs here whole, after one line
  # (not every slice refused by the worker and run here one by one).
  o=$root/c_mix
  tr_caller "$o" "$CFGC" mix 100000 8
  read -r inc other < <(runs_in "$o" tr_mix)
  grep -q '^mix 8 ok$' "$o.out" && [ "$inc" = 1 ] &&
    [ "$(grep -c 'common to every slice take 1600000 bytes' "$o.err")" = 1 ] &&
    [ "$(grep -c tr_mix "$root/c.exec")" = 0 ]
  check $? "c a split call whose common buffers exceed the bound runs in the caller, whole, after one message ($inc runs here)" \
    "$o.out" "$o.err"

  o=$root/e_hold
  timeout 30 "$QTOOL" "$CFGC" hold 20 >"$o.q" 2>&1 &
  hpid=$!
  started+=("$hpid")
  for _ in $(seq 100); do
    grep -q '^blob ' "$o.q" && break
    sleep 0.05
  done
  bid=$(sed -n 's/^blob //p' "$o.q")
  o=$root/e_ref
  timeout 30 "$QTOOL" "$CFGC" blobref "${bid:-0}" >"$o.q" 2>&1
  [ -n "$bid" ] && grep -q '^result status 1 .*Permission denied' "$o.q" &&
    [ "$(grep -c tr_peek "$root/c.exec")" = 0 ]
  check $? "e a task naming another caller's shared buffer ($bid) is refused as malformed, and tr_peek never runs" \
    "$o.q"
  kill "$hpid" 2>/dev/null
  o=$root/e_own
  timeout 30 "$QTOOL" "$CFGC" blobown >"$o.q" 2>&1
  grep -q '^result status 0 .*ret 6976$' "$o.q"
  check $? "e control: a task naming its own caller's shared buffer reads it" "$o.q"
else
  not_ok "c a pool serves the 4 MiB queue" "$root/c.rlog"
fi

# ------------------------------------------------- f: stride overflow

CFGF=$(mkcfg f 64MiB)
o=$root/f
tr_caller "$o" "$CFGF" split 4 2305843009213693952 # m = 2^61
read -r inc other < <(runs_in "$o" tr_split)
[ "$(cat "$o.rc")" = 0 ] && grep -q '^split 4: 1 2 3 4$' "$o.out" &&
  [ "$inc" = 1 ] &&
  grep -q "tr_split: cannot split buffer 'y' over 'n': its bytes per element do not fit in 64 bits; calling it inline, whole" "$o.err"
check $? "f a split whose stride overflows runs in the caller, whole and right, after a message ($inc runs)" \
  "$o.out" "$o.err"

finish
