#!/bin/bash
# limits.sh: integration tests of an [[offload]] entry's limits
# (max_concurrency, concurrency_key, rate_limit) and of its answers cache
# (cache), with real pools on both backends ("lmdb", then "redis" on a
# redis-server of its own, on a unix socket).
#
# limprog (tests/fixtures/limits) calls liblimits.so, whose functions log
# to $LIMITS_LOG what ran, with the pid that ran it and, for lim_work and
# lim_tick, when (CLOCK_MONOTONIC, one clock for every process); before
# each call of lim_pure or lim_fill limprog logs "call ..." with its own
# pid, so that the log says of each call whether it ran (and where) or
# was answered without running.  First, limprog without dtask gives the
# answers every run below must print.  Then, for each backend:
#   1. max_concurrency = 2, 6 threads x 3 calls of 200 ms, 4 workers
#      (dtask run): all 18 ran exactly once, in workers, answered right;
#      from the log's start and end times (ordered, an end before a start
#      at the same time), never more than 2 ran at once, and 2 did (not
#      one at a time); a call of lim_tick made meanwhile ran in a worker
#      in under 100 ms: the calls held back wait in the queue, not in a
#      worker;
#   2. concurrency_key = "key", max_concurrency = 1, 4 threads x 3 calls
#      of 150 ms over keys 0 and 1, 4 workers: all 12 ran once; never
#      more than 1 at once per key, and 2 at once across the keys;
#   3. rate_limit = "20/s", one pool of 4 workers (dtask-runner) and two
#      callers at once, each 2 threads calling lim_tick for 10 s: every
#      call was answered right and ran once, in a worker; the starts'
#      rate over the run, (count - 1) / (last - first), is at most 21/s
#      (5 % over 20/s) and at least 17/s (more room below, for a loaded
#      machine; without the limit it is thousands);
#   4. rate_limit = { rate = "20/s", burst = 5 }, 8 threads for 2 s after
#      an idle spell, 6 workers: the first 5 started within 35 ms, the
#      sixth at least 30 ms after the first (50 ms is due), and from the
#      fifth on no faster than 21/s;
#   5. cache = true on lim_pure, one pool (dtask-runner) serving three
#      callers one after another: seeds 1 2 3 run, in workers, and print
#      what they print without dtask (digest, return value, errno: -1
#      with 1001 and 1003 for the odd seeds); the same seeds again print
#      the same bytes and none runs (errno comes from the cache as the
#      call had it; each call is made with errno 77 and the digest
#      0xaa-filled); seed 4, and seed 1 over a buffer whose last byte
#      differs, run; dtask status --json then says, for lim_pure,
#      cache_hits 3, cache_misses 5, and the workers' calls 5;
#   6. that pool stopped, another (dtask run): seeds 1 2 3 are still
#      answered by the cache, the same bytes; then with no pool at all and
#      autostart on: the same three are hits at once, nothing is said,
#      and no pool is started for them;
#   7. the config changed (an [[offload]] entry of lim_tick added): seeds
#      1 2 3 run again, then (the same run) are hits, the same bytes;
#   8. cache = { max_bytes = "200KiB" } on lim_fill of 60000 bytes
#      (three answers fit, with 8 KiB each to spare, four do not), one run
#      of seeds 11 12 13 11 14 11 13 14 12: 11 12 13 run, 11 is a hit, 14
#      runs (evicting 12, the least recently used), 11 13 14 are hits, 12
#      runs again; every call prints what it prints without dtask;
#   9. cache = { ttl = "1s" } on lim_pure: a call runs, the same call at
#      once is a hit, the same call 1.5 s later runs again;
#  10. (redis) two pools of 2 workers as two hosts (DTASK_HOST_ID, a queue
#      directory each, one queue name), max_concurrency = 2: 6 threads x 3
#      calls of 200 ms each run once, never more than 2 at once in all,
#      and both hosts ran some.
# Then dtask check: the plan says max_concurrency N (and "per value of"
# the key), rate_limit with its rate and burst, cache with its ttl and
# max_bytes; each invalid setting exits 2 with the key's file:line: on
# stderr, and a message about it (not "unknown key"): max_concurrency =
# 0; concurrency_key without max_concurrency, naming no parameter, a
# buffer, a cstring; rate_limit "0/s" and "fast"; cache on a function
# with an inout buffer (the message says inout), with async = true, with
# split.
#
# Environment: BUILD (default build); SANITIZE=1 when built with
# ASan/UBSan.  Output: "ok - ..." or "not ok - ..." per check, then "N
# passed, N failed, N skipped".
set -u

# shellcheck source=tests/integration/tap.bash
. "$(dirname "$0")/tap.bash"
# shellcheck source=tests/integration/runs.bash
. "$(dirname "$0")/runs.bash"

