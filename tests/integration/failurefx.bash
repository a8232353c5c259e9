# failurefx.bash: the set-up and helpers shared by failure.sh (a. to f.:
# one call's crash, retry, timeout and errno retries, the soak, leases)
# and failure_pool.sh (g. to k.: the sweep of dead callers, no runner,
# on_timeout = "retry", backoff, the whole runner killed).  Sourced after
# tap.bash and runs.bash (named .bash, so tests/run.sh does not run it);
# it runs the set-up as it is sourced.
#
# The programs are the fixtures of tests/fixtures/failure (libfail.so,
# flprog), built into $BUILD/fixtures/failure, and the queue tool
# tests/fixtures/qtool.c, built into $BUILD/fixtures.  Every queue is a
# fresh directory under one private (0700) directory in /dev/shm ($root),
# removed at exit; every runner and caller the script starts is stopped
# at exit.  Core dumps are off.  t_start is when the set-up began.
#
# Environment: FL_BACKEND=redis runs every case through the redis
# backend instead of LMDB (tests/integration/failure_redis.sh and
# failure_pool_redis.sh do): a redis-server of its own on a unix socket
# in the private directory.
# BUILD (default build); SANITIZE=1 when the shim and the
# commands were built with ASan/UBSan (detected from the shim when unset):
# the ASan runtime is preloaded, first, for the callers started here, and
# dtask-runner is given it too (with verify_asan_link_order=0, as in
# offload.sh).  ASan's own SIGSEGV/SIGBUS/SIGFPE handlers are turned off
# (handle_segv=0 ...) in callers and runners: a crash must reach dtask,
# and the caller's raise must reach the default action, as without ASan.
# shellcheck disable=SC2317  # cleanup and kill_ours run from the EXIT trap
# shellcheck disable=SC2034  # the sourcing scripts read the variables set here

RUNNER=$BUILD/dtask-runner
SHIM=$BUILD/libdtask_shim.so
FL=$BUILD/fixtures/failure
FLPROG=$FL/flprog
QTOOL=$BUILD/fixtures/qtool
# qtool opens the queue of this program image (each image has its own).
export QTOOL_PROG=$FLPROG
for f in "$RUNNER" "$SHIM" "$FLPROG" "$QTOOL" "$FL/libfail.so" \
  "$FL/fl.toml" "$FL/fl_entry.toml"; do
  if [ ! -e "$f" ]; then
    echo "${0##*/}: $f is missing; build first (make all, which runs" >&2
    echo "tests/fixtures/failure/build.sh)" >&2
    not_ok "dtask, the shim and the failure fixtures are built"
    finish
  fi
done

# shellcheck source=tests/integration/asanfx.bash
. "$(dirname "$0")/asanfx.bash"
# kill_ours and descendants (procs.bash) know our processes by $FL/.
OURS=$FL/
# shellcheck source=tests/integration/procs.bash
. "$(dirname "$0")/procs.bash"

# Variables of ours that must not leak in from the caller's environment.
CLEAN=(-u LD_PRELOAD -u DTASK_CONFIG -u DTASK_MODE -u DTASK_TRACE
       -u DTASK_LOG -u DTASK_STRICT -u DTASK_ROLE -u DTASK_WORKERS
       -u DTASK_STATS -u DTASK_SHIM -u DTASK_AUTOSTARTED -u DTASK_READY_FD
       -u FL_LOG -u FL_ADD_US)

# A crash must not leave core files behind (nor make `timeout` say so).
ulimit -c 0

root=$(mktemp -d /dev/shm/dtask-failure.XXXXXX) || exit 1
chmod 700 "$root"
tmp=$root
# Programs run in this directory: no stray ./dtask.toml takes part.
cd "$root" || exit 1
t_start=$(date +%s%N)

# The redis backend: a server of our own (no persistence), stopped at exit.
FL_BACKEND=${FL_BACKEND:-lmdb}
RSOCK=$root/redis.sock
RSPID=
if [ "$FL_BACKEND" = redis ]; then
  if ! command -v redis-server >/dev/null 2>&1; then
    not_ok "redis-server is installed (tools/deps.sh installs it)"
    finish
  fi
  redis-server --port 0 --unixsocket "$RSOCK" --unixsocketperm 700 \
    --save '' --appendonly no --dir "$root" </dev/null >"$root/redis.log" 2>&1 &
  RSPID=$!
  for i in $(seq 100); do
    [ "$(timeout 2 redis-cli -s "$RSOCK" PING 2>/dev/null)" = PONG ] && break
    sleep 0.05
  done
  [ "$(timeout 2 redis-cli -s "$RSOCK" PING 2>/dev/null)" = PONG ]
  check $? "redis-server serves $RSOCK (FL_BACKEND=redis)" "$root/redis.log"
fi

# Processes started here that may outlive their case (pids).
started=()

cleanup() {
  local more
  # Also what background subshells started (callers under `timeout`).
  mapfile -t more < <(descendants $$)
  kill_ours "${started[@]}" "${more[@]}"
  [ -n "$RSPID" ] && kill -KILL "$RSPID" 2>/dev/null
  cd / && rm -rf "$root"
}
trap cleanup EXIT

