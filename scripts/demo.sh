#!/bin/sh
# The echo demo, from a fresh checkout: installs what is missing (through
# scripts/deps.sh), builds the echo server and client in Release, and runs
# 1,000 loopback connections x 100 messages of 64 bytes, then 200
# connections x 50 messages of 16 KiB, every byte verified.  Exits non-zero
# if anything failed.
#
# POLLEROS_BACKEND=poll sh scripts/demo.sh runs it on the poll backend.
set -eu
cd "$(dirname "$0")/.."

if [ -f scripts/deps.sh ]; then
    sh scripts/deps.sh
fi

build=build/demo
bin=$build/examples
jobs=$(nproc 2>/dev/null || echo 2)

echo "== demo: configure and build ($build, Release)"
# An existing build tree keeps the generator it was made with.
if [ -f "$build/CMakeCache.txt" ]; then
    set --
elif command -v ninja >/dev/null 2>&1; then
    set -- -G Ninja
else
    set -- -G "Unix Makefiles"
fi
cmake -S . -B "$build" "$@" -DCMAKE_BUILD_TYPE=Release \
    -DPOLLEROS_BUILD_EXAMPLES=ON -DPOLLEROS_BUILD_TESTS=OFF >/dev/null
cmake --build "$build" -j "$jobs" \
    --target polleros-echo-server polleros-echo-client >/dev/null

tmp=$(mktemp -d "${TMPDIR:-/tmp}/polleros-demo.XXXXXX")
server_pid=
# shellcheck disable=SC2317 # called through the trap
cleanup() {
    if [ -n "$server_pid" ]; then
        kill -KILL "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

echo "== demo: start the server"
"$bin/polleros-echo-server" --port 0 --port-file "$tmp/port" &
server_pid=$!
tries=0
while [ ! -s "$tmp/port" ]; do
    if ! kill -0 "$server_pid" 2>/dev/null || [ "$tries" -ge 100 ]; then
        echo "demo: the server did not start listening" >&2
        exit 1
    fi
    tries=$((tries + 1))
    sleep 0.1
done
port=$(cat "$tmp/port")

status=0
echo "== demo: 1,000 connections x 100 messages x 64 bytes"
"$bin/polleros-echo-client" --port "$port" --timeout 60 || status=1
echo "== demo: 200 connections x 50 messages x 16 KiB"
"$bin/polleros-echo-client" --port "$port" --conns 200 --messages 50 \
    --size 16384 --timeout 60 || status=1

echo "== demo: stop the server"
# A watchdog kills the server if it has not stopped 10 s after SIGTERM; it
# polls a flag file so that it can be waited for.
kill -TERM "$server_pid"
(
    i=0
    while [ ! -e "$tmp/stopped" ] && [ "$i" -lt 100 ]; do
        sleep 0.1
        i=$((i + 1))
    done
    [ -e "$tmp/stopped" ] || kill -KILL "$server_pid" 2>/dev/null || true
) &
watchdog=$!
server_rc=0
wait "$server_pid" || server_rc=$?
server_pid=
: >"$tmp/stopped"
wait "$watchdog" || true
if [ "$server_rc" -ne 0 ]; then
    echo "demo: the server exited with status $server_rc" >&2
    status=1
fi

if [ "$status" -eq 0 ]; then
    echo "== demo: passed"
else
    echo "== demo: FAILED" >&2
fi
exit "$status"
