# shellcheck shell=sh disable=SC2154 # bin: common.sh; echo_out: the caller
# One run of the echo benchmark, shared by echo.sh and crossings.sh (sourced
# after scripts/bench/common.sh): the polleros echo client as the load
# against one server.

# One run: label conns messages size rep server-command...  Appends to
# $echo_out: label conns size messages rep msgs/s MB/s server_cpu_s, and
# the polleros server's adds mods dels waits events ("-" for the others).
echo_once() {
    label=$1 conns=$2 msgs=$3 size=$4 rep=$5
    shift 5
    dir=$(mktemp -d "${TMPDIR:-/tmp}/polleros-bench.XXXXXX")
    "$@" --port 0 --port-file "$dir/port" >"$dir/server.out" 2>&1 &
    spid=$!
    wait_port_file "$dir/port"
    if [ ! -s "$dir/port" ]; then
        echo "   $label: the server did not start" >&2
        kill -KILL "$spid" 2>/dev/null || true
        wait "$spid" 2>/dev/null || true
        rm -rf "$dir"
        return 0
    fi
    # The load generator runs in CHANGED mode whatever the server does, so
    # that it stays the same for every server and costs as little as it
    # can: at 9,000 connections it is the bottleneck.
    ok=1
    POLLEROS_RECONCILE=changed "$bin/../examples/polleros-echo-client" \
        --port "$(cat "$dir/port")" --backend epoll --conns "$conns" \
        --messages "$msgs" --size "$size" --timeout 300 >"$dir/client.out" \
        2>&1 || ok=0
    # The server's CPU time (user + system ticks), read before it stops.
    ticks=$(awk '{ print $14 + $15 }' "/proc/$spid/stat" 2>/dev/null || echo 0)
    # Under strace the server is strace's child: stopping it makes strace
    # write its summary and exit.
    victim=$(pgrep -P "$spid" 2>/dev/null || true)
    # shellcheck disable=SC2086 # one pid or several
    kill -TERM ${victim:-$spid} 2>/dev/null || true
    wait "$spid" 2>/dev/null || true
    if [ "$ok" -eq 1 ]; then
        rate=$(sed -n 's/.*throughput: *\([0-9.]*\) messages\/s, \([0-9.]*\) MB.*/\1\t\2/p' "$dir/client.out")
        calls=$(sed -n 's/.*kernel calls: \([0-9]*\) adds, \([0-9]*\) mods, \([0-9]*\) dels, \([0-9]*\) waits, \([0-9]*\) events.*/\1\t\2\t\3\t\4\t\5/p' "$dir/server.out")
        [ -n "$calls" ] || calls="-	-	-	-	-"
        cpu=$(awk -v t="$ticks" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.2f", t / hz }')
        printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$label" "$conns" "$size" \
            "$msgs" "$rep" "$rate" "$cpu" "$calls" >>"$echo_out"
        printf '   %-18s %5s conns %6s B  %s msgs/s  server cpu %s s\n' \
            "$label" "$conns" "$size" "$(echo "$rate" | cut -f1)" "$cpu"
    else
        echo "   $label $conns x $size: the client failed:" >&2
        tail -3 "$dir/client.out" >&2
    fi
    rm -rf "$dir"
}
