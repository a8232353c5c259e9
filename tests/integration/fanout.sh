#!/bin/bash
# fanout.sh: integration tests of fan-out (split = { over, chunk | chunks },
# aggregate, min_split), on real processes only: `dtask run` starts a
# runner pool for tests/fixtures/fanout's fanprog, whose calls of libfan.so
# are split into slices that run in the workers.  Its sibling
# fanout_edges.sh holds i. to p. (failing, crashing, timed-out and
# early-decided slices, slices past the queue's map, offload_if, signed
# zeros); fanoutfx.bash is the set-up and the helpers the two share.
#
#   a. fx_square (sum, chunk = 64) over n = 0, 1, 63, 64, 65, 643 and 19205
#      (301 slices, more than the caller's window of 256), with 1 and 8
#      workers: return value, errno and a hash of the out buffer identical
#      to a call without dtask; the slices are exactly the config's (64
#      elements, the last shorter; n < 2 and n <= 64 one ordinary task),
#      none ran in the caller, and the queue is empty afterwards;
#   b. every aggregate (sum in int, int8 and short (wrapping), long and
#      double; min in double and int; max in long, uint64, uint and
#      float, with slice extremes on both sides of the sign bit; and and
#      or both ways; first_nonzero with the deciding slice's errno; none
#      with an inout buffer), every buffer form (n*3, rows*n, a [types]
#      struct, a common in buffer) and 4 threads splitting at once:
#      identical to the local call with 8 and with 1 worker, in 16 slices
#      of 64, run by more than one worker with 8;
#   c. chunks = K (slice k starts at k*n/K), the default one slice per
#      worker (3 and 8 workers), min_split (a call below it is one task);
#   d. a 20 MiB common in buffer is stored once: after a 16-slice call on
#      8 workers the queue's map high-water mark is >= 20 MiB and
#      < 40 MiB, no blob is left and the queue is empty; control: the same
#      buffer sent by 8 concurrent ordinary calls takes > 80 MiB;
#   e. slices run concurrently: 4 slices of a function that sleeps 200 ms
#      take < 700 ms on 4 workers (control: >= 800 ms on 1 worker);
#   f. `dtask check` refuses bad split configs with file:line:col and
#      exit 2 (an out or inout buffer not along `over`, `over` naming a
#      buffer, a double or a missing parameter, min on void, and/or on a
#      double, a missing aggregate); control: fan.toml itself is valid;
#   g. a slice that aborts: on_crash = { return = -1, errno = "EIO" } is
#      the call's answer;
#   h. no runner (autostart off, wait_for_runner = "300ms"): an 11-slice
#      call waits for a runner once, not once per slice, then runs inline
#      with one message, and its result is right.
# Controls show that the checks can fail (doctored logs, one worker,
# ordinary calls for the stored-once measure, serial slices).
#
# Environment: as fanoutfx.bash says (BUILD; SANITIZE).
# Output: "ok - ..." or "not ok - ..." per check (details indented), then
# "N passed, N failed, N skipped".  Exit status 1 if any check failed.
#
# Checks are written `CONDITION; check $? DESCRIPTION [DETAIL-FILE...]`.
set -u

# shellcheck source=tests/integration/tap.bash
. "$(dirname "$0")/tap.bash"
# shellcheck source=tests/integration/runs.bash
. "$(dirname "$0")/runs.bash"
# shellcheck source=tests/integration/fanoutfx.bash
. "$(dirname "$0")/fanoutfx.bash"

# layout_subset LOG MODE N RULE [noidx]: like layout_ok, for a call that
# a slice decides early (first_nonzero): the slices that ran are slices
# of the rule's layout, each at most once, and the first one ran (those
# after the deciding slice may have been withdrawn); with noidx (only
# lengths are known), the lengths that ran are among the wanted ones.
layout_subset() {
  local log=$1 mode=$2 n=$3 rule=$4 noidx=${5:-}
  layout_ok "$@" && return 0
  [ -s "$tmp/layout.got" ] && [ -s "$tmp/layout.want" ] || return 1
  # A sub-multiset of the wanted slices (comm pairs equal lines one to one).
  [ -z "$(comm -13 "$tmp/layout.want" "$tmp/layout.got")" ] || return 1
  # With starts known: no slice twice, and the first slice among them.
  [ -n "$noidx" ] && return 0
  [ -z "$(uniq -d "$tmp/layout.got")" ] &&
    [ "$(head -n 1 "$tmp/layout.want")" = "$(head -n 1 "$tmp/layout.got")" ]
}

