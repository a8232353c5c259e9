#!/usr/bin/env bash
# run.sh: dtask's benchmark suite (make bench).
#
# It owns every figure the project quotes.  Each is a median of repeated
# measurements (of RUNS runs, 5, or 1 with QUICK=1, unless its table says
# otherwise), printed beside a baseline measured in the same run of this
# script:
#   1. the demo (demo/): reports and legacy without dtask, in sync mode
#      and offloaded with dtask run -w 5: wall times and speed-ups; every
#      offloaded run must say, in dtask run's summary, that it offloaded
#      the calls it makes, or the bench stops;
#   2. fan-out: the demo's generate_reports(5) split into 5 slices on 5
#      workers, against its physical limit (one build_report, 0.5 s) and
#      the 2% target; a CPU-bound batch (bn_burn) split over one worker
#      per core, against the same call without dtask and the core count;
#   3. anchors: a futex handoff between two processes and a pipe pair,
#      each pinned to one CPU, to two CPUs, and unpinned; the fastest
#      futex variant is the physical limit; Python's ProcessPoolExecutor
#      (when python3 is present) and a direct call;
#   4. round trip of one null call, 1 caller x 1 worker: p50, p99, p99.9,
#      unpinned and with the caller and its pool on one CPU (taskset), as
#      the physical limit runs;
#   5. throughput with C callers x W workers, C and W in 1, 2, 4, 8, each
#      window (TPW calls: 40,000, a third of a second or more here; a
#      window of 8,000 had 8 callers x 2 workers below W = 1 in two full
#      runs, and above it in 4 of 4 runs of 40,000 by hand) after a
#      warm-up burst, beside C threads making direct calls
#      and beside its limit: C processes served by W through a bare queue
#      in shared memory (bench/ring.c), each cell's own;
#   5b. an aged queue (free pages left by a burst), 2 callers x 1 worker,
#      while another process keeps it open (not compacted) and with its
#      pool alone (compacted at start), beside a fresh queue;
#   6. argument size: bn_copy(in src[n], n, out dst[n]) from 0 B to
#      16 MiB, in MB/s, beside memcpy of n bytes in the same process;
#   7. overhead per call run in the caller, in sync mode and for a call
#      offload_if keeps local (its trampoline), beside a direct call (the
#      median of R rounds in one process);
#   8. cold start: from exec to the first call returned, with autostart,
#      beside a direct call and a pool that already runs;
#   9. exec of a program that catches nothing: fork + exec + wait of
#      /bin/true, without LD_PRELOAD, with an empty library preloaded (the
#      baseline), with the shim and no config, and with the shim and a
#      config of symbols /bin/true does not import, against the target
#      (at most 0.3 ms over the empty library); the runs are checked to
#      have left the shim idle (its own words at DTASK_LOG=info, and no
#      queue directory);
#  10. Redis: a private redis-server (no persistence, a unix socket and a
#      free TCP port on 127.0.0.1, stopped at exit): PING round trips from
#      hiredis over each (bench/redis_ping.c; the fastest p50 is the limit
#      of any Redis backend), the relay over each (redis_ping ... relay:
#      a request and its reply between two processes through two streams,
#      no script: the least a call through any broker on this server
#      costs), and Celery's null task through the same
#      server (bench/celery_null.py, one solo worker), beside dtask's null
#      call on its LMDB queue (group 4) and dtask's own null call through
#      the same server ([queue] backend = "redis", over each transport),
#      against the targets (at most 4x the PING limit, at least 20x
#      faster than Celery).  redis-server, python3-celery and
#      python3-redis are required: without them the bench stops and names
#      tools/deps.sh --bench;
#  11. hosts: pools on 1, 2 and 4 network namespaces (veth pairs on a
#      bridge, DTASK_HOST_ID each) serving one Redis queue over TCP, a
#      latency-bound call (bn_nap, 1 ms; bench/napcalls.c), throughput
#      against linear (target at least 0.9); as root only (the table says
#      so otherwise).
# It ends with sentences computed from those figures ("In short"), the
# commit measured and the run's own wall time.
#
# Output: the Markdown tables on stdout (progress on stderr), and in OUT
# (default bench/results/<UTC time>/, suffix -quick for QUICK=1):
# results.md, results.json (machine, commit, elapsed time, every figure
# with its unit, its statistic and its baseline) and the gnuplot PNGs
# (latency.png, throughput.png, argsize.png) with their data files.  A
# full run into the default OUT that completes also copies results.md to
# bench/results/latest.md and results.json and the plots to
# bench/results/latest/, then rewrites the README's measured block from
# latest.md (bench/readme.sh).  A QUICK run, or a run with OUT given,
# leaves bench/results/latest* and the README alone.
#
# Every program runs under timeout(1) (BENCH_TIMEOUT seconds, default
# 120), so a hung pool stops the bench with a message.  Every queue lives
# in a private directory in /dev/shm, removed at exit, so a concurrent
# `make demo` or test run cannot share a pool with this one; every pool
# started here is stopped.
#
# Environment: BUILD (default: build/ beside bench/), QUICK (1: a smoke
# run), OUT (the results directory), BENCH_TIMEOUT; relative paths are
# taken from the directory run.sh is started in.
set -euo pipefail
export LC_ALL=C
START=$EPOCHREALTIME
TOP=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$TOP/build}
case $BUILD in /*) ;; *) BUILD=$PWD/$BUILD ;; esac
OUT_GIVEN=0
if [ -n "${OUT:-}" ]; then
  OUT_GIVEN=1
  case $OUT in /*) ;; *) OUT=$PWD/$OUT ;; esac
fi
cd "$TOP"
B=$BUILD/bench
DTASK=$BUILD/dtask
SHIM=$BUILD/libdtask_shim.so
QUICK=${QUICK:-0}
TMO=${BENCH_TIMEOUT:-120}
DEMO_WORKERS=5
# build_report() sleeps 0.5 s (demo/libreport.c): the shortest a split
# call of it can take; the fan-out target is to stay within 2% of it.
DEMO_LIMIT=0.500
DEMO_TARGET_PCT=2
SIZES_MAX=$((16 << 20))
if [ "$QUICK" = 1 ]; then
  RUNS=1; N=2000; ROUNDS=2000; PPE=200; TP=1000; TPW=1000; NS=200000; R=3
  ARG_BUDGET=$((4 << 20)); ARG_CALLS=100; FAN_N=400; EXEC_N=50; CELERY_N=100
else
  RUNS=5; N=20000; ROUNDS=20000; PPE=2000; TP=8000; TPW=40000; NS=5000000; R=9
  ARG_BUDGET=$((256 << 20)); ARG_CALLS=2000; FAN_N=4000; EXEC_N=200; CELERY_N=2000
fi
# The exec figure's target: the shim costs a program that catches nothing
# at most this much per exec over an empty preloaded library.
EXEC_TARGET_US=300

for f in "$DTASK" "$SHIM" "$B/roundtrip" "$B/anchors" "$B/argsize" \
  "$B/coldstart" "$B/burn" "$B/sync_overhead" "$B/execloop" "$B/libempty.so" \
  "$B/redis_ping" "$B/xcopy" "$B/ring" "$B/lmdbtx" "$BUILD/demo/reports" \
  "$BUILD/demo/legacy"; do
  if [ ! -x "$f" ] && [ ! -f "$f" ]; then
    echo "bench: $f is missing; run make bench (or make first)" >&2
    exit 1
  fi
done
# A sanitizer build measures the sanitizer: refuse it.
sanitized() {
  if command -v readelf >/dev/null 2>&1; then
    readelf -d "$1" | grep -q 'libasan\|libubsan'
  else
    grep -qa 'libasan\.so\|libubsan\.so' "$1"
  fi
}
if sanitized "$SHIM"; then
  echo "bench: $SHIM is built with sanitizers, which would be measured too; run make bench without SANITIZE=1" >&2
  exit 1
fi
command -v timeout >/dev/null 2>&1 || { echo "bench: timeout (coreutils) is missing" >&2; exit 1; }
# Settings of the caller's shell must not change what is measured.
unset DTASK_CONFIG DTASK_MODE DTASK_TRACE DTASK_LOG DTASK_STRICT DTASK_ROLE \
  DTASK_WORKERS DTASK_STATS DTASK_SHIM DTASK_AUTOSTARTED DTASK_READY_FD \
  BENCH_T0 BENCH_PRELOAD LD_PRELOAD

PY=""
if [ -x /usr/bin/python3 ]; then PY=/usr/bin/python3
elif command -v python3 >/dev/null 2>&1; then PY=$(command -v python3); fi
# The Redis group's server and baseline: checked now, not after minutes.
REDIS_SERVER=$(command -v redis-server || true)
[ -n "$REDIS_SERVER" ] || {
  echo "bench: redis-server is missing (the Redis group needs it); run tools/deps.sh --bench (as root or with sudo)" >&2
  exit 1
}
if [ -z "$PY" ] || ! "$PY" -c 'import celery, redis' 2>/dev/null; then
  echo "bench: Celery or redis-py is missing for ${PY:-python3} (the Redis group's baseline needs python3-celery and python3-redis); run tools/deps.sh --bench (as root or with sudo)" >&2
  exit 1
fi

# The commit measured, and whether tracked files differed from it (read
# only: --no-optional-locks keeps git status from refreshing the index).
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
dirty=null
if [ "$commit" != unknown ]; then
  if [ -z "$(git --no-optional-locks status --porcelain --untracked-files=no 2>/dev/null)" ]; then
    dirty=false
  else
    dirty=true
  fi
fi

stamp=$(date -u +%Y%m%dT%H%M%SZ)
[ "$QUICK" = 1 ] && stamp=$stamp-quick
if [ "$OUT_GIVEN" = 1 ]; then OUT_SHOW=$OUT; else OUT=$PWD/bench/results/$stamp; OUT_SHOW=bench/results/$stamp; fi
mkdir -p "$OUT"
: >"$OUT/results.md"
root=$(mktemp -d /dev/shm/dtask-bench.XXXXXX)
chmod 700 "$root"
T=$root/tmp
mkdir "$T"
: >"$T/records"
: >"$root/pools"

# Stops the autostarted pools still alive (their supervisors' pids are in
# $root/pools, and each must still be a coldstart process) and the Redis
# group's server, then removes the private directory.
cleanup() {
  local p i
  # The Redis group's server, if it runs (and is still redis-server).
  if [ -s "$root/redis.pid" ]; then
    p=$(cat "$root/redis.pid")
    if [ "$(cat "/proc/$p/comm" 2>/dev/null)" = redis-server ]; then
      kill -TERM "$p" 2>/dev/null || true
      for i in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
      kill -KILL "$p" 2>/dev/null || true
    fi
  fi
  while read -r p; do
    if kill -0 "$p" 2>/dev/null &&
      tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | grep -q '^coldstart '; then
      kill -TERM "$p" 2>/dev/null || true
    fi
  done <"$root/pools"
  rm -rf "$root"
}
trap cleanup EXIT

# ------------------------------------------------------------ helpers

say() { echo "bench: $*" >&2; }
# md LINE...: a line of the report, printed and saved.
md() { printf '%s\n' "$*" | tee -a "$OUT/results.md"; }
die() {
  echo "bench: $1" >&2
  shift
  local f
  for f in "$@"; do [ -s "$f" ] && tail -n 40 "$f" | sed 's/^/bench:   /' >&2; done
  exit 1
}

# run_to OUTFILE ERRFILE WHAT CMD...: runs CMD under timeout with stdin
# /dev/null, appending its stdout to OUTFILE and its stderr to ERRFILE; a
# failure or a timeout stops the bench with WHAT and the end of ERRFILE.
run_to() {
  local out=$1 err=$2 what=$3 st=0
  shift 3
  timeout -k 10 "$TMO" "$@" </dev/null >>"$out" 2>>"$err" || st=$?
  case $st in
    0) ;;
    124 | 137) die "$what: did not finish within $TMO s (BENCH_TIMEOUT; a hung pool?), so it was stopped: $*" "$err" ;;
    *) die "$what failed (status $st): $*" "$err" ;;
  esac
}

# med FILE KEY: the median of the values of the "KEY VALUE" lines of FILE,
# the mean of the two middle ones for an even count (n/a when there is
# none).
med() {
  awk -v k="$2" '$1 == k { print $2 }' "$1" | sort -g |
    awk '{ v[NR] = $1 }
      END {
        if (!NR) { print "n/a"; exit }
        if (NR % 2) { print v[(NR + 1) / 2]; exit }
        a = v[NR / 2]; b = v[NR / 2 + 1]
        d = 0
        for (i = 0; i < 2; i++) {
          s = i ? b : a
          p = index(s, ".")
          if (p && length(s) - p > d) d = length(s) - p
        }
        s = sprintf("%.*f", d + 1, (a + b) / 2)
        if (index(s, ".")) { sub(/0+$/, "", s); sub(/\.$/, "", s) }
        print s
      }'
}

# calc EXPR FORMAT A B: A EXPR B with awk (EXPR: / - + or *), n/a when
# either is n/a or the division is by zero.
calc() {
  awk -v a="$3" -v b="$4" -v op="$1" -v f="$2" 'BEGIN {
    if (a == "n/a" || b == "n/a" || (op == "/" && b + 0 == 0)) { print "n/a"; exit }
    r = op == "/" ? a / b : op == "-" ? a - b : op == "+" ? a + b : a * b
    printf f "\n", r }'
}

# offloaded FILE WHAT: every run in FILE said "offloaded 1", or the bench
# stops: a figure of calls that ran inline would be a false one.
offloaded() {
  if awk '$1 == "offloaded" && $2 != 1 { bad = 1 } $1 == "offloaded" { n++ }
          END { exit !(n > 0 && !bad) }' "$1"; then
    return
  fi
  die "$2: the calls did not run in a worker; dtask's messages:" "$1.err"
}

# summary_says ERRFILE WHAT SYMBOL COUNT...: the last summary line of dtask
# run in ERRFILE ("dtask: N calls offloaded; SYMBOL COUNT (p50 ...)...")
# offloaded at least one call and COUNT calls of each SYMBOL, or the bench
# stops.
summary_says() {
  local err=$1 what=$2 line
  shift 2
  line=$(grep '^dtask: [0-9][0-9]* calls\{0,1\} offloaded' "$err" | tail -n 1 || true)
  [ -n "$line" ] || die "$what: dtask run printed no summary of offloaded calls" "$err"
  case $line in "dtask: 0 calls offloaded"*) die "$what: dtask run offloaded nothing: $line" "$err" ;; esac
  while [ $# -ge 2 ]; do
    case "$line;" in
      *"; $1 $2 ("*) ;;
      *) die "$what: dtask run did not offload $2 calls of $1: $line" "$err" ;;
    esac
    shift 2
  done
}

# cfg NAME SRC: a copy of the config SRC whose [queue] path is NAME in
# the private directory; prints its path.
cfg() {
  local out=$root/$1.toml
  if grep -q '^path *=' "$2"; then
    sed "s|^path *=.*|path = \"$root/q-$1\"|" "$2" >"$out"
  else
    { cat "$2"; printf '\n[queue]\npath = "%s"\n' "$root/q-$1"; } >"$out"
  fi
  echo "$out"
}

# rec GROUP NAME VALUE UNIT [BASE_NAME BASE_VALUE BASE_UNIT]: one figure
# for results.json, with the statistic in $STAT.  Names and units are this
# script's own strings.
STAT="median of $RUNS run(s)"
num() {
  if [[ $1 =~ ^-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?$ ]]; then echo "$1"; else echo null; fi
}
rec() {
  local base="null" name=${2//\*\*/}
  if [ $# -ge 7 ]; then
    base=$(printf '{"name": "%s", "value": %s, "unit": "%s"}' "$5" "$(num "$6")" "$7")
  fi
  printf '    {"group": "%s", "name": "%s", "value": %s, "unit": "%s", "statistic": "%s", "baseline": %s},\n' \
    "$1" "$name" "$(num "$3")" "$4" "$STAT" "$base" >>"$T/records"
}