# mkcfg NAME BASE [DEFAULTS-LINES...]: writes $root/NAME.toml = the
# fixture config BASE, a queue in $root/NAME/q (created by dtask itself),
# a [runner] table ($RUNNER_KEYS when set, else autostart = false) and a
# [defaults] table with the given lines; prints its path.
mkcfg() {
  local name=$1 base=$2
  shift 2
  {
    cat "$FL/$base"
    printf '\n[queue]\npath = "%s"\nmap_size = "64MiB"\n' "$root/$name/q"
    [ "$FL_BACKEND" = redis ] &&
      printf 'backend = "redis"\nurl = "unix://%s"\nname = "%s"\n' "$RSOCK" "$name"
    printf '\n'
    printf '[runner]\n%s\n\n[defaults]\n' "${RUNNER_KEYS:-autostart = false}"
    [ $# -gt 0 ] && printf '%s\n' "$@"
  } >"$root/$name.toml"
  mkdir -m 700 "$root/$name"
  echo "$root/$name.toml"
}

# run OUT [VAR=VALUE...] CMD...: runs CMD with a 60 s limit and a clean
# environment; OUT.out, OUT.err, OUT.rc, OUT.ms (wall time) and OUT.end
# (when it ended, date +%s%N).  Bash's own notice for a command killed by
# a signal ("Segmentation fault"; `timeout` dies of its command's signal)
# goes to OUT.notice, not to CMD's stderr (OUT.err): an exit with status
# 128+N leaves no notice.
run() {
  local o=$1 t0 t1
  shift
  t0=$(date +%s%N)
  { timeout 60 env "${CLEAN[@]}" "$@" >"$o.out" 2>"$o.err"; } 2>"$o.notice"
  echo $? >"$o.rc"
  t1=$(date +%s%N)
  echo "$t1" >"$o.end"
  echo $(((t1 - t0) / 1000000)) >"$o.ms"
}

# killed_by OUT NAME: the run OUT was killed by the signal whose
# description is NAME ("Bus error"), as bash said; "" for none at all.
killed_by() {
  if [ -z "$2" ]; then
    [ ! -s "$1.notice" ]
  else
    grep -qF -- " $2" "$1.notice"
  fi
}

# caller OUT CONFIG [VAR=VALUE...] -- ARGS...: flprog ARGS with the shim
# preloaded, no launcher.
caller() {
  local o=$1 cfg=$2
  shift 2
  split_at_dashes "$@"
  run "$o" "${CALLER_ENV[@]}" DTASK_CONFIG="$cfg" "${VARS[@]}" \
    LD_PRELOAD="$PRELOAD" "$FLPROG" "${CMD[@]}"
}

# start_runner NAME CONFIG WORKERS [VAR=VALUE...]: starts dtask-runner with
# flprog as the image, in the background (a 120 s limit), logging at info
# level to $root/NAME.rlog; waits (at most 10 s) until it serves and sets
# RPID to its supervisor's pid and RJOB to the background job's (the
# `timeout`).  Returns 1 if it did not come up.  With RUNNER_WRAP set (an
# array), dtask-runner runs as "${RUNNER_WRAP[@]}" dtask-runner ...
RUNNER_WRAP=()
start_runner() {
  local name=$1 cfg=$2 w=$3 i
  shift 3
  RPID=
  timeout 120 env "${CLEAN[@]}" "${LAUNCH_ENV[@]}" DTASK_LOG=info "$@" \
    "${RUNNER_WRAP[@]}" "$RUNNER" -c "$cfg" -w "$w" -- "$FLPROG" \
    >"$root/$name.rout" 2>"$root/$name.rlog" &
  RJOB=$!
  started+=($!)
  for i in $(seq 200); do
    RPID=$(sed -n 's/.*: runner \([0-9][0-9]*\) serves .*/\1/p' \
      "$root/$name.rlog" | head -n 1)
    [ -n "$RPID" ] && break
    kill -0 "${started[-1]}" 2>/dev/null || break
    sleep 0.05
  done
  [ -n "$RPID" ] || return 1
  started+=("$RPID")
}

# stop_runner PID: SIGTERM, then 0 once it is gone (at most 5 s).
stop_runner() {
  kill -TERM "$1" 2>/dev/null
  wait_gone "$1" 5
}

# wait_gone PID SECONDS: 0 once PID no longer runs, 1 after SECONDS.
wait_gone() {
  local pid=$1 n=$(($2 * 50)) i
  for ((i = 0; i < n; i++)); do
    gone "$pid" && return 0
    sleep 0.02
  done
  return 1
}

# gone PID: 0 if PID does not run: it does not exist, or it is a zombie
# (an orphan that init has not reaped yet still answers kill -0).
# (No fork: failure_pool.sh's k polls it for many pids.)
gone() {
  local st=
  { read -r st <"/proc/$1/stat"; } 2>/dev/null
  st=${st##*) }
  [ -z "$st" ] || [ "${st:0:1}" = Z ]
}

# worker_in OUT REGEX-WITH-(W): the worker pid captured by sed from OUT.err.
worker_in() { sed -nE "s/.*$2.*/\\1/p" "$1.err" | head -n 1; }

# wait_empty CONFIG SECONDS: 0 once CONFIG's queue holds nothing (polled
# every 0.1 s), 1 after SECONDS; EMPTY_MS: how long it took, LAST: the
# last counts.
wait_empty() {
  local cfg=$1 n=$(($2 * 10)) i t0
  t0=$(date +%s%N)
  for ((i = 0; i < n; i++)); do
    LAST=$(counts "$cfg")
    EMPTY_MS=$((($(date +%s%N) - t0) / 1000000))
    [ "$LAST" = "tasks 0 claims 0 results 0" ] && return 0
    sleep 0.1
  done
  return 1
}

ERR='error: '