DTASK=$BUILD/dtask
RUNNER=$BUILD/dtask-runner
LP=$BUILD/fixtures/limits/limprog
need_built "{} is built (make all)" "make all" "$DTASK" "$RUNNER" "$LP"
SHIM=$BUILD/libdtask_shim.so
# shellcheck source=tests/integration/asanfx.bash
. "$(dirname "$0")/asanfx.bash"
PY=/usr/bin/python3
[ -x "$PY" ] || { not_ok "python3 is installed (tools/deps.sh installs it)"; finish; }
ulimit -c 0
scratch limits
CLEAN=(-u LD_PRELOAD -u DTASK_CONFIG -u DTASK_MODE -u DTASK_TRACE -u DTASK_LOG
       -u DTASK_STRICT -u DTASK_HOST_ID -u LIMITS_LOG)

W='int lim_work(int key, int id, int ms)'
T='int lim_tick(int n)'
P='int lim_pure(in uint8 data[n], size_t n, out uint8 digest[32], int seed)'
F='int lim_fill(out uint8 buf[n], size_t n, int seed)'

# entry SIGNATURE [LINE...]: an [[offload]] entry, LINEs its other keys.
entry() {
  printf '[[offload]]\nsignature = "%s"\n' "$1"
  shift
  if [ $# -gt 0 ]; then printf '%s\n' "$@"; fi
}

# mkcfg NAME QUEUE-LINES ENTRY...: the config $tmp/NAME.toml; prints its
# path.
mkcfg() {
  local f=$tmp/$1.toml
  shift
  {
    printf '[queue]\n%s\n[runner]\nautostart = false\n' "$1"
    printf '[defaults]\nwait_for_runner = "5s"\n'
    shift
    printf '%s\n' "$@"
  } >"$f"
  chmod 600 "$f"
  echo "$f"
}

# limprog_run OUT CFG W ARGS...: limprog ARGS under dtask run -w W,
# logging to OUT.log (emptied first); as run (runs.bash).
limprog_run() {
  local o=$1 cfg=$2 w=$3
  shift 3
  : >"$o.log"
  run "$o" "${LAUNCH_ENV[@]}" LIMITS_LOG="$o.log" \
    "$DTASK" run -c "$cfg" -w "$w" -- "$LP" "$@"
}

# direct OUT CFG LOG ARGS...: limprog ARGS with the shim preloaded (served
# by the pool that serves CFG's queue, whose workers log to LOG too),
# logging to LOG; as caller (runs.bash).
direct() {
  local o=$1 cfg=$2 log=$3
  shift 3
  caller "$o" "$cfg" LIMITS_LOG="$log" -- "$LP" "$@"
}

# plain OUT ARGS...: limprog ARGS without dtask, logging to OUT.log; as
# run.
plain() {
  local o=$1
  shift
  : >"$o.log"
  run "$o" LIMITS_LOG="$o.log" "$LP" "$@"
}

# status OUT CFG [ARGS...]: dtask status; OUT.out, OUT.err, OUT.rc.
status() {
  local o=$1 cfg=$2
  shift 2
  env "${CLEAN[@]}" "${CALLER_ENV[@]}" timeout 60 "$DTASK" status -c "$cfg" "$@" \
    >"$o.out" 2>"$o.err"
  echo $? >"$o.rc"
}

# pool_up NAME CFG W LOG: a pool of W workers (dtask-runner, limprog's
# image) serving CFG's queue, its workers logging to LOG, in the
# background (added to PIDS, so killed at exit; its pid in POOL, its
# output in $tmp/NAME.pool); 0 once dtask status says it serves (10 s at
# most).  pool_down stops it.
pool_up() {
  local _
  env "${CLEAN[@]}" "${LAUNCH_ENV[@]}" LIMITS_LOG="$4" \
    "$RUNNER" -c "$2" -w "$3" -- "$LP" >"$tmp/$1.pool" 2>&1 &
  POOL=$!
  PIDS+=("$POOL")
  for _ in $(seq 100); do
    status "$tmp/$1.up" "$2"
    [ "$(cat "$tmp/$1.up.rc")" = 0 ] && return 0
    kill -0 "$POOL" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}

# pool_down: stops the pool POOL (SIGTERM; SIGKILL after 20 s) and reaps
# it.
pool_down() {
  local _
  kill -TERM "$POOL" 2>/dev/null
  for _ in $(seq 200); do
    kill -0 "$POOL" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL "$POOL" 2>/dev/null
  wait "$POOL" 2>/dev/null
}

# json_check FILE PYTHON-EXPR: 0 if the expression, over the parsed JSON
# as j and sym (every image's symbols, by name), is true.
json_check() {
  "$PY" -c 'import json, sys
j = json.load(open(sys.argv[1]))
sym = {s["symbol"]: s for i in j["images"] for s in i.get("symbols", [])}
sys.exit(0 if eval("(" + sys.argv[2] + ")") else 1)' "$1" "$2" 2>"$tmp/json.err"
}

# ---------------------------------------------------------- the logs

# work_once LOG N CPID: "starts S ends E ids-not-once B in-caller H" for the
# lim_work calls of LOG, ids 0 to N - 1; every call ran exactly once, in
# a worker, when it prints "starts N ends N ids-not-once 0 in-caller 0".
work_once() {
  awk -v n="$2" -v c="$3" '
    $1 == "start" { s[$3]++; S++; if ($5 == c) here++ }
    $1 == "end" { e[$3]++; E++ }
    END {
      for (i = 0; i < n; i++) if (s[i] != 1 || e[i] != 1) bad++
      printf "starts %d ends %d ids-not-once %d in-caller %d\n", S, E, bad, here
    }' "$1"
}

# overlap LOG [per-key]: the most lim_work calls of LOG running at once,
# from its start and end lines ordered by time (an end before a start at
# the same time); with per-key, the most of one key at once.
overlap() {
  awk '$1 == "start" { print $4, 1, $2 } $1 == "end" { print $4, 0, $2 }' "$1" |
    sort -k1,1n -k2,2n |
    awk -v per="${2:-}" '{
      k = per != "" ? $3 : "all"
      n[k] += $2 ? 1 : -1
      if (n[k] > max) max = n[k]
    } END { print max + 0 }'
}

