#!/bin/bash
# door.sh: integration tests of the door (shim/door.c), the small
# libdtask_shim.so that loads libdtask_engine.so only when a program
# catches something.
#
#   1. A config that lists fx_* (libfix) and cos (libm).  cat, which
#      imports none of them, prints its own /proc/self/maps: the shim is
#      there, libdtask_engine.so, libffi and liblmdb are not; it writes
#      nothing (no queue directory, no DTASK_STATS file, even with
#      autostart on) and says nothing; with DTASK_LOG=info one line says
#      that it stays idle.
#   2. mawk, which imports cos, prints its own maps under the same config:
#      the engine, libffi and liblmdb are there, libhiredis is not (the
#      queue is LMDB: queue/hiredis.c loads it for Redis); fixprog_lazy, which
#      imports fx_*, loads the engine before main (LD_DEBUG=files) and
#      its calls are caught (sync mode, DTASK_TRACE); the engine patches
#      its slots and none of the door's own (DTASK_LOG=debug).
#   3. fixdl reaches libfix only through dlopen: it starts idle ("imports
#      none"), and the engine is loaded after libfix, by the dlopen
#      (LD_DEBUG=files order, DTASK_LOG=info); its calls are then caught,
#      with stdout as without dtask.
#   4. A malformed config in a program that catches nothing (true): the
#      located message FILE:LINE:COL, and the program runs (exit 0); for
#      a TOML syntax error and for an error of meaning (a bare pointer in
#      a signature), as README's "Using it" promises for any config error.
#   5. Secure execution (root only: not root is a named skip, which CI's
#      DTASK_NO_SKIP=1 makes a failure):
#      a set-user-ID-root copy of mawk (a program that imports a listed
#      symbol, cos, from a system directory: the fixtures find libfix
#      through $ORIGIN, which glibc ignores in secure mode) run by an
#      unprivileged user (created with useradd if missing, removed
#      afterwards if so), with LD_PRELOAD naming a set-user-ID copy of the
#      shim in the system library directory (ld.so(8): in secure mode only
#      such libraries are preloaded, by bare name), beside a copy of the
#      engine, DTASK_STATS=/root/... and DTASK_LOG=info: stderr has the
#      door's secure-execution line and nothing else, the stats file and
#      the queue directory are not created, the output is right.  The
#      control: the same command run by root (no secure execution) does
#      create the stats file, so the check can fail.  Every copy is
#      removed; a lock file serializes this case with any concurrent run.
#
# Environment: BUILD (default build) holds the shim, the engine and the
# fixtures (make all); SANITIZE=1 when they were built with ASan/UBSan:
# the ASan runtime is preloaded before the shim (in case 5 the shim's copy
# brings it as a dependency, with verify_asan_link_order=0).
# Output: "ok - ..." or "not ok - ..." per check (details indented), then
# "N passed, N failed, N skipped".  Exit status 1 if any check failed.
# shellcheck disable=SC2317  # cleanup runs from the EXIT trap
set -u

# shellcheck source=tests/integration/tap.bash
. "$(dirname "$0")/tap.bash"
# shellcheck source=tests/integration/runs.bash
. "$(dirname "$0")/runs.bash"

SHIM=$BUILD/libdtask_shim.so
ENGINE=$BUILD/libdtask_engine.so
FIX=$BUILD/fixtures/interpose
need_built "the shim, the engine and the fixtures are built" "make all" \
  "$SHIM" "$ENGINE" "$FIX/fixprog_lazy" "$FIX/fixdl" "$FIX/fix.toml"
MAWK=/usr/bin/mawk
if [ ! -x "$MAWK" ]; then
  not_ok "$MAWK is installed (Debian package mawk; tools/deps.sh installs it)"
  finish
fi

# ASan's own signal handlers stay on, as they always have here.
ASAN_HANDLERS=asan
# shellcheck source=tests/integration/asanfx.bash
. "$(dirname "$0")/asanfx.bash"

