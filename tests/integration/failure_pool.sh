#!/bin/bash
# failure_pool.sh: integration tests of failures that the runner pool
# takes part in: the sweep of dead callers, no runner (wait_for_runner/
# on_unavailable), on_timeout = "retry", the backoff between retries
# (retry_wait, retry_max_wait) and the whole runner killed, on real
# processes only.  Its sibling failure.sh holds a. to f. (a call's crash,
# retry, timeout and errno retries, per-entry policies, the soak and the
# leases); failurefx.bash is the set-up and the helpers the two share
# (the fixtures, the queues, FL_BACKEND, SANITIZE).
#
#   g. 1,000 callers SIGKILLed while their calls wait in the queue: the
#      sweep removes their tasks and results, the runner keeps serving,
#      the queue's LMDB map does not grow over the kills;
#   h. no runner, autostart off, wait_for_runner = "1s": on_unavailable
#      "local" runs the call inline, the return form returns -1/EAGAIN,
#      "wait" blocks until a runner is started;
#   i. on_timeout = "retry" (timeout = "200ms"): a call past its timeout
#      only the first time returns after one retry (retries = 2), the
#      runner says it killed the worker; a call always past it kills its
#      caller with SIGALRM after 2 attempts (retries = 1);
#   j. backoff: retry_wait = retry_max_wait = "200ms", 3 EAGAINs: the
#      call succeeds within 3 s; "100ms", 2 EAGAINs, 10 calls: the mean
#      call is 30 to 400 ms (neither skipped nor fixed at the maximum:
#      the quickest call is under 200 ms);
#   k. the whole runner SIGKILLed (supervisor only: its workers die with
#      it within 1 s) while calls run: a dtask-runner started 1 s later
#      serves the call again (wait_for_runner = "10s"); on_unavailable =
#      "local" runs it in the caller 1 to 4 s after the kill; autostart
#      starts a new pool that serves it; a call under timeout = "2s" that
#      would run 12 s returns the on_unavailable value -1/EAGAIN within
#      6 s (the regression test for workers outliving their supervisor);
#      the first and the last again with the pool under a subreaper that
#      does not reap (a container's PID 1 that is no init): a dead
#      worker's zombie holds no lease.
# Controls show that the checks can fail (a queue that does hold more,
# calls without an EAGAIN, the dead workers under a subreaper seen as
# zombies).
#
# Programs run under `timeout 60` (except g's callers, which are killed
# on purpose, and whose pids must be their own).  The pool that k's
# caller autostarts is stopped by k, and at exit.
# Environment: as failurefx.bash says (FL_BACKEND=redis runs every case
# through the redis backend, as tests/integration/failure_pool_redis.sh
# does: in g the server's keys of the queue come back to their count
# before the kills instead of the LMDB map not growing; BUILD; SANITIZE).
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

# gkeys: the number of keys of g's queue in the redis-server.
gkeys() {
  timeout 20 redis-cli -s "$RSOCK" --scan --pattern 'dtask:{g/*' | wc -l
}

# used CONFIG: the high-water mark of CONFIG's LMDB map in bytes.
used() { timeout 20 "$QTOOL" "$1" used 2>/dev/null | sed -n 's/^used //p'; }

# all_gone PID...: 0 if none of them runs.
all_gone() {
  local p
  for p in "$@"; do
    gone "$p" || return 1
  done
}

# children PID: the pids of PID's children (a supervisor's workers), on
# one line.
children() { cat "/proc/$1/task/$1/children" 2>/dev/null; }

