#!/bin/bash
# rstring.sh: integration tests of the strings offloaded calls return
# (issue 21, item 6): a returned cstring lives at least as long as it
# would natively.
#
#   1. the issue's case: a program keeps the pointer from a first call
#      ("alpha"), makes a second call that returns 5,999 bytes, then
#      prints the first (it crashed with SIGSEGV offloaded when the
#      per-thread buffer grew); a strerror-like static table's strings
#      kept across a hundred other calls, the same pointer for the same
#      string; strchr-like pointers into the program's own string and
#      inout buffer (the same offsets, the caller's own memory); threads
#      that keep strings.  Offloaded with `dtask run -w 2`, the output is
#      that of the program run without dtask, and every call was
#      offloaded (dtask run's summary), with nothing else on stderr;
#   2. past the bounds (2000 distinct strings of rs_text, about 2 MiB,
#      more than the 1 MiB kept per symbol): the first 1000 and the last
#      16 are intact, as natively; under DTASK_LOG=warn one warning names
#      rs_text and the ring's lifetime, and without it stderr holds only
#      the summary.
# Controls: in sync mode under the shim the output is the same too; run
# without dtask, no summary is printed (so the summary check can fail).
#
# The programs are the fixtures of tests/fixtures/rstring (librs.so,
# rsprog, rs.toml), built into $BUILD/fixtures/rstring.  Queues live in
# one private (0700) directory, removed at exit; every program runs under
# `timeout 60` (dtask run's pool exits with its program).
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

DTASK=$BUILD/dtask
SHIM=$BUILD/libdtask_shim.so
RS=$BUILD/fixtures/rstring
need_built "dtask, the shim and the fixtures are built" "make all" \
  "$DTASK" "$SHIM" "$RS/rsprog" "$RS/librs.so" "$RS/rs.toml"

# ASan's own signal handlers stay on, as they always have here.
ASAN_HANDLERS=asan
# shellcheck source=tests/integration/asanfx.bash
. "$(dirname "$0")/asanfx.bash"

CLEAN=("${CLEAN_DTASK[@]}" -u LD_LIBRARY_PATH)

scratch_dir rstring "${TMPDIR:-/tmp}"
trap 'cd / && rm -rf "$root"' EXIT

# The config: rs.toml plus a private queue, no autostart.
CFG=$root/rs.toml
{
  cat "$RS/rs.toml"
  printf '\n[queue]\npath = "%s"\nmap_size = "64MiB"\n\n[runner]\n' \
    "$root/q"
  echo 'autostart = false'
} >"$CFG"
mkdir -m 700 "$root/q"

# calls FILE: N from rsprog's last line, "calls: N".
calls() { sed -n 's/^calls: \([0-9][0-9]*\)$/\1/p' "$1" | tail -n 1; }

# same_output LABEL PLAIN OFFLOADED: exit 0 both, identical stdout.
same_output() {
  local label=$1 p=$2 o=$3 st
  st="exit status $(cat "$p.rc") plain, $(cat "$o.rc") here"
  diff -u "$p.out" "$o.out" >"$o.diff"
  rc_is "$p" 0 && rc_is "$o" 0 && [ -s "$p.out" ] && cmp -s "$p.out" "$o.out"
  check $? "$label" "$(note "${o##*/}" "$st")" "$o.diff" "$o.err"
}

# all_offloaded LABEL OUT: the summary counts every call rsprog made.
all_offloaded() {
  local label=$1 o=$2 want total st
  want=$(calls "$o.out")
  total=$(summary_total "$o.err")
  st="made ${want:-?} calls; summary says '${total:-none}'"
  [ -n "$want" ] && [ "$want" -gt 0 ] && [ "$total" = "$want" ]
  check $? "$label" "$(note "${o##*/}.sum" "$st")" "$o.err"
}

# ======================================================================
# 1. Kept strings, a static table, pointers into the arguments, threads.
# ======================================================================
run "$tmp/p1" "$RS/rsprog"
grep -qx 'first again: alpha' "$tmp/p1.out" &&
  grep -q '^second: 5999 bytes, right: yes' "$tmp/p1.out" &&
  grep -qx "find '=': offset 3, \"=value\"" "$tmp/p1.out" &&
  ! grep -q ': no$' "$tmp/p1.out" && rc_is "$tmp/p1" 0
check $? "1 without dtask: the fixture keeps its strings (its own checks)" \
  "$tmp/p1.out" "$tmp/p1.err"

dtask_run "$tmp/o1" "$CFG" 2 -- "$RS/rsprog"
same_output "1 offloaded: the first string survives a 5,999-byte result; \
the output is the program's without dtask" "$tmp/p1" "$tmp/o1"
grep -qx 'first at the end: alpha' "$tmp/o1.out" &&
  grep -qx 'threads whose kept strings changed: 0' "$tmp/o1.out"
check $? "1 offloaded: kept strings intact at the end, in every thread" \
  "$tmp/o1.out"
grep -qx "find NUL: offset 9, \"\"" "$tmp/o1.out" &&
  grep -qx "field 2: offset 8, \"three\"; the line now starts \"one\"" \
    "$tmp/o1.out"
check $? "1 offloaded: pointers into the caller's string and inout buffer" \
  "$tmp/o1.out"
all_offloaded "1 offloaded: every call ran in a worker (dtask run's summary)" \
  "$tmp/o1"
grep -v '^dtask: [0-9]* calls\{0,1\} offloaded' "$tmp/o1.err" >"$tmp/o1.rest"
[ ! -s "$tmp/o1.rest" ]
check $? "1 offloaded: nothing else on stderr" "$tmp/o1.rest"

# Control: under the shim in sync mode the output is the same.
run "$tmp/s1" "${CALLER_ENV[@]}" DTASK_CONFIG="$CFG" DTASK_MODE=sync \
  LD_PRELOAD="$PRELOAD" "$RS/rsprog"
same_output "1 control: in sync mode the output is the same" "$tmp/p1" \
  "$tmp/s1"
# Control: without dtask there is no summary, so its check can fail.
[ -z "$(summary_total "$tmp/p1.err")" ]
check $? "1 control: run plainly, no summary" "$tmp/p1.err"

# ======================================================================
# 2. Past the bounds: the ring, and one warning when asked.
# ======================================================================
run "$tmp/p2" "$RS/rsprog" over
dtask_run "$tmp/o2" "$CFG" 2 DTASK_LOG=warn -- "$RS/rsprog" over
same_output "2 past the bounds: the first 1000 and the last 16 strings intact, \
as without dtask" "$tmp/p2" "$tmp/o2"
all_offloaded "2 past the bounds: every call ran in a worker" "$tmp/o2"
n=$(grep -c 'warning: rs_text returned a string that dtask cannot keep' \
  "$tmp/o2.err")
[ "$n" = 1 ] && grep -q 'valid only until 16 more of them' "$tmp/o2.err"
check $? "2 DTASK_LOG=warn: one warning, naming rs_text and the ring" \
  "$(note w2 "$n warnings")" "$tmp/o2.err"
dtask_run "$tmp/q2" "$CFG" 2 -- "$RS/rsprog" over
grep -v '^dtask: [0-9]* calls\{0,1\} offloaded' "$tmp/q2.err" >"$tmp/q2.rest"
same_output "2 past the bounds, quiet: the same output" "$tmp/p2" "$tmp/q2"
[ ! -s "$tmp/q2.rest" ]
check $? "2 without DTASK_LOG: nothing but the summary on stderr" \
  "$tmp/q2.rest"

finish
