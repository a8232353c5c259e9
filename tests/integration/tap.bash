# tap.bash: what every integration script sources.
#
# Each check prints "ok - DESCRIPTION" or "not ok - DESCRIPTION" (with the
# first 40 lines of each detail file, indented).  A check that cannot run
# here for a legitimate reason (not root, say) calls skip, which prints
# "ok - DESCRIPTION # SKIP REASON" and counts it as skipped, never as
# passed; with DTASK_NO_SKIP=1 in the environment (CI) a skip is a
# failure instead.  A tool that tools/deps.sh installs for make check
# is never a reason to skip: its absence is a failure that names
# tools/deps.sh.  finish prints the line tests/run.sh reads, "N passed,
# N failed, N skipped", and exits 1 if any failed.
# split_at_dashes parses the "[VAR=VALUE...] -- CMD..." argument lists of
# the scripts' run helpers.  (Named .bash so that tests/run.sh does not
# run it as a test.)
#
# It also settles the two variables every script reads: BUILD (default
# build), made absolute so that a script may cd, and SANITIZE (1 when
# the shim and the commands were built with ASan/UBSan).
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$PWD/$BUILD ;; esac
SANITIZE=${SANITIZE:-0}

passed=0
failed=0
skipped=0

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

# skip DESCRIPTION REASON: the check DESCRIPTION did not run, because of
# REASON.  Under DTASK_NO_SKIP=1 it is a failure, which says so.
skip() {
  local desc=$1 reason=$2
  if [ "${DTASK_NO_SKIP:-0}" = 1 ]; then
    failed=$((failed + 1))
    echo "not ok - $desc (skipped: $reason; DTASK_NO_SKIP=1 makes a skip a failure)"
  else
    skipped=$((skipped + 1))
    echo "ok - $desc # SKIP $reason"
  fi
}

# check STATUS DESCRIPTION [DETAIL-FILE...]: ok when STATUS is 0.
check() {
  local st=$1 desc=$2
  shift 2
  if [ "$st" -eq 0 ]; then ok "$desc"; else not_ok "$desc" "$@"; fi
}

finish() {
  echo "$passed passed, $failed failed, $skipped skipped"
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