# ======================================================================
# g. 1,000 callers SIGKILLed while their calls wait.
# ======================================================================
# Each call sleeps 2 s: two workers serve at most a couple of calls of a
# batch before its 50 callers are killed, even when those callers start
# slowly (the ASan build); the claims still running when the last batch
# is killed end within 2 s, and the sweep then removes their results.
CFGG=$(mkcfg g fl.toml)
if start_runner g "$CFGG" 2; then
  RG=$RPID
  t0=$(date +%s%N)
  mkdir "$tmp/g.out"
  killed=0 done_=0 other=0 maxq=0
  # LMDB: the map's high-water mark; redis: the queue's keys in the
  # server, after one call (its id counter exists from then on).
  if [ "$FL_BACKEND" = redis ]; then
    caller "$tmp/g.first" "$CFGG" -- add 1 1
    k0=$(gkeys)
  fi
  u0=$(used "$CFGG") uhalf=
  # (Bash's "Killed" notices for the callers go to /dev/null.)
  for b in $(seq 20); do
    pids=()
    for k in $(seq 50); do
      # No `timeout` in between: the pid killed must be the caller's.
      env "${CLEAN[@]}" "${CALLER_ENV[@]}" DTASK_CONFIG="$CFGG" \
        LD_PRELOAD="$PRELOAD" "$FLPROG" sleep 2000 \
        >"$tmp/g.out/$b.$k" 2>&1 &
      pids+=($!)
    done
    started+=("${pids[@]}")
    # Every caller has started (it prints its pid before its call); then
    # a moment for the calls to reach the queue.
    for i in $(seq 500); do
      [ "$(grep -l '^caller pid' "$tmp/g.out/$b".* 2>/dev/null | wc -l)" -ge 50 ] &&
        break
      sleep 0.01
    done
    sleep 0.1
    c=$(counts "$CFGG")
    q=$(echo "$c" | awk '{ print $2 + $4 }')
    [ "${q:-0}" -gt "$maxq" ] && maxq=$q
    kill -KILL "${pids[@]}" 2>/dev/null
    for p in "${pids[@]}"; do
      wait "$p"
      case $? in
        137) killed=$((killed + 1)) ;;
        0) done_=$((done_ + 1)) ;;
        *) other=$((other + 1)) ;;
      esac
    done
    [ "$b" = 10 ] && uhalf=$(used "$CFGG")
  done 2>/dev/null
  echo "$c" >"$tmp/g.last"
  [ $((killed + done_)) = 1000 ] && [ "$killed" -ge 900 ] &&
    [ "$maxq" -ge 40 ]
  check $? "g 1000 callers: $killed killed while waiting, $done_ served first, $other otherwise; up to $maxq calls queued or running at a kill" \
    "$tmp/g.last"
  wait_empty "$CFGG" 8
  check $? "g the sweep removes the dead callers' tasks, claims and results ($LAST after $EMPTY_MS ms)"
  # The map's high-water mark: what the queue ever needed at once.  About
  # 150 entries are there at a time (a batch queued, the last one not yet
  # swept): tens of KiB.  A snapshot pinned by a dead caller's stale
  # reader would make every later write take new pages instead: MiBs over
  # the ~3,000 write transactions of g.
  if [ "$FL_BACKEND" = redis ]; then
    # Redis is back at its key count before the kills (the sweep runs
    # every second; a dead caller's claimed task ends within 2 s).
    for i in $(seq 80); do
      kend=$(gkeys)
      [ "$kend" = "$k0" ] && break
      sleep 0.1
    done
    [ -n "$k0" ] && [ "$kend" = "$k0" ]
    check $? "g the server's keys of the queue are back to their count before the kills ($kend, want $k0)" \
      "$tmp/g.last"
    # Control: a dead process's 1,000 blobs show in that count (the
    # pool's sweep forgets 200 entries a second: most are still there).
    timeout 20 "$QTOOL" "$CFGG" fill 1000 1024 >/dev/null 2>&1
    kfill=$(gkeys)
    [ "$((kfill - k0))" -ge 500 ]
    check $? "g control: 1,000 blobs left by a dead process show: $kfill keys (want >= $k0 + 500)"
  else
    uend=$(used "$CFGG")
    [ -n "$u0" ] && [ -n "$uhalf" ] && [ -n "$uend" ] &&
      [ $((uend - u0)) -lt 524288 ] && [ $((uend - uhalf)) -lt 131072 ]
    check $? "g the queue's map does not grow over the kills: $((${u0:-0} / 1024)) KiB used before the first batch, $((${uhalf:-0} / 1024)) KiB after 500 kills, $((${uend:-0} / 1024)) KiB after 1000 and the sweep (want < 512 KiB more in all, < 128 KiB more over the last 500)"
    # Control: a dead process's 1,000 blobs of 1 KiB, left in the queue,
    # move the measure past the bound (the sweep then removes them).
    ufill=$(timeout 20 "$QTOOL" "$CFGG" fill 1000 1024 2>&1 |
      sed -n 's/^used //p')
    [ -n "$ufill" ] && [ -n "$u0" ] && [ $((ufill - u0)) -ge 524288 ]
    check $? "g control: 1 MiB left in the queue by a dead process shows: $((${ufill:-0} / 1024)) KiB used (want >= $((${u0:-0} / 1024 + 512)) KiB)"
  fi
  caller "$tmp/g.after" "$CFGG" -- add 2 3
  kill -0 "$RG" 2>/dev/null && rc_is "$tmp/g.after" 0 &&
    has "$tmp/g.after.out" "fl_add(2, 3) = 5 errno 0" "served by worker"
  check $? "g the runner is alive and serves a fresh call" \
    "$tmp/g.after.out" "$tmp/g.after.err" "$tmp/g.rlog"
  ms=$((($(date +%s%N) - t0) / 1000000))
  # A bound against a hang, not a figure: the ASan build runs the 1,000
  # callers about twice as slowly.
  gmax=60
  [ "$SANITIZE" = 1 ] && gmax=120
  [ "$ms" -lt $((gmax * 1000)) ]
  check $? "g took $ms ms (want < $gmax s)"
  stop_runner "$RG"
else
  not_ok "g dtask-runner -w 2 serves the queue" "$tmp/g.rlog"
fi