# fanq_field STATS KEY: the value after KEY in a line of fanq.
fanq_field() { awk -v k="$2" '{ for (i = 1; i < NF; i++) if ($i == k) print $(i + 1) }' <<<"$1"; }

MiB=1048576

# ======================================================================
# a. fx_square over the edge counts of chunk = 64, 1 and 8 workers.
# ======================================================================
NA=(0 1 63 64 65 643 19205)
CFGA=$(mkcfg a 64MiB)
run "$tmp/a.ref" "$PROG" square "${NA[@]}"
rc_is "$tmp/a.ref" 0 && [ "$(grep -c '^R square ' "$tmp/a.ref.out")" = ${#NA[@]} ]
check $? "a fanprog runs without dtask (the reference)" "$tmp/a.ref.err"
for w in 1 8; do
  o=$tmp/a.w$w
  # Each slice sleeps 1 ms, so that with 8 workers several take part.
  dtask_run "$o" "$CFGA" "$w" FAN_LOG="$o.log" FAN_SLEEP_MS=1 -- \
    "$PROG" square "${NA[@]}"
  rc_is "$o" 0
  check $? "a -w $w: fanprog exits 0" "$o.err"
  for n in "${NA[@]}"; do
    same_r "$tmp/a.ref" "$o" square "$n"
    check $? "a -w $w n=$n: return value, errno and out bytes identical to the local call" \
      "$(r_note "$tmp/a.ref" "$o" square "$n")" "$o.err"
    layout_ok "$o.log" square "$n" chunk:64
    check $? "a -w $w n=$n: slices as chunk = 64 says ($(nslices "$o.log" square "$n") call(s))" \
      "$tmp/layout.diff"
  done
  ! in_caller "$o.log" "$o" && [ "$(grep -c '^C ' "$o.log")" -gt 0 ]
  check $? "a -w $w: every slice ran in a worker, none in the caller" "$o.log"
  # Each fan-out call counts once, as one offloaded call.
  grep -q "^dtask: ${#NA[@]} calls offloaded; fx_square ${#NA[@]} " "$o.err"
  check $? "a -w $w: the summary counts ${#NA[@]} calls of fx_square" "$o.err"
  q=$(fanq "$CFGA")
  [[ $q == "tasks 0 claims 0 results 0 blobs 0 "* ]]
  check $? "a -w $w: the queue is empty afterwards ($q)"
done
nw=$(nworkers "$tmp/a.w8.log" square 19205)
[ "$nw" -gt 1 ]
check $? "a -w 8 n=19205: the 301 slices ran in $nw workers (> 1)" "$tmp/a.w8.log"

# Controls: the layout checker rejects a log with one slice missing, one
# with a slice twice, and the reference run's calls (all in the caller,
# one call over everything).
sed '0,/^C fx_square [0-9]* 64 128$/{/^C fx_square [0-9]* 64 128$/d}' \
  "$tmp/a.w8.log" >"$tmp/a.miss.log"
awk '{ print } /^C fx_square [0-9]* 64 128$/ && !d { print; d = 1 }' \
  "$tmp/a.w8.log" >"$tmp/a.dup.log"
run "$tmp/a.refl" FAN_LOG="$tmp/a.ref.log" "$PROG" square 643
! layout_ok "$tmp/a.miss.log" square 643 chunk:64 &&
  ! layout_ok "$tmp/a.dup.log" square 643 chunk:64 &&
  ! layout_ok "$tmp/a.ref.log" square 643 chunk:64 &&
  in_caller "$tmp/a.ref.log" "$tmp/a.refl"
check $? "a control: the checks reject a missing slice, a doubled slice and a local call"

# ======================================================================
# b. Every aggregate and buffer form, 8 and 1 workers.
# ======================================================================
NB=1000
# MODE:noidx for the functions whose inputs do not carry their index.
# par4: four threads, each making its own split fx_square call at once.
BMODES=(wrap16 sum8:noidx dsum rgb rowsum score common min:noidx
        imin:noidx fmax:noidx max:noidx umax:noidx umax32:noidx
        and_true:noidx and_false:noidx or_true:noidx or_false:noidx
        first_none:noidx first_mid:noidx first_zero:noidx first_late:noidx
        bump:noidx par4:threads)
bargs=()
for mm in "${BMODES[@]}"; do bargs+=("${mm%%:*}" "$NB"); done
CFGB=$(mkcfg b 64MiB)
run "$tmp/b.ref" "$PROG" "${bargs[@]}"
rc_is "$tmp/b.ref" 0
check $? "b fanprog runs every mode without dtask (the reference)" \
  "$tmp/b.ref.err"
# The reference itself is what the inputs were designed to give: each
# aggregate's deciding case is really exercised.
want_ref=("R and_true n=$NB ret=1 errno=77" "R and_false n=$NB ret=0 errno=77"
          "R or_true n=$NB ret=1 errno=77" "R or_false n=$NB ret=0 errno=77"
          "R first_none n=$NB ret=0 errno=11"
          "R first_mid n=$NB ret=5 errno=34" "R first_zero n=$NB ret=7 errno=34"
          "R first_late n=$NB ret=8 errno=33" "R bump n=$NB ret=void errno=77")
miss=0
for l in "${want_ref[@]}"; do grep -qF "$l " "$tmp/b.ref.out" || miss=1; done
[ $miss = 0 ]
check $? "b the local results are the designed ones (and/or both ways, first_nonzero: the deciding slice's errno, EDOM alone, none with EAGAIN)" \
  "$tmp/b.ref.out"
for w in 8 1; do
  o=$tmp/b.w$w
  # Each slice sleeps 5 ms: the slices of a call overlap in time, so
  # that with 8 workers several take part.
  dtask_run "$o" "$CFGB" "$w" FAN_LOG="$o.log" FAN_SLEEP_MS=5 -- \
    "$PROG" "${bargs[@]}"
  rc_is "$o" 0
  check $? "b -w $w: fanprog exits 0" "$o.err"
  for mm in "${BMODES[@]}"; do
    m=${mm%%:*}
    noidx=
    [ "$mm" != "$m" ] && noidx=${mm#*:}
    same_r "$tmp/b.ref" "$o" "$m" $NB
    check $? "b -w $w $m: return value, errno and out bytes identical to the local call" \
      "$(r_note "$tmp/b.ref" "$o" "$m" $NB)" "$o.err"
    if [ "$w" = 8 ] && [ "$noidx" = threads ]; then
      ns=$(nslices "$o.log" "$m" $NB)
      [ "$ns" = 64 ]
      check $? "b -w $w $m: 4 threads x 16 slices ran ($ns)" "$o.log"
    elif [ "$w" = 8 ] && { [ "$m" = first_zero ] || [ "$m" = first_mid ]; }; then
      layout_subset "$o.log" "$m" $NB chunk:64 "$noidx"
      check $? "b -w $w $m: slices of 64 (the last 40), each at most once, from the first (decided early: later ones may be withdrawn)" "$tmp/layout.diff"
    elif [ "$w" = 8 ]; then
      layout_ok "$o.log" "$m" $NB chunk:64 "$noidx"
      check $? "b -w $w $m: 16 slices of 64 (the last 40)" "$tmp/layout.diff"
      nw=$(nworkers "$o.log" "$m" $NB)
      [ "$nw" -gt 1 ]
      check $? "b -w $w $m: the slices ran in $nw workers (> 1)" \
        "$(note b "$(calls "$o.log" "$m" $NB)")"
    fi
  done
  ! in_caller "$o.log" "$o" && [ "$(grep -c '^C ' "$o.log")" -gt 0 ]
  check $? "b -w $w: every slice ran in a worker, none in the caller" "$o.log"
done
# Control: with one worker every slice of a call runs in that worker, so
# the "more than one worker" measure can say 1.  (dsum: a call that no
# slice decides early, so all 16 slices run.)
nw=$(nworkers "$tmp/b.w1.log" dsum $NB)
ns=$(nslices "$tmp/b.w1.log" dsum $NB)
[ "$nw" = 1 ] && [ "$ns" = 16 ]
check $? "b control: with -w 1 the 16 slices ran in 1 worker ($ns slices, $nw workers)" \
  "$tmp/b.w1.log"

# ======================================================================
# c. chunks = K, one slice per worker, min_split.
# ======================================================================
CFGC=$(mkcfg c 64MiB)
CARGS=(sq_chunks 643 3 1 sq_workers 100 5 2 sq_min 99 100 1000)
run "$tmp/c.ref" "$PROG" "${CARGS[@]}"
for w in 3 8; do
  o=$tmp/c.w$w
  dtask_run "$o" "$CFGC" "$w" FAN_LOG="$o.log" -- "$PROG" "${CARGS[@]}"
  rc_is "$o" 0
  check $? "c -w $w: fanprog exits 0" "$o.err"
  set -- "${CARGS[@]}"
  while [ $# -gt 0 ]; do
    case $1 in
      [a-z]*) m=$1; shift; continue ;;
    esac
    n=$1
    shift
    case $m in
      sq_chunks) rule=chunks:5 ;;
      sq_workers) rule=chunks:$w ;;
      sq_min) rule=chunk:16:min:100 ;;
    esac
    same_r "$tmp/c.ref" "$o" "$m" "$n"
    check $? "c -w $w $m n=$n: identical to the local call" \
      "$(r_note "$tmp/c.ref" "$o" "$m" "$n")" "$o.err"
    layout_ok "$o.log" "$m" "$n" "$rule"
    check $? "c -w $w $m n=$n: $(nslices "$o.log" "$m" "$n") call(s), as $rule says" \
      "$tmp/layout.diff"
  done
  ! in_caller "$o.log" "$o"
  check $? "c -w $w: nothing ran in the caller" "$o.log"
