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
# Prints: label n a idle w1 w2 instr1 instr2 instr_per_event
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

for w in "$w1" "$w2"; do
    out="$outdir/$tag.w$w.cg"
    if ! valgrind --tool=callgrind --instr-atstart=no \
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
printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$label" "$n" "$a" "$idle" \
    "$w1" "$w2" "$i1" "$i2" "$(awk -v x="$i1" -v y="$i2" -v d="$d" \
    'BEGIN { printf "%.2f", (y - x) / d }')"
