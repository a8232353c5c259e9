#!/usr/bin/env bash
# run.sh: dtask's benchmark suite (make bench).
#
# Every figure is the median of RUNS runs (5; 1 with QUICK=1), and every
# figure is printed beside a baseline measured in the same run of this
# script:
#   1. the demo (demo/): reports and legacy without dtask, in sync mode
#      and offloaded with dtask run -w 5: wall times, including the
#      fan-out of one generate_reports call; then a CPU-bound batch
#      (bn_burn) split over one worker per core, beside the same call
#      without dtask;
#   2. round trip of one null call, 1 caller x 1 worker: p50, p99, p99.9,
#      beside the anchors: a futex handoff between two processes (the
#      physical limit), a pipe pair, Python's ProcessPoolExecutor (when
#      python3 is present) and a direct call;
#   3. throughput with C callers x W workers, C and W in 1, 2, 4, 8,
#      beside C threads making direct calls;
#   4. argument size: bn_copy(in src[n], n, out dst[n]) from 0 B to
#      16 MiB, in MB/s, beside memcpy of n bytes in the same process;
#   5. sync-mode stub overhead per call, beside a direct call;
#   6. cold start: from exec to the first call returned, with autostart,
#      beside a direct call and a pool that already runs.
#
# Output: the Markdown tables on stdout (progress on stderr), and in
# bench/results/<UTC time>/ (suffix -quick for QUICK=1): results.md,
# results.json (machine, every figure with its unit and its baseline)
# and the gnuplot PNGs (latency.png, throughput.png, argsize.png) with
# their data files.  A full run that completes also copies results.md to
# bench/results/latest.md and results.json and the plots to
# bench/results/latest/; a QUICK run leaves those alone.
#
# Every queue lives in a private directory in /dev/shm, removed at exit,
# so a concurrent `make demo` or test run cannot share a pool with this
# one; every pool started here is stopped.  Offloaded figures are only
# printed when the program proved that its calls ran in a worker.
#
# Environment: BUILD (default build), QUICK (1: a smoke run, about 30 s).
set -euo pipefail
export LC_ALL=C
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$PWD/$BUILD ;; esac
B=$BUILD/bench
DTASK=$BUILD/dtask
SHIM=$BUILD/libdtask_shim.so
QUICK=${QUICK:-0}
DEMO_WORKERS=5
SIZES_MAX=$((16 << 20))
if [ "$QUICK" = 1 ]; then
  RUNS=1; N=2000; ROUNDS=2000; PPE=200; TP=1000; NS=200000; R=3
  ARG_BUDGET=$((4 << 20)); ARG_CALLS=100
else
  RUNS=5; N=20000; ROUNDS=20000; PPE=2000; TP=8000; NS=5000000; R=9
  ARG_BUDGET=$((256 << 20)); ARG_CALLS=2000
fi

for f in "$DTASK" "$SHIM" "$B/roundtrip" "$B/anchors" "$B/argsize" \
  "$B/coldstart" "$B/burn" "$B/sync_overhead" "$BUILD/demo/reports" "$BUILD/demo/legacy"; do
  if [ ! -x "$f" ] && [ ! -f "$f" ]; then
    echo "bench: $f is missing; run make bench (or make first)" >&2
    exit 1
  fi
done
# A sanitizer build measures the sanitizer: refuse it.
if command -v readelf >/dev/null 2>&1 && readelf -d "$SHIM" | grep -q 'libasan\|libubsan'; then
  echo "bench: $SHIM is built with sanitizers; run make bench without SANITIZE=1" >&2
  exit 1
fi
# Settings of the caller's shell must not change what is measured.
unset DTASK_CONFIG DTASK_MODE DTASK_TRACE DTASK_LOG DTASK_STRICT DTASK_ROLE \
  DTASK_WORKERS DTASK_STATS DTASK_SHIM DTASK_AUTOSTARTED DTASK_READY_FD \
  BENCH_T0 BENCH_PRELOAD

