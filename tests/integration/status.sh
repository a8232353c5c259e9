#!/bin/bash
# status.sh: integration tests of `dtask status` and `dtask top`, against
# real pools under load, on both backends.
#
# For each backend ("lmdb", then "redis" on a redis-server of its own, on
# a unix socket):
#   1. before any pool: status exits 1 and says no pool serves; a bad
#      config exits 2 with its file:line:col;
#   2. a pool of 2 workers (dtask-runner, flprog's image) serves: status
#      exits 0; while one caller's fl_sleep_ms(3000) runs, and after a
#      call that crashed its worker once and was retried (on_crash =
#      "retry") and a plain fl_add:
#        - --json parses (python3's json) and says: 1 pool serving, 2
#          workers alive and at least 1 busy; fl_sleep_ms in flight, made
#          by that caller's pid, running for at least 0.5 s; per symbol
#          fl_crash_then_ok 1 crash and 1 call, fl_add 4 calls with an
#          execution p50 above 0;
#        - the text view lists the call in flight and the symbols;
#        - --prometheus parses as text exposition (every sample line is
#          NAME{LABELS} VALUE under a TYPE line, each histogram's buckets
#          grow to +Inf == _count), with the crash counted;
#        - top -n 2 (not a terminal) prints the view twice, busiest
#          symbol first;
#        - before that, the callers' round trips and retries:
#          fl_crash_then_ok 1 retry, fl_add 4 round trips (one from a
#          caller that exited, three from one that still runs, told
#          after its third call), a round trip's p50 at least its
#          execution's; the views below are read under load (a caller
#          of 2 threads x 15000 fl_add), with the retry and the round-trip
#          histogram in the exposition and the retries column in text;
#      then the sleeper's worker is SIGKILLed: the pool reclaims the
#      lease (1 in its record), the call runs again and its round trip
#      is over 4 s; once every caller has exited, fl_add has 30004
#      round trips, as many as the workers' calls: none lost, none
#      counted twice;
#      with LMDB, top on a terminal (script(1)) draws in place and quits
#      on q, and on Ctrl-C;
#      with Redis, a config of the same queue name whose directory never
#      saw the program (another host's view) finds the image, its pool
#      and its round trips through the server;
#   3. after the pool stops (SIGTERM): status exits 1 again, and no pool
#      record is left;
#   4. a new pool, started when none serves: round trips from zero.
# Then the progress line of a split call (fanprog slow: 10 slices, the
# second takes 2 s), under `script` for a terminal: with DTASK_PROGRESS=1
# the line is drawn ("fx_slow: D/10 slices, T s, about L s left"), ends at
# 10/10 and is erased; the controls, stderr not a terminal and the
# variable unset, print none of it.
#
# Environment: BUILD (default build); SANITIZE=1 when built with
# ASan/UBSan (the sanitizer runtime is preloaded before the shim).
# Output: "ok - ..." or "not ok - ..." per check, then "N passed, N
# failed, N skipped".  Exit status 1 if any check failed.
set -u

# shellcheck source=tests/integration/tap.bash
. "$(dirname "$0")/tap.bash"
# shellcheck source=tests/integration/runs.bash
. "$(dirname "$0")/runs.bash"

DTASK=$BUILD/dtask
RUNNER=$BUILD/dtask-runner
SHIM=$BUILD/libdtask_shim.so
FL=$BUILD/fixtures/failure
FAN=$BUILD/fixtures/fanout/fanprog
need_built "{} is built (make all)" "make all" \
  "$DTASK" "$RUNNER" "$SHIM" "$FL/flprog" "$FAN"
# With sanitizers: the ASan runtime first, and ASan's own crash handlers
# off (a crash must reach dtask's supervisor).
# shellcheck source=tests/integration/asanfx.bash
. "$(dirname "$0")/asanfx.bash"
ulimit -c 0
PY=/usr/bin/python3
[ -x "$PY" ] || { not_ok "python3 is installed (tools/deps.sh installs it)"; finish; }
scratch status
CLEAN=(-u LD_PRELOAD -u DTASK_CONFIG -u DTASK_MODE -u DTASK_TRACE -u DTASK_LOG
       -u DTASK_STRICT -u DTASK_HOST_ID)