# ticks LOG: the times of LOG's tick lines, in order, one a line.
ticks() { awk '$1 == "tick" { print $3 }' "$1" | sort -n; }

# rate_of LOG: (count - 1) / (last - first) of LOG's ticks, per second.
rate_of() {
  ticks "$1" | awk 'NR == 1 { f = $1 } { l = $1 } END {
    if (NR < 2 || l == f) print 0; else printf "%.3f\n", (NR - 1) * 1e9 / (l - f) }'
}

# verdicts LOG FUNC: for each "call FUNC ARG CPID" line of LOG, in order,
# "ARG:V": V is "run" when FUNC ran once for it in another process
# (its line came before the next call), "hit" when it did not run,
# "local" when it ran in the caller, "ranNx" when N times; then
# "stray:N" if FUNC lines came before any call.
verdicts() {
  awk -v f="$2" '
    function flush() {
      if (!have) return
      v = runs == 0 ? "hit" : runs > 1 ? "ran" runs "x" : here ? "local" : "run"
      printf "%s%s:%s", sep, cur, v
      sep = " "
    }
    $1 == "call" && $2 == f {
      flush(); have = 1; cur = $3; cpid = $4; runs = 0; here = 0
      split($3, part, ":"); seed = part[1]; next
    }
    $1 == f { if (have && $2 == seed) { runs++; if ($3 == cpid) here = 1 } else stray++ }
    END { flush(); if (stray) printf "%sstray:%d", sep, stray; print "" }' "$1"
}

# since LOG N: LOG's lines after its first N, into LOG.N; prints that path.
since() {
  tail -n "+$(($2 + 1))" "$1" >"$1.$2"
  echo "$1.$2"
}

# within LO X HI: 0 if LO <= X <= HI (decimals).
within() { awk -v lo="$1" -v x="$2" -v hi="$3" 'BEGIN { exit !(x != "" && lo <= x + 0 && x + 0 <= hi) }'; }

# ---------------------------------------------------------- references
# limprog without dtask: what each run below must print.
REF=$tmp/ref
plain "$REF.p123" pure 1 2 3
plain "$REF.p4" pure 4 1:5
plain "$REF.fill" fill 11 12 13 11 14 11 13 14 12
plain "$REF.ttl" pure 6 6 6
[ "$(cat "$REF.p123.rc" "$REF.p4.rc" "$REF.fill.rc" "$REF.ttl.rc" | tr -d '\n')" = 0000 ] &&
  [ "$(wc -l <"$REF.p123.out")" = 3 ] && [ "$(wc -l <"$REF.fill.out")" = 9 ] &&
  grep -Eq '^pure 1 digest [0-9a-f]{64} ret -1 errno 1001$' "$REF.p123.out" &&
  grep -Eq '^pure 2 digest [0-9a-f]{64} ret [0-9]+ errno 0$' "$REF.p123.out" &&
  grep -Eq '^pure 3 digest [0-9a-f]{64} ret -1 errno 1003$' "$REF.p123.out" &&
  [ "$(sed -n 's/^pure 1:5 digest \([0-9a-f]*\) .*/\1/p' "$REF.p4.out")" != \
    "$(sed -n 's/^pure 1 digest \([0-9a-f]*\) .*/\1/p' "$REF.p123.out")" ] &&
  [ "$(verdicts "$REF.fill.log" fill)" = "11:local 12:local 13:local 11:local 14:local 11:local 13:local 14:local 12:local" ]
check $? "limprog without dtask: the answers the runs must print (odd seeds -1 with errno 1001, 1003)" \
  "$REF.p123.out" "$REF.p4.out" "$REF.fill.out" "$REF.fill.log"

