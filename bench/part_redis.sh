# part_redis.sh: groups 10 and 11 of the bench.  10: a private
# redis-server (stopped by cleanup), PING and the relay over a unix
# socket and TCP, Celery's null task, dtask's null call and the demo
# through the same server (RL and RLABEL keep the figures); 11: pools on
# 1, 2 and 4 network namespaces serving one Redis queue (as root only;
# HOSTS_SAID is its closing sentence either way).
#
# bench/run.sh sources it after part_sizes.sh (the demo's reference
# output, V and L come from the groups before); it is not run on its own.

# ============================================================ 10. Redis
say "Redis: PING over a unix socket and TCP, Celery's null task, $RUNS run(s)"
RD=$root/redis
mkdir "$RD"
REDIS_SOCK=$RD/redis.sock
REDIS_PORT=""
REDIS_VERSION=$("$REDIS_SERVER" --version | sed -n 's/.* v=\([^ ]*\).*/\1/p')
CELERY_VERSION=$("$PY" -c 'import celery; print(celery.__version__)')
# A free TCP port on 127.0.0.1 (another program may take it before the
# server does: then the server exits and the next try takes another).
free_port() {
  "$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
# redis_start: the group's own server, in the foreground of a background
# job (no daemon: its pid is ours, stopped by cleanup), without
# persistence; REDIS_PORT once both its socket and its port answer PING.
redis_start() {
  local port i pid
  for _ in 1 2 3; do
    port=$(free_port)
    rm -f "$REDIS_SOCK"
    "$REDIS_SERVER" --bind 127.0.0.1 --port "$port" --unixsocket "$REDIS_SOCK" \
      --unixsocketperm 700 --save '' --appendonly no --daemonize no \
      --dir "$RD" --logfile '' </dev/null >"$RD/log" 2>&1 &
    pid=$!
    echo "$pid" >"$root/redis.pid"
    for i in $(seq 100); do
      kill -0 "$pid" 2>/dev/null || break
      if "$B/redis_ping" "$REDIS_SOCK" 0 2>/dev/null &&
        "$B/redis_ping" "127.0.0.1:$port" 0 2>/dev/null; then
        REDIS_PORT=$port
        return 0
      fi
      sleep 0.1
    done
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    : >"$root/redis.pid"
  done
  die "Redis: redis-server did not answer on $REDIS_SOCK and 127.0.0.1:$port (3 tries):" "$RD/log"
}
redis_start
REDIS_TCP=127.0.0.1:$REDIS_PORT
say "Redis: redis-server (pid $(cat "$root/redis.pid")) answers on $REDIS_SOCK and $REDIS_TCP"
CELERY_URL=redis://$REDIS_TCP/1
for w in unix tcp relay_unix relay_tcp celery; do : >"$T/redis.$w"; done
for i in $(seq "$RUNS"); do
  run_to "$T/redis.unix" "$T/redis.unix.err" "redis_ping over the unix socket (run $i)" \
    "$B/redis_ping" "$REDIS_SOCK" "$ROUNDS"
  run_to "$T/redis.tcp" "$T/redis.tcp.err" "redis_ping over TCP (run $i)" \
    "$B/redis_ping" "$REDIS_TCP" "$ROUNDS"
  run_to "$T/redis.relay_unix" "$T/redis.relay_unix.err" "redis_ping relay over the unix socket (run $i)" \
    "$B/redis_ping" "$REDIS_SOCK" "$ROUNDS" relay
  run_to "$T/redis.relay_tcp" "$T/redis.relay_tcp.err" "redis_ping relay over TCP (run $i)" \
    "$B/redis_ping" "$REDIS_TCP" "$ROUNDS" relay
  run_to "$T/redis.celery" "$T/redis.celery.err" "Celery null task (run $i)" \
    "$PY" bench/celery_null.py "$CELERY_URL" "$CELERY_N"
done
declare -A RL
for p in p50 p99 p999; do
  RL[unix_$p]=$(med "$T/redis.unix" "$p")
  RL[tcp_$p]=$(med "$T/redis.tcp" "$p")
  RL[relay_unix_$p]=$(med "$T/redis.relay_unix" "$p")
  RL[relay_tcp_$p]=$(med "$T/redis.relay_tcp" "$p")
  RL[celery_$p]=$(med "$T/redis.celery" "celery_$p")
  RL[lmdb_$p]=${L[dtask_$p]}
done
declare -A RLABEL=(
  [unix]="PING from hiredis, unix socket"
  [tcp]="PING from hiredis, TCP loopback"
  [relay_unix]="relay through two streams (no script), unix socket"
  [relay_tcp]="relay through two streams (no script), TCP loopback"
  [lmdb]="dtask null call, **LMDB queue**, no Redis (from the round-trip table above)"
  [celery]="Celery $CELERY_VERSION null task, delay().get(), 1 solo worker, TCP loopback")
# The limit: the faster of the two PINGs.
rlimit=$(for k in unix tcp; do
  [ "${RL[${k}_p50]}" = n/a ] || echo "${RL[${k}_p50]} $k"
done | sort -g | head -n 1 | cut -d' ' -f2)
[ -n "$rlimit" ] || die "Redis: redis_ping printed no figure" "$T/redis.unix.err" "$T/redis.tcp.err"
for p in p50 p99 p999; do RL[limit_$p]=${RL[${rlimit}_$p]}; done

# rrow KEY [NOREC]: a row of the Redis table from RL[KEY_p50...] and its
# records (none with NOREC: the figure is recorded in its own group); the
# limit's own row says so, the others have the limit as their baseline.
rrow() {
  local k=$1 label=${RLABEL[$1]} p
  [ "$k" = "$rlimit" ] && label="$label: **the limit** (fastest PING p50)"
  md "| $label | ${RL[${k}_p50]} | ${RL[${k}_p99]} | ${RL[${k}_p999]} | $(calc / '%.2f' "${RL[${k}_p50]}" "${RL[limit_p50]}") |"
  [ $# -lt 2 ] || return 0
  for p in p50 p99 p999; do
    if [ "$k" = "$rlimit" ]; then rec redis "$label, $p" "${RL[${k}_$p]}" us
    else rec redis "$label, $p" "${RL[${k}_$p]}" us "the Redis limit (${RLABEL[$rlimit]}), $p" "${RL[limit_$p]}" us; fi
  done
}

# redis_cfg NAME URL: bench/offload.toml with its [queue] on this Redis
# server (URL; key prefix NAME), its local directory private to the run;
# prints its path.
redis_cfg() {
  local out=$root/$1.toml
  sed "s|^path *=.*|path = \"$root/q-$1\"\nbackend = \"redis\"\nurl = \"$2\"\nname = \"$1\"|" \
    bench/offload.toml >"$out"
  echo "$out"
}

# redis_dtask_rows: dtask's own null call through this Redis server, the
# row the group exists for: $RUNS runs of bench/roundtrip 1 $N under
# dtask run -w 1 with a config whose [queue] is this server (db 2, off
# Celery's), over the unix socket and over TCP, each checked with
# offloaded; a row each.
redis_dtask_rows() {
  local k url cfg i p
  for k in unix tcp; do
    if [ "$k" = unix ]; then url="unix://$REDIS_SOCK?db=2"
    else url="redis://$REDIS_TCP/2"; fi
    cfg=$(redis_cfg "redis-$k" "$url")
    : >"$T/rr.$k"
    for i in $(seq "$RUNS"); do
      run_to "$T/rr.$k" "$T/rr.$k.err" "dtask through Redis, $k (run $i)" \
        "$DTASK" run -c "$cfg" -w 1 -- "$B/roundtrip" 1 "$N"
    done
    offloaded "$T/rr.$k" "dtask through Redis ($k)"
    for p in p50 p99 p999; do RL[redis_${k}_$p]=$(med "$T/rr.$k" "$p"); done
    RLABEL[redis_$k]="**dtask null call through Redis**, ${RLABEL[$k]#PING from hiredis, } (bn_add, dtask run -w 1)"
    rrow "redis_$k"
  done
}

# redis_demo: the demo's two programs, exec to exit, through this Redis
# server (dtask run -w $DEMO_WORKERS, demo/dtask.toml with its [queue] on
# the server's unix socket, db 3), $RUNS runs each; their output checked
# against the run without dtask (group 1's reference) and every call
# offloaded (the summary); a table beside group 1's LMDB figures.
redis_demo() {
  local k i o w id expect cfg=$root/redis-demo.toml
  # demo/dtask.toml has a [queue] table with a path: the backend, the
  # server and a key prefix go into it, the path becomes the run's own.
  sed -e "s|^\[queue\]|[queue]\nbackend = \"redis\"\nurl = \"unix://$REDIS_SOCK?db=3\"\nname = \"demo\"|" \
    -e "s|^path *=.*|path = \"$root/q-redis-demo\"|" demo/dtask.toml >"$cfg"
  grep -q '^backend = "redis"' "$cfg" && grep -q "^path = \"$root/" "$cfg" ||
    die "demo through Redis: demo/dtask.toml has no [queue] path to rewrite"
  for k in reports legacy; do
    case $k in
      reports) expect=(build_report 10 generate_reports 1) ;;
      legacy) expect=(legacy_lookup 5) ;;
    esac
    id=$(printf '%s\n' "$BUILD/demo/$k" | md5sum | cut -c1-12)
    : >"$T/rdemo.$k"
    for i in $(seq "$RUNS"); do
      o=$T/rdemo.$k.$i.out
      w=$(wall "$o" "demo $k through Redis" "$DTASK" run -c "$cfg" -w "$DEMO_WORKERS" -- "$BUILD/demo/$k")
      summary_says "$o.err" "demo $k through Redis (dtask run -w $DEMO_WORKERS, run $i)" "${expect[@]}"
      grep -v '^time ' "$o" >"$o.lines" || true
      if ! cmp -s "$T/demo.$id.ref" "$o.lines"; then
        diff "$T/demo.$id.ref" "$o.lines" >"$o.diff" || true
        die "demo $k through Redis printed something else (run $i):" "$o.diff"
      fi
      echo "wall $w" >>"$T/rdemo.$k"
    done
  done
  md "| the demo, exec to exit (s) | without dtask | dtask run -w $DEMO_WORKERS, LMDB | dtask run -w $DEMO_WORKERS, **through Redis** | Redis / LMDB |"
  md "|---|---:|---:|---:|---:|"
  local tag label r
  for k in reports legacy; do
    tag=$([ "$k" = reports ] && echo rwall || echo lwall)
    r=$(med "$T/rdemo.$k" wall)
    V[rdemo.$k]=$r
    label="$k: whole run, exec to exit"
    md "| $label | ${V[$tag.plain]} | ${V[$tag.off]} | $r | $(calc / '%.2f' "$r" "${V[$tag.off]}") |"
    rec redis_demo "demo $label, dtask run -w $DEMO_WORKERS through Redis" "$r" s \
      "demo $label, dtask run -w $DEMO_WORKERS (LMDB)" "${V[$tag.off]}" s
  done
}

