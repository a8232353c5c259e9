#!/usr/bin/env bash
# bench.sh: the bench suite itself, bench/readme.sh and bench/compare.sh
# (the "bring your own program" benchmark), on real programs.  Nothing
# here asserts a timing.
#
#   1. compare.sh: usage and config errors exit 2 with a message that
#      says what is wrong; --help exits 0;
#   2. a run of bench/argsize -c (deterministic output, every call
#      offloaded) prints every run's time in ms, two medians (the median
#      of the printed times) and a ratio, dtask's summary, and
#      "identical";
#   3. a program whose output depends on dtask (it prints DTASK_CONFIG)
#      gets the warning, and a program that prints the same thing every
#      time does not get the "varies by itself" note; a program of a few
#      milliseconds still gets non-zero medians and a ratio; the runs
#      without dtask see no LD_PRELOAD and no DTASK_* variable, and each
#      way has one untimed warm-up run;
#   4. a program that fails without dtask, or only with it, makes
#      compare.sh exit 1 and name the status;
#   5. readme.sh: the README's measured block is that of
#      bench/results/latest.md (--check); --check fails on a block that
#      differs and on missing markers; a rewrite changes only the block,
#      demotes the headings and links the plots; the README's text around
#      the block has no number outside code;
#   6. bench/run.sh itself, QUICK=1 into a scratch OUT: it exits 0, its
#      results.json parses and has every group (demo, fanout, anchors,
#      roundtrip, throughput, aged, argsize, sync, coldstart, exec, redis) with
#      a number for every value, the commit and the run's duration; each
#      throughput cell beside its bare queue (bench/ring.c) and 4 x 2 on
#      one CPU, the round trip on one CPU, LMDB's transactions alone
#      and between two processes on one CPU, today's and the fewest,
#      bare and carrying dtask's records (bench/lmdbtx.c, beside the
#      token alone), what the fewest leave under the 1.5x target and the
#      least with dtask's records; the
#      exec group has its four ways, the shim's two against the empty
#      library and their differences against the 300 us target, and
#      results.md its table of them and its sentence; the Redis group has
#      its two PINGs (one of them the limit) and Celery against that
#      limit, results.md its table with numbers in every row (the LMDB
#      call's among them, and no dtask-through-Redis row before the
#      backend) and its sentence, and no redis-server of the bench's is
#      left running; as root, the hosts table has its rows (not root:
#      results.md says it needs root, and that check is a named skip);
#      results.md is what it printed; the three plots exist (without
#      gnuplot, which only tools/deps.sh --bench installs, results.md says
#      why there are none, and the plots' check is a named skip);
#      bench/results/latest* are untouched.
#      With SANITIZE=1 the bench must refuse the sanitizer build instead,
#      with a message that says so.
#
# Programs: $BUILD/bench/argsize (built by make in every build directory)
# and sh; python3 (tools/deps.sh installs it) reads results.json, and
# without it every check of results.json fails, saying so.  Every queue
# is a fresh directory under one private (0700) directory in /dev/shm,
# removed at exit; dtask run stops its own pools.
#
# Environment: BUILD (default build); SANITIZE=1 when dtask and the shim
# were built with ASan/UBSan: the ASan runtime is preloaded for
# compare.sh and so for everything it starts (dtask run puts the shim in
# front of it, so verify_asan_link_order=0 is set).
set -u

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

# cmp_run OUT ARGS...: compare.sh ARGS with a clean environment (plus the
# settings in the array EXTRA) and a 60 s limit; OUT.out, OUT.err, OUT.rc.
EXTRA=()
cmp_run() {
  local o=$root/$1
  shift
  timeout 60 env "${ENV[@]}" "${EXTRA[@]}" bash "$COMPARE" "$@" >"$o.out" 2>"$o.err"
  echo $? >"$o.rc"
}
rc_is() { [ "$(cat "$root/$1.rc")" = "$2" ]; }
has() { grep -qE -- "$2" "$root/$1.$3"; }
# note NAME TEXT: a detail file for a failure report.
note() { printf '%s\n' "$2" >"$root/$1.note"; echo "$root/$1.note"; }

