#!/bin/bash
# objects.sh: integration tests of "served by the same defining object":
# every task names the object that defines the caller's function (its
# build and its absolute path), and a runner serves it with that build or
# not at all.
#
#   1. a program that dlopens a library by path at run time and calls a
#      listed function through dlsym: its runner (the same image, whose
#      main never runs, so it never loads the library) loads the caller's
#      library itself and serves every call (dtask run's summary counts
#      them, ob_pid() names another process), no "cannot find";
#   2. the same through a second library the program dlopens, which calls
#      the listed functions through its own PLT;
#   3. a runner whose own libobj.so is another build (library = "libobj.so"
#      found through its LD_LIBRARY_PATH, a variant built with another
#      constant): it loads the caller's build beside it and answers with
#      the caller's results, never the variant's;
#   4. the library on disk replaced by the variant after the caller loaded
#      it: the runner refuses with DT__ST_NO_SYMBOL and a message naming
#      both builds, and every call runs inline with the caller's results;
#   5. a library writable by others, and one removed after the caller
#      loaded it: the runner will not (cannot) load it, says why, and the
#      calls run inline, right.
# Controls show that the checks can fail (a run without dtask runs every
# call in the caller; the variant gives other values).
#
# The programs are the fixtures of tests/fixtures/objects (libobj.so,
# variant/libobj.so, libobuse.so, obprog), built into
# $BUILD/fixtures/objects and copied into one private (0700) directory,
# removed at exit, with the queues.  Every runner this script starts is
# stopped at exit; every program runs under `timeout 60`.
#
# Environment: BUILD (default build); SANITIZE=1 when the shim and the
# commands were built with ASan/UBSan (as in offload.sh).
# Output: "ok - ..." or "not ok - ..." per check (details indented), then
# "N passed, N failed, N skipped".  Exit status 1 if any check failed.
# shellcheck disable=SC2317  # cleanup runs from the EXIT trap
set -u

# shellcheck source=tests/integration/tap.bash
. "$(dirname "$0")/tap.bash"
# shellcheck source=tests/integration/runs.bash
. "$(dirname "$0")/runs.bash"

# ------------------------------------------------------------ set-up

DTASK=$BUILD/dtask
RUNNER=$BUILD/dtask-runner
SHIM=$BUILD/libdtask_shim.so
OB=$BUILD/fixtures/objects
need_built "dtask, the shim and the fixtures are built" "make all" \
  "$DTASK" "$RUNNER" "$SHIM" "$OB/obprog" "$OB/libobj.so" \
  "$OB/variant/libobj.so" "$OB/libobuse.so" "$OB/objects.toml" \
  "$OB/objects_lib.toml"

# ASan's own signal handlers stay on, as they always have here.
ASAN_HANDLERS=asan
# shellcheck source=tests/integration/asanfx.bash
. "$(dirname "$0")/asanfx.bash"
# kill_ours (procs.bash) knows our processes by $OB/; start_runner
# starts pools of obprog, with a 60 s limit.
OURS=$OB/
RUNNER_PROG=$OB/obprog
RUNNER_TMO=60
# shellcheck source=tests/integration/procs.bash
. "$(dirname "$0")/procs.bash"

CLEAN=("${CLEAN_DTASK[@]}" -u LD_LIBRARY_PATH)

scratch_dir objects "${TMPDIR:-/tmp}"

