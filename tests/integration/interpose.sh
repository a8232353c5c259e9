#!/bin/bash
# interpose.sh: integration tests of the interposition engine, on real
# programs (no mocks).
#
# Every case runs a program twice, without the shim and with it in sync
# mode (DTASK_MODE=sync DTASK_TRACE=1 LD_PRELOAD=libdtask_shim.so), and
# checks that
#   - both runs exit with status 0;
#   - stdout is byte for byte the same;
#   - stderr is the same once the shim's trace lines are removed (and every
#     trace line is whole: "dtask[PID]: trace NAME(...) ... errno=E sync Tus");
#   - the trace shows every call: per function exactly as many lines as the
#     program made calls (it prints "expect NAME N" lines), and in total
#     the number written in this file.
# The programs are the fixtures of tests/fixtures/interpose (built by
# build.sh into $BUILD/fixtures/interpose), Debian's /usr/bin/python3 and
# /usr/bin/mawk (tools/deps.sh installs both: a missing one is a failure,
# never a skip).  Then the start-up policy: config errors, strict mode, symbols the
# program does not import or no object defines.
#
# Environment: BUILD (default build) holds libdtask_shim.so and the
# fixtures; nothing is built here.  SANITIZE=1 means the shim was built
# with ASan/UBSan: the ASan runtime is preloaded before it.
# Output: "ok - ..." or "not ok - ..." per check (with details on failure),
# and last "N passed, N failed, N skipped".  Exit status 1 if any check
# failed.
set -u

# shellcheck source=tests/integration/tap.bash
. "$(dirname "$0")/tap.bash"

# ------------------------------------------------------------ set-up

SHIM=$BUILD/libdtask_shim.so
FIX=$BUILD/fixtures/interpose
if [ ! -f "$SHIM" ] || [ ! -x "$FIX/fixprog_lazy" ] || [ ! -f "$FIX/fix.toml" ]; then
  echo "interpose.sh: $SHIM or the fixtures in $FIX are missing; build them" >&2
  echo "first (make all, which runs tests/fixtures/interpose/build.sh)" >&2
  not_ok "shim and fixtures are built"
  finish
fi
SHIM=$(cd "$(dirname "$SHIM")" && pwd)/$(basename "$SHIM")
FIX=$(cd "$FIX" && pwd)

PRELOAD=$SHIM
if [ "$SANITIZE" = 1 ]; then
  asan=$(${CC:-cc} -print-file-name=libasan.so)
  if [ ! -f "$asan" ]; then
    echo "interpose.sh: SANITIZE=1 but ${CC:-cc} has no libasan.so" >&2
    not_ok "the ASan runtime is found (${CC:-cc} -print-file-name=libasan.so)"
    finish
  fi
  PRELOAD="$asan $SHIM"
  export ASAN_OPTIONS=detect_leaks=0
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# Programs run in an empty directory: the shim reads ./dtask.toml when
# DTASK_CONFIG is unset, and no stray file must take part.
cd "$tmp" || exit 1

# Variables of ours that must not leak in from the caller's environment.
CLEAN=(-u LD_PRELOAD -u DTASK_CONFIG -u DTASK_MODE -u DTASK_TRACE
       -u DTASK_LOG -u DTASK_STRICT)

# run_plain OUT CMD...: runs CMD without the shim; OUT.out, OUT.err, OUT.rc.
run_plain() {
  local o=$1
  shift
  env "${CLEAN[@]}" "$@" >"$o.out" 2>"$o.err"
  echo $? >"$o.rc"
}

# run_shim OUT CONFIG [VAR=VALUE...] -- CMD...: runs CMD with the shim in
# sync mode, tracing, with CONFIG and the extra variables.
run_shim() {
  local o=$1 cfg=$2
  shift 2
  split_at_dashes "$@"
  env "${CLEAN[@]}" DTASK_MODE=sync DTASK_TRACE=1 DTASK_CONFIG="$cfg" \
    "${VARS[@]}" LD_PRELOAD="$PRELOAD" "${CMD[@]}" >"$o.out" 2>"$o.err"
  echo $? >"$o.rc"
}

# A whole trace line, as stub.c writes it.
TRACE_RE='^dtask\[[0-9]+\]: trace [A-Za-z_][A-Za-z0-9_]*\(.*\)( = .*)? errno=-?[0-9]+ sync [0-9.]+us$'

