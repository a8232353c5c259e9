#!/bin/bash
# behaviours.sh: integration tests of behaviours the README promises that
# no other script exercised (issue 22), on real processes only.  It owns:
#
#   a. retry_if end to end: bh_zero's entry says retry_if = "ret == 0";
#      a function that returns 0 twice then 3 is retried (retries = 3)
#      whatever errno it sets, and returns 3 after 3 runs; with
#      retries = 1 the last result (0) is returned as it is after 2 runs;
#      with retry_on_errno = ["EAGAIN"] beside it only a 0 with EAGAIN is
#      retried (a 0 with ENOENT is returned after one run);
#   b. timeout does not count the time a call waits in the queue: one
#      worker held 2.5 s by a call without timeout; a call of bh_nap(100)
#      (timeout = "1s") queued behind it waits well over 1 s in all, yet
#      returns 100, after the held call ends;
#   c. a retry re-sends an inout buffer as the failed attempt left it:
#      bh_inout fails with EAGAIN while the count it keeps in its own
#      buffer is <= 2; offloaded with retry_on_errno, its three attempts
#      see 0, 1, 2 and the call returns 3 with the buffer 3 11 22 33;
#   d. a full map ([queue] map_size = "1MiB") on an ordinary call: with
#      four tasks of 200,000 bytes waiting (no runner), a fifth runs in
#      the caller after one line that says to raise [queue] map_size; the
#      waiting calls each run once when a runner comes; and a result
#      larger than one call may take (a returned string of 900,000
#      bytes): the caller dies of SIGABRT after one line that says to
#      raise [queue] max_call_size, the function having run once, in the
#      worker;
#   d2. max_call_size bounds a returned string, with room in the map;
#   e. required = true in the shim itself: a listed symbol the program
#      defines but does not import is an error at the default log level
#      (the program runs on); a required symbol no loaded object defines
#      is an error, and the program runs without dtask; /bin/true, which
#      imports no listed symbol, reports it too;
#   f. fork: under a raw LD_PRELOAD with autostart (calls before the fork,
#      and none: parent and child then start the pool together, and one
#      pool starts); in sync mode (every call in the process that made
#      it, and intercepted there); while another thread has a call in
#      flight (the child's calls are served, the held call returns);
#   g. offload_if on a floating-point parameter (offload_if = "x >= 2.5"):
#      x = 2.5, 2.75, 3.75, 1e300 offloaded; 1, 2.4999, -7, nan in the
#      caller, marked "local (offload_if)" by DTASK_TRACE;
#   h. a worker that crashes within 1 s of its start is respawned at the
#      next tick: a loop of crashing calls on a pool of one worker runs
#      one call per second or slower, and the runner says why;
#   i. DTASK_TRACE says where a call ran: "inline (fallback)" when the
#      queue directory is refused or no runner serves under
#      on_unavailable = "local", "not run (on_* value)" under an
#      on_unavailable value, "offloaded" when a worker ran it;
#   j. a queue that heals: random bytes over the start of data.mdb are
#      moved aside by the next pool when no process holds the queue (one
#      message, the file kept); while one does, the pool refuses, naming
#      it, and callers run inline; once it exits, the next pool heals;
#   k. the queue's filesystem full (a 2 MiB tmpfs; root only): a large
#      call runs in the caller after one line saying so, no SIGBUS;
#   l. out of file descriptors (ulimit -n 6, 10; 64 the control): the
#      call runs inline, the caller says why; an autostarted pool whose
#      workers cannot open the queue stops instead of keeping it waiting;
#   m. out of processes (ulimit -u 1 as nobody; root only): the pool
#      cannot be spawned, the caller says so and runs the call inline.
# Controls show that the checks can fail (an entry without retry_if, the
# same calls in sync mode, a call past its timeout, the same call on an
# empty queue, a small string, the entry without required, an offloaded
# fork, a crash of a worker older than 1 s, which is replaced at once).
#
# The programs are the fixtures of tests/fixtures/behave (libbehave.so,
# bhprog, bh.toml), built into $BUILD/fixtures/behave, and the queue tool
# tests/fixtures/qtool.c, built into $BUILD/fixtures.  Every queue is a
# fresh directory under one private (0700) directory in /dev/shm, removed
# at exit; every runner and caller this script starts (and every pool
# autostarted here) is stopped at exit.  Every program runs under
# `timeout 60`.  Core dumps are off.
#
# Environment: BUILD (default build); SANITIZE=1 when the shim and the
# commands were built with ASan/UBSan (detected from the shim when unset):
# the ASan runtime is preloaded, first, for the callers started here, and
# dtask-runner is given it too (with verify_asan_link_order=0, as in
# offload.sh); ASan's own SIGSEGV handler is off (asanfx.bash, which the
# failure scripts share too), so that a crash reaches dtask.
# Output: "ok - ..." or "not ok - ..." per check (details indented), then
# "N passed, N failed, N skipped".  Exit status 1 if any check failed.
#
# Checks are written `CONDITION; check $? DESCRIPTION [DETAIL-FILE...]`.
# shellcheck disable=SC2317  # cleanup and kill_ours run from the EXIT trap
set -u

# shellcheck source=tests/integration/tap.bash
. "$(dirname "$0")/tap.bash"
# shellcheck source=tests/integration/runs.bash
. "$(dirname "$0")/runs.bash"

# ------------------------------------------------------------ set-up

RUNNER=$BUILD/dtask-runner
SHIM=$BUILD/libdtask_shim.so
BH=$BUILD/fixtures/behave
BHPROG=$BH/bhprog
QTOOL=$BUILD/fixtures/qtool
# qtool opens the queue of this program image (each image has its own).
export QTOOL_PROG=$BHPROG
need_built "dtask, the shim and the behaviour fixtures are built" \
  "make all, which runs tests/fixtures/behave/build.sh" \
  "$RUNNER" "$SHIM" "$BHPROG" "$QTOOL" "$BH/libbehave.so" "$BH/bh.toml"

# shellcheck source=tests/integration/asanfx.bash
. "$(dirname "$0")/asanfx.bash"
# kill_ours (procs.bash) knows our processes by $BH/; start_runner
# starts pools of bhprog, with a 120 s limit.
OURS=$BH/
RUNNER_PROG=$BHPROG
RUNNER_TMO=120
# caller (runs.bash) runs bhprog, timed (OUT.ms, OUT.notice).
CALLER_PROG=$BHPROG
CALLER_TIMED=1
# shellcheck source=tests/integration/procs.bash
. "$(dirname "$0")/procs.bash"

# Variables of ours that must not leak in from the caller's environment.
CLEAN=("${CLEAN_DTASK[@]}" -u BH_LOG -u BH_HOLD)

# A crash must not leave core files behind (nor make `timeout` say so).
ulimit -c 0

# Programs run in this directory: no stray ./dtask.toml takes part.
scratch_dir behave /dev/shm
t_start=$(date +%s%N)

# Processes started here that may outlive their case (pids).
started=()