# mkcfg NAME QUEUE-LINES: a config of flprog's functions.
mkcfg() {
  local f=$tmp/$1.toml
  {
    printf '[queue]\n%s\n[runner]\nautostart = false\nworkers = 2\n' "$2"
    printf '[defaults]\nwait_for_runner = "5s"\n'
    printf '[[offload]]\nsignature = "int fl_sleep_ms(int ms)"\n'
    printf '[[offload]]\nsignature = "int fl_add(int a, int b)"\n'
    printf '[[offload]]\nsignature = "int fl_pid()"\n'
    printf '[[offload]]\nsignature = "int fl_crash_then_ok(cstring path, int crashes)"\n'
    printf 'on_crash = "retry"\nretry_wait = "10ms"\n'
  } >"$f"
  chmod 600 "$f"
  echo "$f"
}

# status OUT CFG [ARGS...]: runs dtask status; OUT.out, OUT.err, OUT.rc.
status() {
  local o=$1 cfg=$2
  shift 2
  env "${CLEAN[@]}" "${CALLER_ENV[@]}" "$DTASK" status -c "$cfg" "$@" >"$o.out" 2>"$o.err"
  echo $? >"$o.rc"
}

# bg_caller OUT CFG ARGS...: flprog ARGS with the shim, in the background;
# sets CPID.
bg_caller() {
  local o=$1 cfg=$2
  shift 2
  env "${CLEAN[@]}" "${CALLER_ENV[@]}" DTASK_CONFIG="$cfg" LD_PRELOAD="$PRELOAD" \
    timeout 60 "$FL/flprog" "$@" >"$o.out" 2>"$o.err" &
  CPID=$!
}

# json_check FILE PYTHON-EXPR: 0 if the expression, over the parsed JSON
# as j, is true.
json_check() {
  "$PY" -c 'import json, sys
j = json.load(open(sys.argv[1]))
img = [i for i in j["images"] if i.get("pools")]
sym = {s["symbol"]: s for i in img for s in i["symbols"]}
fl = [c for i in img for c in i["in_flight"]]
sys.exit(0 if eval("(" + sys.argv[2] + ")") else 1)' "$1" "$2" 2>"$tmp/json.err"
}

# prom_check FILE: the text exposition checks (see the top).
prom_check() {
  "$PY" - "$1" <<'EOF' 2>"$tmp/prom.err"
import re, sys
typed, hist = {}, {}
line_re = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)\{([^}]*)\} (\S+)$')
for line in open(sys.argv[1]):
    line = line.rstrip("\n")
    if line.startswith("# TYPE "):
        _, _, name, kind = line.split(" ")
        typed[name] = kind
        continue
    if line.startswith("# HELP ") or not line:
        continue
    m = line_re.match(line)
    assert m, "not a sample: " + line
    name, labels, value = m.groups()
    float(value)
    base = re.sub(r'_(bucket|sum|count)$', '', name)
    assert name in typed or base in typed, "no TYPE for " + name
    for l in labels.split(","):
        assert re.match(r'^[a-z_]+="[^"]*"$', l), "label " + l
    if name.endswith("_bucket"):
        key = re.sub(r',le="[^"]*"', '', labels)
        hist.setdefault((base, key), []).append(float(value))
    if name.endswith("_count"):
        hist.setdefault((base, labels), [])
        b = hist[(base, labels)]
        assert b and b == sorted(b) and b[-1] == float(value), "histogram " + labels
EOF
}

