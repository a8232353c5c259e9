#!/bin/bash
# sig.sh: integration tests of `dtask sig`, which drafts [[offload]]
# entries from a header (libclang) or from DWARF (libdw).
#
#   1. the drafts of zlib (crc32, adler32, compress2, uncompress), bzip2
#      (BZ2_bzBuffToBuffCompress, BZ2_bzlibVersion), OpenSSL
#      (EVP_PBE_scrypt, PKCS5_PBKDF2_HMAC), libcrypt (crypt, crypt_r) and
#      the fixture's sigdemo.h (every rule: complete entries, LEN?
#      placeholders, one refusal per reason) are exactly the reviewed
#      ones in tests/fixtures/draft/expected/ (line numbers of system
#      headers masked), with the exit status each promises: 0 all
#      complete, 1 some entry needs a person;
#   2. one draft of all of them (a header that includes the five):
#      dtask check rejects it while a LEN? is left, naming file:line:col;
#      the complete entries alone pass dtask check against sigprog, and
#      under dtask run sigprog prints exactly what it prints without
#      dtask, every drafted function offloaded (dtask run's summary);
#      with the LEN? filled by hand (4096, as a person would), compress2,
#      uncompress and BZ2_bzBuffToBuffCompress run offloaded with the
#      same results too; an out buffer comes back whole (the caveat the
#      draft notes beside sd_copy);
#   3. --binary: libsigdemo.so's DWARF gives the header's signatures for
#      the functions whose header says nothing DWARF lacks (no Doxygen,
#      no access attribute), and a library = line; a stripped copy is
#      refused as stripped;
#   4. errors: a missing header, a header whose include is missing (and
#      -I that fixes it), -D that changes a typedef, an unknown symbol, no
#      symbol at all; each exits 2 with a message that says what to do;
#   0. dtask, dtask-runner, the shim and the engine link neither libclang
#      nor libdw (they are dlopen'd by dtask sig alone);
#   5. the project's own fixtures (behave, failure, fanout, interpose,
#      offload, rstring, trust): each entry drafted from their header
#      without a note is the entry written by hand in their config; the
#      demo's report.h gives demo/dtask.toml's [types];
#   6. libclang or libdw absent (bind-mounted away in a private mount
#      namespace: needs root; a skip otherwise, a failure under
#      DTASK_NO_SKIP=1): exit 2 and the apt-get line to run.
#
# Environment: BUILD (default build); SANITIZE=1 when the commands were
# built with ASan/UBSan.  Output: "ok - ..." or "not ok - ..." per check,
# then "N passed, N failed, N skipped".
# shellcheck disable=SC2317  # cleanup runs from the EXIT trap
set -u

# shellcheck source=tests/integration/tap.bash
. "$(dirname "$0")/tap.bash"
# shellcheck source=tests/integration/runs.bash
. "$(dirname "$0")/runs.bash"

DTASK=$BUILD/dtask
FX=$BUILD/fixtures/draft
EXP=$(cd "$(dirname "$0")/../fixtures/draft/expected" && pwd)
need_built "dtask and the fixtures are built" "make all" \
  "$DTASK" "$FX/sigprog" "$FX/libsigdemo.so" "$FX/sigdemo.h"

LAUNCH_ENV=()
BIN_ENV=()
if [ "$SANITIZE" = 1 ]; then
  asan=$(${CC:-cc} -print-file-name=libasan.so)
  LAUNCH_ENV=(LD_PRELOAD="$asan"
              ASAN_OPTIONS=detect_leaks=0:verify_asan_link_order=0)
  # LeakSanitizer's scan at exit crashes now and then ("Tracer caught
  # signal 11") in a process that dlopened libdw, whose error state is
  # thread-local; the DWARF reader's leaks are checked by test_dwarf,
  # which runs with LeakSanitizer in the same build.
  BIN_ENV=(ASAN_OPTIONS=detect_leaks=0)
fi
CLEAN=("${CLEAN_DTASK[@]}" -u LD_LIBRARY_PATH)

root=$(mktemp -d "${TMPDIR:-/tmp}/dtask-sig.XXXXXX") || exit 1
chmod 700 "$root"
tmp=$root
trap 'cd / && rm -rf "$root"' EXIT