# jstr TEXT: TEXT as a JSON string.
jstr() {
  printf '"%s"' "$(printf '%s' "$1" | sed 's/\\/\\\\/g; s/"/\\"/g' | tr -d '\000-\037')"
}

# wall OUTFILE WHAT CMD...: runs CMD (run_to, stdout to OUTFILE, stderr to
# OUTFILE.err, both emptied first) and prints its wall time in seconds.
wall() {
  local out=$1 what=$2 t0 t1
  shift 2
  : >"$out"
  : >"$out.err"
  t0=$EPOCHREALTIME
  run_to "$out" "$out.err" "$what" "$@"
  t1=$EPOCHREALTIME
  awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f\n", b - a }'
}

cpu=$(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null)
[ -n "$cpu" ] || cpu=$(uname -m)
os=$(sed -n 's/^PRETTY_NAME="\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' /etc/os-release 2>/dev/null || true)
[ -n "$os" ] || os=$(uname -s)
CORES=$(nproc)
machine="$CORES cores, $cpu, $os, Linux $(uname -r)"
short="$CORES cores, $(uname -m)"
case $dirty in
  true) tree="commit $commit with uncommitted changes" ;;
  false) tree="commit $commit" ;;
  *) tree="no git commit" ;;
esac
command_line="make bench$( [ "$QUICK" = 1 ] && echo ' QUICK=1' || true)"

md "# dtask bench"
md ""
md "$machine; $(date -u '+%Y-%m-%d %H:%M UTC'); $tree."
md "Command: \`$command_line\`. Each figure is a median of $RUNS run(s) unless its table says otherwise, beside its baseline from the same run."
if [ "$QUICK" = 1 ] || [ "$OUT_GIVEN" = 1 ]; then md "Files: \`$OUT_SHOW/\` (results.json, plots)."
else md "Files: \`$OUT_SHOW/\` (results.json, plots), copied to \`bench/results/latest/\`."; fi
md ""

# Figures the closing sentences use.
declare -A V

# ================================================================ 1. demo
say "demo: reports and legacy, $RUNS run(s) each way"
DEMO_CFG=$(cfg demo demo/dtask.toml)

# demo_runs ID PROG ARGS...: runs PROG $RUNS times each way (interleaved):
# without dtask, DTASK_MODE=sync and dtask run -w $DEMO_WORKERS.  Each way
# gets a file $T/demo.ID.WAY of "KEY VALUE" lines: KEY is a "time KEY
# SECONDS" line of the program's, or wall (exec to exit).  The lines other
# than "time" ones must be the same every time.  Every offloaded run must
# have offloaded all of the program's calls (dtask run's summary).
demo_runs() {
  local id=$1 i way w o expect
  shift
  case $(basename "$1") in
    reports) expect=(build_report 10 generate_reports 1) ;;
    legacy) expect=(legacy_lookup 5) ;;
    *) expect=() ;;
  esac
  for i in $(seq "$RUNS"); do
    for way in plain sync off; do
      o=$T/demo.$id.$way.out
      case $way in
        plain) w=$(wall "$o" "demo $* (without dtask)" "$@") ;;
        sync) w=$(wall "$o" "demo $* (sync mode)" \
          env DTASK_CONFIG="$DEMO_CFG" DTASK_MODE=sync LD_PRELOAD="$SHIM" "$@") ;;
        off) w=$(wall "$o" "demo $* (dtask run)" "$DTASK" run -c "$DEMO_CFG" -w "$DEMO_WORKERS" -- "$@")
          summary_says "$o.err" "demo $* (dtask run -w $DEMO_WORKERS, run $i)" "${expect[@]}" ;;
      esac
      echo "wall $w" >>"$T/demo.$id.$way"
      awk '$1 == "time" { print $2, $3 }' "$o" >>"$T/demo.$id.$way"
      grep -v '^time ' "$o" >"$o.lines" || true
      if [ ! -f "$T/demo.$id.ref" ]; then
        cp "$o.lines" "$T/demo.$id.ref"
      elif ! cmp -s "$T/demo.$id.ref" "$o.lines"; then
        diff "$T/demo.$id.ref" "$o.lines" >"$o.diff" || true
        die "demo: $* printed something else ($way, run $i):" "$o.diff"
      fi
    done
  done
  touch "$T/demo.$id.done"
}

# demo_row TAG LABEL KEY PROG ARGS...: one row of the demo table: the
# median of KEY (a "time KEY" line of PROG's, or wall) each way, and the
# speed-up (without dtask / offloaded); V[TAG.plain], V[TAG.sync],
# V[TAG.off] and V[TAG.x] keep them.  Rows with the same PROG ARGS share
# runs.
demo_row() {
  local tag=$1 label=$2 key=$3 id plain sync off x
  shift 3
  id=$(printf '%s\n' "$@" | md5sum | cut -c1-12)
  [ -f "$T/demo.$id.done" ] || demo_runs "$id" "$@"
  plain=$(med "$T/demo.$id.plain" "$key")
  sync=$(med "$T/demo.$id.sync" "$key")
  off=$(med "$T/demo.$id.off" "$key")
  x=$(calc / '%.2f' "$plain" "$off")
  V[$tag.plain]=$plain V[$tag.sync]=$sync V[$tag.off]=$off V[$tag.x]=$x
  md "| $label | $plain | $sync | $off | ${x}x |"
  rec demo "$label, without dtask" "$plain" s
  rec demo "$label, DTASK_MODE=sync" "$sync" s "$label, without dtask" "$plain" s
  rec demo "$label, dtask run -w $DEMO_WORKERS" "$off" s "$label, without dtask" "$plain" s
  STAT="ratio of the medians" rec demo "$label, speed-up of dtask run -w $DEMO_WORKERS" "$x" x \
    "$label, without dtask" 1 x
}

md "## The demo (demo/, config demo/dtask.toml)"
md ""
md "build_report() waits 0.5 s; legacy_lookup() holds its library's one global lock for 0.3 s. Every offloaded run's summary from dtask run was checked: it offloaded all of the program's calls."
md ""
md "| wall time (s) | without dtask | DTASK_MODE=sync | dtask run -w $DEMO_WORKERS | speed-up |"
md "|---|---:|---:|---:|---:|"
demo_row seq "reports: 5 calls in a row" sequential "$BUILD/demo/reports"
demo_row thr "reports: 5 caller threads" threads "$BUILD/demo/reports"
demo_row split "reports: 1 call of generate_reports(5), split" batch "$BUILD/demo/reports"
demo_row rwall "reports: whole run, exec to exit" wall "$BUILD/demo/reports"
demo_row lock "legacy: 5 threads, one lock in the library" threads "$BUILD/demo/legacy"
demo_row lwall "legacy: whole run, exec to exit" wall "$BUILD/demo/legacy"
md ""

# ========================================================= 2. fan-out
say "fan-out: the demo's split call, and a CPU-bound batch, $RUNS run(s) each way"
over=$(calc / '%.2f' "$(calc - '%.6f' "${V[split.off]}" "$DEMO_LIMIT")" "$(calc / '%.6f' "$DEMO_LIMIT" 100)")
met=$(awk -v o="$over" -v t="$DEMO_TARGET_PCT" 'BEGIN { print (o != "n/a" && o + 0 <= t + 0) ? "yes" : "no" }')
V[split.over]=$over V[split.met]=$met
md "## Fan-out: one call split across the workers"
md ""
md "| demo: one call of generate_reports(5), split = { over = \"n\" } | without dtask (s) | dtask run -w $DEMO_WORKERS (s) | speed-up | physical limit (s) | over the limit | within ${DEMO_TARGET_PCT}% of it |"
md "|---|---:|---:|---:|---:|---:|---|"
md "| 5 slices on 5 workers, each one build_report() | ${V[split.plain]} | ${V[split.off]} | ${V[split.x]}x | $DEMO_LIMIT | ${over}% | $met |"
md ""
rec fanout "generate_reports(5) split over $DEMO_WORKERS workers" "${V[split.off]}" s \
  "generate_reports(5) without dtask" "${V[split.plain]}" s
