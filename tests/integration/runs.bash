# runs.bash: what the integration scripts share to make the runs they
# check and to read them.  A run OUT leaves OUT.out, OUT.err, OUT.rc (its
# exit status) and, where the script times it, OUT.ms; run and run_timed
# make one (with the script's CLEAN, env's -u options, applied), the
# other helpers read those files.  It also owns the set-up every script
# repeats: need_built (the fixtures are there), scratch_dir and scratch
# (the private directory), redis_up and need_redis (a redis-server of the
# script's own), and CLEAN_DTASK (the variables no run may inherit).
# note writes into the script's $tmp, counts runs its $QTOOL.  Sourced
# after tap.bash (named .bash, so tests/run.sh does not run it).
# shellcheck disable=SC2154  # CLEAN, tmp and QTOOL are the sourcing script's
# shellcheck disable=SC2034  # the scripts read root

# CLEAN_DTASK: env's -u options for LD_PRELOAD and every DTASK_ variable
# that a launcher, a pool or the shim passes on to what it starts (the
# names of common/common.h's DT__ENV_*), so that none leaks into a run
# from the environment the script was started in.  A script's CLEAN is
# this plus its own fixtures' variables.
CLEAN_DTASK=(-u LD_PRELOAD -u DTASK_CONFIG -u DTASK_MODE -u DTASK_TRACE
             -u DTASK_LOG -u DTASK_STRICT -u DTASK_ROLE -u DTASK_WORKERS
             -u DTASK_STATS -u DTASK_SHIM -u DTASK_AUTOSTARTED
             -u DTASK_READY_FD)

# need_built DESCRIPTION HOW FILE...: 0 if every FILE exists.  Else the
# first one missing is named on stderr, with HOW (what builds it: "make
# all", ...), and the script ends with one failure, DESCRIPTION ("{}" in
# it stands for the missing file).
need_built() {
  local desc=$1 how=$2 f
  shift 2
  for f in "$@"; do
    if [ ! -e "$f" ]; then
      echo "${0##*/}: $f is missing; build first ($how)" >&2
      not_ok "${desc//\{\}/$f}"
      finish
    fi
  done
}

# run OUT [VAR=VALUE...] CMD...: CMD with a limit of RUN_TMO seconds (60
# unless the script sets it) and a clean environment (env "${CLEAN[@]}");
# OUT.out, OUT.err, OUT.rc.
run() {
  local o=$1
  shift
  timeout "${RUN_TMO:-60}" env "${CLEAN[@]}" "$@" >"$o.out" 2>"$o.err"
  echo $? >"$o.rc"
}

# run_timed OUT [VAR=VALUE...] CMD...: as run, and OUT.ms (its wall
# time); with RUN_END=1 set, OUT.end too (when it ended, date +%s%N).
# Bash's own notice for a command killed by a signal ("Segmentation
# fault"; `timeout` dies of its command's signal) goes to OUT.notice, not
# to CMD's stderr (OUT.err): an exit with status 128+N leaves no notice.
run_timed() {
  local o=$1 t0 t1
  shift
  t0=$(date +%s%N)
  { timeout "${RUN_TMO:-60}" env "${CLEAN[@]}" "$@" >"$o.out" 2>"$o.err"; } \
    2>"$o.notice"
  echo $? >"$o.rc"
  t1=$(date +%s%N)
  [ "${RUN_END:-0}" = 1 ] && echo "$t1" >"$o.end"
  echo $(((t1 - t0) / 1000000)) >"$o.ms"
}

# dtask_run OUT CONFIG WORKERS [VAR=VALUE...] -- PROG ARGS...: PROG under
# dtask run ($DTASK) with WORKERS workers and the script's LAUNCH_ENV, as
# run.
dtask_run() {
  local o=$1 cfg=$2 w=$3
  shift 3
  split_at_dashes "$@"
  run "$o" "${LAUNCH_ENV[@]}" "${VARS[@]}" "$DTASK" run -c "$cfg" -w "$w" \
    -- "${CMD[@]}"
}

# caller OUT CONFIG [VAR=VALUE...] -- PROG ARGS...: PROG with the shim
# preloaded ($PRELOAD, with the script's CALLER_ENV), no launcher (a pool
# must serve the queue, or autostart one); as run.  Where the script sets
# CALLER_PROG, that is PROG, and the words after -- are its ARGS; with
# CALLER_TIMED=1, as run_timed.
caller() {
  local o=$1 cfg=$2 how=run
  shift 2
  split_at_dashes "$@"
  [ "${CALLER_TIMED:-0}" = 1 ] && how=run_timed
  "$how" "$o" "${CALLER_ENV[@]}" DTASK_CONFIG="$cfg" "${VARS[@]}" \
    LD_PRELOAD="$PRELOAD" ${CALLER_PROG:+"$CALLER_PROG"} "${CMD[@]}"
}

