#!/bin/bash
# async.sh: integration tests of async = true, calls whose caller does not
# wait, with real pools on both backends ("lmdb", then "redis" on a
# redis-server of its own, on a unix socket).
#
# For each backend, with asprog (tests/fixtures/async), whose functions
# log every call they run to $ASYNC_LOG with the pid that ran it:
#   1. 4 threads x 10 calls of 50 ms, 2 workers: right after the last
#      call was made, fewer than 40 are logged (the callers did not
#      wait); at exit (main returns with calls still queued) all 40 ran,
#      each (thread, call) exactly once, all in workers; errno, set to
#      1234 before each call, is 1234 after every one;
#   2. 3 threads x 20 calls, 1 worker: each thread's calls ran in the
#      order it made them;
#   3. 20 calls over a 64 KiB buffer that the caller overwrites as soon
#      as each call returns: every call summed the buffer as it was when
#      the call was made;
#   4. a call that crashes its worker (on_crash = "signal", the default):
#      the caller is not killed, the failure is said on stderr, the next
#      call runs, the program exits 0;
#   5. fork: the parent's and the child's calls each run once;
#   6. exit(3) right after 6 calls of 100 ms: all 6 ran, status 3;
#   7. drain_timeout = "700ms", 8 calls of 600 ms, 1 worker: the exit is
#      held about 0.7 s, not 4.8; the calls no worker took are said not
#      run, none runs twice, and the ones that ran, those said not run
#      and those left to a worker account for all 8;
#   8. 6 calls of as_kinds (19 arguments: every scalar kind, a string and
#      NULL, a 0-byte and a NULL buffer, a [types] buffer aligned to 32)
#      whose arguments the caller overwrites at once: each ran with its
#      arguments as made, its buffer aligned;
#   9. one call of 17 MiB (more than async calls copy: made as a waited
#      call): it runs once, errno 1234 is kept;
#  10. exit(4) from a thread while two others make calls without end
#      (drain_timeout 1s): the exit is not held past the drain;
#  11. no runner at all (autostart = false, no pool, wait_for_runner
#      0.5s, drain_timeout 2s; the program started with LD_PRELOAD): the
#      caller does not wait; 6 calls made at once all run here, once,
#      about 0.5 s after they were made (not one after another, 0.5 s
#      each, until the drain withdraws the rest); 4 calls of as_kinds run
#      here with their copied arguments as made (aligned); as_chain, run
#      here by the shim's answer thread, calls as_note, which runs once;
#      calls without arguments (which copy nothing) queued among calls of
#      15 MiB, so that the copies wrap around the 64 MiB they share: each
#      call summed its buffer as made;
#  12. a thread cancelled while it waits for room (5000 calls of 200 ms,
#      1 worker): the program's next call and its exit go on (drain_timeout
#      1s);
#  13. fork while two threads make async calls (4 children, one after
#      another, 3 calls each): every call of the parent's threads and of
#      each child ran exactly once, and the run ended within 20 s (in the
#      ASan build, where libasan can hang a child's new thread, the drain
#      is 3 s, and through Redis the run is made up to 40 times: see the
#      case).
# Then dtask check's line for an async entry.
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
AS=$BUILD/fixtures/async/asprog
need_built "{} is built (make all)" "make all" "$DTASK" "$AS"
SHIM=$BUILD/libdtask_shim.so
# shellcheck source=tests/integration/asanfx.bash
. "$(dirname "$0")/asanfx.bash"
ulimit -c 0
scratch async
CLEAN=(-u LD_PRELOAD -u DTASK_CONFIG -u DTASK_MODE -u DTASK_TRACE -u DTASK_LOG
       -u DTASK_STRICT -u DTASK_HOST_ID)

