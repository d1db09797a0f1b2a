#!/bin/sh
# Runs the echo demo once: starts the server on a free port, runs the client
# against it, then stops the server.  Passes (exit 0) only if the client
# verified every byte and the server then exited cleanly on SIGTERM.
# Exits 77 (skipped) when the server found the backend not available here
# (io_uring refused by the kernel, say).
#
# usage: run_echo.sh SERVER CLIENT BACKEND CONNS MESSAGES SIZE
#
# With ECHO_EMULATOR set (e.g. to Wine, for Windows binaries built here) both
# programs run under it, and the server is told to exit once it has served
# CONNS connections (--max-served) rather than sent a signal the emulated
# program would not get as one.
set -u

if [ $# -ne 6 ]; then
    echo "usage: $0 SERVER CLIENT BACKEND CONNS MESSAGES SIZE" >&2
    exit 2
fi
server=$1 client=$2 backend=$3 conns=$4 messages=$5 size=$6
emu=${ECHO_EMULATOR:-}

dir=$(mktemp -d "${TMPDIR:-/tmp}/polleros-echo.XXXXXX") || exit 2
server_pid=

# Whatever happens, the server does not outlive the test.
cleanup() {
    if [ -n "$server_pid" ]; then
        kill -KILL "$server_pid" 2>/dev/null
        wait "$server_pid" 2>/dev/null
    fi
    rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM

if [ -n "$emu" ]; then
    # Wine sees the host's root as drive Z:.
    $emu "$server" --port 0 --port-file "Z:$dir/port" --backend "$backend" \
        --max-served "$conns" &
else
    "$server" --port 0 --port-file "$dir/port" --backend "$backend" &
fi
server_pid=$!

# The server writes the port file (atomically) once it listens: wait for it,
# at most 10 s, and give up at once if the server died.
tries=0
while [ ! -s "$dir/port" ]; do
    if ! kill -0 "$server_pid" 2>/dev/null; then
        wait "$server_pid"
        server_rc=$?
        server_pid=
        if [ "$server_rc" -eq 77 ]; then
            echo "run_echo: $backend: not available here, skipped"
            exit 77
        fi
        echo "run_echo: the server exited before listening" >&2
        exit 1
    fi
    tries=$((tries + 1))
    if [ "$tries" -gt 100 ]; then
        echo "run_echo: no port file after 10 s" >&2
        exit 1
    fi
    sleep 0.1
done
port=$(cat "$dir/port")

$emu "$client" --port "$port" --backend "$backend" --conns "$conns" \
    --messages "$messages" --size "$size" --timeout 100
client_rc=$?

# Stop the server and collect its exit status.  A watchdog kills it if it
# has not stopped within 10 s (a hang on shutdown is a failure too); it polls
# a flag file rather than sleeping 10 s at once, so that it can be waited for
# and leaves no stray process holding CTest's output pipe open.
[ -n "$emu" ] || kill -TERM "$server_pid"
(
    i=0
    while [ ! -e "$dir/stopped" ] && [ "$i" -lt 100 ]; do
        sleep 0.1
        i=$((i + 1))
    done
    [ -e "$dir/stopped" ] || kill -KILL "$server_pid" 2>/dev/null
) &
watchdog=$!
wait "$server_pid"
server_rc=$?
server_pid=
: >"$dir/stopped"
wait "$watchdog"

if [ "$client_rc" -ne 0 ]; then
    echo "run_echo: the client failed (exit $client_rc)" >&2
    exit 1
fi
if [ "$server_rc" -ne 0 ]; then
    echo "run_echo: the server did not exit cleanly (exit $server_rc)" >&2
    exit 1
fi
echo "run_echo: $backend: passed"
