# part_demo.sh: groups 1 and 2 of the bench.  1: the demo's reports and
# legacy without dtask, in sync mode and under dtask run, their wall
# times and speed-ups (V[...] keeps them for the closing sentences and
# the Redis group); 2: fan-out, the demo's split call against its
# physical limit and a CPU-bound batch split over one worker per core.
#
# bench/run.sh sources it after bench/lib.sh; it is not run on its own.

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
