# shellcheck shell=sh disable=SC2034 # what it sets, the benchmarks use
# What scripts/bench.sh and each benchmark (scripts/bench/<name>.sh) share,
# sourced from the repository's root: the argument ([--quick]), where the
# build and the figures are, the matrix, the drivers and the cells.

. scripts/lib/common.sh
root=$(pwd)

quick=0
case "${1:-}" in
--quick) quick=1 ;;
"") ;;
*)
    echo "usage: sh scripts/bench.sh [--quick]" >&2
    exit 2
    ;;
esac

build=build/bench
bin=$build/bench
raw=$build/raw

# Wall time: PASSES passes over the whole matrix, each driver in its own
# process per pass, ROUNDS timed rounds per process; the report takes the
# median of the processes' medians.  Separate processes spread over the run
# matter more than rounds: on these VMs a process can land 10-20 % off for
# its whole life (placement, a slow phase of the host).
if [ "$quick" -eq 1 ]; then
    NS="100 1000"
    AS="1 100"
    IDLES="100000"
    PASSES=1
    ROUNDS=3
    BUDGET_MS=40
    ECHO_REPS=1
else
    NS="100 1000 9984"
    AS="1 100 1000"
    IDLES="10000 100000 1000000"
    PASSES=3
    ROUNDS=5
    BUDGET_MS=150
    ECHO_REPS=5
fi
MAX_WRITES=200000

# The timed runs share the machine with nothing of ours; pinning them to
# one core spares them migrations.
pin=
if have_cmd taskset; then
    pin="taskset -c $(($(nproc 2>/dev/null || echo 1) - 1))"
fi

# The drivers: label, executable, polleros backend, polleros mode.  The
# epoll floor comes first: every ratio is to it.
DRIVERS="epoll-floor:pipes_epoll:-:-
polleros/epoll/changed:pipes_polleros:epoll:changed
polleros/epoll/full:pipes_polleros:epoll:full
polleros/uring/changed:pipes_polleros:uring:changed
polleros/poll/changed:pipes_polleros:poll:changed
polleros/poll/full:pipes_polleros:poll:full
libev:pipes_libev:-:-
libevent:pipes_libevent:-:-
libuv:pipes_libuv:-:-"

# Prints the drivers that were built; says which were not.
drivers() {
    echo "$DRIVERS" | while IFS=: read -r label exe be mode; do
        if [ -x "$bin/$exe" ]; then
            echo "$label:$exe:$be:$mode"
        else
            echo "skipped: $label (${exe#pipes_} not installed)" >&2
        fi
    done
}

# The cells: N x A with sockets, then 1,000 sockets plus idle channels.
cells() {
    for n in $NS; do
        for a in $AS; do echo "$n $a 0"; done
    done
    for i in $IDLES; do
        for a in $AS; do echo "1000 $a $i"; done
    done
}

drv_args() { # backend mode -> extra arguments
    [ "$1" = - ] || printf -- '--backend %s ' "$1"
    [ "$2" = - ] || printf -- '--mode %s ' "$2"
}

# Waits up to 10 s for a server to write its port to the file.
wait_port_file() {
    tries=0
    while [ ! -s "$1" ] && [ "$tries" -lt 100 ]; do
        sleep 0.1
        tries=$((tries + 1))
    done
}
