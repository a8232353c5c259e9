#!/usr/bin/env bash
# bench.sh: bench/compare.sh, the "bring your own program" benchmark, on
# real programs.  Nothing here asserts a timing.
#
#   1. usage and config errors exit 2 with a message that says what is
#      wrong; --help exits 0;
#   2. a run of bench/argsize -c (deterministic output, every call
#      offloaded) prints every run's time, two medians (the median of the
#      printed times) and a ratio, dtask's summary, and "identical";
#   3. a program whose output depends on dtask (it prints DTASK_CONFIG)
#      gets the warning, and a program that prints the same thing every
#      time does not get the "varies by itself" note;
#   4. a program that fails without dtask, or only with it, makes
#      compare.sh exit 1 and name the status.
#
# Programs: $BUILD/bench/argsize (built by make in every build directory)
# and sh.  Every queue is a fresh directory under one private (0700)
# directory in /dev/shm, removed at exit; dtask run stops its own pools.
#
# Environment: BUILD (default build); SANITIZE=1 when dtask and the shim
# were built with ASan/UBSan: the ASan runtime is preloaded for
# compare.sh and so for everything it starts (dtask run puts the shim in
# front of it, so verify_asan_link_order=0 is set).
set -u

BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$PWD/$BUILD ;; esac
SANITIZE=${SANITIZE:-0}
# shellcheck source=tests/integration/tap.bash
. "$(dirname "$0")/tap.bash"
TOP=$(cd "$(dirname "$0")/../.." && pwd)
COMPARE=$TOP/bench/compare.sh

for f in "$BUILD/dtask" "$BUILD/libdtask_shim.so" "$BUILD/bench/argsize" \
  "$COMPARE" "$TOP/bench/argsize.toml" "$TOP/bench/offload.toml"; do
  if [ ! -e "$f" ]; then
    not_ok "$f exists (build first: make)"
    finish
  fi
done

ENV=(-u DTASK_CONFIG -u DTASK_MODE -u DTASK_TRACE -u DTASK_LOG -u DTASK_STRICT
     -u DTASK_ROLE -u DTASK_WORKERS -u DTASK_STATS -u DTASK_SHIM
     -u DTASK_AUTOSTARTED -u DTASK_READY_FD -u LD_PRELOAD BUILD="$BUILD")
if [ "$SANITIZE" = 1 ]; then
  asan=$(${CC:-cc} -print-file-name=libasan.so)
  if [ ! -f "$asan" ]; then
    not_ok "the ASan runtime is found (${CC:-cc} -print-file-name=libasan.so)"
    finish
  fi
  ENV+=(LD_PRELOAD="$asan" ASAN_OPTIONS=detect_leaks=0:verify_asan_link_order=0)
fi

root=$(mktemp -d /dev/shm/dtask-benchtest.XXXXXX) || exit 1
chmod 700 "$root"
trap 'cd / && rm -rf "$root"' EXIT
# compare.sh looks for ./dtask.toml without -c: none here.
cd "$root" || exit 1

# cfg NAME SRC: SRC with its [queue] path moved into $root; prints the path.
cfg() {
  sed "s|^path *=.*|path = \"$root/q-$1\"|" "$2" >"$root/$1.toml"
  echo "$root/$1.toml"
}
ARG_CFG=$(cfg arg "$TOP/bench/argsize.toml")
RT_CFG=$(cfg rt "$TOP/bench/offload.toml")

# cmp_run OUT ARGS...: compare.sh ARGS with a clean environment and a
# 60 s limit; OUT.out, OUT.err, OUT.rc.
cmp_run() {
  local o=$root/$1
  shift
  timeout 60 env "${ENV[@]}" bash "$COMPARE" "$@" >"$o.out" 2>"$o.err"
  echo $? >"$o.rc"
}
rc_is() { [ "$(cat "$root/$1.rc")" = "$2" ]; }
has() { grep -qE -- "$2" "$root/$1.$3"; }
# note NAME TEXT: a detail file for a failure report.
note() { printf '%s\n' "$2" >"$root/$1.note"; echo "$root/$1.note"; }

# 1. Usage and config errors.
usage_case() { # NAME PATTERN DESCRIPTION ARGS...
  local name=$1 pat=$2 desc=$3
  shift 3
  cmp_run "$name" "$@"
  rc_is "$name" 2 && has "$name" "$pat" err
  check $? "1 $desc: exit 2 and says so" "$(note "$name" "rc $(cat "$root/$name.rc")")" \
    "$root/$name.err" "$root/$name.out"
}
usage_case u_none "name the program to run" "no program"
usage_case u_opt "unknown option '-x'" "unknown option" -x -- true
usage_case u_val "-n needs a value" "option without its value" -n
usage_case u_runs "-n takes a number of runs" "-n 0" -n 0 -c "$RT_CFG" -- true
usage_case u_w "-w takes 1 to 1024 workers" "-w 2000" -w 2000 -c "$RT_CFG" -- true
usage_case u_nocfg "no config: pass -c FILE" "no config at all" -- true
usage_case u_miss "config '$root/none.toml' does not exist" "missing config" \
  -c "$root/none.toml" -- true
