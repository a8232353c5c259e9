#!/usr/bin/env bash
# compare.sh: bring your own program: run it with and without dtask and
# compare the wall times.
#
# It owns the user's before-and-after measurement: PROG runs once each
# way untimed (a warm-up: page cache, dynamic loading), then RUNS times
# as it is and RUNS times under `dtask run -c CONFIG`, alternating, and
# the script prints every run's wall time (taken at microsecond
# resolution, printed in ms), both medians, their ratio and dtask's own
# summary of the offloaded calls, and checks that PROG's stdout is the
# same with and without dtask (a warning if not: a program that prints
# timings differs anyway).  The runs without dtask have LD_PRELOAD and
# every DTASK_* variable removed from their environment.  See usage() for
# the options and the exit status.
set -euo pipefail
export LC_ALL=C

me=compare.sh
usage() {
  cat <<EOF
usage: bench/compare.sh [-c CONFIG] [-w N] [-n RUNS] [--] PROG [ARGS...]

Runs PROG ARGS once each way untimed (a warm-up), then RUNS times
without dtask and RUNS times under 'dtask run -c CONFIG [-w N]',
alternating, and prints the wall time of every run in ms, the median of
each, and the speed-up (median without dtask / median with dtask).  It
then checks that PROG's stdout was identical in every timed run, with and
without dtask, and warns if it was not.  Without dtask, PROG runs with
LD_PRELOAD and every DTASK_* variable unset.

  -c CONFIG  the dtask config (default: \$DTASK_CONFIG, else ./dtask.toml);
             it is checked with 'dtask check' first
  -w N       runner workers for dtask run (default: the config's)
  -n RUNS    runs each way (default 5)
  -h, --help this text

PROG's stdin is /dev/null; its stdout and stderr are kept in a temporary
directory and shown only when a run fails.  dtask is \$BUILD/dtask, where
BUILD defaults to the build/ directory beside bench/, else 'dtask' from
PATH.

Exit status: 0 when every run succeeded (even if stdout differed), 1 when
PROG failed in a run (with or without dtask), 2 for a usage or config
error.

Example: bench/compare.sh -c my.toml -w 4 -- ./prog input.dat
EOF
}
fail_usage() {
  echo "$me: $1" >&2
  echo "usage: bench/compare.sh [-c CONFIG] [-w N] [-n RUNS] [--] PROG [ARGS...] (--help for more)" >&2
  exit 2
}

config=${DTASK_CONFIG:-}
workers=""
runs=5
while [ $# -gt 0 ]; do
  case $1 in
    -h | --help) usage; exit 0 ;;
    -c | -w | -n)
      [ $# -ge 2 ] || fail_usage "$1 needs a value"
      case $1 in -c) config=$2 ;; -w) workers=$2 ;; -n) runs=$2 ;; esac
      shift 2 ;;
    --) shift; break ;;
    -*) fail_usage "unknown option '$1'" ;;
    *) break ;;
  esac
done
[ $# -ge 1 ] || fail_usage "name the program to run, e.g. bench/compare.sh -c my.toml -- ./prog"
case $runs in '' | *[!0-9]* | 0) fail_usage "-n takes a number of runs, 1 or more (got '$runs')" ;; esac
if [ -n "$workers" ]; then
  case $workers in '' | *[!0-9]* | 0) fail_usage "-w takes 1 to 1024 workers (got '$workers')" ;; esac
  [ "$workers" -le 1024 ] || fail_usage "-w takes 1 to 1024 workers (got '$workers')"
fi
if [ -z "$config" ]; then
  [ -f dtask.toml ] || fail_usage "no config: pass -c FILE, set DTASK_CONFIG, or create ./dtask.toml"
  config=dtask.toml
fi
[ -f "$config" ] || fail_usage "config '$config' does not exist"
command -v "$1" >/dev/null 2>&1 || fail_usage "program '$1' not found"

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${BUILD:-$top/build}
if [ -x "$BUILD/dtask" ]; then
  dtask=$BUILD/dtask
elif command -v dtask >/dev/null 2>&1; then
  dtask=$(command -v dtask)
else
  echo "$me: dtask not found in $BUILD or on PATH; run make first" >&2
  exit 2
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

if ! "$dtask" check -c "$config" >"$tmp/check.out" 2>&1; then
  echo "$me: $config is not a valid dtask config:" >&2
  grep -v '^ ' "$tmp/check.out" | head -n 20 >&2
  exit 2
fi

dtask_cmd=("$dtask" run -c "$config")
[ -n "$workers" ] && dtask_cmd+=(-w "$workers")
dtask_cmd+=(--)

# The environment of the runs without dtask: LD_PRELOAD and every DTASK_*
# variable removed.
plain_env=(env -u LD_PRELOAD)
while read -r v; do
  plain_env+=(-u "$v")
