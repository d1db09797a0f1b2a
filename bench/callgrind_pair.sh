#!/bin/sh
# One instructions-per-event figure of the chained-pipes benchmark: runs a
# driver twice under callgrind, with write budgets W1 and W1 + D, and
# divides the difference of the two instruction totals by D.  Everything
# that does not depend on the budget (set-up, the A first events, the drain
# at the end) cancels; callgrind counts only the timed loop (--callgrind
# tells the harness to switch instrumentation on around it), which keeps
# the million-channel set-ups out of callgrind's slowdown.  Instruction
# counts are deterministic: one run of each budget is enough.
#
# usage: callgrind_pair.sh BINDIR OUTDIR LABEL BIN BACKEND MODE N A IDLE D W1
#   BACKEND and MODE are "-" for drivers other than polleros.
# Prints: label n a idle w1 w2 instr1 instr2 instr_per_event, and with
# CG_CACHE=1 (below) d1_misses_per_event ll_misses_per_event.
set -eu
bindir=$1 outdir=$2 label=$3 bin=$4 backend=$5 mode=$6 n=$7 a=$8 idle=$9
shift 9
d=$1 w1=$2
w2=$((w1 + d))
set --
[ "$backend" = - ] || set -- "$@" --backend "$backend"
[ "$mode" = - ] || set -- "$@" --mode "$mode"
tag=$(echo "$label" | tr '/' '_')_n${n}_a${a}_i${idle}

total() { # callgrind output file -> its instruction total
    sed -n 's/^totals: *\([0-9]*\).*/\1/p' "$1"
}

# With CG_CACHE=1 callgrind also simulates the caches, and two more columns
# follow: first-level and last-level data-cache misses (reads and writes)
# per event.
cache=${CG_CACHE:-0}
cgopts=
[ "$cache" = 1 ] && cgopts=--cache-sim=yes

misses() { # callgrind output file, event prefix (D1 or DL) -> misses
    awk -v p="$2" '/^events:/ { for (i = 2; i <= NF; i++) col[$i] = i - 1 }
        /^totals:/ { print $(col[p "mr"] + 1) + $(col[p "mw"] + 1) }' "$1"
}

for w in "$w1" "$w2"; do
    out="$outdir/$tag.w$w.cg"
    # shellcheck disable=SC2086
    if ! valgrind --tool=callgrind --instr-atstart=no $cgopts \
        --callgrind-out-file="$out" "$bindir/$bin" -n "$n" -a "$a" \
        -i "$idle" -w "$w" -r 1 --callgrind "$@" \
        >"$outdir/$tag.w$w.log" 2>&1; then
        echo "callgrind_pair: $label n=$n a=$a idle=$idle failed:" \
            "see $outdir/$tag.w$w.log" >&2
        exit 1
    fi
done
i1=$(total "$outdir/$tag.w$w1.cg")
i2=$(total "$outdir/$tag.w$w2.cg")
per_event() { # count at w1, count at w2 -> per event
    awk -v x="$1" -v y="$2" -v d="$d" 'BEGIN { printf "%.2f", (y - x) / d }'
}
line=$(printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s' "$label" "$n" "$a" \
    "$idle" "$w1" "$w2" "$i1" "$i2" "$(per_event "$i1" "$i2")")
if [ "$cache" = 1 ]; then
    for p in D1 DL; do
        line=$(printf '%s\t%s' "$line" "$(per_event \
            "$(misses "$outdir/$tag.w$w1.cg" $p)" \
            "$(misses "$outdir/$tag.w$w2.cg" $p)")")
    done
fi
printf '%s\n' "$line"