tmp=$(mktemp -d) || exit 1
qroot=$(mktemp -d /dev/shm/dtask-door.XXXXXX) || exit 1
chmod 700 "$qroot"
# Set by case 5, for the cleanup.
SEC_FILES=()
SEC_USER_CREATED=""
SEC_USER=dtask-door
cleanup() {
  local f
  for f in "${SEC_FILES[@]}"; do rm -rf "$f"; done
  if [ -n "$SEC_USER_CREATED" ]; then userdel "$SEC_USER" 2>/dev/null; fi
  cd / && rm -rf "$tmp" "$qroot"
}
trap cleanup EXIT
mkdir "$tmp/cwd"
cd "$tmp/cwd" || exit 1

CLEAN=("${CLEAN_DTASK[@]}" -u LD_DEBUG)

# detail TEXT...: writes the next numbered detail file, $tmp/note.N,
# prints its path.
nn=0
detail() {
  nn=$((nn + 1))
  printf '%s\n' "$@" >"$tmp/note.$nn"
  echo "$tmp/note.$nn"
}
# objects MAPS: the file names of the shared objects in a maps listing.
objects() { awk '$6 ~ /\.so/ { n = split($6, p, "/"); print p[n] }' "$1" | sort -u; }

# The config: every fx_* of libfix, and cos; autostart on, so that a
# program that opened the queue would leave a directory behind.
CFG=$tmp/door.toml
{
  cat "$FIX/fix.toml"
  printf '\n[[offload]]\nsignature = "double cos(double x)"\n'
  printf '\n[queue]\npath = "%s"\nmap_size = "64MiB"\n' "$qroot/q"
  printf '\n[runner]\nworkers = 1\nautostart = true\nidle_exit = "1s"\n'
} >"$CFG"
NLISTED=$(grep -c '^\[\[offload\]\]' "$CFG")

# ===================================================================
# 1. A program that imports no listed symbol: the engine stays out.
# ===================================================================
caller "$tmp/cat" "$CFG" DTASK_STATS="$tmp/cat.stats" -- /bin/cat /proc/self/maps
rc_is "$tmp/cat" 0 && [ ! -s "$tmp/cat.err" ]
check $? "1 cat under a config that lists $NLISTED symbols it does not import: exit 0, stderr empty" \
  "$tmp/cat.err"
objects "$tmp/cat.out" >"$tmp/cat.objs"
grep -qx 'libdtask_shim.so' "$tmp/cat.objs" &&
  ! grep -qE '^(libdtask_engine\.so|libffi\.so.*|liblmdb\.so.*)$' "$tmp/cat.objs"
check $? "1 cat's /proc/self/maps: libdtask_shim.so, but not libdtask_engine.so, libffi or liblmdb" \
  "$tmp/cat.objs"
[ ! -e "$qroot/q" ] && [ ! -e "$tmp/cat.stats" ]
check $? "1 cat writes nothing: no queue directory, no DTASK_STATS file" \
  "$(detail "$(ls -la "$qroot" "$tmp/cat.stats" 2>&1)")"
caller "$tmp/cati" "$CFG" DTASK_LOG=info -- /bin/cat /dev/null
[ "$(wc -l <"$tmp/cati.err")" = 1 ] &&
  grep -qx "dtask\[[0-9]*\]: cat imports none of the $NLISTED listed symbols: dtask stays idle until a dlopen brings one" \
    "$tmp/cati.err"
check $? "1 with DTASK_LOG=info, cat says in one line that it stays idle" "$tmp/cati.err"

# ===================================================================
# 2. Programs that import one: the engine is loaded.
# ===================================================================
caller "$tmp/mawk" "$CFG" DTASK_STATS="$tmp/mawk.stats" -- "$MAWK" '{ print }' /proc/self/maps
objects "$tmp/mawk.out" >"$tmp/mawk.objs"
rc_is "$tmp/mawk" 0 && grep -qx 'libdtask_shim.so' "$tmp/mawk.objs" &&
  grep -qx 'libdtask_engine.so' "$tmp/mawk.objs" && grep -q '^libffi\.so' "$tmp/mawk.objs" &&
  grep -q '^liblmdb\.so' "$tmp/mawk.objs" && ! grep -q '^libhiredis' "$tmp/mawk.objs"
check $? "2 mawk (imports cos) under the same config: its maps hold libdtask_engine.so, libffi and liblmdb, not libhiredis (an LMDB queue)" \
  "$tmp/mawk.objs" "$tmp/mawk.err"

