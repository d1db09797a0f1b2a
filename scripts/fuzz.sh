#!/bin/sh
# Runs the fuzzers (tests/fuzz/) for longer than the test run does.
#
#   sh scripts/fuzz.sh [SECONDS] [BACKEND|all|diff] [changed|full|both]
#
# SECONDS (default 600) per backend; BACKEND epoll, poll, uring or all
# (default: every backend this system builds) runs the operation fuzzer on
# it, or skips it when the kernel refuses it (io_uring under seccomp or the
# sysctl); diff runs the differential fuzzer instead, backends in lockstep
# (epoll against poll and uring on Linux, uring left out where refused).
# The reconciliation mode comes from each input's first byte unless one is
# named ("both" runs each for half the time).
# POLLEROS_FUZZ_JOBS=N runs N fuzzing processes at once (libFuzzer's -fork).
# The build is in build/fuzz, or POLLEROS_FUZZ_BUILD.  The corpus grows in
# <build>/corpus-<backend|diff>[-<mode>], seeded from tests/fuzz/corpus
# (tests/fuzz/corpus-diff for diff); a failing input is written to
# <build>/artifacts/ and the command to replay it with a trace is printed.  To
# keep a finding as a regression seed, copy it into the seed directory (see
# tests/fuzz/README.md).
set -eu
cd "$(dirname "$0")/.."
. scripts/lib/common.sh
secs=${1:-600}
which=${2:-all}
mode=${3:-}
sh scripts/deps.sh
build=${POLLEROS_FUZZ_BUILD:-build/fuzz}
CC=clang cmake_build tests/fuzz "$build"
mkdir -p "$build/artifacts"

[ "$which" = all ] || backends=$which
case $mode in
"") modes="-" ;;
both) modes="changed full"; secs=$((secs / 2)) ;;
changed | full) modes=$mode ;;
*) echo "usage: $0 [SECONDS] [BACKEND|all|diff] [changed|full|both]" >&2; exit 2 ;;
esac
fork=""
[ -n "${POLLEROS_FUZZ_JOBS:-}" ] && fork="-fork=$POLLEROS_FUZZ_JOBS"

status=0
for b in $backends; do
    # The differential fuzzer names its two backends itself.
    fuzz=$build/po_fuzz seeds=tests/fuzz/corpus env=POLLEROS_BACKEND=$b
    if [ "$b" = diff ]; then
        fuzz=$build/po_fuzz_diff seeds=tests/fuzz/corpus-diff env=
    fi
    for m in $modes; do
        if [ "$m" = - ]; then
            work=$build/corpus-$b
            unset POLLEROS_FUZZ_RECONCILE || true
            tag=$b
        else
            work=$build/corpus-$b-$m
            export POLLEROS_FUZZ_RECONCILE="$m"
            tag=$b-$m
        fi
        mkdir -p "$work"
        echo "== fuzz $tag for $secs s (corpus $work)"
        log=$build/fuzz-$tag.log
        rc=0
        # shellcheck disable=SC2086 # $env and $fork: none or one word
        env $env "$fuzz" -max_total_time="$secs" \
            -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 $fork \
            -error_exitcode=1 \
            -artifact_prefix="$build/artifacts/$tag-" \
            "$work" "$seeds" >"$log" 2>&1 || rc=$?
        grep '^polleros diff: .* left out' "$log" || true
        if [ "$rc" -eq 0 ]; then
            grep '^stat::' "$log" | sed "s/^/$tag: /"
        elif [ "$rc" -eq 77 ]; then
            echo "$tag: $(tail -n 1 "$log")"
        else
            status=1
            grep -E '^polleros (fuzz|diff)|ERROR|SUMMARY|Test unit written' "$log" |
                head -n 20
            unit=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" |
                tail -n 1)
            echo "$tag: FAILED (log: $log)"
            if [ -n "$unit" ]; then
                echo "replay with a trace:"
                echo "  $env${POLLEROS_FUZZ_RECONCILE:+ POLLEROS_FUZZ_RECONCILE=$POLLEROS_FUZZ_RECONCILE} POLLEROS_FUZZ_TRACE=1 $fuzz $unit"
                echo "minimise:"
                echo "  $env $fuzz -minimize_crash=1 -runs=100000 $unit"
            fi
        fi
    done
done
exit $status