STAT="a constant of the workload: build_report() sleeps 0.5 s (demo/libreport.c)" \
  rec fanout "generate_reports(5) split, physical limit (one build_report)" "$DEMO_LIMIT" s
STAT="computed from the median above" rec fanout "generate_reports(5) split, over the physical limit" "$over" % \
  "target: at most this much over the limit" "$DEMO_TARGET_PCT" %
STAT="computed from the median above" \
  rec fanout "generate_reports(5) split, within the target (1 yes, 0 no)" "$([ "$met" = yes ] && echo 1 || echo 0)" bool

FAN_CFG=$(cfg fanout bench/fanout.toml)
: >"$T/fan.plain"
: >"$T/fan.off"
for i in $(seq "$RUNS"); do
  run_to "$T/fan.plain" "$T/fan.plain.err" "burn without dtask (run $i)" "$B/burn" "$FAN_N"
  : >"$T/fan.one.err"
  run_to "$T/fan.off" "$T/fan.one.err" "burn under dtask run (run $i)" \
    "$DTASK" run -c "$FAN_CFG" -w "$CORES" -- "$B/burn" "$FAN_N"
  cat "$T/fan.one.err" >>"$T/fan.off.err"
  # Two calls of bn_burn: burn's one-element warm-up, then the batch.
  summary_says "$T/fan.one.err" "the fan-out batch (run $i)" bn_burn 2
done
offloaded "$T/fan.off" "the fan-out batch"
if [ "$(awk '$1 == "sum"' "$T/fan.plain" | sort -u)" != "$(awk '$1 == "sum"' "$T/fan.off" | sort -u)" ]; then
  die "the split bn_burn returned another sum than the local one" "$T/fan.off"
fi
fplain=$(med "$T/fan.plain" batch)
foff=$(med "$T/fan.off" batch)
fx=$(calc / '%.2f' "$fplain" "$foff")
feff=$(calc / '%.0f' "$(calc '*' '%.6f' "$fx" 100)" "$CORES")
V[burn.plain]=$fplain V[burn.off]=$foff V[burn.x]=$fx V[burn.eff]=$feff
md "| CPU-bound batch: one call of bn_burn($FAN_N), split = { over = \"n\" } | without dtask (s) | split over $CORES workers (s) | speed-up | cores (nproc) | speed-up / cores |"
md "|---|---:|---:|---:|---:|---:|"
md "| about 0.1 ms of one core per element | $fplain | $foff | ${fx}x | $CORES | ${feff}% |"
md ""
rec fanout "bn_burn($FAN_N) split over $CORES workers" "$foff" s "bn_burn($FAN_N) without dtask" "$fplain" s
STAT="ratio of the medians above" rec fanout "bn_burn($FAN_N) split, speed-up" "$fx" x "cores (nproc)" "$CORES" x
STAT="computed from the medians above" \
  rec fanout "bn_burn($FAN_N) split, speed-up per core" "$feff" % "one core's work per core" 100 %

# ============================================== 3. anchors, 4. null call
say "anchors and the null-call round trip"
OFF_CFG=$(cfg offload bench/offload.toml)
: >"$T/anchors"
: >"$T/ppe"
: >"$T/direct"
: >"$T/rt"
: >"$T/rt1"
: >"$T/lmdbtx"
: >"$T/lmring"
: >"$OUT/latency.dat"
command -v taskset >/dev/null || die "taskset is missing (util-linux)"
CPU0=
for i in $(seq "$RUNS"); do
  run_to "$T/anchors" "$T/anchors.err" "anchors (run $i)" "$B/anchors" "$ROUNDS"
  # The pinned dtask row runs the caller and its whole pool on the CPU
  # where the anchors pinned their one-CPU variant (the physical limit).
  [ -n "$CPU0" ] || CPU0=$(awk '$1 == "pinned" { print $2; exit }' "$T/anchors")
  [ -n "$CPU0" ] || die "anchors could not pin a process, so no row can be pinned" "$T/anchors.err" "$T/anchors"
  [ -z "$PY" ] || run_to "$T/ppe" "$T/ppe.err" "ProcessPoolExecutor (run $i)" "$PY" bench/ppe.py "$PPE"
  run_to "$T/direct" "$T/direct.err" "direct calls (run $i)" "$B/roundtrip" 1 "$N"
  run_to "$T/rt" "$T/rt.err" "round trip (run $i)" \
    "$DTASK" run -c "$OFF_CFG" -w 1 -- "$B/roundtrip" 1 "$N" "$OUT/latency.dat"
  run_to "$T/rt1" "$T/rt1.err" "round trip on CPU $CPU0 (run $i)" \
    taskset -c "$CPU0" "$DTASK" run -c "$OFF_CFG" -w 1 -- "$B/roundtrip" 1 "$N"
  mkdir "$root/lmdbtx$i"
  run_to "$T/lmdbtx" "$T/lmdbtx.err" "LMDB's transactions alone (run $i)" \
    "$B/lmdbtx" "$root/lmdbtx$i" "$N"
  rm -rf "$root/lmdbtx$i"
  mkdir "$root/lmdbtx$i"
  run_to "$T/lmring" "$T/lmring.err" "LMDB's transactions between two processes on CPU $CPU0 (run $i)" \
    taskset -c "$CPU0" "$B/lmdbtx" --ring "$root/lmdbtx$i" "$N"
  rm -rf "$root/lmdbtx$i"
done
offloaded "$T/rt" "round trip"
offloaded "$T/rt1" "round trip on one CPU"

declare -A L
VARIANTS="futex_same futex_cross futex pipe_same pipe_cross pipe"
for p in p50 p99 p999; do
  for v in $VARIANTS; do L[${v}_$p]=$(med "$T/anchors" "${v}_$p"); done
  L[ppe_$p]=$(med "$T/ppe" "ppe_$p")
  L[direct_$p]=$(med "$T/direct" "$p")
  L[dtask_$p]=$(med "$T/rt" "$p")
  L[dtask1_$p]=$(med "$T/rt1" "$p")
  L[lmdb_$p]=$(med "$T/lmdbtx" "lmdb_$p")
  for v in ring0 ring3 ring2 ring3w ring2w; do L[${v}_$p]=$(med "$T/lmring" "${v}_$p"); done
done
declare -A LABEL=(
  [futex_same]="futex handoff in shared memory, both processes on one CPU"
  [futex_cross]="futex handoff in shared memory, the processes on two CPUs"
  [futex]="futex handoff in shared memory, unpinned"
  [pipe_same]="pipe pair, both processes on one CPU"
  [pipe_cross]="pipe pair, the processes on two CPUs"
  [pipe]="pipe pair, unpinned"
  [ppe]="Python ProcessPoolExecutor, null function"
  [dtask]="**dtask, LMDB queue** (bn_add, dtask run -w 1)"
  [dtask1]="**dtask, LMDB queue, the caller and its pool on one CPU** (taskset -c $CPU0 dtask run -w 1)"
  [direct]="(direct call, no process boundary)"
  [lmdb]="(LMDB's transactions of one dtask call, 3 writes and a read, in one process: bench/lmdbtx.c)"
  [ring0]="(two processes on CPU $CPU0 handing a futex token, nothing else: bench/lmdbtx.c --ring)"
  [ring3]="(the same two processes making LMDB's transactions of one dtask call, 3 writes and a read, and nothing else)"
  [ring2]="(the same with the fewest an LMDB queue with leases could make: 2 writes and 2 reads)"
  [ring3w]="(today's transactions carrying dtask's records of bn_add: encoded, decoded, called through libffi, answered and applied; no stub, no queue layer)"
  [ring2w]="(the fewest transactions carrying dtask's records of bn_add)")
# The physical limit: the futex variant with the lowest median p50.
limit=$(for v in futex_same futex_cross futex; do
  [ "${L[${v}_p50]}" = n/a ] || echo "${L[${v}_p50]} $v"
done | sort -g | head -n 1 | cut -d' ' -f2)
[ -n "$limit" ] || die "anchors printed no futex figure" "$T/anchors.err" "$T/anchors"
for p in p50 p99 p999; do L[limit_$p]=${L[${limit}_$p]}; done
LIMIT_LABEL=${LABEL[$limit]}
pipe_best=$(for v in pipe_same pipe_cross pipe; do
  [ "${L[${v}_p50]}" = n/a ] || echo "${L[${v}_p50]} $v"
done | sort -g | head -n 1 | cut -d' ' -f2)
[ -n "$pipe_best" ] || die "anchors printed no pipe figure" "$T/anchors.err" "$T/anchors"

# lrow GROUP KEY: a latency row and its records; the limit's own row says
# so, the others have the limit as their baseline.
lrow() {
  local g=$1 k=$2 label=${LABEL[$2]} p
  [ "${L[$2_p50]}" != n/a ] || return 0
  [ "$k" = "$limit" ] && label="$label: **the physical limit** (fastest futex p50)"
  md "| $label | ${L[$2_p50]} | ${L[$2_p99]} | ${L[$2_p999]} | $(calc / '%.2f' "${L[$2_p50]}" "${L[limit_p50]}") |"
  for p in p50 p99 p999; do
    if [ "$k" = "$limit" ]; then rec "$g" "$label, $p" "${L[$2_$p]}" us
    else rec "$g" "$label, $p" "${L[$2_$p]}" us "the physical limit (${LABEL[$limit]}), $p" "${L[limit_$p]}" us; fi
  done
}
STAT="median of $RUNS run(s) of the percentile over each run's round trips"
md "## Round trip of one blocking call to another process and back"
md ""
pinned=$(awk '$1 == "pinned" { print ($2 == $3 ? "CPU " $2 ", the only one this process may use" : "CPUs " $2 " and " $3); exit }' "$T/anchors")
md "Each run times $ROUNDS round trips of each anchor (after a warm-up) and $N dtask null calls, 1 caller, 1 worker; a figure is the median of the runs' percentiles. $([ -n "$pinned" ] && echo "Pinned variants use sched_setaffinity on $pinned." || echo "sched_setaffinity was refused, so no variant is pinned.")"
md ""
md "| one call to another process and back | p50 (us) | p99 (us) | p99.9 (us) | p50 / limit p50 |"
md "|---|---:|---:|---:|---:|"
for v in $VARIANTS; do lrow anchors "$v"; done
lrow roundtrip dtask
lrow roundtrip dtask1
if [ -n "$PY" ]; then lrow anchors ppe
else md "| Python ProcessPoolExecutor, null function | n/a (no python3) | | | |"; fi
lrow roundtrip direct
lrow roundtrip lmdb
lrow roundtrip ring0
lrow roundtrip ring3
lrow roundtrip ring2
lrow roundtrip ring3w
lrow roundtrip ring2w
md ""
md "The histogram of all $((N * RUNS)) unpinned dtask calls is latency.png. Against the anchor placed the same way, as a multiple of its p50: unpinned, dtask's p50 is $(calc / '%.2f' "${L[dtask_p50]}" "${L[futex_p50]}")x and its p99 $(calc / '%.2f' "${L[dtask_p99]}" "${L[futex_p50]}")x the unpinned futex handoff's p50; on one CPU, $(calc / '%.2f' "${L[dtask1_p50]}" "${L[futex_same_p50]}")x and $(calc / '%.2f' "${L[dtask1_p99]}" "${L[futex_same_p50]}")x the one-CPU handoff's (the targets: at most 1.5x at p50 and 3x at p99). LMDB's own transactions of a call take ${L[lmdb_p50]} us at p50 in one process; made by two processes that hand a token back and forth on one CPU, and nothing else, they make a round trip of ${L[ring3_p50]} us: $(calc / '%.2f' "${L[ring3_p50]}" "${L[futex_same_p50]}")x the one-CPU handoff ($(calc / '%.2f' "${L[ring3_p50]}" "${L[ring0_p50]}")x the same processes' token alone), before any marshalling. With the fewest transactions an LMDB queue with leases could make (the caller writes the task straight into claims, the worker reads it and writes the answer), $(calc / '%.2f' "${L[ring2_p50]}" "${L[futex_same_p50]}")x: $(calc - '%.2f' "$(calc '*' '%.3f' "${L[futex_same_p50]}" 1.5)" "${L[ring2_p50]}") us would be left under the 1.5x target for the stub, the marshalling both ways, libffi and the function. With dtask's own records of bn_add in them (encoded, decoded, called through libffi, answered and applied, with no stub and no queue layer), today's transactions take ${L[ring3w_p50]} us ($(calc / '%.2f' "${L[ring3w_p50]}" "${L[futex_same_p50]}")x the handoff; dtask's whole call, stub and queue layer included, takes $(calc - '%.2f' "${L[dtask1_p50]}" "${L[ring3w_p50]}") us more) and the fewest ${L[ring2w_p50]} us ($(calc / '%.2f' "${L[ring2w_p50]}" "${L[futex_same_p50]}")x): the least any LMDB queue carrying these records can take on one CPU of this machine."
md ""