# 1. compare.sh: usage and config errors.
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
has same '^median without dtask: [0-9]+\.[0-9]{3} ms$' out &&
  has same '^median with dtask: +[0-9]+\.[0-9]{3} ms$' out &&
  has same '^speed-up: [0-9]+\.[0-9]{2}x ' out
check $? "2 two medians in ms and a ratio" "$root/same.out"
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
# A program of a few milliseconds: times are kept to the microsecond, so
# neither median is 0 and the ratio is a number.
awk '/^median with(out)? dtask:/ { if ($(NF - 1) + 0 <= 0) bad = 1; n++ }
  /^speed-up: [0-9]+\.[0-9][0-9]x / { r = 1 }
  END { exit !(n == 2 && !bad && r) }' "$root/diff.out"
check $? "3 a short program: non-zero medians and a ratio" "$root/diff.out"

# What the runs see: without dtask, no LD_PRELOAD and no DTASK_* variable
# of compare.sh's environment; each way runs once more than -n (the
# untimed warm-up).
EXTRA=(DTASK_MODE=sync DTASK_BENCH_TEST=1)
[ "$SANITIZE" = 1 ] || EXTRA+=(LD_PRELOAD="$BUILD/bench/libbnull.so")
# shellcheck disable=SC2016  # expanded by the program's shell
cmp_run envt -n 2 -c "$RT_CFG" -- sh -c \
  'w=plain; [ -z "${DTASK_CONFIG:-}" ] || w=dtask
   echo "$w ${LD_PRELOAD:-unset} ${DTASK_MODE:-unset} ${DTASK_BENCH_TEST:-unset}" >>"$0"' \
  "$root/envt.log"
EXTRA=()
rc_is envt 0 && [ "$(grep -c '^plain ' "$root/envt.log")" = 3 ] &&
  [ "$(grep -c '^dtask ' "$root/envt.log")" = 3 ] && [ "$(wc -l <"$root/envt.log")" = 6 ]
check $? "3 -n 2 runs the program 3 times each way (one untimed warm-up)" \
  "$root/envt.log" "$root/envt.err"
[ "$(grep '^plain ' "$root/envt.log" | sort -u)" = "plain unset unset unset" ]
check $? "3 without dtask: LD_PRELOAD and every DTASK_* variable unset" "$root/envt.log"

# 4. Failures: the program's status is named, and compare.sh exits 1.
cmp_run fail_plain -n 2 -c "$RT_CFG" -- sh -c 'exit 3'
rc_is fail_plain 1 && has fail_plain '^compare.sh: warm-up run without dtask: .*exited with status 3' err
check $? "4 a program that fails: exit 1, its status named" \
  "$root/fail_plain.out" "$root/fail_plain.err"
# shellcheck disable=SC2016
cmp_run fail_dtask -n 2 -c "$RT_CFG" -- sh -c '[ -z "${DTASK_CONFIG:-}" ] || exit 4'
rc_is fail_dtask 1 && has fail_dtask '^compare.sh: warm-up run with dtask: .*exited with status 4' err
check $? "4 a program that fails only under dtask: exit 1, status named" \
  "$root/fail_dtask.out" "$root/fail_dtask.err"
# The fifth run is the second timed one without dtask (after the two
# warm-ups and the first timed pair).
# shellcheck disable=SC2016
cmp_run fail_late -n 2 -c "$RT_CFG" -- sh -c \
  'echo x >>"$0"; [ "$(wc -l <"$0")" -lt 5 ] || exit 5' "$root/late.count"
rc_is fail_late 1 && has fail_late '^compare.sh: run 2 without dtask: .*exited with status 5' err
check $? "4 a failure in a timed run names that run" "$root/fail_late.out" "$root/fail_late.err"

# 5. readme.sh and the README's measured block.
README_SH=$TOP/bench/readme.sh
bash "$README_SH" --check >"$root/rm.out" 2>"$root/rm.err"
check $? "5 readme.sh --check: README.md's block is that of bench/results/latest.md" \
  "$root/rm.out" "$root/rm.err"
