#!/bin/sh
# Echo: the polleros echo client as the load, in its own process, against
# each server (polleros on epoll in both reconciliation modes and on uring
# in CHANGED mode, libuv, libevent):
# messages/s and the server's CPU time, then each server's kernel calls
# under strace -c.
# Run by scripts/bench.sh after its build, with its argument ([--quick]).
set -eu
cd "$(dirname "$0")/../.."
. scripts/bench/common.sh
. scripts/bench/echolib.sh

echo "== echo: messages/s, polleros-echo-client against each server"
echo_out=$raw/echo.tsv
srv_po="$bin/../examples/polleros-echo-server --backend epoll"
srv_uring="$bin/../examples/polleros-echo-server --backend uring"
servers="polleros/changed polleros/full polleros/uring"
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
            polleros/uring)
                echo_once "$s" "$conns" "$msgs" "$size" "$rep" \
                    env POLLEROS_RECONCILE=changed $srv_uring ;;
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
    polleros/uring) cmd="env POLLEROS_RECONCILE=changed $srv_uring" ;;
    polleros/*) cmd="env POLLEROS_RECONCILE=${s#polleros/} $srv_po" ;;
    *) cmd="$bin/echo_$s" ;;
    esac
    echo_out=/dev/null # the rates of a traced server mean nothing
    # shellcheck disable=SC2086
    echo_once "strace:$s" 1000 50 64 1 \
        strace -c -f -o "$raw/strace.echo" $cmd
    for sc in epoll_wait epoll_pwait io_uring_enter epoll_ctl read recvfrom \
        write sendto writev; do
        c=$(awk -v s="$sc" '$NF == s { print $4 }' "$raw/strace.echo")
        [ -n "$c" ] && printf '%s\t1000\t64\t50\t%s\t%s\n' "$s" "$sc" "$c" \
            >>"$raw/echo_strace.tsv"
    done
    rm -f "$raw/strace.echo"
done