# trace_counts ERRFILE: "expect NAME N" per traced function, sorted.
trace_counts() {
  grep -E "$TRACE_RE" "$1" |
    sed -E 's/^dtask\[[0-9]+\]: trace ([A-Za-z0-9_]+)\(.*/\1/' |
    sort | uniq -c | awk '{ print "expect " $2 " " $1 }' | sort
}

# check_case NAME CONFIG TOTAL EXPECT [VAR=VALUE...] CMD...
#   EXPECT is "-" when CMD prints its own "expect NAME N" lines, else a
#   list such as "sin=5 cos=5".  TOTAL is the number of calls the trace
#   must show in all.  The variables are set for both runs (not with a
#   wrapper such as env, which the shim would be preloaded into too).
check_case() {
  local name=$1 cfg=$2 total=$3 expect=$4
  shift 4
  local vars=()
  while [[ $# -gt 0 && $1 =~ ^[A-Za-z_][A-Za-z0-9_]*= ]]; do
    vars+=("$1")
    shift
  done
  local p=$tmp/$name.plain s=$tmp/$name.shim
  run_plain "$p" "${vars[@]}" "$@"
  run_shim "$s" "$cfg" "${vars[@]}" -- "$@"

  local rp rs
  rp=$(cat "$p.rc")
  rs=$(cat "$s.rc")
  if [ "$rp" = 0 ] && [ "$rs" = 0 ]; then
    ok "$name: exits 0 without and with the shim"
  else
    echo "exit status: $rp without the shim, $rs with it" >"$tmp/msg"
    not_ok "$name: exits 0 without and with the shim" "$tmp/msg" "$s.err"
  fi

  if [ -s "$p.out" ] && cmp -s "$p.out" "$s.out"; then
    ok "$name: stdout is identical with the shim ($(wc -l <"$p.out") lines)"
  else
    diff -u "$p.out" "$s.out" >"$tmp/diff"
    [ -s "$p.out" ] || echo "no output without the shim" >>"$tmp/diff"
    not_ok "$name: stdout is identical with the shim" "$tmp/diff"
  fi

  grep -Ev "$TRACE_RE" "$s.err" >"$tmp/rest"
  if cmp -s "$p.err" "$tmp/rest"; then
    ok "$name: stderr holds nothing but whole trace lines"
  else
    diff -u "$p.err" "$tmp/rest" >"$tmp/diff"
    not_ok "$name: stderr holds nothing but whole trace lines" "$tmp/diff"
  fi

  if [ "$expect" = - ]; then
    grep '^expect ' "$p.out" | sort >"$tmp/want"
  else
    tr ' ' '\n' <<<"$expect" | sed -n 's/^\(.*\)=\(.*\)$/expect \1 \2/p' |
      sort >"$tmp/want"
  fi
  trace_counts "$s.err" >"$tmp/got"
  local want_total got_total
  want_total=$(awk '{ s += $3 } END { print s + 0 }' "$tmp/want")
  got_total=$(awk '{ s += $3 } END { print s + 0 }' "$tmp/got")
  if [ "$want_total" = "$total" ] && [ "$got_total" = "$total" ] &&
    cmp -s "$tmp/want" "$tmp/got"; then
    ok "$name: the trace shows every call ($total, per function)"
  else
    {
      echo "calls made: $want_total, traced: $got_total, expected: $total"
      echo "per function (- made, + traced):"
      diff "$tmp/want" "$tmp/got" | grep '^[<>]' | sed 's/^</-/; s/^>/+/'
    } >"$tmp/msg"
    not_ok "$name: the trace shows every call ($total, per function)" "$tmp/msg"
  fi
}

# has_lines DESCRIPTION FILE FIXED-STRING...: one check, that FILE holds
# every string.
has_lines() {
  local desc=$1 file=$2 missing=()
  shift 2
  local want
  for want in "$@"; do
    grep -qF -- "$want" "$file" || missing+=("$want")
  done
  if [ ${#missing[@]} -eq 0 ]; then
    ok "$desc"
  else
    printf 'missing: %s\n' "${missing[@]}" >"$tmp/msg"
    not_ok "$desc" "$tmp/msg" "$file"
  fi
}

CFG=$FIX/fix.toml
BODY=92 # calls of fixbody.h's fx_body

# ------------------------------------------------- the fixture programs

# (a) direct calls, lazy binding; (b) PIE with full RELRO; and the same
# calls through GLOB_DAT slots (-fno-plt) and from a non-PIE program.
check_case lazy "$CFG" $BODY - "$FIX/fixprog_lazy"
check_case relro-now "$CFG" $BODY - "$FIX/fixprog_now"
check_case no-plt "$CFG" $BODY - "$FIX/fixprog_noplt"
check_case non-pie "$CFG" $BODY - "$FIX/fixprog_nopie"

# The trace renders what the closure received: widths, signs, errno, NULL.
has_lines "lazy: trace lines show the arguments and results as passed" \
  "$tmp/lazy.shim.err" \
  "trace fx_i8(x=-128) = -67 errno=0 sync" \
  "trace fx_u8(x=255) = 254 errno=0 sync" \
  "trace fx_u64(x=18446744073709551615) = 7046029254386353131 errno=0 sync" \
  "trace fx_uint(a=4000000000, c=255, s=-128, u=65535) = 3410131322 errno=0" \
  "trace fx_fail(e=34) = -1 errno=34 sync" \
  "trace fx_strlen_plus(s=NULL, k=5) = 999 errno=0" \
  "trace fx_name(i=-1) = NULL errno=0" \
  "trace fx_name(i=1) = \"one\" errno=0" \
  "trace fx_sum(xs=NULL, n=3) = -1 errno=0" \
  "trace fx_tick() errno=0 sync" \
  "a7=4000000000, f3=-7.5, a8=-8, d5=-8.5, a9=-9, d6=-9.5, d7=-10.5, a10=-10) = "

# (c) dlopen + dlsym only: by path (RTLD_LOCAL), and by bare soname found
# through the program's DT_RUNPATH or DT_RPATH (which the shim's dlopen
# must search as the program's own call would), plus RTLD_NEXT and
# RTLD_DEFAULT lookups from the program.
check_case dlopen-path "$CFG" $BODY - "$FIX/fixdl" path
check_case dlopen-runpath "$CFG" $((BODY + 2)) - "$FIX/fixdl" soname
check_case dlopen-rpath "$CFG" $((BODY + 2)) - "$FIX/fixdl_rpath" soname

# The same library through dlmopen: into the main namespace, and into a
# new one with its own copy of the C library (the closures forward to the
# definitions in that namespace).
check_case dlmopen-base "$CFG" $BODY - "$FIX/fixdl" mopen
check_case dlmopen-newlm "$CFG" $BODY - "$FIX/fixdl" newns

# (g) dlvsym of a listed name.  libfixver.so has fv_scale@FV_1 (2x) and
# fv_scale@@FV_2 (3x, the default).  Listed with no version, the default
# definition is offloaded: dlvsym(FV_2) and dlsym give the closure (two
# traced calls, both 15), dlvsym(FV_1) the other definition, untraced
# (10).  Listed with version = "FV_1", only dlvsym(FV_1) gives the
# closure: one traced call, 10.  The output compares each result with the
# run without the shim, so a closure standing for the wrong definition
# shows.
check_case dlvsym-default "$FIX/fixver.toml" 2 "fv_scale=2" "$FIX/fixver"
has_lines "dlvsym-default: the closure forwards to fv_scale@@FV_2" \
  "$tmp/dlvsym-default.shim.err" "trace fv_scale(x=5) = 15 errno=0 sync"
! grep -q 'trace fv_scale(x=5) = 10' "$tmp/dlvsym-default.shim.err"
check $? "dlvsym-default: dlvsym(h, \"fv_scale\", \"FV_1\") is not the closure" \
  "$tmp/dlvsym-default.shim.err"
check_case dlvsym-FV_1 "$FIX/fixver_v1.toml" 1 "fv_scale=1" "$FIX/fixver"
has_lines "dlvsym-FV_1: the closure forwards to fv_scale@FV_1" \
  "$tmp/dlvsym-FV_1.shim.err" "trace fv_scale(x=5) = 10 errno=0 sync"

# (h) An object the C library loads itself: iconv_open loads the gconv
# module UTF-16.so through libc's internal dlopen, which no interposer
# sees, and the module's init calls __strcasecmp through its own GOT.
# fixiconv converts twice ("phase" markers on stderr around each step);
# with "dlopen" it dlopens libfix.so in between, and the module is patched
# then: its calls are traced in phase 3 and never before.  Without that
# dlopen nothing is traced (the control).
run_plain "$tmp/iconv.plain" "$FIX/fixiconv" dlopen
for a in dlopen none; do
  run_shim "$tmp/iconv.$a" "$FIX/fixiconv.toml" -- "$FIX/fixiconv" $a
done
# phases FILE: "PHASE COUNT" per phase marker: the trace lines after it.
phases() {
  awk '/^phase / { p = $2; n[p] = 0; next }
       / trace __strcasecmp\(/ { n[p]++ }
       END { for (k = 1; k <= 4; k++) printf "%d:%d ", k, n[k] }' "$1"
}
got=$(phases "$tmp/iconv.dlopen.err")
[ "$(cat "$tmp/iconv.dlopen.rc")" = 0 ] &&
  cmp -s "$tmp/iconv.plain.out" "$tmp/iconv.dlopen.out" &&
  [[ $got =~ ^1:0\ 2:0\ 3:[1-9][0-9]*\ 4:0\ $ ]] &&
  grep -qE "$TRACE_RE" "$tmp/iconv.dlopen.err"
check $? "iconv: the gconv module libc loaded is patched at the program's next dlopen (trace lines per phase: $got)" \
  "$tmp/iconv.dlopen.err" "$tmp/iconv.dlopen.out"
got=$(phases "$tmp/iconv.none.err")
[ "$(cat "$tmp/iconv.none.rc")" = 0 ] &&
  cmp -s "$tmp/iconv.plain.out" "$tmp/iconv.none.out" &&
  [ "$got" = "1:0 2:0 3:0 4:0 " ]
check $? "iconv control: with no dlopen in between, nothing is traced ($got)" \
  "$tmp/iconv.none.err"

# (d) through &f: a writable table (ABS64), a const table in RELRO
# (ABS64), pointers taken at run time (GLOB_DAT); and from a non-PIE
# program, where &f is the program's own PLT entry.
check_case pointers "$CFG" $((3 * BODY)) - "$FIX/fixptr"
check_case pointers-non-pie "$CFG" $((3 * BODY)) - "$FIX/fixptr_nopie"

# (e) 8 threads x 2000 calls at once.
check_case threads "$CFG" 16000 - "$FIX/fixthr"

# (f) only a second library imports libfix: lazily through its PLT, or
# through GLOB_DAT slots.  It also checks dlsym(RTLD_NEXT) and a dlopen of
# a bare name from that library.
check_case second-library "$CFG" $((BODY + 20)) - "$FIX/fixuse"
if [ "$SANITIZE" = 1 ]; then
  # The ASan runtime, preloaded first, defines dlopen: libfixuse_noplt's
  # GLOB_DAT slot for dlopen binds to it, not to libc's, so the shim leaves
  # it alone, and ASan's dlopen loses the library's run path (it does so
  # without the shim too).  Leave out that one dlopen.
  check_case second-library-no-plt "$CFG" $((BODY + 20)) - \
    "$FIX/fixuse_noplt" nosub
else
  check_case second-library-no-plt "$CFG" $((BODY + 20)) - "$FIX/fixuse_noplt"
fi

# ------------------------------------------- Debian programs, unchanged

# python3.11 is a non-PIE program with lazy binding; its math module calls
# libm through the PLT (cos, sin, tan through pointers to PLT entries).
PY=/usr/bin/python3
if [ -x "$PY" ]; then
  check_case python3 "$FIX/libm.toml" 48 - "$PY" -I -S "$FIX/pymath.py"
else
  not_ok "python3: $PY is installed (tools/deps.sh installs it)"
fi

# mawk is a PIE with BIND_NOW: its GOT is read-only after start-up.
AWK=/usr/bin/mawk
AWK_PROG='BEGIN {
  for (i = 0; i < 5; i++)
    printf "%.17g %.17g %.17g %.17g %.17g %.17g\n", sin(i / 3), cos(i / 3),
      exp(i), log(i + 1), atan2(i, 2), (i + 0.5) ^ 1.5
  x = 7.5
  printf "%.17g\n", x % 2
}'
if [ -x "$AWK" ]; then
  check_case mawk "$FIX/libm.toml" 31 \
    "sin=5 cos=5 exp=5 log=5 atan2=5 pow=5 fmod=1" "$AWK" "$AWK_PROG"
else
  not_ok "mawk: $AWK is installed (tools/deps.sh installs it)"
fi

# ------------------------------------------------- start-up policy

# A config with an error: the shim names FILE:LINE:COL and the program
# runs unchanged (no call intercepted), unless DTASK_STRICT=1, which stops
# it with status 2 before main.
cat >"$tmp/bad.toml" <<'EOF'
# a bare pointer is an error (column 30 is the '*')
[[offload]]
signature = "int fx_i32(char *p)"
EOF
run_plain "$tmp/ref" "$FIX/fixprog_lazy"
run_shim "$tmp/bad" "$tmp/bad.toml" -- "$FIX/fixprog_lazy"
if [ "$(cat "$tmp/bad.rc")" = 0 ] && cmp -s "$tmp/ref.out" "$tmp/bad.out"; then
  ok "config error: the program runs unchanged and exits 0"
else
  diff -u "$tmp/ref.out" "$tmp/bad.out" >"$tmp/diff"
  echo "exit status $(cat "$tmp/bad.rc")" >>"$tmp/diff"
  not_ok "config error: the program runs unchanged and exits 0" "$tmp/diff"
fi
has_lines "config error: stderr names the file, line and column" \
  "$tmp/bad.err" "$tmp/bad.toml:3:30: "
if ! grep -q ': trace ' "$tmp/bad.err"; then
  ok "config error: no call is intercepted"
else
  not_ok "config error: no call is intercepted" "$tmp/bad.err"
fi

run_shim "$tmp/strict" "$tmp/bad.toml" DTASK_STRICT=1 -- "$FIX/fixprog_lazy"
if [ "$(cat "$tmp/strict.rc")" = 2 ] && [ ! -s "$tmp/strict.out" ] &&
  grep -qF "$tmp/bad.toml:3:30: " "$tmp/strict.err"; then
  ok "config error with DTASK_STRICT=1: exit status 2 before main"
else
  echo "exit status $(cat "$tmp/strict.rc") (want 2); stdout:" >"$tmp/msg"
  not_ok "config error with DTASK_STRICT=1: exit status 2 before main" \
    "$tmp/msg" "$tmp/strict.out" "$tmp/strict.err"
fi

# A good config in strict mode changes nothing.
check_case strict-ok "$CFG" $BODY - DTASK_STRICT=1 "$FIX/fixprog_lazy"

# [shim] strict = true and a symbol no object defines: status 2.
{
  printf '[shim]\nstrict = true\n\n'
  printf '[[offload]]\nsignature = "int fx_nowhere(int x)"\n'
} >"$tmp/nowhere_strict.toml"
run_shim "$tmp/nwstrict" "$tmp/nowhere_strict.toml" -- "$FIX/fixprog_lazy"
if [ "$(cat "$tmp/nwstrict.rc")" = 2 ] && [ ! -s "$tmp/nwstrict.out" ] &&
  grep -q "fx_nowhere" "$tmp/nwstrict.err"; then
  ok "strict = true, symbol defined nowhere: exit status 2 before main"
else
  echo "exit status $(cat "$tmp/nwstrict.rc") (want 2)" >"$tmp/msg"
  not_ok "strict = true, symbol defined nowhere: exit status 2 before main" \
    "$tmp/msg" "$tmp/nwstrict.err"
fi

# A symbol that no object defines (not strict): the other symbols are
# still interposed, and nothing is said at the default log level.
{
  cat "$CFG"
  printf '\n[[offload]]\nsignature = "int fx_nowhere(int x)"\n'
} >"$tmp/nowhere.toml"
check_case undefined-symbol "$tmp/nowhere.toml" $BODY - "$FIX/fixprog_lazy"

# A symbol that the program does not import (libfix defines fx_unused):
# silent by default, a warning naming it with DTASK_LOG=warn.
cat >"$tmp/unused.toml" <<'EOF'
[[offload]]
signature = "int32 fx_i32(int32 x)"

[[offload]]
signature = "int fx_unused(int x)"
EOF
check_case not-imported "$tmp/unused.toml" 4 "fx_i32=4" "$FIX/fixprog_lazy"
run_shim "$tmp/warn" "$tmp/unused.toml" DTASK_LOG=warn -- "$FIX/fixprog_lazy"
if [ "$(cat "$tmp/warn.rc")" = 0 ] && cmp -s "$tmp/ref.out" "$tmp/warn.out" &&
  grep -E "warning: .*unused\.toml:4: .*'fx_unused'" "$tmp/warn.err" \
    >/dev/null && ! grep -v ': trace ' "$tmp/warn.err" | grep -q "fx_i32"; then
  ok "not imported, DTASK_LOG=warn: a warning names fx_unused (file:line)"
else
  not_ok "not imported, DTASK_LOG=warn: a warning names fx_unused (file:line)" \
    "$tmp/warn.err"
fi

finish
