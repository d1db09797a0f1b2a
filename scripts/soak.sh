#!/bin/sh
# The full churn soak (tests/soak/): 1,000,000 attach/delete/re-socket/mark
# operations with descriptor numbers reused at once and a steady stream of
# traffic across 5,000 socket-pair channels, on every backend this system
# builds, in both reconciliation modes.  Each run prints operations/s, peak
# RSS and the misrouted, missed and byte-error counts (all must be 0); a
# backend the kernel refuses here (io_uring under seccomp or the sysctl) is
# skipped.
#
#   sh scripts/soak.sh [OPERATIONS] [BACKEND|all] [changed|full|both]
#
# Other options of the soak itself (--channels, --writes, --churn, --seed):
# build/soak/po_soak --help after a first run.
set -eu
cd "$(dirname "$0")/.."
. scripts/lib/common.sh
ops=${1:-1000000}
which=${2:-all}
modes=${3:-both}
sh scripts/deps.sh
cmake_build tests/soak build/soak

[ "$which" = all ] || backends=$which
[ "$modes" = both ] && modes="changed full"
status=0
for b in $backends; do
    for m in $modes; do
        echo "== soak: $b, $m, $ops operations"
        log=build/soak/soak-full-$b-$m.log
        build/soak/po_soak --ops "$ops" --backend "$b" --reconcile "$m" |
            tee "$log"
        grep -q -e '^soak: PASS' -e '^soak: skipped' "$log" || status=1
    done
done
exit $status