done
# Named outright: min_split = 100 makes n = 99 one task, n = 100 seven.
[ "$(nslices "$tmp/c.w3.log" sq_min 99)" = 1 ] &&
  [ "$(nslices "$tmp/c.w3.log" sq_min 100)" = 7 ]
check $? "c min_split = 100: the call over 99 elements ran as one task, over 100 as 7 slices" \
  "$tmp/c.w3.log"
# Control: the checker tells a one-task call from a split one.
! layout_ok "$tmp/c.w3.log" sq_min 100 chunk:16:min:101 &&
  ! layout_ok "$tmp/c.w3.log" sq_workers 100 chunks:8
check $? "c control: the checks reject the wrong min_split and the wrong worker count"

# ======================================================================
# d. A 20 MiB common in buffer is stored once.
# ======================================================================
# The high-water mark is read after the run; a process keeps each queue
# open meanwhile, so that the pool is never alone with it and does not
# compact it when it stops (that would erase the mark).
TABLE=$((20 * MiB))
# keep_open CFG OUT: qtool keep in the background, until it says "open".
keep_open() {
  "$QTOOL" "$1" keep 120 >"$2" 2>&1 &
  for _ in $(seq 200); do grep -q '^open' "$2" && break; sleep 0.02; done
}
CFGD=$(mkcfg d 1GiB)
run "$tmp/d.ref" FAN_TABLE=$TABLE "$PROG" common 1024
o=$tmp/d
keep_open "$CFGD" "$tmp/d.keep"
kd=$!
dtask_run "$o" "$CFGD" 8 FAN_LOG="$o.log" FAN_TABLE=$TABLE -- \
  "$PROG" common 1024