# ======================================================================
# h. No runner: wait_for_runner = "1s", then on_unavailable.
# ======================================================================
# A call that finds no recent heartbeat counts wait_for_runner from its
# start and gives up when it ends (not at the next 1 s tick): with "1s",
# after 1 s.  The upper bound leaves room for a loaded machine.
CFGHL=$(mkcfg hl fl.toml 'wait_for_runner = "1s"')
CFGHR=$(mkcfg hr fl.toml 'wait_for_runner = "1s"' \
  'on_unavailable = { return = -1, errno = "EAGAIN" }')
CFGHW=$(mkcfg hw fl.toml 'wait_for_runner = "1s"' 'on_unavailable = "wait"')
# The three run side by side.
caller "$tmp/h.local" "$CFGHL" -- add 2 3 &
hl=$!
caller "$tmp/h.ret" "$CFGHR" -- segv 2 &
hr=$!
caller "$tmp/h.wait" "$CFGHW" -- add 2 3 &
hw=$!
t0=$(date +%s%N)
wait "$hl" "$hr"
# norun NAME: the start of the message for the queue of config NAME.
norun() { echo "no runner has served $(re "$root/$1/q")/flprog-[0-9a-f]{16} for 1s"; }
rc_is "$tmp/h.local" 0 && has "$tmp/h.local.out" "fl_add(2, 3) = 5 errno 0" \
  "served by the caller" &&
  line_in "$tmp/h.local" "$ERR" "$(norun hl) \(start one with dtask-runner, or set \[runner\] autostart = true\); calling fl_add inline" &&
  line_in "$tmp/h.local" "$ERR" "$(norun hl) \(start one with dtask-runner, or set \[runner\] autostart = true\); calling fl_pid inline" &&
  [ "$(dtask_lines "$tmp/h.local" | wc -l)" = 2 ]
check $? "h on_unavailable = \"local\": fl_add and fl_pid run in the caller, one line each" \
  "$tmp/h.local.out" "$tmp/h.local.err"
ms=$(ms_of "$tmp/h.local")
[ "$ms" -ge 2000 ] && [ "$ms" -lt 7000 ]
check $? "h \"local\": two calls, each waited for a runner before running inline ($ms ms)"
rc_is "$tmp/h.ret" 0 && has "$tmp/h.ret.out" "fl_segv(2) = -1 errno EAGAIN" &&
  one_line "$tmp/h.ret" "$ERR" "$(norun hr) \(start one with dtask-runner, or set \[runner\] autostart = true\); fl_segv returns the on_unavailable value"
check $? "h on_unavailable = { return = -1, errno = \"EAGAIN\" }: -1/EAGAIN, one line" \
  "$tmp/h.ret.out" "$tmp/h.ret.err"
ms=$(ms_of "$tmp/h.ret")
# At least the configured second; the upper bound only has to tell the
# configured value from the default (30 s), so it leaves 4 s for load.
[ "$ms" -ge 1000 ] && [ "$ms" -lt 5000 ]
check $? "h timing: with wait_for_runner = \"1s\" the call gave up after $ms ms (want 1000 to 5000; the default would be 30000)"
[ "$(counts "$CFGHR")" = "tasks 0 claims 0 results 0" ]
check $? "h the given-up call's task is not left in the queue ($(counts "$CFGHR"))"

# "wait": still waiting well past wait_for_runner; a runner started later
# serves it.
for i in $(seq 300); do
  grep -q 'waits for one' "$tmp/h.wait.err" 2>/dev/null && break
  sleep 0.02
done
sleep 2
kill -0 "$hw" 2>/dev/null && ! grep -q ' = ' "$tmp/h.wait.out"
still=$?
waited=$((($(date +%s%N) - t0) / 1000000))
one_line "$tmp/h.wait" "$ERR" "$(norun hw); call [0-9]+ of fl_add waits for one \(on_unavailable = \"wait\"\): start one with dtask-runner" &&
  [ $still = 0 ]
check $? "h on_unavailable = \"wait\": one line, and the call still waits after $waited ms" \
  "$tmp/h.wait.err"
if start_runner hw "$CFGHW" 2; then
  RHW=$RPID
  t1=$(date +%s%N)
  wait "$hw"
  ms=$((($(date +%s%N) - t1) / 1000000))
  w=$(sed -n 's/^served by worker //p' "$tmp/h.wait.out")
  rc_is "$tmp/h.wait" 0 && has "$tmp/h.wait.out" "fl_add(2, 3) = 5 errno 0" &&
    [ -n "$w" ] && [ "$ms" -lt 5000 ]
  check $? "h \"wait\": the runner started later serves it ($ms ms after its start): 5, then fl_pid in its worker $w" \
    "$tmp/h.wait.out" "$tmp/h.wait.err"
  stop_runner "$RHW"
else
  not_ok "h dtask-runner -w 2 serves the queue" "$tmp/hw.rlog"
fi