# mkcfg NAME QUEUE-LINES [EXTRA] [DEFAULTS]: the config of asprog's
# functions, EXTRA added to as_note's entry, DEFAULTS to [defaults].
mkcfg() {
  local f=$tmp/$1.toml
  {
    printf '[queue]\n%s\n[runner]\nautostart = false\n' "$2"
    printf '[defaults]\n%s\n' "${4:-}"
    printf '[types]\nvec32 = { size = 32, align = 32 }\n'
    printf '[[offload]]\nsignature = "void as_note(int thread, int seq, cstring tag, int ms)"\nasync = true\n%s\n' "${3:-}"
    printf '[[offload]]\nsignature = "void as_sum(in uint8 data[n], size_t n, int seq)"\nasync = true\n'
    printf '[[offload]]\nsignature = "void as_crash(int how)"\nasync = true\n'
    printf '[[offload]]\nsignature = "void as_kinds(in vec32 v[vn], size_t vn, bool b, char c, int8 i8, uint16 u16, int i, uint u, int64 i64, uint64 u64, float f, double d, size_t sz, cstring s, cstring snull, in uint8 z[zn], size_t zn, in uint8 znull[zn], int seq)"\nasync = true\n'
    printf '[[offload]]\nsignature = "void as_chain(int n)"\nasync = true\n'
    printf '[[offload]]\nsignature = "void as_tick(void)"\nasync = true\n'
  } >"$f"
  echo "$f"
}

# asprog_run OUT CFG W ARGS...: asprog ARGS under dtask run -w W, logging
# to OUT.log; as run_timed (runs.bash), so stopped after RUN_TMO seconds
# (60 unless set).
asprog_run() {
  local o=$1 cfg=$2 w=$3
  shift 3
  : >"$o.log"
  run_timed "$o" "${LAUNCH_ENV[@]}" ASYNC_LOG="$o.log" \
    "$DTASK" run -c "$cfg" -w "$w" -- "$AS" "$@"
}

# direct OUT CFG ARGS...: asprog ARGS with the shim preloaded, no dtask
# run (so no pool unless one serves the queue already), logging to
# OUT.log; as run_timed, stopped after 60 s whatever RUN_TMO says.
direct() {
  local o=$1 cfg=$2 RUN_TMO=60 CALLER_TIMED=1
  shift 2
  : >"$o.log"
  caller "$o" "$cfg" ASYNC_LOG="$o.log" -- "$AS" "$@"
}

# kinds_ok OUT: OUT.log holds, without pids, exactly the lines asprog
# printed to OUT.out.
kinds_ok() {
  sed 's/ pid [0-9]*$//' "$1.log" | sort >"$1.got"
  sort "$1.out" | grep '^kinds ' >"$1.want"
  [ -s "$1.want" ] && cmp -s "$1.want" "$1.got"
}

# once FILE: every "note THREAD SEQ" of FILE is there exactly once.
dups() { awk '$1 == "note" { print $2, $3 }' "$1" | sort | uniq -d | wc -l; }