# ====================================================== 5. throughput
say "throughput, C callers x W workers, C and W in 1 2 4 8"
WS="1 2 4 8"
for i in $(seq "$RUNS"); do
  for c in $WS; do
    # Direct calls are a million times cheaper: 1000 times as many of
    # them make a window long enough to time.
    run_to "$T/tpd.$c" "$T/tpd.$c.err" "roundtrip $c (run $i)" "$B/roundtrip" "$c" $((TP * 1000 / c))
    for w in $WS; do
      run_to "$T/tp.$c.$w" "$T/tp.$c.$w.err" "$c callers x $w workers (run $i)" \
        "$DTASK" run -c "$OFF_CFG" -w "$w" -- "$B/roundtrip" "$c" $((TPW / c))
      run_to "$T/ring.$c.$w" "$T/ring.$c.$w.err" "bare queue $c x $w (run $i)" \
        "$B/ring" "$c" "$w" $((TP * 10))
    done
  done
  # The 4 x 2 target's ceiling: the same two on one CPU, where no wake
  # crosses CPUs, give each call's CPU time.
  run_to "$T/tp1.4.2" "$T/tp1.4.2.err" "4 callers x 2 workers on CPU $CPU0 (run $i)" \
    taskset -c "$CPU0" "$DTASK" run -c "$OFF_CFG" -w 2 -- "$B/roundtrip" 4 $((TPW / 4))
  run_to "$T/ring1.4.2" "$T/ring1.4.2.err" "bare queue 4 x 2 on CPU $CPU0 (run $i)" \
    taskset -c "$CPU0" "$B/ring" 4 2 $((TP * 10))
done
STAT="median of $RUNS run(s)"
md "## Throughput: null calls per second, C callers x W workers"
md ""
md "| callers C | W = 1 | W = 2 | W = 4 | W = 8 | direct calls/s, C threads |"
md "|---:|---:|---:|---:|---:|---:|"
declare -A TPV
best=0 best_at=""
for c in $WS; do
  row="| $c"
  d=$(med "$T/tpd.$c" throughput)
  for w in $WS; do
    offloaded "$T/tp.$c.$w" "throughput $c x $w"
    TPV[$c.$w]=$(med "$T/tp.$c.$w" throughput)
    row="$row | ${TPV[$c.$w]}"
    rec throughput "$c callers x $w workers" "${TPV[$c.$w]}" calls/s \
      "$c threads, direct calls" "$d" calls/s
    if awk -v a="${TPV[$c.$w]}" -v b="$best" 'BEGIN { exit !(a + 0 > b + 0) }'; then
      best=${TPV[$c.$w]}
      best_at="$c caller$([ "$c" = 1 ] || echo s) x $w worker$([ "$w" = 1 ] || echo s)"
    fi
  done
  md "$row | $d |"
done
V[tp.best]=$best V[tp.best_at]=$best_at
{
  echo "# workers, then calls/s with 1 2 4 8 callers"
  for w in $WS; do
    echo "$w ${TPV[1.$w]} ${TPV[2.$w]} ${TPV[4.$w]} ${TPV[8.$w]}"
  done
} >"$OUT/throughput.dat"
md ""
md "$TPW dtask calls per run ($((TP * 1000)) direct calls), split between the callers, timed after a warm-up burst of a tenth as many; one pair of processes handing a futex back and forth could do $(calc / '%.0f' 1000000 "${L[limit_p50]}") round trips/s (1 / limit p50)."
md ""
md "The limit of each cell: C processes make blocking calls that W processes serve through a bare queue in shared memory (bench/ring.c: a process-shared mutex around a ring, a futex word that wakes a sleeping server, one futex word per caller), with no record, no marshalling and no queue file; $((TP * 10)) calls per run, after a tenth as many."
md ""
md "| callers C | bare queue, W = 1 | W = 2 | W = 4 | W = 8 | dtask / bare queue, W = 1 | W = 2 | W = 4 | W = 8 |"
md "|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
declare -A RGV
for c in $WS; do
  row="| $c" ratios=""
  for w in $WS; do
    RGV[$c.$w]=$(med "$T/ring.$c.$w" throughput)
    row="$row | ${RGV[$c.$w]}"
    ratios="$ratios | $(calc / '%.2f' "${TPV[$c.$w]}" "${RGV[$c.$w]}")"
    rec throughput "bare queue, $c callers x $w servers" "${RGV[$c.$w]}" calls/s
    rec throughput "$c callers x $w workers, against the bare queue" "${TPV[$c.$w]}" calls/s \
      "bare queue, $c callers x $w servers" "${RGV[$c.$w]}" calls/s
  done
  md "$row$ratios |"
done
md ""
grow=""
for c in $WS; do
  lo=$(for w in $WS; do echo "${TPV[$c.$w]}"; done | sort -g | head -n 1)
  grow="$grow${grow:+; }$c caller$([ "$c" = 1 ] || echo s): W = 2 makes $(calc / '%.2f' "${TPV[$c.2]}" "${TPV[$c.1]}")x W = 1, the lowest W $(calc / '%.2f' "$lo" "${TPV[$c.1]}")x"
done
pair=$(calc / '%.0f' 1000000 "${L[limit_p50]}")
offloaded "$T/tp1.4.2" "throughput 4 x 2 on one CPU"
tp1=$(med "$T/tp1.4.2" throughput)
rg1=$(med "$T/ring1.4.2" throughput)
# us of CPU per call on one CPU: the bare queue's, and LMDB's on top.
rg1_us=$(calc / '%.3f' 1000000 "$rg1")
ceil=$(calc / '%.0f' "$((CORES * 1000000))" "$(calc + '%.3f' "$rg1_us" "${L[lmdb_p50]}")")
rec throughput "4 callers x 2 workers, all on one CPU" "$tp1" calls/s "bare queue, 4 x 2 on one CPU" "$rg1" calls/s
md "Against W = 1 (the target: throughput grows with W up to the cores, $CORES, and never falls below W = 1 by more than noise): $grow. The target for 4 callers x 2 workers is 1.5x the futex pair's rate, $(calc '*' '%.0f' "$pair" 1.5) calls/s: dtask made ${TPV[4.2]} ($(calc / '%.2f' "${TPV[4.2]}" "$pair")x the pair's rate), the bare queue ${RGV[4.2]} ($(calc / '%.2f' "${RGV[4.2]}" "$pair")x)."
md ""
md "On one CPU (taskset -c $CPU0), where no wake crosses CPUs, 4 callers x 2 workers make $tp1 dtask calls/s ($(calc / '%.2f' "$tp1" "${TPV[4.2]}")x the same on $CORES CPUs) and $rg1 bare-queue calls/s: each bare call costs $rg1_us us of CPU. A queue that also makes LMDB's transactions (${L[lmdb_p50]} us, the round-trip table) could do at most $CORES / ($rg1_us + ${L[lmdb_p50]}) us = $ceil calls/s on $CORES CPUs, if its calls spread over them at no cost and did nothing else: $(calc / '%.2f' "$ceil" "$pair")x the futex pair's rate."
md ""

# ================================================== 5b. an aged queue
say "an aged queue: kept open by a program, and compacted by its pool"
# LMDB never gives a page back to its file: a burst leaves free pages
# around a few live ones, and every write transaction then pays for the
# free list.  The template is aged the same way each run: AGE_N shared
# buffers of 16 KiB left by a dead caller (qtool fill), removed by a
# pool's sweep while a second process keeps the queue open, so that the
# pool cannot compact it.  Then, on two copies of it, 2 callers x 1
# worker: one while a process keeps the copy open (as a long-running
# program would: no compaction), one with its pool alone (it compacts
# the copy when it starts).
QTOOL=$BUILD/fixtures/qtool
[ -x "$QTOOL" ] || die "$QTOOL is missing; run make bench (or make first)"
AGE_N=120 AGE_CALLS=$((TP * 5))
export QTOOL_PROG=$B/roundtrip
age_cfg=$(cfg agetmpl bench/offload.toml)
# keep_open CONFIG OUT: qtool keeps CONFIG's queue open in the background
# (its pid in KEEP) until killed; returns once it says "open".
keep_open() {
  "$QTOOL" "$1" keep 600 >"$2" 2>&1 &
  KEEP=$!
  for _ in $(seq 250); do grep -q '^open' "$2" && return; sleep 0.02; done
  die "qtool keep did not open the queue of $1" "$2"
}
run_to "$T/age.fill" "$T/age.fill.err" "qtool fill" "$QTOOL" "$age_cfg" fill "$AGE_N" 16384
keep_open "$age_cfg" "$T/age.keep"
for _ in $(seq 10); do
  run_to "$T/age.sweep" "$T/age.sweep.err" "a pool that sweeps the aged template" \
    "$DTASK" run -c "$age_cfg" -w 1 -- "$B/roundtrip" 1 "$AGE_CALLS"
  "$QTOOL" "$age_cfg" stats | grep -q ' blobs 0 ' && break
done
kill "$KEEP" 2>/dev/null || true
wait "$KEEP" 2>/dev/null || true
"$QTOOL" "$age_cfg" stats | grep -q ' blobs 0 ' ||
  die "the pool's sweep did not remove the dead caller's buffers"
age_q=$("$QTOOL" "$age_cfg" dir)
age_pages=$({ mdb_stat -e "$age_q" || true; } | awk '/pages used/ { print $NF }')
age_free=$({ mdb_stat -f "$age_q" || true; } | awk '/Free pages/ { print $NF }')
age_dir=$(dirname "$age_q")
: >"$T/age.kept"
: >"$T/age.alone"
: >"$T/age.fresh"
for i in $(seq "$RUNS"); do
  for way in kept alone fresh; do
    c=$(cfg "age$way$i" bench/offload.toml)
    rm -rf "$root/q-age$way$i"
    [ "$way" = fresh ] || cp -r --sparse=always "$age_dir" "$root/q-age$way$i"
    [ "$way" = kept ] && keep_open "$c" "$T/age.keep.$i"
    : >"$T/age.one.err"
    run_to "$T/age.$way" "$T/age.one.err" "2 callers x 1 worker on an aged queue, $way (run $i)" \
      env DTASK_LOG=info "$DTASK" run -c "$c" -w 1 -- "$B/roundtrip" 2 "$AGE_CALLS"
    if [ "$way" = kept ]; then
      kill "$KEEP" 2>/dev/null || true
      wait "$KEEP" 2>/dev/null || true
      grep -q 'compacted the LMDB queue' "$T/age.one.err" &&
        die "a pool compacted a queue that another process kept open" "$T/age.one.err"
    elif [ "$way" = alone ]; then
      grep -q 'compacted the LMDB queue' "$T/age.one.err" ||
        die "the pool alone with an aged queue did not compact it" "$T/age.one.err"
    fi
    cat "$T/age.one.err" >>"$T/age.$way.err"
    rm -rf "$root/q-age$way$i"
  done