PY=""
if [ -x /usr/bin/python3 ]; then PY=/usr/bin/python3
elif command -v python3 >/dev/null 2>&1; then PY=$(command -v python3); fi

stamp=$(date -u +%Y%m%dT%H%M%SZ)
[ "$QUICK" = 1 ] && stamp=$stamp-quick
OUT=bench/results/$stamp
mkdir -p "$OUT"
: >"$OUT/results.md"
root=$(mktemp -d /dev/shm/dtask-bench.XXXXXX)
chmod 700 "$root"
T=$root/tmp
mkdir "$T"
: >"$T/records"
: >"$root/pools"

# Stops the autostarted pools still alive (their supervisors' pids are in
# $root/pools, and each must still be a coldstart process), then removes
# the private directory.
cleanup() {
  local p
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
  for f in "$@"; do [ -s "$f" ] && sed 's/^/bench:   /' "$f" >&2; done
  exit 1
}

# med FILE KEY: the median of the values of the "KEY VALUE" lines of FILE
# (n/a when there is none).
med() {
  awk -v k="$2" '$1 == k { print $2 }' "$1" | sort -g |
    awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)]; else print "n/a" }'
}

# calc EXPR FORMAT A B: A EXPR B with awk (EXPR: / or - or *), n/a when
# either is n/a or the division is by zero.
calc() {
  awk -v a="$3" -v b="$4" -v op="$1" -v f="$2" 'BEGIN {
    if (a == "n/a" || b == "n/a" || (op == "/" && b + 0 == 0)) { print "n/a"; exit }
    r = op == "/" ? a / b : op == "-" ? a - b : a * b
    printf f "\n", r }'
}

