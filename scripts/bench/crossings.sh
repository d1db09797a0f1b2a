#!/bin/sh
# The poller's kernel crossings per loop iteration and per event, counted
# twice and independently: by strace -c -f (epoll_ctl, the wait calls,
# io_uring_enter) and by polleros's own counters (po_get_stats: waits, and
# adds + mods + dels), for polleros/epoll, polleros/uring, libuv, libevent
# and libev, on four workloads:
#   pipes A   chained pipes, N = 1,000, A = 1 and 100: two runs whose write
#             budgets differ by 5,000 events, the difference of every count
#             (set-up and registration cancel); iterations and events are
#             the harness's own
#   echo      the echo benchmark's client, 1,000 connections x 50 x 64 B;
#             polleros's iterations are its counted waits (the server
#             example counts no loop of its own); no libev echo server
#   conn, interest  the churn benchmarks (bench/churn.h), 2 s each;
#             churn_polleros counts its own loop iterations
# The libraries count nothing: their loop makes one wait call per
# iteration, so their iterations are strace's wait calls.
# Run by scripts/bench.sh (BENCH_ONLY=crossings) after its build.
set -eu
cd "$(dirname "$0")/../.."
. scripts/bench/common.sh
. scripts/bench/churnlib.sh
. scripts/bench/echolib.sh

out=$raw/crossings.tsv
table=$raw/crossings.md
st=$raw/strace.crossings
mkdir -p "$raw"
rm -f "$out"

# strace -c -f output -> epoll_ctl, wait and io_uring_enter calls
strace_calls() {
    awk '$4 ~ /^[0-9]+$/ { n[$NF] += $4 }
        END {
            w = n["epoll_wait"] + n["epoll_pwait"] + n["epoll_pwait2"]
            printf "%d\t%d\t%d", n["epoll_ctl"], w + n["poll"] + n["ppoll"],
                n["io_uring_enter"]
        }' "$1"
}