backend_case() {
  local be=$1 qlines=$2 cfg o n
  mkdir -m 700 "$tmp/$be.q"
  cfg=$(mkcfg "$be" "$qlines")

  o=$tmp/$be.1
  asprog_run "$o" "$cfg" 2 burst 4 10 50
  local made logged
  made=$(sed -n 's/^made \([0-9]*\) .*/\1/p' "$o.out")
  logged=$(sed -n 's/^made .* logged \([0-9]*\)$/\1/p' "$o.out")
  n=$(grep -c '^note ' "$o.log")
  [ "$(cat "$o.rc")" = 0 ] && [ "$made" = 40 ] && [ -n "$logged" ] &&
    [ "$logged" -lt 40 ] && [ "$n" = 40 ] && [ "$(dups "$o.log")" = 0 ] &&
    ! grep -q "pid $(sed -n 's/^caller pid //p' "$o.out")\$" "$o.log"
  check $? "$be 1 40 calls made without waiting ($logged logged when the last was made), all 40 ran once by exit" \
    "$o.out" "$o.err" "$o.log"
  grep -q '^made 40 errno changed 0 ' "$o.out"
  check $? "$be 1 errno is the caller's after every async call" "$o.out"
  grep -q '^dtask: 40 calls offloaded; as_note 40 ' "$o.err"
  check $? "$be 1 every call ran in a worker (dtask run's summary counts 40)" "$o.err"

  o=$tmp/$be.2
  asprog_run "$o" "$cfg" 1 burst 3 20 0
  n=$(awk '$1 == "note" { if (seen[$2] && $3 <= last[$2]) bad++; last[$2] = $3; seen[$2] = 1 } END { print bad + 0 }' "$o.log")
  [ "$(cat "$o.rc")" = 0 ] && [ "$(grep -c '^note ' "$o.log")" = 60 ] && [ "$n" = 0 ]
  check $? "$be 2 one worker: each thread's calls ran in the order it made them ($n out of order)" \
    "$o.log" "$o.err"

  o=$tmp/$be.3
  asprog_run "$o" "$cfg" 2 sum 20
  sort "$o.out" >"$o.want"
  awk '$1 == "sum" { print $1, $2, $3 }' "$o.log" | sort >"$o.got"
  [ "$(cat "$o.rc")" = 0 ] && [ "$(wc -l <"$o.want")" = 20 ] && cmp -s "$o.want" "$o.got"
  check $? "$be 3 the caller reuses its buffer at once: each call summed it as it was made" \
    "$o.want" "$o.got" "$o.err"

  o=$tmp/$be.4
  asprog_run "$o" "$cfg" 2 crash
  [ "$(cat "$o.rc")" = 0 ] && grep -qx 'done' "$o.out" &&
    grep -q 'async call of as_crash failed: .*signal 11' "$o.err" &&
    grep -q '^note 0 1 after ' "$o.log" && grep -q '^crash 1 ' "$o.log"
  check $? "$be 4 a crash is said, the caller lives on and its next call runs (exit 0)" \
    "$o.out" "$o.err" "$o.log"

  o=$tmp/$be.5
  asprog_run "$o" "$cfg" 2 fork 10
  [ "$(cat "$o.rc")" = 0 ] && grep -qx 'child status 0' "$o.out" &&
    [ "$(grep -c '^note 0 [0-9]* parent ' "$o.log")" = 10 ] &&
    [ "$(grep -c '^note 1 [0-9]* child ' "$o.log")" = 10 ] && [ "$(dups "$o.log")" = 0 ]
  check $? "$be 5 fork: the parent's 10 calls and the child's 10 each ran once" \
    "$o.out" "$o.err" "$o.log"

  o=$tmp/$be.6
  asprog_run "$o" "$cfg" 2 exit 6 100
  [ "$(cat "$o.rc")" = 3 ] && [ "$(grep -c '^note ' "$o.log")" = 6 ]
  check $? "$be 6 exit(3) right after 6 calls: all 6 ran, exit status 3 ($(cat "$o.rc"))" \
    "$o.err" "$o.log"

  o=$tmp/$be.7
  local dcfg
  dcfg=$(mkcfg "$be.d" "$qlines" 'drain_timeout = "700ms"')
  asprog_run "$o" "$dcfg" 1 burst 1 8 600
  local ran notrun left
  ran=$(grep -c '^note ' "$o.log")
  notrun=$(sed -n 's/.*past drain_timeout (0.7s): \([0-9]*\) not run.*/\1/p' "$o.err")
  left=$(sed -n 's/.* not run (no worker had taken them: withdrawn), \([0-9]*\) left running.*/\1/p' "$o.err")
  # A call left to a worker may be cut short when dtask run stops the
  # pool: ran + not run is 8 less at most those left.
  [ "$(cat "$o.rc")" = 0 ] && [ "$(cat "$o.ms")" -lt 3500 ] &&
    [ -n "$notrun" ] && [ -n "$left" ] && [ "$notrun" -ge 1 ] &&
    [ $((ran + notrun)) -le 8 ] && [ $((ran + notrun + left)) -ge 8 ] &&
    [ "$(dups "$o.log")" = 0 ]
  check $? "$be 7 drain_timeout 0.7s: exit held $(cat "$o.ms") ms (not 4.8 s); $ran ran, ${notrun:-?} said not run, ${left:-?} left to a worker" \
    "$o.err" "$o.log"

  o=$tmp/$be.8
  asprog_run "$o" "$cfg" 2 kinds 6
  [ "$(cat "$o.rc")" = 0 ] && kinds_ok "$o" && [ "$(wc -l <"$o.want")" = 6 ]
  check $? "$be 8 19 arguments of every kind, overwritten at once: each call ran with them as made" \
    "$o.want" "$o.got" "$o.err"

  o=$tmp/$be.9
  asprog_run "$o" "$cfg" 1 big
  [ "$(cat "$o.rc")" = 0 ] && grep -qx 'big errno 1234' "$o.out" &&
    [ "$(grep -c '^sum -1 ' "$o.log")" = 1 ] &&
    [ "$(sed -n 's/^\(sum -1 [0-9]*\) .*/\1/p' "$o.log")" = "$(grep '^sum -1 ' "$o.out")" ]
  check $? "$be 9 a call of 17 MiB is made as a waited call: it ran once, errno kept" \
    "$o.out" "$o.err" "$o.log"

  o=$tmp/$be.10
  dcfg=$(mkcfg "$be.s" "$qlines" 'drain_timeout = "1s"')
  asprog_run "$o" "$dcfg" 1 spin 2 5
  [ "$(cat "$o.rc")" = 4 ] && [ "$(cat "$o.ms")" -lt 5000 ] && [ "$(dups "$o.log")" = 0 ]
  check $? "$be 10 exit(4) from a thread while two make calls without end: exit held $(cat "$o.ms") ms (drain_timeout 1s), status $(cat "$o.rc")" \
    "$o.err"

  o=$tmp/$be.12
  asprog_run "$o" "$dcfg" 1 cancel
  [ "$(cat "$o.rc")" = 0 ] && grep -qx cancelled "$o.out" && [ "$(dups "$o.log")" = 0 ]
  check $? "$be 12 a thread cancelled while it waits for room: the next call and the exit go on (status $(cat "$o.rc"), $(cat "$o.ms") ms)" \
    "$o.out" "$o.err"

  # A child's first async call starts its answer thread.  In the ASan
  # build that thread can hang in libasan itself: GCC 12's allocator has
  # no fork handlers, so a lock that another thread of the parent held
  # at the fork stays held in the child (gdb: AsanThread::Init, then the
  # allocator's mutex).  The child's calls still run in the workers; only
  # its exit waits out the drain, 30 s by default, and two such children
  # overran the run's 60 s.  There the drain is 3 s ([defaults]); in the
  # other builds a slow exit is a hang of dtask's own, and the run must
  # end within 20 s.  Through Redis, whose replies the parent's threads
  # allocate all the time, a child of the ASan build can also hang for
  # good on that lock, outside dtask (about 1 run in 2 on the 2-core
  # machine, at this commit and before it, and on some days 6 runs of 7;
  # on 2026-12-07 all 15 runs of one check-asan hung, at a commit that
  # changed nothing on this path): there, and only there, the run is made
  # up to 40 times (at most about 13 minutes), each stopped after 20 s
  # (one that ends takes about 8 s), a child left hanging by a try killed
  # before the next, and the line says how many it took.
  o=$tmp/$be.13
  # RUN_TMO is local: asprog_run sees it for this case's runs alone.
  local fcfg=$cfg limit=20000 try=0 tries=1 ok13 RUN_TMO=60
  if [ "$SANITIZE" = 1 ]; then
    fcfg=$(mkcfg "$be.f" "$qlines" "" 'drain_timeout = "3s"')
    limit=60000
    if [ "$be" = redis ]; then
      tries=40 limit=20000
      RUN_TMO=20 # a run that ends takes about 8 s here; a hung one, forever
    fi
  fi
  while [ "$try" -lt "$tries" ]; do
    try=$((try + 1))
    # A child that hung in the try before is killed first: it holds a
    # connection and its calls, and must not weigh on the next try.
    [ "$try" -gt 1 ] && pkill -KILL -f -- "$AS forkmt" 2>/dev/null
    asprog_run "$o" "$fcfg" 2 forkmt 200
    [ "$(cat "$o.rc")" = 0 ] && grep -qx 'children ok' "$o.out" &&
      [ "$(grep -c '^note [01] [0-9]* b ' "$o.log")" = 400 ] &&
      [ "$(grep -c '^note 1[0-3] [0-2] child ' "$o.log")" = 12 ] && [ "$(dups "$o.log")" = 0 ] &&
      [ "$(cat "$o.ms")" -lt "$limit" ]
    ok13=$?
    [ "$ok13" = 0 ] && break
  done
  check $ok13 "$be 13 fork while two threads make async calls: the parent's 400 calls and the children's 12 each ran once ($(cat "$o.ms") ms, under $limit; run $try of at most $tries)" \
    "$o.out" "$o.err"

  mkdir -m 700 -p "$tmp/$be.none"
  local ncfg cpid
  ncfg=$(mkcfg "$be.n" "${qlines//$be.q/$be.none}" 'drain_timeout = "2s"' \
    'wait_for_runner = "500ms"')
  o=$tmp/$be.11
  direct "$o" "$ncfg" burst 1 6 0
  cpid=$(sed -n 's/^caller pid //p' "$o.out")
  [ "$(cat "$o.rc")" = 0 ] && grep -q '^made 6 errno changed 0 logged 0$' "$o.out" &&
    [ "$(grep -c "^note 0 [0-5] b pid $cpid\$" "$o.log")" = 6 ] &&
    [ "$(dups "$o.log")" = 0 ] && [ "$(cat "$o.ms")" -lt 1800 ] &&
    ! grep -q 'not run' "$o.err"
  check $? "$be 11 no runner: 6 calls made at once all ran here once, by exit ($(cat "$o.ms") ms, wait_for_runner 0.5s)" \
    "$o.out" "$o.err" "$o.log"

  o=$tmp/$be.11k
  direct "$o" "$ncfg" kinds 4
  [ "$(cat "$o.rc")" = 0 ] && kinds_ok "$o" && [ "$(wc -l <"$o.want")" = 4 ]
  check $? "$be 11 no runner: as_kinds ran here with its copied arguments as made, aligned" \
    "$o.want" "$o.got" "$o.err"

  o=$tmp/$be.11c
  direct "$o" "$ncfg" chain
  [ "$(cat "$o.rc")" = 0 ] && grep -qx done "$o.out" &&
    [ "$(grep -c '^chain 1 ' "$o.log")" = 1 ] &&
    [ "$(grep -c '^note 9 1 chained ' "$o.log")" = 1 ]
  check $? "$be 11 no runner: as_chain, run by the answer thread, calls as_note, which ran once" \
    "$o.out" "$o.err" "$o.log"

  o=$tmp/$be.11w
  direct "$o" "$ncfg" wrap
  sort "$o.out" >"$o.want"
  awk '$1 == "sum" { print $1, $2, $3 }' "$o.log" | sort >"$o.got"
  [ "$(cat "$o.rc")" = 0 ] && [ "$(wc -l <"$o.want")" = 6 ] && cmp -s "$o.want" "$o.got" &&
    [ "$(grep -c '^tick ' "$o.log")" = 2 ]
  check $? "$be 11 no runner: calls without arguments among calls of 15 MiB, copies wrapped: each summed its buffer as made" \
    "$o.want" "$o.got" "$o.err"
}

backend_case lmdb "path = \"$tmp/lmdb.q\""

# dtask check says what async does.
cfg=$(mkcfg check "path = \"$tmp/lmdb.q\"")
env "${CLEAN[@]}" "$DTASK" check -c "$cfg" >"$tmp/check.out" 2>&1
grep -q 'async: the caller does not wait (its errno is left as it was; a failure is said on stderr); exit waits up to 30s (drain_timeout)' \
  "$tmp/check.out"
check $? "dtask check: an async entry's line, with its drain_timeout" "$tmp/check.out"

need_redis
backend_case redis "backend = \"redis\"
url = \"unix://$SOCK\"
path = \"$tmp/redis.q\""

finish
