#!/bin/bash
# session.sh: one config for a whole shell session, used by several
# unmodified Debian programs at once, as a user would use dtask:
#
#   export LD_PRELOAD=.../libdtask_shim.so DTASK_CONFIG=session.toml
#   mawk ...; python3 ...; perl ...; true; ls ...
#
# The config (written here) lists functions of three libraries that three
# different Debian programs import (checked with nm -D on this machine
# first, so that a change in Debian says so rather than fails obscurely):
#   - libm.so.6      cos, sin, exp  mawk (PIE, BIND_NOW) and python3.11's
#                                   built-in math module (non-PIE, lazy);
#   - libz.so.1      crc32          python3.11's built-in zlib module;
#   - libcrypt.so.1  crypt_r        perl's crypt() (perl imports crypt_r,
#                                   not crypt: struct crypt_data travels as
#                                   an inout buffer of 32768 bytes);
# Only cos names its library: a pool of another image cannot serve crc32
# or crypt_r (its runner has no libz or libcrypt), so a call sent to the
# wrong pool shows as "cannot find" and runs locally.  The config has
# autostart on, 2 workers and idle_exit = 3s, the queue under a
# private directory in /dev/shm.  Programs that catch nothing take part
# too: /bin/true, /usr/bin/env running printf, ls, and sleep.
#
# What it checks:
#   0. the programs that catch nothing: stdout, stderr and status as
#      without dtask; no queue directory, no stats file; a sleeping one
#      has libdtask_shim.so mapped but not libdtask_engine.so, libffi or
#      liblmdb; with DTASK_LOG=info one says it stays idle;
#   A. (DTASK_LOG=info, so that the pools log their start) each listed
#      program twice at once, all six at the same time (the cold start of
#      three images racing), then twice more each in turn: stdout and
#      status as without dtask, stderr holds only dtask's own info lines
#      and warnings (no error); DTASK_STATS shows every call the program
#      makes offloaded (per symbol, none run locally);
#   B. (quiet) each program once more while the pools run: stderr empty,
#      every call offloaded;
#      after A and B (the checks come after the runs, so that no pool
#      reaches idle_exit in between): one queue directory per image under
#      [queue] path, named <basename of the executable, symlinks
#      resolved>-<16 hex digits>, each with its runner.log, runner.lock,
#      autostart.lock and LMDB files; exactly one "serves" line per
#      runner.log (one pool per image, started once for its 10 runs), its
#      supervisor still alive; the supervisors show as dtask-pool:<name>
#      and their 2 workers as dtask-w<N>:<name>;
#   C. the pools exit by themselves after idle_exit;
#   D. (quiet) each program once more: autostart starts a new pool per
#      image, in the same directories, without a word on stderr, and the
#      calls are offloaded;
#   and "cannot find" appears in no stderr and no runner.log.
# Every pool is stopped at exit (found by the runner environment of this
# config in /proc, and by runner.log and runner.lock); the temporary
# directories are removed.
#
# A missing Debian program fails the test with the package to install
# (tools/deps.sh installs them).  Environment: BUILD (default build);
# SANITIZE=1 when the shim was built with ASan/UBSan (the ASan runtime is
# preloaded before it).
# Output: "ok - ..." or "not ok - ..." per check, then "N passed, N
# failed, N skipped".  Exit status 1 if any check failed.
# shellcheck disable=SC2317,SC2034  # cleanup runs from the EXIT trap; CMD_* and CALLS_* are read through namerefs
set -u

# shellcheck source=tests/integration/tap.bash
. "$(dirname "$0")/tap.bash"

# Nothing of the caller's environment takes part.
unset LD_PRELOAD DTASK_CONFIG DTASK_MODE DTASK_TRACE DTASK_LOG DTASK_STRICT \
  DTASK_ROLE DTASK_WORKERS DTASK_STATS DTASK_SHIM DTASK_AUTOSTARTED \
  DTASK_READY_FD

SHIM=$BUILD/libdtask_shim.so
if [ ! -f "$SHIM" ] || [ ! -f "$BUILD/libdtask_engine.so" ]; then
  echo "session.sh: $SHIM or libdtask_engine.so is missing; build first (make all)" >&2
  not_ok "the shim and the engine are built"
  finish
