#!/usr/bin/env bash
# check.sh: `dtask check` on real files: the example config, a config for
# the ELF fixture program and library (tests/fixtures/elf), and invalid
# configs whose messages must name file:line:col.  Exit status and the
# exact lines of the plan are asserted.
set -u
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$PWD/$BUILD ;; esac
DTASK=$BUILD/dtask
FX=$BUILD/fixtures/elf
pass=0
fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

ok() { pass=$((pass + 1)); echo "ok - $1"; }
no() { fail=$((fail + 1)); echo "not ok - $1"; [ -n "${2:-}" ] && sed 's/^/#   /' "$2"; }

# expect_line FILE PATTERN DESCRIPTION: a line matching the fixed string.
expect_line() {
  if grep -qF -- "$2" "$1"; then ok "$3"; else no "$3 (wanted: $2)" "$1"; fi
}

for f in "$DTASK" "$FX/elfprog" "$FX/libelfa.so"; do
  [ -e "$f" ] || { echo "missing $f: run make first"; echo "0 passed, 1 failed, 0 skipped"; exit 1; }
done

# 1. The example config is valid and its plan names every entry.
"$DTASK" check config/dtask.example.toml >"$tmp/ex.out" 2>&1
rc=$?
[ $rc -eq 0 ] && ok "example config is valid (exit 0)" || no "example config exit $rc" "$tmp/ex.out"
expect_line "$tmp/ex.out" "offload build_report (line" "plan lists build_report"
expect_line "$tmp/ex.out" "arg 2    r          out    report[1], 64 bytes per element, length constant (64 bytes)" "plan shows out struct buffer"
expect_line "$tmp/ex.out" "arg 2    buf        in     uint8[len], 1 bytes per element, length from arg 3 (len)" "plan shows length source"
expect_line "$tmp/ex.out" "offload cos@GLIBC_2.2.5" "plan shows version"
expect_line "$tmp/ex.out" "on crash return -1, errno EIO; timeout 10s, then signal (SIGALRM)" "plan shows build_report's failure policy"
expect_line "$tmp/ex.out" "no runner for 30s: local" "plan shows the [defaults] on_unavailable"
expect_line "$tmp/ex.out" "split over n: slices of 64 elements, calls under 256 elements whole; aggregate sum" "plan shows score_batch's split"
expect_line "$tmp/ex.out" "sliced: rows scores; stored once for all slices: weights" "plan shows sliced and common buffers"

# 2. The fixture program: who imports what, by which relocation.
cat >"$tmp/fx.toml" <<'TOML'
[[offload]]
signature = "int fa(int x)"

[[offload]]
signature = "int fa_twice(int x)"

[[offload]]
signature = "int internal_only(int x)"

[[offload]]
signature = "int fv(int x)"
version   = "V_1"

[[offload]]
signature = "int not_anywhere(int x)"
TOML
"$DTASK" check -c "$tmp/fx.toml" --binary "$FX/elfprog" >"$tmp/fx.out" 2>&1
rc=$?
[ $rc -eq 0 ] && ok "fixture config with --binary exits 0" || no "fixture exit $rc" "$tmp/fx.out"
sed -n '/offload fa (line/,/offload fa_twice/p' "$tmp/fx.out" >"$tmp/fa.out"
expect_line "$tmp/fa.out" "defined by  $FX/libelfa.so (version V_1, default)" "fa defined by libelfa.so"
expect_line "$tmp/fa.out" "imported by $FX/elfprog: GLOB_DAT x1 ABS64 x1  -> patched at start-up" "fa imported by GLOB_DAT and ABS64"
expect_line "$tmp/fa.out" "calls it internally through its own PLT/GOT" "fa's self references noted"
sed -n '/offload fa_twice/,/offload internal_only/p' "$tmp/fx.out" >"$tmp/fat.out"
expect_line "$tmp/fat.out" "imported by $FX/elfprog: JUMP_SLOT x1  -> patched at start-up" "fa_twice imported by JUMP_SLOT"
sed -n '/offload internal_only/,/offload fv/p' "$tmp/fx.out" >"$tmp/io.out"
expect_line "$tmp/io.out" "WARNING: the program defines it and calls it internally" "internal_only cannot be caught"
sed -n '/offload fv/,/offload not_anywhere/p' "$tmp/fx.out" >"$tmp/fv.out"
expect_line "$tmp/fv.out" "(version V_1, non-default)" "fv@V_1 found as the non-default version"
sed -n '/offload not_anywhere/,$p' "$tmp/fx.out" >"$tmp/na.out"
expect_line "$tmp/na.out" "no object of the program defines it" "unknown symbol explained"

