#!/bin/sh
# Churn and memory: the attach/delete rate and the memory per channel, on
# every Linux backend in both reconciliation modes.
# Run by scripts/bench.sh after its build, with its argument ([--quick]).
set -eu
cd "$(dirname "$0")/../.."
. scripts/bench/common.sh

echo "== churn: attach/delete rate, memory per channel"
out=$raw/churn.tsv
count=1000000
[ "$quick" -eq 1 ] && count=200000
for be in epoll poll; do
    for mode in changed full; do
        "$bin/churn" -c "$count" -s 9984 --backend "$be" --mode "$mode" \
            >>"$out" || echo "   churn $be/$mode failed" >&2
    done
done
awk -F '\t' '{ printf "   %-16s %-18s %-36s %s\n", $3, $4, $5, $6 }' "$out"