# ======================================================================
backend_case() {
  local be=$1 qlines=$2 cfg o n cpid max want got rate
  mkdir -m 700 "$tmp/$be.q"

  # 1. max_concurrency = 2.
  cfg=$(mkcfg "$be.conc" "$qlines" "$(entry "$W" 'max_concurrency = 2')" "$(entry "$T")")
  o=$tmp/$be.1
  limprog_run "$o" "$cfg" 4 conc 6 3 200 6 250
  cpid=$(caller_pid "$o")
  got=$(work_once "$o.log" 18 "$cpid")
  [ "$(cat "$o.rc")" = 0 ] && grep -qx 'conc made 18 wrong 0' "$o.out" &&
    [ "$got" = "starts 18 ends 18 ids-not-once 0 in-caller 0" ]
  check $? "$be 1 max_concurrency 2: 18 calls answered right, each ran once in a worker ($got)" \
    "$o.out" "$o.err" "$o.log"
  max=$(overlap "$o.log")
  [ "$(grep -c '^start ' "$o.log")" = 18 ] && [ "$max" -le 2 ]
  check $? "$be 1 max_concurrency 2 on 4 workers: never more than 2 at once (at most $max)" \
    "$o.log" "$o.err"
  [ "$(grep -c '^start ' "$o.log")" = 18 ] && [ "$max" -eq 2 ]
  check $? "$be 1 max_concurrency 2: 2 ran at once (at most $max), not one at a time" "$o.log"
  n=$(sed -n 's/^probe ms \([0-9]*\) ret -1$/\1/p' "$o.out")
  [ -n "$n" ] && [ "$n" -lt 100 ] &&
    [ "$(awk -v c="$cpid" '$1 == "tick" && $2 == -1 && $4 != c' "$o.log" | wc -l)" = 1 ]
  check $? "$be 1 while calls wait for max_concurrency, lim_tick ran in a worker in ${n:-?} ms (< 100): they wait in the queue, not in workers" \
    "$o.out" "$o.log"

  # 2. concurrency_key.
  cfg=$(mkcfg "$be.key" "$qlines" \
    "$(entry "$W" 'max_concurrency = 1' 'concurrency_key = "key"')")
  o=$tmp/$be.2
  limprog_run "$o" "$cfg" 4 conc 4 3 150 2
  cpid=$(caller_pid "$o")
  got=$(work_once "$o.log" 12 "$cpid")
  [ "$(cat "$o.rc")" = 0 ] && grep -qx 'conc made 12 wrong 0' "$o.out" &&
    [ "$got" = "starts 12 ends 12 ids-not-once 0 in-caller 0" ]
  check $? "$be 2 concurrency_key: 12 calls answered right, each ran once in a worker ($got)" \
    "$o.out" "$o.err" "$o.log"
  max=$(overlap "$o.log" per-key)
  [ "$(grep -c '^start ' "$o.log")" = 12 ] && [ "$max" -le 1 ]
  check $? "$be 2 concurrency_key = \"key\", max_concurrency 1: never more than 1 at once per key (at most $max)" \
    "$o.log" "$o.err"
  max=$(overlap "$o.log")
  [ "$(grep -c '^start ' "$o.log")" = 12 ] && [ "$max" -eq 2 ]
  check $? "$be 2 concurrency_key: 2 at once across keys 0 and 1 (at most $max)" "$o.log"

  # 3. rate_limit = "20/s", across two callers.
  cfg=$(mkcfg "$be.rate" "$qlines" "$(entry "$T" 'rate_limit = "20/s"')")
  o=$tmp/$be.3
  : >"$o.log"
  if pool_up "$be.rate" "$cfg" 4 "$o.log"; then
    direct "$o.a" "$cfg" "$o.log" rate 2 10 &
    local pa=$!
    direct "$o.b" "$cfg" "$o.log" rate 2 10 100000000 &
    local pb=$!
    wait "$pa" "$pb"
    pool_down
    local ma mb ca cb
    ma=$(sed -n 's/^rate made \([0-9]*\) wrong 0$/\1/p' "$o.a.out")
    mb=$(sed -n 's/^rate made \([0-9]*\) wrong 0$/\1/p' "$o.b.out")
    ca=$(caller_pid "$o.a")
    cb=$(caller_pid "$o.b")
    n=$(grep -c '^tick ' "$o.log")
    [ "$(cat "$o.a.rc")$(cat "$o.b.rc")" = 00 ] && [ -n "$ma" ] && [ -n "$mb" ] &&
      [ "$n" = $((ma + mb)) ] &&
      [ "$(awk '$1 == "tick" { print $2 }' "$o.log" | sort | uniq -d | wc -l)" = 0 ] &&
      [ "$(awk -v a="$ca" -v b="$cb" '$1 == "tick" && ($4 == a || $4 == b)' "$o.log" | wc -l)" = 0 ]
    check $? "$be 3 rate_limit 20/s, two callers: every call (${ma:-?} + ${mb:-?}) answered right, ran once, in a worker" \
      "$o.a.out" "$o.a.err" "$o.b.out" "$o.b.err"
    rate=$(rate_of "$o.log")
    [ "$n" -ge 100 ] && within 19 "$rate" 21
    check $? "$be 3 rate_limit 20/s across two callers for 10 s: $n starts at $rate/s (within 5%: 19 to 21)" \
      "$o.a.out" "$o.b.out" "$tmp/$be.rate.pool"
  else
    not_ok "$be 3 a pool of 4 workers serves (dtask-runner)" "$tmp/$be.rate.pool" "$tmp/$be.rate.up.out"
    pool_down
  fi

  # 4. rate_limit with a burst, after an idle spell.
  cfg=$(mkcfg "$be.burst" "$qlines" "$(entry "$T" 'rate_limit = { rate = "20/s", burst = 5 }')")
  o=$tmp/$be.4
  limprog_run "$o" "$cfg" 6 rate 8 2
  ticks "$o.log" >"$o.t"
  local d5 d6 after
  d5=$(awk 'NR == 1 { f = $1 } NR == 5 { printf "%.1f\n", ($1 - f) / 1e6 }' "$o.t")
  d6=$(awk 'NR == 1 { f = $1 } NR == 6 { printf "%.1f\n", ($1 - f) / 1e6 }' "$o.t")
  after=$(awk 'NR == 5 { f = $1 } { l = $1 } END { if (NR > 6 && l > f) printf "%.3f\n", (NR - 5) * 1e9 / (l - f) }' "$o.t")
  [ "$(cat "$o.rc")" = 0 ] && grep -q '^rate made [0-9]* wrong 0$' "$o.out" &&
    within 0 "$d5" 35 && within 30 "$d6" 100000
  check $? "$be 4 rate_limit 20/s burst 5 after an idle spell: the first 5 started within ${d5:-?} ms (<= 35), the sixth ${d6:-?} ms after the first (>= 30)" \
    "$o.t" "$o.out" "$o.err"
  [ "$(wc -l <"$o.t")" -ge 20 ] && within 0 "$after" 21
  check $? "$be 4 rate_limit 20/s burst 5: from the fifth start on, ${after:-?}/s (<= 21)" "$o.t"

  # 5. cache = true: three callers of one pool.
  cfg=$(mkcfg "$be.cache" "$qlines" "$(entry "$P" 'cache = true')")
  o=$tmp/$be.5
  : >"$o.log"
  if pool_up "$be.cache" "$cfg" 2 "$o.log"; then
    local l0 l1 l2
    l0=$(wc -l <"$o.log")
    direct "$o.a" "$cfg" "$o.log" pure 1 2 3
    l1=$(wc -l <"$o.log")
    direct "$o.b" "$cfg" "$o.log" pure 1 2 3
    l2=$(wc -l <"$o.log")
    direct "$o.c" "$cfg" "$o.log" pure 4 1:5
    got=$(verdicts "$(since "$o.log" "$l0")" pure | cut -d' ' -f1-3)
    [ "$(cat "$o.a.rc")" = 0 ] && cmp -s "$o.a.out" "$REF.p123.out" &&
      [ "$got" = "1:run 2:run 3:run" ]
    check $? "$be 5 cache: seeds 1 2 3 ran in workers ($got), answers as without dtask" \
      "$o.a.out" "$o.a.err" "$o.log"
    got=$(verdicts "$(since "$o.log" "$l1")" pure | cut -d' ' -f1-3)
    [ "$(cat "$o.b.rc")" = 0 ] && [ -s "$o.a.out" ] && cmp -s "$o.b.out" "$o.a.out" &&
      [ "$got" = "1:hit 2:hit 3:hit" ]
    check $? "$be 5 cache: seeds 1 2 3 again, another process: none ran ($got), the same bytes (digest, return, errno)" \
      "$o.b.out" "$o.b.err" "$o.log"
    [ "$got" = "1:hit 2:hit 3:hit" ] &&
      grep -Eq '^pure 1 digest [0-9a-f]{64} ret -1 errno 1001$' "$o.b.out" &&
      grep -Eq '^pure 3 digest [0-9a-f]{64} ret -1 errno 1003$' "$o.b.out" &&
      grep -Eq '^pure 2 digest [0-9a-f]{64} ret [0-9]+ errno 0$' "$o.b.out"
    check $? "$be 5 cache: a hit gives the call's errno (1001, 1003; 0 for seed 2, not the caller's 77)" "$o.b.out"
    got=$(verdicts "$(since "$o.log" "$l2")" pure)
    [ "$(cat "$o.c.rc")" = 0 ] && cmp -s "$o.c.out" "$REF.p4.out" &&
      [ "$got" = "4:run 1:5:run" ]
    check $? "$be 5 cache: seed 4, and seed 1 over other bytes, ran ($got)" \
      "$o.c.out" "$o.c.err" "$o.log"
    for n in $(seq 30); do
      status "$o.s" "$cfg" --json
      json_check "$o.s.out" "sym['lim_pure']['cache_hits'] == 3 and
        sym['lim_pure']['cache_misses'] == 5 and sym['lim_pure']['calls'] == 5" &&
        break
      sleep 0.1
    done
    [ "$(cat "$o.s.rc")" = 0 ] &&
      json_check "$o.s.out" "sym['lim_pure']['cache_hits'] == 3 and
        sym['lim_pure']['cache_misses'] == 5 and sym['lim_pure']['calls'] == 5"
    check $? "$be 5 dtask status --json: lim_pure cache_hits 3, cache_misses 5, calls 5" \
      "$o.s.out" "$o.s.err" "$tmp/json.err"
    pool_down
  else
    not_ok "$be 5 a pool of 2 workers serves (dtask-runner)" "$tmp/$be.cache.pool" "$tmp/$be.cache.up.out"
    pool_down
  fi

  # 6. the cache outlives its pool.
  o=$tmp/$be.6
  limprog_run "$o" "$cfg" 2 pure 1 2 3
  got=$(verdicts "$o.log" pure)
  [ "$(cat "$o.rc")" = 0 ] && cmp -s "$o.out" "$REF.p123.out" &&
    [ "$got" = "1:hit 2:hit 3:hit" ]
  check $? "$be 6 cache: another pool (the first stopped): seeds 1 2 3 still hits ($got), the same bytes" \
    "$o.out" "$o.err" "$o.log"
  # ... and with no pool at all, autostart on: a hit needs no runner, so
  # none is started, waited for, or said.
  local cfgn
  cfgn=$(mkcfg "$be.nopool" "$qlines" "$(entry "$P" 'cache = true')")
  sed -i 's/^autostart = false$/autostart = true/' "$cfgn"
  o=$tmp/$be.6n
  : >"$o.log"
  local t0 t1
  t0=$(date +%s%N)
  direct "$o" "$cfgn" "$o.log" pure 1 2 3
  t1=$(date +%s%N)
  got=$(verdicts "$o.log" pure)
  [ "$(cat "$o.rc")" = 0 ] && cmp -s "$o.out" "$REF.p123.out" &&
    [ "$got" = "1:hit 2:hit 3:hit" ] && [ ! -s "$o.err" ] &&
    [ $(((t1 - t0) / 1000000)) -lt 900 ]
  check $? "$be 6 cache: no pool, autostart on: seeds 1 2 3 hits ($got) in $(((t1 - t0) / 1000000)) ms (< 900), nothing said" \
    "$o.out" "$o.err" "$o.log"
  status "$o.s" "$cfgn"
  grep -q 'no pool serves it' "$o.s.out"
  check $? "$be 6 cache: ... and no pool was started for them" "$o.s.out" "$o.s.err"

  # 7. another config: earlier answers are not given (and the new
  # config's are, the second time).
  local cfg2
  cfg2=$(mkcfg "$be.cache2" "$qlines" "$(entry "$P" 'cache = true')" "$(entry "$T")")
  o=$tmp/$be.7
  limprog_run "$o" "$cfg2" 2 pure 1 2 3 1 2 3
  got=$(verdicts "$o.log" pure)
  [ "$(cat "$o.rc")" = 0 ] && cat "$REF.p123.out" "$REF.p123.out" | cmp -s "$o.out" - &&
    [ "$got" = "1:run 2:run 3:run 1:hit 2:hit 3:hit" ]
  check $? "$be 7 cache: an [[offload]] entry added to the config: seeds 1 2 3 ran again, then hits ($got), the same bytes" \
    "$o.out" "$o.err" "$o.log"

  # 8. least recently used out first.
  cfg=$(mkcfg "$be.lru" "$qlines" "$(entry "$F" 'cache = { max_bytes = "200KiB" }')")
  o=$tmp/$be.8
  limprog_run "$o" "$cfg" 2 fill 11 12 13 11 14 11 13 14 12
  got=$(verdicts "$o.log" fill)
  want="11:run 12:run 13:run 11:hit 14:run 11:hit 13:hit 14:hit 12:run"
  [ "$(cat "$o.rc")" = 0 ] && cmp -s "$o.out" "$REF.fill.out" && [ "$got" = "$want" ]
  check $? "$be 8 cache max_bytes 200KiB, answers of 60000 bytes: the least recently used (12) evicted by the fourth ($got)" \
    "$o.out" "$o.err" "$(note "$be.8" "want: $want" "got:  $got")"

  # 9. ttl.
  cfg=$(mkcfg "$be.ttl" "$qlines" "$(entry "$P" 'cache = { ttl = "1s" }')")
  o=$tmp/$be.9
  limprog_run "$o" "$cfg" 2 pure 6 6 +1500 6
  got=$(verdicts "$o.log" pure)
  [ "$(cat "$o.rc")" = 0 ] && cmp -s "$o.out" "$REF.ttl.out" &&
    [ "$got" = "6:run 6:hit 6:run" ]
  check $? "$be 9 cache ttl 1s: the same call at once a hit, 1.5 s later run again ($got)" \
    "$o.out" "$o.err" "$o.log"
}