run "$tmp/lazy.plain" "$FIX/fixprog_lazy"
caller "$tmp/lazy" "$CFG" DTASK_MODE=sync DTASK_TRACE=1 LD_DEBUG=files -- "$FIX/fixprog_lazy"
rc_is "$tmp/lazy" 0 && cmp -s "$tmp/lazy.plain.out" "$tmp/lazy.out" &&
  grep -q 'file=[^ ]*/libdtask_engine\.so \[0\]; *dynamically loaded by ' "$tmp/lazy.err" &&
  grep -q '^dtask\[[0-9]*\]: trace fx_i32(' "$tmp/lazy.err"
check $? "2 fixprog_lazy (imports fx_*): the engine is loaded (dlopen, LD_DEBUG), the calls are caught, stdout as without dtask" \
  "$(detail "$(grep -E 'libdtask|trace fx_i32' "$tmp/lazy.err" | head -n 5)")"
# The engine patches the program's objects, never the door's own (it
# imports dlopen, dlmopen, dlsym and dlvsym, which the engine hooks).
caller "$tmp/lazyd" "$CFG" DTASK_MODE=offload DTASK_LOG=debug -- "$FIX/fixprog_lazy"
grep -q '^dtask\[[0-9]*\]: patched <main program>: fx_' "$tmp/lazyd.err" &&
  ! grep -q '^dtask\[[0-9]*\]: patched [^:]*libdtask_shim\.so' "$tmp/lazyd.err"
check $? "2 fixprog_lazy, DTASK_LOG=debug: the engine patched the program, and no slot of libdtask_shim.so" \
  "$(detail "$(grep -E 'patched' "$tmp/lazyd.err" | head -n 12)")"

# ===================================================================
# 3. A later dlopen brings a listed symbol: the engine comes then.
# ===================================================================
run "$tmp/dl.plain" "$FIX/fixdl" path
caller "$tmp/dl" "$CFG" DTASK_MODE=sync DTASK_TRACE=1 DTASK_LOG=info LD_DEBUG=files -- \
  "$FIX/fixdl" path
# Line numbers in stderr: the idle line, libfix's load, the engine's load.
line_of() { grep -n -m 1 -e "$1" "$tmp/dl.err" | cut -d: -f1; }
l_idle=$(line_of "dtask\[[0-9]*\]: fixdl imports none of the $NLISTED listed symbols")
l_fix=$(line_of 'file=[^ ]*/libfix\.so \[0\]; *dynamically loaded by')
l_eng=$(line_of 'file=[^ ]*/libdtask_engine\.so \[0\]; *dynamically loaded by')
l_why=$(line_of 'a library just loaded brings a listed symbol; loading [^ ]*/libdtask_engine\.so')
[ -n "$l_idle" ] && [ -n "$l_fix" ] && [ -n "$l_eng" ] && [ -n "$l_why" ] &&
  [ "$l_idle" -lt "$l_fix" ] && [ "$l_fix" -lt "$l_eng" ]
check $? "3 fixdl starts idle and loads the engine after its dlopen of libfix.so (LD_DEBUG order)" \
  "$(detail "lines: idle ${l_idle:-none}, libfix ${l_fix:-none}, engine ${l_eng:-none}, reason ${l_why:-none}" \
    "$(grep -E 'dtask\[|libfix|libdtask' "$tmp/dl.err" | grep -v trace | head -n 12)")"
rc_is "$tmp/dl" 0 && cmp -s "$tmp/dl.plain.out" "$tmp/dl.out" &&
  [ "$(grep -c '^dtask\[[0-9]*\]: trace fx_' "$tmp/dl.err")" -gt 0 ]
check $? "3 fixdl's calls through dlsym are then caught, stdout as without dtask" \
  "$(detail "$(diff "$tmp/dl.plain.out" "$tmp/dl.out")")"

