#!/bin/bash
# fanout.sh: integration tests of fan-out (split = { over, chunk | chunks },
# aggregate, min_split), on real processes only: `dtask run` starts a
# runner pool for tests/fixtures/fanout's fanprog, whose calls of libfan.so
# are split into slices that run in the workers.
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
# Cases i to p compare with one reference run of their modes without
# dtask, whose results are first checked to be the designed ones:
#   i. failing slices under sum (int): slice 0 sets EAGAIN and returns 0,
#      2 fails with EIO, 4 with EDOM (3 sets ENOENT): -2 and EIO; no
#      failure: the last slice in order that set errno (ENOENT), though
#      with 4 workers it finishes first; only the last slice fails: its
#      EDOM; with 1 and 4 workers, identical to the local function, which
#      keeps the first failing element's errno, else the last one set;
#   j. first_nonzero: decided by slice 1 while slice 2 aborts its worker
#      (on_crash = "signal"): the caller lives, with slice 1's value and
#      errno, and says nothing; decided by slice 0 of 300: no slice of
#      the second window runs (control: an undecided call runs both);
#      decided by slice 0 of 40 slices of 200 ms on 4 workers: the slices
#      not yet taken are withdrawn (<= 12 of 40 run, < 1 s of 2 s);
#   k. on_crash = "retry", slice 3 aborts once (a state file): identical
#      to the local call, one "retry 1 of 3" line, slice 3 ran twice and
#      every other slice once (control: locally the fixture aborts);
#   l. on_crash = "signal": the caller dies of SIGABRT after one line
#      naming the symbol (control: so does the local call);
#   m. timeout = "300ms" with on_timeout = { return = -1, errno =
#      "ETIMEDOUT" }, one slice sleeps 2 s: -1 and ETIMEDOUT in < 1.5 s,
#      one line (control: the local call takes >= 2 s);
#   n. 64 slices of 512 KiB in and out through an 8 MiB map: identical,
#      every slice exactly once, at most one "cannot queue" line, the
#      queue empty afterwards; through a 2 MiB map every slice is refused
#      and runs in the caller, once, after one line;
#   o. offload_if = "n >= 100": n = 10 and 99 run in the caller, 100 and
#      1000 in a worker (execution log); DTASK_TRACE=1 says "local
#      (offload_if)"; dtask run's summary counts both kinds; dtask check
#      says "offloaded only when n >= 100"; with no runner and autostart
#      off, small calls only make no queue at all (control: a large call
#      makes data.mdb, waits wait_for_runner, runs inline);
#   p. max and min of doubles and floats whose slices' extremes are +0.0
#      and -0.0 (both orders), NaNs inside slices, or first: identical to
#      the local loop `if (x > m) m = x`, bit for bit.
# Controls show that the checks can fail (doctored logs, one worker,
# ordinary calls for the stored-once measure, serial slices).
#
# Every queue is a fresh directory under one private (0700) directory in
# /dev/shm, removed at exit; every process started with one of its
# configs is stopped at exit.  Every program runs under `timeout 60`.
#
# Environment: BUILD (default build); SANITIZE=1 when the shim and the
# commands were built with ASan/UBSan (default: found out from the shim):
# dtask run puts the shim in front of the ASan runtime in the programs it
# starts, so the runtime is preloaded and verify_asan_link_order=0 set.
# The fixtures themselves are plain programs.
# Output: "ok - ..." or "not ok - ..." per check (details indented), then
# "N passed, N failed, N skipped".  Exit status 1 if any check failed.
#
# Checks are written `CONDITION; check $? DESCRIPTION [DETAIL-FILE...]`.
# shellcheck disable=SC2317  # cleanup runs from the EXIT trap
set -u

# shellcheck source=tests/integration/tap.bash
. "$(dirname "$0")/tap.bash"
# shellcheck source=tests/integration/runs.bash
. "$(dirname "$0")/runs.bash"

# ------------------------------------------------------------ set-up

DTASK=$BUILD/dtask
SHIM=$BUILD/libdtask_shim.so
FAN=$BUILD/fixtures/fanout
PROG=$FAN/fanprog
QTOOL=$BUILD/fixtures/qtool
# qtool opens the queue of this program image (each image has its own).
export QTOOL_PROG=$PROG
for f in "$DTASK" "$SHIM" "$PROG" "$QTOOL" "$FAN/libfan.so" \
  "$FAN/fan.toml"; do
  if [ ! -e "$f" ]; then
    echo "fanout.sh: $f is missing; build first (make all, which runs" >&2
    echo "tests/fixtures/fanout/build.sh)" >&2
    not_ok "dtask, the shim and the fan-out fixtures are built"
    finish
  fi
