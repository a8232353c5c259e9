#!/bin/sh
# deps.sh: install the Debian packages dtask builds, tests and benches with.
#
# Usage: tools/deps.sh [--if-missing] [--bench] [--fuzz]
# Quiet and idempotent: it asks dpkg first and calls apt-get only for what
# is missing.  As root it installs directly; otherwise through sudo if
# there is one, else it prints the apt-get line to run and fails.
set -eu

# redis-server and libhiredis-dev: the Redis queue backend, its tests
# and bench/redis_ping.c (built by make all).  The bench's extras: plots,
# and Celery on Redis, a baseline of the bench's Redis group.
# groff-base, man-db, bash-completion and dpkg-dev: the installed layout's
# tests (manual pages rendered and found, completion, make deb).
# libdw-dev: dtask sig's DWARF reader is compiled against libdw's headers
# (and loads libdw1 with dlopen).  libclang1-14 (loaded the same way),
# and the headers and libraries of zlib, bzip2, OpenSSL and libcrypt:
# dtask sig's tests draft, check and run their functions.
PKGS="gcc make pkg-config libffi-dev liblmdb-dev libcmocka-dev lmdb-utils binutils python3 mawk perl-base passwd redis-server libhiredis-dev groff-base man-db bash-completion dpkg-dev libdw-dev libclang1-14 zlib1g-dev libbz2-dev libssl-dev libcrypt-dev"
BENCH_PKGS="gnuplot-nox python3-celery python3-redis"
# make fuzz (tests/fuzz/fuzz.mk): clang with libFuzzer, and the
# sanitizers' runtime, which clang only recommends.
FUZZ_PKGS="clang-14 libfuzzer-14-dev libclang-rt-14-dev"

want="$PKGS"
for arg in "$@"; do
  case "$arg" in
    --bench) want="$want $BENCH_PKGS" ;;
    --fuzz) want="$want $FUZZ_PKGS" ;;
    --if-missing) ;;  # the default behaviour; kept for readability of callers
    *) echo "deps.sh: unknown option $arg" >&2; exit 1 ;;
  esac
done

missing=""
for p in $want; do
  if ! dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
    missing="$missing $p"
  fi
done
[ -z "$missing" ] && exit 0

echo "dtask: installing Debian packages:$missing" >&2
if [ "$(id -u)" = 0 ]; then
  SUDO=""
elif command -v sudo >/dev/null 2>&1; then
  SUDO="sudo"
else
  echo "dtask: missing packages:$missing; run as root: apt-get install$missing" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
log=$(mktemp)
# shellcheck disable=SC2086
if ! { $SUDO apt-get update -qq && $SUDO apt-get install -y -qq --no-install-recommends $missing; } >"$log" 2>&1; then
  cat "$log" >&2
  rm -f "$log"
  echo "dtask: installing$missing failed (output above)" >&2
  exit 1
fi
rm -f "$log"