rc_is "$o" 0 && same_r "$tmp/d.ref" "$o" common 1024
check $? "d 20 MiB table, 16 slices, 8 workers: identical to the local call (every slice read the whole table)" \
  "$(r_note "$tmp/d.ref" "$o" common 1024)" "$o.err"
ns=$(nslices "$o.log" common 1024)
nw=$(nworkers "$o.log" common 1024)
[ "$ns" = 16 ] && [ "$nw" -gt 1 ] && ! in_caller "$o.log" "$o"
check $? "d the call ran as $ns slices (want 16) in $nw workers (> 1)" "$o.log"
q=$(fanq "$CFGD")
used=$(fanq_field "$q" used)
[ -n "$used" ] && [ "$used" -ge $TABLE ] && [ "$used" -lt $((2 * TABLE)) ]
check $? "d the queue's map high-water mark is >= 20 MiB and < 40 MiB ($((${used:-0} / 1024)) KiB): the table was stored once, not 16 times" \
  "$(note d "$q")"
[[ $q == "tasks 0 claims 0 results 0 blobs 0 "* ]]
check $? "d afterwards no blob is left and the queue is empty ($q)"
kill "$kd" 2>/dev/null
wait "$kd" 2>/dev/null
# Control: the same table sent by 8 ordinary (not split) calls at once,
# each in its own task (the function sleeps 300 ms, so all are in flight
# together), takes a map of more than 4 tables.  Their buffers travel in
# the records ([queue] arena = false): through the callers' arenas they
# would take no room in the map.
CFGD2=$(mkcfg d2 1GiB)
sed -i 's/^map_size = .*$/&\narena = false/' "$CFGD2"
run "$tmp/d2.ref" FAN_TABLE=$TABLE "$PROG" plain8 64
o=$tmp/d2
keep_open "$CFGD2" "$tmp/d2.keep"
kd=$!
dtask_run "$o" "$CFGD2" 8 FAN_LOG="$o.log" FAN_TABLE=$TABLE FAN_SLEEP_MS=300 \
  -- "$PROG" plain8 64
