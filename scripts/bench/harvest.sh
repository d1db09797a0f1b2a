#!/bin/sh
# The size of the events buffer (po_options.max_events): one wait harvests
# at most that many.  Chained pipes at N = 9,984, wall time and callgrind
# instructions per event.  Sizes interleave within each pass, so that the
# machine's drift hits them all alike.
# Run by scripts/bench.sh after its build, with its argument ([--quick]).
set -eu
cd "$(dirname "$0")/../.."
. scripts/bench/common.sh

echo "== harvest: events buffer size, chained pipes n=9984"
out=$raw/harvest.tsv
: >"$out"
sizes="16 64 256 1024 4096"
for a in 100 1000; do
    for _ in 1 2 3; do
        for k in $sizes; do
            ns=$($pin "$bin/pipes_polleros" -n 9984 -a "$a" -w "$MAX_WRITES" \
                -r "$ROUNDS" --budget-ms "$BUDGET_MS" --backend epoll \
                --mode changed --max-events "$k" | tail -1 | cut -f11)
            printf 'harvest\t%s\t%s\twall_ns\t%s\n' "$a" "$k" "$ns" >>"$out"
        done
    done
    for k in $sizes; do
        for w in 4000 8000; do
            valgrind --tool=callgrind --instr-atstart=no \
                --callgrind-out-file="$raw/harvest.k$k.w$w.cg" \
                "$bin/pipes_polleros" -n 9984 -a "$a" -w "$w" -r 1 \
                --callgrind --backend epoll --mode changed \
                --max-events "$k" >/dev/null 2>&1
        done
        i1=$(sed -n 's/^totals: *\([0-9]*\).*/\1/p' "$raw/harvest.k$k.w4000.cg")
        i2=$(sed -n 's/^totals: *\([0-9]*\).*/\1/p' "$raw/harvest.k$k.w8000.cg")
        printf 'harvest\t%s\t%s\tinstr\t%s\n' "$a" "$k" \
            "$(awk -v a="$i1" -v b="$i2" 'BEGIN { printf "%.1f", (b - a) / 4000 }')" >>"$out"
    done
done
awk -F '\t' '{ printf "   a=%-5s max_events=%-5s %-8s %s\n", $2, $3, $4, $5 }' "$out"
