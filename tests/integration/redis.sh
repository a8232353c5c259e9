#!/bin/bash
# redis.sh: integration tests of the redis queue backend ([queue] backend =
# "redis"), on real processes and a real redis-server started here.
#
#   1. basic, threads 4x500 and fork 20 through Redis with dtask run:
#      results as in a plain run, every call offloaded (the summary),
#      and DTASK_TRACE's lines say so;
#   2. autostart: a plain LD_PRELOAD caller starts a local pool;
#   3. two "hosts" (dtask-runner pools with different DTASK_HOST_ID) serve
#      one queue: a threaded caller's results are right, both pools serve;
#   4. host A's pool SIGKILLed (its whole process group) while a slow call
#      runs there, host B's pool alive: the call is given back after the
#      lease (5 s) and completes once on B, with the right result;
#   5. a call longer than the lease (8 s) runs exactly once (renewal);
#   6. redis-server killed and restarted (empty) mid-call: the caller ends
#      within wait_for_runner + a few seconds, with on_crash's value (the
#      call is lost: the new server knows neither it nor its answer);
#   7. 100 callers SIGKILLed mid-call: the sweep brings the queue's key
#      count back to what it was before;
#   8. (root) a pool in another network namespace reaches redis over TCP
#      through a veth pair and serves a caller in the root namespace; the
#      namespace is cut off (link down) mid-call: a pool of another host
#      takes the call over after the lease, the caller gets one answer;
#   9. every signature form of tests/fixtures/interpose (buffers, strings,
#      structs, errno) and split calls of tests/fixtures/fanout (a common
#      in buffer stored once) through Redis, as without dtask, nothing
#      left in the server; 9b. the same with tasks, answers and a shared
#      buffer larger than one value of a server set to 1 MiB (in parts).
# Controls show that the checks can fail (a run without the shim, a
# doctored execution log).
#
# redis-server (tools/deps.sh installs it) runs on a unix socket in a
# private (0700) directory under /dev/shm, without persistence; it, every
# pool and every caller started here, and the namespaces are removed at
# exit.  Every program runs under `timeout`.
#
# Environment: BUILD (default build); SANITIZE=1 as in offload.sh.
# Output: "ok - ..." / "not ok - ..." per check, then "N passed, N failed,
# N skipped".
# shellcheck disable=SC2317  # cleanup runs from the EXIT trap
set -u

# shellcheck source=tests/integration/tap.bash
. "$(dirname "$0")/tap.bash"
# shellcheck source=tests/integration/runs.bash
. "$(dirname "$0")/runs.bash"

DTASK=$BUILD/dtask
RUNNER=$BUILD/dtask-runner
SHIM=$BUILD/libdtask_shim.so
OL=$BUILD/fixtures/offload
need_built "dtask, the shim and the fixtures are built" "make all" \
  "$DTASK" "$RUNNER" "$SHIM" "$OL/olprog" "$OL/libol.so" "$OL/ol.toml"
REDIS_SERVER=$(command -v redis-server)
REDIS_CLI=$(command -v redis-cli)
if [ -z "$REDIS_SERVER" ] || [ -z "$REDIS_CLI" ]; then
  not_ok "redis-server and redis-cli are installed (install it with tools/deps.sh)"
  finish
fi

# ASan's own signal handlers stay on, as they always have here.
ASAN_HANDLERS=asan
# shellcheck source=tests/integration/asanfx.bash
. "$(dirname "$0")/asanfx.bash"
# wait_gone (procs.bash) waits for a pool's supervisor to end; this
# script starts its pools and callers in process groups of its own.
# shellcheck source=tests/integration/procs.bash
. "$(dirname "$0")/procs.bash"

CLEAN=("${CLEAN_DTASK[@]}" -u DTASK_HOST_ID -u OL_LOG)

scratch_dir redis /dev/shm
SOCK=$root/redis.sock
NS_A=dtask-rns-$$
NS_MADE=0

# Process groups started here (each `timeout` leads its own group; the
# redis-server, pools and callers of this script are in them).
groups=()
RSPID=