q2=$(fanq "$CFGD2")
used2=$(fanq_field "$q2" used)
kill "$kd" 2>/dev/null
wait "$kd" 2>/dev/null
rc_is "$o" 0 && same_r "$tmp/d2.ref" "$o" plain8 64 &&
  grep -q '^A plain8 agree=yes' "$o.out" &&
  [ -n "$used2" ] && [ "$used2" -gt $((4 * TABLE)) ]
check $? "d control: 8 concurrent ordinary calls with the table take $((${used2:-0} / MiB)) MiB (> 80 MiB): the measure sees copies" \
  "$(note d2 "$q2" "$(r_note "$tmp/d2.ref" "$o" plain8 64)")" "$o.err"

# ======================================================================
# e. Slices run concurrently.
# ======================================================================
CFGE=$(mkcfg e 64MiB)
# nap_ms OUT: the nap call's wall time in ms (fanprog's T line; 999999 if
# there is none).
nap_ms() {
  local us
  us=$(sed -n 's/^T nap n=4 us=\([0-9][0-9]*\)$/\1/p' "$1.out")
  echo $((${us:-999999000} / 1000))
}
for w in 4 1; do
  dtask_run "$tmp/e.w$w" "$CFGE" "$w" FAN_LOG="$tmp/e.w$w.log" -- \
    "$PROG" nap 4
done
ms4=$(nap_ms "$tmp/e.w4")
ms1=$(nap_ms "$tmp/e.w1")
rc_is "$tmp/e.w4" 0 && grep -q '^R nap n=4 ret=4 errno=77 ' "$tmp/e.w4.out" &&
  [ "$(nslices "$tmp/e.w4.log" nap 4)" = 4 ] &&
  [ "$(nworkers "$tmp/e.w4.log" nap 4)" = 4 ] && [ "$ms4" -lt 700 ]
check $? "e 4 slices of 200 ms on 4 workers: one call in $ms4 ms (< 700), in 4 workers" \
  "$tmp/e.w4.out" "$tmp/e.w4.log" "$tmp/e.w4.err"
rc_is "$tmp/e.w1" 0 && [ "$(nslices "$tmp/e.w1.log" nap 4)" = 4 ] &&
  [ "$ms1" -ge 800 ] && [ "$ms1" -lt 999999 ]
check $? "e control: the same on 1 worker takes $ms1 ms (>= 800)" \
  "$tmp/e.w1.out" "$tmp/e.w1.err"

# ======================================================================
# f. Bad split configs: dtask check names file:line:col, exit 2.
# ======================================================================
# bad NAME SIGNATURE SPLIT AGGREGATE-LINE TOKEN LINE MESSAGE: writes
# $root/NAME.toml (the signature on line 2, split on line 3, the
# aggregate line on line 4) and checks that dtask check refuses it with
# status 2 and "FILE:LINE:COL: ...MESSAGE", COL being where TOKEN starts
# on LINE.
bad() {
  local name=$1 sig=$2 split=$3 agg=$4 token=$5 line=$6 msg=$7 f col
  f=$root/$name.toml
  printf '[[offload]]\nsignature = "%s"\nsplit     = %s\n%s\n' \
    "$sig" "$split" "$agg" >"$f"
  col=$(sed -n "${line}p" "$f" | awk -v t="$token" '{ print index($0, t) }')
  run "$tmp/f.$name" "$DTASK" check -c "$f"
  rc_is "$tmp/f.$name" 2 && [ "$col" -gt 0 ] &&
    grep -qF "$f:$line:$col: " "$tmp/f.$name.err" &&
    grep -qF -- "$msg" "$tmp/f.$name.err"
  check $? "f $name: exit 2, $f:$line:$col, \"$msg\"" \
    "$(note f "exit status $(cat "$tmp/f.$name.rc"), want 2 and" \
      "$f:$line:$col: ...$msg")" "$tmp/f.$name.err"
}
bad out_not_over "int f(in double x[n], size_t n, out double s[4])" \
  '{ over = "n", chunk = 64 }' 'aggregate = "sum"' '"n"' 3 \
  "every slice would write all of it"
