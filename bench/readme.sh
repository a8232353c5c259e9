#!/usr/bin/env bash
# readme.sh: the README's measured block, made from the last full bench.
#
# It owns the text between the lines "<!-- bench:begin -->" and
# "<!-- bench:end -->" of README.md (in its "## Measured" section): that
# block is bench/results/latest.md, which a full run of bench/run.sh
# writes, with its headings demoted by two levels so that they nest under
# "## Measured", its "Files:" line pointing at bench/results/latest.md and
# bench/results/latest/, and the names of its plots made links to
# bench/results/latest/*.png.  Nothing else is changed: every figure and
# every sentence in the block comes from latest.md, which run.sh computed
# from what it measured.  The README's text outside the markers is left
# as it is.
#
# Usage: bench/readme.sh [--check] [--from LATEST_MD] [--readme README]
#   (no option)  rewrite the block in README (default README.md) from
#                LATEST_MD (default bench/results/latest.md);
#   --check      change nothing: exit 0 when the block is what LATEST_MD
#                makes, 1 (with a diff) when it is not.
# Exit status 2: a file is missing, or the markers are not there exactly
# once each, begin before end.
set -euo pipefail
export LC_ALL=C
me=readme.sh
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
from=$top/bench/results/latest.md
readme=$top/README.md
check=0
while [ $# -gt 0 ]; do
  case $1 in
    --check) check=1; shift ;;
    --from | --readme)
      [ $# -ge 2 ] || { echo "$me: $1 needs a file" >&2; exit 2; }
      if [ "$1" = --from ]; then from=$2; else readme=$2; fi
      shift 2 ;;
    -h | --help) sed -n '2,/^set /{/^set /d;s/^# \{0,1\}//;p}' "$0"; exit 0 ;;
    *) echo "$me: unknown argument '$1' (usage: bench/readme.sh [--check] [--from FILE] [--readme FILE])" >&2; exit 2 ;;
  esac
done
for f in "$from" "$readme"; do
  [ -f "$f" ] || { echo "$me: $f does not exist" >&2; exit 2; }
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# Work on a snapshot; the README is only written if it has not changed
# meanwhile (someone may be editing its other sections).
cp "$readme" "$tmp/orig"
BEGIN='<!-- bench:begin -->'
END='<!-- bench:end -->'
nb=$(grep -cxF "$BEGIN" "$tmp/orig" || true)
ne=$(grep -cxF "$END" "$tmp/orig" || true)
if [ "$nb" != 1 ] || [ "$ne" != 1 ]; then
  echo "$me: $readme must have the lines '$BEGIN' and '$END' once each (found $nb and $ne)" >&2
  exit 2
fi
lb=$(grep -nxF "$BEGIN" "$tmp/orig" | cut -d: -f1)
le=$(grep -nxF "$END" "$tmp/orig" | cut -d: -f1)
if [ "$lb" -ge "$le" ]; then
  echo "$me: in $readme, '$BEGIN' (line $lb) must come before '$END' (line $le)" >&2
  exit 2
fi

# The block: latest.md with headings two levels down, the Files line and
# the plots as links into bench/results/latest/.
awk '
  /^#+ / { print "##" $0; next }
  /^Files: / {
    print "Files: [bench/results/latest.md](bench/results/latest.md) and " \
      "[bench/results/latest/](bench/results/latest/) (results.json, plots)."
    next
  }
  /^Plots: [^ (]+\.png/ {
    s = $0; sub(/^Plots: /, "", s); sub(/\.$/, "", s)
    n = split(s, p, " "); out = "Plots:"
    for (i = 1; i <= n; i++)
      out = out sprintf(" [%s](bench/results/latest/%s)%s", p[i], p[i], i < n ? "," : ".")
    print out
    next
  }
  { print }
' "$from" >"$tmp/block"
# Trailing blank lines of latest.md are not part of the block.
sed -e :a -e '/^\n*$/{$d;N;ba' -e '}' "$tmp/block" >"$tmp/block.trim"
{
  echo ""
  cat "$tmp/block.trim"
  echo ""
} >"$tmp/want"
sed -n "$((lb + 1)),$((le - 1))p" "$tmp/orig" >"$tmp/have"

if [ "$check" = 1 ]; then
  if cmp -s "$tmp/want" "$tmp/have"; then
    echo "$me: the measured block of $readme is that of $from"
    exit 0
  fi
  echo "$me: the measured block of $readme differs from what $from makes (run bench/readme.sh):" >&2
  diff "$tmp/have" "$tmp/want" | head -n 40 >&2 || true
  exit 1
fi

{
  head -n "$lb" "$tmp/orig"
  cat "$tmp/want"
  tail -n "+$le" "$tmp/orig"
} >"$tmp/new"
if cmp -s "$tmp/new" "$tmp/orig"; then
  echo "$me: $readme's measured block is already that of $from"
elif ! cmp -s "$tmp/orig" "$readme"; then
  echo "$me: $readme changed while its block was made; nothing written, run bench/readme.sh again" >&2
  exit 1
else
  # Written in place (same file, same mode), in one go.
  cat "$tmp/new" >"$readme"
  echo "$me: rewrote the measured block of $readme from $from"
fi
