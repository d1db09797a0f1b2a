#!/bin/sh
# Data-cache misses per event, from callgrind's cache simulation (this
# machine's hardware counters are not available to perf).  Budgets of
# several times N events, so that both runs of a pair are past the first
# touch of every channel and the difference is the steady state.
# Run by scripts/bench.sh after its build, with its argument ([--quick]).
set -eu
cd "$(dirname "$0")/../.."
. scripts/bench/common.sh

echo "== cache: simulated data-cache misses per event (callgrind --cache-sim)"
mkdir -p "$raw/cache"
jobsfile=$raw/cache_jobs
: >"$jobsfile"
ccells="9984 1000 0
1000 1000 1000000"
[ "$quick" -eq 1 ] && ccells="1000 100 0"
echo "$ccells" | while read -r n a idle; do
    drivers 2>/dev/null | while IFS=: read -r label exe be mode; do
        case "$label" in */full | */poll/*) continue ;; esac
        echo "$root/$bin $root/$raw/cache $label $exe $be $mode $n $a $idle 40000 40000" >>"$jobsfile"
    done
done
CG_CACHE=1 xargs -P "$jobs" -L 1 sh bench/callgrind_pair.sh <"$jobsfile" \
    >"$raw/cache.tsv" || echo "   some callgrind runs failed" >&2
awk -F '\t' '{ printf "   %-24s n=%-5s a=%-5s idle=%-8s %s instr  %s D1  %s LL misses/event\n", $1, $2, $3, $4, $9, $10, $11 }' "$raw/cache.tsv"
