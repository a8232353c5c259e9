#!/bin/bash
# offload.sh: integration tests of the offload path (caller, LMDB queue,
# runner pool, dtask run, dtask-runner, autostart), on real processes only.
#
#   1. every signature form of libfix gives byte-identical stdout offloaded
#      (dtask run -w 1 and -w 3) and run plainly, and every call is
#      offloaded (the summary counts them all, nothing runs inline), also
#      for a program that reaches libfix only through dlopen;
#   2. 8 caller threads x 10,000 calls against 4 workers: every result is
#      right and every call ran exactly once, in a worker;
#   3. fork after offloaded calls, then calls in parent and child;
#   4. malformed task records written straight into the queue are answered
#      with an error (an object section with a NUL in its path, too), a
#      task naming another build at a relative path is refused, and the
#      runner keeps serving;
#   5. a runner serving a different config refuses the tasks, with a clear
#      message, and the calls run inline;
#   6. a queue directory open to others or owned by another user is refused
#      (the caller's calls run inline; dtask run does not start PROG);
#   7. autostart: one pool for concurrent callers, and idle_exit;
#   8. dtask run: config errors (exit 2), PROG's exit status, the summary;
#   9. SIGTERM to a pool with a call in flight (held in its worker until
#      the signal has reached that worker).
# Controls show that the checks can fail (a run without the shim, a
# doctored log, sync mode, a runner with the caller's config).
#
# The programs are the fixtures of tests/fixtures/interpose and
# tests/fixtures/offload (libol.so, olprog), and the queue tool
# tests/fixtures/qtool.c, built into $BUILD/fixtures/.  Every queue is a fresh directory under one private
# (0700) directory in /dev/shm, removed at exit; every runner this script
# starts (and every autostarted one) is stopped at exit.  Every program
# runs under `timeout 60`.
#
# Environment: BUILD (default build); SANITIZE=1 when the shim and the
# commands were built with ASan/UBSan: the ASan runtime is preloaded, first
# for the callers started here; dtask run and dtask-runner put the shim in
# front of it in the programs they start, so verify_asan_link_order=0 is
# set for them.
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

DTASK=$BUILD/dtask
RUNNER=$BUILD/dtask-runner
SHIM=$BUILD/libdtask_shim.so
FIX=$BUILD/fixtures/interpose
OL=$BUILD/fixtures/offload
QTOOL=$BUILD/fixtures/qtool
# qtool opens the queue of this program image (each image has its own).
export QTOOL_PROG=$OL/olprog
need_built "dtask, the shim and the fixtures are built" \
  "make all: tests/fixtures/{interpose,offload}/build.sh, qtool" \
  "$DTASK" "$RUNNER" "$SHIM" "$FIX/fixprog_lazy" "$FIX/fix.toml" \
  "$OL/olprog" "$QTOOL" "$OL/libol.so" "$OL/ol.toml" "$OL/ol_b.toml"

# ASan's own signal handlers stay on, as they always have here.
ASAN_HANDLERS=asan
# shellcheck source=tests/integration/asanfx.bash
. "$(dirname "$0")/asanfx.bash"
# kill_ours (procs.bash) knows our processes by either fixture directory;
# start_runner starts pools of olprog, with a 60 s limit.
OURS=$OL/$'\n'$FIX/
RUNNER_PROG=$OL/olprog
RUNNER_TMO=60
# shellcheck source=tests/integration/procs.bash
. "$(dirname "$0")/procs.bash"

# Variables of ours that must not leak in from the caller's environment.
CLEAN=("${CLEAN_DTASK[@]}" -u OL_LOG)

# Programs run in this directory: no stray ./dtask.toml takes part.
scratch_dir offload /dev/shm

# Processes started here that may outlive their case (pids).
started=()

cleanup() {
  local pids=("${started[@]}") more
  # Autostarted pools name themselves in runner.log.
  mapfile -t more < <(pools_named_in "$root"/*/q/*/runner.log)
  pids+=("${more[@]}")
  kill_ours "${pids[@]}"
  cd / && rm -rf "$root"
}
trap cleanup EXIT