# A scratch README and latest.md.
cat >"$root/latest.md" <<'EOF_MD'
# dtask bench

machine line.
Files: `bench/results/STAMP/` (results.json, plots), copied to `bench/results/latest/`.

## Section one

| a | b |
|---|---:|
| x | 1.5 |

Plots: latency.png throughput.png argsize.png.
This run took 9 s.

EOF_MD
printf '%s\n' "# Title" "" "## Measured" "" "How to reproduce." "" "<!-- bench:begin -->" \
  "old" "<!-- bench:end -->" "" "## Using it" "after" >"$root/README.md"
cp "$root/README.md" "$root/README.orig"
bash "$README_SH" --check --from "$root/latest.md" --readme "$root/README.md" >"$root/rm1.out" 2>&1
rm1=$?
bash "$README_SH" --from "$root/latest.md" --readme "$root/README.md" >"$root/rm2.out" 2>&1
rm2=$?
bash "$README_SH" --check --from "$root/latest.md" --readme "$root/README.md" >"$root/rm3.out" 2>&1
rm3=$?
[ "$rm1" = 1 ] && grep -q 'differs' "$root/rm1.out"
check $? "5 --check fails (exit 1, says it differs) on a block that is not latest.md's (got $rm1)" "$root/rm1.out"
[ "$rm2" = 0 ] && [ "$rm3" = 0 ]
check $? "5 a rewrite makes --check pass (rewrite $rm2, check $rm3)" "$root/rm2.out" "$root/rm3.out"
diff <(sed '/^<!-- bench:begin -->$/,/^<!-- bench:end -->$/d' "$root/README.orig") \
  <(sed '/^<!-- bench:begin -->$/,/^<!-- bench:end -->$/d' "$root/README.md") >"$root/rm.diff"
check $? "5 a rewrite leaves the text outside the markers alone" "$root/rm.diff"
grep -qx '### dtask bench' "$root/README.md" && grep -qx '#### Section one' "$root/README.md" &&
  ! grep -q '^old$' "$root/README.md" && grep -qx '| x | 1.5 |' "$root/README.md" &&
  grep -qx 'This run took 9 s.' "$root/README.md"
check $? "5 the block is latest.md with its headings two levels down" "$root/README.md"
grep -qxF 'Plots: [latency.png](bench/results/latest/latency.png), [throughput.png](bench/results/latest/throughput.png), [argsize.png](bench/results/latest/argsize.png).' "$root/README.md" &&
  grep -q '^Files: .*(bench/results/latest.md)' "$root/README.md" && ! grep -q 'STAMP' "$root/README.md"
