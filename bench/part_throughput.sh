# part_throughput.sh: groups 5 and 5b of the bench.  5: null calls per
# second with C callers x W workers, beside direct calls and the bare
# queue of bench/ring.c (TPV and RGV keep the cells, throughput.dat the
# plot's data); 5b: an aged queue, kept open by another process and
# compacted by its pool alone, beside a fresh queue.
#
# bench/run.sh sources it after part_latency.sh (it uses OFF_CFG, CPU0
# and L); it is not run on its own.

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