# mkcfg NAME BASE [RUNNER-TABLE-LINES...]: writes $root/NAME.toml = BASE
# plus a queue in $root/NAME/q (created by dtask itself) and a [runner]
# table (default: autostart = false); prints its path.
mkcfg() {
  local name=$1 base=$2
  shift 2
  {
    cat "$base"
    printf '\n[queue]\npath = "%s"\nmap_size = "64MiB"\n\n[runner]\n' \
      "$root/$name/q"
    if [ $# -eq 0 ]; then
      echo 'autostart = false'
    else
      printf '%s\n' "$@"
    fi
  } >"$root/$name.toml"
  mkdir -m 700 "$root/$name"
  echo "$root/$name.toml"
}

T_RE='[0-9]+\.[0-9]+ (us|ms)'

# check_once LOG N CALLER_PID: the "E ID PID" lines of LOG name each id
# 1..N exactly once, none run by CALLER_PID.  One line of details on stdout.
check_once() {
  awk -v n="$2" -v caller="$3" '
    $1 == "E" { lines++; seen[$2]++; if ($3 == caller) local_++
                if ($2 < 1 || $2 > n) bad++ }
    END {
      for (id in seen) { distinct++; if (seen[id] > 1) dup++ }
      missing = n - distinct + bad
      printf "%d executions of %d distinct ids (want %d); %d ids ran more " \
             "than once, %d ids outside 1..%d, %d never ran; %d ran in " \
             "the caller\n", lines, distinct, n, dup, bad, n, missing, local_
      exit !(lines == n && distinct == n && dup == 0 && bad == 0 &&
             local_ == 0)
    }' "$1"
}

# ======================================================================
# 1. Every signature form: byte-identical results, offloaded and local.
# ======================================================================
CFG1=$(mkcfg c1 "$FIX/fix.toml")
# ASan's dlopen loses libfixuse_noplt's run path (see interpose.sh): leave
# that one dlopen out, in both runs.
NOPLT_ARGS=()
[ "$SANITIZE" = 1 ] && NOPLT_ARGS=(nosub)

# case1 WORKERS LABEL PROG ARGS...
case1() {
  local w=$1 label=$2
  shift 2
  local name="$label -w $w" p=$tmp/c1.$label.plain o=$tmp/c1.$label.w$w
  [ -f "$p.rc" ] || run "$p" "$@"
  dtask_run "$o" "$CFG1" "$w" -- "$@"

  rc_is "$p" 0 && rc_is "$o" 0
  check $? "1 $name: exits 0, as without dtask" \
    "$(note c1 "exit status $(cat "$p.rc") plain, $(cat "$o.rc") offloaded")" \
    "$o.err"

  # fx_tick/fx_ticks keep a counter in libfix.  Offloaded, each runner
  # worker has its own copy, so with several workers "fx_ticks = +N"
  # depends on which workers served the four calls: that line (and only
  # it) is left out with more than one worker.  With one worker the
  # counter lives in that worker and the line must match too.
  local filter='^$' aside=
  if [ "$w" -gt 1 ]; then
    filter='^fx_ticks = '
    aside=", fx_ticks lines aside"
  fi
  grep -Ev "$filter" "$p.out" >"$tmp/c1.want"
  grep -Ev "$filter" "$o.out" >"$tmp/c1.got"
  diff -u "$tmp/c1.want" "$tmp/c1.got" >"$tmp/c1.diff"
  [ -s "$tmp/c1.want" ] && cmp -s "$tmp/c1.want" "$tmp/c1.got"
  check $? "1 $name: stdout is byte-identical ($(wc -l <"$p.out") lines$aside)" \
    "$tmp/c1.diff"

  # Every call went to a runner: the summary counts as many calls as the
  # program made ("expect NAME N" lines), and nothing ran inline.
  local want total
  want=$(awk '/^expect / { s += $3 } END { print s + 0 }' "$p.out")
  total=$(summary_total "$o.err")
  grep -v '^dtask: [0-9]* calls\{0,1\} offloaded' "$o.err" >"$tmp/c1.rest"
  [ "$want" -gt 0 ] && [ "$total" = "$want" ] && [ ! -s "$tmp/c1.rest" ]
  check $? "1 $name: all $want calls offloaded (summary), none inline" \
    "$(note c1 "made $want calls; summary says '${total:-no summary}'")" \
    "$o.err"
}

for prog in fixprog_lazy fixprog_now fixprog_noplt fixprog_nopie fixptr \
  fixptr_nopie fixuse fixthr; do
  case1 1 "$prog" "$FIX/$prog"
done
case1 1 fixuse_noplt "$FIX/fixuse_noplt" "${NOPLT_ARGS[@]}"
for prog in fixprog_lazy fixptr fixthr; do
  case1 3 "$prog" "$FIX/$prog"
done
case1 3 fixuse_noplt "$FIX/fixuse_noplt" "${NOPLT_ARGS[@]}"

# errno: the caller's errno at the call is what the function sees, and is
# what the caller finds after a call that leaves it alone (also part of
# the byte-identical output above; named here so that a failure says so).
has "$tmp/c1.fixprog_lazy.w1.out" "  errno after fx_i32 with errno 77 = 77" \
  "  errno after fx_fail(ERANGE) = 34" "  errno after fx_fail(0) = 0"
check $? "1 errno set before a call (77) survives the offloaded call" \
  "$tmp/c1.fixprog_lazy.w1.out"

# A program that reaches libfix only through dlopen: its runner (the same
# image, whose main never runs) never loads libfix at start-up, but each
# task names the caller's libfix.so, which the runner then loads itself
# (tests/integration/objects.sh tests that, and its refusals): every call
# is offloaded and the output is identical.
case1 1 fixdl "$FIX/fixdl" path

# ======================================================================
# 2. 8 threads x 10,000 calls, 4 workers: right results, each ran once.
# ======================================================================
CFG2=$(mkcfg c2 "$OL/ol.toml")
N2=80000
dtask_run "$tmp/c2" "$CFG2" 4 OL_LOG="$tmp/c2.log" -- \
  "$OL/olprog" threads 8 10000
caller2=$(sed -n 's/^caller pid //p' "$tmp/c2.out")
rc_is "$tmp/c2" 0 && has "$tmp/c2.out" "threads: $N2 calls, 0 wrong"
check $? "2 8 threads x 10000 calls: every result right, exit 0" \
  "$tmp/c2.out" "$tmp/c2.err"
check_once "$tmp/c2.log" $N2 "${caller2:-0}" >"$tmp/c2.once"
check $? "2 every call ran exactly once, not in the caller: $(cat "$tmp/c2.once")"
awk '$1 == "E" { print $3 }' "$tmp/c2.log" | sort -u >"$tmp/c2.pids"
npids=$(wc -l <"$tmp/c2.pids")
[ "$npids" -ge 1 ] && [ "$npids" -le 4 ] &&
  ! grep -qx -- "${caller2:-0}" "$tmp/c2.pids"
check $? "2 the calls ran in 1 to 4 worker processes ($npids)" "$tmp/c2.pids"
grep -qE "^dtask: $N2 calls offloaded; ol_echo $N2 \(p50 $T_RE, p99 $T_RE\)\$" \
  "$tmp/c2.err"
check $? "2 the summary counts $N2 offloaded calls of ol_echo" "$tmp/c2.err"
# Each result was taken once: nothing is left in the queue.
run "$tmp/c2.counts" "$QTOOL" "$CFG2" counts
has "$tmp/c2.counts.out" "tasks 0 claims 0 results 0"
check $? "2 the queue is empty afterwards (each result delivered and taken)" \
  "$tmp/c2.counts.out" "$tmp/c2.counts.err"

# Controls: without dtask every call runs in the caller, and the checker
# must reject that; and a log with one id twice and another missing.
run "$tmp/c2.plain" OL_LOG="$tmp/c2.plain.log" "$OL/olprog" threads 8 10000
callerp=$(sed -n 's/^caller pid //p' "$tmp/c2.plain.out")
rc_is "$tmp/c2.plain" 0 &&
  ! check_once "$tmp/c2.plain.log" $N2 "${callerp:-0}" >/dev/null
check $? "2 control: the once-checker rejects a run without the shim" \
  "$tmp/c2.plain.out"
sed '5s/^E [0-9]* /E 17 /' "$tmp/c2.log" >"$tmp/c2.dup.log"
! check_once "$tmp/c2.dup.log" $N2 "${caller2:-0}" >/dev/null
check $? "2 control: the once-checker rejects a duplicated and a missing id"

# ======================================================================
# 3. Fork in the caller after offloaded calls; calls in both processes.
# ======================================================================
CFG3=$(mkcfg c3 "$OL/ol.toml")
dtask_run "$tmp/c3" "$CFG3" 2 OL_LOG="$tmp/c3.log" -- "$OL/olprog" fork 20
has "$tmp/c3.out" "child: 60 calls, 0 wrong, 0 ran in parent or child" \
  "child exit status 0"
check $? "3 fork: the child's 60 calls are right and ran in workers" \
  "$tmp/c3.out" "$tmp/c3.err"
rc_is "$tmp/c3" 0 &&
  has "$tmp/c3.out" "parent: 69 calls, 0 wrong, 0 ran in parent or child"
check $? "3 fork: the parent's 69 calls (9 before the fork) are right and ran in workers" \
  "$tmp/c3.out" "$tmp/c3.err"
n3=$(awk '$1 == "E"' "$tmp/c3.log" | wc -l)
[ "$n3" = 43 ] &&
  [ "$(awk '$1 == "E" { print $2 }' "$tmp/c3.log" | sort -u | wc -l)" = 43 ]
check $? "3 fork: ol_echo ran 43 times in all, each id once ($n3)"
# The summary counts what was offloaded: 9 calls before the fork, 60 in
# each process after it.  (The child inherits the parent's counts at fork;
# they must not be reported twice.)
t3=$(summary_total "$tmp/c3.err")
[ "$t3" = 129 ]
check $? "3 fork: the summary counts 129 offloaded calls, not the parent's 9 twice" \
  "$(note c3 "summary total: ${t3:-none} (want 129 = 9 + 60 + 60)")" \
  "$tmp/c3.err"

# ======================================================================
# 4. Malformed task records: an error result, and the runner keeps serving.
# ======================================================================
CFG4=$(mkcfg c4 "$OL/ol.toml")
if start_runner c4 "$CFG4" 1; then
  ok "4 dtask-runner -w 1 serves the queue"
  caller "$tmp/c4.before" "$CFG4" -- "$OL/olprog" basic
  w_before=$(sed -n 's/^olprog: ol_pid() ran in //p' "$tmp/c4.before.err")
  # The control: a well-formed record written the same way is served.
  run "$tmp/c4.valid" "$QTOOL" "$CFG4" valid
  grep -qE '^result status 0 call_id ([0-9]+) \(task \1\) errno 0: ret 5$' \
    "$tmp/c4.valid.out" && has "$tmp/c4.valid.out" "apply rc 0 ret 5"
  check $? "4 control: a valid raw task gets status 0 and ol_add's result 5" \
    "$tmp/c4.valid.out" "$tmp/c4.valid.err"
  for m in garbage empty; do
    run "$tmp/c4.$m" "$QTOOL" "$CFG4" "$m"
    grep -qE '^result status 1 call_id [0-9]+ \(task [0-9]+\) errno 0: .+' \
      "$tmp/c4.$m.out"
    check $? "4 $m record: answered with status 1 (DT__ST_MALFORMED) and a reason" \
      "$tmp/c4.$m.out" "$tmp/c4.$m.err"
    # The runner knows which task it answers (the queue's key), even when
    # it cannot read the record: the result must carry that call id, or
    # the caller's decoder rejects it ("answers call 0, not call N") and
    # the runner's reason is lost.
    grep -qE '^result status 1 call_id ([0-9]+) \(task \1\)' "$tmp/c4.$m.out"
    check $? "4 $m record: the error result carries the task's call id" \
      "$tmp/c4.$m.out"
  done
  run "$tmp/c4.trunc" "$QTOOL" "$CFG4" truncated
  grep -qE '^result status 1 call_id ([0-9]+) \(task \1\) errno 0: .*truncated' \
    "$tmp/c4.trunc.out" &&
    grep -q '^apply rc 1 ret 0: .*truncated' "$tmp/c4.trunc.out"
  check $? "4 truncated record: status 1, and the caller's decoder reads the reason" \
    "$tmp/c4.trunc.out" "$tmp/c4.trunc.err"
  run "$tmp/c4.trail" "$QTOOL" "$CFG4" trailing
  grep -qE '^result status 1 call_id ([0-9]+) \(task \1\) errno 0: .*after' \
    "$tmp/c4.trail.out"
  check $? "4 record with trailing bytes: status 1 (malformed)" \
    "$tmp/c4.trail.out" "$tmp/c4.trail.err"
  run "$tmp/c4.entry" "$QTOOL" "$CFG4" badentry
  grep -qE '^result status 3 call_id ([0-9]+) \(task \1\) errno 0: .*999' \
    "$tmp/c4.entry.out"
  check $? "4 record naming entry 999: status 3 (DT__ST_NO_ENTRY)" \
    "$tmp/c4.entry.out" "$tmp/c4.entry.err"
  # The object section (queue/wire.h): a path with a NUL in it is a
  # malformed record; a relative path is one no runner loads.
  run "$tmp/c4.badobj" "$QTOOL" "$CFG4" badobj
  grep -qE '^result status 1 call_id ([0-9]+) \(task \1\) errno 0: .*object path with a NUL byte' \
    "$tmp/c4.badobj.out"
  check $? "4 object path with a NUL byte: status 1 (malformed), and why" \
    "$tmp/c4.badobj.out" "$tmp/c4.badobj.err"
  run "$tmp/c4.relobj" "$QTOOL" "$CFG4" relobj
  grep -qE "^result status 4 call_id ([0-9]+) \(task \1\) errno 0: runner [0-9]+ \(olprog\) will not load lib/libol.so for 'ol_add': the caller's path is not absolute\$" \
    "$tmp/c4.relobj.out"
  check $? "4 another build at a relative path: status 4 (DT__ST_NO_SYMBOL), and why" \
    "$tmp/c4.relobj.out" "$tmp/c4.relobj.err"
  caller "$tmp/c4.after" "$CFG4" -- "$OL/olprog" basic
  w_after=$(sed -n 's/^olprog: ol_pid() ran in //p' "$tmp/c4.after.err")
  rc_is "$tmp/c4.after" 0 && has "$tmp/c4.after.out" "ol_add(2, 3) = 5" \
    "basic: 3 calls, 0 wrong, offloaded=yes"
  check $? "4 afterwards a program's calls are still offloaded and right" \
    "$tmp/c4.after.out" "$tmp/c4.after.err"
  [ -n "$w_before" ] && [ "$w_before" = "$w_after" ] &&
    ! grep -q 'died\|exited with status' "$tmp/c4.rlog"
  check $? "4 the same worker served before and after (it never died)" \
    "$(note c4 "worker before: ${w_before:-?}, after: ${w_after:-?}")" \
    "$tmp/c4.rlog"
  run "$tmp/c4.counts" "$QTOOL" "$CFG4" counts
  has "$tmp/c4.counts.out" "tasks 0 claims 0 results 0"
  check $? "4 nothing is left in the queue" "$tmp/c4.counts.out"
  # Stopping an idle pool: on SIGTERM the supervisor signals its workers
  # and dt__queue_kick wakes the idle ones, which must then exit at once,
  # not at the end of their 1 s claim timeout.
  t0=$(date +%s%N)
  kill -TERM "$RPID"
  wait_gone "$RPID" 5
  gone=$?
  ms=$((($(date +%s%N) - t0) / 1000000))
  check $gone "4 an idle pool exits on SIGTERM" "$tmp/c4.rlog"
  [ $gone = 0 ] && [ "$ms" -lt 500 ]
  check $? "4 an idle pool exits promptly on SIGTERM (${ms} ms, want < 500)"
else
  not_ok "4 dtask-runner -w 1 serves the queue" "$tmp/c4.rlog"
fi

# ======================================================================
# 5. A runner with a different config refuses the tasks.
# ======================================================================
CFG5A=$(mkcfg c5 "$OL/ol.toml")
# The same queue, the same symbols, ol_add's signature changed.
CFG5B=$(mkcfg c5b "$OL/ol_b.toml")
sed -i "s|$root/c5b/q|$root/c5/q|" "$CFG5B"
if start_runner c5 "$CFG5B" 1; then
  caller "$tmp/c5" "$CFG5A" -- "$OL/olprog" basic
  grep -q "runner [0-9]* serves a different config" "$tmp/c5.err"
  check $? "5 other config: the caller's stderr has the runner's \"different config\" message" \
    "$tmp/c5.err"
  rc_is "$tmp/c5" 0 && has "$tmp/c5.out" "ol_add(2, 3) = 5" \
    "basic: 3 calls, 0 wrong, offloaded=no"
  check $? "5 other config: the calls then run inline and are right" \
    "$tmp/c5.out" "$tmp/c5.err"
  # Control: with the runner's own config the same runner serves them.
  caller "$tmp/c5ok" "$CFG5B" -- "$OL/olprog" basic
  has "$tmp/c5ok.out" "basic: 3 calls, 0 wrong, offloaded=yes" &&
    ! grep -q "different config" "$tmp/c5ok.err"
  check $? "5 control: a caller with the runner's config is served" \
    "$tmp/c5ok.out" "$tmp/c5ok.err"
  kill -TERM "$RPID"
  wait_gone "$RPID" 5
else
  not_ok "5 dtask-runner with config B serves the queue" "$tmp/c5.rlog"
fi

# ======================================================================
# 6. A queue directory with the wrong mode or owner is refused.
# ======================================================================
CFG6=$(mkcfg c6 "$OL/ol.toml")
mkdir -m 755 "$root/c6/q"
caller "$tmp/c6" "$CFG6" -- "$OL/olprog" basic
grep -q "has mode 755.*chmod 700 $root/c6/q" "$tmp/c6.err"
check $? "6 mode 0755: the caller says to chmod 700 the directory" "$tmp/c6.err"
rc_is "$tmp/c6" 0 && has "$tmp/c6.out" "ol_add(2, 3) = 5" \
  "basic: 3 calls, 0 wrong, offloaded=no"
check $? "6 mode 0755: the program still runs, its calls inline and right" \
  "$tmp/c6.out" "$tmp/c6.err"
[ "$(stat -c %a "$root/c6/q")" = 755 ] && [ ! -e "$root/c6/q/data.mdb" ]
check $? "6 mode 0755: the directory is left alone (mode 755, no queue files)"
dtask_run "$tmp/c6r" "$CFG6" 1 -- "$OL/olprog" basic
rc6=$(cat "$tmp/c6r.rc")
grep -q "chmod 700 $root/c6/q" "$tmp/c6r.err"
check $? "6 mode 0755: dtask run says to chmod 700 the directory" "$tmp/c6r.err"
# dtask run exists to run PROG against a pool of its own: when the pool
# cannot start it refuses, as on a config error (exit 2, PROG not run),
# rather than run every call inline (README, cmd_run in runner/dtask.c).
[ "$rc6" = 2 ] && [ ! -s "$tmp/c6r.out" ] &&
  grep -qF "the runner pool for $OL/olprog did not start" "$tmp/c6r.err" &&
  [ "$(stat -c %a "$root/c6/q")" = 755 ] && [ ! -e "$root/c6/q/data.mdb" ]
check $? "6 mode 0755: dtask run refuses: exit 2 (got $rc6), the program not run, the directory left alone" \
  "$tmp/c6r.out" "$tmp/c6r.err"

if [ "$(id -u)" = 0 ]; then
  CFG6B=$(mkcfg c6b "$OL/ol.toml")
  mkdir -m 700 "$root/c6b/q"
  chown 65534 "$root/c6b/q"
  caller "$tmp/c6b" "$CFG6B" -- "$OL/olprog" basic
  grep -q "$root/c6b/q belongs to uid 65534" "$tmp/c6b.err"
  check $? "6 owned by uid 65534: the caller says the directory belongs to uid 65534" \
    "$tmp/c6b.err"
  rc_is "$tmp/c6b" 0 && has "$tmp/c6b.out" \
    "basic: 3 calls, 0 wrong, offloaded=no"
  check $? "6 owned by uid 65534: the program still runs, its calls inline" \
    "$tmp/c6b.out" "$tmp/c6b.err"
else
  skip "6 owned by another user: the caller refuses the queue directory" \
    "not root: chown to uid 65534 needs root"
fi

# ======================================================================
# 7. Autostart: one pool for concurrent callers; idle_exit.
# ======================================================================
AUTO=('workers = 2' 'autostart = true' 'idle_exit = "2s"')
CFG7=$(mkcfg c7 "$OL/ol.toml" "${AUTO[@]}")
caller "$tmp/c7" "$CFG7" DTASK_LOG=info -- "$OL/olprog" basic
log7=$("$QTOOL" "$CFG7" dir)/runner.log
rc_is "$tmp/c7" 0 &&
  has "$tmp/c7.out" "basic: 3 calls, 0 wrong, offloaded=yes"
check $? "7 autostart: the first call starts a runner and is served by it" \
  "$tmp/c7.out" "$tmp/c7.err"
[ -f "$log7" ] && grep -q ": runner [0-9]* serves $root/c7/q" "$log7"
check $? "7 autostart: runner.log is in the queue directory and says it serves" \
  "$tmp/c7.err"
pid7=$(sed -n 's/.*: runner \([0-9][0-9]*\) serves .*/\1/p' "$log7" \
  2>/dev/null | head -n 1)

CFG7B=$(mkcfg c7b "$OL/ol.toml" "${AUTO[@]}")
cpids=()
for k in 1 2 3; do
  caller "$tmp/c7b.$k" "$CFG7B" DTASK_LOG=info -- "$OL/olprog" basic &
  cpids+=($!)
done
wait "${cpids[@]}"
log7b=$("$QTOOL" "$CFG7B" dir)/runner.log
served=0
for k in 1 2 3; do
  rc_is "$tmp/c7b.$k" 0 &&
    has "$tmp/c7b.$k.out" "basic: 3 calls, 0 wrong, offloaded=yes" &&
    served=$((served + 1))
done
[ $served = 3 ]
check $? "7 three callers started at once are all served ($served of 3)" \
  "$tmp/c7b.1.err" "$tmp/c7b.2.err" "$tmp/c7b.3.err"
nserve=$(grep -c ': runner [0-9]* serves ' "$log7b" 2>/dev/null)
nother=$(grep -c 'another runner pool already serves' "$log7b" 2>/dev/null)
[ "${nserve:-0}" = 1 ] && [ "${nother:-0}" = 0 ]
check $? "7 three callers started at once start one pool (serves: ${nserve:-0}, second pools refused: ${nother:-0})" \
  "$log7b"
pid7b=$(sed -n 's/.*: runner \([0-9][0-9]*\) serves .*/\1/p' "$log7b" \
  2>/dev/null | head -n 1)

# idle_exit = 2s: both pools go away by themselves (within 6 s).
gone7=1
gone7b=1
for i in $(seq 300); do
  { [ -n "$pid7" ] && kill -0 "$pid7" 2>/dev/null; } || gone7=0
  { [ -n "$pid7b" ] && kill -0 "$pid7b" 2>/dev/null; } || gone7b=0
  [ $gone7 = 0 ] && [ $gone7b = 0 ] && break
  sleep 0.02
done
[ -n "$pid7" ] && [ -n "$pid7b" ] && [ $gone7 = 0 ] && [ $gone7b = 0 ] &&
  grep -q "runner $pid7: idle for 2s, exiting" "$log7" &&
  grep -q "runner $pid7b: idle for 2s, exiting" "$log7b"
check $? "7 idle_exit: the autostarted runners exit by themselves within 6 s" \
  "$(note c7 "pids ${pid7:-?} (gone: $gone7), ${pid7b:-?} (gone: $gone7b)")" \
  "$log7" "$log7b"

# ======================================================================
# 8. dtask run: config errors, exit status, summary.
# ======================================================================
CFG8BAD=$(mkcfg c8bad "$OL/ol.toml")
printf '\n[[offload]]\nsignature = "int ol_bad(char *p)"\n' >>"$CFG8BAD"
dtask_run "$tmp/c8bad" "$CFG8BAD" 1 OL_LOG="$tmp/c8bad.log" -- \
  "$OL/olprog" basic
rc_is "$tmp/c8bad" 2 && [ ! -s "$tmp/c8bad.out" ] &&
  [ ! -e "$tmp/c8bad.log" ] && [ ! -e "$root/c8bad/q" ] &&
  grep -qE "$CFG8BAD:[0-9]+:[0-9]+: " "$tmp/c8bad.err"
check $? "8 invalid config: dtask run exits 2, names file:line:col, runs nothing" \
  "$(note c8 "exit status $(cat "$tmp/c8bad.rc")")" "$tmp/c8bad.out" \
  "$tmp/c8bad.err"

CFG8=$(mkcfg c8 "$OL/ol.toml")
dtask_run "$tmp/c8" "$CFG8" 1 -- "$OL/olprog" exit 3 4
rc_is "$tmp/c8" 3 && has "$tmp/c8.out" "exit: 0 wrong, 0 local"
check $? "8 PROG's exit status 3 is dtask run's" \
  "$(note c8 "exit status $(cat "$tmp/c8.rc")")" "$tmp/c8.out" "$tmp/c8.err"
S8="^dtask: 12 calls offloaded; ol_echo 4 \(p50 $T_RE, p99 $T_RE\); ol_pid 4 \(p50 $T_RE, p99 $T_RE\); ol_add 4 \(p50 $T_RE, p99 $T_RE\)\$"
tail -n 1 "$tmp/c8.err" | grep -qE "$S8"
check $? "8 the summary is the last line and counts 12 calls, per symbol" \
  "$tmp/c8.err"
dtask_run "$tmp/c8z" "$CFG8" 1 -- "$OL/olprog" exit 0 1
rc_is "$tmp/c8z" 0 &&
  tail -n 1 "$tmp/c8z.err" | grep -q '^dtask: 3 calls offloaded; ol_echo 1 '
check $? "8 exit status 0 and a 3-call summary" "$tmp/c8z.err"
# Control: under the shim in sync mode the calls run in the caller, and
# olprog says so.
caller "$tmp/c8sync" "$CFG8" DTASK_MODE=sync -- "$OL/olprog" basic
has "$tmp/c8sync.out" "basic: 3 calls, 0 wrong, offloaded=no"
check $? "8 control: in sync mode the calls run in the caller (offloaded=no)" \
  "$tmp/c8sync.out" "$tmp/c8sync.err"

# ======================================================================
# 9. SIGTERM to a pool with a call in flight.
# ======================================================================
CFG9=$(mkcfg c9 "$OL/ol.toml")
# ol_slow(41, 50) logs "S PID" when it starts, then waits for the file
# $OL_HOLD to exist (OL_HOLD, ol.h), then sleeps 50 ms, each sleep one
# nanosleep, and returns 42 (or -1/EINTR when a signal cut a sleep
# short).  The call is held in its worker until the SIGTERM has been sent
# and has reached that worker, so it is in flight when the pool is told
# to stop whatever the machine's load.
if start_runner c9 "$CFG9" 2 OL_LOG="$tmp/c9.log" OL_HOLD="$tmp/c9.go"; then
  caller "$tmp/c9" "$CFG9" OL_LOG="$tmp/c9.log" -- "$OL/olprog" slow 41 50 &
  cpid=$!
  w9=
  for i in $(seq 1000); do
    w9=$(sed -n 's/^S \([0-9][0-9]*\)$/\1/p' "$tmp/c9.log" 2>/dev/null | head -n 1)
    [ -n "$w9" ] && break
    kill -0 "$cpid" 2>/dev/null || break
    sleep 0.01
  done
  [ -n "$w9" ] && [ "$(awk '{ print $4 }' "/proc/$w9/stat" 2>/dev/null)" = "$RPID" ] &&
    kill -0 "$cpid" 2>/dev/null && [ ! -s "$tmp/c9.out" ]
  check $? "9 the call is in flight, held in worker ${w9:-?} of pool $RPID" \
    "$tmp/c9.log" "$tmp/c9.err"
  kill -TERM "$RPID"
  # The supervisor passes the SIGTERM on to its workers; the one running
  # the call has it blocked until the function returns, so there it
  # stays pending (SigPnd or ShdPnd, bit 15).
  pending=no
  for i in $(seq 500); do
    grep -E '^(SigPnd|ShdPnd|SigBlk):' "/proc/${w9:-0}/status" >"$tmp/c9.pnd" 2>&1
    for m in $(awk '/^(SigPnd|ShdPnd):/ { print $2 }' "$tmp/c9.pnd"); do
      [ $((16#$m & 0x4000)) != 0 ] && pending=yes
    done
    [ $pending = yes ] && break
    sleep 0.01
  done
  [ $pending = yes ] && kill -0 "$RPID" 2>/dev/null && kill -0 "$cpid" 2>/dev/null &&
    [ ! -s "$tmp/c9.out" ]
  check $? "9 the SIGTERM reached worker ${w9:-?} while the call is held (pending: $pending); the pool and the caller wait" \
    "$tmp/c9.pnd" "$tmp/c9.rlog"
  : >"$tmp/c9.go"
  wait "$cpid"
  rc_is "$tmp/c9" 0 && has "$tmp/c9.out" "slow = 42 (errno 0)"
  check $? "9 the call completes undisturbed: the caller gets 42 from the worker" \
    "$tmp/c9.out" "$tmp/c9.err"
  [ "$(grep -c '^S ' "$tmp/c9.log")" = 1 ] && ! grep -q 'inline' "$tmp/c9.err"
  check $? "9 the call ran once, in the worker, not again inline" \
    "$tmp/c9.log" "$tmp/c9.err"
  wait_gone "$RPID" 5
  check $? "9 then the pool exits" "$tmp/c9.rlog"
else
  not_ok "9 dtask-runner -w 2 serves the queue" "$tmp/c9.rlog"
fi

finish