# collect FILE CMD...: runs CMD $RUNS times, appending its stdout to FILE
# and its stderr to FILE.err; a failing run stops the bench.
collect() {
  local file=$1 i
  shift
  for i in $(seq "$RUNS"); do
    "$@" >>"$file" 2>>"$file.err" || die "failed (run $i): $*" "$file.err"
  done
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
# for results.json.  Names and units are this script's own strings.
rec() {
  local base="null" name=${2//\*\*/}
  num() {
    if [[ $1 =~ ^-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?$ ]]; then echo "$1"; else echo null; fi
  }
  if [ $# -ge 7 ]; then
    base=$(printf '{"name": "%s", "value": %s, "unit": "%s"}' "$5" "$(num "$6")" "$7")
  fi
  printf '    {"group": "%s", "name": "%s", "value": %s, "unit": "%s", "baseline": %s}' \
    "$1" "$name" "$(num "$3")" "$4" "$base" >>"$T/records"
  printf ',\n' >>"$T/records"
}

# jstr TEXT: TEXT as a JSON string.
jstr() {
  printf '"%s"' "$(printf '%s' "$1" | sed 's/\\/\\\\/g; s/"/\\"/g' | tr -d '\000-\037')"
}

# wall CMD...: runs CMD with stdout to $WALL_OUT and stderr to
# $WALL_OUT.err and prints its wall time in seconds.
wall() {
  local t0 t1
  t0=$EPOCHREALTIME
  "$@" >"$WALL_OUT" 2>"$WALL_OUT.err" || die "failed: $*" "$WALL_OUT.err"
  t1=$EPOCHREALTIME
  awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f\n", b - a }'
}

cpu=$(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null)
[ -n "$cpu" ] || cpu=$(uname -m)
os=$(sed -n 's/^PRETTY_NAME="\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' /etc/os-release 2>/dev/null || true)
[ -n "$os" ] || os=$(uname -s)
machine="$(nproc) cores, $cpu, $os, Linux $(uname -r)"
short="$(nproc) cores, $(uname -m)"

md "# dtask bench"
md ""
md "$machine; $(date -u '+%Y-%m-%d %H:%M UTC')."
md "Command: \`make bench$([ "$QUICK" = 1 ] && echo ' QUICK=1')\`; every figure is the median of $RUNS run(s), beside its baseline from the same run."
if [ "$QUICK" = 1 ]; then md "Files: \`$OUT/\` (results.json, plots)."
else md "Files: \`$OUT/\` (results.json, plots), copied to \`bench/results/latest/\`."; fi
md ""

# ================================================================ 1. demo
say "demo: reports and legacy, $RUNS run(s) each way"
DEMO_CFG=$(cfg demo demo/dtask.toml)

# demo_runs ID PROG ARGS...: runs PROG $RUNS times each way (interleaved):
# without dtask, DTASK_MODE=sync and dtask run -w $DEMO_WORKERS.  Each way
# gets a file $T/demo.ID.WAY of "KEY VALUE" lines: KEY is a "time KEY
# SECONDS" line of the program's, or wall (exec to exit).  The lines other
# than "time" ones must be the same every time.
demo_runs() {
  local id=$1 i way w
  shift
  for i in $(seq "$RUNS"); do
    for way in plain sync off; do
      WALL_OUT=$T/demo.$id.$way.out
      case $way in
        plain) w=$(wall "$@") ;;
        sync) w=$(wall env DTASK_CONFIG="$DEMO_CFG" DTASK_MODE=sync LD_PRELOAD="$SHIM" "$@") ;;
        off) w=$(wall "$DTASK" run -c "$DEMO_CFG" -w "$DEMO_WORKERS" -- "$@") ;;
      esac
      echo "wall $w" >>"$T/demo.$id.$way"
      awk '$1 == "time" { print $2, $3 }' "$WALL_OUT" >>"$T/demo.$id.$way"
      grep -v '^time ' "$WALL_OUT" >"$WALL_OUT.lines" || true
      if [ ! -f "$T/demo.$id.ref" ]; then
        cp "$WALL_OUT.lines" "$T/demo.$id.ref"
      elif ! cmp -s "$T/demo.$id.ref" "$WALL_OUT.lines"; then
        diff "$T/demo.$id.ref" "$WALL_OUT.lines" >"$WALL_OUT.diff" || true
        die "demo: $* printed something else ($way, run $i):" "$WALL_OUT.diff"
      fi
    done
  done
  touch "$T/demo.$id.done"
}

# demo_row LABEL KEY PROG ARGS...: one row of the demo table: the median
# of KEY (a "time KEY" line of PROG's, or wall) each way, and the speed-up
# (without dtask / offloaded).  Rows with the same PROG ARGS share runs.
demo_row() {
  local label=$1 key=$2 id plain sync off
  shift 2
  id=$(printf '%s\n' "$@" | md5sum | cut -c1-12)
  [ -f "$T/demo.$id.done" ] || demo_runs "$id" "$@"
  plain=$(med "$T/demo.$id.plain" "$key")
  sync=$(med "$T/demo.$id.sync" "$key")
  off=$(med "$T/demo.$id.off" "$key")
  md "| $label | $plain | $sync | $off | $(calc / '%.2fx' "$plain" "$off") |"
  rec demo "$label, without dtask" "$plain" s
  rec demo "$label, DTASK_MODE=sync" "$sync" s "$label, without dtask" "$plain" s
  rec demo "$label, dtask run -w $DEMO_WORKERS" "$off" s "$label, without dtask" "$plain" s
}