# ======================================================================
# i. on_timeout = "retry" ([defaults], timeout = "200ms").
# ======================================================================
# fl_slow_once sleeps 1 s on its first run only (a counter file) and
# returns the number of its run.
CFGI2=$(mkcfg i2 fl.toml 'timeout = "200ms"' 'on_timeout = "retry"' 'retries = 2')
CFGI1=$(mkcfg i1 fl.toml 'timeout = "200ms"' 'on_timeout = "retry"' 'retries = 1')
if start_runner i2 "$CFGI2" 2 FL_LOG="$tmp/i2.log" && RI2=$RPID &&
  start_runner i1 "$CFGI1" 2 FL_LOG="$tmp/i1.log"; then
  RI1=$RPID
  cnt=$tmp/i2.count
  caller "$tmp/i2" "$CFGI2" -- slow "$cnt" 1000
  ms=$(ms_of "$tmp/i2")
  I_TMO="fl_slow_once ran past its timeout of 0\.2s in worker ([0-9]+) of runner $RI2, which killed the worker"
  rc_is "$tmp/i2" 0 && has "$tmp/i2.out" "fl_slow_once($cnt, 1000) = 2 errno 0" &&
    [ "$(cat "$cnt")" = 2 ] && [ "$(grep -c '^S ' "$tmp/i2.log")" = 2 ] &&
    [ "$ms" -ge 200 ]
  check $? "i on_timeout = \"retry\", retries = 2: the first run (1 s) is killed at 200 ms, the retry returns 2 (ran $(cat "$cnt" 2>/dev/null) times, $ms ms)" \
    "$tmp/i2.out" "$tmp/i2.err" "$tmp/i2.log"
  line_in "$tmp/i2" "$ERR" "$I_TMO; retry 1 of 2" &&
    [ "$(dtask_lines "$tmp/i2" | wc -l)" = 1 ]
  check $? "i the caller says it, once: \"... which killed the worker; retry 1 of 2\"" \
    "$tmp/i2.err"
  w=$(worker_in "$tmp/i2" "$I_TMO")
  [ -n "$w" ] && grep -q "runner: worker $w ran fl_slow_once past its timeout; killing it" \
    "$tmp/i2.rlog" && [ "$(sed -n '1s/^S //p' "$tmp/i2.log")" = "$w" ] &&
    [ "$(sed -n '2s/^S //p' "$tmp/i2.log")" != "$w" ]
  check $? "i the runner log says it killed worker $w, which ran the first attempt; the retry ran in another worker" \
    "$tmp/i2.rlog" "$tmp/i2.log"

  caller "$tmp/i1" "$CFGI1" -- sleep 5000
  ms=$(ms_of "$tmp/i1")
  I1="fl_sleep_ms ran past its timeout of 0\.2s in worker [0-9]+ of runner $RI1, which killed the worker"
  runs=$(grep -c '^S ' "$tmp/i1.log")
  rc_is "$tmp/i1" 142 && killed_by "$tmp/i1" "Alarm clock" &&
    ! grep -q ' = ' "$tmp/i1.out" && [ "$runs" = 2 ] &&
    line_in "$tmp/i1" "$ERR" "$I1; retry 1 of 1" &&
    line_in "$tmp/i1" "$ERR" "fl_sleep_ms: 1 retries failed" &&
    line_in "$tmp/i1" "$ERR" "$I1; raising SIGALRM here \(on_timeout = \"signal\"\)" &&
    [ "$(dtask_lines "$tmp/i1" | wc -l)" = 3 ]
  check $? "i on_timeout = \"retry\", retries = 1, a call always past its timeout: $runs attempts (want 2), \"retry 1 of 1\", \"1 retries failed\", then the caller dies of SIGALRM (exit $(cat "$tmp/i1.rc"), want 142)" \
    "$tmp/i1.out" "$tmp/i1.err" "$tmp/i1.notice" "$tmp/i1.log"
  [ "$ms" -ge 400 ] && [ "$ms" -lt 4000 ]
  check $? "i two timeouts of 200 ms, well before the 5 s the function wanted ($ms ms, want 400 to 4000)"
  stop_runner "$RI2"
  stop_runner "$RI1"
else
  not_ok "i dtask-runner -w 2 serves the queues" "$tmp/i2.rlog" "$tmp/i1.rlog"
fi

# ======================================================================
# j. Backoff: retry_wait, retry_max_wait, full jitter.
# ======================================================================
# flprog flakyloop times each call of fl_flaky in the caller (no process
# start in the figure).  Before retry k dtask pauses for a time drawn
# uniformly from [0, min(retry_max_wait, retry_wait * 2^(k-1))].
CFGJ2=$(mkcfg j2 fl.toml 'retry_on_errno = ["EAGAIN"]' 'retries = 3' \
  'retry_wait = "200ms"' 'retry_max_wait = "200ms"')
CFGJ1=$(mkcfg j1 fl.toml 'retry_on_errno = ["EAGAIN"]' 'retries = 3' \
  'retry_wait = "100ms"' 'retry_max_wait = "100ms"')