# summary_total FILE: N from dtask run's summary line "dtask: N calls
# offloaded; SYM n (p50 T, p99 T); ..." (empty if there is none).
summary_total() {
  sed -n 's/^dtask: \([0-9][0-9]*\) calls\{0,1\} offloaded.*/\1/p' "$1" |
    tail -n 1
}

# has FILE FIXED-STRING...: 0 if FILE holds every string.
has() {
  local file=$1 s
  shift
  for s in "$@"; do
    grep -qF -- "$s" "$file" || return 1
  done
}

# rc_is OUT STATUS: 0 if the run OUT exited with STATUS.
rc_is() { [ "$(cat "$1.rc")" = "$2" ]; }

# ms_of OUT: the run's wall time in milliseconds.
ms_of() { cat "$1.ms"; }

# note NAME TEXT...: writes a detail file $tmp/NAME.note, prints its path.
note() {
  local n=$1
  shift
  printf '%s\n' "$@" >"$tmp/$n.note"
  echo "$tmp/$n.note"
}

# re TEXT: TEXT with the characters special to grep -E escaped.
re() { printf '%s' "$1" | sed 's/[][\.*^$+?(){}|]/\\&/g'; }

# dtask_lines OUT: the lines of OUT.err that dtask wrote (other than the
# lines of `timeout`, which may say that a command dumped core).
dtask_lines() { grep -v '^timeout: ' "$1.err"; }

# one_line OUT LEVEL REGEX: OUT.err holds exactly one line, and it is
# "dtask[CALLER-PID]: LEVEL" followed by REGEX, to the end of the line.
one_line() {
  local pid
  pid=$(caller_pid "$1")
  [ -n "$pid" ] && [ "$(dtask_lines "$1" | wc -l)" = 1 ] &&
    dtask_lines "$1" | grep -qE "^dtask\[$pid\]: $2$3\$"
}

# line_in OUT LEVEL REGEX: OUT.err has such a line (among others).
line_in() {
  local pid
  pid=$(caller_pid "$1")
  [ -n "$pid" ] && grep -qE "^dtask\[$pid\]: $2$3\$" "$1.err"
}

# counts CONFIG: "tasks T claims C results R" of CONFIG's queue.
counts() { timeout 20 "$QTOOL" "$1" counts 2>&1; }

# caller_pid OUT: the pid the fixture program printed first (its first
# "caller pid N" line).
caller_pid() { sed -n 's/^caller pid //p' "$1.out" | head -n 1; }

# scratch_dir NAME [PARENT]: makes the script's private (0700) directory
# PARENT/dtask-NAME.XXXXXX (PARENT: /tmp unless given; /dev/shm where the
# queues should live in memory), sets tmp and root to it and goes there.
# The script's own EXIT trap removes it (scratch sets one that does).
scratch_dir() {
  tmp=$(mktemp -d "${2:-/tmp}/dtask-$1.XXXXXX") || exit 1
  chmod 700 "$tmp"
  root=$tmp
  cd "$tmp" || exit 1
}

# scratch NAME: scratch_dir NAME in /tmp; at exit every process listed in
# PIDS is killed (SIGKILL) and reaped, then $tmp is removed.
scratch() {
  scratch_dir "$1"
  PIDS=()
  trap scratch_cleanup EXIT
}
# shellcheck disable=SC2317  # runs from the EXIT trap
scratch_cleanup() {
  local p
  for p in "${PIDS[@]}"; do
    kill -KILL "$p" 2>/dev/null
    wait "$p" 2>/dev/null
  done
  cd / && rm -rf "$tmp"
}

# redis_up: a redis-server of the script's own, on the unix socket
# $tmp/redis.sock (set as SOCK), no persistence, added to PIDS.  Returns
# 1 when redis-server is not installed (tools/deps.sh installs it).
redis_up() {
  local server _
  server=$(command -v redis-server) || return 1
  mkdir -m 700 "$tmp/rdata"
  SOCK=$tmp/redis.sock
  "$server" --port 0 --unixsocket "$SOCK" --unixsocketperm 700 --save '' \
    --appendonly no --dir "$tmp/rdata" >"$tmp/redis.log" 2>&1 &
  PIDS+=("$!")
  for _ in $(seq 100); do [ -S "$SOCK" ] && break; sleep 0.05; done
}

# need_redis: redis_up, or the script ends with one failure that names
# tools/deps.sh.
need_redis() {
  redis_up && return 0
  not_ok "redis-server is installed (tools/deps.sh installs it)"
  finish
}