md "## The demo (demo/, config demo/dtask.toml)"
md ""
md "build_report() waits 0.5 s; legacy_lookup() holds its library's one global lock for 0.3 s."
md ""
md "| wall time (s) | without dtask | DTASK_MODE=sync | dtask run -w $DEMO_WORKERS | speed-up |"
md "|---|---:|---:|---:|---:|"
demo_row "reports: 5 calls in a row" sequential "$BUILD/demo/reports"
demo_row "reports: 5 caller threads" threads "$BUILD/demo/reports"
demo_row "reports: whole run, exec to exit" wall "$BUILD/demo/reports"
demo_row "legacy: 5 threads, one lock in the library" threads "$BUILD/demo/legacy"
demo_row "legacy: whole run, exec to exit" wall "$BUILD/demo/legacy"
demo_row "reports: 1 call of generate_reports(5), split" batch "$BUILD/demo/reports"
md ""
md "The split row is one call of a single-threaded program: split = { over = \"n\" } cuts it into one slice per worker, so its five 0.5 s reports take about 0.5 s."
md ""

# ====================================================== 1b. fan-out, CPU
say "fan-out: a CPU-bound batch, $RUNS run(s) each way"
FAN_CFG=$(cfg fanout bench/fanout.toml)
FAN_N=2000
[ "$QUICK" = 1 ] && FAN_N=400
CORES=$(nproc)
for i in $(seq "$RUNS"); do
  "$B/burn" "$FAN_N" >>"$T/fan.plain" 2>>"$T/fan.plain.err" || die "burn failed" "$T/fan.plain.err"
  "$DTASK" run -c "$FAN_CFG" -w "$CORES" -- "$B/burn" "$FAN_N" >>"$T/fan.off" 2>>"$T/fan.off.err" ||
    die "burn under dtask failed" "$T/fan.off.err"
done
offloaded "$T/fan.off" "the fan-out batch"
if [ "$(awk '$1 == "sum"' "$T/fan.plain" | sort -u)" != "$(awk '$1 == "sum"' "$T/fan.off" | sort -u)" ]; then
  die "the split bn_burn returned another sum than the local one" "$T/fan.off"
fi
fplain=$(med "$T/fan.plain" batch)
foff=$(med "$T/fan.off" batch)
md "| CPU-bound batch: one call of bn_burn($FAN_N) | without dtask (s) | split over $CORES workers (s) | speed-up | cores |"
md "|---|---:|---:|---:|---:|"
md "| about 0.1 ms of one core per element | $fplain | $foff | $(calc / '%.2fx' "$fplain" "$foff") | $CORES |"
md ""
rec fanout "bn_burn($FAN_N) split over $CORES workers" "$foff" s "bn_burn($FAN_N) without dtask" "$fplain" s

# ======================================================= 2. null call
say "null-call round trip and anchors"
OFF_CFG=$(cfg offload bench/offload.toml)
# off W C CALLS [FILE]: roundtrip with C callers under dtask run -w W.
off() { "$DTASK" run -c "$OFF_CFG" -w "$1" -- "$B/roundtrip" "$2" "$3" ${4:+"$4"}; }

collect "$T/anchors" "$B/anchors" "$ROUNDS"
if [ -n "$PY" ]; then collect "$T/ppe" "$PY" bench/ppe.py "$PPE"; else : >"$T/ppe"; fi
collect "$T/direct" "$B/roundtrip" 1 "$N"
: >"$OUT/latency.dat"
collect "$T/rt" off 1 1 "$N" "$PWD/$OUT/latency.dat"
offloaded "$T/rt" "round trip"

declare -A L
for p in p50 p99 p999; do
  L[futex_$p]=$(med "$T/anchors" "futex_$p")
  L[pipe_$p]=$(med "$T/anchors" "pipe_$p")
  L[ppe_$p]=$(med "$T/ppe" "ppe_$p")
  L[direct_$p]=$(med "$T/direct" "$p")
  L[dtask_$p]=$(med "$T/rt" "$p")