# ======================================================================
backend_case() {
  local be=$1 qlines=$2 tag=$1
  local cfg
  cfg=$(mkcfg "$tag" "$qlines")

  # 1. nothing serves yet.
  status "$tmp/$tag.s0" "$cfg"
  [ "$(cat "$tmp/$tag.s0.rc")" = 1 ]
  check $? "$tag 1 status before any pool exits 1 ($(cat "$tmp/$tag.s0.rc"))" "$tmp/$tag.s0.out" "$tmp/$tag.s0.err"
  printf '[queue]\nbackend = "nope"\n' >"$tmp/bad.toml"
  status "$tmp/$tag.bad" "$tmp/bad.toml"
  [ "$(cat "$tmp/$tag.bad.rc")" = 2 ] && grep -q "bad.toml:2:" "$tmp/$tag.bad.err"
  check $? "$tag 1 status with a bad config exits 2 with file:line" "$tmp/$tag.bad.err"

  # 2. a pool, and calls.
  env "${CLEAN[@]}" "${LAUNCH_ENV[@]}" "$RUNNER" -c "$cfg" -w 2 -- "$FL/flprog" \
    >"$tmp/$tag.pool.log" 2>&1 &
  local pool=$!
  PIDS+=("$pool")
  local i=0
  while [ $i -lt 100 ]; do
    status "$tmp/$tag.s1" "$cfg"
    [ "$(cat "$tmp/$tag.s1.rc")" = 0 ] && break
    sleep 0.1
    i=$((i + 1))
  done
  [ "$(cat "$tmp/$tag.s1.rc")" = 0 ]
  check $? "$tag 2 status exits 0 once the pool serves" "$tmp/$tag.s1.out" "$tmp/$tag.pool.log"
  # A caller that lives on: 3 calls of fl_add 0.6 s apart (the third,
  # 1.2 s after the first, tells the queue its round trips), then it
  # holds on a FIFO while status looks.
  mkfifo "$tmp/$tag.hold"
  FL_HOLD="$tmp/$tag.hold" bg_caller "$tmp/$tag.paced" "$cfg" paced 3 600
  local paced=$CPID
  bg_caller "$tmp/$tag.crash" "$cfg" crash "$tmp/$tag.counter" 1
  wait "$CPID"
  bg_caller "$tmp/$tag.add" "$cfg" add 2 3
  wait "$CPID"
  has "$tmp/$tag.crash.out" "fl_crash_then_ok(" && has "$tmp/$tag.add.out" "fl_add(2, 3) = 5"
  check $? "$tag 2 a crashed-then-retried call and fl_add are answered" \
    "$tmp/$tag.crash.out" "$tmp/$tag.crash.err" "$tmp/$tag.add.out"
  for i in $(seq 100); do
    grep -q '^paced: ' "$tmp/$tag.paced.out" && break
    sleep 0.1
  done
  # Round trips: the crash caller's and the add caller's, told at their
  # exit; the paced caller's three, told while it still runs.
  status "$tmp/$tag.j0" "$cfg" --json
  has "$tmp/$tag.paced.out" "paced: 3 calls, 0 wrong" &&
    kill -0 "$paced" 2>/dev/null &&
    json_check "$tmp/$tag.j0.out" "sym['fl_crash_then_ok']['retries'] == 1 and
      sym['fl_crash_then_ok']['round_trips'] == 1 and
      sym['fl_add']['round_trips'] == 4 and sym['fl_add']['retries'] == 0 and
      sym['fl_pid']['round_trips'] == 1 and
      sym['fl_add']['trip_p50_us'] >= sym['fl_add']['exec_p50_us'] > 0 and
      sym['fl_add']['trip_p99_us'] >= sym['fl_add']['trip_p50_us'] and
      sym['fl_sleep_ms']['round_trips'] == 0"
  check $? "$tag 2 --json: round trips and retries per symbol, from callers gone and one still running" \
    "$tmp/$tag.j0.out" "$tmp/json.err" "$tmp/$tag.paced.out"
  # Under load: 2 threads x 15000 calls of fl_add while the sleeper's call
  # runs and status, top and the exposition are read.
  bg_caller "$tmp/$tag.soak" "$cfg" soak 2 15000
  local soak=$CPID
  bg_caller "$tmp/$tag.sleep" "$cfg" sleep 3000
  local sleeper=$CPID
  sleep 1.5
  status "$tmp/$tag.j" "$cfg" --json
  status "$tmp/$tag.t" "$cfg"
  status "$tmp/$tag.p" "$cfg" --prometheus
  # The sleeper's worker SIGKILLed from outside: its pool takes the lease
  # back, the call runs again (3 s more) and its round trip says so
  # (checked below).
  local victim
  victim=$("$PY" -c 'import json, sys
j = json.load(open(sys.argv[1]))
print([c["worker_pid"] for i in j["images"] for c in i["in_flight"]
       if c["symbol"] == "fl_sleep_ms"][0])' "$tmp/$tag.j.out")
  kill -KILL "$victim"
  env "${CLEAN[@]}" "$DTASK" top -c "$cfg" -n 2 >"$tmp/$tag.top" 2>&1
  local cpid
  cpid=$(sed -n 's/^caller pid \([0-9]*\)$/\1/p' "$tmp/$tag.sleep.out")
  json_check "$tmp/$tag.j.out" "j['serving'] == 1 and len(img) == 1 and
    img[0]['pools'][0]['alive'] == 2 and img[0]['pools'][0]['busy'] >= 1 and
    img[0]['pools'][0]['stale'] is False"
  check $? "$tag 2 --json: one pool serving, 2 workers alive, one busy" "$tmp/$tag.j.out" "$tmp/json.err"
  json_check "$tmp/$tag.j.out" "any(c['symbol'] == 'fl_sleep_ms' and
    c['caller'].split(':')[-1] == '$cpid' and c['running_ms'] >= 500 for c in fl)"
  check $? "$tag 2 --json: fl_sleep_ms in flight, made by caller $cpid, running >= 0.5 s" "$tmp/$tag.j.out" "$tmp/json.err"
  json_check "$tmp/$tag.j.out" "sym['fl_crash_then_ok']['crashes'] == 1 and
    sym['fl_crash_then_ok']['calls'] == 1 and sym['fl_add']['calls'] > 4 and
    sym['fl_add']['exec_p50_us'] > 0 and sym['fl_add']['errors'] == 0"
  check $? "$tag 2 --json: per symbol, 1 crash of fl_crash_then_ok, fl_add's calls under load with their run time" \
    "$tmp/$tag.j.out" "$tmp/json.err"
  grep -q "^  in flight:" "$tmp/$tag.t.out" &&
    grep -qE "^    fl_sleep_ms +[^ ]*$cpid " "$tmp/$tag.t.out" &&
    grep -qE "^  fl_crash_then_ok +1 +0 +1 +0 +1( +[0-9.]+ [mu]?s){4}$" "$tmp/$tag.t.out"
  check $? "$tag 2 the text view: the call in flight, fl_crash_then_ok's crash and retry, its round trip" "$tmp/$tag.t.out"
  prom_check "$tmp/$tag.p.out" &&
    grep -q '^dtask_crashes_total{image="[^"]*",symbol="fl_crash_then_ok"} 1$' "$tmp/$tag.p.out" &&
    grep -q '^dtask_retries_total{image="[^"]*",symbol="fl_crash_then_ok"} 1$' "$tmp/$tag.p.out" &&
    grep -qE '^dtask_round_trip_seconds_count\{image="[^"]*",symbol="fl_add"\} [0-9]+$' "$tmp/$tag.p.out"
  check $? "$tag 2 --prometheus parses, with the crash, the retry and the round trips counted" "$tmp/$tag.p.out" "$tmp/prom.err"
  # The calls column of the first view's symbol table, top to bottom.
  awk '/^dtask top, /{ v++ } /^  symbol  /{ t = 1; next }
       v == 1 && t && $2 ~ /^[0-9]+$/ { print $2 }' "$tmp/$tag.top" >"$tmp/$tag.calls"
  [ "$(grep -c '^dtask top, ' "$tmp/$tag.top")" = 2 ] &&
    [ "$(wc -l <"$tmp/$tag.calls")" = 4 ] &&
    sort -rn "$tmp/$tag.calls" | cmp -s - "$tmp/$tag.calls" &&
    [ "$(head -n 1 "$tmp/$tag.calls")" -ge 1 ]
  check $? "$tag 2 top -n 2 prints the view twice, busiest symbol first (calls: $(tr '\n' ' ' <"$tmp/$tag.calls"))" "$tmp/$tag.top"
  wait "$sleeper"
  status "$tmp/$tag.j2" "$cfg" --json
  status "$tmp/$tag.t2" "$cfg"
  has "$tmp/$tag.sleep.out" "fl_sleep_ms(3000) = 3000 errno 0" &&
    json_check "$tmp/$tag.j2.out" "img[0]['pools'][0]['reclaimed'] == 1 and
      sym['fl_sleep_ms']['round_trips'] == 1 and
      sym['fl_sleep_ms']['retries'] == 0 and
      sym['fl_sleep_ms']['trip_p50_us'] >= 4000000" &&
    grep -qE "^  pool [0-9]+ .*; 1 leases reclaimed, [0-9]+ entries swept$" "$tmp/$tag.t2.out"
  check $? "$tag 2 worker $victim SIGKILLed mid-call: 1 lease reclaimed, the call ran again, its round trip over 4 s" \
    "$tmp/$tag.sleep.out" "$tmp/$tag.j2.out" "$tmp/$tag.t2.out"
  : >"$tmp/$tag.hold"
  wait "$paced"
  wait "$soak"
  # The pool's record is up to a second old: wait for its last counts.
  for i in $(seq 50); do
    status "$tmp/$tag.j3" "$cfg" --json
    json_check "$tmp/$tag.j3.out" "sym['fl_add']['calls'] >= 30004" && break
    sleep 0.1
  done
  has "$tmp/$tag.soak.out" "soak: 30000 calls, 0 wrong" &&
    json_check "$tmp/$tag.j3.out" "sym['fl_add']['round_trips'] == 30004 and
      sym['fl_add']['calls'] == 30004"
  check $? "$tag 2 the callers exit: every round trip counted once (30004 of fl_add, as the workers count)" \
    "$tmp/$tag.j3.out" "$tmp/json.err" "$tmp/$tag.soak.out"
  if [ "$be" = lmdb ]; then
    # top on a terminal (script(1)): redrawn in place, quits on q and on
    # Ctrl-C (^C through the terminal: SIGINT), exit 0, within 5 s.  The
    # command is exec'd: script runs it through $SHELL, and a dash left
    # waiting in the terminal's foreground group dies of the SIGINT
    # itself (exit 130 whatever top does).
    local key
    for key in q '\003'; do
      local t0=$SECONDS
      (sleep 1.5; printf "$key") |
        timeout 10 script -qfec "exec $(printf '%q ' env "${CLEAN[@]}" "$DTASK" top -c "$cfg")" \
          /dev/null >"$tmp/$tag.tty" 2>&1
      local rc=$?
      [ $rc = 0 ] && [ $((SECONDS - t0)) -le 5 ] &&
        LC_ALL=C grep -q $'\033\[H\033\[2J' "$tmp/$tag.tty" &&
        grep -q 'dtask top, [0-9:]* (q to quit)' "$tmp/$tag.tty" &&
        grep -q '^  symbol  ' "$tmp/$tag.tty"
      check $? "$tag 2 top on a terminal: the view drawn in place, quits on $([ "$key" = q ] && echo q || echo Ctrl-C) (exit $rc)" "$tmp/$tag.tty"
    done
  fi
  if [ "$be" = redis ]; then
    # Another host's view: the same queue name (the leaf of its path),
    # a queue directory where no program ever ran: the image is found
    # through the server.
    mkdir -m 700 -p "$tmp/elsewhere"
    local other
    other=$(mkcfg other "${qlines//$tmp\/rq/$tmp/elsewhere/rq}")
    status "$tmp/$tag.o" "$other" --json
    [ "$(cat "$tmp/$tag.o.rc")" = 0 ] &&
      json_check "$tmp/$tag.o.out" "j['serving'] == 1 and len(img) == 1 and
        sym['fl_add']['round_trips'] == 30004"
    check $? "$tag 2 from a queue directory that never saw the program: the server's image, its pool and its round trips" \
      "$tmp/$tag.o.out" "$tmp/$tag.o.err" "$tmp/json.err"
  fi
  kill -TERM "$pool"
  wait "$pool"

  # 3. stopped.
  status "$tmp/$tag.s2" "$cfg" --json
  [ "$(cat "$tmp/$tag.s2.rc")" = 1 ] && json_check "$tmp/$tag.s2.out" "j['serving'] == 0 and not img"
  check $? "$tag 3 after the pool stops: exit 1, no pool record left" "$tmp/$tag.s2.out"

  # 4. a new pool counts round trips afresh.
  env "${CLEAN[@]}" "${LAUNCH_ENV[@]}" "$RUNNER" -c "$cfg" -w 1 -- "$FL/flprog" \
    >"$tmp/$tag.pool2.log" 2>&1 &
  pool=$!
  PIDS+=("$pool")
  for i in $(seq 100); do
    status "$tmp/$tag.s3" "$cfg" --json
    [ "$(cat "$tmp/$tag.s3.rc")" = 0 ] && break
    sleep 0.1
  done
  json_check "$tmp/$tag.s3.out" "j['serving'] == 1 and
    all(s['round_trips'] == 0 and s['retries'] == 0 for s in sym.values())"
  check $? "$tag 4 a pool started when none serves: the round trips count from zero" "$tmp/$tag.s3.out" "$tmp/json.err"
  kill -TERM "$pool"
  wait "$pool"
}

