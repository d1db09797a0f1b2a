# shellcheck shell=sh disable=SC2034 # what it sets, its users read
# shellcheck disable=SC2154 # bin: common.sh
# What the churn benchmarks (churnnet.sh, crossings.sh) share, sourced after
# scripts/bench/common.sh: the servers, the pinning and one run of the one
# client (churn_client) against one server (bench/churn.h).

CONNS=100

cpin='' spin=''
if have_cmd taskset && [ "$(nproc 2>/dev/null || echo 1)" -ge 2 ]; then
    cpin="taskset -c 0"
    spin="taskset -c $(($(nproc) - 1))"
fi

# The servers as label:executable:arguments, polleros on each backend of
# $1, then the libraries that were built.
churn_servers() {
    for be in $1; do
        printf '%s ' "polleros/$be:churn_polleros:--backend=$be"
    done
    for l in libuv libevent libev; do
        if [ -x "$bin/churn_$l" ]; then
            printf '%s ' "$l:churn_$l:"
        else
            echo "skipped: $l not installed" >&2
        fi
    done
}

# One run: mode label rep secs warmup tracefile executable args.  Prints
# label, rep, the client's line (mode conns done secs rate cpu total
# errors), the server's CPU seconds and its polleros counters (adds mods
# dels waits events) and loop iterations, "-" for each where it has none.
churn_once() {
    mode=$1 label=$2 rep=$3 secs=$4 warm=$5 trace=$6 exe=$7 args=$8
    dir=$(mktemp -d "${TMPDIR:-/tmp}/polleros-churn.XXXXXX")
    tracer=''
    [ "$trace" = - ] || tracer="strace -c -f -o $trace"
    # shellcheck disable=SC2046,SC2086 # commands and their words
    $spin $tracer "$bin/$exe" --mode "$mode" --port-file "$dir/port" \
        $(echo "$args" | sed 's/=/ /') >"$dir/server.out" 2>&1 &
    spid=$!
    wait_port_file "$dir/port"
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
    calls=$(sed -n 's/.*: \([0-9]*\) adds, \([0-9]*\) mods, \([0-9]*\) dels, \([0-9]*\) waits, \([0-9]*\) events, \([0-9]*\) iterations.*/\1\t\2\t\3\t\4\t\5\t\6/p' "$dir/server.out")
    printf '%s\t%s\t%s\t%s\t%s\n' "$label" "$rep" "$line" "$cpu" \
        "${calls:-"-	-	-	-	-	-"}"
    rm -rf "$dir"
}