done
lrow() { # LABEL KEY: a latency row and its records
  local p
  md "| $1 | ${L[$2_p50]} | ${L[$2_p99]} | ${L[$2_p999]} | $(calc / '%.2f' "${L[$2_p50]}" "${L[futex_p50]}") |"
  for p in p50 p99 p999; do
    if [ "$2" = futex ]; then rec roundtrip "$1, $p" "${L[$2_$p]}" us
    else rec roundtrip "$1, $p" "${L[$2_$p]}" us "futex handoff, $p" "${L[futex_$p]}" us; fi
  done
}
md "## Round trip of one blocking null call, 1 caller, 1 worker"
md ""
md "| one call to another process and back | p50 (us) | p99 (us) | p99.9 (us) | p50 / futex p50 |"
md "|---|---:|---:|---:|---:|"
lrow "futex handoff in shared memory (the physical limit)" futex
lrow "pipe pair" pipe
lrow "**dtask, LMDB queue** (bn_add, dtask run -w 1)" dtask
if [ -n "$PY" ]; then lrow "Python ProcessPoolExecutor, null function" ppe
else md "| Python ProcessPoolExecutor, null function | n/a (no python3) | | | |"; fi
lrow "(direct call, no process boundary)" direct
md ""
md "$N calls per run; the histogram of all $((N * RUNS)) dtask calls is latency.png."
md ""

# ====================================================== 3. throughput
say "throughput, C callers x W workers, C and W in 1 2 4 8"
WS="1 2 4 8"
for i in $(seq "$RUNS"); do
  for c in $WS; do
    "$B/roundtrip" "$c" $((TP / c)) >>"$T/tpd.$c" 2>>"$T/tpd.$c.err" ||
      die "failed: roundtrip $c" "$T/tpd.$c.err"
    for w in $WS; do
      off "$w" "$c" $((TP / c)) >>"$T/tp.$c.$w" 2>>"$T/tp.$c.$w.err" ||
        die "failed: $c callers x $w workers (run $i)" "$T/tp.$c.$w.err"
    done
  done
done
md "## Throughput: null calls per second, C callers x W workers"
md ""
md "| callers C | W = 1 | W = 2 | W = 4 | W = 8 | direct calls/s, C threads |"
md "|---:|---:|---:|---:|---:|---:|"
declare -A TPV
for c in $WS; do
  row="| $c"
  d=$(med "$T/tpd.$c" throughput)
  for w in $WS; do
    offloaded "$T/tp.$c.$w" "throughput $c x $w"
    TPV[$c.$w]=$(med "$T/tp.$c.$w" throughput)
    row="$row | ${TPV[$c.$w]}"
    rec throughput "$c callers x $w workers" "${TPV[$c.$w]}" calls/s \
      "$c threads, direct calls" "$d" calls/s
  done
  md "$row | $d |"
done
{
  echo "# workers, then calls/s with 1 2 4 8 callers"
  for w in $WS; do
    echo "$w ${TPV[1.$w]} ${TPV[2.$w]} ${TPV[4.$w]} ${TPV[8.$w]}"
  done
} >"$OUT/throughput.dat"
md ""
md "$TP calls per run, split between the callers; one caller and one pair handing a futex back and forth could do $(calc / '%.0f' 1000000 "${L[futex_p50]}") calls/s (1 / futex p50)."
md ""

# ===================================================== 4. argument size
say "argument size, 0 B to $((SIZES_MAX >> 20)) MiB"
ARG_CFG=$(cfg argsize bench/argsize.toml)
collect "$T/arg" "$DTASK" run -c "$ARG_CFG" -w 1 -- "$B/argsize" "$SIZES_MAX" "$ARG_BUDGET" "$ARG_CALLS"
offloaded "$T/arg" "argument size"
human() { awk -v n="$1" 'BEGIN { u = "B"; split("KiB MiB GiB", us, " ")
  for (i = 1; n >= 1024 && i <= 3; i++) { n /= 1024; u = us[i] } printf "%g %s\n", n, u }'; }