done

if [ -z "${SANITIZE:-}" ]; then
  SANITIZE=0
  grep -qa 'libasan\.so' "$SHIM" && SANITIZE=1
fi
LAUNCH_ENV=() # for dtask run
PRELOAD=$SHIM # for a caller started with a raw LD_PRELOAD (case h)
CALLER_ENV=()
if [ "$SANITIZE" = 1 ]; then
  asan=$(${CC:-cc} -print-file-name=libasan.so)
  if [ ! -f "$asan" ]; then
    not_ok "the ASan runtime is found (${CC:-cc} -print-file-name=libasan.so)"
    finish
  fi
  LAUNCH_ENV=(LD_PRELOAD="$asan"
              ASAN_OPTIONS=detect_leaks=0:verify_asan_link_order=0)
  PRELOAD="$asan $SHIM"
  CALLER_ENV=(ASAN_OPTIONS=detect_leaks=0)
fi

# Variables that must not leak in from the caller's environment.
CLEAN=(-u LD_PRELOAD -u DTASK_CONFIG -u DTASK_MODE -u DTASK_TRACE
       -u DTASK_LOG -u DTASK_STRICT -u DTASK_ROLE -u DTASK_WORKERS
       -u DTASK_STATS -u DTASK_SHIM -u DTASK_AUTOSTARTED -u DTASK_READY_FD
       -u FAN_LOG -u FAN_SLEEP_MS -u FAN_TABLE -u FAN_NAP_MS -u FAN_STATE)

root=$(mktemp -d /dev/shm/dtask-fanout.XXXXXX) || exit 1
chmod 700 "$root"
tmp=$root
# Programs run in this directory: no stray ./dtask.toml takes part.
cd "$root" || exit 1

