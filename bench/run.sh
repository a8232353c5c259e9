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
# The code is in this file and in files it sources, in this order, from
# its own directory (they share its shell: its variables, arrays and
# set -euo pipefail; none of them runs on its own): lib.sh, the helpers;
# part_demo.sh, groups 1 and 2; part_latency.sh, 3 and 4;
# part_throughput.sh, 5 and 5b; part_sizes.sh, 6 to 9; part_redis.sh, 10
# and 11; part_summary.sh, the plots and "In short".  This file sets the
# run up, writes the report's head and, at the end, results.json.
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

# shellcheck source=bench/lib.sh
. "$TOP/bench/lib.sh"

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

# shellcheck source=bench/part_demo.sh
. "$TOP/bench/part_demo.sh"
# shellcheck source=bench/part_latency.sh
. "$TOP/bench/part_latency.sh"
# shellcheck source=bench/part_throughput.sh
. "$TOP/bench/part_throughput.sh"
# shellcheck source=bench/part_sizes.sh
. "$TOP/bench/part_sizes.sh"
# shellcheck source=bench/part_redis.sh
. "$TOP/bench/part_redis.sh"
# shellcheck source=bench/part_summary.sh
. "$TOP/bench/part_summary.sh"

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