usage_case u_prog "program 'no-such-program-x' not found" "missing program" \
  -c "$RT_CFG" -- no-such-program-x
printf '[[offload]]\nsignature = "int f(char *p)"\n' >"$root/bad.toml"
usage_case u_bad "bad.toml:2:[0-9]+: .*bare pointer" "invalid config (file:line:col)" \
  -c "$root/bad.toml" -- true
cmp_run help --help
rc_is help 0 && has help "^usage: bench/compare.sh" out && has help "-n RUNS" out
check $? "1 --help: exit 0, usage on stdout" "$root/help.out" "$root/help.err"

# 2. A real comparison: argsize -c offloads 7 calls and prints the same
# hashes with and without dtask.
cmp_run same -n 3 -w 1 -c "$ARG_CFG" -- "$BUILD/bench/argsize" -c 65536
rc_is same 0
check $? "2 compare.sh on bench/argsize -c exits 0" "$root/same.out" "$root/same.err"
rows=$(grep -cE '^ +[0-9]+ +[0-9]+\.[0-9]{3} +[0-9]+\.[0-9]{3}$' "$root/same.out")
[ "$rows" = 3 ]
check $? "2 one line of times per run (3 of them; got $rows)" "$root/same.out"
has same '^median without dtask: [0-9]+\.[0-9]{3} s$' out &&
  has same '^median with dtask: +[0-9]+\.[0-9]{3} s$' out &&
  has same '^speed-up: [0-9]+\.[0-9]{2}x ' out
check $? "2 two medians and a ratio" "$root/same.out"
# The medians are those of the printed times (the middle of three).
col() { awk -v c="$1" '/^ +[0-9]+ +[0-9.]+ +[0-9.]+$/ { print $c }' "$root/same.out" |
  sort -g | sed -n 2p; }
want="$(col 2) $(col 3)"
got=$(awk '/^median without/ { a = $4 } /^median with dtask/ { b = $4 }
  END { printf "%.3f %.3f", a, b }' "$root/same.out")
[ "$want" != " " ] && [ "$want" = "$got" ]
check $? "2 the medians are those of the runs (want '$want', got '$got')" "$root/same.out"
has same '^dtask, last run: 7 calls offloaded; bn_copy 7 ' out
check $? "2 dtask's summary: all 7 calls offloaded" "$root/same.out" "$root/same.err"
has same '^stdout: identical in all 6 runs' out && ! has same 'WARNING' out
check $? "2 identical stdout is reported as identical" "$root/same.out"
# shellcheck disable=SC2016  # expanded by the program's shell
PRINT_CFG='echo "config: ${DTASK_CONFIG:-none}"'

# 3. Output that depends on dtask: the warning, and the first difference.
cmp_run diff -n 2 -c "$RT_CFG" -- sh -c "$PRINT_CFG"
rc_is diff 0 &&
  has diff '^WARNING: stdout differs: 2 of 2 run\(s\) with dtask differ' out &&
  has diff "^    > config: $RT_CFG\$" out && ! has diff 'varies by itself' out &&
  ! has diff '^stdout: identical' out
check $? "3 stdout that differs under dtask: a warning with the difference, exit 0" \
  "$root/diff.out" "$root/diff.err"
has diff '^note: no call was offloaded' out
check $? "3 a run that offloaded nothing says so" "$root/diff.out"

# 4. Failures: the program's status is named, and compare.sh exits 1.
cmp_run fail_plain -n 2 -c "$RT_CFG" -- sh -c 'exit 3'
rc_is fail_plain 1 && has fail_plain 'run 1 without dtask: .*exited with status 3' err
check $? "4 a program that fails: exit 1, its status named" \
  "$root/fail_plain.out" "$root/fail_plain.err"
# shellcheck disable=SC2016
cmp_run fail_dtask -n 2 -c "$RT_CFG" -- sh -c '[ -z "${DTASK_CONFIG:-}" ] || exit 4'
rc_is fail_dtask 1 && has fail_dtask 'run 1 with dtask: .*exited with status 4' err
check $? "4 a program that fails only under dtask: exit 1, status named" \
  "$root/fail_dtask.out" "$root/fail_dtask.err"

finish