md "## Argument size: bn_copy(in char src[n], size_t n, out char dst[n]), dtask run -w 1"
md ""
md "| n (in and out) | dtask call (us) | dtask MB/s | memcpy of n (us) | memcpy MB/s | call / memcpy |"
md "|---:|---:|---:|---:|---:|---:|"
: >"$OUT/argsize.dat"
echo "# bytes, dtask MB/s, memcpy MB/s" >"$OUT/argsize.dat"
mapfile -t sizes < <(awk -F'[. ]' '$1 == "call_us" { print $2 }' "$T/arg" | sort -n -u)
for n in "${sizes[@]}"; do
  cu=$(med "$T/arg" "call_us.$n")
  mu=$(med "$T/arg" "memcpy_us.$n")
  if [ "$n" = 0 ]; then cm="n/a"; mm="n/a"
  else cm=$(calc / '%.1f' "$n" "$cu"); mm=$(calc / '%.1f' "$n" "$mu")
    echo "$n $cm $mm" >>"$OUT/argsize.dat"; fi
  md "| $(human "$n") | $cu | $cm | $mu | $mm | $(calc / '%.0fx' "$cu" "$mu") |"
  rec argsize "bn_copy $n B, dtask call" "$cu" us "memcpy $n B" "$mu" us
  [ "$n" = 0 ] || rec argsize "bn_copy $n B, dtask" "$cm" MB/s "memcpy $n B" "$mm" MB/s
done
md ""
md "MB/s is n / time of one call (1 MB = 10^6 bytes): n bytes travel to the worker and n back."
md ""

# ==================================================== 5. sync overhead
say "sync-mode stub overhead"
"$B/sync_overhead" "$NS" "$R" >"$T/so.direct" 2>"$T/so.direct.err" ||
  die "failed: sync_overhead" "$T/so.direct.err"
DTASK_CONFIG=bench/sync.toml DTASK_MODE=sync LD_PRELOAD="$SHIM" \
  "$B/sync_overhead" "$NS" "$R" >"$T/so.sync" 2>"$T/so.sync.err" ||
  die "failed: sync_overhead in sync mode" "$T/so.sync.err"
md "## Sync mode (DTASK_MODE=sync): the stub's cost per call"
md ""
md "| function | direct (ns) | through the stub (ns) | overhead (ns) |"
md "|---|---:|---:|---:|"
for f in bn_add bn_mix; do
  d=$(med "$T/so.direct" $f)
  s=$(med "$T/so.sync" $f)
  o=$(calc - '%.2f' "$s" "$d")
  md "| $f | $d | $s | $o |"
  rec sync "$f through the sync-mode stub" "$s" ns "$f, direct call" "$d" ns
  rec sync "$f, sync-mode overhead" "$o" ns
done
md ""
md "Median of $R rounds of $NS calls each."
md ""

# ======================================================= 6. cold start
say "cold start"
WALL_OUT=$T/cold.out
for i in $(seq "$RUNS"); do
  "$B/coldstart" launch >>"$T/cold.plain" 2>>"$T/cold.plain.err" ||
    die "failed: coldstart without dtask" "$T/cold.plain.err"
  warm=$(cfg "warm$i" bench/coldstart.toml)
  "$DTASK" run -c "$warm" -w 1 -- "$B/coldstart" launch >>"$T/cold.warm" 2>>"$T/cold.warm.err" ||
    die "failed: coldstart under dtask run" "$T/cold.warm.err"
  cold=$(cfg "cold$i" bench/coldstart.toml)
  BENCH_PRELOAD=$SHIM DTASK_CONFIG=$cold "$B/coldstart" launch >"$T/cold.one" 2>>"$T/cold.cold.err" ||
    die "failed: coldstart with autostart" "$T/cold.cold.err"
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
cp=$(med "$T/cold.plain" first_call_ms)
cw=$(med "$T/cold.warm" first_call_ms)
cc=$(med "$T/cold.cold" first_call_ms)
md "## Cold start: from exec of the program to its first call returned"
md ""
md "| first call of bn_pid() | ms | minus baseline (ms) |"
md "|---|---:|---:|"
md "| without dtask: exec, loading, one direct call (the baseline) | $cp | |"
md "| dtask, a pool already serves the queue (dtask run -w 1) | $cw | $(calc - '%.3f' "$cw" "$cp") |"
md "| **dtask, autostart**: the first call starts a pool of 4 workers | $cc | $(calc - '%.3f' "$cc" "$cp") |"
md ""
rec coldstart "exec to first call, without dtask" "$cp" ms
rec coldstart "exec to first call, dtask, pool running" "$cw" ms "exec to first call, without dtask" "$cp" ms
rec coldstart "exec to first call, dtask, autostart" "$cc" ms "exec to first call, without dtask" "$cp" ms

