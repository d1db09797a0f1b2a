#!/bin/sh
# Channel deadlines: the cost of setting, moving and firing one, and of the
# idle wait, as their number grows (0 to 1,000,000).
# Run by scripts/bench.sh after its build, with its argument ([--quick]).
set -eu
cd "$(dirname "$0")/../.."
. scripts/bench/common.sh

echo "== deadlines: cost per deadline and the idle wait, as they grow"
out=$raw/deadlines.tsv
counts=0,1000,10000,100000,1000000
[ "$quick" -eq 1 ] && counts=0,1000,100000
"$bin/deadlines" -d "$counts" >"$out" || echo "   deadlines failed" >&2
awk -F '\t' '{ printf "   d=%-8s %-14s %s\n", $4, $5, $6 }' "$out"