backend_case lmdb "path = \"$tmp/lmdb.q\""

# ---------------------------------------------------------- dtask check
# block OUT NAME: the lines of the plan OUT under "offload NAME".
block() { awk -v n="$2" '/^  offload / { on = $2 == n } on' "$1"; }

cfg=$(mkcfg plan "path = \"$tmp/lmdb.q\"" \
  "$(entry "$W" 'max_concurrency = 3' 'concurrency_key = "key"')" \
  "$(entry 'int lim_other(int x)' 'max_concurrency = 4')" \
  "$(entry "$T" 'rate_limit = { rate = "20/s", burst = 5 }')" \
  "$(entry 'int lim_rate(int x)' 'rate_limit = "20/s"')" \
  "$(entry 'int lim_permin(int x)' 'rate_limit = "120/min"')" \
  "$(entry 'int lim_perhour(int x)' 'rate_limit = { rate = "3600/h", burst = 2 }')" \
  "$(entry "$P" 'cache = { ttl = "2s", max_bytes = "200KiB" }')" \
  "$(entry "$F" 'cache = true')")
o=$tmp/plan
env "${CLEAN[@]}" timeout 60 "$DTASK" check -c "$cfg" >"$o.out" 2>"$o.err"
echo $? >"$o.rc"
rc_is "$o" 0
check $? "dtask check: max_concurrency, concurrency_key, rate_limit (/s, /min, /h, a table) and cache (true, a table) are valid" \
  "$o.err" "$o.out"