done
offloaded "$T/age.kept" "aged queue, kept open"
offloaded "$T/age.alone" "aged queue, alone"
offloaded "$T/age.fresh" "fresh queue"
AGE_KEPT=$(med "$T/age.kept" throughput)
AGE_ALONE=$(med "$T/age.alone" throughput)
AGE_FRESH=$(med "$T/age.fresh" throughput)
md "## A queue that has aged: compacted by its pool when alone with it"
md ""
md "| the queue (2 callers x 1 worker) | calls/s | / a fresh queue |"
md "|---|---:|---:|"
md "| aged ($age_free of its $age_pages pages free), another process keeping it open: not compacted | $AGE_KEPT | $(calc / '%.2f' "$AGE_KEPT" "$AGE_FRESH") |"
md "| the same, its pool alone with it: compacted when the pool starts | $AGE_ALONE | $(calc / '%.2f' "$AGE_ALONE" "$AGE_FRESH") |"
md "| a fresh queue | $AGE_FRESH | 1.00 |"
md ""
md "Each run copies one aged template ($AGE_N shared buffers of 16 KiB left by a dead caller and swept by a pool while another process kept the queue open) twice, starts a fresh queue, and makes $AGE_CALLS calls on each of the three, in that order; a figure is the median of $RUNS run(s). The pool alone said \"compacted the LMDB queue\" in every run, the one whose queue another process kept open in none."
md ""
rec aged "2 callers x 1 worker, aged queue kept open" "$AGE_KEPT" calls/s \
  "2 callers x 1 worker, fresh queue" "$AGE_FRESH" calls/s
rec aged "2 callers x 1 worker, aged queue compacted by its pool" "$AGE_ALONE" calls/s \
  "2 callers x 1 worker, fresh queue" "$AGE_FRESH" calls/s
unset QTOOL_PROG

# ===================================================== 6. argument size
say "argument size, 0 B to $((SIZES_MAX >> 20)) MiB"
ARG_CFG=$(cfg argsize bench/argsize.toml)
: >"$T/arg"
: >"$T/xc"
for i in $(seq "$RUNS"); do
  run_to "$T/arg" "$T/arg.err" "argument size (run $i)" \
    "$DTASK" run -c "$ARG_CFG" -w 1 -- "$B/argsize" "$SIZES_MAX" "$ARG_BUDGET" "$ARG_CALLS"
  # The same copies between two processes, with nothing else (xcopy.c).
  run_to "$T/xc" "$T/xc.err" "argument size, the copies alone (run $i)" \
    "$B/xcopy" "$SIZES_MAX" "$ARG_BUDGET" "$ARG_CALLS"
done
offloaded "$T/arg" "argument size"
human() { awk -v n="$1" 'BEGIN { u = "B"; split("KiB MiB GiB", us, " ")
  for (i = 1; n >= 1024 && i <= 3; i++) { n /= 1024; u = us[i] } printf "%g %s\n", n, u }'; }
STAT="median of $RUNS run(s) of the median call in each run"
md "## Argument size: bn_copy(in char src[n], size_t n, out char dst[n]), dtask run -w 1"
md ""
md "| n (in and out) | dtask call (us) | dtask MB/s | memcpy of n (us) | memcpy MB/s | call / memcpy | the copies between two processes (us) | call / those |"
md "|---:|---:|---:|---:|---:|---:|---:|---:|"
echo "# bytes, dtask MB/s, memcpy MB/s, the copies between two processes MB/s" >"$OUT/argsize.dat"
mapfile -t sizes < <(awk -F'[. ]' '$1 == "call_us" { print $2 }' "$T/arg" | sort -n -u)
for n in "${sizes[@]}"; do
  cu=$(med "$T/arg" "call_us.$n")
  mu=$(med "$T/arg" "memcpy_us.$n")
  xu=$(med "$T/xc" "xcopy_us.$n")
  if [ "$n" = 0 ]; then cm="n/a"; mm="n/a"
  else cm=$(calc / '%.1f' "$n" "$cu"); mm=$(calc / '%.1f' "$n" "$mu")
    echo "$n $cm $mm $(calc / '%.1f' "$n" "$xu")" >>"$OUT/argsize.dat"; fi
  md "| $(human "$n") | $cu | $cm | $mu | $mm | $(calc / '%.0fx' "$cu" "$mu") | $xu | $(calc / '%.2fx' "$cu" "$xu") |"
  rec argsize "bn_copy $n B, dtask call" "$cu" us "memcpy $n B" "$mu" us
  rec argsize "bn_copy $n B, dtask call (against the copies alone)" "$cu" us \
    "$n B copied in, across and back between two processes" "$xu" us
  [ "$n" = 0 ] || rec argsize "bn_copy $n B, dtask" "$cm" MB/s "memcpy $n B" "$mm" MB/s
  V[arg.max.cm]=$cm V[arg.max.mm]=$mm V[arg.max.n]=$n
  V[arg.max.xr]=$(calc / '%.2f' "$cu" "$xu")
done
md ""
md "MB/s is n / time of one call (1 MB = 10^6 bytes): n bytes travel to the worker and n back. A figure is the median over the runs of each run's median call. From 64 KiB the buffers travel through the caller's arena (see \"Big buffers travel through an arena\"). The copies between two processes (bench/xcopy.c) are what any offload of bn_copy must do, with nothing else: the caller copies n bytes into memory both processes share and hands a futex token over, the other process copies them (bn_copy's own work) and hands it back, and the caller copies the result out; unpinned, as dtask's processes are, median of as many rounds as dtask's calls. Below 64 KiB the copies cost next to nothing, and that column is one futex round trip between two unpinned processes, which varies with where the scheduler puts them (the round-trip table above measures it pinned and unpinned)."
md ""

# ==================================================== 7. sync overhead
say "sync-mode and offload_if stub overhead"
: >"$T/so.direct"
: >"$T/so.sync"
: >"$T/so.local"
run_to "$T/so.direct" "$T/so.direct.err" "sync_overhead" "$B/sync_overhead" "$NS" "$R"
run_to "$T/so.sync" "$T/so.sync.err" "sync_overhead in sync mode" \
  env DTASK_CONFIG=bench/sync.toml DTASK_MODE=sync LD_PRELOAD="$SHIM" "$B/sync_overhead" "$NS" "$R"
run_to "$T/so.local" "$T/so.local.err" "sync_overhead, every call kept local by offload_if" \
  env DTASK_CONFIG=bench/local.toml LD_PRELOAD="$SHIM" "$B/sync_overhead" "$NS" "$R"
STAT="median of $R rounds of $NS calls, in one process"
md "## Sync mode (DTASK_MODE=sync) and offload_if: the shim's cost per call run in the caller"
md ""
md "| function | direct (ns) | sync mode (ns) | overhead (ns) | kept local by offload_if (ns) | overhead (ns) |"
md "|---|---:|---:|---:|---:|---:|"
for f in bn_add bn_mix; do
  d=$(med "$T/so.direct" $f)
  s=$(med "$T/so.sync" $f)
  l=$(med "$T/so.local" $f)
  o=$(calc - '%.2f' "$s" "$d")
  ol=$(calc - '%.2f' "$l" "$d")
  V[so.$f]=$o
  V[sol.$f]=$ol
  md "| $f | $d | $s | $o | $l | $ol |"
  rec sync "$f in sync mode" "$s" ns "$f, direct call" "$d" ns
  STAT="difference of the two medians" rec sync "$f, sync-mode overhead" "$o" ns "$f, direct call" "$d" ns
  rec sync "$f kept local by offload_if" "$l" ns "$f, direct call" "$d" ns
  STAT="difference of the two medians" rec sync "$f, offload_if overhead" "$ol" ns "$f, direct call" "$d" ns
done
md ""
md "Each figure is the median of $R rounds of $NS calls, in one process each way (not of separate runs). In sync mode with nothing traced (no DTASK_TRACE) the program's slots hold the real functions: no stub runs. A call that offload_if keeps in the caller (bench/local.toml) goes through the entry's trampoline (shim/jit.c), a comparison of the argument where the ABI left it, a count and a jump to the real function; only a call to offload reaches the libffi closure."
md ""

# ======================================================= 8. cold start
say "cold start"
: >"$T/cold.plain"
: >"$T/cold.warm"
: >"$T/cold.cold"
for i in $(seq "$RUNS"); do
  run_to "$T/cold.plain" "$T/cold.plain.err" "coldstart without dtask (run $i)" "$B/coldstart" launch
  warm=$(cfg "warm$i" bench/coldstart.toml)
  run_to "$T/cold.warm" "$T/cold.warm.err" "coldstart under dtask run (run $i)" \
    "$DTASK" run -c "$warm" -w 1 -- "$B/coldstart" launch
  cold=$(cfg "cold$i" bench/coldstart.toml)
  : >"$T/cold.one"
  run_to "$T/cold.one" "$T/cold.cold.err" "coldstart with autostart (run $i)" \
    env BENCH_PRELOAD="$SHIM" DTASK_CONFIG="$cold" "$B/coldstart" launch
  cat "$T/cold.one" >>"$T/cold.cold"
  # Stop the pool this run started: its supervisor is the worker's parent.
  worker=$(awk '$1 == "worker" { print $2 }' "$T/cold.one")
  sup=$(awk '$1 == "PPid:" { print $2 }' "/proc/$worker/status" 2>/dev/null || true)
  if [ -n "$sup" ] && [ "$sup" != 1 ] &&
    tr '\0' ' ' <"/proc/$sup/cmdline" 2>/dev/null | grep -q '^coldstart '; then
    echo "$sup" >>"$root/pools"
    kill -TERM "$sup"
    for _ in $(seq 250); do kill -0 "$sup" 2>/dev/null || break; sleep 0.02; done
  fi
  rm -rf "$root/q-warm$i" "$root/q-cold$i"
done
offloaded "$T/cold.warm" "cold start, pool running"
offloaded "$T/cold.cold" "cold start, autostart"
STAT="median of $RUNS run(s)"
cp=$(med "$T/cold.plain" first_call_ms)
cw=$(med "$T/cold.warm" first_call_ms)
cc=$(med "$T/cold.cold" first_call_ms)
V[cold.plain]=$cp V[cold.cold]=$cc V[cold.more]=$(calc - '%.3f' "$cc" "$cp")
md "## Cold start: from exec of the program to its first call returned"
md ""
md "| first call of bn_pid() | ms | minus baseline (ms) |"
md "|---|---:|---:|"
md "| without dtask: exec, loading, one direct call (the baseline) | $cp | |"
md "| dtask, a pool already serves the queue (dtask run -w 1) | $cw | $(calc - '%.3f' "$cw" "$cp") |"
md "| **dtask, autostart**: the first call starts a pool of 4 workers | $cc | ${V[cold.more]} |"
md ""
rec coldstart "exec to first call, without dtask" "$cp" ms
rec coldstart "exec to first call, dtask, pool running" "$cw" ms "exec to first call, without dtask" "$cp" ms
rec coldstart "exec to first call, dtask, autostart" "$cc" ms "exec to first call, without dtask" "$cp" ms