# Every process started here names $root in its environment (the
# config, FAN_LOG) or its command line: stop those still alive.
ours() {
  local d p
  for d in /proc/[0-9]*; do
    p=${d#/proc/}
    [ "$p" = $$ ] && continue
    if grep -qaF -e "$root/" "$d/environ" "$d/cmdline" 2>/dev/null; then
      echo "$p"
    fi
  done
}
cleanup() {
  local pids p
  mapfile -t pids < <(ours)
  if [ ${#pids[@]} -gt 0 ]; then
    for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
    sleep 0.3
    for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null; done
  fi
  cd / && rm -rf "$root"
}
trap cleanup EXIT

# mkcfg NAME MAP_SIZE: writes $root/NAME.toml = fan.toml plus a queue in
# $root/NAME/q (created by dtask itself) and autostart = false; prints
# its path.
mkcfg() {
  local name=$1 map=$2
  {
    cat "$FAN/fan.toml"
    printf '\n[queue]\npath = "%s"\nmap_size = "%s"\n\n[runner]\n' \
      "$root/$name/q" "$map"
    echo 'autostart = false'
  } >"$root/$name.toml"
  mkdir -m 700 "$root/$name"
  echo "$root/$name.toml"
}

# run OUT [VAR=VALUE...] CMD...: runs CMD with a 60 s limit and a clean
# environment; OUT.out, OUT.err, OUT.rc.
run() {
  local o=$1
  shift
  timeout 60 env "${CLEAN[@]}" "$@" >"$o.out" 2>"$o.err"
  echo $? >"$o.rc"
}

# dtask_run OUT CONFIG WORKERS [VAR=VALUE...] -- PROG ARGS...
dtask_run() {
  local o=$1 cfg=$2 w=$3
  shift 3
  split_at_dashes "$@"
  run "$o" "${LAUNCH_ENV[@]}" "${VARS[@]}" "$DTASK" run -c "$cfg" -w "$w" \
    -- "${CMD[@]}"
}

# rline OUT MODE N: fanprog's "R MODE n=N ..." line in OUT.out.
rline() { grep -m 1 "^R $2 n=$3 " "$1.out"; }

# same_r REF OUT MODE N: the R lines of MODE over N agree (and exist).
same_r() {
  local want got
  want=$(rline "$1" "$3" "$4")
  got=$(rline "$2" "$3" "$4")
  [ -n "$want" ] && [ "$want" = "$got" ]
}

# r_note REF OUT MODE N: a detail file with both R lines.
r_note() {
  note r "local:     $(rline "$1" "$3" "$4")" \
    "offloaded: $(rline "$2" "$3" "$4")" "exit status $(cat "$2.rc")"
}

# calls LOG MODE N: the "C SYMBOL PID N START" lines of the call of MODE
# over N elements (between its "M MODE N" line and the next M line).
calls() {
  awk -v m="$2" -v n="$3" '
    $1 == "M" { on = ($2 == m && $3 == n); next }
    on && $1 == "C"' "$1"
}

# expect_layout RULE N: the "START LEN" lines of the slices a call over N
# elements must become, in order.  RULE: chunk:C, chunks:K (also the
# default with K workers), chunk:C:min:M.  n < 2, n < M or one slice:
# one ordinary task over everything (START -1 when N is 0).
expect_layout() {
  awk -v rule="$1" -v n="$2" 'BEGIN {
    split(rule, r, ":")
    count = 1
    if (n >= 2 && !(r[3] == "min" && n < r[4] + 0)) {
      if (r[1] == "chunk")
        count = int((n + r[2] - 1) / r[2])
      else
        count = r[2] + 0
      if (count > n)
        count = n
    }
    if (count <= 1) {
      print (n == 0 ? -1 : 0), n
      exit
    }
    for (k = 0; k < count; k++) {
      if (r[1] == "chunk") {
        s = k * r[2]
        e = s + r[2]
        if (e > n)
          e = n
      } else {
        s = int(k * n / count)
        e = int((k + 1) * n / count)
      }
      print s, e - s
    }
  }'
}

# layout_ok LOG MODE N RULE [noidx]: the call's slices (from the log) are
# exactly expect_layout's.  With noidx (the function cannot see its
# elements' indices) only the slice lengths are compared.  Writes the
# comparison to $tmp/layout.diff.
layout_ok() {
  local log=$1 mode=$2 n=$3 rule=$4 noidx=${5:-}
  expect_layout "$rule" "$n" >"$tmp/layout.want"
  calls "$log" "$mode" "$n" | awk '{ print $5, $4 }' |
    sort -n -k1,1 -k2,2 >"$tmp/layout.got"
  if [ -n "$noidx" ]; then
    awk '{ print $2 }' "$tmp/layout.want" | sort -n >"$tmp/layout.w2"
    awk '{ print $2 }' "$tmp/layout.got" | sort -n >"$tmp/layout.g2"
    mv "$tmp/layout.w2" "$tmp/layout.want"
    mv "$tmp/layout.g2" "$tmp/layout.got"
  fi
  {
    echo "slices (start length) wanted by $rule, then those that ran:"
    diff "$tmp/layout.want" "$tmp/layout.got" || true
  } >"$tmp/layout.diff"
  [ -s "$tmp/layout.want" ] && cmp -s "$tmp/layout.want" "$tmp/layout.got"
}

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

# nslices LOG MODE N, nworkers LOG MODE N: how many slice calls of that
# call ran, and in how many distinct processes.
nslices() { calls "$@" | wc -l; }
nworkers() { calls "$@" | awk '{ print $3 }' | sort -u | wc -l; }

# in_caller LOG OUT: 0 if any call in LOG ran in the caller of run OUT
# (its "P PID" line).
in_caller() {
  local pid
  pid=$(sed -n 's/^P //p' "$2.out")
  [ -z "$pid" ] && return 0
  awk -v p="$pid" '$1 == "C" && $3 == p { found = 1 } END { exit !found }' \
    "$1"
}

# fanq CONFIG: "tasks T claims C results R blobs B used U" of its queue.
fanq() { timeout 60 env "${CLEAN[@]}" "$QTOOL" "$1" stats 2>&1; }
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
# ms_of OUT: the nap call's wall time in ms (fanprog's T line; 999999 if
# there is none).
ms_of() {
  local us
  us=$(sed -n 's/^T nap n=4 us=\([0-9][0-9]*\)$/\1/p' "$1.out")
  echo $((${us:-999999000} / 1000))
}
for w in 4 1; do
  dtask_run "$tmp/e.w$w" "$CFGE" "$w" FAN_LOG="$tmp/e.w$w.log" -- \
    "$PROG" nap 4
done
ms4=$(ms_of "$tmp/e.w4")
ms1=$(ms_of "$tmp/e.w1")
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

# ======================================================================
# The reference of cases i to p: every mode they use, without dtask, in
# one run (fx_slow's in another, alongside; fc_die aborts locally: it is
# l's control).
# ======================================================================
NI=320 # 5 slices of 64
NP=256 # 4 slices of 64
NJ=19200 # 300 slices of 64: two windows
NBIG=4194304 # 64 slices of 65536 doubles: 512 KiB in and 512 KiB out each
PZ_MODES=(dmax_pz dmax_nz dmax_nan0 min_pz min_nz fmax_pz fmax_nz)
IARGS=(errs_mix "$NI" errs_ok "$NI" errs_late "$NI")
for m in "${PZ_MODES[@]}"; do IARGS+=("$m" "$NP"); done
# The local fx_slow call (m's control) sleeps 2 s: it runs meanwhile.
run "$tmp/mref" FAN_LOG="$tmp/mref.log" "$PROG" slow $NP &
mref_pid=$!
run "$tmp/ref2" "$PROG" "${IARGS[@]}" fc_crash $NI fc_early $NJ fc_all $NJ \
  fc_nap 2560 flaky $NI big $NBIG gate 10 1000 99 100 square 643
rc_is "$tmp/ref2" 0
check $? "i-p fanprog runs their modes without dtask (the reference)" \
  "$tmp/ref2.err"
R2=$tmp/ref2
# msgs OUT: the run's stderr without dtask run's summary line.
msgs() { grep -v '^dtask: [0-9]* calls\{0,1\} offloaded' "$1.err"; }
# The reference is what the inputs were designed to give: the local
# function keeps the first failing element's errno, else the last one set
# (the rule fan-out promises for slices), and the zeros are told apart.
want_ref=("R errs_mix n=$NI ret=-2 errno=5 " "R errs_ok n=$NI ret=0 errno=2 "
          "R errs_late n=$NI ret=-1 errno=33 "
          "R fc_crash n=$NI ret=9 errno=34 " "R fc_early n=$NJ ret=9 errno=34 "
          "R fc_all n=$NJ ret=0 errno=77 " "R fc_nap n=2560 ret=9 errno=34 "
          "R flaky n=$NI ret=0 errno=77 "
          "R dmax_pz n=$NP ret=0x0p+0 " "R dmax_nz n=$NP ret=-0x0p+0 "
          "R min_pz n=$NP ret=0x0p+0 " "R min_nz n=$NP ret=-0x0p+0 "
          "R fmax_pz n=$NP ret=0x0p+0 " "R fmax_nz n=$NP ret=-0x0p+0 ")
miss=0
for l in "${want_ref[@]}"; do grep -qF "$l" "$R2.out" || miss=1; done
grep -qE "^R dmax_nan0 n=$NP ret=-?nan " "$R2.out" || miss=1
[ $miss = 0 ]
check $? "i-p the local results are the designed ones (first failure's errno EIO, else the last set ENOENT; EDOM alone; +0.0 and -0.0 kept apart; NaN first)" \
  "$R2.out"

# ======================================================================
# i. Failing slices under sum: errno is the first failing slice's, else
#    the last slice's (in order) that changed it; +0.0/-0.0 under max and
#    min (p) in the same runs.
# ======================================================================
CFGI=$(mkcfg i 64MiB)
for w in 1 4; do
  o=$tmp/i.w$w
  dtask_run "$o" "$CFGI" "$w" FAN_LOG="$o.log" -- "$PROG" "${IARGS[@]}"
  rc_is "$o" 0
  check $? "i -w $w: fanprog exits 0" "$o.err"
  for m in errs_mix errs_ok errs_late; do
    same_r "$R2" "$o" $m $NI && layout_ok "$o.log" $m $NI chunk:64
    check $? "i -w $w $m: return value and errno identical to the local call, in 5 slices" \
      "$(r_note "$R2" "$o" $m $NI)" "$tmp/layout.diff" "$o.err"
  done
  # Nothing about a slice's failure is said: it is the call's result.
  ! msgs "$o" | grep -q 'fx_errs'
  check $? "i -w $w: no message about the failing slices" "$o.err"
  for m in "${PZ_MODES[@]}"; do
    same_r "$R2" "$o" "$m" $NP && [ "$(nslices "$o.log" "$m" $NP)" = 4 ]
    check $? "p -w $w $m: the result is byte-identical to the local loop's (4 slices)" \
      "$(r_note "$R2" "$o" "$m" $NP)" "$o.err"
  done
  ! in_caller "$o.log" "$o"
  check $? "i -w $w: every slice ran in a worker" "$o.log"
done
# With 4 workers the slices of one call ran side by side, the earlier
# ones (which nap longer) finishing last: the rule follows slice order,
# not arrival order.
nw=$(nworkers "$tmp/i.w4.log" errs_mix $NI)
[ "$nw" -gt 1 ]
check $? "i -w 4 errs_mix: the 5 slices ran in $nw workers (> 1)" \
  "$tmp/i.w4.log"

# ======================================================================
# j. first_nonzero decides; what comes after the deciding slice.
# ======================================================================
CFGJ=$(mkcfg j 64MiB)
# j1: slice 1 decides (after 200 ms) while slice 2 aborts its worker at
# once; on_crash is "signal", but the crash no longer matters.
o=$tmp/j1
dtask_run "$o" "$CFGJ" 4 FAN_LOG="$o.log" -- "$PROG" fc_crash $NI square 643
rc_is "$o" 0 && same_r "$R2" "$o" fc_crash $NI
check $? "j first_nonzero decided by slice 1 while slice 2 crashes (on_crash = \"signal\"): the caller lives and gets slice 1's value and errno (ERANGE), as locally" \
  "$(r_note "$R2" "$o" fc_crash $NI)" "$o.err"
calls "$o.log" fc_crash $NI | awk '$5 == 128 { f = 1 } END { exit !f }' &&
  grep -qE 'worker [0-9]+ died of signal 6' "$o.err"
check $? "j the crashing slice really ran, and its worker died of SIGABRT" \
  "$o.log" "$o.err"
! msgs "$o" | grep -qE 'raising|fx_first_crash'
check $? "j the caller says nothing about the crash of a slice after the deciding one" \
  "$o.err"
same_r "$R2" "$o" square 643
check $? "j the pool serves the next call right" \
  "$(r_note "$R2" "$o" square 643)" "$o.err"
# j2: slice 0 decides after 200 ms; the other 255 slices of the first
# window run meanwhile on 3 workers; the second window is never queued.
# Control: a call that nothing decides runs both windows.
o=$tmp/j2
dtask_run "$o" "$CFGJ" 4 FAN_LOG="$o.log" -- "$PROG" fc_early $NJ fc_all $NJ
late=$(calls "$o.log" fc_early $NJ | awk '$5 >= 256 * 64' | wc -l)
rc_is "$o" 0 && same_r "$R2" "$o" fc_early $NJ && [ "$late" = 0 ] &&
  [ "$(nslices "$o.log" fc_early $NJ)" -le 256 ]
check $? "j first_nonzero decided by slice 0: identical to the local call, and no slice of the second window ran ($late did)" \
  "$(r_note "$R2" "$o" fc_early $NJ)" "$o.err"
same_r "$R2" "$o" fc_all $NJ && layout_ok "$o.log" fc_all $NJ chunk:64
check $? "j control: a call that no slice decides runs all 300 slices, both windows" \
  "$(r_note "$R2" "$o" fc_all $NJ)" "$tmp/layout.diff"
# j3: slices not yet taken when the call is decided are withdrawn: 40
# slices of 200 ms on 4 workers, slice 0 decides at 200 ms.  By then each
# worker may have taken one more slice (at most 8 in all: 0 to 7); the
# others must not run, and the call ends when the taken ones do, near
# 400 ms.  (Locally the call takes 200 ms; with no withdrawal all 40 run
# in 10 rounds, 2 s.)  The bounds leave the caller a whole round (200 ms)
# late to withdraw under load: at most 12 slices (3 rounds) run, and the
# call ends within half the time all 40 need (1 s).
o=$tmp/j3
dtask_run "$o" "$CFGJ" 4 FAN_LOG="$o.log" -- "$PROG" fc_nap 2560
ns=$(nslices "$o.log" fc_nap 2560)
us=$(sed -n 's/^T fc_nap n=2560 us=\([0-9]*\)$/\1/p' "$o.out")
rc_is "$o" 0 && same_r "$R2" "$o" fc_nap 2560 && [ "$ns" -le 12 ] &&
  [ "${us:-9999999}" -lt 1000000 ]
check $? "j decided by slice 0 of 40 (200 ms each, 4 workers): the slices not yet taken are withdrawn ($ns of 40 ran, want <= 12; ${us:-?} us, want < 1 s)" \
  "$(r_note "$R2" "$o" fc_nap 2560)" "$(note j3 "$(calls "$o.log" fc_nap 2560)")"

# ======================================================================
# k. on_crash = "retry": slice 3 aborts the first time, then succeeds.
# ======================================================================
CFGK=$(mkcfg k 64MiB)
o=$tmp/k
dtask_run "$o" "$CFGK" 4 FAN_LOG="$o.log" FAN_STATE="$tmp/k.state" -- \
  "$PROG" flaky $NI
rc_is "$o" 0 && same_r "$R2" "$o" flaky $NI
check $? "k on_crash = \"retry\", slice 3 crashes once: return value and errno identical to the local call" \
  "$(r_note "$R2" "$o" flaky $NI)" "$o.err"
K_RE='fx_flaky crashed worker [0-9]+ of runner [0-9]+ with signal 6 \(Aborted\); retry 1 of 3$'
[ "$(grep -cE "$K_RE" "$o.err")" = 1 ] &&
  [ "$(msgs "$o" | grep -c 'fx_flaky')" = 1 ]
check $? "k the caller says once that the slice crashed and is retried (retry 1 of 3), nothing else" \
  "$o.err"
expect_layout chunk:64 $NI >"$tmp/k.want"
echo "192 64" >>"$tmp/k.want" # slice 3, twice
calls "$o.log" flaky $NI | awk '{ print $5, $4 }' | sort -n >"$tmp/k.got"
sort -n "$tmp/k.want" -o "$tmp/k.want"
[ -e "$tmp/k.state" ] && cmp -s "$tmp/k.want" "$tmp/k.got"
check $? "k slice 3 ran twice (the crash, the retry), every other slice once" \
  "$(note k "want:" "$(cat "$tmp/k.want")" "ran:" "$(cat "$tmp/k.got")")"
# Control: without dtask the fixture aborts for real the first time.
{ run "$tmp/k.local" FAN_STATE="$tmp/k.state0" "$PROG" flaky $NI; } 2>/dev/null
rc_is "$tmp/k.local" 134 && [ -e "$tmp/k.state0" ]
check $? "k control: locally, with a fresh state file, the call aborts (status $(cat "$tmp/k.local.rc"))"

# ======================================================================
# l. on_crash = "signal": a crashing slice kills the caller, as locally.
# ======================================================================
CFGL=$(mkcfg l 64MiB)
o=$tmp/l
dtask_run "$o" "$CFGL" 4 FAN_LOG="$o.log" -- "$PROG" fc_die $NI square 643
L_RE='fx_first_crash crashed worker [0-9]+ of runner [0-9]+ with signal 6 \(Aborted\); raising SIGABRT here \(on_crash = "signal"\)$'
rc_is "$o" 134 && ! grep -q '^R ' "$o.out" &&
  [ "$(grep -cE "$L_RE" "$o.err")" = 1 ] &&
  [ "$(msgs "$o" | grep -c 'fx_first_crash')" = 1 ]
check $? "l slice 2 aborts under on_crash = \"signal\": the caller dies of SIGABRT (status $(cat "$o.rc"), want 134) after one line naming fx_first_crash" \
  "$o.out" "$o.err"
{ run "$tmp/l.local" "$PROG" fc_die $NI; } 2>/dev/null
rc_is "$tmp/l.local" 134 && ! grep -q '^R ' "$tmp/l.local.out"
check $? "l control: the local call dies of SIGABRT too (status $(cat "$tmp/l.local.rc"))"

# ======================================================================
# m. timeout = "300ms", on_timeout = { return = -1, errno = "ETIMEDOUT" }:
#    a slice that sleeps 2 s.
# ======================================================================
CFGM=$(mkcfg m 64MiB)
o=$tmp/m
dtask_run "$o" "$CFGM" 4 FAN_LOG="$o.log" -- "$PROG" slow $NP square 643
us=$(sed -n "s/^T slow n=$NP us=\([0-9]*\)\$/\1/p" "$o.out")
M_RE='fx_slow ran past its timeout of 0\.3s in worker [0-9]+ of runner [0-9]+, which killed the worker; fx_slow returns the on_timeout value$'
rc_is "$o" 0 && grep -q "^R slow n=$NP ret=-1 errno=110 " "$o.out" &&
  [ -n "$us" ] && [ "$us" -lt 1500000 ] &&
  [ "$(grep -cE "$M_RE" "$o.err")" = 1 ]
check $? "m a slice runs past timeout = 300ms: the call returns -1 with ETIMEDOUT in ${us:-?} us (< 1.5 s), one line" \
  "$o.out" "$o.err"
same_r "$R2" "$o" square 643
check $? "m the pool serves the next call right" \
  "$(r_note "$R2" "$o" square 643)" "$o.err"
wait "$mref_pid"
lus=$(sed -n "s/^T slow n=$NP us=\([0-9]*\)\$/\1/p" "$tmp/mref.out")
rc_is "$tmp/mref" 0 && grep -q "^R slow n=$NP ret=0 errno=77 " "$tmp/mref.out" &&
  [ -n "$lus" ] && [ "$lus" -ge 2000000 ]
check $? "m control: the local call returns 0 and takes ${lus:-?} us (>= 2 s)" \
  "$tmp/mref.out" "$tmp/mref.err"

# ======================================================================
# n. Slices that together exceed the queue's map.
# ======================================================================
# n1: map_size = 8MiB, 64 slices of 512 KiB in and 512 KiB out (64 MiB
# in all): the call is right, each slice ran once (a slice the queue
# refuses runs in the caller, never also in a worker), at most one
# "cannot queue" line, and the queue is empty afterwards.
CFGN=$(mkcfg n 8MiB)
o=$tmp/n
dtask_run "$o" "$CFGN" 4 FAN_LOG="$o.log" -- "$PROG" big $NBIG square 643
rc_is "$o" 0 && same_r "$R2" "$o" big $NBIG && same_r "$R2" "$o" square 643
check $? "n 64 MiB of slices through an 8 MiB map: identical to the local call" \
  "$(r_note "$R2" "$o" big $NBIG)" "$o.err"
layout_ok "$o.log" big $NBIG chunk:65536
lo=$?
inc=$(calls "$o.log" big $NBIG | awk -v p="$(sed -n 's/^P //p' "$o.out")" \
  '$3 == p' | wc -l)
[ $lo = 0 ]
check $? "n every one of the 64 slices ran exactly once ($inc in the caller)" \
  "$tmp/layout.diff"
nq=$(grep -c 'cannot queue' "$o.err")
[ "$nq" -le 1 ]
check $? "n at most one \"cannot queue\" line ($nq)" "$o.err"
q=$(fanq "$CFGN")
[[ $q == "tasks 0 claims 0 results 0 blobs 0 "* ]]
check $? "n the queue is empty afterwards ($q)"
# n2: map_size = 2MiB: every slice is larger than a quarter of the map,
# so each one runs in the caller, after one message.
CFGN2=$(mkcfg n2 2MiB)
o=$tmp/n2
dtask_run "$o" "$CFGN2" 4 FAN_LOG="$o.log" -- "$PROG" big $NBIG square 643
inc=$(calls "$o.log" big $NBIG | awk -v p="$(sed -n 's/^P //p' "$o.out")" \
  '$3 == p' | wc -l)
rc_is "$o" 0 && same_r "$R2" "$o" big $NBIG &&
  layout_ok "$o.log" big $NBIG chunk:65536 && [ "$inc" = 64 ] &&
  [ "$(grep -c 'cannot queue a call of fx_big: .*larger than a quarter of \[queue\] map_size' "$o.err")" = 1 ] &&
  [ "$(grep -c 'cannot queue' "$o.err")" = 1 ]
check $? "n a 2 MiB map: every slice is refused and runs in the caller ($inc of 64), once each, after one \"cannot queue\" line; identical to the local call" \
  "$(r_note "$R2" "$o" big $NBIG)" "$tmp/layout.diff" "$o.err"

# ======================================================================
# o. offload_if = "n >= 100" (fx_gate, not split).
# ======================================================================
CFGO=$(mkcfg o 64MiB)
o=$tmp/o
dtask_run "$o" "$CFGO" 2 FAN_LOG="$o.log" DTASK_TRACE=1 -- \
  "$PROG" gate 10 1000 99 100
ok_all=0
for n in 10 1000 99 100; do same_r "$R2" "$o" gate $n || ok_all=1; done
rc_is "$o" 0 && [ $ok_all = 0 ]
check $? "o fx_gate over 10, 1000, 99 and 100 elements: identical to the local calls" \
  "$o.out" "$R2.out" "$o.err"
# where LOG OUT N: "caller" or "worker", where the call over N ran.
where() {
  local pid
  pid=$(sed -n 's/^P //p' "$2.out")
  calls "$1" gate "$3" | awk -v p="$pid" '
    $3 == p { c++ } $3 != p { w++ }
    END { print (c == 1 && !w) ? "caller" : (w == 1 && !c) ? "worker" : "?" }'
}
wh="$(where "$o.log" "$o" 10) $(where "$o.log" "$o" 99) $(where "$o.log" "$o" 100) $(where "$o.log" "$o" 1000)"
[ "$wh" = "caller caller worker worker" ]
check $? "o n = 10 and 99 ran in the caller, n = 100 and 1000 in a worker ($wh)" \
  "$o.log"
grep -qE 'trace fx_gate\(x=in\[[^]]*\], n=10, y=out\[[^]]*\]\) = 10 errno=77 local \(offload_if\) ' "$o.err" &&
  grep -qE 'trace fx_gate\(x=in\[[^]]*\], n=99, .* local \(offload_if\) ' "$o.err" &&
  grep -qE 'trace fx_gate\(x=in\[[^]]*\], n=1000, .* = 1000 errno=77 offloaded ' "$o.err" &&
  grep -qE 'trace fx_gate\(x=in\[[^]]*\], n=100, .* offloaded ' "$o.err"
check $? "o DTASK_TRACE=1 says \"local (offload_if)\" for the small calls, \"offloaded\" for the others" \
  "$o.err"
grep -qE '^dtask: 2 calls offloaded; fx_gate 2 \(p50 [^)]*\); fx_gate 2 in the caller \(offload_if\)$' \
  "$o.err"
check $? "o dtask run's summary: fx_gate 2 offloaded, 2 in the caller (offload_if)" \
  "$o.err"
run "$tmp/o.check" "$DTASK" check -c "$CFGO"
rc_is "$tmp/o.check" 0 &&
  grep -q '^ *offloaded only when n >= 100; other calls run in the caller$' \
    "$tmp/o.check.out"
check $? "o dtask check prints \"offloaded only when n >= 100\"" \
  "$tmp/o.check.out" "$tmp/o.check.err"
# No runner, autostart off: a program that makes only small calls never
# opens the queue (no data.mdb; the directory is not even made); control:
# one large call does, waits wait_for_runner, then runs inline.
CFGO2=$(mkcfg o2 64MiB)
sed -i '1i [defaults]\nwait_for_runner = "300ms"\n' "$CFGO2"
o=$tmp/o2
run "$o" "${CALLER_ENV[@]}" DTASK_CONFIG="$CFGO2" LD_PRELOAD="$PRELOAD" \
  FAN_LOG="$o.log" "$PROG" gate 10 99
qstate="no $root/o2/q"
[ -e "$root/o2/q" ] && qstate="$root/o2/q holds: $(cd "$root/o2/q" && echo *)"
rc_is "$o" 0 && same_r "$R2" "$o" gate 10 && same_r "$R2" "$o" gate 99 &&
  [ "$(where "$o.log" "$o" 10) $(where "$o.log" "$o" 99)" = "caller caller" ] &&
  [ ! -e "$root/o2/q/data.mdb" ] && [ ! -s "$o.err" ]
check $? "o no runner: small calls run in the caller, silently, and no queue is made ($qstate)" \
  "$o.out" "$o.err"
o=$tmp/o3
run "$o" "${CALLER_ENV[@]}" DTASK_CONFIG="$CFGO2" LD_PRELOAD="$PRELOAD" \
  FAN_LOG="$o.log" "$PROG" gate 1000
rc_is "$o" 0 && same_r "$R2" "$o" gate 1000 &&
  [ -e "$("$QTOOL" "$CFGO2" dir)/data.mdb" ] &&
  [ "$(grep -c 'no runner has served .* for 0.3s.*calling fx_gate inline' "$o.err")" = 1 ]
check $? "o control: a large call opens the queue (data.mdb), waits 0.3 s for a runner, runs inline" \
  "$o.out" "$o.err"

finish