cleanup() {
  local pids=("${started[@]}") f more
  # Background jobs of this shell (callers under `timeout`).
  mapfile -t more < <(jobs -p)
  pids+=("${more[@]}")
  # Autostarted pools name themselves in runner.log.
  mapfile -t more < <(pools_named_in "$root"/*/q/*/runner.log)
  pids+=("${more[@]}")
  kill_ours "${pids[@]}"
  for f in "${mounts[@]}"; do umount "$f" 2>/dev/null; done
  cd / && rm -rf "$root" "${others[@]}"
}
mounts=() # filesystems this script mounted (k), unmounted at exit
others=() # directories outside $root it made (m), removed at exit
trap cleanup EXIT

# mkcfg NAME [DEFAULTS-LINES...]: writes $root/NAME.toml = bh.toml, then
# $EXTRA (more [[offload]] entries, when set), a queue in $root/NAME/q
# (created by dtask itself; map_size $MAP, default "64MiB"), a [runner]
# table ($RUNNER_KEYS when set, else autostart = false) and a [defaults]
# table with the given lines; prints its path.
mkcfg() {
  local name=$1
  shift
  {
    cat "$BH/bh.toml"
    [ -n "${EXTRA:-}" ] && printf '\n%s\n' "$EXTRA"
    printf '\n[queue]\npath = "%s"\nmap_size = "%s"\n\n' "$root/$name/q" \
      "${MAP:-64MiB}"
    printf '[runner]\n%s\n\n[defaults]\n' "${RUNNER_KEYS:-autostart = false}"
    [ $# -gt 0 ] && printf '%s\n' "$@"
  } >"$root/$name.toml"
  mkdir -m 700 "$root/$name"
  echo "$root/$name.toml"
}

# wait_for SECONDS CMD...: 0 once CMD succeeds (polled every 50 ms), 1
# after SECONDS.
wait_for() {
  local n=$(($1 * 20)) i
  shift
  for ((i = 0; i < n; i++)); do
    "$@" && return 0
    sleep 0.05
  done
  return 1
}

ERR='error: '
WARN='warning: '
# Retries without the default pauses (a's configs).
FAST=('retries = 3' 'retry_wait = "10ms"' 'retry_max_wait = "10ms"')

# ======================================================================
# a. retry_if end to end.
# ======================================================================
CFGA=$(mkcfg a "${FAST[@]}")
CFGA1=$(mkcfg a1 'retries = 1' 'retry_wait = "10ms"' 'retry_max_wait = "10ms"')
CFGAE=$(mkcfg ae "${FAST[@]}" 'retry_on_errno = ["EAGAIN"]')
if start_runner a "$CFGA" 2 BH_LOG="$tmp/a.bhlog" && RA=$RPID && start_runner a1 "$CFGA1" 2 &&
  RA1=$RPID && start_runner ae "$CFGAE" 2; then
  RAE=$RPID
  cnt=$tmp/a.count
  caller "$tmp/a" "$CFGA" DTASK_LOG=info -- zero "$cnt" 2 0
  rc_is "$tmp/a" 0 && has "$tmp/a.out" "bh_zero($cnt, 2, 0) = 3 errno 0" &&
    [ "$(cat "$cnt")" = 3 ] &&
    line_in "$tmp/a" "" "bh_zero failed with an error; retry 1 of 3" &&
    line_in "$tmp/a" "" "bh_zero failed with an error; retry 2 of 3" &&
    [ "$(grep -c 'retry [0-9]* of' "$tmp/a.err")" = 2 ]
  check $? "a retry_if = \"ret == 0\" (alone: any errno, even 0, qualifies), retries = 3: two 0s retried, returns 3 (ran $(cat "$cnt" 2>/dev/null) times, want 3), one \"retry N of 3\" line each" \
    "$tmp/a.out" "$tmp/a.err"
  # Control: the same function under an entry without retry_if (the
  # default, ret < 0, for an int) is not retried.
  cnt=$tmp/a.plain.count
  caller "$tmp/a.plain" "$CFGA" DTASK_LOG=info -- zeroplain "$cnt" 2 0
  rc_is "$tmp/a.plain" 0 &&
    has "$tmp/a.plain.out" "bh_zero_plain($cnt, 2, 0) = 0 errno 0" &&
    [ "$(cat "$cnt")" = 1 ] && ! grep -q retry "$tmp/a.plain.err"
  check $? "a control: bh_zero_plain (no retry_if: ret < 0) returns its first 0, ran once ($(cat "$cnt" 2>/dev/null))" \
    "$tmp/a.plain.out" "$tmp/a.plain.err"

  cnt=$tmp/a1.count
  caller "$tmp/a1" "$CFGA1" -- zero "$cnt" 2 ENOENT
  rc_is "$tmp/a1" 0 && has "$tmp/a1.out" "bh_zero($cnt, 2, ENOENT) = 0 errno ENOENT" &&
    [ "$(cat "$cnt")" = 2 ] && [ ! -s "$tmp/a1.err" ]
  check $? "a retry_if, retries = 1: one retry, then the last result as it is, 0/ENOENT (ran $(cat "$cnt" 2>/dev/null) times, want 2)" \
    "$tmp/a1.out" "$tmp/a1.err"

  cnt=$tmp/ae.noent.count
  caller "$tmp/ae.noent" "$CFGAE" -- zero "$cnt" 2 ENOENT
  rc_is "$tmp/ae.noent" 0 &&
    has "$tmp/ae.noent.out" "bh_zero($cnt, 2, ENOENT) = 0 errno ENOENT" &&
    [ "$(cat "$cnt")" = 1 ]
  check $? "a retry_if with retry_on_errno = [\"EAGAIN\"]: a 0 with ENOENT is not retried (ran $(cat "$cnt" 2>/dev/null) times, want 1)" \
    "$tmp/ae.noent.out" "$tmp/ae.noent.err"
  cnt=$tmp/ae.again.count
  caller "$tmp/ae.again" "$CFGAE" -- zero "$cnt" 2 EAGAIN
  rc_is "$tmp/ae.again" 0 &&
    has "$tmp/ae.again.out" "bh_zero($cnt, 2, EAGAIN) = 3 errno 0" &&
    [ "$(cat "$cnt")" = 3 ]
  check $? "a retry_if with retry_on_errno = [\"EAGAIN\"]: a 0 with EAGAIN is retried, returns 3 (ran $(cat "$cnt" 2>/dev/null) times, want 3)" \
    "$tmp/ae.again.out" "$tmp/ae.again.err"

  # ====================================================================
  # c. A retry re-sends an inout buffer as the failed attempt left it.
  # ====================================================================
  # (On a's runner: bh_inout's entry has retry_on_errno = ["EAGAIN"].)
  # Each attempt logs v[0] as it found it (the workers' BH_LOG).
  caller "$tmp/c" "$CFGA" -- inout 2
  seen=$(sed -n 's/^I //p' "$tmp/a.bhlog" 2>/dev/null | tr '\n' ' ')
  rc_is "$tmp/c" 0 && has "$tmp/c.out" "bh_inout(v, 2) = 3 errno 0; v = 3 11 22 33" &&
    [ "$seen" = "0 1 2 " ]
  check $? "c retry_on_errno, retries = 3: bh_inout's three attempts found v[0] = ${seen:-?}(want 0 1 2: each retry sent the buffer as the failed attempt left it); returns 3 with v = 3 11 22 33" \
    "$tmp/c.out" "$tmp/c.err" "$tmp/a.bhlog"
  # Control: in sync mode (no retries, the real function once) the one
  # attempt leaves v = 1 11 0 0 and returns -1/EAGAIN; a retry that sent
  # the original buffer again would end the same way.
  caller "$tmp/c.sync" "$CFGA" DTASK_MODE=sync -- inout 2
  rc_is "$tmp/c.sync" 0 &&
    has "$tmp/c.sync.out" "bh_inout(v, 2) = -1 errno EAGAIN; v = 1 11 0 0"
  check $? "c control: one attempt (sync mode) returns -1/EAGAIN with v = 1 11 0 0" \
    "$tmp/c.sync.out" "$tmp/c.sync.err"
  stop_runner "$RA"
  stop_runner "$RA1"
  stop_runner "$RAE"
else
  not_ok "a dtask-runner -w 2 serves the queues" "$tmp/a.rlog" "$tmp/a1.rlog" \
    "$tmp/ae.rlog"
fi

# ======================================================================
# b. timeout does not count the time a call waits in the queue.
# ======================================================================
# One worker.  bh_hold(2500) (no timeout) holds it; once it runs (its "H"
# line), bh_nap(100) is called: its entry's timeout is 1 s, and it waits
# in the queue for most of 2.5 s before a worker starts it.
CFGB=$(mkcfg b)
if start_runner b "$CFGB" 1 BH_LOG="$tmp/b.log"; then
  RB=$RPID
  caller "$tmp/b.hold" "$CFGB" -- hold 2500 &
  hjob=$!
  wait_for 20 grep -qs '^H ' "$tmp/b.log"
  caller "$tmp/b" "$CFGB" -- nap 100
  wait "$hjob"
  ms=$(ms_of "$tmp/b")
  order=$(cut -c1 "$tmp/b.log" | tr -d '\n')
  rc_is "$tmp/b" 0 && has "$tmp/b.out" "bh_nap(100) = 100 errno 0" &&
    [ ! -s "$tmp/b.err" ] && rc_is "$tmp/b.hold" 0 &&
    has "$tmp/b.hold.out" "bh_hold(2500) = 2500 errno 0"
  check $? "b timeout = \"1s\": bh_nap(100), queued behind a 2.5 s call on the only worker, returns 100, nothing on stderr" \
    "$tmp/b.out" "$tmp/b.err" "$tmp/b.hold.out" "$tmp/b.hold.err" "$tmp/b.log"
  [ "$order" = HhNn ] && [ "$ms" -ge 1100 ]
  check $? "b it waited in the queue: it started after the held call ended (runs in the log: $order, want HhNn) and took $ms ms in all (want >= 1100: longer than its timeout)" \
    "$tmp/b.log"
  # Control: a call that runs past the timeout is cut short, in the same
  # config: the timeout is enforced.
  caller "$tmp/b.over" "$CFGB" -- nap 3000
  ms=$(ms_of "$tmp/b.over")
  rc_is "$tmp/b.over" 0 && has "$tmp/b.over.out" "bh_nap(3000) = -1 errno ETIMEDOUT" &&
    one_line "$tmp/b.over" "$ERR" "bh_nap ran past its timeout of 1s in worker [0-9]+ of runner $RB, which killed the worker; bh_nap returns the on_timeout value" &&
    [ "$ms" -lt 3000 ]
  check $? "b control: bh_nap(3000) under the same timeout returns -1/ETIMEDOUT after $ms ms (want < 3000), one line" \
    "$tmp/b.over.out" "$tmp/b.over.err"
  stop_runner "$RB"
else
  not_ok "b dtask-runner -w 1 serves the queue" "$tmp/b.rlog"
fi

# ======================================================================
# d. A full map on an ordinary call; a result that cannot be stored.
# ======================================================================
# map_size = "1MiB" (the least allowed; max_call_size a quarter of it).
# No runner at first: four callers of bh_big(200,000 bytes) wait, their
# tasks in the map (about 850 KB of it); a fifth task does not fit.  The
# buffers travel in the records ([queue] arena = false): through the
# callers' arenas they would take no room in the map.
CFGD=$(MAP=1MiB mkcfg d 'wait_for_runner = "40s"')
sed -i 's/^map_size = "1MiB"$/&\narena = false/' "$CFGD"
# tasks_are CONFIG N: CONFIG's queue holds N tasks and nothing else.
tasks_are() { [ "$(counts "$1")" = "tasks $2 claims 0 results 0" ]; }
djobs=()
queued=0
for i in 1 2 3 4; do
  caller "$tmp/d.w$i" "$CFGD" BH_LOG="$tmp/d.log" -- big 200000 &
  djobs+=($!)
  wait_for 20 tasks_are "$CFGD" "$i" && queued=$i
done
caller "$tmp/d" "$CFGD" BH_LOG="$tmp/d.log" -- big 200000
[ "$queued" = 4 ] && rc_is "$tmp/d" 0 &&
  has "$tmp/d.out" "bh_big(200000) ran in the caller" &&
  one_line "$tmp/d" "$ERR" "cannot queue a call of bh_big: No space left on device \(the queue is full: raise \[queue\] map_size, or the Redis server's maxmemory\); calling it inline"
check $? "d with 4 tasks of 200,000 bytes waiting in a 1 MiB map ($queued queued), a 5th bh_big(200000) runs in the caller after one line: the queue is full, raise [queue] map_size" \
  "$tmp/d.out" "$tmp/d.err" "$(note d.q "$(counts "$CFGD")")"
# The waiting calls end once a runner comes: each ran once, in a worker
# or (a full map cannot hand a worker a copy of its task) in its caller
# after a line that says to raise [queue] map_size.
if start_runner d "$CFGD" 1 BH_LOG="$tmp/d.log"; then
  RD=$RPID
  wait "${djobs[@]}"
  bad=
  for i in 1 2 3 4; do
    o=$tmp/d.w$i
    if has "$o.out" "bh_big(200000) ran in a worker"; then
      [ ! -s "$o.err" ] || bad="$bad w$i(stderr)"
    elif has "$o.out" "bh_big(200000) ran in the caller"; then
      one_line "$o" "$ERR" "bh_big: the queue has no room to hand the task \([0-9]+ bytes\) to a worker \(map_size 1 MiB: full of other calls, or too small\); raise \[queue\] map_size; calling it inline" ||
        bad="$bad w$i(line)"
    else
      bad="$bad w$i(no result)"
    fi
    rc_is "$o" 0 || bad="$bad w$i(rc)"
  done
  runs=$(grep -c '^B ' "$tmp/d.log")
  [ -z "$bad" ] && [ "$runs" = 5 ]
  check $? "d the 4 waiting calls end once a runner serves the queue, each once, in a worker or in its caller with a line to raise [queue] map_size ($runs runs of bh_big in all, want 5)${bad:+; wrong:$bad}" \
    "$tmp/d.w1.out" "$tmp/d.w1.err" "$tmp/d.w2.out" "$tmp/d.w2.err" \
    "$tmp/d.w3.out" "$tmp/d.w3.err" "$tmp/d.w4.out" "$tmp/d.w4.err" "$tmp/d.log"
  # Control: the same call on the empty queue goes to the worker.
  caller "$tmp/d.ctl" "$CFGD" -- big 200000
  rc_is "$tmp/d.ctl" 0 && has "$tmp/d.ctl.out" "bh_big(200000) ran in a worker" &&
    [ ! -s "$tmp/d.ctl.err" ]
  check $? "d control: the same bh_big(200000) on the emptied queue runs in a worker, nothing on stderr" \
    "$tmp/d.ctl.out" "$tmp/d.ctl.err"

  # A returned string of 900,000 bytes is larger than one call may take
  # in the 1 MiB map (a quarter of it), which the caller cannot know
  # before the call: the function ran, so the call is lost; on_crash =
  # "signal" raises SIGABRT.
  : >"$tmp/d.log"
  caller "$tmp/d.str" "$CFGD" -- bigstr 900000
  cp=$(caller_pid "$tmp/d.str")
  runs=$(sed -n 's/^T \([0-9]*\) 900000$/\1/p' "$tmp/d.log" | tr '\n' ' ')
  rc_is "$tmp/d.str" 134 && ! has "$tmp/d.str.out" "bh_bigstr(900000) =" &&
    one_line "$tmp/d.str" "$ERR" "bh_bigstr: the function ran, but its result \([0-9]+ bytes, with the string it returned\) is larger than one call may take \(262144 bytes\); raise \[queue\] max_call_size, or map_size \(a quarter of it bounds a call\); raising SIGABRT here \(on_crash = \"signal\"\)" &&
    [ -n "$runs" ] && [ "$runs" != "$cp " ] && [ "$(wc -w <<<"$runs")" = 1 ]
  check $? "d a result larger than one call may take (a 900,000-byte string, a 1 MiB map): one line, raise [queue] max_call_size; the caller dies of SIGABRT (exit $(cat "$tmp/d.str.rc"), want 134); the function ran once, in the worker (runs: ${runs:-none}; caller $cp)" \
    "$tmp/d.str.out" "$tmp/d.str.err" "$tmp/d.log"
  caller "$tmp/d.str1" "$CFGD" -- bigstr 1000
  rc_is "$tmp/d.str1" 0 &&
    has "$tmp/d.str1.out" "bh_bigstr(1000) = a string of 1000 bytes errno 0" &&
    [ ! -s "$tmp/d.str1.err" ]
  check $? "d control: bh_bigstr(1000) returns its string of 1000 bytes, nothing on stderr" \
    "$tmp/d.str1.out" "$tmp/d.str1.err"
  stop_runner "$RD"
else
  not_ok "d dtask-runner -w 1 serves the queue" "$tmp/d.rlog"
fi

# d2. max_call_size bounds a returned string even with room in the map:
# a 64 KiB bound in a 64 MiB map.  bh_bigstr(1,000,000) runs in the
# worker; its result is larger than the bound, so the call is lost (it
# once came back whole, the bound unchecked).
CFGD2=$(mkcfg d2)
sed -i 's/^map_size = "64MiB"$/&\nmax_call_size = "64KiB"/' "$CFGD2"
if grep -q '^max_call_size = "64KiB"$' "$CFGD2" &&
  start_runner d2 "$CFGD2" 1 BH_LOG="$tmp/d2.log"; then
  RD2=$RPID
  caller "$tmp/d2" "$CFGD2" -- bigstr 1000000
  runs=$(sed -n 's/^T \([0-9]*\) 1000000$/\1/p' "$tmp/d2.log" | wc -l)
  rc_is "$tmp/d2" 134 && ! has "$tmp/d2.out" "bh_bigstr(1000000) =" &&
    one_line "$tmp/d2" "$ERR" "bh_bigstr: the function ran, but its result \([0-9]+ bytes, with the string it returned\) is larger than one call may take \(65536 bytes\); .*raising SIGABRT here \(on_crash = \"signal\"\)" &&
    [ "$runs" = 1 ]
  check $? "d2 max_call_size = \"64KiB\" in a 64 MiB map: a 1,000,000-byte returned string makes a lost call (one line, SIGABRT: exit $(cat "$tmp/d2.rc")), the function ran once in the worker ($runs)" \
    "$tmp/d2.out" "$tmp/d2.err" "$tmp/d2.log"
  caller "$tmp/d2.ok" "$CFGD2" -- bigstr 60000
  rc_is "$tmp/d2.ok" 0 &&
    has "$tmp/d2.ok.out" "bh_bigstr(60000) = a string of 60000 bytes errno 0" &&
    [ ! -s "$tmp/d2.ok.err" ]
  check $? "d2 control: bh_bigstr(60000), within the bound, returns its string, nothing on stderr" \
    "$tmp/d2.ok.out" "$tmp/d2.ok.err"
  stop_runner "$RD2"
else
  not_ok "d2 dtask-runner -w 1 serves a queue with max_call_size = \"64KiB\"" "$tmp/d2.rlog" "$CFGD2"
fi

# ======================================================================
# e. required = true, in the shim itself.
# ======================================================================
# bh_unused is defined by libbehave.so, which bhprog links, but bhprog
# never calls it (no import); bh_nowhere is defined by no object at all.
# Sync mode: no queue, no runner, the shim's start-up decides alone.
UNUSED=$'[[offload]]\nsignature = "int bh_unused(int x)"'
NOWHERE=$'[[offload]]\nsignature = "int bh_nowhere(int x)"'
CFGE=$(EXTRA="$UNUSED"$'\nrequired = true' mkcfg e)
CFGE0=$(EXTRA="$UNUSED" mkcfg e0)
CFGN=$(EXTRA="$NOWHERE"$'\nrequired = true' mkcfg n)
CFGN0=$(EXTRA="$NOWHERE" mkcfg n0)
# The entry's line: the [[offload]] line of the appended entry.
eline=$(grep -n '^signature = "int bh_unused' "$CFGE" | cut -d: -f1)
eline=$((eline - 1))
# Exactly one line: a config the door hands to the engine from inside an
# [[offload]] entry once also made it print "watching the loaded objects
# failed: Invalid argument" (an entry counted before its name was read).
caller "$tmp/e" "$CFGE" DTASK_MODE=sync -- where 3
rc_is "$tmp/e" 0 && has "$tmp/e.out" "bh_where(3) ran in the caller" &&
  [ "$(wc -l <"$tmp/e.err")" = 1 ] &&
  line_in "$tmp/e" "$ERR" "$(re "$CFGE"):$eline: no loaded object of bhprog imports 'bh_unused', so only calls through dlsym or later dlopen'ed objects can be caught \(check with: dtask check --binary PROG\)"
check $? "e required = true, a listed symbol bhprog defines (libbehave.so) but does not import: one error line at the default log level naming file, line and symbol; the program runs on (exit $(cat "$tmp/e.rc"))" \
  "$tmp/e.out" "$tmp/e.err"
caller "$tmp/e0" "$CFGE0" DTASK_MODE=sync -- where 3
caller "$tmp/e0w" "$CFGE0" DTASK_MODE=sync DTASK_LOG=warn -- where 3
rc_is "$tmp/e0" 0 && has "$tmp/e0.out" "bh_where(3) ran in the caller" &&
  [ ! -s "$tmp/e0.err" ] && rc_is "$tmp/e0w" 0 &&
  line_in "$tmp/e0w" "$WARN" "$(re "$CFGE0"):$eline: no loaded object of bhprog imports 'bh_unused', .*"
check $? "e control: without required, nothing on stderr at the default level; a warning under DTASK_LOG=warn" \
  "$tmp/e0.err" "$tmp/e0w.err"

# A required symbol that no loaded object defines: the program runs
# without dtask (bh_where(3), which offload_if would offload, runs in the
# caller; no runner is needed to tell).
caller "$tmp/n" "$CFGN" -- where 3
nline=$(grep -n '^signature = "int bh_nowhere' "$CFGN" | cut -d: -f1)
nline=$((nline - 1))
rc_is "$tmp/n" 0 && has "$tmp/n.out" "bh_where(3) ran in the caller" &&
  line_in "$tmp/n" "$ERR" "$(re "$CFGN"):$nline: no loaded object defines 'bh_nowhere'" &&
  line_in "$tmp/n" "$ERR" "running bhprog without dtask \(set DTASK_STRICT=1 to stop instead\)"
check $? "e required = true, a symbol no loaded object defines: an error naming file, line and symbol, then \"running bhprog without dtask\"; the program runs unchanged (bh_where(3) in the caller, exit $(cat "$tmp/n.rc"))" \
  "$tmp/n.out" "$tmp/n.err"
# /bin/true imports no listed symbol: the door would stay silent, but a
# required entry takes the config to the engine in every program.
run_timed "$tmp/n.true" "${CALLER_ENV[@]}" DTASK_CONFIG="$CFGN" LD_PRELOAD="$PRELOAD" /bin/true
run_timed "$tmp/n0.true" "${CALLER_ENV[@]}" DTASK_CONFIG="$CFGN0" LD_PRELOAD="$PRELOAD" /bin/true
rc_is "$tmp/n.true" 0 &&
  grep -qE "^dtask\[[0-9]+\]: $ERR$(re "$CFGN"):$nline: no loaded object defines 'bh_nowhere'" "$tmp/n.true.err" &&
  rc_is "$tmp/n0.true" 0 && [ ! -s "$tmp/n0.true.err" ]
check $? "e /bin/true under the same config reports the required bh_nowhere too, and exits 0; control: without required it says nothing" \
  "$tmp/n.true.err" "$tmp/n0.true.err"

# ======================================================================
# f. fork: raw LD_PRELOAD with autostart; sync mode; a call in flight.
# ======================================================================
# fork_ok OUT PRE N: bhprog fork PRE N ran every call in a worker.
fork_ok() {
  rc_is "$1" 0 &&
    has "$1.out" "parent: $(($2 + $3)) calls, $(($2 + $3)) in a worker, 0 in itself, 0 in its child" \
      "child: $3 calls, $3 in a worker, 0 in itself, 0 in its parent" \
      "child exit status 0"
}
# serves_in CONFIG: how many pools said they serve CONFIG's queue in its
# runner.log (autostart writes it; DTASK_LOG=info makes them say so).
serves_in() {
  local q
  q=$(timeout 20 "$QTOOL" "$1" dir)
  grep -c ': runner [0-9]* serves ' "$q/runner.log" 2>/dev/null
}
AUTO=$'autostart = true\nidle_exit = "3s"\nworkers = 2'
CFGF=$(RUNNER_KEYS=$AUTO mkcfg f)
CFGF0=$(RUNNER_KEYS=$AUTO mkcfg f0)
caller "$tmp/f" "$CFGF" DTASK_LOG=info -- fork 3 20
fork_ok "$tmp/f" 3 20 && [ "$(serves_in "$CFGF")" = 1 ]
check $? "f raw LD_PRELOAD, autostart: 3 calls, fork, 20 calls in each: all 43 in workers of the one pool the first call started ($(serves_in "$CFGF") pool)" \
  "$tmp/f.out" "$tmp/f.err"
caller "$tmp/f0" "$CFGF0" DTASK_LOG=info -- fork 0 20
fork_ok "$tmp/f0" 0 20 && [ "$(serves_in "$CFGF0")" = 1 ]
check $? "f raw LD_PRELOAD, autostart, no call before the fork: parent and child start the pool together, one pool starts ($(serves_in "$CFGF0")), all 40 calls in its workers" \
  "$tmp/f0.out" "$tmp/f0.err"

# Sync mode: every call runs in the process that made it, through the
# stub (one trace line per call, from each process).
caller "$tmp/fs" "$CFGF" DTASK_MODE=sync DTASK_TRACE=1 -- fork 3 20
ppid=$(caller_pid "$tmp/fs")
ptr=$(grep -c "^dtask\[$ppid\]: trace bh_pid() = $ppid errno=0 sync " "$tmp/fs.err")
ctr=$(grep -E "^dtask\[[0-9]+\]: trace bh_pid\(\) = [0-9]+ errno=0 sync " "$tmp/fs.err" |
  grep -vc "^dtask\[$ppid\]")
rc_is "$tmp/fs" 0 &&
  has "$tmp/fs.out" "parent: 23 calls, 0 in a worker, 23 in itself, 0 in its child" \
    "child: 20 calls, 0 in a worker, 20 in itself, 0 in its parent" \
    "child exit status 0" &&
  [ "$ptr" = 23 ] && [ "$ctr" = 20 ]
check $? "f DTASK_MODE=sync: 3 calls, fork, 20 in each: each call ran in the process that made it, through the stub ($ptr trace lines of the parent, want 23; $ctr of the child, want 20)" \
  "$tmp/fs.out" "$tmp/fs.err"
# Control: the checks above fail on the offloaded run (f).
! has "$tmp/f.out" "parent: 23 calls, 0 in a worker, 23 in itself, 0 in its child"
check $? "f control: the offloaded run's counts are not those of sync mode"

# A fork while another thread's call is held in a worker: the child's
# calls are served (a second worker), the held call then returns.
CFGF3=$(mkcfg f3)
if start_runner f3 "$CFGF3" 2 BH_LOG="$tmp/f3.log"; then
  RF3=$RPID
  caller "$tmp/f3" "$CFGF3" BH_LOG="$tmp/f3.log" BH_HOLD="$tmp/f3.hold" -- \
    inflight 100 20
  cp=$(caller_pid "$tmp/f3")
  hp=$(sed -n 's/^H //p' "$tmp/f3.log" | head -n 1)
  rc_is "$tmp/f3" 0 &&
    has "$tmp/f3.out" "child: 20 calls, 20 in a worker, 0 in itself, 0 in its parent" \
      "child exit status 0" \
      "held: bh_hold(100) = 100 errno 0, its call still in flight when the child ended: yes" \
      "parent: 20 calls, 20 in a worker, 0 in itself, 0 in its child" &&
    [ -n "$hp" ] && [ "$hp" != "$cp" ] && [ ! -s "$tmp/f3.err" ]
  check $? "f fork while another thread's call (bh_hold) is held in worker ${hp:-?}: the child's 20 calls run in workers, the held call then returns 100, the parent's 20 calls after it too; nothing on stderr" \
    "$tmp/f3.out" "$tmp/f3.err" "$tmp/f3.log"
  stop_runner "$RF3"
else
  not_ok "f dtask-runner -w 2 serves the queue" "$tmp/f3.rlog"
fi

# ======================================================================
# g. offload_if on a floating-point parameter.
# ======================================================================
# bh_where's entry: offload_if = "x >= 2.5".  2.75 would stay in the
# caller if x were compared as an integer (2).
CFGG=$(mkcfg g)
if start_runner g "$CFGG" 1; then
  RG=$RPID
  caller "$tmp/g" "$CFGG" DTASK_TRACE=1 -- where 1 2.4999 2.5 2.75 3.75 -7 nan 1e300
  bad=
  for x in 2.5 2.75 3.75 1e300; do
    has "$tmp/g.out" "bh_where($x) ran in a worker" || bad="$bad $x"
  done
  for x in 1 2.4999 -7 nan; do
    has "$tmp/g.out" "bh_where($x) ran in the caller" || bad="$bad $x"
  done
  nl=$(grep -c ' local (offload_if) ' "$tmp/g.err")
  no=$(grep -c ' offloaded ' "$tmp/g.err")
  rc_is "$tmp/g" 0 && [ -z "$bad" ] && [ "$nl" = 4 ] && [ "$no" = 4 ]
  check $? "g offload_if = \"x >= 2.5\" on a double: 2.5, 2.75, 3.75, 1e300 offloaded; 1, 2.4999, -7, nan in the caller; DTASK_TRACE marks $nl calls \"local (offload_if)\" (want 4) and $no offloaded (want 4)${bad:+; wrong for:$bad}" \
    "$tmp/g.out" "$tmp/g.err"
  stop_runner "$RG"
else
  not_ok "g dtask-runner -w 1 serves the queue" "$tmp/g.rlog"
fi

# ======================================================================
# h. The throttled respawn of a worker that crashes young.
# ======================================================================
# One worker; bh_crash(1) dies of SIGSEGV (on_crash returns -1/EIO).  A
# loop of such calls: each call after the first crashes a worker that was
# started for it a moment before, which the supervisor replaces only at
# its next tick, a second after the death; so from the second call on,
# the calls (each logs "C PID MS") are at least that far apart.  (The
# first worker may be older than 1 s on a loaded machine, and replaced at
# once: the first gap is not checked.)  A worker that has lived 1 s is
# replaced at once (the control).
CFGH=$(mkcfg h)
CFGH2=$(mkcfg h2)
# gaps LOG: the milliseconds between consecutive "C" lines.
gaps() {
  awk '$1 == "C" { if (n++) printf "%d ", $3 - last; last = $3 }' "$1"
}
if start_runner h "$CFGH" 1 BH_LOG="$tmp/h.log"; then
  RH=$RPID
  caller "$tmp/h" "$CFGH" -- crashloop 3500
  k=$(sed -n 's/^crashloop: \([0-9]*\) calls, .*/\1/p' "$tmp/h.out")
  g=$(gaps "$tmp/h.log")
  later=${g#* }
  short=$(for x in $later; do [ "$x" -lt 950 ] && echo "$x"; done | wc -l)
  young=$(grep -c "runner: worker [0-9]* died of signal 11 (Segmentation fault); starting another in a second (it died within a second of its start)" "$tmp/h.rlog")
  rc_is "$tmp/h" 0 && [ -n "$k" ] &&
    has "$tmp/h.out" "crashloop: $k calls, $k returned -1 with errno EIO" &&
    [ "$k" -ge 3 ] && [ "$k" -le 6 ] && [ "$short" = 0 ] &&
    [ "$young" -ge $((k - 1)) ]
  check $? "h a worker that crashes within 1 s of its start is replaced a second later: ${k:-?} crashing calls in 3.5 s (want 3 to 6; unthrottled, hundreds), each -1/EIO; gaps between them ${g}ms (want each after the first >= 950); the runner says why $young times (want >= $((${k:-1} - 1)))" \
    "$tmp/h.out" "$tmp/h.err" "$tmp/h.log" "$tmp/h.rlog"
  stop_runner "$RH"
else
  not_ok "h dtask-runner -w 1 serves the queue" "$tmp/h.rlog"
fi
# Control: the first crash is a worker's that has lived 1.5 s: it is
# replaced at once, and the next call's crash follows within 950 ms.
if start_runner h2 "$CFGH2" 1 BH_LOG="$tmp/h2.log"; then
  RH2=$RPID
  sleep 1.5
  caller "$tmp/h2a" "$CFGH2" -- crashloop 1
  caller "$tmp/h2b" "$CFGH2" -- crashloop 1
  g=$(gaps "$tmp/h2.log")
  grep -q "runner: worker [0-9]* died of signal 11 (Segmentation fault); starting another$" "$tmp/h2.rlog" &&
    [ -n "$g" ] && [ "${g%% *}" -lt 950 ]
  check $? "h control: a worker that crashes after 1.5 s is replaced at once (\"starting another\"), and the next crash follows ${g:-?}ms later (want < 950)" \
    "$tmp/h2.rlog" "$tmp/h2.log"
  stop_runner "$RH2"
else
  not_ok "h dtask-runner -w 1 serves the queue" "$tmp/h2.rlog"
fi

# ======================================================================
# i. DTASK_TRACE says where a call really ran.
# ======================================================================
# bh_hold(7) four ways: a queue directory open to others (refused: the
# call runs here), no runner with on_unavailable = "local" (here), no
# runner with on_unavailable = { return = 0, errno = "EAGAIN" } (run
# nowhere), and a runner (the control: a worker).
CFGI1=$(mkcfg i1)
chmod 777 "$root/i1"
CFGI2=$(mkcfg i2 'wait_for_runner = "200ms"' 'on_unavailable = "local"')
CFGI3=$(mkcfg i3 'wait_for_runner = "200ms"' \
  'on_unavailable = { return = 0, errno = "EAGAIN" }')
CFGI4=$(mkcfg i4)
caller "$tmp/i1" "$CFGI1" DTASK_TRACE=1 -- hold 7
caller "$tmp/i2" "$CFGI2" DTASK_TRACE=1 -- hold 7
caller "$tmp/i3" "$CFGI3" DTASK_TRACE=1 -- hold 7
trace_is() { # OUT WHERE: OUT.err's one trace line of bh_hold says WHERE
  [ "$(grep -c '^dtask\[[0-9]*\]: trace bh_hold(' "$1.err")" = 1 ] &&
    grep -qE "^dtask\[[0-9]+\]: trace bh_hold\(ms=7\) = $2 errno=[0-9]+ $3 [0-9.]+us$" "$1.err"
}
trace_is "$tmp/i1" 7 'inline \(fallback\)' && has "$tmp/i1.out" "bh_hold(7) = 7 errno 0"
check $? "i a queue directory open to others: the call runs in the caller, and DTASK_TRACE says \"inline (fallback)\"" \
  "$tmp/i1.out" "$tmp/i1.err"
trace_is "$tmp/i2" 7 'inline \(fallback\)' && has "$tmp/i2.out" "bh_hold(7) = 7 errno 0"
check $? "i no runner, on_unavailable = \"local\": DTASK_TRACE says \"inline (fallback)\"" \
  "$tmp/i2.out" "$tmp/i2.err"
trace_is "$tmp/i3" 0 'not run \(on_\* value\)' && has "$tmp/i3.out" "bh_hold(7) = 0 errno EAGAIN"
check $? "i no runner, on_unavailable returns 0/EAGAIN: DTASK_TRACE says \"not run (on_* value)\"" \
  "$tmp/i3.out" "$tmp/i3.err"
if start_runner i4 "$CFGI4" 1; then
  caller "$tmp/i4" "$CFGI4" DTASK_TRACE=1 -- hold 7
  trace_is "$tmp/i4" 7 offloaded && has "$tmp/i4.out" "bh_hold(7) = 7 errno 0"
  check $? "i control: served by a worker, DTASK_TRACE says \"offloaded\"" "$tmp/i4.out" "$tmp/i4.err"
  stop_runner "$RPID"
else
  not_ok "i dtask-runner -w 1 serves the queue" "$tmp/i4.rlog"
fi

# ======================================================================
# j. A queue that heals: random bytes over the start of data.mdb.
# ======================================================================
# j1: with no process holding the queue, the next pool to start moves
#     the broken file aside (one message, the file kept as
#     data.mdb.corrupt-TIME) and serves: the call is offloaded.
# j2: while a live process (qtool hold) has the queue open, a pool
#     refuses to start and says which process holds it; a caller runs its
#     call inline ("inline (fallback)") after one message; once the
#     holder has exited, a pool starts, moves the file aside and serves.
CFGJ=$(mkcfg j)
# break_queue: writes 4096 random bytes over the start of the image's
# data.mdb; prints nothing.
break_queue() {
  local d
  d=$(QTOOL_PROG=$BHPROG "$QTOOL" "$CFGJ" dir)
  head -c 4096 /dev/urandom | dd of="$d/data.mdb" conv=notrunc 2>/dev/null
}
jdir=$(env "${CLEAN[@]}" "${CALLER_ENV[@]}" QTOOL_PROG="$BHPROG" "$QTOOL" "$CFGJ" dir)
if start_runner j0 "$CFGJ" 1; then
  caller "$tmp/j0" "$CFGJ" DTASK_TRACE=1 -- hold 7
  stop_runner "$RPID"
fi
break_queue
if start_runner j1 "$CFGJ" 1; then
  caller "$tmp/j1" "$CFGJ" DTASK_TRACE=1 -- hold 7
  stop_runner "$RPID"
fi
n_aside=$(find "$jdir" -maxdepth 1 -name 'data.mdb.corrupt-*' | wc -l)
n_msg=$(cat "$tmp/j1.rlog" "$tmp/j1.err" 2>/dev/null | grep -c "could not be read (not an LMDB file of this version: bad magic, or truncated) and no process had it open: moved it aside to $jdir/data.mdb.corrupt-")
trace_is "$tmp/j1" 7 offloaded && [ "$n_aside" = 1 ] && [ "$n_msg" = 1 ]
check $? "j random bytes over data.mdb, no process holding it: the next pool moves it aside ($n_aside file, $n_msg message; want 1 and 1) and serves the call" \
  "$tmp/j1.rlog" "$tmp/j1.err" "$tmp/j1.out"
env "${CLEAN[@]}" "${CALLER_ENV[@]}" QTOOL_PROG="$BHPROG" timeout 60 "$QTOOL" "$CFGJ" hold 30 \
  >"$tmp/j2.hold" 2>&1 &
holder=$!
started+=("$holder")
wait_for 10 grep -q '^blob ' "$tmp/j2.hold"
# The process that has the queue open: qtool, the child of timeout.
qpid=$(cat /proc/"$holder"/task/*/children 2>/dev/null | tr -d ' ')
break_queue
run_timed "$tmp/j2r" "${LAUNCH_ENV[@]}" "$RUNNER" -c "$CFGJ" -w 1 -- "$BHPROG"
caller "$tmp/j2c" "$CFGJ" DTASK_TRACE=1 -- hold 7
rc_is "$tmp/j2r" 2 &&
  grep -q "not an LMDB file of this version: bad magic, or truncated, and process ${qpid:-?} (qtool) still has it open, so it is not moved aside; stop the processes using this queue" "$tmp/j2r.err" &&
  [ "$(find "$jdir" -maxdepth 1 -name 'data.mdb.corrupt-*' | wc -l)" = 1 ]
check $? "j the same while qtool ${qpid:-?} has the queue open: dtask-runner refuses (exit $(cat "$tmp/j2r.rc"), want 2), naming the holder, and moves nothing" \
  "$tmp/j2r.err" "$tmp/j2.hold"
trace_is "$tmp/j2c" 7 'inline \(fallback\)' && has "$tmp/j2c.out" "bh_hold(7) = 7 errno 0" &&
  [ "$(grep -c "still has it open" "$tmp/j2c.err")" = 1 ]
check $? "j meanwhile a caller runs its call inline after one message, and its trace says \"inline (fallback)\"" \
  "$tmp/j2c.out" "$tmp/j2c.err"
kill "$holder" 2>/dev/null
wait "$holder" 2>/dev/null
if start_runner j3 "$CFGJ" 1; then
  caller "$tmp/j3" "$CFGJ" DTASK_TRACE=1 -- hold 7
  stop_runner "$RPID"
fi
trace_is "$tmp/j3" 7 offloaded &&
  [ "$(find "$jdir" -maxdepth 1 -name 'data.mdb.corrupt-*' | wc -l)" = 2 ] &&
  grep -q "moved it aside" "$tmp/j3.rlog"
check $? "j once the holder has exited, the next pool moves it aside and serves the call" \
  "$tmp/j3.rlog" "$tmp/j3.err" "$tmp/j3.out"

# ======================================================================
# k. The queue's filesystem full (a tmpfs of 2 MiB; root only).
# ======================================================================
# LMDB writes through its map: a page a full tmpfs cannot allocate would
# be a SIGBUS in whichever process writes it, the host included.  dtask
# allocates ahead and says so instead: a call of 1.5 MB (its task and its
# claim's copy need 3 MB) runs in the caller after one line that says
# the filesystem is full, twice in one process; small calls before and
# after run in a worker; no process dies of SIGBUS.
if [ "$(id -u)" != 0 ]; then
  skip "k the queue's filesystem full" "needs root, to mount a small tmpfs"
else
  CFGK=$(mkcfg k)
  if mount -t tmpfs -o size=2m,mode=700 tmpfs "$root/k"; then
    mounts+=("$root/k")
    if start_runner k "$CFGK" 1; then
      caller "$tmp/k1" "$CFGK" -- big 1000
      caller "$tmp/k2" "$CFGK" -- bigtwice 1500000
      caller "$tmp/k3" "$CFGK" -- big 1000
      stop_runner "$RPID"
      has "$tmp/k1.out" "bh_big(1000) ran in a worker" &&
        has "$tmp/k3.out" "bh_big(1000) ran in a worker" &&
        rc_is "$tmp/k2" 0 &&
        [ "$(grep -c '^bh_big(1500000) ran in the caller$' "$tmp/k2.out")" = 2 ] &&
        [ "$(grep -c "cannot queue a call of bh_big: the filesystem holding the queue is full (df $root/k/q/" "$tmp/k2.err")" = 1 ] &&
        ! grep -q 'signal 7\|Bus error' "$tmp/k.rlog" "$tmp/k2.err"
      check $? "k the queue's tmpfs full: two 1.5 MB calls run in the caller after one line, small calls before and after in a worker, no SIGBUS" \
        "$tmp/k1.out" "$tmp/k2.out" "$tmp/k2.err" "$tmp/k3.out" "$tmp/k.rlog"
    else
      not_ok "k dtask-runner -w 1 serves a queue on a 2 MiB tmpfs" "$tmp/k.rlog"
    fi
  else
    not_ok "k a 2 MiB tmpfs is mounted on $root/k"
  fi
fi

# ======================================================================
# l. Out of file descriptors (ulimit -n), with autostart.
# ======================================================================
# l1: ulimit -n 6: the caller cannot open the queue: one line naming the
#     cause, the call runs inline.
# l2: ulimit -n 10: the caller opens the queue and starts a pool, whose
#     workers (under the same limit) cannot: the pool stops after three
#     or more of them (those that die together are counted together),
#     saying why, rather than keep callers waiting; the call
#     runs inline after wait_for_runner, with a line that points to the
#     pool's log.  (Before: the caller waited forever.)
# l3: the control, ulimit -n 64: offloaded.
CFGL=$(RUNNER_KEYS=$'autostart = true\nidle_exit = "2s"' mkcfg l 'wait_for_runner = "2s"')
for n in 6 10 64; do
  (ulimit -n $n; caller "$tmp/l$n" "$CFGL" DTASK_TRACE=1 -- hold 7)
done
ldir=$(env "${CLEAN[@]}" QTOOL_PROG="$BHPROG" "$QTOOL" "$CFGL" dir)
trace_is "$tmp/l6" 7 'inline \(fallback\)' &&
  [ "$(grep -c 'Too many open files; calls run inline in bhprog instead' "$tmp/l6.err")" = 1 ]
check $? "l ulimit -n 6: the caller cannot open the queue, says why once, and runs the call inline" \
  "$tmp/l6.out" "$tmp/l6.err"
trace_is "$tmp/l10" 7 'inline \(fallback\)' &&
  [ "$(cat "$tmp/l10.ms")" -lt 15000 ] &&
  grep -q "no runner has served .* for 2s (the pool started for it stopped or could not start: its log is runner.log there); calling bh_hold inline" "$tmp/l10.err" &&
  grep -q "worker: cannot open the LMDB queue in $ldir: Too many open files" "$ldir/runner.log" &&
  grep -qE "runner: [0-9]+ workers in a row could not open the queue \(the lines above say why\); stopping this pool" "$ldir/runner.log"
check $? "l ulimit -n 10: the autostarted pool's workers cannot open the queue; it stops saying why, and the call runs inline in $(cat "$tmp/l10.ms") ms (want < 15 s)" \
  "$tmp/l10.out" "$tmp/l10.err" "$ldir/runner.log"
trace_is "$tmp/l64" 7 offloaded
check $? "l control, ulimit -n 64: offloaded" "$tmp/l64.out" "$tmp/l64.err"

# ======================================================================
# m. Out of processes (ulimit -u 1, as nobody; root only).
# ======================================================================
# dtask starts no thread of its own in the host; what it starts is the
# autostarted pool, by posix_spawn.  With no process to spare, that fails:
# the caller says so, and the call runs inline after wait_for_runner.
if [ "$(id -u)" != 0 ]; then
  skip "m out of processes" "needs root, to run the caller as another user with ulimit -u 1"
else
  # Not under $root, which only root may enter.
  mdir=$(mktemp -d /dev/shm/dtask-behave-m.XXXXXX)
  others+=("$mdir")
  chown 65534:65534 "$mdir"
  { cat "$BH/bh.toml"
    printf '[queue]\npath = "%s/q"\n[runner]\nautostart = true\n' "$mdir"
    printf '[defaults]\nwait_for_runner = "2s"\n'; } >"$mdir/c.toml"
  chown 65534:65534 "$mdir/c.toml"
  run_timed "$tmp/m" "${CALLER_ENV[@]}" DTASK_CONFIG="$mdir/c.toml" LD_PRELOAD="$PRELOAD" \
    setpriv --reuid=65534 --regid=65534 --clear-groups -- \
    bash -c 'ulimit -u 1 && exec "$0" hold 7' "$BHPROG"
  rc_is "$tmp/m" 0 && has "$tmp/m.out" "bh_hold(7) = 7 errno 0" &&
    grep -q "cannot start a runner: Resource temporarily unavailable" "$tmp/m.err" &&
    grep -q "for 2s (the pool started for it stopped or could not start: its log is runner.log there); calling bh_hold inline" "$tmp/m.err" &&
    [ "$(cat "$tmp/m.ms")" -lt 10000 ]
  check $? "m ulimit -u 1: the pool cannot be spawned; the caller says so and runs the call inline in $(cat "$tmp/m.ms") ms (want < 10 s)" \
    "$tmp/m.out" "$tmp/m.err"
fi

echo "# behaviours.sh ran for $((($(date +%s%N) - t_start) / 1000000)) ms"
finish