fi
# ASan's own signal handlers stay on, as they always have here.
ASAN_HANDLERS=asan
# shellcheck source=tests/integration/asanfx.bash
. "$(dirname "$0")/asanfx.bash"

# ------------------------------------------------------------ programs

# Absolute paths: a PATH may hold wrappers (pyenv's python3 is a shell
# script) that would be other programs.
MAWK=/usr/bin/mawk
PY=/usr/bin/python3
PERL=/usr/bin/perl
need=0
# need_prog PATH PACKAGE SYMBOL...: PATH is installed and imports every
# SYMBOL (nm -D --undefined-only), or a failure that names PACKAGE.
need_prog() {
  local p=$1 pkg=$2 s missing=()
  shift 2
  if [ ! -x "$p" ]; then
    not_ok "$p is installed (Debian package $pkg; tools/deps.sh installs it)"
    need=1
    return
  fi
  if ! command -v nm >/dev/null 2>&1; then
    not_ok "nm is installed (Debian package binutils; tools/deps.sh installs it)"
    need=1
    return
  fi
  nm -D --undefined-only "$(readlink -f "$p")" | awk '{ sub(/@.*/, "", $2); print $2 }' |
    sort -u >"/tmp/session-nm.$$"
  for s in "$@"; do
    grep -qx "$s" "/tmp/session-nm.$$" || missing+=("$s")
  done
  rm -f "/tmp/session-nm.$$"
  if [ ${#missing[@]} -eq 0 ]; then
    ok "$p ($pkg) imports $*"
  else
    not_ok "$p ($pkg) imports $* (missing: ${missing[*]}): this test's choice of functions no longer fits Debian's $pkg"
    need=1
  fi
}
need_prog "$MAWK" mawk cos sin exp
need_prog "$PY" python3 cos sin crc32
need_prog "$PERL" perl-base crypt_r
for p in /bin/true /usr/bin/env /usr/bin/printf /bin/ls /bin/sleep; do
  [ -x "$p" ] || { not_ok "$p is installed (Debian package coreutils)"; need=1; }
done
for l in libz.so.1:zlib1g libcrypt.so.1:libcrypt1 libm.so.6:libc6; do
  if ! ldconfig -p 2>/dev/null | grep -q "^[[:space:]]*${l%%:*} "; then
    not_ok "${l%%:*} is installed (Debian package ${l#*:})"
    need=1
  fi
done
[ "$need" = 0 ] || finish

# image NAME: the name of an image's queue directory starts with this:
# the basename of the executable file, symlinks resolved.
image() { basename "$(readlink -f "$1")"; }
IMAGES=("$(image "$MAWK")" "$(image "$PY")" "$(image "$PERL")")

# The programs, each with the calls of listed functions it makes (checked
# against DTASK_STATS: "dtask-stats 1 SYMBOL CALLS ...").
KEYS=(mawk python3 perl)
CMD_mawk=("$MAWK" 'BEGIN { printf "%.17g %.17g %.17g\n", cos(1), sin(2), exp(3) }')
CALLS_mawk="cos 1,exp 1,sin 1"
CMD_python3=("$PY" -I -c 'import math, zlib
print(repr(math.cos(1)), repr(math.sin(2)), zlib.crc32(b"dtask session"),
      zlib.crc32(b"abc", 7))')
CALLS_python3="cos 1,crc32 2,sin 1"
# shellcheck disable=SC2016  # perl's $ signs
CMD_perl=("$PERL" -e 'print crypt("dtask", "ab"), "\n", crypt("session", q($1$salt$)), "\n"')
CALLS_perl="crypt_r 2"
declare -A IMG=([mawk]=${IMAGES[0]} [python3]=${IMAGES[1]} [perl]=${IMAGES[2]})

# Programs that catch nothing.
NKEYS=(true env ls)
CMD_true=(/bin/true)
CMD_env=(/usr/bin/env /usr/bin/printf '%s\n' "printed by printf under env")

# ------------------------------------------------------------ set-up

tmp=$(mktemp -d) || exit 1
qroot=$(mktemp -d /dev/shm/dtask-session.XXXXXX) || exit 1
chmod 700 "$qroot"
Q=$qroot/q
CFG=$tmp/session.toml
mkdir "$tmp/lsdir" && touch "$tmp/lsdir/a" "$tmp/lsdir/b c" "$tmp/lsdir/d"
CMD_ls=(/bin/ls -1 "$tmp/lsdir")
cat >"$CFG" <<EOF
# One config for a shell session: functions of three libraries, called by
# three different programs.
[queue]
path = "$Q"
map_size = "64MiB"

[runner]
workers = 2
autostart = true
idle_exit = "3s"

[types]
crypt_data = { size = 32768, align = 1 }   # libxcrypt's struct crypt_data

[[offload]]
signature = "double cos(double x)"
library   = "libm.so.6"

[[offload]]
signature = "double sin(double x)"

[[offload]]
signature = "double exp(double x)"

[[offload]]
signature = "ulong crc32(ulong crc, in uint8 buf[len], uint len)"

[[offload]]
signature = "cstring crypt_r(cstring phrase, cstring setting, inout crypt_data data[1])"
version   = "XCRYPT_2.0"
EOF
CFG_ABS=$(readlink -f "$CFG")
# Programs run in an empty directory: no stray ./dtask.toml.
mkdir "$tmp/cwd"
cd "$tmp/cwd" || exit 1

# of_config PID: whether PID is a process started with this config in
# its environment (autostart passes the config's absolute path).
of_config() { grep -qzxF "DTASK_CONFIG=$CFG_ABS" "/proc/$1/environ" 2>/dev/null; }

# ours: the pids of this config's runner processes: in the runner role
# with this config, named by a runner.log, or holding a runner.lock under
# $qroot.
ours() {
  local e p
  for e in /proc/[0-9]*/environ; do
    p=${e#/proc/}
    p=${p%/environ}
    of_config "$p" && grep -qzx 'DTASK_ROLE=runner' "$e" 2>/dev/null && echo "$p"
  done
  find "$qroot" -name runner.log -exec sed -n 's/.*: runner \([0-9][0-9]*\) serves .*/\1/p' {} + 2>/dev/null
  find /proc/[0-9]*/fd -lname "$qroot/*runner.lock" 2>/dev/null | cut -d/ -f3
}

cleanup() {
  local pids=() p alive=()
  mapfile -t pids < <(ours | sort -u)
  for p in "${pids[@]}"; do
    # Only a process of this config (its environment says so).
    if [ -z "$p" ] || ! of_config "$p"; then continue; fi
    kill -TERM "$p" 2>/dev/null && alive+=("$p")
  done
  if [ ${#alive[@]} -gt 0 ]; then
    sleep 0.5
    for p in "${alive[@]}"; do kill -KILL "$p" 2>/dev/null; done
  fi
  cd / && rm -rf "$tmp" "$qroot"
}
trap cleanup EXIT

# run_plain OUT KEY: program KEY without dtask: OUT.out, OUT.err, OUT.rc.
run_plain() {
  local -n cmd="CMD_$2"
  timeout 60 "${cmd[@]}" >"$1.out" 2>"$1.err"
  echo $? >"$1.rc"
}

# The session: a subshell whose shell exports LD_PRELOAD and DTASK_CONFIG,
# as a user's would, and runs the programs directly.
# in_session CMD...: runs CMD (a function of this script) in it.
in_session() {
  (
    export LD_PRELOAD=$PRELOAD DTASK_CONFIG=$CFG
    [ ${#CALLER_ENV[@]} -eq 0 ] || export "${CALLER_ENV[@]}"
    "$@"
  )
}
# srun OUT KEY: in the session, program KEY with DTASK_STATS=OUT.stats:
# OUT.out, OUT.err, OUT.rc.
srun() {
  local -n cmd="CMD_$2"
  DTASK_STATS=$1.stats timeout 60 "${cmd[@]}" >"$1.out" 2>"$1.err"
  echo $? >"$1.rc"
}

# stats_of FILE: "SYMBOL CALLS" of its dtask-stats lines, comma-separated
# and sorted by symbol; "local SYMBOL N" for calls run in the caller.
stats_of() {
  [ -f "$1" ] || { echo "no stats file"; return; }
  awk '$1 == "dtask-stats" { print $3, $4 } $1 == "dtask-local" { print "local", $3, $4 }' \
    "$1" | sort | paste -sd, -
}

# note TEXT...: a detail file; prints its path.
nn=0
note() {
  nn=$((nn + 1))
  printf '%s\n' "$@" >"$tmp/note.$nn"
  echo "$tmp/note.$nn"
}

# Every stderr and runner.log, for the "cannot find" check at the end.
ERRS=()

# check_run LABEL OUT KEY QUIET: the run OUT of program KEY against its
# run without dtask: status, stdout, stderr (QUIET=1: empty; else only
# dtask's own lines, no error), and for a listed program its stats.
check_run() {
  local label=$1 o=$2 key=$3 quiet=$4 ref=$tmp/ref.$3
  ERRS+=("$o.err")
  [ "$(cat "$o.rc")" = "$(cat "$ref.rc")" ] && cmp -s "$o.out" "$ref.out" &&
    [ -s "$ref.out" ]
  check $? "$label: $key's stdout and exit status are those without dtask" \
    "$(note "exit status $(cat "$o.rc") (without dtask $(cat "$ref.rc"))" \
      "$(diff "$ref.out" "$o.out")")" "$o.err"
  if [ "$quiet" = 1 ]; then
    [ ! -s "$o.err" ]
    check $? "$label: $key's stderr is empty" "$o.err"
  else
    ! grep -v '^dtask\[[0-9]*\]: ' "$o.err" | grep -q . &&
      ! grep -q '^dtask\[[0-9]*\]: error: ' "$o.err"
    check $? "$label: $key's stderr holds only dtask's info lines and warnings, no error" \
      "$o.err"
  fi
  local -n want="CALLS_$key"
  local got
  got=$(stats_of "$o.stats")
  [ "$got" = "$want" ]
  check $? "$label: $key's calls were all offloaded (DTASK_STATS: $want)" \
    "$(note "DTASK_STATS says: $got" "want: $want")" "$o.err"
}

# Reference runs, without dtask.
for k in "${KEYS[@]}" "${NKEYS[@]}"; do
  run_plain "$tmp/ref.$k" "$k"
done

# ================================================================
# 0. Programs that catch nothing.
# ================================================================
phase0() {
  local k
  for k in "${NKEYS[@]}"; do
    srun "$tmp/n.$k" "$k"
  done
  DTASK_LOG=info /bin/true 2>"$tmp/n.info.err"
  # A long-running one: its maps once it sleeps in main.
  /bin/sleep 3 &
  local sp=$! i
  for i in $(seq 250); do
    [ "$(readlink "/proc/$sp/exe" 2>/dev/null)" = "$(readlink -f /bin/sleep)" ] &&
      [ "$(awk '{ print $3 }' "/proc/$sp/stat" 2>/dev/null)" = S ] && break
    sleep 0.02
  done
  cat "/proc/$sp/maps" >"$tmp/n.sleep.maps" 2>/dev/null
  kill "$sp" 2>/dev/null
  wait "$sp" 2>/dev/null
}
in_session phase0

for k in "${NKEYS[@]}"; do
  o=$tmp/n.$k
  ERRS+=("$o.err")
  [ "$(cat "$o.rc")" = "$(cat "$tmp/ref.$k.rc")" ] && cmp -s "$o.out" "$tmp/ref.$k.out" &&
    cmp -s "$o.err" "$tmp/ref.$k.err" && [ ! -s "$o.err" ]
  check $? "0 $k catches nothing: stdout, stderr (empty) and exit status as without dtask" \
    "$(note "exit status $(cat "$o.rc") (without dtask $(cat "$tmp/ref.$k.rc"))" \
      "$(diff "$tmp/ref.$k.out" "$o.out")")" "$o.err"
  [ ! -e "$o.stats" ]
  check $? "0 $k catches nothing: no DTASK_STATS file written"
done
[ ! -e "$Q" ]
check $? "0 the programs that catch nothing create no queue directory ($Q)" \
  "$(note "$(ls -laR "$Q" 2>&1)")"
grep -q '^dtask\[[0-9]*\]: true imports none of the 5 listed symbols' "$tmp/n.info.err"
check $? "0 with DTASK_LOG=info, true says it imports none of the 5 listed symbols" \
  "$tmp/n.info.err"
grep -q '/libdtask_shim\.so$' "$tmp/n.sleep.maps" &&
  ! grep -qE 'libdtask_engine\.so|libffi\.so|liblmdb\.so' "$tmp/n.sleep.maps"
check $? "0 a sleeping sleep has libdtask_shim.so mapped, not libdtask_engine.so, libffi or liblmdb" \
  "$(note "$(grep -E '\.so' "$tmp/n.sleep.maps" | awk '{ print $6 }' | sort -u)")"

# ================================================================
# A and B: the listed programs, several times, two of each at once; then
# once more each, quietly, while the pools run.  The runs come first and
# the checks after, so that no pool reaches its idle_exit in between.
# ================================================================
phaseA() {
  local k i pids=()
  export DTASK_LOG=info
  # All six at once: three images start cold together.
  for k in "${KEYS[@]}"; do
    for i in 1 2; do
      srun "$tmp/a.$k.$i" "$k" &
      pids+=($!)
    done
  done
  wait "${pids[@]}"
  for i in 3 4; do
    for k in "${KEYS[@]}"; do
      srun "$tmp/a.$k.$i" "$k"
    done
  done
}
phaseB() {
  local k
  for k in "${KEYS[@]}"; do srun "$tmp/b.$k" "$k"; done
}
in_session phaseA
in_session phaseB

# While the pools still run: the image directories, named <image>-<16
# hex digits>, the supervisors (from each runner.log's "serves" line) and
# the titles of the supervisors and of their children.
mapfile -t dirs < <(find "$Q" -mindepth 1 -maxdepth 1 -type d -printf '%f\n' 2>/dev/null | sort)
declare -A DIR=() SUP=() STITLE=() WTITLES=() ALIVE=()
bad=()
for d in "${dirs[@]}"; do
  m=""
  for k in "${KEYS[@]}"; do
    name=${IMG[$k]}
    if [[ $d == "$name"-* ]] && [[ ${d#"$name"-} =~ ^[0-9a-f]{16}$ ]]; then m=$k; fi
  done
  if [ -n "$m" ] && [ -z "${DIR[$m]:-}" ]; then DIR[$m]=$Q/$d; else bad+=("$d"); fi
done
# title PID: the process's title (its first argument, as ps shows it).
title() { tr '\0' '\n' <"/proc/$1/cmdline" 2>/dev/null | head -n 1; }
for k in "${KEYS[@]}"; do
  d=${DIR[$k]:-}
  [ -n "$d" ] || continue
  sp=$(sed -n 's/.*: runner \([0-9][0-9]*\) serves .*/\1/p' "$d/runner.log" 2>/dev/null | head -n 1)
  SUP[$k]=$sp
  [ -n "$sp" ] || continue
  kill -0 "$sp" 2>/dev/null && ALIVE[$k]=1
  STITLE[$k]=$(title "$sp")
  WTITLES[$k]=$(grep -lx "PPid:[[:space:]]*$sp" /proc/[0-9]*/status 2>/dev/null |
    cut -d/ -f3 | while read -r p; do title "$p"; done)
done

for k in "${KEYS[@]}"; do
  for i in 1 2 3 4; do
    w=in-turn
    [ $i -le 2 ] && w="at once with 5 others"
    check_run "A run $i ($w)" "$tmp/a.$k.$i" "$k" 0
  done
done
for k in "${KEYS[@]}"; do
  check_run "B pools running, quiet" "$tmp/b.$k" "$k" 1
done

[ ${#dirs[@]} = 3 ] && [ ${#bad[@]} = 0 ] && [ ${#DIR[@]} = 3 ]
check $? "A one queue directory per image in $Q: ${IMAGES[*]} (each <name>-<16 hex>)" \
  "$(note "directories: ${dirs[*]:-none}" "unexpected: ${bad[*]:-none}" \
    "entries of $Q:" "$(ls -la "$Q" 2>&1)")"

for k in "${KEYS[@]}"; do
  d=${DIR[$k]:-$Q/${IMG[$k]}-?}
  log=$d/runner.log
  ERRS+=("$log")
  missing=()
  for f in runner.log runner.lock autostart.lock data.mdb lock.mdb; do
    [ -e "$d/$f" ] || missing+=("$f")
  done
  [ -n "${DIR[$k]:-}" ] && [ ${#missing[@]} = 0 ]
  check $? "A $k's pool lives in its image's directory (runner.log, runner.lock, autostart.lock, LMDB files)" \
    "$(note "directory: $d" "missing: ${missing[*]:-none}")"
  n=$(grep -c ": runner [0-9]* serves $d with 2 workers (dtask-pool:" "$log" 2>/dev/null)
  [ "${n:-0}" = 1 ]
  check $? "A+B $k's image started one pool, once, for its 10 runs (serves lines in its runner.log: ${n:-0})" \
    "$log"
  [ -n "${ALIVE[$k]:-}" ]
  check $? "B $k's pool (${SUP[$k]:-none}) still ran after the quiet runs" "$log"

  name=${IMG[$k]}
  [ "${STITLE[$k]:-}" = "dtask-pool:$name" ]
  check $? "A $k's pool supervisor shows in ps as dtask-pool:$name" \
    "$(note "supervisor: ${SUP[$k]:-none}, title '${STITLE[$k]:-}'")"
  mapfile -t wt < <(printf '%s' "${WTITLES[$k]:-}" | grep .)
  good=0
  for t in "${wt[@]}"; do [[ $t =~ ^dtask-w[0-9]+:"$name"$ ]] && good=$((good + 1)); done
  [ ${#wt[@]} = 2 ] && [ $good = 2 ]
  check $? "A $k's 2 workers show in ps as dtask-w<N>:$name" \
    "$(note "children of ${SUP[$k]:-none}:" "${wt[@]}")"
done

# ================================================================
# C. The pools exit by themselves after idle_exit (3 s).
# ================================================================
for i in $(seq 400); do
  up=0
  for k in "${KEYS[@]}"; do
    [ -n "${SUP[$k]:-}" ] && kill -0 "${SUP[$k]}" 2>/dev/null && up=1
  done
  [ $up = 0 ] && break
  sleep 0.025
done
for k in "${KEYS[@]}"; do
  sp=${SUP[$k]:-}
  [ -n "$sp" ] && ! kill -0 "$sp" 2>/dev/null &&
    grep -q "runner $sp: idle for 3s, exiting" "${DIR[$k]:-/nonexistent}/runner.log"
  check $? "C $k's pool (${sp:-none}) exited by itself after idle_exit = 3s" \
    "${DIR[$k]:-/nonexistent}/runner.log"
done

# ================================================================
# D. Quiet again: autostart says nothing.
# ================================================================
phaseD() {
  local k
  for k in "${KEYS[@]}"; do srun "$tmp/d.$k" "$k"; done
}
in_session phaseD
for k in "${KEYS[@]}"; do
  check_run "D autostart again" "$tmp/d.$k" "$k" 1
done
mapfile -t dirs2 < <(find "$Q" -mindepth 1 -maxdepth 1 -type d -printf '%f\n' 2>/dev/null | sort)
[ ${#dirs2[@]} = 3 ] && [ "${dirs2[*]}" = "${dirs[*]}" ]
check $? "D the pools started again in the same three directories" \
  "$(note "before: ${dirs[*]:-none}" "after: ${dirs2[*]:-none}")"
# The new pools log nothing at the default level: find each by its lock.
for k in "${KEYS[@]}"; do
  d=${DIR[$k]:-}
  sp=""
  if [ -n "$d" ]; then
    for p in $(find /proc/[0-9]*/fd -lname "$d/runner.lock" 2>/dev/null | cut -d/ -f3 | sort -u); do
      [ "$(title "$p")" = "dtask-pool:${IMG[$k]}" ] && sp=$p
    done
  fi
  [ -n "$sp" ] && [ "$sp" != "${SUP[$k]:-}" ]
  check $? "D a new pool of $k's image (dtask-pool:${IMG[$k]}) holds its runner.lock" \
    "$(note "holder: ${sp:-none}; the first pool was ${SUP[$k]:-none}")"
done

# ================================================================
# Nowhere "cannot find".
# ================================================================
found=()
for f in "${ERRS[@]}" "$Q"/*/runner.log "$Q"/runner.log; do
  [ -f "$f" ] && grep -q 'cannot find' "$f" && found+=("$f")
done
[ ${#found[@]} = 0 ]
check $? "no stderr and no runner.log says 'cannot find'" \
  "$(note "in: ${found[*]:-}" "$(grep -h 'cannot find' "${found[@]}" /dev/null | sort -u | head -n 5)")"

finish
