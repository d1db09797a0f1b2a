#!/bin/sh
# Installs what the benchmark suite (scripts/bench.sh) needs on Debian, and
# only what is missing, so that a machine that has everything needs no
# network: the three event libraries it compares against (their -dev
# packages: headers, pkg-config files and the link-time .so), gnuplot for
# the plot, valgrind for instruction counts, strace for the kernel-call
# cross-check, and for the proxy benchmark redis (the server, and
# redis-benchmark and redis-cli as the load) and HAProxy to compare with.  The build tools themselves come from scripts/deps.sh.
set -eu
# shellcheck source=scripts/lib/common.sh
. "$(dirname "$0")/lib/common.sh"

need=""
for p in libevent-dev libev-dev libuv1-dev; do
    have_pkg "$p" || need="$need $p"
done
have_cmd gnuplot || need="$need gnuplot-nox"
have_cmd valgrind || need="$need valgrind"
have_cmd strace || need="$need strace"
have_cmd redis-server || need="$need redis-server"
have_cmd redis-benchmark || need="$need redis-tools"
have_cmd haproxy || need="$need haproxy"

if [ -n "$need" ]; then
    echo "deps-bench: installing$need"
    # A failed install is not fatal: the suite skips a missing library
    # with a message and runs the rest.
    # shellcheck disable=SC2086 # one word per package
    if ! apt_install $need; then
        echo "deps-bench: warning: could not install$need;" \
            "the benchmarks that need them are skipped" >&2
    fi
fi