# ===================================================================
# 4. A malformed config, in a program that catches nothing.
# ===================================================================
# A TOML syntax error: the door cannot read the file, so the engine
# comes and reports it, in any program.  An error of meaning (a bare
# pointer: a well-formed TOML string that only the engine's signature
# parser refuses) is reported by the programs that import the symbol
# (and by `dtask check`); a program that catches nothing stays silent.
printf '[[offload]\nsignature = "int fx_i32(int32 x)"\n' >"$tmp/bad1.toml"
caller "$tmp/bad1" "$tmp/bad1.toml" -- /bin/true
rc_is "$tmp/bad1" 0 && grep -qF "$tmp/bad1.toml:1:11: " "$tmp/bad1.err"
check $? "4 a TOML syntax error under true: the message names $tmp/bad1.toml:1:11, true exits 0" \
  "$(detail "exit status $(cat "$tmp/bad1.rc")")" "$tmp/bad1.err"
cat >"$tmp/bad.toml" <<'EOF'
# a bare pointer is an error (column 30 is the '*')
[[offload]]
signature = "int fx_i32(char *p)"
EOF
caller "$tmp/bad" "$tmp/bad.toml" -- /bin/true
rc_is "$tmp/bad" 0 && [ ! -s "$tmp/bad.err" ]
check $? "4 a bare pointer in a signature of a symbol true does not import: true exits 0, stderr empty" \
  "$(detail "exit status $(cat "$tmp/bad.rc"); stderr:" "$(cat "$tmp/bad.err")")"
caller "$tmp/badl" "$tmp/bad.toml" -- "$FIX/fixprog_lazy"
rc_is "$tmp/badl" 0 && cmp -s "$tmp/lazy.plain.out" "$tmp/badl.out" &&
  grep -qF "$tmp/bad.toml:3:30: " "$tmp/badl.err"
check $? "4 the same config under fixprog_lazy (imports fx_i32): the message names $tmp/bad.toml:3:30, stdout as without dtask" \
  "$(detail "exit status $(cat "$tmp/badl.rc"); stderr:" "$(cat "$tmp/badl.err")")"

