# procs.bash: the processes an integration script started, stopped at
# its end: kill_ours stops those still running (and only those, so that
# a recycled pid is never killed), descendants finds what background
# subshells started.  Set OURS (a string every fixture command line of
# the script holds, such as its fixture directory followed by /) before
# sourcing it after tap.bash (named .bash, so tests/run.sh does not run
# it).  Used by failurefx.bash and behaviours.sh.

# kill_ours PID...: stops each process that is still one of ours (its
# command line names $OURS, the script's fixture directory, or
# dtask-runner or timeout), TERM then KILL.
kill_ours() {
  local p alive=()
  for p in "$@"; do
    if [ -z "$p" ] || ! kill -0 "$p" 2>/dev/null; then
      continue
    fi
    if tr '\0' ' ' 2>/dev/null <"/proc/$p/cmdline" |
      grep -qF -e "$OURS" -e dtask-runner -e timeout; then
      kill -TERM "$p" 2>/dev/null && alive+=("$p")
    fi
  done
  [ ${#alive[@]} -eq 0 ] && return
  sleep 0.3
  for p in "${alive[@]}"; do
    kill -0 "$p" 2>/dev/null && kill -KILL "$p" 2>/dev/null
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
