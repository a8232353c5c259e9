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
need_built "dtask, the shim and the failure fixtures are built" \
  "make all, which runs tests/fixtures/failure/build.sh" \
  "$RUNNER" "$SHIM" "$FLPROG" "$QTOOL" "$FL/libfail.so" "$FL/fl.toml" \
  "$FL/fl_entry.toml"

# shellcheck source=tests/integration/asanfx.bash
. "$(dirname "$0")/asanfx.bash"
# kill_ours and descendants (procs.bash) know our processes by $FL/;
# start_runner starts pools of flprog, with a 120 s limit; wait_gone
# counts a zombie as gone.
OURS=$FL/
RUNNER_PROG=$FLPROG
RUNNER_TMO=120
# caller (runs.bash) runs flprog, timed (OUT.ms, OUT.notice).
CALLER_PROG=$FLPROG
CALLER_TIMED=1
ZOMBIE_GONE=1
# shellcheck source=tests/integration/procs.bash
. "$(dirname "$0")/procs.bash"

# Variables of ours that must not leak in from the caller's environment.
CLEAN=("${CLEAN_DTASK[@]}" -u FL_LOG -u FL_ADD_US)

# A crash must not leave core files behind (nor make `timeout` say so).
ulimit -c 0

# Programs run in this directory: no stray ./dtask.toml takes part.
scratch_dir failure /dev/shm
t_start=$(date +%s%N)

# The redis backend: a server of our own (runs.bash's redis_up, on $RSOCK),
# stopped at exit.
FL_BACKEND=${FL_BACKEND:-lmdb}
RSOCK=$root/redis.sock
RSPID=
if [ "$FL_BACKEND" = redis ]; then
  need_redis
  RSPID=${PIDS[-1]}
  for i in $(seq 100); do
    [ "$(timeout 2 redis-cli -s "$RSOCK" PING 2>/dev/null)" = PONG ] && break
    sleep 0.05
  done
  [ "$(timeout 2 redis-cli -s "$RSOCK" PING 2>/dev/null)" = PONG ]
  check $? "redis-server serves $RSOCK (FL_BACKEND=redis)" "$root/redis.log"
fi

# run_timed (runs.bash) also writes OUT.end: failure_pool.sh measures
# from when a caller ended.
RUN_END=1

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

# killed_by OUT NAME: the run OUT was killed by the signal whose
# description is NAME ("Bus error"), as bash said; "" for none at all.
killed_by() {
  if [ -z "$2" ]; then
    [ ! -s "$1.notice" ]
  else
    grep -qF -- " $2" "$1.notice"
  fi
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
