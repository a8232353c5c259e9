#!/bin/bash
# failure.sh: integration tests of the failure policies of a call
# (on_crash, timeout/on_timeout, retries, retry_on_errno, [defaults] and
# per-entry keys) and the leases on claims, on real processes only.  Its
# sibling failure_pool.sh holds g. to k. (the sweep of dead callers,
# wait_for_runner/on_unavailable, on_timeout = "retry", the backoff, the
# whole runner killed); failurefx.bash is the set-up and the helpers the
# two share (the fixtures, the queues, FL_BACKEND, SANITIZE).
#
#   a. on_crash = "signal": a SIGSEGV, a SIGABRT and an exit(7) in the
#      worker kill (or exit) the caller the same way, after one line that
#      names the symbol, the worker, the runner and the signal; the
#      program's own SIGSEGV handler runs first; the runner respawns its
#      workers and serves the next caller; a real SIGBUS (a store past
#      the end of a mapped file), a real SIGFPE (integer division by a
#      volatile zero) and an _exit(5) the same way (exit 135, 136, 5); a
#      SIGSEGV handler that returns runs once, then the default action
#      kills the caller (139);
#   b. on_crash = "retry": a function that crashes twice succeeds with
#      retries = 3 and kills its caller with retries = 1;
#   c. on_crash = { return = -1, errno = "EIO" } in one [[offload]] entry:
#      -1/EIO, while another entry of the same config still signals;
#   d. timeout = "200ms": on_timeout = "signal" raises SIGALRM (exit 142)
#      well before the function would have returned; the return form
#      gives -1/ETIMEDOUT; a call under the timeout is untouched;
#   e. retry_on_errno = ["EAGAIN"]: a function that fails twice with
#      EAGAIN succeeds with retries = 3, returns its last failure with
#      retries = 1, and is not retried without the key or for an errno
#      that is not listed;
#   f. soak: 20,000 calls from 4 threads on 4 workers while a loop
#      SIGKILLs a random worker every 50 ms: every result right, every
#      call executed, the killed calls run again elsewhere, the queue
#      empty at the end; and one call whose worker is SIGKILLed: it runs
#      again elsewhere, and after 5 kills it is answered as a crash.
# Controls show that the checks can fail (the same calls run plainly, a
# call that does not crash, entries and configs without the policy, a
# doctored execution log, calls without a retry).
#
# Programs run under `timeout 60`.  Environment: as failurefx.bash says
# (FL_BACKEND=redis runs every case through the redis backend, as
# tests/integration/failure_redis.sh does; BUILD; SANITIZE).
# Output: "ok - ..." or "not ok - ..." per check (details indented), then
# "N passed, N failed, N skipped".  Exit status 1 if any check failed.
#
# Checks are written `CONDITION; check $? DESCRIPTION [DETAIL-FILE...]`.
set -u

# shellcheck source=tests/integration/tap.bash
. "$(dirname "$0")/tap.bash"
# shellcheck source=tests/integration/runs.bash
. "$(dirname "$0")/runs.bash"
# shellcheck source=tests/integration/failurefx.bash
. "$(dirname "$0")/failurefx.bash"

SEGV_RE='with signal 11 \(Segmentation fault\)'

