# runs.bash: what the integration scripts share to read the runs they
# make.  A run OUT leaves OUT.out, OUT.err, OUT.rc (its exit status) and,
# where the script times it, OUT.ms; these helpers read those files.
# note writes into the script's $tmp, counts runs its $QTOOL.  Sourced
# after tap.bash (named .bash, so tests/run.sh does not run it).

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
# shellcheck disable=SC2154  # tmp is the sourcing script's
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

# scratch NAME: makes the script's private (0700) directory $tmp
# (/tmp/dtask-NAME.XXXXXX) and goes there; at exit every process listed
# in PIDS is killed (SIGKILL) and reaped, then $tmp is removed.
scratch() {
  tmp=$(mktemp -d "/tmp/dtask-$1.XXXXXX") || exit 1
  chmod 700 "$tmp"
  PIDS=()
  trap scratch_cleanup EXIT
  cd "$tmp" || exit 1
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
