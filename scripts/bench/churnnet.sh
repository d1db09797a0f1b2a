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
# (default "epoll poll"): a backend is passed by name.
set -eu
cd "$(dirname "$0")/../.."
. scripts/bench/common.sh

CONNS=100
if [ "$quick" -eq 1 ]; then
    REPS=1 SECS=1 WARM=0.3
else
    REPS=5 SECS=3 WARM=0.5
fi
STRACE_SECS=1
out=$raw/churnnet.tsv
sout=$raw/churnnet_strace.tsv
table=$raw/churnnet.md
mkdir -p "$raw"
rm -f "$out" "$sout"

cpin='' spin=''
if have_cmd taskset && [ "$(nproc 2>/dev/null || echo 1)" -ge 2 ]; then
    cpin="taskset -c 0"
    spin="taskset -c $(($(nproc) - 1))"
fi

# label:executable:arguments
servers=""
for be in ${CHURN_BACKENDS:-epoll poll}; do
    servers="$servers polleros/$be:churn_polleros:--backend=$be"
done
for l in libuv libevent libev; do
    if [ -x "$bin/churn_$l" ]; then
        servers="$servers $l:churn_$l:"
    else
        echo "skipped: $l not installed"
    fi
done

# One run: mode label rep secs warmup tracefile executable args.  Prints
# the client's line (mode conns done secs rate cpu total errors) followed
# by the server's CPU seconds and its polleros counters (adds mods dels
# waits, or four "-").
churn_once() {
    mode=$1 label=$2 rep=$3 secs=$4 warm=$5 trace=$6 exe=$7 args=$8
    dir=$(mktemp -d "${TMPDIR:-/tmp}/polleros-churn.XXXXXX")
    tracer=''
    [ "$trace" = - ] || tracer="strace -c -f -o $trace"
    # shellcheck disable=SC2046,SC2086 # commands and their words
    $spin $tracer "$bin/$exe" --mode "$mode" --port-file "$dir/port" \
        $(echo "$args" | sed 's/=/ /') >"$dir/server.out" 2>&1 &
    spid=$!
    tries=0
    while [ ! -s "$dir/port" ] && [ "$tries" -lt 100 ]; do
        sleep 0.1
        tries=$((tries + 1))
    done
    line=
    if [ -s "$dir/port" ]; then
        # shellcheck disable=SC2086
        line=$($cpin "$bin/churn_client" --mode "$mode" --conns "$CONNS" \
            --port "$(cat "$dir/port")" --seconds "$secs" \
            --warmup "$warm" 2>"$dir/client.err") || line=
    fi
    # Under strace the server is strace's child: stopping it makes strace
    # write its summary and exit.
    victim=$(pgrep -P "$spid" 2>/dev/null || true)
    pid=${victim:-$spid}
    ticks=$(awk '{ print $14 + $15 }' "/proc/$pid/stat" 2>/dev/null || echo 0)
    kill -TERM "$pid" 2>/dev/null || true
    wait "$spid" 2>/dev/null || true
    if [ -z "$line" ]; then
        echo "   $label $mode: the run failed:" >&2
        cat "$dir/client.err" "$dir/server.out" | tail -3 >&2
        rm -rf "$dir"
        return 1
    fi
    cpu=$(awk -v t="$ticks" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.2f", t / hz }')
    calls=$(sed -n 's/.*: \([0-9]*\) adds, \([0-9]*\) mods, \([0-9]*\) dels, \([0-9]*\) waits.*/\1\t\2\t\3\t\4/p' "$dir/server.out")
    printf '%s\t%s\t%s\t%s\t%s\n' "$label" "$rep" "$line" "$cpu" \
        "${calls:-"-	-	-	-"}"
    rm -rf "$dir"
}

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

# The table: rate median (min, max) over the runs, the polleros counters per
# unit (median), the server's CPU per unit, and the strace calls per unit.
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
    else if (c !~ /^(accept4|accept|epoll_ctl|read|write|close)$/) {
        if ($4 / $5 >= 0.05) oth[u] = oth[u] sprintf(" %s %.2f", c, $4 / $5)
        c = "other"
    }
    sc[u, c] += $4 / $5; sc[u, "all"] += $4 / $5
    next
}
{
    k = $3 SUBSEP $1
    if (!(k in cnt)) { order[++nk] = k }
    cnt[k]++; v[k, cnt[k]] = $7
    cpu[k, cnt[k]] = $11 / $9 * 1e6
    if ($12 != "-") { ctl[k, cnt[k]] = ($12 + $13 + $14) / $9; wt[k, cnt[k]] = $15 / $9 }
}
END {
    for (m = 0; m < 2; m++) {
        mode = m ? "interest" : "conn"
        unit = m ? "message" : "connection"
        printf "\n%s churn (%s/s: median, min, max of %d runs; per %s: polleros counters (ctl = adds + mods + dels), server CPU us, strace -c -f calls)\n\n", mode, unit, reps, unit
        printf "| library | %s/s | min | max | ctl | waits | CPU us | accept4 | epoll_ctl | wait | read | write | close | other | all |\n", unit
        printf "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n"
        for (i = 1; i <= nk; i++) {
            split(order[i], p, SUBSEP)
            if (p[1] != mode) continue
            k = order[i]; u = p[1] SUBSEP p[2]
            r = med(k); rl = lo[k]; rh = hi[k]
            n = cnt[k]
            for (j = 1; j <= n; j++) v[k, j] = cpu[k, j]
            c = med(k)
            x = "-"; y = "-"
            if ((k, 1) in ctl) {
                for (j = 1; j <= n; j++) v[k, j] = ctl[k, j]
                x = sprintf("%.2f", med(k))
                for (j = 1; j <= n; j++) v[k, j] = wt[k, j]
                y = sprintf("%.2f", med(k))
            }
            printf "| %s | %.0f | %.0f | %.0f | %s | %s | %.1f |", p[2], r, rl, rh, x, y, c
            split("accept4 epoll_ctl wait read write close other all", cs, " ")
            for (j = 1; j <= 8; j++) printf " %.2f |", sc[u, cs[j]]
            printf "\n"
            if (u in oth) more = more sprintf("%s%s:%s", more == "" ? "" : "; ", p[2], oth[u])
        }
        if (more != "") printf "\nother, per %s: %s\n", unit, more
        more = ""
    }
}' "$sout" "$out" >"$table"
cat "$table"
