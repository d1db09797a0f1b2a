#!/bin/sh
# Echo: the polleros echo client as the load, in its own process, against
# each server (polleros in both reconciliation modes, libuv, libevent):
# messages/s and the server's CPU time, then each server's kernel calls
# under strace -c.
# Run by scripts/bench.sh after its build, with its argument ([--quick]).
set -eu
cd "$(dirname "$0")/../.."
. scripts/bench/common.sh

# One run: label conns messages size rep server-command...  Appends to
# $echo_out: label conns size messages rep msgs/s MB/s server_cpu_s, and
# the polleros server's adds mods dels waits ("-" for the others).
echo_once() {
    label=$1 conns=$2 msgs=$3 size=$4 rep=$5
    shift 5
    dir=$(mktemp -d "${TMPDIR:-/tmp}/polleros-bench.XXXXXX")
    "$@" --port 0 --port-file "$dir/port" >"$dir/server.out" 2>&1 &
    spid=$!
    tries=0
    while [ ! -s "$dir/port" ] && [ "$tries" -lt 100 ]; do
        sleep 0.1
        tries=$((tries + 1))
    done
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
        calls=$(sed -n 's/.*kernel calls: \([0-9]*\) adds, \([0-9]*\) mods, \([0-9]*\) dels, \([0-9]*\) waits.*/\1\t\2\t\3\t\4/p' "$dir/server.out")
        [ -n "$calls" ] || calls="-	-	-	-"
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

echo "== echo: messages/s, polleros-echo-client against each server"
echo_out=$raw/echo.tsv
srv_po="$bin/../examples/polleros-echo-server --backend epoll"
servers="polleros/changed polleros/full"
[ -x "$bin/echo_libuv" ] && servers="$servers libuv" ||
    echo "skipped: libuv not installed"
[ -x "$bin/echo_libevent" ] && servers="$servers libevent" ||
    echo "skipped: libevent not installed"
# messages per connection, so that a run lasts a few seconds and the
# connections' set-up is a small part of it
for cfg in "1000 64 600" "9000 64 40" "1000 16384 100" "9000 16384 10"; do
    # shellcheck disable=SC2086 # three numbers
    set -- $cfg
    conns=$1 size=$2 msgs=$3
    [ "$quick" -eq 1 ] && msgs=$((msgs / 4 + 1))
    rep=1
    while [ "$rep" -le "$ECHO_REPS" ]; do
        # interleaved, so that a slow phase of the machine hits all alike
        for s in $servers; do
            # shellcheck disable=SC2086 # $srv_po: a command line
            case $s in
            polleros/changed)
                echo_once "$s" "$conns" "$msgs" "$size" "$rep" \
                    env POLLEROS_RECONCILE=changed $srv_po ;;
            polleros/full)
                echo_once "$s" "$conns" "$msgs" "$size" "$rep" \
                    env POLLEROS_RECONCILE=full $srv_po ;;
            *)
                echo_once "$s" "$conns" "$msgs" "$size" "$rep" \
                    "$bin/echo_$s" ;;
            esac
        done
        rep=$((rep + 1))
    done
done

echo "== echo: kernel calls of each server, strace -c (1,000 connections x 50 x 64 B)"
for s in $servers; do
    case $s in
    polleros/*) cmd="env POLLEROS_RECONCILE=${s#polleros/} $srv_po" ;;
    *) cmd="$bin/echo_$s" ;;
    esac
    echo_out=/dev/null # the rates of a traced server mean nothing
    # shellcheck disable=SC2086
    echo_once "strace:$s" 1000 50 64 1 \
        strace -c -f -o "$raw/strace.echo" $cmd
    for sc in epoll_wait epoll_pwait epoll_ctl read recvfrom write sendto writev; do
        c=$(awk -v s="$sc" '$NF == s { print $4 }' "$raw/strace.echo")
        [ -n "$c" ] && printf '%s\t1000\t64\t50\t%s\t%s\n' "$s" "$sc" "$c" \
            >>"$raw/echo_strace.tsv"
    done
    rm -f "$raw/strace.echo"
done