# ============================================ 9. exec, nothing caught
say "exec of a program that catches nothing, $EXEC_N execs x $RUNS run(s) each way"
EXEC_PROG=/bin/true
EXEC_CFG=$(cfg exec bench/exec.toml)
EXEC_NSYM=$(grep -c '^\[\[offload\]\]' "$EXEC_CFG")
EXEC_WAYS="plain empty shim cfg"
# exec_env WAY: the environment of execloop for WAY (its BENCH_PRELOAD
# becomes the program's LD_PRELOAD).
exec_env() {
  case $1 in
    plain) ;;
    empty) echo "BENCH_PRELOAD=$B/libempty.so" ;;
    shim) echo "BENCH_PRELOAD=$SHIM" ;;
    cfg) printf '%s\n' "BENCH_PRELOAD=$SHIM" "DTASK_CONFIG=$EXEC_CFG" ;;
  esac
}
# The programs run in an empty directory: no ./dtask.toml.
mkdir "$T/exec.cwd"
for w in $EXEC_WAYS; do : >"$T/exec.$w"; done
for i in $(seq "$RUNS"); do
  for w in $EXEC_WAYS; do
    mapfile -t ev < <(exec_env "$w")
    (cd "$T/exec.cwd" && run_to "$T/exec.$w" "$T/exec.$w.err" "execloop $EXEC_PROG, $w (run $i)" \
      env "${ev[@]}" "$B/execloop" "$EXEC_N" "$EXEC_PROG")
  done
done
# The shim must have stayed idle, or the figures measure something else:
# it says so at DTASK_LOG=info, and no queue directory appeared.
: >"$T/exec.idle"
(cd "$T/exec.cwd" && run_to /dev/null "$T/exec.idle" "$EXEC_PROG under the shim, no config" \
  env DTASK_LOG=info LD_PRELOAD="$SHIM" "$EXEC_PROG")
grep -q "^dtask\[[0-9]*\]: no config (DTASK_CONFIG unset, no ./dtask.toml): nothing to offload\$" "$T/exec.idle" ||
  die "exec: the shim without a config did not say it had nothing to offload:" "$T/exec.idle"
: >"$T/exec.idle"
(cd "$T/exec.cwd" && run_to /dev/null "$T/exec.idle" "$EXEC_PROG under the shim with bench/exec.toml" \
  env DTASK_LOG=info DTASK_CONFIG="$EXEC_CFG" LD_PRELOAD="$SHIM" "$EXEC_PROG")
grep -q "^dtask\[[0-9]*\]: $(basename "$EXEC_PROG") imports none of the $EXEC_NSYM listed symbols" "$T/exec.idle" ||
  die "exec: $EXEC_PROG did not stay idle under bench/exec.toml:" "$T/exec.idle"
[ ! -e "$root/q-exec" ] || die "exec: $EXEC_PROG under bench/exec.toml created the queue directory $root/q-exec"
declare -A EX
for w in $EXEC_WAYS; do EX[$w]=$(med "$T/exec.$w" exec_us); done
declare -A EXLABEL=(
  [plain]="without LD_PRELOAD"
  [empty]="LD_PRELOAD of an empty library (bench/empty.c): **the baseline**"
  [shim]="LD_PRELOAD of libdtask_shim.so, no config"
  [cfg]="**LD_PRELOAD of libdtask_shim.so, a config of $EXEC_NSYM symbols it does not import** (bench/exec.toml)")
md "## Exec of a program that catches nothing"
md ""
md "fork + exec + wait of $EXEC_PROG, $EXEC_N times in a row per run (after one untimed run); a figure is the median of the runs' time per exec. The target: the shim costs a program that catches nothing at most $EXEC_TARGET_US us (0.3 ms) per exec over preloading an empty library. Each way was checked to leave the shim idle (it says so at DTASK_LOG=info, and no queue directory appeared)."
md ""
md "| $EXEC_PROG, fork + exec + wait | us per exec | minus the baseline (us) | within the target ($EXEC_TARGET_US us) |"
md "|---|---:|---:|---|"
for w in $EXEC_WAYS; do
  case $w in
    plain) md "| ${EXLABEL[$w]} | ${EX[$w]} | $(calc - '%.2f' "${EX[$w]}" "${EX[empty]}") | |"
      rec exec "exec of $EXEC_PROG, without LD_PRELOAD" "${EX[$w]}" us ;;
    empty) md "| ${EXLABEL[$w]} | ${EX[$w]} | | |"
      rec exec "exec of $EXEC_PROG, empty library preloaded" "${EX[$w]}" us \
        "exec of $EXEC_PROG, without LD_PRELOAD" "${EX[plain]}" us ;;
    *) d=$(calc - '%.2f' "${EX[$w]}" "${EX[empty]}")
      met=$(awk -v d="$d" -v t="$EXEC_TARGET_US" 'BEGIN { print (d != "n/a" && d + 0 <= t + 0) ? "yes" : "no" }')
      V[exec.$w]=${EX[$w]} V[exec.$w.more]=$d V[exec.$w.met]=$met
      md "| ${EXLABEL[$w]} | ${EX[$w]} | $d | $met |"
      case $w in shim) what="shim without config" ;; *) what="shim with a config of $EXEC_NSYM symbols it does not import" ;; esac
      rec exec "exec of $EXEC_PROG, $what" "${EX[$w]}" us \
        "exec of $EXEC_PROG, empty library preloaded" "${EX[empty]}" us
      STAT="difference of the two medians" rec exec "exec of $EXEC_PROG, $what, over the empty library" "$d" us \
        "target: at most this much over the empty library" "$EXEC_TARGET_US" us
      STAT="computed from the medians above" \
        rec exec "exec of $EXEC_PROG, $what, within the target (1 yes, 0 no)" "$([ "$met" = yes ] && echo 1 || echo 0)" bool ;;
  esac
done
V[exec.empty]=${EX[empty]}
md ""

# ============================================================ 10. Redis
say "Redis: PING over a unix socket and TCP, Celery's null task, $RUNS run(s)"
RD=$root/redis
mkdir "$RD"
REDIS_SOCK=$RD/redis.sock
REDIS_PORT=""
REDIS_VERSION=$("$REDIS_SERVER" --version | sed -n 's/.* v=\([^ ]*\).*/\1/p')
CELERY_VERSION=$("$PY" -c 'import celery; print(celery.__version__)')
# A free TCP port on 127.0.0.1 (another program may take it before the
# server does: then the server exits and the next try takes another).
free_port() {
  "$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
# redis_start: the group's own server, in the foreground of a background
# job (no daemon: its pid is ours, stopped by cleanup), without
# persistence; REDIS_PORT once both its socket and its port answer PING.
redis_start() {
  local port i pid
  for _ in 1 2 3; do
    port=$(free_port)
    rm -f "$REDIS_SOCK"
    "$REDIS_SERVER" --bind 127.0.0.1 --port "$port" --unixsocket "$REDIS_SOCK" \
      --unixsocketperm 700 --save '' --appendonly no --daemonize no \
      --dir "$RD" --logfile '' </dev/null >"$RD/log" 2>&1 &
    pid=$!
    echo "$pid" >"$root/redis.pid"
    for i in $(seq 100); do
      kill -0 "$pid" 2>/dev/null || break
      if "$B/redis_ping" "$REDIS_SOCK" 0 2>/dev/null &&
        "$B/redis_ping" "127.0.0.1:$port" 0 2>/dev/null; then
        REDIS_PORT=$port
        return 0
      fi
      sleep 0.1
    done
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    : >"$root/redis.pid"
  done
  die "Redis: redis-server did not answer on $REDIS_SOCK and 127.0.0.1:$port (3 tries):" "$RD/log"
}
redis_start
REDIS_TCP=127.0.0.1:$REDIS_PORT
say "Redis: redis-server (pid $(cat "$root/redis.pid")) answers on $REDIS_SOCK and $REDIS_TCP"
CELERY_URL=redis://$REDIS_TCP/1
for w in unix tcp relay_unix relay_tcp celery; do : >"$T/redis.$w"; done
for i in $(seq "$RUNS"); do
  run_to "$T/redis.unix" "$T/redis.unix.err" "redis_ping over the unix socket (run $i)" \
    "$B/redis_ping" "$REDIS_SOCK" "$ROUNDS"
  run_to "$T/redis.tcp" "$T/redis.tcp.err" "redis_ping over TCP (run $i)" \
    "$B/redis_ping" "$REDIS_TCP" "$ROUNDS"
  run_to "$T/redis.relay_unix" "$T/redis.relay_unix.err" "redis_ping relay over the unix socket (run $i)" \
    "$B/redis_ping" "$REDIS_SOCK" "$ROUNDS" relay
  run_to "$T/redis.relay_tcp" "$T/redis.relay_tcp.err" "redis_ping relay over TCP (run $i)" \
    "$B/redis_ping" "$REDIS_TCP" "$ROUNDS" relay
  run_to "$T/redis.celery" "$T/redis.celery.err" "Celery null task (run $i)" \
    "$PY" bench/celery_null.py "$CELERY_URL" "$CELERY_N"
done
declare -A RL
for p in p50 p99 p999; do
  RL[unix_$p]=$(med "$T/redis.unix" "$p")
  RL[tcp_$p]=$(med "$T/redis.tcp" "$p")
  RL[relay_unix_$p]=$(med "$T/redis.relay_unix" "$p")
  RL[relay_tcp_$p]=$(med "$T/redis.relay_tcp" "$p")
  RL[celery_$p]=$(med "$T/redis.celery" "celery_$p")
  RL[lmdb_$p]=${L[dtask_$p]}
done
declare -A RLABEL=(
  [unix]="PING from hiredis, unix socket"
  [tcp]="PING from hiredis, TCP loopback"
  [relay_unix]="relay through two streams (no script), unix socket"
  [relay_tcp]="relay through two streams (no script), TCP loopback"
  [lmdb]="dtask null call, **LMDB queue**, no Redis (from the round-trip table above)"
  [celery]="Celery $CELERY_VERSION null task, delay().get(), 1 solo worker, TCP loopback")
# The limit: the faster of the two PINGs.
rlimit=$(for k in unix tcp; do
  [ "${RL[${k}_p50]}" = n/a ] || echo "${RL[${k}_p50]} $k"
done | sort -g | head -n 1 | cut -d' ' -f2)
[ -n "$rlimit" ] || die "Redis: redis_ping printed no figure" "$T/redis.unix.err" "$T/redis.tcp.err"
for p in p50 p99 p999; do RL[limit_$p]=${RL[${rlimit}_$p]}; done

# rrow KEY [NOREC]: a row of the Redis table from RL[KEY_p50...] and its
# records (none with NOREC: the figure is recorded in its own group); the
# limit's own row says so, the others have the limit as their baseline.
rrow() {
  local k=$1 label=${RLABEL[$1]} p
  [ "$k" = "$rlimit" ] && label="$label: **the limit** (fastest PING p50)"
  md "| $label | ${RL[${k}_p50]} | ${RL[${k}_p99]} | ${RL[${k}_p999]} | $(calc / '%.2f' "${RL[${k}_p50]}" "${RL[limit_p50]}") |"
  [ $# -lt 2 ] || return 0
  for p in p50 p99 p999; do
    if [ "$k" = "$rlimit" ]; then rec redis "$label, $p" "${RL[${k}_$p]}" us
    else rec redis "$label, $p" "${RL[${k}_$p]}" us "the Redis limit (${RLABEL[$rlimit]}), $p" "${RL[limit_$p]}" us; fi
  done
}

# redis_cfg NAME URL: bench/offload.toml with its [queue] on this Redis
# server (URL; key prefix NAME), its local directory private to the run;
# prints its path.
redis_cfg() {
  local out=$root/$1.toml
  sed "s|^path *=.*|path = \"$root/q-$1\"\nbackend = \"redis\"\nurl = \"$2\"\nname = \"$1\"|" \
    bench/offload.toml >"$out"
  echo "$out"
}

# redis_dtask_rows: dtask's own null call through this Redis server, the
# row the group exists for: $RUNS runs of bench/roundtrip 1 $N under
# dtask run -w 1 with a config whose [queue] is this server (db 2, off
# Celery's), over the unix socket and over TCP, each checked with
# offloaded; a row each.
redis_dtask_rows() {
  local k url cfg i p
  for k in unix tcp; do
    if [ "$k" = unix ]; then url="unix://$REDIS_SOCK?db=2"
    else url="redis://$REDIS_TCP/2"; fi
    cfg=$(redis_cfg "redis-$k" "$url")
    : >"$T/rr.$k"
    for i in $(seq "$RUNS"); do
      run_to "$T/rr.$k" "$T/rr.$k.err" "dtask through Redis, $k (run $i)" \
        "$DTASK" run -c "$cfg" -w 1 -- "$B/roundtrip" 1 "$N"
    done
    offloaded "$T/rr.$k" "dtask through Redis ($k)"
    for p in p50 p99 p999; do RL[redis_${k}_$p]=$(med "$T/rr.$k" "$p"); done
    RLABEL[redis_$k]="**dtask null call through Redis**, ${RLABEL[$k]#PING from hiredis, } (bn_add, dtask run -w 1)"
    rrow "redis_$k"
  done
}

# redis_demo: the demo's two programs, exec to exit, through this Redis
# server (dtask run -w $DEMO_WORKERS, demo/dtask.toml with its [queue] on
# the server's unix socket, db 3), $RUNS runs each; their output checked
# against the run without dtask (group 1's reference) and every call
# offloaded (the summary); a table beside group 1's LMDB figures.
redis_demo() {
  local k i o w id expect cfg=$root/redis-demo.toml
  # demo/dtask.toml has a [queue] table with a path: the backend, the
  # server and a key prefix go into it, the path becomes the run's own.
  sed -e "s|^\[queue\]|[queue]\nbackend = \"redis\"\nurl = \"unix://$REDIS_SOCK?db=3\"\nname = \"demo\"|" \
    -e "s|^path *=.*|path = \"$root/q-redis-demo\"|" demo/dtask.toml >"$cfg"
  grep -q '^backend = "redis"' "$cfg" && grep -q "^path = \"$root/" "$cfg" ||
    die "demo through Redis: demo/dtask.toml has no [queue] path to rewrite"
  for k in reports legacy; do
    case $k in
      reports) expect=(build_report 10 generate_reports 1) ;;
      legacy) expect=(legacy_lookup 5) ;;
    esac
    id=$(printf '%s\n' "$BUILD/demo/$k" | md5sum | cut -c1-12)
    : >"$T/rdemo.$k"
    for i in $(seq "$RUNS"); do
      o=$T/rdemo.$k.$i.out
      w=$(wall "$o" "demo $k through Redis" "$DTASK" run -c "$cfg" -w "$DEMO_WORKERS" -- "$BUILD/demo/$k")
      summary_says "$o.err" "demo $k through Redis (dtask run -w $DEMO_WORKERS, run $i)" "${expect[@]}"
      grep -v '^time ' "$o" >"$o.lines" || true
      if ! cmp -s "$T/demo.$id.ref" "$o.lines"; then
        diff "$T/demo.$id.ref" "$o.lines" >"$o.diff" || true
        die "demo $k through Redis printed something else (run $i):" "$o.diff"
      fi
      echo "wall $w" >>"$T/rdemo.$k"
    done
  done
  md "| the demo, exec to exit (s) | without dtask | dtask run -w $DEMO_WORKERS, LMDB | dtask run -w $DEMO_WORKERS, **through Redis** | Redis / LMDB |"
  md "|---|---:|---:|---:|---:|"
  local tag label r
  for k in reports legacy; do
    tag=$([ "$k" = reports ] && echo rwall || echo lwall)
    r=$(med "$T/rdemo.$k" wall)
    V[rdemo.$k]=$r
    label="$k: whole run, exec to exit"
    md "| $label | ${V[$tag.plain]} | ${V[$tag.off]} | $r | $(calc / '%.2f' "$r" "${V[$tag.off]}") |"
    rec redis_demo "demo $label, dtask run -w $DEMO_WORKERS through Redis" "$r" s \
      "demo $label, dtask run -w $DEMO_WORKERS (LMDB)" "${V[$tag.off]}" s
  done
}

