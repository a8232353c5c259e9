#!/bin/bash
# fanout_edges.sh: integration tests of fan-out at its edges, on real
# processes only: slices that fail, crash, run past their timeout or
# decide the call early, slices that together exceed the queue's map,
# offload_if, and +0.0/-0.0/NaN under max and min.  `dtask run` starts a
# runner pool for tests/fixtures/fanout's fanprog, whose calls of
# libfan.so are split into slices that run in the workers.  Its sibling
# fanout.sh holds a. to h. (the slices and aggregates of calls that go
# well, bad split configs, a slice that aborts, no runner);
# fanoutfx.bash is the set-up and the helpers the two share.
#
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
# Controls show that the checks can fail (the local calls that abort or
# take 2 s, a call that no slice decides, a large call that does open the
# queue).
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