block "$o.out" lim_work >"$o.work"
grep 'max_concurrency' "$o.work" | grep -qw 3 && grep -Eq 'per value of .?key' "$o.work"
check $? "dtask check: max_concurrency 3 per value of key" "$o.work"
block "$o.out" lim_other >"$o.other"
grep 'max_concurrency' "$o.other" | grep -qw 4 && ! grep -q 'per value of' "$o.other"
check $? "dtask check: max_concurrency 4, not per value" "$o.other"
block "$o.out" lim_tick >"$o.tick"
grep 'rate_limit' "$o.tick" | grep -Ew '20(\.0+)?' | grep -q 'burst 5'
check $? "dtask check: rate_limit 20/s, burst 5" "$o.tick"
block "$o.out" lim_rate >"$o.rate"
grep 'rate_limit' "$o.rate" | grep -Ew '20(\.0+)?' | grep -q 'burst 1'
check $? "dtask check: rate_limit = \"20/s\": burst 1" "$o.rate"
block "$o.out" lim_pure >"$o.pure"
grep -q 'cache' "$o.pure" && grep 'ttl' "$o.pure" | grep -Eq '\b2(\.0+)? ?s\b|\b2000 ?ms\b' &&
  grep 'max_bytes' "$o.pure" | grep -Eq '\b200 ?KiB\b|\b204800\b'
