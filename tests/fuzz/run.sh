#!/bin/sh
# run.sh: runs dtask's libFuzzer harnesses one after the other (make fuzz,
# tests/fuzz/fuzz.mk) and prints one summary line for each.
#
# Usage: FUZZ_BUILD=build-fuzz FUZZ_TIME=60 [FUZZ_TIMEOUT=10] \
#          sh tests/fuzz/run.sh NAME...
# Each $FUZZ_BUILD/fuzz_NAME runs for FUZZ_TIME seconds over its scratch
# corpus $FUZZ_BUILD/corpus/NAME/ (where new inputs go) and the committed
# seeds tests/fuzz/corpus/NAME/ (only read), with tests/fuzz/NAME.dict
# when there is one; an input that runs longer than FUZZ_TIMEOUT seconds
# is a timeout.  Its whole output is kept in $FUZZ_BUILD/logs/NAME.log.
# The summary line gives libFuzzer's final figures: executions per
# second, the coverage reached (cov: edges, ft: features) and the
# corpus's size.  A harness that crashes, leaks, times out or runs out of
# memory is reported with the input libFuzzer kept
# ($FUZZ_BUILD/crashes/NAME/crash-..., leak-..., timeout-..., oom-...)
# and the sanitizer's summary; the others still run.  The last line is
# "fuzz: N passed, N failed" (harnesses); the exit status is 1 if any
# failed.
set -u
FUZZ_BUILD=${FUZZ_BUILD:-build-fuzz}
FUZZ_TIME=${FUZZ_TIME:-60}
FUZZ_TIMEOUT=${FUZZ_TIMEOUT:-10}
failed=0
passed=0
mkdir -p "$FUZZ_BUILD/logs"

for name in "$@"; do
  bin=$FUZZ_BUILD/fuzz_$name
  seeds=tests/fuzz/corpus/$name
  scratch=$FUZZ_BUILD/corpus/$name
  crashes=$FUZZ_BUILD/crashes/$name
  log=$FUZZ_BUILD/logs/$name.log
  if [ ! -x "$bin" ]; then
    echo "fuzz $name: no harness $bin (make fuzz-build FUZZ=$name)"
    failed=$((failed + 1))
    continue
  fi
  mkdir -p "$scratch" "$crashes"
  dict=
  [ -f "tests/fuzz/$name.dict" ] && dict=-dict=tests/fuzz/$name.dict
  # $dict is empty or one word: unquoted on purpose.
  # shellcheck disable=SC2086
  "$bin" -max_total_time="$FUZZ_TIME" -timeout="$FUZZ_TIMEOUT" \
    -print_final_stats=1 -artifact_prefix="$crashes/" $dict \
    "$scratch" "$seeds" >"$log" 2>&1
  rc=$?
  # The last status line ("#N DONE cov: C ft: F corp: K/S ...", or the
  # last pulse before a crash) and the final stats.
  last=$(grep -E '^#[0-9]+.*cov: ' "$log" | tail -n 1)
  cov=$(echo "$last" | sed -n 's/.* cov: \([0-9]*\).*/\1/p')
  ft=$(echo "$last" | sed -n 's/.* ft: \([0-9]*\).*/\1/p')
  corp=$(echo "$last" | sed -n 's/.* corp: \([0-9]*\/[0-9A-Za-z]*\).*/\1/p')
  eps=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  line="${eps:-?} exec/s, ${runs:-?} runs, cov ${cov:-?}, ft ${ft:-?}, corpus ${corp:-?}"
  if [ "$rc" -eq 0 ]; then
    echo "fuzz $name: ok: $line"
    passed=$((passed + 1))
    continue
  fi
  failed=$((failed + 1))
  input=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -n 1)
  # A harness's own check says what broke; a sanitizer, what it saw.
  what=$(grep -E '^dtask fuzz: |^==[0-9]*==ERROR: |^SUMMARY: ' "$log" |
    head -n 2 | tr '\n' ' ')
  echo "fuzz $name: FAILED (exit $rc): $line"
  echo "  ${what:-no sanitizer summary; see the log}"
  echo "  input: ${input:-none kept}"
  echo "  log:   $log"
done
echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
