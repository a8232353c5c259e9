# procs.bash: the processes an integration script starts and stops:
# start_runner starts a pool of dtask-runner and waits until it serves,
# stop_runner stops one, wait_gone waits for a process to end,
# pools_named_in finds the pools that callers autostarted, kill_ours
# stops at the script's end those still running (and only those, so that
# a recycled pid is never killed), descendants finds what background
# subshells started.
# Set OURS (a string every fixture command line of the script holds, such
# as its fixture directory followed by /; several, one a line) before
# kill_ours runs.  Sourced after tap.bash (named .bash, so tests/run.sh
# does not run it).  Used by failurefx.bash, behaviours.sh, objects.sh,
# offload.sh and redis.sh.
# shellcheck disable=SC2154  # RUNNER, RUNNER_PROG, RUNNER_TMO, root: the script's
# shellcheck disable=SC2034  # the scripts read RJOB

# kill_ours PID...: stops each process that is still one of ours (its
# command line names $OURS, the script's fixture directory or one of its
# lines, or dtask-runner or timeout), TERM then KILL.
kill_ours() {
  local p live=()
  for p in "$@"; do
    if [ -z "$p" ] || ! kill -0 "$p" 2>/dev/null; then
      continue
    fi
    if tr '\0' ' ' 2>/dev/null <"/proc/$p/cmdline" |
      grep -qF -e "$OURS" -e dtask-runner -e timeout; then
      kill -TERM "$p" 2>/dev/null && live+=("$p")
    fi
  done
  [ ${#live[@]} -eq 0 ] && return
  sleep 0.3
  for p in "${live[@]}"; do
    kill -0 "$p" 2>/dev/null && kill -KILL "$p" 2>/dev/null
  done
}

# pools_named_in LOG...: the supervisor pids that autostarted pools wrote
# in their runner.log files ("runner PID serves ..."), one a line; a LOG
# that does not exist (an unmatched glob) is passed over.
pools_named_in() {
  local f
  for f in "$@"; do
    [ -f "$f" ] && sed -n 's/.*: runner \([0-9][0-9]*\) serves .*/\1/p' "$f"
  done
}

# descendants PID: every process below PID (children, their children...).
descendants() {
  ps -e -o pid= -o ppid= | awk -v root="$1" '
    { kids[$2] = kids[$2] " " $1 }
    END {
      todo = root
      while (todo != "") {
        split(todo, now, " ")
        todo = ""
        for (i in now) {
          n = split(kids[now[i]], k, " ")
          for (j = 1; j <= n; j++) { print k[j]; todo = todo " " k[j] }
        }
      }
    }'
}

# start_runner NAME CONFIG WORKERS [VAR=VALUE...]: starts dtask-runner
# ($RUNNER, with the script's CLEAN and LAUNCH_ENV) with $RUNNER_PROG as
# the image, in the background under a $RUNNER_TMO-second limit, logging
# at info level to $root/NAME.rlog (its stdout to NAME.rout); waits (at
# most 10 s) until it serves and sets RPID to its supervisor's pid and
# RJOB to the background job's (the `timeout`), both added to the
# script's `started`.  Returns 1 if it did not come up.  With RUNNER_WRAP
# set (an array), dtask-runner runs as "${RUNNER_WRAP[@]}" dtask-runner.
RUNNER_WRAP=()
start_runner() {
  local name=$1 cfg=$2 w=$3 i
  shift 3
  RPID=
  timeout "$RUNNER_TMO" env "${CLEAN[@]}" "${LAUNCH_ENV[@]}" DTASK_LOG=info \
    "$@" "${RUNNER_WRAP[@]}" "$RUNNER" -c "$cfg" -w "$w" -- "$RUNNER_PROG" \
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

# wait_gone PID SECONDS: 0 once PID no longer exists, 1 after SECONDS.
# With ZOMBIE_GONE=1, once it no longer runs (gone): the failure scripts
# wait for orphans that init has not reaped yet.
wait_gone() {
  local pid=$1 n=$(($2 * 50)) i
  for ((i = 0; i < n; i++)); do
    if [ "${ZOMBIE_GONE:-0}" = 1 ]; then
      gone "$pid" && return 0
    else
      kill -0 "$pid" 2>/dev/null || return 0
    fi
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