# 3. required = true and not imported: exit 2.
printf '[[offload]]\nsignature = "int not_anywhere(int x)"\nrequired = true\n' >"$tmp/req.toml"
"$DTASK" check -c "$tmp/req.toml" --binary "$FX/elfprog" >"$tmp/req.out" 2>&1
rc=$?
[ $rc -eq 2 ] && ok "required symbol not imported exits 2" || no "required exit $rc" "$tmp/req.out"
expect_line "$tmp/req.out" "req.toml:1: 'not_anywhere' is required but" "required message names file:line"

# 4. Invalid configs: exit 2 and FILE:LINE:COL with what to write.
check_err() { # name, config text, expected message fragment
  printf '%b' "$2" >"$tmp/$1.toml"
  "$DTASK" check "$tmp/$1.toml" >"$tmp/$1.out" 2>&1
  rc=$?
  if [ $rc -eq 2 ] && grep -qF -- "$3" "$tmp/$1.out"; then ok "invalid: $1"; else no "invalid: $1 (exit $rc, wanted: $3)" "$tmp/$1.out"; fi
}
check_err bare_pointer '[[offload]]\nsignature = "int parse(char *buf, int n)"\n' \
  "$tmp/bare_pointer.toml:2:29: [[offload]] #1 (parse), signature column 16: a bare pointer cannot be offloaded"
check_err typo_section '[runer]\nworkers = 2\n' "$tmp/typo_section.toml:1:2: unknown key 'runer' in the top level; did you mean 'runner'?"
check_err typo_key '[runner]\nworkrs = 2\n' "$tmp/typo_key.toml:2:1: unknown key 'workrs' in [runner]; did you mean 'workers'?"
check_err denied '[[offload]]\nsymbol = "malloc"\nsignature = "int malloc(size_t n)"\n' "$tmp/denied.toml:2:10: 'malloc' cannot be offloaded"
check_err toml_syntax '[queue]\npath = "/dev/shm/x\n' "$tmp/toml_syntax.toml:2:"
check_err bad_len '[[offload]]\nsignature = "int f(in int xs[m], size_t n)"\n' "length of 'xs' names 'm', which is not a parameter; integer parameters are: n"
check_err bad_size '[queue]\nmap_size = "1 GB/s"\n' "$tmp/bad_size.toml:2:12: 'map_size' in [queue]: size \"1 GB/s\" has an unknown unit"

# 5. A missing file and a missing config.
"$DTASK" check "$tmp/nope.toml" >"$tmp/nope.out" 2>&1
rc=$?
[ $rc -eq 2 ] && grep -qF "nope.toml: cannot open the config" "$tmp/nope.out" && ok "missing file exits 2 with its name" || no "missing file (exit $rc)" "$tmp/nope.out"
(cd "$tmp" && env -u DTASK_CONFIG "$DTASK" check >"$tmp/none.out" 2>&1)
rc=$?
[ $rc -eq 2 ] && grep -qF "no config" "$tmp/none.out" && ok "no config exits 2" || no "no config (exit $rc)" "$tmp/none.out"

# 6. A preloaded library must export only what it interposes; dtask
#    interposes through GOT slots, so the shim exports nothing at all.
exports=$(nm -D --defined-only "$BUILD/libdtask_shim.so" | awk '$2 ~ /[A-Z]/ { print $3 }')
if [ -z "$exports" ]; then ok "the shim exports no symbol"; else
  echo "$exports" >"$tmp/exports"; no "the shim exports symbols" "$tmp/exports"; fi

echo "$pass passed, $fail failed, 0 skipped"
[ $fail -eq 0 ]