# loop_stat OUT FIELD: "mean", "min" or "max" of flakyloop, in ms.
loop_stat() {
  sed -n "s/^flakyloop: .* $2 \([0-9]*\) us.*/\1/p" "$1.out" |
    awk '{ printf "%d", $1 / 1000 }'
}
if start_runner j2 "$CFGJ2" 2 && RJ2=$RPID && start_runner j1 "$CFGJ1" 2; then
  RJ1=$RPID
  caller "$tmp/j2" "$CFGJ2" -- flakyloop "$tmp/j2.count" 3 1
  us=$(sed -n 's/^fl_flaky(.*) = 4 errno 0 in \([0-9]*\) us$/\1/p' "$tmp/j2.out")
  rc_is "$tmp/j2" 0 && [ "$(cat "$tmp/j2.count.1")" = 4 ] && [ -n "$us" ] &&
    [ "$us" -lt 3000000 ]
  check $? "j retry_wait = retry_max_wait = \"200ms\", retries = 3: three EAGAINs, the 4th run returns 4 after $((${us:-0} / 1000)) ms (3 pauses of at most 200 ms: want < 3 s)" \
    "$tmp/j2.out" "$tmp/j2.err"

  caller "$tmp/j1" "$CFGJ1" -- flakyloop "$tmp/j1.count" 2 10
  mean=$(loop_stat "$tmp/j1" mean) lo=$(loop_stat "$tmp/j1" min)
  hi=$(loop_stat "$tmp/j1" max)
  rc_is "$tmp/j1" 0 && has "$tmp/j1.out" "flakyloop: 10 calls, 10 returned 3," &&
    [ "$(cat "$tmp/j1.count".* | sort -u)" = 3 ]
  check $? "j retry_wait = retry_max_wait = \"100ms\": 10 calls, each two EAGAINs then 3" \
    "$tmp/j1.out" "$tmp/j1.err"
  [ -n "$mean" ] && [ "$mean" -ge 30 ] && [ "$mean" -lt 400 ]
  check $? "j the pauses are neither skipped nor fixed at the maximum: $mean ms per call on average (two pauses uniform in [0, 100 ms]: 100 ms expected; want 30 to 400)" \
    "$tmp/j1.out"
  [ -n "$lo" ] && [ "$lo" -lt 190 ]
  check $? "j full jitter: the quickest of the 10 calls took $lo ms, the slowest $hi ms (a pause fixed at retry_max_wait makes every call >= 200 ms)" \
    "$tmp/j1.out"
  # Control: without an EAGAIN there is no pause, and the calls are far
  # below the 30 ms floor.
  caller "$tmp/j0" "$CFGJ1" -- flakyloop "$tmp/j0.count" 0 10
  mean0=$(loop_stat "$tmp/j0" mean)
  rc_is "$tmp/j0" 0 && has "$tmp/j0.out" "flakyloop: 10 calls, 10 returned 1," &&
    [ -n "$mean0" ] && [ "$mean0" -lt 30 ]
  check $? "j control: the same 10 calls without an EAGAIN take $mean0 ms each on average (want < 30): the floor above is the backoff's" \
    "$tmp/j0.out" "$tmp/j0.err"
  stop_runner "$RJ2"
  stop_runner "$RJ1"
else
  not_ok "j dtask-runner -w 2 serves the queues" "$tmp/j2.rlog" "$tmp/j1.rlog"
fi

# ======================================================================
# k. The whole runner SIGKILLed while a call runs.
# ======================================================================
# Six pools, one call each; their supervisors are SIGKILLed at once while
# the calls run (fl_slow_once: 5 s on its first run, at once on the next;
# fl_sleep_ms(12000) under timeout = "2s").  The workers die with their
# supervisor (PR_SET_PDEATHSIG), and their leases lapse:
#   kra  autostart off, wait_for_runner = "10s": a dtask-runner started 1 s
#        later requeues the call, which runs again in one of its workers;
#   krb  wait_for_runner = "1s", on_unavailable = "local": the call runs in
#        the caller, 1 to 4 s after the kill (the next 1 s tick, then
#        wait_for_runner);
#   krc  [runner] autostart = true: the caller's shim starts a new pool,
#        which serves the call;
#   kr6  timeout = "2s", wait_for_runner = "1s", on_unavailable = { return
#        = -1, errno = "EAGAIN" }: -1/EAGAIN within 6 s.  (The regression
#        test: a worker that outlived its supervisor ran its call on,
#        untimed, and kept a live lease, so the caller waited the full
#        12 s.)
#   kza, kz6  kra and kr6 again, with the pool under a subreaper that does
#        not reap (flprog reaper, for 6 s: a container whose PID 1 is no
#        init): the dead workers stay zombies.  A zombie is no live lease,
#        so the call is requeued (kza) or given up (kz6) as above, within
#        4.5 s, not once the zombies are reaped.  (A lease check that
#        takes kill(pid, 0) == 0 for a live worker is true of a zombie
#        too: it makes these calls wait for the reaper, 6 s, and krb and
#        kr6 wait for init here, which reaps orphans a second or two late.)
# The autostarted pool (krc) is looked at first, before its idle_exit.
CFGKA=$(mkcfg kra fl.toml 'wait_for_runner = "10s"')
CFGKB=$(mkcfg krb fl.toml 'wait_for_runner = "1s"' 'on_unavailable = "local"')
CFGKC=$(RUNNER_KEYS=$'autostart = true\nidle_exit = "5s"' mkcfg krc fl.toml \
  'wait_for_runner = "10s"')