check $? "dtask check: cache with ttl 2s and max_bytes 200 KiB" "$o.pure"
block "$o.out" lim_fill >"$o.fill"
grep -q 'cache' "$o.fill" && grep -q 'ttl' "$o.fill" &&
  grep 'max_bytes' "$o.fill" | grep -Eq '\b64 ?MiB\b|\b67108864\b'
check $? "dtask check: cache = true: its ttl (none) and max_bytes 64 MiB" "$o.fill"

# bad DESCRIPTION WORD KEYS ENTRY...: a config of the ENTRYs makes dtask
# check exit 2; its stderr names the file and the line of one of KEYS
# (key names, space-separated), says WORD, and is not about an unknown
# key.
nbad=0
bad() {
  local desc=$1 word=$2 keys=$3 f k l lines=
  shift 3
  nbad=$((nbad + 1))
  f=$(mkcfg "bad$nbad" "path = \"$tmp/lmdb.q\"" "$@")
  o=$tmp/bad$nbad
  env "${CLEAN[@]}" timeout 60 "$DTASK" check -c "$f" >"$o.out" 2>"$o.err"
  echo $? >"$o.rc"
  for k in $keys; do
    l=$(grep -n "^$k *=" "$f" | head -n 1 | cut -d: -f1)
    lines="$lines${lines:+|}$l"
  done
  rc_is "$o" 2 && grep -Eq "bad$nbad\.toml:($lines):" "$o.err" &&
    grep -qi -- "$word" "$o.err" && ! grep -qi 'unknown key' "$o.err"
  check $? "dtask check: $desc: exit 2 ($(cat "$o.rc")), at the key's line" \
    "$o.err" "$f"
}
bad "max_concurrency = 0" max_concurrency max_concurrency \
  "$(entry "$W" 'max_concurrency = 0')"
