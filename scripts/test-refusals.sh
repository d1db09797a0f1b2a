#!/bin/sh
# io_uring refused as real systems refuse it, and nothing surprises: the gcc
# build's whole ctest (build/gcc, as scripts/test.sh builds it) run under
# tests/refuse_uring with EPERM (the default seccomp profiles of Docker,
# containerd and Kubernetes) and ENOSYS (a kernel without io_uring), then
# with the sysctl kernel.io_uring_disabled=2, which disables io_uring for
# the whole system while it runs (as root only; the previous value is put
# back whatever ends the run).  Every test passes or skips: the uring cases
# and examples skip, as po_create(PO_BACKEND_URING) answers PO_ENOTSUP, and
# the default poller is epoll's (backend_choice).  About 20 s a run on two
# cores: no test is left out.  POLLEROS_TEST_SYSCTL=no leaves the sysctl
# alone (a machine where others use io_uring meanwhile).
#
# Last line: "refusals: N passed, F failed, K skipped".
set -eu
cd "$(dirname "$0")/.."
. scripts/lib/suite.sh
dir=build/gcc
sysctl=/proc/sys/kernel/io_uring_disabled

if [ "$(uname -s)" != Linux ]; then
    skip "refusals (io_uring is Linux's)"
    finish refusals
fi

# Runs the ctest of $dir through a command that runs its arguments, its
# output in $dir/ctest-<name>.log; prints the run's figures.
refused() { # name, command...
    refused_name=$1
    shift
    refused_log=$dir/ctest-$refused_name.log
    refused_p=$passed refused_f=$failed refused_s=$skipped
    refused_t=$(date +%s)
    echo "== refusals: $refused_name"
    (cd "$dir" && "$@" ctest -j "$jobs" --output-on-failure) \
        >"$refused_log" 2>&1 || true
    ctest_count "$refused_log" ||
        grep -v -E '^ *Start |  Passed  |\*\*\*Skipped ' "$refused_log" || true
    # A run where io_uring worked proves nothing.
    grep -q ' uring/backend_choice .*Skipped' "$refused_log" ||
        fail "refusals/$refused_name: io_uring was not refused"
    echo "refusals/$refused_name: $((passed - refused_p)) passed," \
        "$((failed - refused_f)) failed, $((skipped - refused_s)) skipped" \
        "in $(($(date +%s) - refused_t)) s"
}

echo "== refusals: configure and build (gcc) in $dir"
CC=gcc build_tree "$dir" all
start=$(date +%s)
refused EPERM tests/refuse_uring EPERM
refused ENOSYS tests/refuse_uring ENOSYS

if [ "${POLLEROS_TEST_SYSCTL:-}" = no ]; then
    skip "refusals/sysctl (skipped: POLLEROS_TEST_SYSCTL=no)"
elif [ "$(id -u)" -ne 0 ]; then
    skip "refusals/sysctl (skipped: not root)"
elif [ ! -w "$sysctl" ]; then
    skip "refusals/sysctl (skipped: $sysctl is not writable)"
else
    was=$(cat "$sysctl")
    # Put back on every way out: a failure, ^C, the terminal closed.
    trap 'echo "$was" >"$sysctl"' EXIT
    trap 'exit 129' HUP
    trap 'exit 130' INT
    trap 'exit 143' TERM
    if { echo 2 >"$sysctl"; } 2>/dev/null; then
        refused sysctl env
    else
        skip "refusals/sysctl (skipped: $sysctl refused the value 2)"
    fi
    echo "$was" >"$sysctl"
    trap - EXIT HUP INT TERM
    if [ "$(cat "$sysctl")" = "$was" ]; then
        echo "refusals/sysctl: kernel.io_uring_disabled is $was again"
    else
        fail "refusals/sysctl: kernel.io_uring_disabled not restored to $was"
    fi
fi
echo "refusals: $(($(date +%s) - start)) s in all"
finish refusals