K6=('timeout = "2s"' 'wait_for_runner = "1s"'
    'on_unavailable = { return = -1, errno = "EAGAIN" }')
CFGK6=$(mkcfg kr6 fl.toml "${K6[@]}")
CFGZA=$(mkcfg kza fl.toml 'wait_for_runner = "10s"')
CFGZ6=$(mkcfg kz6 fl.toml "${K6[@]}")
# first_run LOG PID: 0 once LOG has an "S " line, 1 if PID exits first or
# after 10 s.
first_run() {
  local i
  for i in $(seq 1000); do
    grep -q '^S ' "$1" 2>/dev/null && return 0
    kill -0 "$2" 2>/dev/null || return 1
    sleep 0.01
  done
  return 1
}
# run_in LOG N: the pid of the Nth run in LOG.
run_in() { sed -n "$2s/^S //p" "$1"; }
# since_kill OUT: milliseconds from the kill to the end of the run OUT.
since_kill() { echo $((($(cat "$1.end") - t_kill) / 1000000)); }
# slow_ok OUT: the run OUT returned 2 from its call of fl_slow_once, which
# ran twice (its counter and its execution log say so).
slow_ok() {
  rc_is "$1" 0 && has "$1.out" "fl_slow_once($1.count, 5000) = 2 errno 0" &&
    [ "$(cat "$1.count")" = 2 ] && [ "$(grep -c '^S ' "$1.log")" = 2 ]
}
kpools=()
kjobs=()
up=1
for k in kra:"$CFGKA" krb:"$CFGKB" krc:"$CFGKC" kr6:"$CFGK6" \
  kza:"$CFGZA" kz6:"$CFGZ6"; do
  n=${k%%:*}
  RUNNER_WRAP=()
  case $n in kz*) RUNNER_WRAP=("$FLPROG" reaper 6) ;; esac
  start_runner "$n" "${k#*:}" 2 FL_LOG="$tmp/$n.log" || { up=0; break; }
  kpools+=("$RPID")
  kjobs+=("$RJOB")