# run_in_fx OUT CMD...: runs.bash's run, in the fixture directory.
run_in_fx() { (cd "$FX" && run "$@"); }
# masked FILE: the draft with header paths and line numbers masked
# (file.h:LINE), as the expected drafts are written.
masked() { sed -E 's#(/[^ ():]*/)?([^/ ():]+\.h):[0-9]+#\2:LINE#g' "$1"; }

# ======================================================================
# 0. LLVM and libdw stay out of everything but the command that runs.
# ======================================================================
: >"$tmp/needed"
for f in "$DTASK" "$BUILD/dtask-runner" "$BUILD/libdtask_shim.so" \
  "$BUILD/libdtask_engine.so"; do
  readelf -d "$f" | grep NEEDED | sed "s|^|${f##*/}: |" >>"$tmp/needed"
done
grep -q 'dtask: .*libc.so' "$tmp/needed" && ! grep -qi 'clang\|llvm\|libdw\|libelf' "$tmp/needed"
check $? "0 dtask, dtask-runner, the shim and the engine need neither libclang nor libdw (DT_NEEDED)" \
  "$tmp/needed"

# ======================================================================
# 1. The reviewed drafts.
# ======================================================================
SD_ALL="sd_sum sd_scale sd_norm sd_fill sd_copy sd_mean sd_upper sd_name
sd_swap sd_mix sd_blob sd_pack sd_log sd_vlog sd_apply sd_split sd_walk
sd_peek sd_big sd_dump sd_origin sd_table sd_old sd_many sd_byval sd_send"
# draft NAME WANT-RC HEADER SYMBOL...: the draft equals expected/NAME.toml
# and its summary expected/NAME.err, with exit status WANT-RC.
draft() {
  local name=$1 want=$2
  shift 2
  run_in_fx "$tmp/$name" "$DTASK" sig "$@"
  masked "$tmp/$name.out" >"$tmp/$name.masked"
  diff -u "$EXP/$name.toml" "$tmp/$name.masked" >"$tmp/$name.diff"
  diff -u "$EXP/$name.err" "$tmp/$name.err" >>"$tmp/$name.diff"
  [ ! -s "$tmp/$name.diff" ] && rc_is "$tmp/$name" "$want"
  check $? "1 $name: the draft is the reviewed one, exit $want ($(cat "$tmp/$name.rc"))" \
    "$tmp/$name.diff" "$tmp/$name.err"
}
draft zlib 1 '<zlib.h>' crc32 adler32 compress2 uncompress
draft bzip2 1 '<bzlib.h>' BZ2_bzBuffToBuffCompress BZ2_bzlibVersion
draft openssl 1 '<openssl/evp.h>' EVP_PBE_scrypt PKCS5_PBKDF2_HMAC
draft crypt 0 '<crypt.h>' crypt crypt_r
# shellcheck disable=SC2086
draft sigdemo 1 sigdemo.h $SD_ALL