bad "concurrency_key without max_concurrency" concurrency_key concurrency_key \
  "$(entry "$W" 'concurrency_key = "key"')"
bad "concurrency_key naming no parameter" concurrency_key concurrency_key \
  "$(entry "$W" 'max_concurrency = 2' 'concurrency_key = "nosuch"')"
bad "concurrency_key naming a buffer" concurrency_key concurrency_key \
  "$(entry "$P" 'max_concurrency = 2' 'concurrency_key = "data"')"
bad "concurrency_key naming a cstring" concurrency_key concurrency_key \
  "$(entry 'int lim_named(cstring name, int n)' 'max_concurrency = 2' 'concurrency_key = "name"')"
bad "rate_limit = \"0/s\"" rate_limit rate_limit \
  "$(entry "$T" 'rate_limit = "0/s"')"
bad "rate_limit = \"fast\"" rate_limit rate_limit \
  "$(entry "$T" 'rate_limit = "fast"')"
bad "cache on a function with an inout buffer (says inout)" inout cache \
  "$(entry 'int lim_inout(inout uint8 buf[n], size_t n)' 'cache = true')"
bad "cache with async = true" cache "cache async" \
  "$(entry 'void lim_note(int n)' 'async = true' 'cache = true')"
bad "cache with split" cache "cache split" \
  "$(entry 'int lim_sum(in uint8 data[n], size_t n)' 'split = { over = "n" }' 'aggregate = "sum"' 'cache = true')"

need_redis
backend_case redis "backend = \"redis\"
url = \"unix://$SOCK\"
path = \"$tmp/redis.q\""

# 10. Across hosts (redis): two pools of 2 workers each, as two hosts
# (DTASK_HOST_ID), one max_concurrency = 2: 6 threads x 3 calls of 200 ms
# never run more than 2 at once in all, and both hosts ran some.  Each
# "host" has a queue directory of its own and the same queue name.
hosts_case() {
  local cfg cfga cfgb o pa pb wa wb max got cpid h
  for h in a b c; do
    mkcfg "redis.host$h" "backend = \"redis\"
url = \"unix://$SOCK\"
name = \"hq\"
path = \"$tmp/redis.hq$h\"" "$(entry "$W" 'max_concurrency = 2')" >/dev/null
  done
  cfga=$tmp/redis.hosta.toml cfgb=$tmp/redis.hostb.toml cfg=$tmp/redis.hostc.toml
  o=$tmp/redis.10
  : >"$o.log"
  env "${CLEAN[@]}" "${LAUNCH_ENV[@]}" LIMITS_LOG="$o.log" DTASK_HOST_ID=hosta \
    "$RUNNER" -c "$cfga" -w 2 -- "$LP" >"$tmp/redis.hosta.pool" 2>&1 &
  pa=$!
  PIDS+=("$pa")
  env "${CLEAN[@]}" "${LAUNCH_ENV[@]}" LIMITS_LOG="$o.log" DTASK_HOST_ID=hostb \
    "$RUNNER" -c "$cfgb" -w 2 -- "$LP" >"$tmp/redis.hostb.pool" 2>&1 &
  pb=$!
  PIDS+=("$pb")
  for _ in $(seq 100); do
    wa=$(pgrep -P "$pa" | tr '\n' ' ')
    wb=$(pgrep -P "$pb" | tr '\n' ' ')
    [ "$(echo $wa | wc -w)" -ge 2 ] && [ "$(echo $wb | wc -w)" -ge 2 ] && break
    sleep 0.1
  done
  direct "$o" "$cfg" "$o.log" conc 6 3 200 6
  kill -TERM "$pa" "$pb" 2>/dev/null
  wait "$pa" "$pb" 2>/dev/null
  cpid=$(caller_pid "$o")
  got=$(work_once "$o.log" 18 "$cpid")
  max=$(overlap "$o.log")
  local ran
  ran=$(awk -v a=" $wa " -v b=" $wb " '$1 == "start" {
        if (index(a, " " $5 " ")) na++; if (index(b, " " $5 " ")) nb++ }
      END { printf "%d %d\n", na, nb }' "$o.log")
  [ "$(cat "$o.rc")" = 0 ] && [ "$got" = "starts 18 ends 18 ids-not-once 0 in-caller 0" ] &&
    [ "$max" -le 2 ] && [ "${ran% *}" -gt 0 ] && [ "${ran#* }" -gt 0 ]
  check $? "redis 10 max_concurrency 2 across two hosts of 2 workers: $got, at most $max at once, calls run by host a and b: $ran (workers $wa/ $wb)" \
    "$o.out" "$o.err" "$o.log" "$tmp/redis.hosta.pool" "$tmp/redis.hostb.pool"
}
hosts_case

finish
