# part_sizes.sh: groups 6 to 9 of the bench: argument size (bn_copy from
# 0 B to SIZES_MAX, beside memcpy and bench/xcopy.c; argsize.dat), the
# shim's cost per call run in the caller (sync mode and offload_if),
# cold start with autostart, and the exec of a program that catches
# nothing (EX keeps its figures).
#
# bench/run.sh sources it after part_throughput.sh; it is not run on
# its own.

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