# ======================================================================
# a. on_crash = "signal" (the default).
# ======================================================================
CFGA=$(mkcfg a fl.toml)
if start_runner a "$CFGA" 2; then
  RA=$RPID
  # Control: the same entry serves a call that does not crash.
  caller "$tmp/a.ok" "$CFGA" -- segv 2
  rc_is "$tmp/a.ok" 0 && has "$tmp/a.ok.out" "fl_segv(2) = 4 errno 0" &&
    [ ! -s "$tmp/a.ok.err" ]
  check $? "a control: fl_segv(2) offloaded returns 4, exit 0, nothing on stderr" \
    "$tmp/a.ok.out" "$tmp/a.ok.err"

  caller "$tmp/a.segv" "$CFGA" -- segv 1
  A_SEGV="fl_segv crashed worker ([0-9]+) of runner $RA $SEGV_RE; raising SIGSEGV here \(on_crash = \"signal\"\)"
  rc_is "$tmp/a.segv" 139 && ! has "$tmp/a.segv.out" "fl_segv(1) ="
  check $? "a SIGSEGV in the worker: the caller dies of SIGSEGV (exit $(cat "$tmp/a.segv.rc"), want 139)" \
    "$tmp/a.segv.out" "$tmp/a.segv.err"
  one_line "$tmp/a.segv" "$ERR" "$A_SEGV"
  check $? "a SIGSEGV: one line on stderr naming symbol, worker, runner $RA, signal and policy" \
    "$tmp/a.segv.err"
  w=$(worker_in "$tmp/a.segv" "$A_SEGV")
  [ -n "$w" ] && grep -q "runner: worker $w died of signal 11 (Segmentation fault); starting another" \
    "$tmp/a.rlog"
  check $? "a SIGSEGV: the worker named ($w) is the runner's, which saw it die and respawns it" \
    "$tmp/a.rlog"

  # Control: run plainly, the same call dies the same way, and the line
  # checker rejects what it prints.
  run_timed "$tmp/a.plain" "$FLPROG" segv 1
  rc_is "$tmp/a.plain" 139 && ! one_line "$tmp/a.plain" "$ERR" "$A_SEGV"
  check $? "a control: without dtask fl_segv(1) dies of SIGSEGV too (exit $(cat "$tmp/a.plain.rc")), with no dtask line" \
    "$tmp/a.plain.err"

  caller "$tmp/a.abort" "$CFGA" -- abort 1
  rc_is "$tmp/a.abort" 134 &&
    one_line "$tmp/a.abort" "$ERR" "fl_abort crashed worker [0-9]+ of runner $RA with signal 6 \(Aborted\); raising SIGABRT here \(on_crash = \"signal\"\)"
  check $? "a SIGABRT in the worker: the caller dies of SIGABRT (exit $(cat "$tmp/a.abort.rc"), want 134), after one line" \
    "$tmp/a.abort.out" "$tmp/a.abort.err"

  caller "$tmp/a.exit" "$CFGA" -- exit 7
  A_EXIT="fl_exit made worker ([0-9]+) of runner $RA exit with status 7; exiting with status 7 here \(on_crash = \"signal\"\)"
  rc_is "$tmp/a.exit" 7 && one_line "$tmp/a.exit" "$ERR" "$A_EXIT"
  check $? "a exit(7) in the worker: the caller exits with 7 (got $(cat "$tmp/a.exit.rc")), after one line" \
    "$tmp/a.exit.out" "$tmp/a.exit.err"
  w=$(worker_in "$tmp/a.exit" "$A_EXIT")
  [ -n "$w" ] && grep -q "runner: worker $w exited with status 7; starting another" \
    "$tmp/a.rlog"
  check $? "a exit(7): the runner saw worker $w exit with status 7 and respawns it" \
    "$tmp/a.rlog"

  # The program's own handler sees the signal first, as for a local crash.
  caller "$tmp/a.hdl" "$CFGA" -- handler 1
  rc_is "$tmp/a.hdl" 99 && has "$tmp/a.hdl.out" "handler: caught signal 11" &&
    one_line "$tmp/a.hdl" "$ERR" "fl_segv crashed worker [0-9]+ of runner $RA $SEGV_RE; raising SIGSEGV here \(on_crash = \"signal\"\)"
  check $? "a the caller's own SIGSEGV handler runs (exit $(cat "$tmp/a.hdl.rc"), want 99)" \
    "$tmp/a.hdl.out" "$tmp/a.hdl.err"

  # The pool keeps serving: another process's calls run in a worker of
  # the same runner.
  caller "$tmp/a.after" "$CFGA" -- add 2 3
  w=$(sed -n 's/^served by worker //p' "$tmp/a.after.out")
  ppid=$( [ -n "$w" ] && ps -o ppid= -p "$w" | tr -d ' ')
  rc_is "$tmp/a.after" 0 && has "$tmp/a.after.out" "fl_add(2, 3) = 5 errno 0" &&
    [ -n "$w" ] && [ "$ppid" = "$RA" ] && kill -0 "$RA" 2>/dev/null
  check $? "a afterwards the runner still serves: fl_add(2, 3) = 5 in its worker $w" \
    "$(note a "worker ${w:-?} has parent ${ppid:-?}; runner $RA")" \
    "$tmp/a.after.out" "$tmp/a.after.err"

  # d's control: without a timeout a 400 ms call runs to its end.
  caller "$tmp/d.notmo" "$CFGA" -- sleep 400
  rc_is "$tmp/d.notmo" 0 && has "$tmp/d.notmo.out" "fl_sleep_ms(400) = 400 errno 0" &&
    [ "$(ms_of "$tmp/d.notmo")" -ge 400 ]
  check $? "d control: without a timeout fl_sleep_ms(400) returns 400 ($(ms_of "$tmp/d.notmo") ms)" \
    "$tmp/d.notmo.out" "$tmp/d.notmo.err"

  # e's control: without retry_on_errno, the first EAGAIN is returned.
  caller "$tmp/e.none" "$CFGA" DTASK_LOG=info -- flaky "$tmp/e.none.count" 2
  rc_is "$tmp/e.none" 0 &&
    has "$tmp/e.none.out" "fl_flaky($tmp/e.none.count, 2) = -1 errno EAGAIN" &&
    [ "$(cat "$tmp/e.none.count")" = 1 ] && ! grep -q retry "$tmp/e.none.err"
  check $? "e control: without retry_on_errno fl_flaky returns -1/EAGAIN, ran once" \
    "$tmp/e.none.out" "$tmp/e.none.err"

  wait_empty "$CFGA" 3
  check $? "a nothing is left in the queue ($LAST)"
  stop_runner "$RA"
  check $? "a the runner stops on SIGTERM" "$tmp/a.rlog"
