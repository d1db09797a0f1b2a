#!/bin/sh
# Chained pipes, every driver: wall time, then callgrind instructions per
# event.
# Run by scripts/bench.sh after its build, with its argument ([--quick]).
set -eu
cd "$(dirname "$0")/../.."
. scripts/bench/common.sh

echo "== pipes: wall time ($PASSES passes x $ROUNDS rounds per cell)"
out=$raw/pipes_wall.tsv
pass=1
while [ "$pass" -le "$PASSES" ]; do
    cells | while read -r n a idle; do
        # each pass starts the drivers in another order
        drivers 2>/dev/null | awk -v k=$((3 * (pass - 1))) \
            '{ l[NR] = $0 } END { for (i = 0; i < NR; i++) print l[(i + k) % NR + 1] }' |
            while IFS=: read -r label exe be mode; do
                hdr=
                [ -s "$out" ] || hdr=--header
                # shellcheck disable=SC2046,SC2086
                if ! $pin "$bin/$exe" -n "$n" -a "$a" -i "$idle" \
                    -w "$MAX_WRITES" -r "$ROUNDS" --budget-ms "$BUDGET_MS" \
                    $(drv_args "$be" "$mode") $hdr >"$raw/one.tsv" \
                    2>"$raw/one.err"; then
                    echo "   $label n=$n a=$a idle=$idle failed:" \
                        "$(cat "$raw/one.err")" >&2
                    continue
                fi
                if [ -n "$hdr" ]; then
                    printf 'label\tpass\t' >>"$out"
                    head -1 "$raw/one.tsv" >>"$out"
                fi
                printf '%s\t%s\t' "$label" "$pass" >>"$out"
                tail -1 "$raw/one.tsv" >>"$out"
                printf '   %s %-24s n=%-5s a=%-5s idle=%-8s %s ns/event\n' \
                    "$pass" "$label" "$n" "$a" "$idle" \
                    "$(tail -1 "$raw/one.tsv" | cut -f11)"
            done
    done
    pass=$((pass + 1))
done
drivers >/dev/null

echo "== pipes: callgrind instructions per event (2 jobs at a time)"
# The budget difference D: 2,000 events, or fewer where a driver's wait
# costs O(channels) (polleros full, the poll backend), so that no pair of
# runs goes much beyond a billion instructions.  The figure is exact either
# way; what matters is that D covers whole iterations, which it does for
# A = 1 and stays within a few percent otherwise.
jobsfile=$raw/cg_jobs
: >"$jobsfile"
cells | while read -r n a idle; do
    drivers 2>/dev/null | while IFS=: read -r label exe be mode; do
        m=$a
        [ "$m" -gt 256 ] && m=256
        case "$label" in
        */full) per=$((50 * (n + idle) / m)) ;;
        */poll/*) per=$((50 * n / m)) ;;
        *) per=0 ;;
        esac
        d=2000
        if [ "$per" -gt 0 ] && [ $((1000000000 / per)) -lt 2000 ]; then
            d=$((1000000000 / per))
            [ "$d" -lt 20 ] && d=20
        fi
        w1=$d
        [ "$w1" -lt $((2 * a)) ] && w1=$((2 * a))
        echo "$root/$bin $root/$raw/cg $label $exe $be $mode $n $a $idle $d $w1" >>"$jobsfile"
    done
done
xargs -P "$jobs" -L 1 sh bench/callgrind_pair.sh <"$jobsfile" \
    >"$raw/pipes_instr.tsv" || echo "   some callgrind runs failed" >&2
sort -t "$(printf '\t')" -k2,2n -k4,4n -k3,3n "$raw/pipes_instr.tsv" |
    awk -F '\t' '{ printf "   %-24s n=%-5s a=%-5s idle=%-8s %s instr/event\n", $1, $2, $3, $4, $9 }'

# uring against epoll, both in CHANGED mode: the bar is 1.2x.
sort -t "$(printf '\t')" -k2,2n -k4,4n -k3,3n "$raw/pipes_instr.tsv" |
    awk -F '\t' '$1 ~ /^polleros\/(epoll|uring)\/changed$/ {
        k = $2 " | " $3 " | " $4
        if (!(k in seen)) { seen[k] = 1; order[++n] = k }
        v[k, $1 ~ /uring/] = $9
    }
    END {
        if (n == 0) exit
        print "\n| N | A | idle | polleros/epoll | polleros/uring | uring / epoll |"
        print "| ---: | ---: | ---: | ---: | ---: | ---: |"
        for (i = 1; i <= n; i++) {
            k = order[i]
            if ((k, 0) in v && (k, 1) in v)
                printf "| %s | %.1f | %.1f | %.2f |\n", k, v[k, 0], v[k, 1], v[k, 1] / v[k, 0]
        }
    }' | tee "$raw/pipes_uring.md"
