# tap.bash: what every integration script sources.
#
# Each check prints "ok - DESCRIPTION" or "not ok - DESCRIPTION" (with the
# first 40 lines of each detail file, indented); finish prints the line
# tests/run.sh reads, "N passed, N failed", and exits 1 if any failed.
# split_at_dashes parses the "[VAR=VALUE...] -- CMD..." argument lists of
# the scripts' run helpers.  (Named .bash so that tests/run.sh does not
# run it as a test.)
passed=0
failed=0

ok() {
  passed=$((passed + 1))
  echo "ok - $1"
}

# not_ok DESCRIPTION [DETAIL-FILE...]
not_ok() {
  local desc=$1 f
  shift
  failed=$((failed + 1))
  echo "not ok - $desc"
  for f in "$@"; do
    [ -s "$f" ] && head -n 40 "$f" | sed 's/^/#   /'
  done
}

# check STATUS DESCRIPTION [DETAIL-FILE...]: ok when STATUS is 0.
check() {
  local st=$1 desc=$2
  shift 2
  if [ "$st" -eq 0 ]; then ok "$desc"; else not_ok "$desc" "$@"; fi
}

finish() {
  echo "$passed passed, $failed failed"
  [ "$failed" -eq 0 ]
  exit $?
}

# split_at_dashes ARGS...: sets the arrays VARS (the arguments before
# "--") and CMD (those after it).
split_at_dashes() {
  VARS=()
  CMD=()
  while [ $# -gt 0 ] && [ "$1" != "--" ]; do
    VARS+=("$1")
    shift
  done
  [ $# -gt 0 ] && shift
  CMD=("$@")
}
