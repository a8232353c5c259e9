# lib.sh: the bench's helpers, shared by every group: progress and the
# report (say, md, die), running a program under timeout (run_to, wall),
# the statistics (med, calc, human), the checks that calls were
# offloaded (offloaded, summary_says), the private configs (cfg) and the
# records of results.json (num, rec, jstr; STAT).
#
# bench/run.sh sources it once its variables are set (OUT, T, root, TMO,
# RUNS); it is not run on its own.

say() { echo "bench: $*" >&2; }
# md LINE...: a line of the report, printed and saved.
md() { printf '%s\n' "$*" | tee -a "$OUT/results.md"; }
die() {
  echo "bench: $1" >&2
  shift
  local f
  for f in "$@"; do [ -s "$f" ] && tail -n 40 "$f" | sed 's/^/bench:   /' >&2; done
  exit 1
}

# run_to OUTFILE ERRFILE WHAT CMD...: runs CMD under timeout with stdin
# /dev/null, appending its stdout to OUTFILE and its stderr to ERRFILE; a
# failure or a timeout stops the bench with WHAT and the end of ERRFILE.
run_to() {
  local out=$1 err=$2 what=$3 st=0
  shift 3
  timeout -k 10 "$TMO" "$@" </dev/null >>"$out" 2>>"$err" || st=$?
  case $st in
    0) ;;
    124 | 137) die "$what: did not finish within $TMO s (BENCH_TIMEOUT; a hung pool?), so it was stopped: $*" "$err" ;;
    *) die "$what failed (status $st): $*" "$err" ;;
  esac
}

# med FILE KEY: the median of the values of the "KEY VALUE" lines of FILE,
# the mean of the two middle ones for an even count (n/a when there is
# none).
med() {
  awk -v k="$2" '$1 == k { print $2 }' "$1" | sort -g |
    awk '{ v[NR] = $1 }
      END {
        if (!NR) { print "n/a"; exit }
        if (NR % 2) { print v[(NR + 1) / 2]; exit }
        a = v[NR / 2]; b = v[NR / 2 + 1]
        d = 0
        for (i = 0; i < 2; i++) {
          s = i ? b : a
          p = index(s, ".")
          if (p && length(s) - p > d) d = length(s) - p
        }
        s = sprintf("%.*f", d + 1, (a + b) / 2)
        if (index(s, ".")) { sub(/0+$/, "", s); sub(/\.$/, "", s) }
        print s
      }'
}

# calc EXPR FORMAT A B: A EXPR B with awk (EXPR: / - + or *), n/a when
# either is n/a or the division is by zero.
calc() {
  awk -v a="$3" -v b="$4" -v op="$1" -v f="$2" 'BEGIN {
    if (a == "n/a" || b == "n/a" || (op == "/" && b + 0 == 0)) { print "n/a"; exit }
    r = op == "/" ? a / b : op == "-" ? a - b : op == "+" ? a + b : a * b
    printf f "\n", r }'
}

# offloaded FILE WHAT: every run in FILE said "offloaded 1", or the bench
# stops: a figure of calls that ran inline would be a false one.
offloaded() {
  if awk '$1 == "offloaded" && $2 != 1 { bad = 1 } $1 == "offloaded" { n++ }
          END { exit !(n > 0 && !bad) }' "$1"; then
    return
  fi
  die "$2: the calls did not run in a worker; dtask's messages:" "$1.err"
}

# summary_says ERRFILE WHAT SYMBOL COUNT...: the last summary line of dtask
# run in ERRFILE ("dtask: N calls offloaded; SYMBOL COUNT (p50 ...)...")
# offloaded at least one call and COUNT calls of each SYMBOL, or the bench
# stops.
summary_says() {
  local err=$1 what=$2 line
  shift 2
  line=$(grep '^dtask: [0-9][0-9]* calls\{0,1\} offloaded' "$err" | tail -n 1 || true)
  [ -n "$line" ] || die "$what: dtask run printed no summary of offloaded calls" "$err"
  case $line in "dtask: 0 calls offloaded"*) die "$what: dtask run offloaded nothing: $line" "$err" ;; esac
  while [ $# -ge 2 ]; do
    case "$line;" in
      *"; $1 $2 ("*) ;;
      *) die "$what: dtask run did not offload $2 calls of $1: $line" "$err" ;;
    esac
    shift 2
  done
}

# cfg NAME SRC: a copy of the config SRC whose [queue] path is NAME in
# the private directory; prints its path.
cfg() {
  local out=$root/$1.toml
  if grep -q '^path *=' "$2"; then
    sed "s|^path *=.*|path = \"$root/q-$1\"|" "$2" >"$out"
  else
    { cat "$2"; printf '\n[queue]\npath = "%s"\n' "$root/q-$1"; } >"$out"
  fi
  echo "$out"
}

# rec GROUP NAME VALUE UNIT [BASE_NAME BASE_VALUE BASE_UNIT]: one figure
# for results.json, with the statistic in $STAT.  Names and units are this
# script's own strings.
STAT="median of $RUNS run(s)"
num() {
  if [[ $1 =~ ^-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?$ ]]; then echo "$1"; else echo null; fi
}
rec() {
  local base="null" name=${2//\*\*/}
  if [ $# -ge 7 ]; then
    base=$(printf '{"name": "%s", "value": %s, "unit": "%s"}' "$5" "$(num "$6")" "$7")
  fi
  printf '    {"group": "%s", "name": "%s", "value": %s, "unit": "%s", "statistic": "%s", "baseline": %s},\n' \
    "$1" "$name" "$(num "$3")" "$4" "$STAT" "$base" >>"$T/records"
}

# jstr TEXT: TEXT as a JSON string.
jstr() {
  printf '"%s"' "$(printf '%s' "$1" | sed 's/\\/\\\\/g; s/"/\\"/g' | tr -d '\000-\037')"
}

# wall OUTFILE WHAT CMD...: runs CMD (run_to, stdout to OUTFILE, stderr to
# OUTFILE.err, both emptied first) and prints its wall time in seconds.
wall() {
  local out=$1 what=$2 t0 t1
  shift 2
  : >"$out"
  : >"$out.err"
  t0=$EPOCHREALTIME
  run_to "$out" "$out.err" "$what" "$@"
  t1=$EPOCHREALTIME
  awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f\n", b - a }'
}

# human N: N bytes in B, KiB, MiB or GiB (%g).
human() { awk -v n="$1" 'BEGIN { u = "B"; split("KiB MiB GiB", us, " ")
  for (i = 1; n >= 1024 && i <= 3; i++) { n /= 1024; u = us[i] } printf "%g %s\n", n, u }'; }