done < <(compgen -e | grep '^DTASK_' || true)

# timed WAY I CMD...: runs CMD, keeps its output in $tmp/WAY.I.{out,err},
# appends its wall time (s, to the microsecond) to $tmp/WAY.times unless I
# is "warm" (the untimed warm-up run); stops on failure.
timed() {
  local way=$1 i=$2 t0 t1 st=0 what
  shift 2
  t0=$EPOCHREALTIME
  "$@" </dev/null >"$tmp/$way.$i.out" 2>"$tmp/$way.$i.err" || st=$?
  t1=$EPOCHREALTIME
  if [ "$st" -ne 0 ]; then
    what="run $i"
    [ "$i" = warm ] && what="warm-up run"
    if [ "$way" = plain ]; then what="$what without dtask"; else what="$what with dtask"; fi
    echo "$me: $what: $(printf '%q ' "$@")exited with status $st; its stderr ends:" >&2
    tail -n 20 "$tmp/$way.$i.err" | sed 's/^/  /' >&2
    exit 1
  fi
  [ "$i" = warm ] ||
    awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.6f\n", b - a }' >>"$tmp/$way.times"
}

# median FILE: the median of the seconds in FILE (the mean of the two
# middle values for an even count), in seconds to the microsecond.
median() {
  sort -g "$1" | awk '{ v[NR] = $1 }
    END { if (NR % 2) printf "%.6f\n", v[(NR + 1) / 2]
          else printf "%.6f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
# ms SECONDS: SECONDS in milliseconds, 3 decimals.
ms() { awk -v s="$1" 'BEGIN { printf "%.3f\n", s * 1000 }'; }

echo "compare: $(printf '%q ' "$@")"
echo "config $config, $([ -n "$workers" ] && echo "-w $workers" || echo "the config's workers"), $runs run(s) each way, alternating, after one untimed warm-up run each way"
timed plain warm "${plain_env[@]}" "$@"
timed dtask warm "${dtask_cmd[@]}" "$@"
for i in $(seq "$runs"); do
  timed plain "$i" "${plain_env[@]}" "$@"
  timed dtask "$i" "${dtask_cmd[@]}" "$@"
done

printf '%5s  %18s  %18s\n' run "without dtask (ms)" "with dtask (ms)"
paste "$tmp/plain.times" "$tmp/dtask.times" |
  awk '{ printf "%5d  %18.3f  %18.3f\n", NR, $1 * 1000, $2 * 1000 }'
m_plain=$(median "$tmp/plain.times")
m_dtask=$(median "$tmp/dtask.times")
echo "median without dtask: $(ms "$m_plain") ms"
echo "median with dtask:    $(ms "$m_dtask") ms"
awk -v a="$m_plain" -v b="$m_dtask" 'BEGIN {
  if (b > 0) printf "speed-up: %.2fx (median without dtask / median with dtask)\n", a / b
  else print "speed-up: n/a (a median of 0 ms)" }'
summary=$(grep '^dtask: ' "$tmp/dtask.$runs.err" | tail -n 1 || true)
echo "dtask, last run: ${summary#dtask: }"
case $summary in
  "dtask: 0 calls offloaded"*)
    echo "note: no call was offloaded; 'dtask check -c $config --binary $(command -v "$1")' shows what dtask can catch in PROG" ;;
esac

# stdout: every run against the first run without dtask.
plain_differs=0
dtask_differs=0
for i in $(seq "$runs"); do
  cmp -s "$tmp/plain.1.out" "$tmp/plain.$i.out" || plain_differs=$((plain_differs + 1))
  cmp -s "$tmp/plain.1.out" "$tmp/dtask.$i.out" || dtask_differs=$((dtask_differs + 1))
done
if [ $plain_differs -eq 0 ] && [ $dtask_differs -eq 0 ]; then
  echo "stdout: identical in all $((2 * runs)) runs, with and without dtask"
else
  {
    echo "WARNING: stdout differs: $dtask_differs of $runs run(s) with dtask differ from the first run without it"
    if [ $plain_differs -gt 0 ]; then
      echo "  ($plain_differs of $runs run(s) without dtask differ too: the program's output varies by itself, e.g. timings)"
    fi
    for i in $(seq "$runs"); do
      if ! cmp -s "$tmp/plain.1.out" "$tmp/dtask.$i.out"; then
        echo "  first difference (without dtask, run 1 < > with dtask, run $i):"
        diff "$tmp/plain.1.out" "$tmp/dtask.$i.out" >"$tmp/diff" || true
        head -n 6 "$tmp/diff" | sed 's/^/    /'
        break
      fi
    done
  }
fi