# ===================================================================
# 5. Secure execution: the door does nothing at all.
# ===================================================================
secure_case() {
  if [ "$(id -u)" != 0 ]; then
    skip "5 secure execution" "needs root, to create a user and a set-user-ID program"
    return
  fi
  local t need=()
  for t in useradd:passwd userdel:passwd setpriv:util-linux findmnt:util-linux flock:util-linux; do
    command -v "${t%%:*}" >/dev/null 2>&1 || need+=("${t%%:*} (Debian package ${t#*:})")
  done
  if [ ${#need[@]} -gt 0 ]; then
    not_ok "5 secure execution: needs ${need[*]}"
    return
  fi
  # One run at a time: the engine's copy has a fixed name.
  exec 9>/run/lock/dtask-door-secure.lock || { not_ok "5 secure execution: cannot open /run/lock/dtask-door-secure.lock"; return; }
  if ! flock -w 120 9; then
    not_ok "5 secure execution: another run held /run/lock/dtask-door-secure.lock for 120 s"
    return
  fi
  if ! id "$SEC_USER" >/dev/null 2>&1; then
    if ! useradd --system --no-create-home --shell /usr/sbin/nologin "$SEC_USER" 2>"$tmp/useradd.err"; then
      not_ok "5 secure execution: useradd $SEC_USER" "$tmp/useradd.err"
      return
    fi
    SEC_USER_CREATED=1
  fi
  local uid gid
  uid=$(id -u "$SEC_USER")
  gid=$(id -g "$SEC_USER")
  # The system library directory: where libc.so.6 is.
  local libdir
  libdir=$(dirname "$(ldconfig -p | awk '$1 == "libc.so.6" && /x86-64|AArch64|64bit/ { print $NF; exit }')")
  if [ ! -d "$libdir" ] || [ "$libdir" = . ]; then
    not_ok "5 secure execution: the system library directory is found (ldconfig -p, libc.so.6)"
    return
  fi
  local sname=libdtask_shim_doortest$$.so
  cp "$SHIM" "$libdir/$sname" && SEC_FILES+=("$libdir/$sname")
  chown root:root "$libdir/$sname" && chmod 4755 "$libdir/$sname"
  if [ ! -e "$libdir/libdtask_engine.so" ]; then
    cp "$ENGINE" "$libdir/libdtask_engine.so" && SEC_FILES+=("$libdir/libdtask_engine.so")
    chmod 0755 "$libdir/libdtask_engine.so"
  fi
  # The program: a set-user-ID-root copy of mawk, in a directory that the
  # user can reach and that is not mounted nosuid.
  local sdir
  sdir=$(mktemp -d /var/tmp/dtask-door.XXXXXX) && SEC_FILES+=("$sdir")
  chmod 755 "$sdir"
  if findmnt -n -o OPTIONS -T "$sdir" | tr ',' '\n' | grep -qx nosuid; then
    not_ok "5 secure execution: $sdir is on a nosuid mount; set-user-ID cannot be tested there"
    return
  fi
  cp "$MAWK" "$sdir/mawk-suid" && chown root:root "$sdir/mawk-suid" && chmod 4755 "$sdir/mawk-suid"
  # A config that the engine would act on: a queue only root can create,
  # no pool to wait for.
  local rq stats
  rq=$(mktemp -d /var/tmp/dtask-door-root.XXXXXX) && SEC_FILES+=("$rq")
  chmod 700 "$rq"
  stats=/root/dtask-door-secure.$$.stats
  SEC_FILES+=("$stats")
  rm -f "$stats"
  cat >"$sdir/sec.toml" <<EOF
[queue]
path = "$rq/q"
map_size = "64MiB"

[runner]
autostart = false

[defaults]
wait_for_runner = "0s"

[[offload]]
signature = "double cos(double x)"
EOF
  chmod 644 "$sdir/sec.toml"
  local prog='BEGIN { printf "%.17g\n", cos(1) }'
  run "$tmp/sec.plain" "$MAWK" "$prog"
  local senv=(PATH=/usr/bin:/bin LD_PRELOAD="$sname" DTASK_CONFIG="$sdir/sec.toml"
              DTASK_STATS="$stats" DTASK_LOG=info)
  # An ASan shim brings the ASan runtime as its dependency, after mawk's
  # own libraries: the runtime must be told not to insist on coming first.
  [ "$SANITIZE" = 1 ] && senv+=(ASAN_OPTIONS=detect_leaks=0:verify_asan_link_order=0)
  (cd "$sdir" && run "$tmp/sec" setpriv --reuid="$uid" --regid="$gid" --clear-groups \
    env -i "${senv[@]}" "$sdir/mawk-suid" "$prog")
  rc_is "$tmp/sec" 0 && cmp -s "$tmp/sec.plain.out" "$tmp/sec.out"
  check $? "5 set-user-ID mawk run by $SEC_USER under the shim: exit 0, output as without dtask" \
    "$(detail "exit status $(cat "$tmp/sec.rc")" "$(diff "$tmp/sec.plain.out" "$tmp/sec.out")")" \
    "$tmp/sec.err"
  [ "$(wc -l <"$tmp/sec.err")" = 1 ] &&
    grep -qx 'dtask\[[0-9]*\]: mawk-suid runs set-user-ID or set-group-ID (secure execution): dtask does nothing in it' \
      "$tmp/sec.err"
  check $? "5 its stderr is the door's one secure-execution line (so the shim was preloaded)" \
    "$tmp/sec.err"
  [ ! -e "$stats" ] && [ ! -e "$rq/q" ]
  check $? "5 it creates neither DTASK_STATS=$stats nor the queue directory" \
    "$(detail "$(ls -la "$stats" "$rq" 2>&1)")"
  # The control: root runs the same command, no secure execution.
  (cd "$sdir" && run "$tmp/ctl" env -i "${senv[@]}" "$sdir/mawk-suid" "$prog")
  rc_is "$tmp/ctl" 0 && cmp -s "$tmp/sec.plain.out" "$tmp/ctl.out" && [ -e "$stats" ] &&
    ! grep -q 'secure execution' "$tmp/ctl.err"
  check $? "5 control: root running the same command (not secure) creates $stats" \
    "$(detail "exit status $(cat "$tmp/ctl.rc")" "$(ls -la "$stats" 2>&1)")" "$tmp/ctl.err"
  # The lock is held until the copies are removed, at exit.
}
secure_case

finish
