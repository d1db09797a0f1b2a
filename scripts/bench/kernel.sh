#!/bin/sh
# Kernel calls per event, counted by strace -c (the drivers' own counters
# are in the wall-time lines of the pipes benchmark).
# Run by scripts/bench.sh after its build, with its argument ([--quick]).
set -eu
cd "$(dirname "$0")/../.."
. scripts/bench/common.sh

echo "== kernel: ctl and wait calls per event, strace -c"
out=$raw/kernel.tsv
d=2000
for a in 1 100; do
    drivers 2>/dev/null | while IFS=: read -r label exe be mode; do
        for w in 2000 $((2000 + d)); do
            # shellcheck disable=SC2046
            strace -c -f -o "$raw/strace.$w" "$bin/$exe" -n 1000 -a "$a" \
                -w "$w" -r 1 --callgrind $(drv_args "$be" "$mode") \
                >"$raw/strace.$w.out" 2>&1 || true
        done
        for sc in epoll_wait epoll_pwait poll ppoll epoll_ctl read write; do
            c1=$(awk -v s="$sc" '$NF == s { print $4 }' "$raw/strace.2000")
            c2=$(awk -v s="$sc" '$NF == s { print $4 }' "$raw/strace.$((2000 + d))")
            [ -n "$c1$c2" ] || continue
            printf '%s\t1000\t%s\t%s\t%s\t%s\t%s\n' "$label" "$a" "$d" \
                "$sc" "${c1:-0}" "${c2:-0}" >>"$out"
        done
    done
done
awk -F '\t' '{ printf "   %-24s a=%-4s %-11s %.3f per event\n", $1, $3, $5, ($7 - $6) / $4 }' "$out"