backend_case lmdb "path = \"$tmp/q\""

# ======================================================================
# The progress line of a split call.
printf '[queue]\npath = "%s"\n[runner]\nautostart = false\n[[offload]]\n%s\n%s\naggregate = "sum"\n' \
  "$tmp/fq" 'signature = "int fx_slow(in int v[n], size_t n)"' \
  'split = { over = "n", chunk = 64 }' >"$tmp/fan.toml"
# on_pty OUT VAR=VALUE...: dtask run of fanprog slow 640 under script(1).
on_pty() {
  local o=$1
  shift
  local cmd
  cmd=$(printf '%q ' env "${CLEAN[@]}" "${LAUNCH_ENV[@]}" "$@" "$DTASK" run \
    -c "$tmp/fan.toml" -w 2 -- "$FAN" slow 640)
  timeout 60 script -qfec "$cmd" /dev/null >"$o" 2>&1
}
on_pty "$tmp/pg.on" DTASK_PROGRESS=1
on_pty "$tmp/pg.unset" X=1
env "${CLEAN[@]}" "${LAUNCH_ENV[@]}" DTASK_PROGRESS=1 "$DTASK" run -c "$tmp/fan.toml" \
  -w 2 -- "$FAN" slow 640 >"$tmp/pg.file" 2>&1
LC_ALL=C grep -qP '\rfx_slow: [0-9]+/10 slices, [0-9.]+ s, about [0-9.]+ s left\x1b\[K' "$tmp/pg.on" &&
  LC_ALL=C grep -qP '\rfx_slow: 10/10 slices, [0-9.]+ s, about 0\.0 s left\x1b\[K\r\x1b\[KR slow n=640 ret=0 ' "$tmp/pg.on"
check $? "progress: DTASK_PROGRESS=1 on a terminal draws the line, to 10/10, and erases it" "$tmp/pg.on"
! grep -q 'slices, ' "$tmp/pg.unset" && ! grep -q 'slices, ' "$tmp/pg.file" &&
  grep -q '^R slow n=640 ret=0 ' "$tmp/pg.file"
check $? "progress controls: nothing without DTASK_PROGRESS, nothing when stderr is a file" \
  "$tmp/pg.unset" "$tmp/pg.file"

need_redis
backend_case redis "backend = \"redis\"
url = \"unix://$SOCK\"
path = \"$tmp/rq\""

finish
