# part_summary.sh: the end of the report: the plots (the latency
# histogram, then bench/plot.gp through gnuplot; plots and why say what
# came of it) and "In short", sentences computed from every group's
# figures, with the run's wall time (elapsed).
#
# bench/run.sh sources it after the last group and before it writes
# results.json; it is not run on its own.

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