# Every refusal reason and every kind of note is in the reviewed drafts,
# so that the comparison above covers each rule.
missing=""
for want in "it is variadic" "is a va_list" "is a function pointer" \
  "is a pointer to a pointer" "which holds pointers" \
  "handle to an incomplete type" "returns long double" "is a FILE \*" \
  "by value, which dtask cannot pass" "returns a pointer" \
  "without a prototype" "more than 32 parameters" "passes struct" \
  "behind a pointer" "is not in the declaration" "(Doxygen @param)" \
  "(GCC access attribute)" "renamed: parameter out" "points to one" \
  "named like a length" "is inout (not const" "NUL-terminated string" \
  "flexible array member"; do
  grep -q -- "$want" "$EXP"/*.toml || missing="$missing|$want"
done
[ -z "$missing" ]
check $? "1 the reviewed drafts show every refusal and every kind of note" \
  "$(note cover "missing: $missing")"

# ======================================================================
# 2. The drafts, checked and run.
# ======================================================================
ALL_SYMS="sd_sum sd_scale sd_norm sd_fill sd_copy sd_mean sd_upper sd_name
sd_swap sd_mix crc32 adler32 BZ2_bzlibVersion EVP_PBE_scrypt crypt crypt_r"
FILL_SYMS="compress2 uncompress BZ2_bzBuffToBuffCompress"
printf '#include <zlib.h>\n#include <bzlib.h>\n#include <openssl/evp.h>\n#include <crypt.h>\n#include "sigdemo.h"\n' \
  >"$tmp/all.h"
# shellcheck disable=SC2086
run_in_fx "$tmp/all" "$DTASK" sig -I "$FX" "$tmp/all.h" $ALL_SYMS $FILL_SYMS
rc_is "$tmp/all" 1 && grep -q '^dtask sig: 16 complete, 3 with a LEN? to fill, 0 refused$' "$tmp/all.err"
check $? "2 one draft of the five headers: 16 complete, 3 with a LEN? (exit 1)" \
  "$tmp/all.err"

mkdir -m 700 "$tmp/q"
# cfg NAME DRAFT: a config of DRAFT with a private queue.
cfg() {
  { printf '[queue]\npath = "%s"\n\n[runner]\nautostart = false\n' "$tmp/q"
    cat "$2"; } >"$tmp/$1.toml"
}
cfg draft "$tmp/all.out"
run_in_fx "$tmp/chk1" "$DTASK" check -c "$tmp/draft.toml" --binary "$FX/sigprog"
line=$(grep -n '^signature = .*LEN?' "$tmp/draft.toml" | head -n 1 | cut -d: -f1)
rc_is "$tmp/chk1" 2 &&
  grep -q "draft.toml:$line:[0-9]*: .*LEN? is a placeholder left by dtask sig" "$tmp/chk1.err"
check $? "2 dtask check rejects the draft while a LEN? is left (exit 2, at line $line)" \
  "$tmp/chk1.err"

# The complete entries: the draft's paragraphs without a LEN?.
awk 'BEGIN { RS = ""; ORS = "\n\n" } !/LEN\?/' "$tmp/all.out" >"$tmp/complete.draft"
cfg complete "$tmp/complete.draft"
run_in_fx "$tmp/chk2" "$DTASK" check -c "$tmp/complete.toml" --binary "$FX/sigprog"
n=$(grep -c '^signature = ' "$tmp/complete.draft")
rc_is "$tmp/chk2" 0 && [ "$n" = 16 ]
check $? "2 the 16 complete entries pass dtask check against sigprog" \
  "$tmp/chk2.err" "$tmp/chk2.out"

run_in_fx "$tmp/plain" "$FX/sigprog"
run_in_fx "$tmp/off" "${LAUNCH_ENV[@]}" "$DTASK" run -c "$tmp/complete.toml" -w 2 -- "$FX/sigprog"
diff -u "$tmp/plain.out" "$tmp/off.out" >"$tmp/off.diff"
rc_is "$tmp/plain" 0 && rc_is "$tmp/off" 0 && [ -s "$tmp/plain.out" ] &&
  [ ! -s "$tmp/off.diff" ]
check $? "2 offloaded as drafted, sigprog prints what it prints without dtask" \
  "$tmp/off.diff" "$tmp/off.err"
missing=""
for s in $ALL_SYMS; do
  grep -q "; $s [1-9][0-9]* (p50" "$tmp/off.err" || missing="$missing $s"
done
[ -z "$missing" ] && grep -q '^dtask: 2[0-9] calls offloaded' "$tmp/off.err"
check $? "2 every drafted function ran in a worker (dtask run's summary)" \
  "$(note sum "not offloaded:$missing")" "$tmp/off.err"

# A person fills each LEN? with the buffer size sigprog passes.
sed 's/LEN?/4096/' "$tmp/all.out" >"$tmp/filled.draft"
cfg filled "$tmp/filled.draft"
run_in_fx "$tmp/chk3" "$DTASK" check -c "$tmp/filled.toml" --binary "$FX/sigprog"
run_in_fx "$tmp/plainf" "$FX/sigprog" filled
run_in_fx "$tmp/offf" "${LAUNCH_ENV[@]}" "$DTASK" run -c "$tmp/filled.toml" -w 2 -- "$FX/sigprog" filled
diff -u "$tmp/plainf.out" "$tmp/offf.out" >"$tmp/offf.diff"
rc_is "$tmp/chk3" 0 && rc_is "$tmp/offf" 0 && [ ! -s "$tmp/offf.diff" ] &&
  grep -q 'uncompress 0 1000 same' "$tmp/offf.out" &&
  grep -q '; compress2 1 (p50' "$tmp/offf.err" &&
  grep -q '; uncompress 1 (p50' "$tmp/offf.err" &&
  grep -q '; BZ2_bzBuffToBuffCompress 1 (p50' "$tmp/offf.err"
check $? "2 with LEN? filled, compress2, uncompress and BZ2_bzBuffToBuffCompress run offloaded with the same results" \
  "$tmp/chk3.err" "$tmp/offf.diff" "$tmp/offf.err"

# The caveat noted beside sd_copy's out buffer: it comes back whole.
run_in_fx "$tmp/plainw" "$FX/sigprog" whole
run_in_fx "$tmp/offw" "${LAUNCH_ENV[@]}" "$DTASK" run -c "$tmp/complete.toml" -w 1 -- "$FX/sigprog" whole
grep -qx 'sd_copy 2 68 69 2e 2e 2e 2e 2e 2e' "$tmp/plainw.out" &&
  grep -qx 'sd_copy 2 68 69 00 00 00 00 00 00' "$tmp/offw.out"
check $? "2 an out buffer comes back whole: bytes sd_copy leaves are 0 offloaded, the caller's natively (as noted)" \
  "$tmp/plainw.out" "$tmp/offw.out" "$tmp/offw.err"

# ======================================================================
# 3. From DWARF.
# ======================================================================
# (not sd_fill: DWARF keeps no length of an int out4[4] parameter)
BIN_SYMS="sd_sum sd_scale sd_norm sd_name sd_swap sd_mix"
# shellcheck disable=SC2086
run_in_fx "$tmp/bin" env "${BIN_ENV[@]}" "$DTASK" sig --binary "$FX/libsigdemo.so" $BIN_SYMS
# shellcheck disable=SC2086
run_in_fx "$tmp/hdr" "$DTASK" sig sigdemo.h $BIN_SYMS
grep '^signature = ' "$tmp/bin.out" >"$tmp/bin.sigs"
grep '^signature = ' "$tmp/hdr.out" >"$tmp/hdr.sigs"
diff -u "$tmp/hdr.sigs" "$tmp/bin.sigs" >"$tmp/bin.diff"
rc_is "$tmp/bin" 0 && [ "$(wc -l <"$tmp/bin.sigs")" = 6 ] &&
  [ ! -s "$tmp/bin.diff" ] &&
  [ "$(grep -c '^library = "libsigdemo.so"$' "$tmp/bin.out")" = 6 ] &&
  grep -q '^# sd_sum, .*libsigdemo.c:[0-9]' "$tmp/bin.out"
check $? "3 --binary libsigdemo.so: the header's 6 signatures, from DWARF, with library = and the source line" \
  "$tmp/bin.diff" "$tmp/bin.out" "$tmp/bin.err"
run_in_fx "$tmp/flex" env "${BIN_ENV[@]}" "$DTASK" sig --binary "$FX/libsigdemo.so" sd_send
rc_is "$tmp/flex" 1 &&
  grep -q '^# refused: sd_send .*struct sd_msg, which ends in a flexible array member' "$tmp/flex.out"
check $? "3 --binary: a struct ending in a flexible array member is refused, as from the header" \
  "$tmp/flex.out" "$tmp/flex.err"
cp "$FX/libsigdemo.so" "$tmp/stripped.so" && strip -g "$tmp/stripped.so"
run_in_fx "$tmp/strip" env "${BIN_ENV[@]}" "$DTASK" sig --binary "$tmp/stripped.so" sd_sum
rc_is "$tmp/strip" 2 && grep -q 'stripped\|no DWARF\|debug info' "$tmp/strip.err" &&
  grep -q -- '-g' "$tmp/strip.err" && [ ! -s "$tmp/strip.out" ]
check $? "3 a stripped object: exit 2, says so and to rebuild with -g" \
  "$tmp/strip.err"

# ======================================================================
# 4. Errors.
# ======================================================================
run_in_fx "$tmp/e1" "$DTASK" sig "$tmp/nonesuch.h" f
rc_is "$tmp/e1" 2 && grep -q "nonesuch.h: No such file or directory" "$tmp/e1.err"
check $? "4 a missing header: exit 2, named" "$tmp/e1.err"
run_in_fx "$tmp/e2" "$DTASK" sig '<nonesuch_zz.h>' f
rc_is "$tmp/e2" 2 && grep -q "'nonesuch_zz.h' file not found" "$tmp/e2.err" &&
  grep -q 'give -I DIR' "$tmp/e2.err"
check $? "4 <nonesuch_zz.h>: exit 2, not found, how to fix" "$tmp/e2.err"
mkdir -p "$tmp/inc/sub"
printf '#include "inner.h"\nint outer(in_t x);\n' >"$tmp/inc/outer.h"
printf '#ifdef WIDE\ntypedef long in_t;\n#else\ntypedef short in_t;\n#endif\n' \
  >"$tmp/inc/sub/inner.h"
run_in_fx "$tmp/e3" "$DTASK" sig "$tmp/inc/outer.h" outer
run_in_fx "$tmp/e4" "$DTASK" sig -I "$tmp/inc/sub" "$tmp/inc/outer.h" outer
run_in_fx "$tmp/e5" "$DTASK" sig -I"$tmp/inc/sub" -D WIDE "$tmp/inc/outer.h" outer
rc_is "$tmp/e3" 2 && grep -q "'inner.h' file not found" "$tmp/e3.err" &&
  rc_is "$tmp/e4" 0 && grep -q '^signature = "int outer(short x)"$' "$tmp/e4.out" &&
  rc_is "$tmp/e5" 0 && grep -q '^signature = "int outer(long x)"$' "$tmp/e5.out"
check $? "4 an include not found: exit 2; -I DIR finds it; -D changes the typedef it reads" \
  "$tmp/e3.err" "$tmp/e4.out" "$tmp/e5.out"
run_in_fx "$tmp/e6" "$DTASK" sig '<zlib.h>' crc32 no_such_fn
rc_is "$tmp/e6" 2 && grep -q 'declares no function no_such_fn' "$tmp/e6.err" &&
  grep -q '^signature = "ulong crc32' "$tmp/e6.out"
check $? "4 an unknown symbol: exit 2 naming it, the others still drafted" \
  "$tmp/e6.err"
run_in_fx "$tmp/e7" "$DTASK" sig '<zlib.h>'
rc_is "$tmp/e7" 2 && grep -q '^usage: dtask sig' "$tmp/e7.err"
check $? "4 no symbol: exit 2 and the usage" "$tmp/e7.err"

# ======================================================================
# 5. The project's own fixtures: every entry drafted without a note is
#    the one written by hand (spellings aside: int32_t is int32, (void)
#    is ()), and the demo's [types] are the compiler's layout.
# ======================================================================
TOP=$(cd "$(dirname "$0")/../.." && pwd)
norm_sig() {
  sed -E 's/^signature *= */signature = /; s/\b(u?int(8|16|32|64)|u?intptr)_t\b/\1/g; s/\(void\)/()/'
}
exact=0
: >"$tmp/own.diff"
for pair in behave/bh.h:behave/bh.toml failure/fl.h:failure/fl.toml \
  fanout/fan.h:fanout/fan.toml interpose/libfix.h:interpose/fix.toml \
  offload/ol.h:offload/ol.toml rstring/rs.h:rstring/rs.toml \
  trust/tr.h:trust/trust.toml; do
  h=$TOP/tests/fixtures/${pair%%:*}
  t=$TOP/tests/fixtures/${pair#*:}
  syms=$(sed -n 's/^signature *= *"[a-z0-9_]* \([A-Za-z_0-9]*\)(.*/\1/p' "$t" | sort -u)
  # shellcheck disable=SC2086
  run_in_fx "$tmp/own" "$DTASK" sig -I "$TOP/tests/fixtures" "$h" $syms
  grep '^signature' "$t" | norm_sig >"$tmp/own.want"
  awk 'BEGIN { RS = "" } /\[\[offload\]\]/ && !/# (guessed|todo):/' "$tmp/own.out" |
    grep '^signature' | norm_sig >"$tmp/own.exact"
  while IFS= read -r line; do
    exact=$((exact + 1))
    grep -qxF -- "$line" "$tmp/own.want" ||
      echo "${pair%%:*}: drafted without a note, not as written: $line" >>"$tmp/own.diff"
  done <"$tmp/own.exact"
  grep -q 'declares no function' "$tmp/own.err" &&
    echo "${pair%%:*}: $(grep 'declares no function' "$tmp/own.err")" >>"$tmp/own.diff"
done
[ ! -s "$tmp/own.diff" ] && [ "$exact" -ge 40 ]
check $? "5 the fixtures' headers: $exact entries drafted without a note, each the one written by hand" \
  "$tmp/own.diff"
run_in_fx "$tmp/demo" "$DTASK" sig "$TOP/demo/report.h" build_report generate_reports
grep -qx 'report = { size = 48, align = 8 } # struct report, holds no pointers' "$tmp/demo.out" &&
  grep -qx 'period = { size = 16, align = 1 } # struct period, holds no pointers' "$tmp/demo.out" &&
  grep -q '^report = { size = 48, align = 8 }' "$TOP/demo/dtask.toml" &&
  grep -q '^period = { size = 16, align = 1 }' "$TOP/demo/dtask.toml" &&
  grep -qx 'signature = "int build_report(cstring period, inout report r\[1\])"' "$tmp/demo.out" &&
  grep -q '^# guessed: r is inout' "$tmp/demo.out"
check $? "5 the demo's report.h: [types] report and period as demo/dtask.toml declares them; build_report's r guessed inout (the demo says out)" \
  "$tmp/demo.out" "$tmp/demo.err"

# ======================================================================
# 6. libclang or libdw absent.
# ======================================================================
# without LIB OUT ARGS...: dtask sig ARGS with LIB's file hidden under
# /dev/null in a private mount namespace.
without() {
  local lib=$1 o=$2 real
  shift 2
  real=$(readlink -f "$lib")
  # shellcheck disable=SC2016  # $1 and $@ are the inner sh's
  (cd "$FX" && timeout 60 env "${CLEAN[@]}" unshare -m --propagation private \
    sh -c 'mount --bind /dev/null "$1" && shift && exec "$@"' sh "$real" \
    "$DTASK" sig "$@") >"$o.out" 2>"$o.err"
  echo $? >"$o.rc"
}
libclang=/usr/lib/x86_64-linux-gnu/libclang-14.so.1
libdw=$(ldconfig -p | sed -n 's/.*libdw.so.1 .*=> //p' | head -n 1)
if [ "$(id -u)" != 0 ] || ! unshare -m true 2>/dev/null; then
  skip "6 without libclang or libdw: exit 2 and how to install it" \
    "needs root and a mount namespace"
else
  without "$libclang" "$tmp/n1" '<zlib.h>' crc32
  rc_is "$tmp/n1" 2 && grep -q 'apt-get install libclang1-14' "$tmp/n1.err" &&
    [ ! -s "$tmp/n1.out" ]
  check $? "6 without libclang: exit 2, how to install it" "$tmp/n1.err"
  without "$libdw" "$tmp/n2" --binary "$FX/libsigdemo.so" sd_sum
  rc_is "$tmp/n2" 2 && grep -q 'apt-get install libdw1' "$tmp/n2.err" &&
    [ ! -s "$tmp/n2.out" ]
  check $? "6 without libdw: exit 2, how to install it" "$tmp/n2.err"
  # Control: the header path works in the namespace when nothing is hidden.
  without /dev/null "$tmp/n3" '<zlib.h>' crc32
  rc_is "$tmp/n3" 0
  check $? "6 control: with nothing hidden, the same command drafts" "$tmp/n3.err"
fi

finish
