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
. scripts/lib/common.sh
sh scripts/deps.sh

build=build/demo
bin=$build/examples

echo "== demo: configure and build ($build, Release)"
configure . "$build" -DCMAKE_BUILD_TYPE=Release \
    -DPOLLEROS_BUILD_EXAMPLES=ON -DPOLLEROS_BUILD_TESTS=OFF >/dev/null
cmake --build "$build" -j "$jobs" \
    --target polleros-echo-server polleros-echo-client >/dev/null

# examples/run_echo.sh starts a server on a free port, runs the client
# against it and stops the server, failing if either side did.
run() { sh examples/run_echo.sh "$bin/polleros-echo-server" \
    "$bin/polleros-echo-client" "${POLLEROS_BACKEND:-default}" "$@"; }

status=0
echo "== demo: 1,000 connections x 100 messages x 64 bytes"
run 1000 100 64 || status=1
echo "== demo: 200 connections x 50 messages x 16 KiB"
run 200 50 16384 || status=1

if [ "$status" -eq 0 ]; then
    echo "== demo: passed"
else
    echo "== demo: FAILED" >&2
fi
exit "$status"
