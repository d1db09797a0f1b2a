#!/bin/sh
# Channel deadlines: the cost of setting, moving and firing one, and of the
# idle wait, as their number grows (0 to 1,000,000); then how late 10,000
# one-shot deadlines at random 1-50 ms fire (bench/lateness.h), on polleros
# (each backend) and on libuv, libevent and libev, without and with socket
# traffic, with the timer slack the shell gave (Linux: 50 us) and with 1 ns
# (--slack 1: the bench's own thread only, set by the bench; the library
# never changes it), and polleros with po_options.spin_ns (LATENESS_SPINS,
# 100000) beside its default.  LATENESS_RUNS passes (3; 1 with --quick) show the
# spread: the machine is shared, so run it when it is quiet.
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

echo "== deadlines: lateness of one-shot deadlines at 1-50 ms (us)"
echo "   load before: $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo ?)"
lat=$raw/lateness.tsv
n=10000 runs=${LATENESS_RUNS:-3}
# po_options.spin_ns tried beside the default (0): about the kernel's
# usual lateness here, so that the spin mostly fills what it would lose.
spins=${LATENESS_SPINS:-100000}
[ "$quick" -eq 1 ] && n=2000 runs=${LATENESS_RUNS:-1}
: >"$lat"
run=1
while [ "$run" -le "$runs" ]; do
    for slack in inherited 1; do
        for traffic in 0 1; do
            set -- -n "$n"
            [ "$traffic" -eq 1 ] && set -- "$@" --traffic
            [ "$slack" = inherited ] || set -- "$@" --slack "$slack"
            for b in epoll poll uring; do
                for spin in 0 $spins; do
                    "$bin/deadlines" --lateness --backend "$b" --spin "$spin" \
                        "$@" >>"$lat" ||
                        echo "   lateness polleros/$b spin $spin failed" >&2
                done
            done
            for l in libuv libevent libev; do
                if [ -x "$bin/lateness_$l" ]; then
                    "$bin/lateness_$l" "$@" >>"$lat" ||
                        echo "   lateness $l failed" >&2
                elif [ "$run" -eq 1 ]; then
                    echo "   skipped: $l not installed"
                fi
            done
        done
    done
    run=$((run + 1))
done
echo "   load after: $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo ?)"
# One row per library, traffic and slack: the median run's p50 and p99
# with the range over the runs, the largest max, and the early count of
# every run summed.
awk -F '\t' '
/^lateness/ {
    k = $2 ($3 == "-" ? "" : "/" $3) "\t" ($4 ? "traffic" : "idle") "\t" $5
    if (!(k in cnt)) order[++nk] = k
    i = ++cnt[k]; p50[k, i] = $7; p99[k, i] = $8
    if (!(k in mx) || $9 > mx[k]) mx[k] = $9
    early[k] += $10; cpu[k, i] = $11
}
function med(a, k, n,   i, j, t, v) {
    for (i = 1; i <= n; i++) v[i] = a[k, i]
    for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++)
        if (v[j] < v[i]) { t = v[i]; v[i] = v[j]; v[j] = t }
    return sprintf("%.1f [%.1f-%.1f]", v[int((n + 1) / 2)], v[1], v[n])
}
END {
    printf "   %-26s %-8s %-9s %-24s %-26s %-10s %-6s %s\n", "library",
        "load", "slack_ns", "p50 [range]", "p99 [range]", "max", "early",
        "cpu_us/deadline"
    for (o = 1; o <= nk; o++) {
        k = order[o]; split(k, f, "\t")
        printf "   %-26s %-8s %-9s %-24s %-26s %-10.1f %-6d %s\n", f[1], f[2],
            f[3], med(p50, k, cnt[k]), med(p99, k, cnt[k]), mx[k], early[k],
            med(cpu, k, cnt[k])
    }
}' "$lat"