else
  not_ok "a dtask-runner -w 2 serves the queue" "$tmp/a.rlog"
fi

# ======================================================================
# a (more crash kinds). SIGBUS, SIGFPE and _exit(5) inside the function;
#    a SIGSEGV handler of the program's that returns.
# ======================================================================
# A runner of its own with 4 workers: every crash costs one, and a worker
# that dies within a second of its start is replaced at the next tick.
# fl_bus stores past the end of a mapped one-page file and fl_fpe divides
# by a volatile zero: the kernel sends the signals (fl.h).
CFGA2=$(mkcfg a2 fl.toml)
if start_runner a2 "$CFGA2" 4; then
  RA2=$RPID
  # Controls: the entries serve calls that do not crash; run plainly, the
  # crashing calls die (or exit) as they do offloaded below.
  caller "$tmp/a2.bus3" "$CFGA2" -- bus 3
  caller "$tmp/a2.fpe4" "$CFGA2" -- fpe 4
  rc_is "$tmp/a2.bus3" 0 && has "$tmp/a2.bus3.out" "fl_bus(3) = 6 errno 0" &&
    [ ! -s "$tmp/a2.bus3.err" ] && rc_is "$tmp/a2.fpe4" 0 &&
    has "$tmp/a2.fpe4.out" "fl_fpe(4) = 25 errno 0" && [ ! -s "$tmp/a2.fpe4.err" ]
  check $? "a control: offloaded, fl_bus(3) = 6 and fl_fpe(4) = 25, exit 0, nothing on stderr" \
    "$tmp/a2.bus3.out" "$tmp/a2.bus3.err" "$tmp/a2.fpe4.out" "$tmp/a2.fpe4.err"
  run_timed "$tmp/a2.pbus" "$FLPROG" bus 1
  run_timed "$tmp/a2.pfpe" "$FLPROG" fpe 0
  run_timed "$tmp/a2.pexit" "$FLPROG" uexit 5
  rc_is "$tmp/a2.pbus" 135 && killed_by "$tmp/a2.pbus" "Bus error" &&
    rc_is "$tmp/a2.pfpe" 136 && killed_by "$tmp/a2.pfpe" "Floating point exception" &&
    rc_is "$tmp/a2.pexit" 5 && killed_by "$tmp/a2.pexit" ""
  check $? "a control: without dtask fl_bus(1) dies of SIGBUS (exit $(cat "$tmp/a2.pbus.rc")), fl_fpe(0) of SIGFPE ($(cat "$tmp/a2.pfpe.rc")), fl_uexit(5) exits with 5 ($(cat "$tmp/a2.pexit.rc"), no signal)" \
    "$tmp/a2.pbus.out" "$tmp/a2.pbus.notice" "$tmp/a2.pfpe.out" \
    "$tmp/a2.pfpe.notice" "$tmp/a2.pexit.out" "$tmp/a2.pexit.notice"

  # crash_case TAG CALL WANT-RC NOTICE LINE-RE RLOG-LINE DESC RLOG-DESC:
  # flprog TAG-mode with its argument (CALL: "bus 1") offloaded; the
  # caller exits with WANT-RC after bash's NOTICE ("" for a plain exit),
  # prints no result, and its one line matches LINE-RE (with the worker
  # captured); the runner's log has RLOG-LINE for that worker ("W" stands
  # for it).  DESC and RLOG-DESC are the two checks' descriptions ("W"
  # and "RC" stand for the worker and the status seen).
  crash_case() {
    local out="$tmp/a2.$1" call=$2 want=$3 notice=$4 re=$5 rline=$6
    local desc=$7 rdesc=$8 name=${2%% *} arg=${2#* } w ok
    # shellcheck disable=SC2086  # CALL is the mode and its argument
    caller "$out" "$CFGA2" -- $call
    rc_is "$out" "$want" && killed_by "$out" "$notice" &&
      ! has "$out.out" "fl_$name($arg) =" && one_line "$out" "$ERR" "$re"
    ok=$?
    check $ok "${desc//RC/$(cat "$out.rc")}" "$out.out" "$out.err" "$out.notice"
    w=$(worker_in "$out" "$re")
    [ -n "$w" ] && grep -q "${rline//W/$w}" "$tmp/a2.rlog"
    check $? "${rdesc//W/$w}" "$tmp/a2.rlog"
  }
  crash_case bus "bus 1" 135 "Bus error" \
    "fl_bus crashed worker ([0-9]+) of runner $RA2 with signal 7 \(Bus error\); raising SIGBUS here \(on_crash = \"signal\"\)" \
    "runner: worker W died of signal 7 (Bus error); starting another" \
    "a SIGBUS in the worker (a store past the end of a mapped file): one line naming symbol, worker, runner $RA2 and signal; the caller dies of SIGBUS (exit RC, want 135)" \
    "a SIGBUS: the runner saw worker W die of signal 7 and replaces it"
  crash_case fpe "fpe 0" 136 "Floating point exception" \
    "fl_fpe crashed worker ([0-9]+) of runner $RA2 with signal 8 \(Floating point exception\); raising SIGFPE here \(on_crash = \"signal\"\)" \
    "runner: worker W died of signal 8 (Floating point exception); starting another" \
    "a SIGFPE in the worker (an integer division by a volatile zero): one line naming symbol, worker, runner $RA2 and signal; the caller dies of SIGFPE (exit RC, want 136)" \
    "a SIGFPE: the runner saw worker W die of signal 8 and replaces it"
  crash_case exit "uexit 5" 5 "" \
    "fl_uexit made worker ([0-9]+) of runner $RA2 exit with status 5; exiting with status 5 here \(on_crash = \"signal\"\)" \
    "runner: worker W exited with status 5; starting another" \
    "a _exit(5) in the worker: one line naming symbol, worker, runner $RA2 and status; the caller exits with 5 (got RC), no signal" \
    "a _exit(5): the runner saw worker W exit with status 5 and replaces it"

  # A handler that returns: dtask raises SIGSEGV through it, then restores
  # the default action and raises again, so the handler runs once and the
  # caller dies of SIGSEGV (an exit with status 139 would leave no notice).
  caller "$tmp/a2.ret" "$CFGA2" -- rethandler 1
  rc_is "$tmp/a2.ret" 139 && killed_by "$tmp/a2.ret" "Segmentation fault" &&
    [ "$(grep -c '^rethandler: caught signal 11$' "$tmp/a2.ret.out")" = 1 ] &&
    ! has "$tmp/a2.ret.out" "fl_segv(1) =" &&
    one_line "$tmp/a2.ret" "$ERR" "fl_segv crashed worker [0-9]+ of runner $RA2 $SEGV_RE; raising SIGSEGV here \(on_crash = \"signal\"\)"
  check $? "a a SIGSEGV handler that returns runs once (\"rethandler: caught signal 11\"), then the default action kills the caller with SIGSEGV (exit $(cat "$tmp/a2.ret.rc"), want 139)" \
    "$tmp/a2.ret.out" "$tmp/a2.ret.err" "$tmp/a2.ret.notice"
  # Controls: with the handler installed, a call that does not crash runs
  # no handler; plainly, the faulting store runs again after the handler
  # returns (it resets the action on its second run): two lines, SIGSEGV.
  caller "$tmp/a2.ret2" "$CFGA2" -- rethandler 2
  run_timed "$tmp/a2.pret" "$FLPROG" rethandler 1
  rc_is "$tmp/a2.ret2" 0 && has "$tmp/a2.ret2.out" "fl_segv(2) = 4 errno 0" &&
    ! grep -q '^rethandler' "$tmp/a2.ret2.out" && rc_is "$tmp/a2.pret" 139 &&
    killed_by "$tmp/a2.pret" "Segmentation fault" &&
    [ "$(grep -c '^rethandler: caught signal 11$' "$tmp/a2.pret.out")" = 2 ]
  check $? "a control: offloaded fl_segv(2) with the returning handler runs no handler (exit $(cat "$tmp/a2.ret2.rc")); without dtask fl_segv(1) runs it twice, then dies of SIGSEGV (exit $(cat "$tmp/a2.pret.rc"))" \
    "$tmp/a2.ret2.out" "$tmp/a2.ret2.err" "$tmp/a2.pret.out" "$tmp/a2.pret.notice"
  stop_runner "$RA2"
else
  not_ok "a dtask-runner -w 4 serves the queue" "$tmp/a2.rlog"
fi

# ======================================================================
# b. on_crash = "retry" ([defaults]).
# ======================================================================
CFGB3=$(mkcfg b3 fl.toml 'on_crash = "retry"' 'retries = 3')
CFGB1=$(mkcfg b1 fl.toml 'on_crash = "retry"' 'retries = 1')
if start_runner b3 "$CFGB3" 2 && RB3=$RPID && start_runner b1 "$CFGB1" 2; then
  RB1=$RPID
  cnt=$tmp/b3.count
  caller "$tmp/b3" "$CFGB3" -- crash "$cnt" 2
  B_RETRY="fl_crash_then_ok crashed worker [0-9]+ of runner $RB3 $SEGV_RE; retry"
  rc_is "$tmp/b3" 0 && has "$tmp/b3.out" "fl_crash_then_ok($cnt, 2) = 3 errno 0" &&
    [ "$(cat "$cnt")" = 3 ]
  check $? "b retries = 3: two crashes, then the third run returns 3 (ran $(cat "$cnt" 2>/dev/null) times)" \
    "$tmp/b3.out" "$tmp/b3.err"
  line_in "$tmp/b3" "$ERR" "$B_RETRY 1 of 3" &&
    line_in "$tmp/b3" "$ERR" "$B_RETRY 2 of 3" &&
    [ "$(dtask_lines "$tmp/b3" | wc -l)" = 2 ]
  check $? "b retries = 3: one line per retry at the default log level (retry 1 of 3, retry 2 of 3), nothing else" \
    "$tmp/b3.err"

  cnt=$tmp/b1.count
  caller "$tmp/b1" "$CFGB1" -- crash "$cnt" 2
  rc_is "$tmp/b1" 139 && ! grep -q '= ' "$tmp/b1.out" && [ "$(cat "$cnt")" = 2 ]
  check $? "b retries = 1: the retry crashes too, the caller dies of SIGSEGV (exit $(cat "$tmp/b1.rc"), ran $(cat "$cnt" 2>/dev/null) times)" \
    "$tmp/b1.out" "$tmp/b1.err"
  line_in "$tmp/b1" "$ERR" "fl_crash_then_ok crashed worker [0-9]+ of runner $RB1 $SEGV_RE; retry 1 of 1" &&
    line_in "$tmp/b1" "$ERR" "fl_crash_then_ok: 1 retries failed" &&
    line_in "$tmp/b1" "$ERR" "fl_crash_then_ok crashed worker [0-9]+ of runner $RB1 $SEGV_RE; raising SIGSEGV here \(on_crash = \"signal\"\)" &&
    [ "$(dtask_lines "$tmp/b1" | wc -l)" = 3 ] &&
    dtask_lines "$tmp/b1" | sed -n 2p | grep -q '1 retries failed$'
  check $? "b retries = 1: \"retry 1 of 1\", then \"1 retries failed\", then the SIGSEGV line" \
    "$tmp/b1.err"
  stop_runner "$RB3"
  stop_runner "$RB1"
else
  not_ok "b dtask-runner -w 2 serves the queues" "$tmp/b3.rlog" "$tmp/b1.rlog"
fi

# ======================================================================
# c, d (return form), e: per-entry policies (fl_entry.toml).
# ======================================================================
CFGC=$(mkcfg c fl_entry.toml 'retries = 3')
CFGE1=$(mkcfg e1 fl_entry.toml 'retries = 1')
if start_runner c "$CFGC" 2 && RC=$RPID && start_runner e1 "$CFGE1" 2; then
  RE1=$RPID
  # The timeouts first, while both workers are up (a worker that crashes
  # within a second of its start is respawned a second later).
  caller "$tmp/d.ret" "$CFGC" -- sleep 5000
  ms=$(ms_of "$tmp/d.ret")
  rc_is "$tmp/d.ret" 0 && has "$tmp/d.ret.out" "fl_sleep_ms(5000) = -1 errno ETIMEDOUT" &&
    one_line "$tmp/d.ret" "$ERR" "fl_sleep_ms ran past its timeout of 0\.2s in worker [0-9]+ of runner $RC, which killed the worker; fl_sleep_ms returns the on_timeout value"
  check $? "d on_timeout = { return = -1, errno = \"ETIMEDOUT\" }: fl_sleep_ms(5000) returns -1/ETIMEDOUT, one line" \
    "$tmp/d.ret.out" "$tmp/d.ret.err"
  [ "$ms" -ge 200 ] && [ "$ms" -lt 3000 ]
  check $? "d on_timeout return: answered after the 200 ms timeout, well before 5 s ($ms ms)"
  caller "$tmp/d.short" "$CFGC" -- sleep 10
  rc_is "$tmp/d.short" 0 && has "$tmp/d.short.out" "fl_sleep_ms(10) = 10 errno 0" &&
    [ ! -s "$tmp/d.short.err" ]
  check $? "d a call under the timeout (fl_sleep_ms(10)) returns 10, nothing on stderr" \
    "$tmp/d.short.out" "$tmp/d.short.err"

  caller "$tmp/c.segv" "$CFGC" -- segv 1
  rc_is "$tmp/c.segv" 0 && has "$tmp/c.segv.out" "fl_segv(1) = -1 errno EIO" &&
    one_line "$tmp/c.segv" "$ERR" "fl_segv crashed worker [0-9]+ of runner $RC $SEGV_RE; fl_segv returns the on_crash value"
  check $? "c on_crash = { return = -1, errno = \"EIO\" }: fl_segv(1) returns -1/EIO, exit 0, one line" \
    "$tmp/c.segv.out" "$tmp/c.segv.err"
  # Control: the policy is fl_segv's only; fl_abort keeps the default.
  caller "$tmp/c.abort" "$CFGC" -- abort 1
  rc_is "$tmp/c.abort" 134 &&
    one_line "$tmp/c.abort" "$ERR" "fl_abort crashed worker [0-9]+ of runner $RC with signal 6 \(Aborted\); raising SIGABRT here \(on_crash = \"signal\"\)"
  check $? "c control: in the same config fl_abort (no key of its own) still dies of SIGABRT (exit $(cat "$tmp/c.abort.rc"))" \
    "$tmp/c.abort.out" "$tmp/c.abort.err"

  cnt=$tmp/e3.count
  caller "$tmp/e3" "$CFGC" DTASK_LOG=info -- flaky "$cnt" 2
  rc_is "$tmp/e3" 0 && has "$tmp/e3.out" "fl_flaky($cnt, 2) = 3 errno 0" &&
    [ "$(cat "$cnt")" = 3 ]
  check $? "e retry_on_errno = [\"EAGAIN\"], retries = 3: two EAGAINs retried, returns 3 (ran $(cat "$cnt" 2>/dev/null) times)" \
    "$tmp/e3.out" "$tmp/e3.err"
  line_in "$tmp/e3" "" "fl_flaky failed with EAGAIN; retry 1 of 3" &&
    line_in "$tmp/e3" "" "fl_flaky failed with EAGAIN; retry 2 of 3" &&
    [ "$(grep -c 'retry [0-9]* of' "$tmp/e3.err")" = 2 ]
  check $? "e retries = 3: \"fl_flaky failed with EAGAIN; retry N of 3\" for N = 1, 2" \
    "$tmp/e3.err"

  cnt=$tmp/e1.count
  caller "$tmp/e1" "$CFGE1" DTASK_LOG=info -- flaky "$cnt" 2
  rc_is "$tmp/e1" 0 && has "$tmp/e1.out" "fl_flaky($cnt, 2) = -1 errno EAGAIN" &&
    [ "$(cat "$cnt")" = 2 ] &&
    line_in "$tmp/e1" "" "fl_flaky failed with EAGAIN; retry 1 of 1" &&
    [ "$(grep -c 'retry [0-9]* of' "$tmp/e1.err")" = 1 ]
  check $? "e retries = 1: one retry, then the last result as it is: -1/EAGAIN (ran $(cat "$cnt" 2>/dev/null) times)" \
    "$tmp/e1.out" "$tmp/e1.err"
  wait_empty "$CFGC" 3
  check $? "c nothing is left in the queue ($LAST)"
  stop_runner "$RC"
  stop_runner "$RE1"
else
  not_ok "c dtask-runner -w 2 serves the queues" "$tmp/c.rlog" "$tmp/e1.rlog"
fi

# ======================================================================
# d. timeout = "200ms" with on_timeout = "signal" ([defaults]); and e's
#    control: an errno not listed in retry_on_errno is not retried.
# ======================================================================
CFGD=$(mkcfg d fl.toml 'timeout = "200ms"' 'retry_on_errno = ["ETIMEDOUT"]')
if start_runner d "$CFGD" 2; then
  RD=$RPID
  caller "$tmp/d.sig" "$CFGD" -- sleep 5000
  ms=$(ms_of "$tmp/d.sig")
  D_SIG="fl_sleep_ms ran past its timeout of 0\.2s in worker ([0-9]+) of runner $RD, which killed the worker; raising SIGALRM here \(on_timeout = \"signal\"\)"
  rc_is "$tmp/d.sig" 142 && ! grep -q '= ' "$tmp/d.sig.out" &&
    one_line "$tmp/d.sig" "$ERR" "$D_SIG"
  check $? "d on_timeout = \"signal\": the caller dies of SIGALRM (exit $(cat "$tmp/d.sig.rc"), want 142), after one line" \
    "$tmp/d.sig.out" "$tmp/d.sig.err"
  [ "$ms" -ge 200 ] && [ "$ms" -lt 3000 ]
  check $? "d on_timeout = \"signal\": after the 200 ms timeout, well before 5 s ($ms ms, want < 3000)"
  w=$(worker_in "$tmp/d.sig" "$D_SIG")
  [ -n "$w" ] && grep -q "runner: worker $w ran fl_sleep_ms past its timeout; killing it" \
    "$tmp/d.rlog"
  check $? "d the runner says it killed worker $w for its timeout" "$tmp/d.rlog"
  caller "$tmp/d.short2" "$CFGD" -- sleep 10
  rc_is "$tmp/d.short2" 0 && has "$tmp/d.short2.out" "fl_sleep_ms(10) = 10 errno 0"
  check $? "d [defaults] timeout: a call under it returns 10" \
    "$tmp/d.short2.out" "$tmp/d.short2.err"

  cnt=$tmp/e.other.count
  caller "$tmp/e.other" "$CFGD" DTASK_LOG=info -- flaky "$cnt" 2
  rc_is "$tmp/e.other" 0 &&
    has "$tmp/e.other.out" "fl_flaky($cnt, 2) = -1 errno EAGAIN" &&
    [ "$(cat "$cnt")" = 1 ] && ! grep -q retry "$tmp/e.other.err"
  check $? "e control: retry_on_errno = [\"ETIMEDOUT\"] does not retry an EAGAIN (ran $(cat "$cnt" 2>/dev/null) time)" \
    "$tmp/e.other.out" "$tmp/e.other.err"
  stop_runner "$RD"
else
  not_ok "d dtask-runner -w 2 serves the queue" "$tmp/d.rlog"
fi

# ======================================================================
# f. Soak: 20,000 calls while workers are SIGKILLed every 50 ms.
# ======================================================================
# fl_add sleeps 100 us per call (FL_ADD_US) so that most kills land in
# the middle of a call.  The killer keeps a 50 ms period (it sleeps what
# is left of each period); a worker killed from outside is replaced at
# once, so nearly every period finds a worker to kill.  The caller stays
# alive after its last call (FL_HOLD) until the queue has been counted:
# a duplicate answer, or a task run twice and answered twice, would be
# left there, visible before the sweep of dead callers could hide it.
CFGF=$(mkcfg f fl.toml)
N6=20000
if start_runner f "$CFGF" 4 FL_LOG="$tmp/f.log" FL_ADD_US=100; then
  RF=$RPID
  mkfifo "$tmp/f.hold"
  # (f.out exists before the loop below first reads it: the caller, in
  # the background, may not have opened it yet.)
  : >"$tmp/f.out"
  outl=()
  caller "$tmp/f" "$CFGF" FL_HOLD="$tmp/f.hold" -- soak 4 5000 &
  cpid=$!
  kills=0
  : >"$tmp/f.killed"
  # The loop forks nothing (on a loaded machine a fork per step would
  # stretch the period): the workers come from the kernel's list of the
  # supervisor's children, the clock is $EPOCHREALTIME, and the pause is
  # a builtin read with a timeout on a FIFO that nobody writes.
  mkfifo "$tmp/f.tick"
  exec {tick}<>"$tmp/f.tick"
  us() { local t=${EPOCHREALTIME/./}; echo $((10#$t)); }
  next=$(us)
  k0=$next
  while kill -0 "$cpid" 2>/dev/null; do
    mapfile -t outl <"$tmp/f.out"
    [ "${#outl[@]}" -ge 2 ] && break # "soak: ..." is out: it holds
    ws=()
    read -ra ws <"/proc/$RF/task/$RF/children"
    if [ ${#ws[@]} -gt 0 ]; then
      victim=${ws[RANDOM % ${#ws[@]}]}
      kill -KILL "$victim" 2>/dev/null && kills=$((kills + 1)) &&
        echo "$victim" >>"$tmp/f.killed"
    fi
    next=$((next + 50000))
    t=${EPOCHREALTIME/./}
    left=$((next - 10#$t))
    [ "$left" -gt 0 ] && read -r -t "$(printf '0.%06d' "$left")" -u "$tick"
  done
  exec {tick}>&-
  t=${EPOCHREALTIME/./}
  kill_ms=$(((10#$t - k0) / 1000))
  # The caller has made its 20,000 calls and holds: count its queue.
  for i in $(seq 100); do
    grep -q '^soak: ' "$tmp/f.out" 2>/dev/null && break
    kill -0 "$cpid" 2>/dev/null || break
    sleep 0.05
  done
  alive_counts=$(counts "$CFGF")
  kill -0 "$cpid" 2>/dev/null
  held=$?
  # Release the caller (a writer that opens and closes the FIFO).
  # shellcheck disable=SC2016  # $1 is sh's
  timeout 5 sh -c ': >"$1"' sh "$tmp/f.hold"
  wait "$cpid"
  [ "$held" = 0 ] && [ "$alive_counts" = "tasks 0 claims 0 results 0" ]
  check $? "f with the caller still alive after its 20,000 calls, the queue holds nothing ($alive_counts): no answer was stored twice, no task was left behind" \
    "$(note f.alive "caller alive when counted: $([ "$held" = 0 ] && echo yes || echo no)" "$alive_counts")"
  fcaller=$(caller_pid "$tmp/f")
  rc_is "$tmp/f" 0 && has "$tmp/f.out" "soak: $N6 calls, 0 wrong" &&
    [ ! -s "$tmp/f.err" ]
  check $? "f $N6 calls from 4 threads, workers killed meanwhile: every result right, exit 0, nothing on stderr ($(ms_of "$tmp/f") ms)" \
    "$tmp/f.out" "$tmp/f.err"
  # A kill may also hit a worker that is already dead but not yet reaped:
  # count the workers that the runner saw die of the killer's SIGKILL.
  confirmed=0
  while read -r v; do
    grep -q "runner: worker $v died of signal 9 (Killed)" "$tmp/f.rlog" &&
      confirmed=$((confirmed + 1))
  done < <(sort -u "$tmp/f.killed")
  # One kill per 50 ms period is the aim; half of that is the bar (a
  # respawn that waited for the supervisor's 1 s tick would give about
  # one in 20 periods).
  want=$((kill_ms / 100))
  [ "$want" -lt 10 ] && want=10
  [ "$confirmed" -ge "$want" ]
  check $? "f $confirmed workers died of the killer's SIGKILL in $kill_ms ms, about one per $((kill_ms / (confirmed > 0 ? confirmed : 1))) ms (want >= $want: one per 100 ms at least; $kills kills sent)" \
    "$tmp/f.rlog"
  # every_ran LOG N CALLER: each id 1..N ran at least once, none in CALLER;
  # one line of details on stdout.
  every_ran() {
    awk -v n="$2" -v caller="$3" '
      $1 == "E" { lines++; seen[$2]++; if ($3 == caller) local_++
                  if ($2 < 1 || $2 > n) bad++ }
      END {
        for (id in seen) { distinct++; if (seen[id] > 1) again++ }
        printf "%d executions of %d distinct ids (want %d); %d ids ran " \
               "again after their worker was killed; %d ids outside 1..%d; " \
               "%d ran in the caller\n", lines, distinct, n, again, bad, n,
               local_
        exit !(distinct == n && bad == 0 && local_ == 0)
      }' "$1"
  }
  every_ran "$tmp/f.log" $N6 "${fcaller:-0}" >"$tmp/f.once"
  check $? "f every call executed, in a worker: $(cat "$tmp/f.once")"
  # Controls: a log with one id missing, and one run in the caller.
  sed '/^E 777 /d' "$tmp/f.log" >"$tmp/f.missing.log"
  ! every_ran "$tmp/f.missing.log" $N6 "${fcaller:-0}" >/dev/null &&
    ! every_ran "$tmp/f.log" $N6 "$(awk 'NR == 9 { print $3 }' "$tmp/f.log")" \
      >/dev/null
  check $? "f control: the checker rejects a log with id 777 missing, and calls run in the caller"
  reran=$(awk '$1 == "E" { if (seen[$2]++ == 1) n++ } END { print n + 0 }' \
    "$tmp/f.log")
  [ "$reran" -ge 1 ]
  check $? "f calls whose worker was killed mid-call ran again elsewhere ($reran ids ran twice or more)"
  sleep 1.5
  wait_empty "$CFGF" 3
  check $? "f the queue is empty after the caller exits and a sweep tick ($LAST)"
  kill -0 "$RF" 2>/dev/null
  check $? "f the runner's supervisor survived the soak" "$tmp/f.rlog"
  stop_runner "$RF"
else
  not_ok "f dtask-runner -w 4 serves the queue" "$tmp/f.rlog"
fi

# ======================================================================
# f (leases). One call whose worker is SIGKILLed from outside: it runs
#    again on another worker; killed 5 times, it is answered as a crash.
# ======================================================================
# wait_runs N PID: 0 once $tmp/k.log holds N "S PID" lines (fl_sleep_ms
# started N times), 1 if PID exits first or after 10 s.
wait_runs() {
  local i n
  for i in $(seq 1000); do
    n=$(grep -c '^S ' "$tmp/k.log" 2>/dev/null)
    [ "${n:-0}" -ge "$1" ] && return 0
    kill -0 "$2" 2>/dev/null || return 1
    sleep 0.01
  done
  return 1
}
# run_pid N: the worker of the Nth run.
run_pid() { sed -n "$1s/^S //p" "$tmp/k.log"; }
CFGK=$(mkcfg k fl.toml)
if start_runner k "$CFGK" 2 FL_LOG="$tmp/k.log"; then
  RK=$RPID
  caller "$tmp/k1" "$CFGK" -- sleep 1000 &
  cpid=$!
  wait_runs 1 "$cpid" && kill -KILL "$(run_pid 1)"
  wait "$cpid"
  v1=$(run_pid 1) v2=$(run_pid 2)
  rc_is "$tmp/k1" 0 && has "$tmp/k1.out" "fl_sleep_ms(1000) = 1000 errno 0" &&
    [ ! -s "$tmp/k1.err" ] && [ "$(grep -c '^S ' "$tmp/k.log")" = 2 ] &&
    [ -n "$v2" ] && [ "$v1" != "$v2" ]
  check $? "f lease: worker $v1 SIGKILLed mid-call; the call ran again in worker $v2 and returned 1000, nothing reported" \
    "$tmp/k1.out" "$tmp/k1.err" "$tmp/k.log"

  caller "$tmp/k5" "$CFGK" -- sleep 3000 &
  cpid=$!
  for k in 3 4 5 6 7; do
    wait_runs "$k" "$cpid" && kill -KILL "$(run_pid "$k")"
  done
  wait "$cpid"
  sleep 0.3
  runs=$(($(grep -c '^S ' "$tmp/k.log") - 2))
  rc_is "$tmp/k5" 137 && [ "$runs" = 5 ] && ! grep -q ' = ' "$tmp/k5.out" &&
    one_line "$tmp/k5" "$ERR" "fl_sleep_ms: the workers running this call were killed 5 times \(SIGKILL, e\.g\. by the OOM killer\); dtask gave up on it; raising SIGKILL here \(on_crash = \"signal\"\)"
  check $? "f lease: a call whose workers are killed 5 times ran 5 times ($runs), then is answered as a crash: one line, the caller dies of SIGKILL (exit $(cat "$tmp/k5.rc"))" \
    "$tmp/k5.out" "$tmp/k5.err" "$tmp/k.log"
  wait_empty "$CFGK" 3
  check $? "f lease: nothing is left in the queue ($LAST)"
  stop_runner "$RK"
else
  not_ok "f dtask-runner -w 2 serves the queue" "$tmp/k.rlog"
fi

echo "# failure.sh ran for $((($(date +%s%N) - t_start) / 1000000)) ms"
finish