STAT="median of $RUNS run(s) of the percentile over each run's round trips"
md "## Redis: one call to another process and back through one Redis server"
md ""
md "A private redis-server $REDIS_VERSION on this machine (no persistence), reached over a unix socket and over TCP on 127.0.0.1. Each run times $ROUNDS PINGs per transport (bench/redis_ping.c, after a warm-up) and $CELERY_N Celery null tasks (bench/celery_null.py: broker and results on the same server, after a warm-up); a figure is the median of the runs' percentiles. The limit is the fastest PING p50: a raw round trip to Redis and back, which no queue on Redis can beat. The relay (bench/redis_ping.c relay, $ROUNDS rounds) is the least a call through a broker costs: a process adds a request to a stream and blocks reading a reply stream (one write), a second process blocked on the request stream adds the reply and blocks again (one write): two messages through the server, four wake-ups, and nothing else (no script, no owner, no lease)."
md ""
md "| one call through one Redis server, 1 caller | p50 (us) | p99 (us) | p99.9 (us) | p50 / limit p50 |"
md "|---|---:|---:|---:|---:|"
rrow unix
rrow tcp
rrow relay_unix
rrow relay_tcp
redis_dtask_rows
rrow lmdb norec
rrow celery
md ""
STAT="median of $RUNS run(s)"
md "## The demo through Redis"
md ""
md "The demo's two programs, exec to exit, with demo/dtask.toml's queue on the same redis-server (unix socket), beside the LMDB figures of the demo table; every run's output was checked against the run without dtask and its summary to have offloaded every call. A figure is the median of $RUNS run(s)."
md ""
redis_demo
md ""

