# fanoutfx.bash: the set-up and helpers shared by fanout.sh (a. to h.:
# slices, aggregates, buffers, layouts, bad configs, a crash, no runner)
# and fanout_edges.sh (i. to p.: failing, crashing, timed-out and
# early-decided slices, the map's limit, offload_if, signed zeros).
# Sourced after tap.bash and runs.bash (named .bash, so tests/run.sh does
# not run it); it runs the set-up as it is sourced.
#
# The programs are tests/fixtures/fanout's fanprog and libfan.so, built
# into $BUILD/fixtures/fanout, and the queue tool tests/fixtures/qtool.c,
# built into $BUILD/fixtures.  Every queue is a fresh directory under one
# private (0700) directory in /dev/shm ($root), removed at exit; every
# process started with one of its configs is stopped at exit.  Every
# program runs under `timeout 60`.
#
# Environment: BUILD (default build); SANITIZE=1 when the shim and the
# commands were built with ASan/UBSan (default: found out from the shim):
# dtask run puts the shim in front of the ASan runtime in the programs it
# starts, so the runtime is preloaded and verify_asan_link_order=0 set.
# The fixtures themselves are plain programs.
# shellcheck disable=SC2317  # cleanup runs from the EXIT trap
# shellcheck disable=SC2034  # the sourcing scripts read the variables set here
# shellcheck disable=SC2154  # root and tmp: runs.bash's scratch_dir

DTASK=$BUILD/dtask
SHIM=$BUILD/libdtask_shim.so
FAN=$BUILD/fixtures/fanout
PROG=$FAN/fanprog
QTOOL=$BUILD/fixtures/qtool
# qtool opens the queue of this program image (each image has its own).
export QTOOL_PROG=$PROG
need_built "dtask, the shim and the fan-out fixtures are built" \
  "make all, which runs tests/fixtures/fanout/build.sh" \
  "$DTASK" "$SHIM" "$PROG" "$QTOOL" "$FAN/libfan.so" "$FAN/fan.toml"

# ASan's own signal handlers stay on, as they always have here.
ASAN_HANDLERS=asan
# shellcheck source=tests/integration/asanfx.bash
. "$(dirname "$0")/asanfx.bash"

# Variables that must not leak in from the caller's environment.
CLEAN=("${CLEAN_DTASK[@]}" -u FAN_LOG -u FAN_SLEEP_MS -u FAN_TABLE -u FAN_NAP_MS -u FAN_STATE)

# Programs run in this directory: no stray ./dtask.toml takes part.
scratch_dir fanout /dev/shm

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