STAT="median of $RUNS run(s) of the percentile over each run's round trips"
md "## Redis: one call to another process and back through one Redis server"
md ""
md "A private redis-server $REDIS_VERSION on this machine (no persistence), reached over a unix socket and over TCP on 127.0.0.1. Each run times $ROUNDS PINGs per transport (bench/redis_ping.c, after a warm-up) and $CELERY_N Celery null tasks (bench/celery_null.py: broker and results on the same server, after a warm-up); a figure is the median of the runs' percentiles. The limit is the fastest PING p50: a raw round trip to Redis and back, which no queue on Redis can beat. The relay (bench/redis_ping.c relay, $ROUNDS rounds) is the least a call through a broker costs: a process adds a request to a stream and blocks reading a reply stream (one write), a second process blocked on the request stream adds the reply and blocks again (one write): two messages through the server, four wake-ups, and nothing else (no script, no owner, no lease)."
md ""
md "| one call through one Redis server, 1 caller | p50 (us) | p99 (us) | p99.9 (us) | p50 / limit p50 |"
md "|---|---:|---:|---:|---:|"
rrow unix
rrow tcp
rrow relay_unix
rrow relay_tcp
redis_dtask_rows
rrow lmdb norec
rrow celery
md ""
STAT="median of $RUNS run(s)"
md "## The demo through Redis"
md ""
md "The demo's two programs, exec to exit, with demo/dtask.toml's queue on the same redis-server (unix socket), beside the LMDB figures of the demo table; every run's output was checked against the run without dtask and its summary to have offloaded every call. A figure is the median of $RUNS run(s)."
md ""
redis_demo
md ""

# ============================================================ 11. hosts
# Pools on 1, 2 and 4 "hosts" serving one Redis queue: each host a
# network namespace joined to this one by a veth pair on a bridge, its
# pool reaching a redis-server of its own over TCP, the callers here.
# The function sleeps (bn_nap, 1 ms): the figure is how throughput grows
# with hosts, against linear (the 1-host figure times the hosts).  Needs
# root (ip netns); otherwise the table says it was not measured.
HOSTS_LIST="1 2 4"
HOSTS_W=2
HOSTS_NAP=1000
HOSTS_S=$([ "$QUICK" = 1 ] && echo 1 || echo 3)
HOSTS_NET=10.231.77
HB=dtask-bhbr$$
hosts_down() {
  local k
  for k in 1 2 3 4; do ip netns del "dtask-bh$$-$k" 2>/dev/null || true; done
  ip link del "$HB" 2>/dev/null || true
}
hosts_up() {
  local k
  ip link add "$HB" type bridge &&
    ip addr add "$HOSTS_NET.1/24" dev "$HB" && ip link set "$HB" up || return 1
  for k in 1 2 3 4; do
    ip netns add "dtask-bh$$-$k" &&
      ip link add "dtbv$$$k" type veth peer name eth0 netns "dtask-bh$$-$k" &&
      ip link set "dtbv$$$k" master "$HB" up &&
      ip -n "dtask-bh$$-$k" addr add "$HOSTS_NET.$((10 + k))/24" dev eth0 &&
      ip -n "dtask-bh$$-$k" link set eth0 up &&
      ip -n "dtask-bh$$-$k" link set lo up || return 1
  done
}
# hosts_cfg NAME URL: the hosts config (bn_nap and bn_pid), its local
# directory NAME private to the run; prints its path.
hosts_cfg() {
  local out=$root/$1.toml
  cat >"$out" <<EOC
[queue]
backend = "redis"
url = "$2"
name = "hosts"
path = "$root/q-$1"

[runner]
autostart = false

[[offload]]
signature = "long bn_nap(int us)"

[[offload]]
signature = "int bn_pid()"
EOC
  echo "$out"
}
# hosts_run H: one run of napcalls against pools on hosts 1..H; appends
# "tp_H VALUE" and "hosts_H VALUE" to $T/hosts.
hosts_run() {
  local h=$1 k pids=() cfg c=$(($1 * HOSTS_W * 2)) i
  for k in $(seq "$h"); do
    cfg=$(hosts_cfg "hosts-$k" "redis://$HOSTS_NET.1:$HOSTS_PORT/0")
    ip netns exec "dtask-bh$$-$k" env DTASK_HOST_ID="bench-h$k" DTASK_LOG=info \
      "$BUILD/dtask-runner" -c "$cfg" -w "$HOSTS_W" -- "$B/napcalls" \
      </dev/null >/dev/null 2>"$T/hosts-$k.log" &
    pids+=($!)
  done
  for k in $(seq "$h"); do
    for i in $(seq 200); do
      grep -q ' serves ' "$T/hosts-$k.log" 2>/dev/null && break
      sleep 0.05
    done
    grep -q ' serves ' "$T/hosts-$k.log" ||
      die "hosts: the pool of host $k did not start:" "$T/hosts-$k.log"
  done
  cfg=$(hosts_cfg hosts-0 "redis://$HOSTS_NET.1:$HOSTS_PORT/0")
  : >"$T/hosts.one"
  run_to "$T/hosts.one" "$T/hosts.err" "napcalls on $h host(s)" \
    env DTASK_CONFIG="$cfg" LD_PRELOAD="$SHIM" "$B/napcalls" "$c" "$HOSTS_S" "$HOSTS_NAP"
  offloaded "$T/hosts.one" "napcalls on $h host(s)"
  [ "$(awk '$1 == "hosts" { print $2 }' "$T/hosts.one")" = "$h" ] ||
    die "hosts: napcalls on $h host(s) was served by $(awk '$1 == "hosts" { print $2 }' "$T/hosts.one") host(s)" "$T/hosts.one"
  awk -v h="$h" '$1 == "throughput" { print "tp_" h, $2 }' "$T/hosts.one" >>"$T/hosts"
  kill -TERM "${pids[@]}" 2>/dev/null || true
  wait "${pids[@]}" 2>/dev/null || true
}
md "## Runners on many hosts: one Redis queue, pools on 1, 2 and 4 hosts"
md ""
if [ "$(id -u)" = 0 ] && command -v ip >/dev/null 2>&1; then
  say "hosts: pools in 1, 2 and 4 network namespaces, $RUNS run(s)"
  trap 'hosts_down; cleanup' EXIT
  hosts_down
  hosts_up || die "hosts: cannot make the namespaces and the bridge (ip netns, veth, bridge)"
  HOSTS_PORT=$(free_port)
  "$REDIS_SERVER" --bind "$HOSTS_NET.1" --port "$HOSTS_PORT" --save '' \
    --appendonly no --daemonize no --protected-mode no --dir "$RD" \
    --logfile '' </dev/null >"$RD/hosts.log" 2>&1 &
  HOSTS_RS=$!
  for i in $(seq 100); do
    "$B/redis_ping" "$HOSTS_NET.1:$HOSTS_PORT" 0 2>/dev/null && break
    sleep 0.1
  done
  : >"$T/hosts"
  for i in $(seq "$RUNS"); do
    for h in $HOSTS_LIST; do hosts_run "$h"; done
  done
  kill -TERM "$HOSTS_RS" 2>/dev/null || true
  wait "$HOSTS_RS" 2>/dev/null || true
  hosts_down
  declare -A HT
  for h in $HOSTS_LIST; do HT[$h]=$(med "$T/hosts" "tp_$h"); done
  md "Each host is a network namespace with its own pool of $HOSTS_W workers (dtask-runner, DTASK_HOST_ID bench-hK), reaching one private redis-server over TCP through a veth pair and a bridge; the callers ($((2 * HOSTS_W)) threads per host) run here, each calling bn_nap($HOSTS_NAP us), a sleep, for $HOSTS_S s. A figure is the median of $RUNS run(s); every run checked that every host served calls. Linear is the 1-host figure times the hosts; the target is at least 0.9 of it."
  md ""
  md "| hosts x $HOSTS_W workers | calls/s | linear (calls/s) | of linear | at least 0.9 |"
  md "|---:|---:|---:|---:|---|"
  for h in $HOSTS_LIST; do
    lin=$(calc '*' '%.0f' "${HT[1]}" "$h")
    frac=$(calc / '%.2f' "${HT[$h]}" "$lin")
    met=$(awk -v f="$frac" 'BEGIN { print (f != "n/a" && f >= 0.9) ? "yes" : "no" }')
    HT[frac_$h]=$frac
    HT[met_$h]=$met
    md "| $h | ${HT[$h]} | $lin | $frac | $met |"
    STAT="median of $RUNS run(s)"
    if [ "$h" = 1 ]; then rec hosts "bn_nap(1 ms) through Redis, 1 host x $HOSTS_W workers" "${HT[$h]}" "calls/s"
    else rec hosts "bn_nap(1 ms) through Redis, $h hosts x $HOSTS_W workers" "${HT[$h]}" "calls/s" "linear from 1 host x $h" "$lin" "calls/s"; fi
  done
  HOSTS_SAID="- Throughput of a 1 ms call through one Redis queue grew from ${HT[1]} calls/s on 1 host to ${HT[4]} on 4 hosts ($HOSTS_W workers each): ${HT[frac_4]} of linear (target at least 0.9: $([ "${HT[met_4]}" = yes ] && echo met || echo "not met") in this run; 2 hosts: ${HT[frac_2]})."
