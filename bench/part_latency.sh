# part_latency.sh: groups 3 and 4 of the bench: the anchors (a futex
# handoff and a pipe pair, pinned and not; Python's ProcessPoolExecutor;
# a direct call; LMDB's own transactions) and the round trip of one
# dtask null call, their table and latency.dat.  It sets what the later
# groups measure against: OFF_CFG, CPU0, L[...] (the percentiles), LABEL,
# limit, LIMIT_LABEL and pipe_best.
#
# bench/run.sh sources it after part_demo.sh; it is not run on its own.

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
# Slow spells (bench_slow_share in bench/bench.h): the share of a run's
# windows of 1,000 round trips that ran over 15% slower than its typical
# window; n/a in a run too short for 5 windows.
for v in $VARIANTS; do L[${v}_slow]=$(med "$T/anchors" "${v}_slow"); done
L[direct_slow]=$(med "$T/direct" slow)
L[dtask_slow]=$(med "$T/rt" slow)
L[dtask1_slow]=$(med "$T/rt1" slow)
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
  md "| $label | ${L[$2_p50]} | ${L[$2_p99]} | ${L[$2_p999]} | $(calc / '%.2f' "${L[$2_p50]}" "${L[limit_p50]}") | ${L[$2_slow]:-} |"
  [ -z "${L[$2_slow]:-}" ] || [ "${L[$2_slow]}" = n/a ] || rec spells "$label, slow spells" "${L[$2_slow]}" "%"
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
md "| one call to another process and back | p50 (us) | p99 (us) | p99.9 (us) | p50 / limit p50 | slow spells (%) |"
md "|---|---:|---:|---:|---:|---:|"
for v in $VARIANTS; do lrow anchors "$v"; done
lrow roundtrip dtask
lrow roundtrip dtask1
if [ -n "$PY" ]; then lrow anchors ppe
else md "| Python ProcessPoolExecutor, null function | n/a (no python3) | | | | |"; fi
lrow roundtrip direct
lrow roundtrip lmdb
lrow roundtrip ring0
lrow roundtrip ring3
lrow roundtrip ring2
lrow roundtrip ring3w
lrow roundtrip ring2w
md ""
md "The histogram of all $((N * RUNS)) unpinned dtask calls is latency.png. Against the anchor placed the same way, as a multiple of its p50: unpinned, dtask's p50 is $(calc / '%.2f' "${L[dtask_p50]}" "${L[futex_p50]}")x and its p99 $(calc / '%.2f' "${L[dtask_p99]}" "${L[futex_p50]}")x the unpinned futex handoff's p50; on one CPU, $(calc / '%.2f' "${L[dtask1_p50]}" "${L[futex_same_p50]}")x and $(calc / '%.2f' "${L[dtask1_p99]}" "${L[futex_same_p50]}")x the one-CPU handoff's (the targets: at most 1.5x at p50 and 3x at p99). LMDB's own transactions of a call take ${L[lmdb_p50]} us at p50 in one process; made by two processes that hand a token back and forth on one CPU, and nothing else, they make a round trip of ${L[ring3_p50]} us: $(calc / '%.2f' "${L[ring3_p50]}" "${L[futex_same_p50]}")x the one-CPU handoff ($(calc / '%.2f' "${L[ring3_p50]}" "${L[ring0_p50]}")x the same processes' token alone), before any marshalling. With the fewest transactions an LMDB queue with leases could make (the caller writes the task straight into claims, the worker reads it and writes the answer), $(calc / '%.2f' "${L[ring2_p50]}" "${L[futex_same_p50]}")x: $(calc - '%.2f' "$(calc '*' '%.3f' "${L[futex_same_p50]}" 1.5)" "${L[ring2_p50]}") us would be left under the 1.5x target for the stub, the marshalling both ways, libffi and the function. With dtask's own records of bn_add in them (encoded, decoded, called through libffi, answered and applied, with no stub and no queue layer), today's transactions take ${L[ring3w_p50]} us ($(calc / '%.2f' "${L[ring3w_p50]}" "${L[futex_same_p50]}")x the handoff; dtask's whole call, stub and queue layer included, takes $(calc - '%.2f' "${L[dtask1_p50]}" "${L[ring3w_p50]}") us more) and the fewest ${L[ring2w_p50]} us ($(calc / '%.2f' "${L[ring2w_p50]}" "${L[futex_same_p50]}")x): the least any LMDB queue carrying these records can take on one CPU of this machine."
# by_run FILE P50KEY P99KEY SLOWKEY: each run's p50 and p99 in FILE with
# its share of slow spells, "p50/p99 (slow%)" joined by commas ("n/a"
# with no share printed).
by_run() {
  awk -v m="$2" -v p="$3" -v s="$4" '$1 == s { sl = $2 } $1 == m { md = $2 }
    $1 == p { out = out (n++ ? ", " : "") md "/" $2 " (" (sl == "" ? "n/a" : sl "%") ")"; sl = "" }
    END { print out }' "$1"
}
md ""
md "Slow spells, the last column: the share of a run's windows of 1,000 round trips whose median was over 15% above the run's typical window (the median of the runs; bench_slow_share in bench/bench.h). This machine is a virtual machine whose host at times runs every process on a CPU about 1.5x slower, for a few calls, for tens of milliseconds or for a whole run, the futex handoff as much as dtask: a spell over 1% of a run sets its p99, and a run slowed whole shows no spell but a higher p50. Run by run, p50/p99 (us) with the run's slow spells: dtask on one CPU $(by_run "$T/rt1" p50 p99 slow); the one-CPU handoff $(by_run "$T/anchors" futex_same_p50 futex_same_p99 futex_same_slow). The tail, p99 / p50 in this run: the one-CPU handoff $(calc / '%.2f' "${L[futex_same_p99]}" "${L[futex_same_p50]}"), the token alone between lmdbtx's two processes $(calc / '%.2f' "${L[ring0_p99]}" "${L[ring0_p50]}"), today's transactions carrying dtask's records $(calc / '%.2f' "${L[ring3w_p99]}" "${L[ring3w_p50]}") (p99 $(calc / '%.2f' "${L[ring3w_p99]}" "${L[futex_same_p50]}")x the handoff's p50), dtask on one CPU $(calc / '%.2f' "${L[dtask1_p99]}" "${L[dtask1_p50]}")."
md ""