done
RUNNER_WRAP=()
if [ "$up" = 1 ]; then
  caller "$tmp/kra" "$CFGKA" -- slow "$tmp/kra.count" 5000 &
  cpids=($!)
  caller "$tmp/krb" "$CFGKB" FL_LOG="$tmp/krb.log" -- slow "$tmp/krb.count" 5000 &
  cpids+=($!)
  # (Its environment is the autostarted pool's: FL_LOG, and DTASK_LOG=info
  # for the pool's "runner N serves" line in its runner.log.)
  caller "$tmp/krc" "$CFGKC" DTASK_LOG=info FL_LOG="$tmp/krc.log" -- \
    slow "$tmp/krc.count" 5000 &
  cpids+=($!)
  caller "$tmp/kr6" "$CFGK6" -- sleep 12000 &
  cpids+=($!)
  caller "$tmp/kza" "$CFGZA" -- slow "$tmp/kza.count" 5000 &
  cpids+=($!)
  caller "$tmp/kz6" "$CFGZ6" -- sleep 12000 &
  cpids+=($!)
  running=0
  i=0
  for n in kra krb krc kr6 kza kz6; do
    first_run "$tmp/$n.log" "${cpids[i]}" || running=1
    i=$((i + 1))
  done
  ws=() zws=()
  for i in "${!kpools[@]}"; do
    read -ra more <<<"$(children "${kpools[i]}")"
    ws+=("${more[@]}")
    [ "$i" -ge 4 ] && zws+=("${more[@]}") # kza's and kz6's
  done
  t_kill=$(date +%s%N)
  kill -KILL "${kpools[@]}"
  # (`timeout` dies of its command's SIGKILL: bash's notices go here.)
  { wait "${kjobs[@]:0:4}"; } 2>/dev/null
  for i in $(seq 100); do
    left=0
    for p in "${kpools[@]}" "${ws[@]}"; do
      gone "$p" || left=$((left + 1))
    done
    [ "$left" = 0 ] && break
    sleep 0.01
  done
  gone_ms=$((($(date +%s%N) - t_kill) / 1000000))
  ran_in_ws=0
  for n in kra krb krc kr6 kza kz6; do
    case " ${ws[*]} " in *" $(run_in "$tmp/$n.log" 1) "*) ran_in_ws=$((ran_in_ws + 1)) ;; esac
  done
  [ "$running" = 0 ] && [ "${#ws[@]}" = 12 ] && [ "$ran_in_ws" = 6 ] &&
    [ "$left" = 0 ] && [ "$gone_ms" -lt 1000 ]
  check $? "k the 6 calls ran in workers of the 6 pools ($ran_in_ws of 6); SIGKILL to the 6 supervisors alone: their ${#ws[@]} workers (want 12) die with them within $gone_ms ms (want < 1 s; $left processes left)" \
    "$(note k.ws "workers: ${ws[*]}" "runs: $(cat "$tmp"/k[rz]?.log | tr '\n' ' ')")"
  zombies=0
  for p in "${zws[@]}"; do
    st=
    { read -r st <"/proc/$p/stat"; } 2>/dev/null
    st=${st##*) }
    [ "${st:0:1}" = Z ] && zombies=$((zombies + 1))
  done
  [ "${#zws[@]}" = 4 ] && [ "$zombies" = 4 ]
  check $? "k control: under the subreaper that does not reap, the dead workers of kza and kz6 are zombies ($zombies of ${#zws[@]}, want 4)" \
    "$(note k.zws "workers: ${zws[*]}")"

  # kra, kza: a new runner, 1 s after the kill.
  ms=$(((t_kill + 1000000000 - $(date +%s%N)) / 1000000))
  [ "$ms" -gt 0 ] && sleep "$(printf '%d.%03d' $((ms / 1000)) $((ms % 1000)))"
  RKA2='' RZA2=''
  if start_runner kra2 "$CFGKA" 2 FL_LOG="$tmp/kra.log" && RKA2=$RPID &&
    start_runner kza2 "$CFGZA" 2 FL_LOG="$tmp/kza.log"; then
    RZA2=$RPID
  else
    not_ok "k a new dtask-runner -w 2 serves the queues of kra and kza" \
      "$tmp/kra2.rlog" "$tmp/kza2.rlog"
  fi
  wait "${cpids[2]}"
  # krc: the pool the caller's shim started (its pid from its runner.log;
  # the cleanup stops it if this script does not).
  krcq=$("$QTOOL" "$CFGKC" dir)
  auto=$(sed -n 's/.*: runner \([0-9][0-9]*\) serves .*/\1/p' \
    "$krcq/runner.log" 2>/dev/null | head -n 1)
  [ -n "$auto" ] && started+=("$auto")
  autows=$([ -n "$auto" ] && children "$auto")
  v2=$(run_in "$tmp/krc.log" 2)
  pp=$([ -n "$v2" ] && ps -o ppid= -p "$v2" | tr -d ' ')
  slow_ok "$tmp/krc" && [ -n "$auto" ] && [ "$auto" != "${kpools[2]}" ] &&
    [ "$pp" = "$auto" ] &&
    line_in "$tmp/krc" "" "autostarted a runner for $(re "$krcq") \(log: $(re "$krcq/runner.log")\)" &&
    ! grep -q "^dtask\[[0-9]*\]: $ERR" "$tmp/krc.err"
  check $? "k [runner] autostart = true: after the kill the caller's shim started a pool (${auto:-none}), which ran the call again in its worker ${v2:-?} (parent ${pp:-?}) and returned 2, no error ($(since_kill "$tmp/krc") ms after the kill)" \
    "$tmp/krc.out" "$tmp/krc.err" "$tmp/krc.log" "$krcq/runner.log"
  # shellcheck disable=SC2086  # the workers' pids, one word each
  [ -n "$auto" ] && [ -n "$autows" ] && stop_runner "$auto" && sleep 0.1 &&
    all_gone $autows
  check $? "k the autostarted pool ${auto:-?} stops on SIGTERM, its workers ($autows) with it" \
    "$krcq/runner.log"

  wait "${cpids[@]}"

  v1=$(run_in "$tmp/kra.log" 1) v2=$(run_in "$tmp/kra.log" 2)
  pp=$([ -n "$v2" ] && ps -o ppid= -p "$v2" | tr -d ' ')
  after=$(since_kill "$tmp/kra")
  slow_ok "$tmp/kra" && [ -n "$RKA2" ] && [ "$pp" = "$RKA2" ] &&
    [ ! -s "$tmp/kra.err" ] && [ "$after" -ge 1000 ]
  check $? "k autostart off, wait_for_runner = \"10s\": the call killed in worker $v1 of runner ${kpools[0]} ran again in worker $v2 of the runner started 1 s later (${RKA2:-none}; its parent: ${pp:-?}), returned 2, $after ms after the kill, nothing on stderr" \
    "$tmp/kra.out" "$tmp/kra.err" "$tmp/kra.log" "$tmp/kra2.rlog"

  after=$(since_kill "$tmp/krb")
  cp=$(caller_pid "$tmp/krb")
  slow_ok "$tmp/krb" && [ -n "$cp" ] && [ "$(run_in "$tmp/krb.log" 2)" = "$cp" ] &&
    one_line "$tmp/krb" "$ERR" "no runner has served $(re "$root/krb/q")/flprog-[0-9a-f]{16} for 1s \(start one with dtask-runner, or set \[runner\] autostart = true\); calling fl_slow_once inline"
  check $? "k wait_for_runner = \"1s\", on_unavailable = \"local\": the call ran again in the caller ($cp) and returned 2, after one \"no runner has served\" line" \
    "$tmp/krb.out" "$tmp/krb.err" "$tmp/krb.log"
  [ "$after" -ge 1000 ] && [ "$after" -lt 4000 ]
  check $? "k \"local\": the caller gave up on the runner $after ms after the kill (want 1000 to 4000)"

  after=$(since_kill "$tmp/kr6")
  rc_is "$tmp/kr6" 0 && has "$tmp/kr6.out" "fl_sleep_ms(12000) = -1 errno EAGAIN" &&
    [ "$(grep -c '^S ' "$tmp/kr6.log")" = 1 ] &&
    one_line "$tmp/kr6" "$ERR" "no runner has served $(re "$root/kr6/q")/flprog-[0-9a-f]{16} for 1s \(start one with dtask-runner, or set \[runner\] autostart = true\); fl_sleep_ms returns the on_unavailable value"
  check $? "k only the supervisor SIGKILLed, timeout = \"2s\", on_unavailable = { return = -1, errno = \"EAGAIN\" }: fl_sleep_ms(12000) returns -1/EAGAIN, one line, ran once" \
    "$tmp/kr6.out" "$tmp/kr6.err" "$tmp/kr6.log"
  [ "$after" -ge 1000 ] && [ "$after" -lt 6000 ]
  check $? "k the orphaned call's worker is not waited for: -1/EAGAIN $after ms after the kill (want 1000 to 6000, not 12 s)"

  # Under the subreaper that does not reap.
  zw=$(run_in "$tmp/kza.log" 1)
  v2=$(run_in "$tmp/kza.log" 2)
  pp=$([ -n "$v2" ] && ps -o ppid= -p "$v2" | tr -d ' ')
  after=$(since_kill "$tmp/kza")
  slow_ok "$tmp/kza" && [ -n "$RZA2" ] && [ "$pp" = "$RZA2" ]
  check $? "k the call's worker $zw, killed with its supervisor, is a zombie (nothing reaps it): the call ran again in worker ${v2:-?} of the runner started 1 s later (${RZA2:-none}; parent ${pp:-?}), returned 2" \
    "$tmp/kza.out" "$tmp/kza.err" "$tmp/kza.log" "$tmp/kza2.rlog"
  [ "$after" -lt 4500 ]
  check $? "k a zombie holds no lease: the new runner requeued the zombie's call at once, served $after ms after the kill (want < 4500; the subreaper reaped at 6000)" \
    "$tmp/kza2.rlog"
  after=$(since_kill "$tmp/kz6")
  rc_is "$tmp/kz6" 0 && has "$tmp/kz6.out" "fl_sleep_ms(12000) = -1 errno EAGAIN" &&
    one_line "$tmp/kz6" "$ERR" "no runner has served $(re "$root/kz6/q")/flprog-[0-9a-f]{16} for 1s \(start one with dtask-runner, or set \[runner\] autostart = true\); fl_sleep_ms returns the on_unavailable value"
  check $? "k the same with on_unavailable = { return = -1, errno = \"EAGAIN\" }: fl_sleep_ms(12000) returns -1/EAGAIN, one line" \
    "$tmp/kz6.out" "$tmp/kz6.err"
  [ "$after" -ge 1000 ] && [ "$after" -lt 4500 ]
  check $? "k a zombie holds no lease: -1/EAGAIN $after ms after the kill (want 1000 to 4500; the subreaper reaped at 6000)"

  [ -n "$RKA2" ] && stop_runner "$RKA2"
  [ -n "$RZA2" ] && stop_runner "$RZA2"
  left=
  for c in "$CFGKA" "$CFGKB" "$CFGKC" "$CFGK6" "$CFGZA" "$CFGZ6"; do
    n=$(counts "$c")
    [ "$n" = "tasks 0 claims 0 results 0" ] || left="$left ${c##*/}: $n;"
  done
  [ -z "$left" ]
  check $? "k nothing is left in the six queues${left:-}"
else
  not_ok "k dtask-runner -w 2 serves the six queues" "$tmp/kra.rlog" \
    "$tmp/krb.rlog" "$tmp/krc.rlog" "$tmp/kr6.rlog" "$tmp/kza.rlog" \
    "$tmp/kz6.rlog"
fi

echo "# failure_pool.sh ran for $((($(date +%s%N) - t_start) / 1000000)) ms"
finish