# ===================================================== JSON and plots
say "results.json and plots"
{
  echo "{"
  echo "  \"suite\": \"dtask bench\","
  echo "  \"date\": $(jstr "$(date -u +%Y-%m-%dT%H:%M:%SZ)"),"
  echo "  \"command\": $(jstr "make bench$([ "$QUICK" = 1 ] && echo ' QUICK=1')"),"
  echo "  \"quick\": $([ "$QUICK" = 1 ] && echo true || echo false),"
  echo "  \"runs\": $RUNS,"
  echo "  \"statistic\": \"median of runs\","
  echo "  \"machine\": {"
  echo "    \"nproc\": $(nproc),"
  echo "    \"cpu\": $(jstr "$cpu"),"
  echo "    \"os\": $(jstr "$os"),"
  echo "    \"uname\": $(jstr "$(uname -a)")"
  echo "  },"
  echo "  \"python3\": $(jstr "${PY:-none}"),"
  echo "  \"results\": ["
  sed '$ s/,$//' "$T/records"
  echo "  ]"
  echo "}"
} >"$OUT/results.json"
if [ -n "$PY" ] && ! "$PY" -m json.tool "$OUT/results.json" >/dev/null; then
  die "results.json is not valid JSON"
fi

# The latency histogram: log-spaced bins, 50 per decade, as fractions.
awk '$1 > 0 { b = int(log($1) / log(10) * 50); c[b]++; n++ }
     END { for (b in c) printf "%.4f %.4f %.6f\n", 10 ^ (b / 50), 10 ^ ((b + 1) / 50), c[b] / n }' \
  "$OUT/latency.dat" | sort -g >"$OUT/latency_hist.dat"
rm -f "$OUT/latency.dat"
plots=""
if command -v gnuplot >/dev/null 2>&1; then
  term=png
  gnuplot -e 'set terminal pngcairo' </dev/null >/dev/null 2>&1 && term=pngcairo
  if gnuplot -e "dir='$OUT'; term='$term'; machine='$short'; futex=${L[futex_p50]}; pipe=${L[pipe_p50]}; p50=${L[dtask_p50]}; p99=${L[dtask_p99]}; p999=${L[dtask_p999]}" \
    bench/plot.gp 2>"$T/gnuplot.err"; then
    plots="latency.png throughput.png argsize.png"
  else
    say "gnuplot failed; no plots:"
    sed 's/^/bench:   /' "$T/gnuplot.err" >&2
  fi
else
  say "gnuplot is not installed (tools/deps.sh --bench); no plots"
fi
md "Plots: ${plots:-none (no gnuplot)}."

if [ "$QUICK" != 1 ]; then
  mkdir -p bench/results/latest
  rm -f bench/results/latest/*
  cp "$OUT/results.json" bench/results/latest/
  for p in $plots; do cp "$OUT/$p" bench/results/latest/; done
  cp "$OUT/results.md" bench/results/latest.md
  say "saved $OUT/ and bench/results/latest.md, bench/results/latest/"
else
  say "saved $OUT/ (a QUICK run leaves bench/results/latest* alone)"
fi