cleanup() {
  local g p more
  mapfile -t more < <(pools_named_in "$root"/*/q/*/runner.log "$root"/*/q/runner.log)
  for g in "${groups[@]}"; do
    kill -TERM -- "-$g" 2>/dev/null
  done
  for p in "${more[@]}"; do
    { tr '\0' ' ' <"/proc/$p/cmdline"; } 2>/dev/null | grep -qF "$OL/" &&
      kill -TERM "$p" 2>/dev/null
  done
  sleep 0.3
  for g in "${groups[@]}"; do
    kill -KILL -- "-$g" 2>/dev/null
  done
  [ -n "$RSPID" ] && kill -KILL "$RSPID" 2>/dev/null
  if [ "$NS_MADE" = 1 ]; then
    ip netns pids "$NS_A" 2>/dev/null | xargs -r kill -KILL 2>/dev/null
    ip link del dtr-$$ 2>/dev/null
    ip netns del "$NS_A" 2>/dev/null
  fi
  cd / && rm -rf "$root"
}
trap cleanup EXIT

# bg [VAR=VALUE...] CMD...: starts CMD in the background under timeout 90
# (its own process group), with a clean environment; BGPID is timeout's
# pid (= the group).
bg() {
  timeout -s KILL 90 env "${CLEAN[@]}" "$@" &
  BGPID=$!
  groups+=("$BGPID")
}

# start_redis: redis-server on $SOCK only; waits until it answers PING.
start_redis() {
  local tcp=(--port 0) i
  [ -d "$root/rdata" ] || mkdir -m 700 "$root/rdata"
  rm -f "$SOCK"
  timeout -s KILL 300 "$REDIS_SERVER" "${tcp[@]}" --unixsocket "$SOCK" \
    --unixsocketperm 700 --save '' --appendonly no --dir "$root/rdata" \
    >>"$root/redis.log" 2>&1 &
  RSGRP=$!
  groups+=("$RSGRP")
  for i in $(seq 200); do
    RSPID=$(pgrep -P "${groups[-1]}" redis-server)
    [ -n "$RSPID" ] && [ -S "$SOCK" ] &&
      [ "$(rcli PING 2>/dev/null)" = PONG ] && return 0
    sleep 0.05
  done
  return 1
}

rcli() { timeout 10 "$REDIS_CLI" -s "$SOCK" "$@"; }
# nkeys: the number of keys of dtask's queues in the server.
nkeys() { rcli --scan --pattern 'dtask:*' | wc -l; }

# mkcfg NAME QUEUE-LINES RUNNER-LINES: $root/NAME.toml = ol.toml, a redis
# [queue] at URL (default: the unix socket $SOCK) in $root/NAME/q named
# NAME (unless QUEUE-LINES names it) with QUEUE-LINES, [runner]
# RUNNER-LINES and [defaults] DEFAULTS (a global, may be empty); prints
# its path.
DEFAULTS=
mkcfg() {
  local name=$1 ql=$2 rl=$3 url=${URL:-unix://$SOCK}
  mkdir -m 700 "$root/$name"
  {
    cat "$OL/ol.toml"
    printf '\n[queue]\nbackend = "redis"\nurl = "%s"\npath = "%s"\n' \
      "$url" "$root/$name/q"
    # Each config its own queue in the server (the keys are named by
    # [queue] name, else by the path's leaf, "q" for all), unless named.
    case $ql in *name\ =*) echo "$ql" ;; *) printf 'name = "%s"\n%s\n' "$name" "$ql" ;; esac
    printf '\n[runner]\n%s\n' "$rl"
    [ -n "$DEFAULTS" ] && printf '\n[defaults]\n%s\n' "$DEFAULTS"
  } >"$root/$name.toml"
  chmod 600 "$root/$name.toml"
  echo "$root/$name.toml"
}

# bg_caller OUT CONFIG [VAR=VALUE...] -- PROG ARGS: caller in the
# background (BGPID: its group).
bg_caller() {
  local o=$1 cfg=$2
  shift 2
  split_at_dashes "$@"
  bg "${CALLER_ENV[@]}" DTASK_CONFIG="$cfg" "${VARS[@]}" \
    LD_PRELOAD="$PRELOAD" "${CMD[@]}" >"$o.out" 2>"$o.err"
}

# start_pool NAME CONFIG WORKERS [VAR=VALUE...]: dtask-runner for olprog
# in the background, in a process group of its own (as bg; procs.bash's
# start_runner is not), log in $root/NAME.rlog; RPID its supervisor, RGRP
# its process group.  Returns 1 if it does not serve within 10 s.
start_pool() {
  local name=$1 cfg=$2 w=$3 i
  shift 3
  RPID=
  bg "${LAUNCH_ENV[@]}" DTASK_LOG=info "$@" "$RUNNER" -c "$cfg" -w "$w" \
    -- "$OL/olprog" >"$root/$name.rout" 2>"$root/$name.rlog"
  RGRP=$BGPID
  for i in $(seq 200); do
    RPID=$(sed -n 's/.*: runner \([0-9][0-9]*\) serves .*/\1/p' \
      "$root/$name.rlog" | head -n 1)
    [ -n "$RPID" ] && break
    kill -0 "$RGRP" 2>/dev/null || break
    sleep 0.05
  done
  [ -n "$RPID" ]
}

# workers_of PID: the pids of PID's children (a pool's workers).
workers_of() { pgrep -P "$1" | sort; }

# wait_line FILE REGEX SECONDS
wait_line() {
  local n=$(($3 * 50)) i
  for ((i = 0; i < n; i++)); do
    grep -qE -- "$2" "$1" 2>/dev/null && return 0
    sleep 0.02
  done
  return 1
}

now_ms() { echo $(($(date +%s%N) / 1000000)); }

if ! start_redis; then
  not_ok "redis-server starts on $SOCK" "$root/redis.log"
  finish
fi
ok "redis-server serves $SOCK (pid $RSPID)"

# ======================================================================
# 1. dtask run through Redis: results as plain, every call offloaded,
# DTASK_TRACE and the summary.
# ======================================================================
CFG1=$(mkcfg c1 "" "autostart = false")
# case1 LABEL WANT-CALLS ARGS...: olprog ARGS plainly and under dtask run.
case1() {
  local label=$1 want=$2
  shift 2
  local p=$tmp/c1.$label.plain o=$tmp/c1.$label
  run "$p" "$OL/olprog" "$@"
  dtask_run "$o" "$CFG1" 2 -- "$OL/olprog" "$@"
  # What differs by design: basic's offloaded=, threads' caller pid,
  # fork's count of calls that ran in the caller (all of them, plainly)
  # and so the child's exit status (checked below, offloaded).
  local f='offloaded=|^caller pid |^child exit status '
  local s='s/, [0-9]* ran in parent or child$//'
  grep -Ev "$f" "$p.out" | sed "$s" >"$tmp/c1.want"
  grep -Ev "$f" "$o.out" | sed "$s" >"$tmp/c1.got"
  diff -u "$tmp/c1.want" "$tmp/c1.got" >"$tmp/c1.diff"
  rc_is "$o" 0 && [ -s "$tmp/c1.want" ] &&
    cmp -s "$tmp/c1.want" "$tmp/c1.got"
  check $? "1 $label: exit 0 and results as in a plain run ($(wc -l <"$p.out") lines)" \
    "$tmp/c1.diff" "$o.err"
  local total
  total=$(summary_total "$o.err")
  grep -v -e '^dtask: [0-9]* calls\{0,1\} offloaded' \
    -e '^olprog: ol_pid() ran in ' "$o.err" >"$tmp/c1.rest"
  [ "$total" = "$want" ] && [ ! -s "$tmp/c1.rest" ]
  check $? "1 $label: all $want calls offloaded (summary: ${total:-none}), none inline" \
    "$o.err"
}
case1 basic 3 basic
has "$tmp/c1.basic.out" "basic: 3 calls, 0 wrong, offloaded=yes"
check $? "1 basic: ol_pid() ran in a worker (offloaded=yes)" "$tmp/c1.basic.out"
# Control: the plain run is not offloaded, and says so.
has "$tmp/c1.basic.plain.out" "basic: 3 calls, 0 wrong, offloaded=no"
check $? "1 control: without the shim, offloaded=no" "$tmp/c1.basic.plain.out"
# DTASK_TRACE through Redis: one line per call, each said offloaded, and
# the summary counts them.
dtask_run "$tmp/c1.trace" "$CFG1" 2 DTASK_TRACE=1 -- "$OL/olprog" basic
ntr=$(grep -cE '^dtask\[[0-9]+\]: trace [a-z_]+\(.*\) = .* errno=[0-9]+ offloaded [0-9.]+us$' \
  "$tmp/c1.trace.err")
nall=$(grep -c ': trace ' "$tmp/c1.trace.err")
rc_is "$tmp/c1.trace" 0 && [ "$ntr" = 3 ] && [ "$nall" = 3 ] &&
  [ "$(summary_total "$tmp/c1.trace.err")" = 3 ] &&
  has "$tmp/c1.trace.out" "basic: 3 calls, 0 wrong, offloaded=yes"
check $? "1 DTASK_TRACE=1 through Redis: 3 trace lines, each 'offloaded' ($ntr of $nall), and the summary's 3 calls" \
  "$tmp/c1.trace.err"
case1 threads 2000 threads 4 500
has "$tmp/c1.threads.out" "threads: 2000 calls, 0 wrong"
check $? "1 threads 4x500: 2000 calls, 0 wrong" "$tmp/c1.threads.out"
case1 fork 129 fork 20
has "$tmp/c1.fork.out" "child: 60 calls, 0 wrong, 0 ran in parent or child" \
  "parent: 69 calls, 0 wrong, 0 ran in parent or child" "child exit status 0"
check $? "1 fork 20: parent's 69 and child's 60 calls right, all in workers" \
  "$tmp/c1.fork.out"

# ======================================================================
# 2. Autostart through Redis.
# ======================================================================
CFG2=$(mkcfg c2 "" 'workers = 2
autostart = true
idle_exit = "2s"')
caller "$tmp/c2" "$CFG2" DTASK_LOG=info -- "$OL/olprog" basic
rc_is "$tmp/c2" 0 && has "$tmp/c2.out" "ol_add(2, 3) = 5" \
  "basic: 3 calls, 0 wrong, offloaded=yes"
check $? "2 autostart: a plain caller starts a pool and its calls are offloaded" \
  "$tmp/c2.out" "$tmp/c2.err"
log2=
for f in "$root"/c2/q/*/runner.log; do [ -f "$f" ] && log2=$f; done
[ -n "$log2" ] && grep -q ': runner [0-9]* serves ' "$log2"
check $? "2 autostart: the pool's runner.log says it serves (${log2:-no runner.log})" \
  "$tmp/c2.err"

# ======================================================================
# 3. Two hosts serve one queue.
# ======================================================================
# The keys are named by [queue] name: pools with different paths (each
# its own pool lock) and host ids share the queue.
QN='name = "shared"'
CFGA=$(mkcfg hA "$QN" "autostart = false")
CFGB=$(mkcfg hB "$QN" "autostart = false")
CFGC=$(mkcfg cc "$QN" "autostart = false")
start_pool hA "$CFGA" 2 DTASK_HOST_ID=hostA OL_LOG="$tmp/ol.log"
upA=$?
PA=$RPID GA=$RGRP
start_pool hB "$CFGB" 2 DTASK_HOST_ID=hostB OL_LOG="$tmp/ol.log"
upB=$?
PB=$RPID GB=$RGRP
[ $upA = 0 ] && [ $upB = 0 ]
check $? "3 pools of hostA ($PA) and hostB ($PB) serve the queue \"shared\"" \
  "$root/hA.rlog" "$root/hB.rlog"
workers_of "$PA" >"$tmp/wA"
workers_of "$PB" >"$tmp/wB"
caller "$tmp/c3" "$CFGC" OL_LOG="$tmp/c3.log" -- "$OL/olprog" threads 4 500
rc_is "$tmp/c3" 0 && has "$tmp/c3.out" "threads: 2000 calls, 0 wrong"
check $? "3 two hosts: a 4x500 threaded caller gets every result right" \
  "$tmp/c3.out" "$tmp/c3.err"
# The caller's OL_LOG is not the workers': the pools log to ol.log.
awk '$1 == "E" { print $3 }' "$tmp/ol.log" | sort | uniq -c >"$tmp/c3.pids"
nA=$(awk 'NR == FNR { w[$1] = 1; next } ($2 in w) { s += $1 } END { print s + 0 }' \
  "$tmp/wA" "$tmp/c3.pids")
nB=$(awk 'NR == FNR { w[$1] = 1; next } ($2 in w) { s += $1 } END { print s + 0 }' \
  "$tmp/wB" "$tmp/c3.pids")
nE=$(awk '$1 == "E"' "$tmp/ol.log" | wc -l)
nI=$(awk '$1 == "E" { print $2 }' "$tmp/ol.log" | sort -u | wc -l)
[ "$nA" -gt 0 ] && [ "$nB" -gt 0 ] && [ $((nA + nB)) = 2000 ] &&
  [ "$nE" = 2000 ] && [ "$nI" = 2000 ] && [ ! -s "$tmp/c3.log" ]
check $? "3 both hosts served: hostA $nA, hostB $nB calls; $nE executions of $nI ids (want 2000, each once, none in the caller)" \
  "$tmp/c3.pids" "$tmp/wA" "$tmp/wB"

# ======================================================================
# 4. The host running a call is SIGKILLed: the call completes on the other.
# ======================================================================
# ol_slow logs "S PID" in the pools' ol.log when it starts, sleeps MS ms
# and returns X + 1.  The call goes to whichever pool claims it; that pool
# (its whole process group) is then killed: "the killed host" below.
: >"$tmp/ol.log"
bg_caller "$tmp/c4" "$CFGC" -- "$OL/olprog" slow 41 1500
C4=$BGPID
if wait_line "$tmp/ol.log" '^S ' 10; then
  spid=$(awk '$1 == "S" { print $2; exit }' "$tmp/ol.log")
  if grep -qx "$spid" "$tmp/wA"; then
    KP=$PA KG=$GA KH=hostA SP=$PB SH=hostB
  else
    KP=$PB KG=$GB KH=hostB SP=$PA SH=hostA
  fi
  workers_of "$SP" >"$tmp/c4.wsurv"
  workers_of "$KP" >"$tmp/c4.wkill"
  grep -qx "$spid" "$tmp/c4.wkill"
  check $? "4 the slow call runs in a worker of $KH ($spid)" "$tmp/c4.wkill"
  [ "$KG" != "$(ps -o pgid= $$ | tr -d ' ')" ] # never our own group
  t0=$(now_ms)
  kill -KILL -- "-$KG"
  wait "$KG" 2>/dev/null # (bash's "Killed" goes there)
  wait "$C4"
  t4=$(($(now_ms) - t0))
  rc_is_ok=1
  has "$tmp/c4.out" "slow = 42 (errno 0)" && rc_is_ok=0
  check $rc_is_ok "4 $KH killed mid-call: the caller gets 42 (ol_slow(41, 1500))" \
    "$tmp/c4.out" "$tmp/c4.err"
  [ "$t4" -le 10000 ]
  check $? "4 it ends within 10 s of the kill (lease 5 s + tick 1 s + 1.5 s run): ${t4} ms" \
    "$tmp/c4.err"
  nS=$(grep -c '^S ' "$tmp/ol.log")
  nSurv=$(awk 'NR == FNR { w[$1] = 1; next } $1 == "S" && ($2 in w)' \
    "$tmp/c4.wsurv" "$tmp/ol.log" | wc -l)
  [ "$nS" = 2 ] && [ "$nSurv" = 1 ]
  check $? "4 ol_slow ran twice in all: once on $KH (killed), once on $SH (want 2 and 1: $nS and $nSurv)" \
    "$tmp/ol.log" "$tmp/c4.wsurv"
  alive=0
  while read -r w; do kill -0 "$w" 2>/dev/null && alive=$((alive + 1)); done \
    <"$tmp/c4.wkill"
  [ "$alive" = 0 ]
  check $? "4 no worker of the killed pool outlives it ($alive alive)"
else
  not_ok "4 the slow call starts in a worker" "$tmp/c4.err" "$tmp/ol.log"
  KH=hostA SP=$PB SH=hostB
  kill -KILL -- "-$GA" 2>/dev/null
fi

# ======================================================================
# 5. A call longer than the lease runs once: its lease is renewed.
# ======================================================================
# A pool again on the killed host's id (a new path: the old pool lock
# may linger with nothing holding it, but a fresh directory is simpler).
CFGA2=$(mkcfg hA2 "$QN" "autostart = false")
start_pool hA2 "$CFGA2" 2 DTASK_HOST_ID="$KH" OL_LOG="$tmp/ol.log"
check $? "5 a new pool on $KH serves beside $SH's" "$root/hA2.rlog"
: >"$tmp/ol.log"
t0=$(now_ms)
caller "$tmp/c5" "$CFGC" -- "$OL/olprog" slow 7 8000
t5=$(($(now_ms) - t0))
rc_is "$tmp/c5" 0 && has "$tmp/c5.out" "slow = 8 (errno 0)"
check $? "5 ol_slow(7, 8000) over a 5 s lease returns 8" "$tmp/c5.out" \
  "$tmp/c5.err"
nS=$(grep -c '^S ' "$tmp/ol.log")
[ "$nS" = 1 ] && [ "$t5" -lt 11000 ]
check $? "5 it ran exactly once ($nS executions) in ${t5} ms (want < 11000)" \
  "$tmp/ol.log"
# Control: the count of executions sees a second run.
sed p "$tmp/ol.log" >"$tmp/c5.dup"
[ "$(grep -c '^S ' "$tmp/c5.dup")" != 1 ]
check $? "5 control: a doctored log with the run twice counts 2"

# ======================================================================
# 6. redis-server killed and restarted (empty) mid-call.
# ======================================================================
# Neither the caller nor the pool may die of it (SIGPIPE on a write to
# the dead server's connection killed both before queue/rconn.c held it
# back).  The call was running in a worker when the server went, so the
# new server has no trace of it and it may have run: it is a lost call,
# decided by on_crash (README, "When things fail"), here -1 with errno
# EIO (5); olprog then exits 1, as for any result other than 42.
DEFAULTS='wait_for_runner = "3s"
on_crash = { return = -1, errno = "EIO" }'
CFG6=$(mkcfg c6 "" "autostart = false")
DEFAULTS=
if start_pool c6 "$CFG6" 2 OL_LOG="$tmp/c6.ol.log"; then
  P6=$RPID
  bg_caller "$tmp/c6" "$CFG6" -- "$OL/olprog" slow 41 3000
  C6=$BGPID
  wait_line "$tmp/c6.ol.log" '^S ' 10
  check $? "6 the slow call (ol_slow(41, 3000)) runs in a worker" "$tmp/c6.err"
  t0=$(now_ms)
  {
    kill -KILL "$RSPID"
    wait_gone "$RSPID" 5
    wait "$RSGRP"
  } 2>/dev/null
  sleep 0.5
  start_redis
  check $? "6 redis-server killed and started again on the same socket (empty: $(nkeys) keys)" \
    "$root/redis.log"
  wait "$C6"
  st6=$?
  t6=$(($(now_ms) - t0))
  what6=$(head -n 1 "$tmp/c6.out")
  # wait_for_runner 3 s + the 3 s call + a few seconds.
  # One outcome only: the new server has no trace of the call, so the
  # caller's next check (after one blocking read, BLOCK_MS) finds it lost,
  # and the worker's answer, which names a claim the new server never
  # gave, is refused by the ANSWER script (queue/redis_pool.c).
  [ "$t6" -lt 10000 ] && [ "$st6" = 1 ] && has "$tmp/c6.out" "slow = -1 (errno 5)"
  check $? "6 the caller ends in ${t6} ms (want < 10000), exit $st6 (want 1), with '${what6:-nothing}' (want -1/EIO: on_crash decided the lost call)" \
    "$tmp/c6.out" "$tmp/c6.err"
  # It was running in a worker: never run a second time in the caller.
  ! grep -q "calling it inline" "$tmp/c6.err"
  check $? "6 the lost call is not run again in the caller" "$tmp/c6.err"
  # The pool comes back to the new server by itself.
  caller "$tmp/c6b" "$CFG6" -- "$OL/olprog" basic
  rc_is "$tmp/c6b" 0 && has "$tmp/c6b.out" "basic: 3 calls, 0 wrong, offloaded=yes" &&
    kill -0 "$P6" 2>/dev/null
  check $? "6 afterwards the same pool ($P6) serves through the new server" \
    "$tmp/c6b.out" "$tmp/c6b.err" "$root/c6.rlog"
else
  not_ok "6 a pool serves c6" "$root/c6.rlog"
fi

# ======================================================================
# 7. 100 callers SIGKILLed mid-call: the sweep removes what they left.
# ======================================================================
# A pool of this host's id (its sweep forgets this host's dead callers:
# queue/redis_pool.c, sweep_callers) serves c7's queue; the queue's keys
# are listed before and after.
N7=100
CFG7=$(mkcfg c7 "" "autostart = false")
start_pool c7 "$CFG7" 2
check $? "7 a pool serves c7" "$root/c7.rlog"
caller "$tmp/c7w" "$CFG7" -- "$OL/olprog" basic
pat7='dtask:{c7/*'
# The keys of c7's queue but trips (the callers' round trips for dtask
# status, which a pool that starts alone resets: the new pool below).
k7() { rcli --scan --pattern "$pat7" | grep -v ':trips$' | sort; }
k7 >"$tmp/c7.before"
kb=$(wc -l <"$tmp/c7.before")
ckey=$(rcli --scan --pattern "$pat7:calls" | head -n 1)
[ -z "$ckey" ] && ckey=$(sed -n 's/:tasks$/:calls/p' "$tmp/c7.before")
# The pool is stopped while the callers submit, so that every call is
# still in the queue when its caller is killed; then a new pool starts
# and its sweep (at once, then every second) must forget them all.  Its
# workers may claim a few of the dead callers' tasks first: those run,
# and their answers are not stored.
kill -TERM "$RPID"
wait_gone "$RPID" 5
g7=()
for k in $(seq $N7); do
  bg_caller "$tmp/c7.$k" "$CFG7" -- "$OL/olprog" slow "$k" 300
  g7+=("$BGPID")
done
for i in $(seq 500); do
  [ "$(rcli HLEN "$ckey")" -ge $N7 ] && break
  sleep 0.04
done
inflight=$(rcli HLEN "$ckey")
tasks7=$(rcli XLEN "${ckey%calls}tasks")
[ "$inflight" = $N7 ] && [ "$tasks7" = $N7 ]
check $? "7 $N7 callers wait for their calls ($inflight entries in ${ckey:-calls}, $tasks7 tasks)"
{
  for g in "${g7[@]}"; do kill -KILL -- "-$g"; done
  for g in "${g7[@]}"; do wait "$g"; done
} 2>/dev/null
start_pool c7b "$CFG7" 2
check $? "7 a new pool serves c7" "$root/c7b.rlog"
for i in $(seq 100); do
  k7 >"$tmp/c7.after"
  cmp -s "$tmp/c7.before" "$tmp/c7.after" && [ "$(rcli HLEN "$ckey")" = 0 ] &&
    [ "$(rcli XLEN "${ckey%calls}tasks")" = 0 ] && break
  sleep 0.1
done
ka=$(wc -l <"$tmp/c7.after")
diff "$tmp/c7.before" "$tmp/c7.after" >"$tmp/c7.diff"
h7=$(rcli HLEN "$ckey")
x7=$(rcli XLEN "${ckey%calls}tasks")
cmp -s "$tmp/c7.before" "$tmp/c7.after" && [ "$h7" = 0 ] && [ "$x7" = 0 ]
st7=$?
{
  echo "XPENDING:"
  rcli XPENDING "${ckey%calls}tasks" w - + 10
  echo "XINFO CONSUMERS:"
  rcli XINFO CONSUMERS "${ckey%calls}tasks" w
  echo "XRANGE (fields i, c, t):"
  rcli XRANGE "${ckey%calls}tasks" - + | grep -a -A1 -x -E 'i|c|t'
} >"$tmp/c7.left" 2>&1
check $st7 "7 after the kills the queue's keys are those of before ($kb before, $ka after), $h7 calls entries, $x7 tasks (want 0, 0)" \
  "$tmp/c7.diff" "$tmp/c7.left"
# Control: the comparison sees an extra key.
{ cat "$tmp/c7.before"; echo "${ckey%calls}r:1"; } | sort >"$tmp/c7.ctl"
! cmp -s "$tmp/c7.before" "$tmp/c7.ctl"
check $? "7 control: a key list with an answer left over differs"
caller "$tmp/c7z" "$CFG7" -- "$OL/olprog" basic
has "$tmp/c7z.out" "basic: 3 calls, 0 wrong, offloaded=yes"
check $? "7 the pool still serves" "$tmp/c7z.out" "$tmp/c7z.err"

# ======================================================================
# 9. Every signature form, and split calls, through Redis.
# ======================================================================
# rcfg NAME BASE: $root/NAME.toml = BASE (a fixture's config) with a
# [queue] on this server (key prefix NAME) and autostart off.
rcfg() {
  mkdir -m 700 "$root/$1"
  {
    cat "$2"
    printf '\n[queue]\nbackend = "redis"\nurl = "unix://%s"\npath = "%s"\nname = "%s"\n' \
      "$SOCK" "$root/$1/q" "$1"
    printf '\n[runner]\nautostart = false\n'
  } >"$root/$1.toml"
  chmod 600 "$root/$1.toml"
  echo "$root/$1.toml"
}
FIX=$BUILD/fixtures/interpose
FAN=$BUILD/fixtures/fanout
CFG9=$(rcfg c9 "$FIX/fix.toml")
# fx_tick/fx_ticks keep a counter in libfix: each worker has its own, so
# with 2 workers that line may differ (offload.sh says the same); it is
# set aside.
for prog in fixprog_lazy fixthr; do
  run "$tmp/c9.$prog.plain" "$FIX/$prog"
  dtask_run "$tmp/c9.$prog" "$CFG9" 2 -- "$FIX/$prog"
  grep -v '^fx_ticks = ' "$tmp/c9.$prog.plain.out" >"$tmp/c9.$prog.want"
  grep -v '^fx_ticks = ' "$tmp/c9.$prog.out" >"$tmp/c9.$prog.got"
  diff -u "$tmp/c9.$prog.want" "$tmp/c9.$prog.got" >"$tmp/c9.$prog.diff"
  rc_is "$tmp/c9.$prog" 0 && [ -s "$tmp/c9.$prog.want" ] &&
    cmp -s "$tmp/c9.$prog.want" "$tmp/c9.$prog.got"
  check $? "9 $prog (every signature form: buffers in, out and inout, strings, structs, errno) prints the same through Redis (fx_ticks aside)" \
    "$tmp/c9.$prog.diff" "$tmp/c9.$prog.err"
  want=$(awk '/^expect / { s += $3 } END { print s + 0 }' "$tmp/c9.$prog.out")
  total=$(summary_total "$tmp/c9.$prog.err")
  [ "$want" -gt 0 ] && [ "$total" = "$want" ]
  check $? "9 $prog: all $want calls offloaded (summary: ${total:-none})" \
    "$tmp/c9.$prog.err"
done
CFG9F=$(rcfg c9f "$FAN/fan.toml")
run "$tmp/c9f.plain" "$FAN/fanprog" square 643 common 1024 dsum 200 rowsum 64
grep '^R ' "$tmp/c9f.plain.out" >"$tmp/c9f.want"
dtask_run "$tmp/c9f" "$CFG9F" 4 FAN_LOG="$tmp/c9f.log" -- \
  "$FAN/fanprog" square 643 common 1024 dsum 200 rowsum 64
grep '^R ' "$tmp/c9f.out" >"$tmp/c9f.got"
diff -u "$tmp/c9f.want" "$tmp/c9f.got" >"$tmp/c9f.diff"
rc_is "$tmp/c9f" 0 && [ "$(wc -l <"$tmp/c9f.want")" = 4 ] &&
  cmp -s "$tmp/c9f.want" "$tmp/c9f.got"
check $? "9 split calls (sum, a common in buffer, doubles, rows) through Redis: return values, errno and out bytes as without dtask" \
  "$tmp/c9f.diff" "$tmp/c9f.err"
nslices=$(grep -c '^C ' "$tmp/c9f.log" 2>/dev/null)
[ "${nslices:-0}" -gt 4 ]
check $? "9 the calls ran as ${nslices:-0} slices in the workers" "$tmp/c9f.log"
left=$(rcli --scan --pattern 'dtask:{c9f/*' | grep -cE ':(b|r):')
calls=$(rcli --scan --pattern 'dtask:{c9f/*:calls' | wc -l)
[ "$left" = 0 ] && [ "$calls" = 0 ]
check $? "9 no shared buffer, answer or call entry is left ($left keys, $calls calls hashes)"

# 9b. Calls larger than one value of the server: a second redis-server
# that takes at most 1 MiB in one value (proto-max-bulk-len), and calls
# whose tasks, answers and shared buffer are 2 to 3 MB: each goes in
# parts (queue/redis_parts.c), and comes back whole.
SOCK1M=$root/r1m.sock
timeout -s KILL 300 "$REDIS_SERVER" --port 0 --unixsocket "$SOCK1M" \
  --unixsocketperm 700 --save '' --appendonly no --dir "$root/rdata" \
  --proto-max-bulk-len 1mb >>"$root/redis1m.log" 2>&1 &
groups+=("$!")
for i in $(seq 200); do
  [ "$(timeout 5 "$REDIS_CLI" -s "$SOCK1M" PING 2>/dev/null)" = PONG ] && break
  sleep 0.05
done
r1m() { timeout 10 "$REDIS_CLI" -s "$SOCK1M" "$@"; }
CFG9P=$(rcfg c9p "$FAN/fan.toml")
sed -i "s|^url = .*|url = \"unix://$SOCK1M\"|" "$CFG9P"
FAN9P=(sq_workers 300000 common 20000 plain8 1)
run "$tmp/c9p.plain" FAN_TABLE=3000000 "$FAN/fanprog" "${FAN9P[@]}"
grep -E '^(R|A) ' "$tmp/c9p.plain.out" >"$tmp/c9p.want"
dtask_run "$tmp/c9p" "$CFG9P" 2 FAN_TABLE=3000000 -- "$FAN/fanprog" "${FAN9P[@]}"
grep -E '^(R|A) ' "$tmp/c9p.out" >"$tmp/c9p.got"
diff -u "$tmp/c9p.want" "$tmp/c9p.got" >"$tmp/c9p.diff"
pushes=$(r1m INFO commandstats | sed -n 's/^cmdstat_rpush:calls=\([0-9]*\),.*/\1/p')
reads=$(r1m INFO commandstats | sed -n 's/^cmdstat_lindex:calls=\([0-9]*\),.*/\1/p')
rc_is "$tmp/c9p" 0 && [ "$(wc -l <"$tmp/c9p.want")" = 4 ] &&
  cmp -s "$tmp/c9p.want" "$tmp/c9p.got" && [ "${pushes:-0}" -ge 20 ] &&
  [ "${reads:-0}" -ge 20 ]
check $? "9b a server that takes 1 MiB in one value: 2.4 MB slices in and out, a 3 MB shared buffer and 8 calls with a 3 MB table each go in parts (${pushes:-0} parts written, ${reads:-0} read) and every result is as without dtask" \
  "$tmp/c9p.diff" "$tmp/c9p.err" "$root/redis1m.log"
sleep 0.3 # the last answer's parts: dropped by the caller's next call or exit
left=$(timeout 10 "$REDIS_CLI" -s "$SOCK1M" --scan --pattern 'dtask:{c9p/*' |
  grep -cE ':(b|r|k|a):')
[ "$left" = 0 ]
check $? "9b no part, shared buffer or answer is left in that server ($left keys)"

# ======================================================================
# 8. A pool in another network namespace, reaching redis over TCP.
# ======================================================================
if [ "$(id -u)" != 0 ]; then
  skip "8 network namespaces" "needs root, to create namespaces and veth pairs"
  finish
fi
A8=10.201.$(($$ % 250)).1 B8=10.201.$(($$ % 250)).2
P8=$((20000 + $$ % 20000))
SOCK8=$root/r8.sock
{
  ip netns add "$NS_A" && NS_MADE=1 &&
    ip link add "dtr-$$" type veth peer name "dtp-$$" &&
    ip link set "dtp-$$" netns "$NS_A" &&
    ip addr add "$A8/24" dev "dtr-$$" && ip link set "dtr-$$" up &&
    ip netns exec "$NS_A" ip addr add "$B8/24" dev "dtp-$$" &&
    ip netns exec "$NS_A" ip link set "dtp-$$" up &&
    ip netns exec "$NS_A" ip link set lo up
} >"$tmp/c8.net" 2>&1
check $? "8 namespace $NS_A joined to the root namespace by a veth pair ($A8 - $B8)" \
  "$tmp/c8.net"
# A second redis-server, on TCP at $A8 (root namespace) and a socket.
timeout -s KILL 120 "$REDIS_SERVER" --port "$P8" --bind "$A8" \
  --protected-mode no --unixsocket "$SOCK8" --unixsocketperm 700 \
  --save '' --appendonly no --dir "$root/rdata" >>"$root/redis8.log" 2>&1 &
groups+=($!)
for i in $(seq 100); do
  [ "$(timeout 5 ip netns exec "$NS_A" "$REDIS_CLI" -h "$A8" -p "$P8" PING \
    2>/dev/null)" = PONG ] && break
  sleep 0.05
done
[ "$(timeout 5 ip netns exec "$NS_A" "$REDIS_CLI" -h "$A8" -p "$P8" PING \
  2>&1)" = PONG ]
check $? "8 from $NS_A, redis answers at $A8:$P8" "$root/redis8.log"
# Control: inside the namespace nothing listens on its own loopback.
[ "$(timeout 5 ip netns exec "$NS_A" "$REDIS_CLI" -h 127.0.0.1 -p "$P8" PING \
  2>&1)" != PONG ]
check $? "8 control: from $NS_A, 127.0.0.1:$P8 does not answer"
URL="redis://$A8:$P8/0"
CFG8N=$(mkcfg c8n 'name = "n8"' "autostart = false")
URL="unix://$SOCK8"
CFG8=$(mkcfg c8 'name = "n8"' "autostart = false")
URL=
if start_pool c8 "$CFG8N" 1 DTASK_HOST_ID=nshost ip netns exec "$NS_A"; then
  P8R=$RPID
  caller "$tmp/c8" "$CFG8" -- "$OL/olprog" basic
  w8=$(sed -n 's/^olprog: ol_pid() ran in //p' "$tmp/c8.err")
  rc_is "$tmp/c8" 0 && has "$tmp/c8.out" "ol_add(2, 3) = 5" \
    "basic: 3 calls, 0 wrong, offloaded=yes"
  check $? "8 a caller in the root namespace is served (offloaded=yes)" \
    "$tmp/c8.out" "$tmp/c8.err"
  [ -n "$w8" ] && pgrep -P "$P8R" | grep -qx "$w8" &&
    [ "$(ip netns identify "$w8" 2>/dev/null)" = "$NS_A" ]
  check $? "8 ol_pid() ran in ${w8:-?}, a worker of the pool ($P8R) in $NS_A" \
    "$root/c8.rlog"
else
  not_ok "8 a pool in $NS_A serves through redis://$A8:$P8/0" "$root/c8.rlog"
fi

# 8b. The namespace cut off mid-call (its link down): its pool stops
# renewing the lease, a pool of another host (here, in the root
# namespace) takes the call over after the lease, and the caller gets
# exactly one answer; ol_slow runs twice in all (once cut off).
kill -TERM "$P8R" 2>/dev/null
wait_gone "$P8R" 10
if start_pool c8p "$CFG8N" 1 DTASK_HOST_ID=nshost OL_LOG="$tmp/c8p.ol" \
  ip netns exec "$NS_A"; then
  P8P=$RPID
  bg_caller "$tmp/c8p" "$CFG8" -- "$OL/olprog" slow 41 3000
  C8P=$BGPID
  wait_line "$tmp/c8p.ol" '^S ' 10
  w8p=$(sed -n 's/^S \([0-9]*\).*/\1/p' "$tmp/c8p.ol" | head -n 1)
  [ -n "$w8p" ] && [ "$(ip netns identify "$w8p" 2>/dev/null)" = "$NS_A" ]
  check $? "8b the slow call runs in $NS_A (worker ${w8p:-?})" "$tmp/c8p.ol"
  start_pool c8q "$CFG8" 1 DTASK_HOST_ID=roothost OL_LOG="$tmp/c8p.ol"
  check $? "8b a pool of another host serves the same queue" "$root/c8q.rlog"
  t0=$(now_ms)
  ip link set "dtr-$$" down
  wait "$C8P"
  t8=$(($(now_ms) - t0))
  ip link set "dtr-$$" up
  has "$tmp/c8p.out" "slow = 42 (errno 0)" && [ "$t8" -lt 15000 ]
  check $? "8b cut off mid-call: the caller gets 42 in ${t8} ms (lease 5 s + tick + the 3 s run; want < 15000)" \
    "$tmp/c8p.out" "$tmp/c8p.err"
  nS=$(grep -c '^S ' "$tmp/c8p.ol")
  [ "$nS" = 2 ]
  check $? "8b ol_slow ran twice in all ($nS): once cut off, once on the other host" \
    "$tmp/c8p.ol"
  ! grep -q "calling it inline" "$tmp/c8p.err"
  check $? "8b it never ran in the caller" "$tmp/c8p.err"
else
  not_ok "8b a pool in $NS_A serves with its execution log" "$root/c8p.rlog"
fi

finish