# One line of $out: workload label units events iterations ctl wait enter
# waits changes (the last two "-" without counters).
row() { printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$@" >>"$out"; }

echo "== crossings: chained pipes, N = 1,000, strace -c -f over two budgets"
W1=4000 W2=9000 # under 10,000 events: the harness's 4-decimal ratios
for a in 1 100; do # times the events give its integer counts exactly
    drivers 2>/dev/null | grep -E '^(polleros/(epoll|uring)/changed|libuv|libevent|libev):' |
        while IFS=: read -r label exe be mode; do
            for w in $W1 $W2; do
                # shellcheck disable=SC2046
                strace -c -f -o "$st.$w" "$bin/$exe" -n 1000 -a "$a" \
                    -w "$w" -r 1 --callgrind $(drv_args "$be" "$mode") \
                    >"$st.$w.out" 2>&1 || {
                    echo "   $label a=$a failed: $(tail -1 "$st.$w.out")" >&2
                    continue 2
                }
            done
            # the harness's line: events $10, iterations, waits and
            # changes per event $14-$16
            c=$(awk -F '\t' 'function n(x) { return x == "-" ? -1 : int(x * $10 + 0.5) }
                $1 == "pipes" { printf "%d\t%d\t%d\t%d\t", $10, n($14), n($15), n($16) }' \
                "$st.$W1.out" "$st.$W2.out")
            s1=$(strace_calls "$st.$W1")
            s2=$(strace_calls "$st.$W2")
            echo "$c$s1	$s2" | awk -F '\t' -v l="${label%/changed}" -v a="$a" '
                function d(i) { return $(i + 4) - $i }
                function k(i) { return $i < 0 ? "-" : d(i) }
                { printf "pipes A=%s\t%s\t%d\t%d\t%d\t%d\t%d\t%d\t%s\t%s\n", a, l,
                    d(1), d(1), d(2), $12 - $9, $13 - $10, $14 - $11, k(3), k(4) }' >>"$out"
            tail -1 "$out" | cut -f1,2,5-10 | sed 's/^/   /'
        done
done

echo "== crossings: echo, 1,000 connections x 50 x 64 B, strace -c -f"
for s in polleros/epoll polleros/uring libuv libevent; do
    case $s in
    polleros/*) cmd="$bin/../examples/polleros-echo-server --backend ${s#polleros/}" ;;
    *) cmd="$bin/echo_$s" ;;
    esac
    [ -x "${cmd%% *}" ] || continue
    echo_out=$raw/crossings_echo.tsv
    rm -f "$echo_out"
    # shellcheck disable=SC2086 # a command line
    echo_once "$s" 1000 50 64 1 strace -c -f -o "$st" $cmd
    [ -s "$echo_out" ] || continue
    # label conns size msgs rep rate mbps cpu adds mods dels waits events
    IFS='	' read -r _ conns _ msgs _ _ _ _ ad md dl wt ev <"$echo_out"
    IFS='	' read -r ctl wcalls enter <<EOF
$(strace_calls "$st")
EOF
    units=$((conns * msgs))
    if [ "$wt" = - ]; then
        row echo "$s" "$units" - "$wcalls" "$ctl" "$wcalls" "$enter" - -
    else
        row echo "$s" "$units" "$ev" "$wt" "$ctl" "$wcalls" "$enter" "$wt" \
            $((ad + md + dl))
    fi
done
rm -f "$raw/crossings_echo.tsv"

for mode in conn interest; do
    echo "== crossings: $mode churn, $CONNS clients, 2 s under strace -c -f"
    for s in $(churn_servers "epoll uring"); do
        IFS=: read -r label exe args <<EOF
$s
EOF
        r=$(churn_once "$mode" "$label" 1 2 0 "$st" "$exe" "$args") ||
            continue
        # label rep mode conns done secs rate cpu total errors srvcpu
        # adds mods dels waits events iterations
        IFS='	' read -r _ _ _ _ _ _ _ _ units _ _ ad md dl wt ev it <<EOF
$r
EOF
        IFS='	' read -r ctl wcalls enter <<EOF
$(strace_calls "$st")
EOF
        if [ "$wt" = - ]; then
            row "$mode" "$label" "$units" - "$wcalls" "$ctl" "$wcalls" "$enter" - -
        else
            row "$mode" "$label" "$units" "$ev" "$it" "$ctl" "$wcalls" "$enter" \
                "$wt" $((ad + md + dl))
        fi
    done
done
rm -f "$st" "$st".*

# The table.  The poller's crossings are epoll_ctl + the waits +
# io_uring_enter by strace; by the counters, waits + changes, except on
# uring, whose changes travel in its enter.  "agree": both counts give the
# same crossings.
awk -F '\t' '
function r(x, y) { return y > 0 ? sprintf("%.2f", x / y) : "-" }
BEGIN {
    print "| workload | library | units | iterations | events/iteration | epoll_ctl | wait | io_uring_enter | per iteration | per unit | per event | counters: waits | changes | per iteration | agree |"
    print "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |"
}
{
    x = $6 + $7 + $8
    cw = "-"; ch = "-"; ci = "-"; ag = "-"
    if ($9 != "-") {
        cx = $9 + ($2 ~ /uring/ ? 0 : $10)
        cw = $9; ch = $10; ci = r(cx, $5); ag = cx == x ? "yes" : sprintf("no (%+d)", x - cx)
    }
    printf "| %s | %s | %d | %d | %s | %d | %d | %d | %s | %s | %s | %s | %s | %s | %s |\n",
        $1, $2, $3, $5, $4 == "-" ? "-" : r($4, $5), $6, $7, $8, r(x, $5), r(x, $3),
        $4 == "-" ? "-" : r(x, $4), cw, ch, ci, ag
    if ($2 ~ /uring/) { nu++; if (x != $5 || ag != "yes") bad = bad " " $1 }
}
END {
    if (nu) printf "\nuring, exactly one poller crossing per loop iteration (strace = counters = iterations) in every workload: %s\n", bad == "" ? "yes" : "no:" bad
}' "$out" >"$table"
cat "$table"
