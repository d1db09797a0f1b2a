#!/bin/sh
# Runs the operation fuzzer (tests/fuzz/) for longer than the test run does.
#
#   sh scripts/fuzz.sh [SECONDS] [BACKEND|all] [changed|full|both]
#
# SECONDS (default 600) per backend; BACKEND epoll, poll or all (default:
# every backend this system builds); the reconciliation mode comes from each
# input's first byte unless one is named ("both" runs each for half the
# time).  POLLEROS_FUZZ_JOBS=N runs N fuzzing processes at once (libFuzzer's
# -fork).  The corpus grows in build/fuzz/corpus-<backend>[-<mode>], seeded
# from tests/fuzz/corpus; a failing input is written to build/fuzz/artifacts/
# and the command to replay it with a trace is printed.  To keep a finding as
# a regression seed, copy it into tests/fuzz/corpus/ (see tests/fuzz/README.md).
set -eu
cd "$(dirname "$0")/.."
secs=${1:-600}
which=${2:-all}
mode=${3:-}
sh scripts/deps.sh
gen=""
command -v ninja >/dev/null 2>&1 && gen="-G Ninja"
CC=clang cmake -S tests/fuzz -B build/fuzz $gen >/dev/null
cmake --build build/fuzz
mkdir -p build/fuzz/artifacts

backends="poll"
[ "$(uname -s)" = Linux ] && backends="epoll poll"
[ "$which" = all ] || backends=$which
case $mode in
"") modes="-" ;;
both) modes="changed full"; secs=$((secs / 2)) ;;
changed | full) modes=$mode ;;
*) echo "usage: $0 [SECONDS] [BACKEND|all] [changed|full|both]" >&2; exit 2 ;;
esac
fork=""
[ -n "${POLLEROS_FUZZ_JOBS:-}" ] && fork="-fork=$POLLEROS_FUZZ_JOBS"

status=0
for b in $backends; do
    for m in $modes; do
        if [ "$m" = - ]; then
            work=build/fuzz/corpus-$b
            unset POLLEROS_FUZZ_RECONCILE || true
            tag=$b
        else
            work=build/fuzz/corpus-$b-$m
            export POLLEROS_FUZZ_RECONCILE=$m
            tag=$b-$m
        fi
        mkdir -p "$work"
        echo "== fuzz $tag for $secs s (corpus $work)"
        log=build/fuzz/fuzz-$tag.log
        if POLLEROS_BACKEND=$b build/fuzz/po_fuzz -max_total_time="$secs" \
            -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 $fork \
            -artifact_prefix="build/fuzz/artifacts/$tag-" \
            "$work" tests/fuzz/corpus >"$log" 2>&1; then
            grep '^stat::' "$log" | sed "s/^/$tag: /"
        else
            status=1
            grep -E '^polleros fuzz|ERROR|SUMMARY|Test unit written' "$log" |
                head -n 20
            unit=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" |
                tail -n 1)
            echo "$tag: FAILED (log: $log)"
            if [ -n "$unit" ]; then
                echo "replay with a trace:"
                echo "  POLLEROS_BACKEND=$b${POLLEROS_FUZZ_RECONCILE:+ POLLEROS_FUZZ_RECONCILE=$POLLEROS_FUZZ_RECONCILE} POLLEROS_FUZZ_TRACE=1 build/fuzz/po_fuzz $unit"
                echo "minimise:"
                echo "  POLLEROS_BACKEND=$b build/fuzz/po_fuzz -minimize_crash=1 -runs=100000 $unit"
            fi
        fi
    done
done
exit $status
