#!/bin/sh
# Connection churn and interest churn over loopback TCP (bench/churn.h): the
# one client (churn_client) against a server on each library, then each
# server once under strace -c -f for its kernel calls.
#   conn      100 clients at once: connect, 64-byte request, 64-byte
#             response, close: connections/s
#   interest  100 connections, 128 KiB responses through a 64 KiB send
#             buffer (128 KiB once doubled), one write per turn,
#             writability asked for only after a short one: messages/s
# Client and server are pinned to different cores; the client's CPU share
# is printed, since a client near a whole core bounds every server alike.
# Run by scripts/bench.sh (BENCH_ONLY=churnnet) after its build, with its
# argument ([--quick]).  CHURN_BACKENDS lists the polleros backends
# (default "epoll uring"); CHURN_REPS and CHURN_SECS override the runs per
# server and their length (so that a quick run of the other parts can still
# take 5 runs of 3 s here).
set -eu
cd "$(dirname "$0")/../.."
. scripts/bench/common.sh
. scripts/bench/churnlib.sh

if [ "$quick" -eq 1 ]; then
    REPS=${CHURN_REPS:-1} SECS=${CHURN_SECS:-1} WARM=0.3
else
    REPS=${CHURN_REPS:-5} SECS=${CHURN_SECS:-3} WARM=0.5
fi
STRACE_SECS=1
out=$raw/churnnet.tsv
sout=$raw/churnnet_strace.tsv
table=$raw/churnnet.md
mkdir -p "$raw"
rm -f "$out" "$sout"
servers=$(churn_servers "${CHURN_BACKENDS:-epoll uring}")

for mode in conn interest; do
    echo "== churnnet: $mode churn, $CONNS clients, $REPS x ${SECS}s per server"
    rep=1
    while [ "$rep" -le "$REPS" ]; do
        # interleaved, so that a slow phase of the machine hits all alike
        for s in $servers; do
            IFS=: read -r label exe args <<EOF
$s
EOF
            r=$(churn_once "$mode" "$label" "$rep" "$SECS" "$WARM" - \
                "$exe" "$args") || continue
            echo "$r" >>"$out"
            echo "$r" | awk -F '\t' '{ printf "   %-16s %6.0f /s  client cpu %s%s\n", $1, $7, $8, $10 ? "  (" $10 " failed)" : "" }'
        done
        rep=$((rep + 1))
    done
    echo "== churnnet: $mode churn under strace -c -f (${STRACE_SECS}s, no warm-up)"
    for s in $servers; do
        IFS=: read -r label exe args <<EOF
$s
EOF
        st=$raw/strace.churnnet
        r=$(churn_once "$mode" "$label" 1 "$STRACE_SECS" 0 "$st" "$exe" \
            "$args") || continue
        total=$(echo "$r" | cut -f9)
        # strace -c: calls is the 4th column, the name the last
        awk -v m="$mode" -v l="$label" -v t="$total" \
            '$NF ~ /^[a-z0-9_]+$/ && $NF != "total" && $4 ~ /^[0-9]+$/ {
                printf "%s\t%s\t%s\t%s\t%s\n", m, l, $NF, $4, t }' \
            "$st" >>"$sout"
        rm -f "$st"
    done
done

# The table: rate median (min, max, spread) over the runs, the server's CPU
# per unit, the polleros counters per unit (median), and the strace calls
# per unit: the poller's (epoll_ctl, the wait, io_uring_enter) and the
# application's own (accept4, read, write, close).
awk -F '\t' -v reps="$REPS" '
function med(k, a, n, i, j, t) {
    n = cnt[k]
    for (i = 1; i <= n; i++) a[i] = v[k, i]
    for (i = 2; i <= n; i++)
        for (j = i; j > 1 && a[j - 1] > a[j]; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
    lo[k] = a[1]; hi[k] = a[n]
    return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
FILENAME ~ /strace/ {
    u = $1 SUBSEP $2
    c = $3
    if (c ~ /^(epoll_wait|epoll_pwait|epoll_pwait2|poll|ppoll)$/) c = "wait"
    else if (c ~ /^(accept4|accept|read|write|close)$/) c = "app"
    else if (c != "epoll_ctl" && c != "io_uring_enter") {
        if ($4 / $5 >= 0.05) oth[u] = oth[u] sprintf(" %s %.2f", c, $4 / $5)
        c = "other"
    }
    if (c ~ /^(wait|epoll_ctl|io_uring_enter)$/) sc[u, "poller"] += $4 / $5
    sc[u, c] += $4 / $5; sc[u, "all"] += $4 / $5
    next
}
{
    k = $3 SUBSEP $1
    if (!(k in cnt)) { order[++nk] = k }
    cnt[k]++; v[k, cnt[k]] = $7
    cpu[k, cnt[k]] = $11 / $9 * 1e6
    ccpu[k, cnt[k]] = $8
    if ($12 != "-") { ctl[k, cnt[k]] = ($12 + $13 + $14) / $9; wt[k, cnt[k]] = $15 / $9 }
}
END {
    for (m = 0; m < 2; m++) {
        mode = m ? "interest" : "conn"
        unit = m ? "message" : "connection"
        printf "\n%s churn (%ss/s: median, min and max of %d runs, spread = (max - min) / median; client CPU: its share of its core, median; per %s: server CPU us, polleros counters (changes = adds + mods + dels, waits), strace -c -f calls)\n\n", mode, unit, reps, unit
        printf "| library | %ss/s | min | max | spread | client CPU | CPU us | changes | waits | epoll_ctl | wait | io_uring_enter | poller | app | other | all |\n", unit
        printf "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n"
        for (i = 1; i <= nk; i++) {
            split(order[i], p, SUBSEP)
            if (p[1] != mode) continue
            k = order[i]; u = p[1] SUBSEP p[2]
            r = med(k); rl = lo[k]; rh = hi[k]
            n = cnt[k]
            for (j = 1; j <= n; j++) v[k, j] = ccpu[k, j]
            cc = med(k)
            for (j = 1; j <= n; j++) v[k, j] = cpu[k, j]
            c = med(k)
            x = "-"; y = "-"
            if ((k, 1) in ctl) {
                for (j = 1; j <= n; j++) v[k, j] = ctl[k, j]
                x = sprintf("%.2f", med(k))
                for (j = 1; j <= n; j++) v[k, j] = wt[k, j]
                y = sprintf("%.2f", med(k))
            }
            printf "| %s | %.0f | %.0f | %.0f | %.0f %% | %.2f | %.1f | %s | %s |", p[2], r, rl, rh, r ? 100 * (rh - rl) / r : 0, cc, c, x, y
            split("epoll_ctl wait io_uring_enter poller app other all", cs, " ")
            for (j = 1; j <= 7; j++) printf " %.2f |", sc[u, cs[j]]
            printf "\n"
            if (u in oth) more = more sprintf("%s%s:%s", more == "" ? "" : "; ", p[2], oth[u])
        }
        if (more != "") printf "\nother, per %s: %s\n", unit, more
        more = ""
    }
}' "$sout" "$out" >"$table"
cat "$table"