bad over_buffer "int f(in double x[n], size_t n, out double y[n])" \
  '{ over = "x", chunk = 64 }' 'aggregate = "sum"' '"x"' 3 \
  "'x' is a buffer"
bad over_missing "int f(in double x[n], size_t n, out double y[n])" \
  '{ over = "count" }' 'aggregate = "sum"' '"count"' 3 \
  "no parameter named 'count'"
bad min_void "void f(inout double x[n], size_t n)" \
  '{ over = "n", chunks = 4 }' 'aggregate = "min"' '"min"' 4 \
  'a void function takes aggregate = "none"'
bad and_double "double f(in double x[n], size_t n)" \
  '{ over = "n" }' 'aggregate = "and"' '"and"' 4 "need an integer return"
bad or_double "double f(in double x[n], size_t n)" \
  '{ over = "n" }' 'aggregate = "or"' '"or"' 4 "need an integer return"
bad inout_not_over "int f(in double x[n], size_t n, inout int acc[2])" \
  '{ over = "n" }' 'aggregate = "sum"' '"n"' 3 \
  "inout buffer 'acc' does not have 'n' in its length"
bad over_double "int f(in double x[k], size_t k, double n)" \
  '{ over = "n" }' 'aggregate = "sum"' '"n"' 3 \
  "'n' is double; split over an integer parameter"
bad no_aggregate "int f(in double x[n], size_t n)" \
  '{ over = "n", chunk = 8 }' '' '{' 3 \
  "say how the slices' return values combine"
# Control: the fixture's own config (every form above, correctly) passes.
run "$tmp/f.good" "$DTASK" check -c "$FAN/fan.toml"
rc_is "$tmp/f.good" 0
check $? "f control: fan.toml itself is valid (exit 0)" "$tmp/f.good.err"

# ======================================================================
# g. A slice that aborts: the symbol's on_crash applies to the call.
# ======================================================================
CFGG=$(mkcfg g 64MiB)
o=$tmp/g
dtask_run "$o" "$CFGG" 4 FAN_LOG="$o.log" -- "$PROG" crashy 1000 square 643
rc_is "$o" 0 && grep -q '^R crashy n=1000 ret=-1 errno=5 ' "$o.out" &&
  grep -q 'fx_crashy crashed worker' "$o.err"
check $? "g a slice aborts: the call returns on_crash's -1 with errno EIO" \
  "$o.out" "$o.err"
run "$tmp/g.ref" "$PROG" square 643
same_r "$tmp/g.ref" "$o" square 643 && ! in_caller "$o.log" "$o"
check $? "g the pool serves the next call, right and in the workers" \
  "$(r_note "$tmp/g.ref" "$o" square 643)" "$o.err"

# ======================================================================
# h. No runner: the slices of one call wait for a runner once, together.
# ======================================================================
CFGH=$(mkcfg h 64MiB)
sed -i '1i [defaults]\nwait_for_runner = "300ms"\n' "$CFGH"
o=$tmp/h
run "$o" "${CALLER_ENV[@]}" DTASK_CONFIG="$CFGH" LD_PRELOAD="$PRELOAD" \
  FAN_LOG="$o.log" "$PROG" square 643
us=$(awk '$1 == "T" { sub("us=", "", $4); print $4 }' "$o.out")
rc_is "$o" 0 && same_r "$tmp/g.ref" "$o" square 643 && [ -n "$us" ] &&
  [ "$us" -lt 2000000 ] &&
  [ "$(grep -c 'no runner has served .* for 0.3s' "$o.err")" = 1 ]
check $? "h no runner: 11 slices wait once (${us:-?} us < 2 s for 0.3 s), one message, right result" \
  "$o.out" "$o.err"

finish