check $? "5 the plots are links to bench/results/latest/, Files points at latest" "$root/README.md"
printf '%s\n' "## Measured" "no markers" >"$root/README.none"
bash "$README_SH" --check --from "$root/latest.md" --readme "$root/README.none" >"$root/rm4.out" 2>&1
rm4=$?
[ "$rm4" = 2 ] && grep -q 'bench:begin' "$root/rm4.out"
check $? "5 missing markers: exit 2 and names them (got $rm4)" "$root/rm4.out"
# The README's own words around the block: no figure typed by hand.  Code
# spans and fenced blocks are left out (commands such as QUICK=1).
# shellcheck disable=SC2016  # backquotes are Markdown here
awk '/^## Measured/ { on = 1; next } /^## / { on = 0 }
  /^<!-- bench:begin -->$/ { blk = 1 } /^<!-- bench:end -->$/ { blk = 0; next }
  on && !blk' "$TOP/README.md" | sed '/^```/,/^```/d' | sed 's/`[^`]*`//g' >"$root/measured.txt"
[ -s "$root/measured.txt" ] && ! grep -n '[0-9]' "$root/measured.txt" >"$root/measured.num"
check $? "5 README's Measured text outside the block has no number outside code" "$root/measured.num"

# 6. The bench itself, quick, into a scratch directory.
BOUT=$root/bench-out
snap() { # the committed results, as checksums
  (cd "$TOP/bench/results" && find latest.md latest -type f -exec md5sum {} + 2>/dev/null | sort)
}
snap >"$root/latest.before"
BENV=(-u DTASK_CONFIG -u DTASK_MODE -u DTASK_TRACE -u DTASK_LOG -u DTASK_STRICT
      -u DTASK_ROLE -u DTASK_WORKERS -u DTASK_STATS -u DTASK_SHIM
      -u DTASK_AUTOSTARTED -u DTASK_READY_FD -u LD_PRELOAD QUICK=1 OUT="$BOUT" BUILD="$BUILD")
timeout 300 env "${BENV[@]}" bash "$TOP/bench/run.sh" >"$root/bench.out" 2>"$root/bench.err"
brc=$?
if [ "$SANITIZE" = 1 ]; then
  [ "$brc" = 1 ] && grep -q 'built with sanitizers.*without SANITIZE=1' "$root/bench.err" &&
    [ ! -e "$BOUT" ]
  check $? "6 the bench refuses a sanitizer build with a clear message (exit $brc)" \
    "$root/bench.err" "$root/bench.out"
else
  [ "$brc" = 0 ]
  check $? "6 bench/run.sh QUICK=1 into a scratch OUT exits 0 (got $brc)" "$root/bench.err"
  J=$BOUT/results.json
  # json_ok PY-EXPRESSION: true when the expression holds for d, the
  # parsed results.json.  Without python3 (tools/deps.sh installs it) it
  # is false, and json.err says why: an expression is never taken as
  # holding without being evaluated.
  json_ok() {
    : >"$root/json.err"
    if ! command -v python3 >/dev/null 2>&1; then
      echo "python3 is not installed (tools/deps.sh installs it): the check's expression was not evaluated" >"$root/json.err"
      return 1
    fi
    python3 -c "import json, sys
d = json.load(open(sys.argv[1]))
num = lambda v: isinstance(v, (int, float)) and not isinstance(v, bool)
sys.exit(0 if ($1) else 1)" "$J" 2>>"$root/json.err"
  }
  json_ok True
  check $? "6 results.json parses" "$root/json.err" "$J"
  for g in demo fanout anchors roundtrip throughput aged argsize sync coldstart exec redis redis_demo; do
    json_ok "[r for r in d['results'] if r['group'] == '$g'] and all(num(r['value']) and (r['baseline'] is None or num(r['baseline']['value'])) and r['statistic'] for r in d['results'] if r['group'] == '$g')"
    check $? "6 results.json: group $g is there, every value a number" "$root/json.err"
  done
  json_ok "len(d['git']['commit']) >= 4 and d['git']['dirty'] in (True, False) and num(d['elapsed_s']) and d['quick'] is True and num(d['machine']['nproc'])"
  check $? "6 results.json: the commit, dirty or not, the run's duration, the machine" "$root/json.err"
  json_ok "len([r for r in d['results'] if r['group'] == 'anchors' and 'the physical limit' in r['name']]) == 3 and any('pipe pair' in r['name'] for r in d['results'])"
  check $? "6 results.json: the physical limit (one futex variant) and the pipe anchors" "$root/json.err"
  json_ok "[r for r in d['results'] if r['group'] == 'fanout' and 'over the physical limit' in r['name']] and [r for r in d['results'] if r['group'] == 'fanout' and 'bn_burn' in r['name'] and r['baseline'] and r['baseline']['name'] == 'cores (nproc)']"
  check $? "6 results.json: fan-out over its limit and bn_burn against the cores" "$root/json.err"
  # The limits beside the round trip and the throughput (bench/ring.c,
  # bench/lmdbtx.c, the one-CPU rows).
  json_ok "len([r for r in d['results'] if r['group'] == 'throughput' and r['name'].startswith('bare queue, ')]) == 16 and len([r for r in d['results'] if r['group'] == 'throughput' and r['name'].endswith('against the bare queue') and r['baseline'] and r['baseline']['name'].startswith('bare queue, ')]) == 16 and [r for r in d['results'] if r['group'] == 'throughput' and r['name'] == '4 callers x 2 workers, all on one CPU' and r['baseline'] and r['baseline']['name'] == 'bare queue, 4 x 2 on one CPU']"
  check $? "6 results.json: each throughput cell beside its bare queue, and 4 x 2 on one CPU" "$root/json.err"
  json_ok "len([r for r in d['results'] if r['group'] == 'roundtrip' and 'the caller and its pool on one CPU' in r['name']]) == 3 and len([r for r in d['results'] if r['group'] == 'roundtrip' and 'bench/lmdbtx.c' in r['name']]) == 6"
  check $? "6 results.json: the round trip on one CPU, LMDB's transactions alone and the token alone" "$root/json.err"
  json_ok "len([r for r in d['results'] if r['group'] == 'roundtrip' and r['name'].startswith('(the same two processes making') and r['baseline']]) == 3 and len([r for r in d['results'] if r['group'] == 'roundtrip' and '2 writes and 2 reads' in r['name'] and r['baseline']]) == 3 and len([r for r in d['results'] if r['group'] == 'roundtrip' and 'carrying dtask' in r['name'] and r['baseline']]) == 6"
  check $? "6 results.json: LMDB's transactions between two processes on one CPU, today's and the fewest, bare and carrying dtask's records, against the limit" "$root/json.err"
  grep -q "would be left under the 1.5x target" "$BOUT/results.md" &&
    grep -q "the least any LMDB queue carrying these records can take" "$BOUT/results.md"
  check $? "6 results.md: what the fewest LMDB transactions leave under the 1.5x target, and the least with dtask's records" "$BOUT/results.md"
  grep -qxF '| one call to another process and back | p50 (us) | p99 (us) | p99.9 (us) | p50 / limit p50 | slow spells (%) |' "$BOUT/results.md" &&
    grep -qE '^Slow spells, the last column: .* Run by run, p50/p99 \(us\) with the run.s slow spells: dtask on one CPU [0-9.]+/[0-9.]+ \(n/a\); the one-CPU handoff [0-9.]+/[0-9.]+ \(n/a\)\. The tail, p99 / p50 in this run: the one-CPU handoff [0-9.]+, .* dtask on one CPU [0-9.]+\.$' "$BOUT/results.md"
  check $? "6 results.md: the round-trip table's slow spells, and each run's p99 beside them (n/a in a QUICK run)" "$BOUT/results.md"
  grep -q "the bare queue" "$BOUT/results.md" && grep -q "could do at most" "$BOUT/results.md"
  check $? "6 results.md: the 4 x 2 target beside the bare queue and the ceiling" "$BOUT/results.md"
  # The exec group: four ways, each shim way against the empty library,
  # and its difference against the target.
  json_ok "sorted(r['name'] for r in d['results'] if r['group'] == 'exec' and r['unit'] == 'us' and not r['name'].endswith('over the empty library')) == sorted(['exec of /bin/true, without LD_PRELOAD', 'exec of /bin/true, empty library preloaded', 'exec of /bin/true, shim without config', 'exec of /bin/true, shim with a config of 8 symbols it does not import'])"
  check $? "6 results.json: exec of /bin/true, four ways" "$root/json.err"
  json_ok "all(r['baseline'] and r['baseline']['name'] == 'exec of /bin/true, empty library preloaded' for r in d['results'] if r['group'] == 'exec' and r['name'].startswith('exec of /bin/true, shim') and r['unit'] == 'us' and not r['name'].endswith('over the empty library')) and len([r for r in d['results'] if r['group'] == 'exec' and r['name'].endswith('over the empty library') and r['baseline'] and r['baseline']['value'] == 300 and r['baseline']['unit'] == 'us']) == 2 and len([r for r in d['results'] if r['group'] == 'exec' and r['unit'] == 'bool' and r['value'] in (0, 1)]) == 2"
  check $? "6 results.json: the shim's exec against the empty library, its cost against the 300 us target" \
    "$root/json.err"
  rows=$(grep -cE '^\| (without LD_PRELOAD|LD_PRELOAD of an empty library.*|LD_PRELOAD of libdtask_shim\.so, no config|\*\*LD_PRELOAD of libdtask_shim\.so, a config of 8 symbols.*) \| [0-9]+\.[0-9]{2} \|' \
    "$BOUT/results.md" 2>/dev/null)
  [ "$rows" = 4 ] &&
    grep -qE '^- /bin/true, which catches nothing, took [0-9.]+ us per exec .* the target \(at most 300 us more\) is (met|not met) in this run' \
      "$BOUT/results.md"
  check $? "6 results.md: the exec table's four rows (got $rows) and its sentence in 'In short'" \
    "$BOUT/results.md"
  # The Redis group: the PINGs' limit, Celery against it.
  json_ok "sorted(', '.join(r['name'].split(':')[0].split(', ')[:2]) for r in d['results'] if r['group'] == 'redis' and r['name'].endswith(', p50')) == sorted(['PING from hiredis, unix socket', 'PING from hiredis, TCP loopback', 'relay through two streams (no script), unix socket', 'relay through two streams (no script), TCP loopback', 'dtask null call through Redis, unix socket (bn_add', 'dtask null call through Redis, TCP loopback (bn_add', 'Celery ' + d['redis']['celery'] + ' null task, delay().get()']) and len([r for r in d['results'] if r['group'] == 'redis' and 'the limit' in r['name'] and r['baseline'] is None]) == 3 and all(r['baseline'] and r['baseline']['name'].startswith('the Redis limit') for r in d['results'] if r['group'] == 'redis' and 'the limit' not in r['name']) and d['redis']['server'].startswith('redis-server ')"
  check $? "6 results.json: PING over a unix socket and TCP (the faster is the limit), the relay, dtask through Redis over each and Celery against it" \
    "$root/json.err"
  F='[0-9]+\.[0-9]{2}'
  rrows=$(sed -n '/^## Redis: /,/^## /p' "$BOUT/results.md" | grep -cE \
    "^\| (PING from hiredis, (unix socket|TCP loopback)(: \*\*the limit\*\* \(fastest PING p50\))?|relay through two streams \(no script\), (unix socket|TCP loopback)|\*\*dtask null call through Redis\*\*, (unix socket|TCP loopback) \(bn_add, dtask run -w 1\)|dtask null call, \*\*LMDB queue\*\*, no Redis .*|Celery [0-9.]+ null task, .*) \| $F \| $F \| $F \| $F \|\$")
  lrows=$(sed -n '/^## Redis: /,/^## /p' "$BOUT/results.md" | grep -c '^| .*\*\*the limit\*\*')
  allrows=$(sed -n '/^## Redis: /,/^## /p' "$BOUT/results.md" | grep -c '^| [^-o]')
  [ "$rrows" = 8 ] && [ "$lrows" = 1 ] && [ "$allrows" = 8 ] &&
    grep -qE '^- The relay, .* took [0-9.]+ us \(p50, (unix socket|TCP loopback)\): [0-9.]+x faster than Celery, the most any call through this server can be; dtask.s null call took [0-9.]+x the relay\.$' \
      "$BOUT/results.md" &&
    grep -qE '^- Through one Redis server, a PING from hiredis took [0-9.]+ us .* a Celery null task [0-9.]+ us, [0-9.]+x that limit' \
      "$BOUT/results.md" &&
    grep -qE '^- Through Redis, a dtask null call took [0-9.]+ us \(p50, unix socket\) and [0-9.]+ us \(TCP\): at best [0-9.]+x the PING limit \(target at most 4x: (met|not met) in this run\) and [0-9.]+x faster than Celery.s null task \(target at least 20x: (met|not met)\)\.$' \
      "$BOUT/results.md"
  check $? "6 results.md: the Redis table's eight rows with numbers (got $rrows of $allrows; limits $lrows) and its three sentences" \
    "$BOUT/results.md"
  # The demo through Redis: two rows beside LMDB's.
  drows=$(grep -cE '^\| (reports|legacy): whole run, exec to exit \| [0-9.]+ \| [0-9.]+ \| [0-9.]+ \| [0-9.]+ \|$' "$BOUT/results.md")
  [ "$drows" = 2 ]
  check $? "6 results.md: the demo through Redis, two rows beside LMDB's (got $drows)" \
    "$BOUT/results.md"
  # Runners on many hosts: measured as root (CI), said otherwise.
  hsect=$(sed -n '/^## Runners on many hosts/,/^## /p' "$BOUT/results.md")
  if [ "$(id -u)" = 0 ]; then
    hrows=$(echo "$hsect" | grep -cE '^\| [124] \| [0-9]+ \| [0-9]+ \| [0-9.]+ \| (yes|no) \|$')
    json_ok "len([r for r in d['results'] if r['group'] == 'hosts' and r['unit'] == 'calls/s' and num(r['value']) and r['value'] > 0]) == 3 and len([r for r in d['results'] if r['group'] == 'hosts' and r['baseline'] and r['baseline']['name'].startswith('linear')]) == 2"
    [ $? = 0 ] && [ "$hrows" = 3 ] &&
      grep -qE '^- Throughput of a 1 ms call through one Redis queue grew from [0-9]+ calls/s on 1 host to [0-9]+ on 4 hosts' "$BOUT/results.md"
    check $? "6 results: the hosts table's three rows (got $hrows), its records and its sentence (as root)" \
      "$BOUT/results.md" "$root/json.err"
  else
    echo "$hsect" | grep -q '^Not measured in this run: it needs root'
    check $? "6 results.md: the hosts table says it needs root (not root here)" "$BOUT/results.md"
    skip "6 results: the hosts table's three rows, its records and its sentence" \
      "not root: the bench measures many hosts only as root (network namespaces)"
  fi
  [ -z "$(ip netns list 2>/dev/null | grep dtask-bh)" ]
  check $? "6 the bench's network namespaces are gone"
  rpid=$(sed -n 's/^bench: Redis: redis-server (pid \([0-9]*\)) answers on .*/\1/p' "$root/bench.err")
  [ -n "$rpid" ] && [ "$(cat "/proc/$rpid/comm" 2>/dev/null)" != redis-server ]
  check $? "6 the bench's redis-server (pid ${rpid:-not printed}) is gone" "$root/bench.err"
  [ -s "$BOUT/results.md" ] && cmp -s "$BOUT/results.md" "$root/bench.out"
  check $? "6 results.md exists and is what the bench printed" "$BOUT/results.md"
  for sect in "## The demo" "## Fan-out" "## Round trip" "## Throughput" "## Argument size" \
    "## Sync mode" "## Cold start" "## Exec of a program that catches nothing" \
    "## Redis: one call to another process and back through one Redis server" \
    "## The demo through Redis" \
    "## Runners on many hosts: one Redis queue, pools on 1, 2 and 4 hosts" "## In short"; do
    grep -q "^$sect" "$BOUT/results.md" 2>/dev/null
    check $? "6 results.md has its section '$sect'" "$BOUT/results.md"
  done
  grep -q '^This run took [0-9]* s\.$' "$BOUT/results.md" &&
    grep -Eq '; (commit [0-9a-f]+( with uncommitted changes)?|no git commit)\.$' "$BOUT/results.md"
  check $? "6 results.md names the commit and the run's duration" "$BOUT/results.md"
  if command -v gnuplot >/dev/null 2>&1; then
    for p in latency throughput argsize; do
      [ -s "$BOUT/$p.png" ] && [ "$(head -c 4 "$BOUT/$p.png" | od -An -c | tr -d ' ')" = '211PNG' ]
      check $? "6 $p.png is a non-empty PNG" "$root/bench.err"
    done
  else
    grep -q '^Plots: none (gnuplot is not installed' "$BOUT/results.md"
    check $? "6 without gnuplot, results.md says why there are no plots" "$BOUT/results.md"
    skip "6 latency.png, throughput.png and argsize.png are non-empty PNGs" \
      "gnuplot is not installed (only tools/deps.sh --bench installs it; make check does not need it)"
  fi
fi
snap >"$root/latest.after"
diff "$root/latest.before" "$root/latest.after" >"$root/latest.diff"
check $? "6 bench/results/latest.md and latest/ are untouched" "$root/latest.diff"
bash "$README_SH" --check >"$root/rm5.out" 2>&1
check $? "6 README.md's measured block is still latest.md's" "$root/rm5.out"

finish