# The libraries, copied with modes the runner accepts whatever the umask
# of the build: $LIB (the caller's build, with libobuse.so beside it, its
# $ORIGIN run path) and $VAR (the variant).
LIB=$root/lib
VAR=$root/variant
mkdir -m 755 "$LIB" "$VAR"
cp "$OB/libobj.so" "$OB/libobuse.so" "$LIB/"
cp "$OB/variant/libobj.so" "$VAR/"
chmod 755 "$LIB"/*.so "$VAR"/*.so

started=()

cleanup() {
  kill_ours "${started[@]}"
  cd / && rm -rf "$root"
}
trap cleanup EXIT

# mkcfg NAME BASE: writes $root/NAME.toml = BASE plus a queue in
# $root/NAME/q and [runner] autostart = false; prints its path.
mkcfg() {
  local name=$1 base=$2
  {
    cat "$base"
    printf '\n[queue]\npath = "%s"\nmap_size = "64MiB"\n\n[runner]\n' \
      "$root/$name/q"
    echo 'autostart = false'
  } >"$root/$name.toml"
  mkdir -m 700 "$root/$name"
  echo "$root/$name.toml"
}

# values FILE: the "value(i) = V" lines of an obprog run.
values() { grep '^value(' "$1"; }

# want_calls FILE: the calls obprog made of listed functions.
want_calls() { awk '/^expect / { s += $3 } END { print s + 0 }' "$1"; }

# ======================================================================
# 1 and 2. Found after a dlopen: the runner loads the caller's library.
# ======================================================================
N=20
CFG1=$(mkcfg c1 "$OB/objects.toml")
for mode in dlsym use; do
  p=$tmp/c1.$mode.plain
  o=$tmp/c1.$mode
  run "$p" "$OB/obprog" "$mode" "$LIB" "$N"
  dtask_run "$o" "$CFG1" 2 -- "$OB/obprog" "$mode" "$LIB" "$N"
  label="1 $mode"
  [ "$mode" = use ] && label="2 use (through libobuse.so's PLT)"

  rc_is "$p" 0 && rc_is "$o" 0
  check $? "$label: exits 0, as without dtask" \
    "$(note c1 "exit status $(cat "$p.rc") plain, $(cat "$o.rc") offloaded")" \
    "$o.out" "$o.err"
  values "$p.out" >"$tmp/c1.want"
  values "$o.out" >"$tmp/c1.got"
  diff -u "$tmp/c1.want" "$tmp/c1.got" >"$tmp/c1.diff"
  [ "$(wc -l <"$tmp/c1.want")" = "$N" ] && cmp -s "$tmp/c1.want" "$tmp/c1.got"
  check $? "$label: the $N values are the caller's build's" "$tmp/c1.diff"
  has "$o.out" "pid: $N calls, 0 ran in this process"
  check $? "$label: every ob_pid() ran in another process" "$o.out"
  want=$(want_calls "$p.out")
  total=$(summary_total "$o.err")
  grep -v '^dtask: [0-9]* calls\{0,1\} offloaded' "$o.err" >"$tmp/c1.rest"
  [ "$want" -gt 0 ] && [ "$total" = "$want" ] && [ ! -s "$tmp/c1.rest" ]
  check $? "$label: all $want calls offloaded (summary), nothing else on stderr" \
    "$(note c1 "made $want calls; summary says '${total:-no summary}'")" \
    "$o.err"
  ! grep -q "cannot find" "$o.err"
  check $? "$label: no \"cannot find\" from the runner" "$o.err"
done
# Control: without dtask every ob_pid() runs in the program itself.
has "$tmp/c1.dlsym.plain.out" "pid: $N calls, $N ran in this process"
check $? "1 control: run plainly, every ob_pid() ran in the program" \
  "$tmp/c1.dlsym.plain.out"
# Control: the variant gives other values, so a wrong build would show.
run "$tmp/c1.var" "$OB/obprog" dlsym "$VAR" "$N"
values "$tmp/c1.var.out" >"$tmp/c1.var.values"
values "$tmp/c1.dlsym.plain.out" >"$tmp/c1.want"
rc_is "$tmp/c1.var" 0 && [ -s "$tmp/c1.var.values" ] &&
  ! cmp -s "$tmp/c1.want" "$tmp/c1.var.values"
check $? "1 control: the variant build answers other values" \
  "$tmp/c1.var.out"

# ======================================================================
# 3. The runner's own libobj.so is another build: the caller's serves.
# ======================================================================
CFG3=$(mkcfg c3 "$OB/objects_lib.toml")
if start_runner c3 "$CFG3" 1 LD_LIBRARY_PATH="$VAR"; then
  grep -qF "'ob_value' is defined by $VAR/libobj.so" "$root/c3.rlog"
  check $? "3 the runner's own ob_value is the variant's (its LD_LIBRARY_PATH)" \
    "$root/c3.rlog"
  caller "$tmp/c3" "$CFG3" -- "$OB/obprog" dlsym "$LIB" "$N"
  values "$tmp/c3.out" >"$tmp/c3.got"
  diff -u "$tmp/c1.want" "$tmp/c3.got" >"$tmp/c3.diff"
  rc_is "$tmp/c3" 0 && cmp -s "$tmp/c1.want" "$tmp/c3.got"
  check $? "3 other build in the runner: the values are the caller's build's" \
    "$tmp/c3.diff" "$tmp/c3.err"
  has "$tmp/c3.out" "pid: $N calls, 0 ran in this process" &&
    ! grep -q "inline" "$tmp/c3.err"
  check $? "3 other build in the runner: every call ran there, none inline" \
    "$tmp/c3.out" "$tmp/c3.err"
  has "$root/c3.rlog" "'ob_value' served from $LIB/libobj.so" \
    "'ob_pid' served from $LIB/libobj.so"
  check $? "3 the runner loaded the caller's build beside its own" \
    "$root/c3.rlog"
  kill_ours "${started[@]}"
else
  not_ok "3 dtask-runner serves with the variant on its LD_LIBRARY_PATH" \
    "$root/c3.rlog"
fi

# ======================================================================
# 4. The caller's build is gone from disk: the runner refuses, inline.
# ======================================================================
# obprog loads $SW/libobj.so, then waits for the gate while the file is
# replaced (renamed over: the program keeps its mapping) by the variant.
SW=$root/swap
mkdir -m 755 "$SW"
cp "$LIB/libobj.so" "$SW/"
CFG4=$(mkcfg c4 "$OB/objects.toml")
M=5
dtask_run "$tmp/c4" "$CFG4" 1 -- "$OB/obprog" dlsym "$SW" "$M" \
  "$root/gate4" &
bg=$!
for _ in $(seq 500); do
  [ -e "$root/gate4.loaded" ] && break
  sleep 0.02
done
cp "$VAR/libobj.so" "$SW/libobj.so.new"
chmod 755 "$SW/libobj.so.new"
mv -f "$SW/libobj.so.new" "$SW/libobj.so"
touch "$root/gate4"
wait "$bg"
values "$tmp/c1.dlsym.plain.out" | head -n "$M" >"$tmp/c4.want"
values "$tmp/c4.out" >"$tmp/c4.got"
diff -u "$tmp/c4.want" "$tmp/c4.got" >"$tmp/c4.diff"
rc_is "$tmp/c4" 0 && [ -s "$tmp/c4.want" ] &&
  cmp -s "$tmp/c4.want" "$tmp/c4.got"
check $? "4 another build on disk: the values are right (the caller's build's)" \
  "$tmp/c4.diff" "$tmp/c4.err"
has "$tmp/c4.out" "pid: $M calls, $M ran in this process"
check $? "4 another build on disk: every call ran inline" "$tmp/c4.out"
build_re='build [0-9a-f]{16} but the caller.s is [0-9a-f]{16}: deploy the same library on both'
grep -qE "ob_value: runner [0-9]+ \(obprog\) has $SW/libobj.so $build_re; calling it inline" \
  "$tmp/c4.err" &&
  grep -qE "ob_pid: runner [0-9]+ \(obprog\) has $SW/libobj.so $build_re; calling it inline" \
    "$tmp/c4.err"
check $? "4 another build on disk: the message names both builds and what to do" \
  "$tmp/c4.err"
[ "$(summary_total "$tmp/c4.err")" = 0 ] && ! grep -q "cannot find" "$tmp/c4.err"
check $? "4 another build on disk: the summary counts 0 offloaded calls" \
  "$tmp/c4.err"
# The two builds the message names are the variant's and the caller's.
grep -oE 'build [0-9a-f]{16} but the caller.s is [0-9a-f]{16}' "$tmp/c4.err" |
  sort -u >"$tmp/c4.builds"
[ "$(wc -l <"$tmp/c4.builds")" = 1 ] &&
  ! grep -qE 'build ([0-9a-f]{16}) but the caller.s is \1' "$tmp/c4.builds"
check $? "4 the two builds named differ, and every refusal names the same two" \
  "$tmp/c4.builds"

# ======================================================================
# 5. A library the runner will not load, and one it cannot.
# ======================================================================
OPEN=$root/open
mkdir -m 755 "$OPEN"
cp "$LIB/libobj.so" "$OPEN/"
chmod 666 "$OPEN/libobj.so"
CFG5=$(mkcfg c5 "$OB/objects.toml")
dtask_run "$tmp/c5" "$CFG5" 1 -- "$OB/obprog" dlsym "$OPEN" "$M"
values "$tmp/c5.out" >"$tmp/c5.got"
rc_is "$tmp/c5" 0 && cmp -s "$tmp/c4.want" "$tmp/c5.got" &&
  has "$tmp/c5.out" "pid: $M calls, $M ran in this process"
check $? "5 writable by others: the calls run inline and are right" \
  "$tmp/c5.out" "$tmp/c5.err"
grep -qE "ob_value: runner [0-9]+ \(obprog\) will not load $OPEN/libobj.so \(the caller found 'ob_value' there; no object the runner loads at start-up defines it\): it is writable by its group or by others \(mode 0666\)" \
  "$tmp/c5.err"
check $? "5 writable by others: the runner says it will not load it, and why" \
  "$tmp/c5.err"

GONE=$root/gone
mkdir -m 755 "$GONE"
cp "$LIB/libobj.so" "$GONE/"
dtask_run "$tmp/c5g" "$CFG5" 1 -- "$OB/obprog" dlsym "$GONE" "$M" \
  "$root/gate5" &
bg=$!
for _ in $(seq 500); do
  [ -e "$root/gate5.loaded" ] && break
  sleep 0.02
done
rm -f "$GONE/libobj.so"
touch "$root/gate5"
wait "$bg"
values "$tmp/c5g.out" >"$tmp/c5g.got"
rc_is "$tmp/c5g" 0 && cmp -s "$tmp/c4.want" "$tmp/c5g.got" &&
  has "$tmp/c5g.out" "pid: $M calls, $M ran in this process"
check $? "5 removed after the caller loaded it: the calls run inline and are right" \
  "$tmp/c5g.out" "$tmp/c5g.err"
grep -qE "ob_pid: runner [0-9]+ \(obprog\) cannot load $GONE/libobj.so \(the caller found 'ob_pid' there; no object the runner loads at start-up defines it\): No such file or directory" \
  "$tmp/c5g.err"
check $? "5 removed: the runner says it cannot load it, and why" "$tmp/c5g.err"

finish