else
  md "Not measured in this run: it needs root (network namespaces)."
  HOSTS_SAID="- Runners on many hosts: not measured in this run (needs root for network namespaces)."
fi
md ""

# ========================================================= plots
say "plots"
# The latency histogram: log-spaced bins, 50 per decade, as fractions.
awk '$1 > 0 { b = int(log($1) / log(10) * 50); c[b]++; n++ }
     END { for (b in c) printf "%.4f %.4f %.6f\n", 10 ^ (b / 50), 10 ^ ((b + 1) / 50), c[b] / n }' \
  "$OUT/latency.dat" | sort -g >"$OUT/latency_hist.dat"
rm -f "$OUT/latency.dat"
plots=""
why=""
if command -v gnuplot >/dev/null 2>&1; then
  term=png
  gnuplot -e 'set terminal pngcairo' </dev/null >/dev/null 2>&1 && term=pngcairo
  case $limit in futex_same) lname="one CPU" ;; futex_cross) lname="two CPUs" ;; *) lname="unpinned" ;; esac
  if timeout -k 10 "$TMO" gnuplot -e "dir='$OUT'; term='$term'; machine='$short'; limit=${L[limit_p50]}; limitname='$lname'; pipe=${L[${pipe_best}_p50]}; p50=${L[dtask_p50]}; p99=${L[dtask_p99]}; p999=${L[dtask_p999]}" \
    bench/plot.gp </dev/null 2>"$T/gnuplot.err"; then
    plots="latency.png throughput.png argsize.png"
    for p in $plots; do
      [ -s "$OUT/$p" ] || { plots=""; why="gnuplot did not write $p"; break; }
    done
  else
    why="gnuplot failed: $(grep -v '^ *$' "$T/gnuplot.err" | tail -n 1)"
  fi
  [ -z "$why" ] || { say "$why; no plots:"; sed 's/^/bench:   /' "$T/gnuplot.err" >&2; }
else
  why="gnuplot is not installed; tools/deps.sh --bench (run by make bench, as root or with sudo) installs gnuplot-nox"
  say "$why; no plots"
fi

# ========================================================= in short
elapsed=$(awk -v a="$START" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.0f\n", b - a }')
# Every sentence below is computed from the figures above.
md "## In short"
md ""
md "- Offloaded to $DEMO_WORKERS workers, the 5 caller threads of reports took ${V[thr.off]} s (${V[thr.plain]} s without dtask, ${V[thr.x]}x), and legacy's 5 threads behind one library lock took ${V[lock.off]} s instead of ${V[lock.plain]} s (${V[lock.x]}x)."
md "- One call of generate_reports(5), split into 5 slices, took ${V[split.off]} s against ${V[split.plain]} s without dtask (${V[split.x]}x): ${V[split.over]}% over its physical limit of $DEMO_LIMIT s, so the target (within ${DEMO_TARGET_PCT}%) is $([ "${V[split.met]}" = yes ] && echo met || echo "not met") in this run."
md "- bn_burn($FAN_N), CPU-bound, split over $CORES workers on $CORES cores, ran ${V[burn.x]}x as fast as without dtask: ${V[burn.eff]}% of the ${CORES}x that $CORES cores allow."
ppe_txt=""
if [ -n "$PY" ]; then
  ppe_txt=", and $(calc / '%.1f' "${L[ppe_p50]}" "${L[dtask_p50]}")x faster than Python's ProcessPoolExecutor (${L[ppe_p50]} us)"
fi
md "- A dtask null call's round trip: p50 ${L[dtask_p50]} us, p99 ${L[dtask_p99]} us, p99.9 ${L[dtask_p999]} us; its p50 is $(calc / '%.2f' "${L[dtask_p50]}" "${L[limit_p50]}")x the physical limit (a futex handoff, ${LIMIT_LABEL#futex handoff in shared memory, }: ${L[limit_p50]} us)$ppe_txt."
md "- The most null calls per second: ${V[tp.best]}, with ${V[tp.best_at]}."
md "- A $(human "${V[arg.max.n]}") in+out buffer moved at ${V[arg.max.cm]} MB/s through dtask, against ${V[arg.max.mm]} MB/s for memcpy; the call took ${V[arg.max.xr]}x the same copies between two processes with nothing else."
md "- Sync mode adds ${V[so.bn_add]} ns to a call of bn_add and ${V[so.bn_mix]} ns to bn_mix; a call that offload_if keeps in the caller pays ${V[sol.bn_add]} ns and ${V[sol.bn_mix]} ns (target: at most 15 ns)."
md "- With autostart, the first call returned ${V[cold.cold]} ms after exec, ${V[cold.more]} ms more than without dtask."
md "- $EXEC_PROG, which catches nothing, took ${V[exec.cfg]} us per exec under the shim with a config of $EXEC_NSYM symbols, ${V[exec.cfg.more]} us more than with an empty library preloaded (${V[exec.empty]} us): the target (at most $EXEC_TARGET_US us more) is $([ "${V[exec.cfg.met]}" = yes ] && echo met || echo "not met") in this run; without a config the shim cost ${V[exec.shim.more]} us."
rbest=$(for k in unix tcp; do echo "${RL[redis_${k}_p50]} $k"; done | sort -g | head -n 1 | cut -d' ' -f2)
rx=$(calc / '%.2f' "${RL[redis_${rbest}_p50]}" "${RL[limit_p50]}")
cx=$(calc / '%.1f' "${RL[celery_p50]}" "${RL[redis_${rbest}_p50]}")
md "- Through Redis, a dtask null call took ${RL[redis_unix_p50]} us (p50, unix socket) and ${RL[redis_tcp_p50]} us (TCP): at best ${rx}x the PING limit (target at most 4x: $(awk -v x="$rx" 'BEGIN { print (x != "n/a" && x <= 4) ? "met" : "not met" }') in this run) and ${cx}x faster than Celery's null task (target at least 20x: $(awk -v x="$cx" 'BEGIN { print (x != "n/a" && x >= 20) ? "met" : "not met" }'))."
relbest=$(for k in relay_unix relay_tcp; do echo "${RL[${k}_p50]} $k"; done | sort -g | head -n 1 | cut -d' ' -f2)
md "- The relay, two processes passing a request and its reply through two streams with nothing else (no script, no owner or lease), took ${RL[${relbest}_p50]} us (p50, ${RLABEL[$relbest]##*, }): $(calc / '%.1f' "${RL[celery_p50]}" "${RL[${relbest}_p50]}")x faster than Celery, the most any call through this server can be; dtask's null call took $(calc / '%.2f' "${RL[redis_${rbest}_p50]}" "${RL[${relbest}_p50]}")x the relay."
md "$HOSTS_SAID"
md "- Through one Redis server, a PING from hiredis took ${RL[limit_p50]} us (p50, ${RLABEL[$rlimit]#PING from hiredis, }: the limit of a queue on Redis) and a Celery null task ${RL[celery_p50]} us, $(calc / '%.1f' "${RL[celery_p50]}" "${RL[limit_p50]}")x that limit and $(calc / '%.1f' "${RL[celery_p50]}" "${L[dtask_p50]}")x dtask's null call on its LMDB queue (${L[dtask_p50]} us)."
md ""
if [ -n "$plots" ]; then md "Plots: $plots."; else md "Plots: none ($why)."; fi
md "This run took $elapsed s."

# ===================================================== JSON
{
  echo "{"
  echo "  \"suite\": \"dtask bench\","
  echo "  \"date\": $(jstr "$(date -u +%Y-%m-%dT%H:%M:%SZ)"),"
  echo "  \"command\": $(jstr "$command_line"),"
  echo "  \"quick\": $([ "$QUICK" = 1 ] && echo true || echo false),"
  echo "  \"runs\": $RUNS,"
  echo "  \"statistic\": \"each figure's own: see statistic in every result\","
  echo "  \"git\": {\"commit\": $(jstr "$commit"), \"dirty\": $dirty},"
  echo "  \"elapsed_s\": $elapsed,"
  echo "  \"machine\": {"
  echo "    \"nproc\": $CORES,"
  echo "    \"cpu\": $(jstr "$cpu"),"
  echo "    \"os\": $(jstr "$os"),"
  echo "    \"uname\": $(jstr "$(uname -a)")"
  echo "  },"
  echo "  \"python3\": $(jstr "${PY:-none}"),"
  echo "  \"physical_limit\": $(jstr "${LABEL[$limit]}"),"
  echo "  \"redis\": {\"server\": $(jstr "redis-server $REDIS_VERSION"), \"celery\": $(jstr "$CELERY_VERSION"), \"limit\": $(jstr "${RLABEL[$rlimit]}")},"
  echo "  \"plots\": $(jstr "${plots:-none: $why}"),"
  echo "  \"results\": ["
  sed '$ s/,$//' "$T/records"
  echo "  ]"
  echo "}"
} >"$OUT/results.json"
if [ -n "$PY" ] && ! "$PY" -m json.tool "$OUT/results.json" >/dev/null; then
  die "results.json is not valid JSON"
fi

if [ "$QUICK" != 1 ] && [ "$OUT_GIVEN" != 1 ]; then
  mkdir -p bench/results/latest
  rm -f bench/results/latest/*
  cp "$OUT/results.json" bench/results/latest/
  for p in $plots; do cp "$OUT/$p" bench/results/latest/; done
  cp "$OUT/results.md" bench/results/latest.md
  bash bench/readme.sh || die "README.md's measured block was not rewritten (bench/readme.sh failed)"
  say "saved $OUT_SHOW/, bench/results/latest.md, bench/results/latest/ and README.md's measured block"
else
  say "saved $OUT_SHOW/ (a QUICK run, or one with OUT given, leaves bench/results/latest* and README.md alone)"
fi