# ============================================================ 11. hosts
# Pools on 1, 2 and 4 "hosts" serving one Redis queue: each host a
# network namespace joined to this one by a veth pair on a bridge, its
# pool reaching a redis-server of its own over TCP, the callers here.
# The function sleeps (bn_nap, 1 ms): the figure is how throughput grows
# with hosts, against linear (the 1-host figure times the hosts).  Needs
# root (ip netns); otherwise the table says it was not measured.
HOSTS_LIST="1 2 4"
HOSTS_W=2
HOSTS_NAP=1000
HOSTS_S=$([ "$QUICK" = 1 ] && echo 1 || echo 3)
HOSTS_NET=10.231.77
HB=dtask-bhbr$$
hosts_down() {
  local k
  for k in 1 2 3 4; do ip netns del "dtask-bh$$-$k" 2>/dev/null || true; done
  ip link del "$HB" 2>/dev/null || true
}
hosts_up() {
  local k
  ip link add "$HB" type bridge &&
    ip addr add "$HOSTS_NET.1/24" dev "$HB" && ip link set "$HB" up || return 1
  for k in 1 2 3 4; do
    ip netns add "dtask-bh$$-$k" &&
      ip link add "dtbv$$$k" type veth peer name eth0 netns "dtask-bh$$-$k" &&
      ip link set "dtbv$$$k" master "$HB" up &&
      ip -n "dtask-bh$$-$k" addr add "$HOSTS_NET.$((10 + k))/24" dev eth0 &&
      ip -n "dtask-bh$$-$k" link set eth0 up &&
      ip -n "dtask-bh$$-$k" link set lo up || return 1
  done
}
# hosts_cfg NAME URL: the hosts config (bn_nap and bn_pid), its local
# directory NAME private to the run; prints its path.
hosts_cfg() {
  local out=$root/$1.toml
  cat >"$out" <<EOC
[queue]
backend = "redis"
url = "$2"
name = "hosts"
path = "$root/q-$1"

[runner]
autostart = false

[[offload]]
signature = "long bn_nap(int us)"

[[offload]]
signature = "int bn_pid()"
EOC
  echo "$out"
}
# hosts_run H: one run of napcalls against pools on hosts 1..H; appends
# "tp_H VALUE" and "hosts_H VALUE" to $T/hosts.
hosts_run() {
  local h=$1 k pids=() cfg c=$(($1 * HOSTS_W * 2)) i
  for k in $(seq "$h"); do
    cfg=$(hosts_cfg "hosts-$k" "redis://$HOSTS_NET.1:$HOSTS_PORT/0")
    ip netns exec "dtask-bh$$-$k" env DTASK_HOST_ID="bench-h$k" DTASK_LOG=info \
      "$BUILD/dtask-runner" -c "$cfg" -w "$HOSTS_W" -- "$B/napcalls" \
      </dev/null >/dev/null 2>"$T/hosts-$k.log" &
    pids+=($!)
  done
  for k in $(seq "$h"); do
    for i in $(seq 200); do
      grep -q ' serves ' "$T/hosts-$k.log" 2>/dev/null && break
      sleep 0.05
    done
    grep -q ' serves ' "$T/hosts-$k.log" ||
      die "hosts: the pool of host $k did not start:" "$T/hosts-$k.log"
  done
  cfg=$(hosts_cfg hosts-0 "redis://$HOSTS_NET.1:$HOSTS_PORT/0")
  : >"$T/hosts.one"
  run_to "$T/hosts.one" "$T/hosts.err" "napcalls on $h host(s)" \
    env DTASK_CONFIG="$cfg" LD_PRELOAD="$SHIM" "$B/napcalls" "$c" "$HOSTS_S" "$HOSTS_NAP"
  offloaded "$T/hosts.one" "napcalls on $h host(s)"
  [ "$(awk '$1 == "hosts" { print $2 }' "$T/hosts.one")" = "$h" ] ||
    die "hosts: napcalls on $h host(s) was served by $(awk '$1 == "hosts" { print $2 }' "$T/hosts.one") host(s)" "$T/hosts.one"
  awk -v h="$h" '$1 == "throughput" { print "tp_" h, $2 }' "$T/hosts.one" >>"$T/hosts"
  kill -TERM "${pids[@]}" 2>/dev/null || true
  wait "${pids[@]}" 2>/dev/null || true
}
md "## Runners on many hosts: one Redis queue, pools on 1, 2 and 4 hosts"
md ""
if [ "$(id -u)" = 0 ] && command -v ip >/dev/null 2>&1; then
  say "hosts: pools in 1, 2 and 4 network namespaces, $RUNS run(s)"
  trap 'hosts_down; cleanup' EXIT
  hosts_down
  hosts_up || die "hosts: cannot make the namespaces and the bridge (ip netns, veth, bridge)"
  HOSTS_PORT=$(free_port)
  "$REDIS_SERVER" --bind "$HOSTS_NET.1" --port "$HOSTS_PORT" --save '' \
    --appendonly no --daemonize no --protected-mode no --dir "$RD" \
    --logfile '' </dev/null >"$RD/hosts.log" 2>&1 &
  HOSTS_RS=$!
  for i in $(seq 100); do
    "$B/redis_ping" "$HOSTS_NET.1:$HOSTS_PORT" 0 2>/dev/null && break
    sleep 0.1
  done
  : >"$T/hosts"
  for i in $(seq "$RUNS"); do
    for h in $HOSTS_LIST; do hosts_run "$h"; done
  done
  kill -TERM "$HOSTS_RS" 2>/dev/null || true
  wait "$HOSTS_RS" 2>/dev/null || true
  hosts_down
  declare -A HT
  for h in $HOSTS_LIST; do HT[$h]=$(med "$T/hosts" "tp_$h"); done
  md "Each host is a network namespace with its own pool of $HOSTS_W workers (dtask-runner, DTASK_HOST_ID bench-hK), reaching one private redis-server over TCP through a veth pair and a bridge; the callers ($((2 * HOSTS_W)) threads per host) run here, each calling bn_nap($HOSTS_NAP us), a sleep, for $HOSTS_S s. A figure is the median of $RUNS run(s); every run checked that every host served calls. Linear is the 1-host figure times the hosts; the target is at least 0.9 of it."
  md ""
  md "| hosts x $HOSTS_W workers | calls/s | linear (calls/s) | of linear | at least 0.9 |"
  md "|---:|---:|---:|---:|---|"
  for h in $HOSTS_LIST; do
    lin=$(calc '*' '%.0f' "${HT[1]}" "$h")
    frac=$(calc / '%.2f' "${HT[$h]}" "$lin")
    met=$(awk -v f="$frac" 'BEGIN { print (f != "n/a" && f >= 0.9) ? "yes" : "no" }')
    HT[frac_$h]=$frac
    HT[met_$h]=$met
    md "| $h | ${HT[$h]} | $lin | $frac | $met |"
    STAT="median of $RUNS run(s)"
    if [ "$h" = 1 ]; then rec hosts "bn_nap(1 ms) through Redis, 1 host x $HOSTS_W workers" "${HT[$h]}" "calls/s"
    else rec hosts "bn_nap(1 ms) through Redis, $h hosts x $HOSTS_W workers" "${HT[$h]}" "calls/s" "linear from 1 host x $h" "$lin" "calls/s"; fi
  done
  HOSTS_SAID="- Throughput of a 1 ms call through one Redis queue grew from ${HT[1]} calls/s on 1 host to ${HT[4]} on 4 hosts ($HOSTS_W workers each): ${HT[frac_4]} of linear (target at least 0.9: $([ "${HT[met_4]}" = yes ] && echo met || echo "not met") in this run; 2 hosts: ${HT[frac_2]})."
else
  md "Not measured in this run: it needs root (network namespaces)."
  HOSTS_SAID="- Runners on many hosts: not measured in this run (needs root for network namespaces)."
fi
md ""
