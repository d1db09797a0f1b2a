#!/bin/sh
# The benchmark suite, in one command:
#
#   sh scripts/bench.sh           the full run (about 40 minutes on 2 cores)
#   sh scripts/bench.sh --quick   a smaller matrix and fewer rounds (a few
#                                 minutes), for iterating
#
# Installs what is missing (scripts/deps.sh, scripts/deps-bench.sh), builds
# in build/bench (RelWithDebInfo: -O2 -g, so callgrind can name functions;
# BENCH_BUILD_TYPE=Release for -O3 without -g),
# runs every benchmark, and writes
#   bench/results/results.tsv        every figure, one per line
#   bench/results/results.md         the tables, with ratios to the epoll floor
#   bench/results/ns_per_event.svg   wall ns/event against channels, per A
#   bench/results/instr_per_event.svg  the same for instructions
#   bench/results/profile.txt        callgrind's per-function instructions per
#                                    event for polleros/epoll/changed
# and the README's benchmark table, and prints the Markdown.  A quick run
# writes its results to build/bench/results-quick instead.  Raw outputs
# stay in build/bench/raw.  The run never fails the tests: it is not one
# of them.
#
# Benchmarks, one script each in scripts/bench/ (bench/README.md says more):
#   pipes    chained pipes, every driver, wall time and callgrind instructions
#   cache    simulated data-cache misses per event (callgrind), chained
#            pipes at N = 9,984 and with 1,000,000 idle channels
#   kernel   ctl and wait calls per event, counted by strace -c
#   churn    attach/delete rate, memory per channel
#   harvest  the events buffer: chained pipes at N = 9,984 with each
#            max_events from 16 to 4,096, wall time and instructions
#   deadlines  set, move and fire cost of channel deadlines, and the idle
#            wait, at 0 to 1,000,000 deadlines; how late 10,000 deadlines
#            fire on polleros, libuv, libevent and libev
#   echo     the echo demo's client against the polleros, libuv and libevent
#            echo servers
#   proxy    redis-benchmark against redis directly, through
#            polleros-proxy (1 and 2 threads) and through HAProxy (nbthread
#            1 and 2); a 10 MB value through the proxy, SHA-256 compared;
#            a bulk transfer where the proxies are the bottleneck
#   churnnet connection churn and interest churn over loopback TCP, every
#            library (about 4 minutes: not in the default run)
#   crossings  the poller's kernel crossings per loop iteration and per
#            event, by strace -c -f and by the counters, on chained pipes,
#            echo and both churns (not in the default run)
# BENCH_ONLY="pipes churn" limits a run to some of them (for iterating).
set -eu
cd "$(dirname "$0")/.."
. scripts/bench/common.sh
only=${BENCH_ONLY:-"pipes cache kernel churn deadlines harvest echo proxy"}

sh scripts/deps.sh
sh scripts/deps-bench.sh

# A quick run's figures are not the project's: they stay in the build tree,
# and only a full run rewrites bench/results and the README's table.
if [ "$quick" -eq 1 ]; then
    results=$build/results-quick
    readme=
else
    results=bench/results
    readme="--readme README.md"
fi

btype=${BENCH_BUILD_TYPE:-RelWithDebInfo}
echo "== bench: configure and build ($build, $btype)"
mkdir -p "$build"
configure . "$build" -DCMAKE_BUILD_TYPE="$btype" \
    -DPOLLEROS_BUILD_BENCH=ON -DPOLLEROS_BUILD_EXAMPLES=ON \
    -DPOLLEROS_BUILD_TESTS=OFF >"$build.configure.log" 2>&1 ||
    { cat "$build.configure.log"; exit 1; }
cmake --build "$build" -j "$jobs" >"$build.build.log" 2>&1 ||
    { cat "$build.build.log"; exit 1; }

# Fresh raw outputs for the benchmarks this run does; the others' stay, so
# that BENCH_ONLY can redo one part and still report everything.
mkdir -p "$raw" "$raw/cg" "$results"
[ "$quick" -eq 1 ] && echo quick >"$raw/mode" || echo full >"$raw/mode"
for b in pipes cache kernel churn harvest deadlines echo proxy churnnet crossings; do
    case " $only " in *" $b "*) ;; *) continue ;; esac
    rm -f "$raw/$b"*.tsv
    sh "scripts/bench/$b.sh" "$@"
done

echo "== report"
# shellcheck disable=SC2086 # none, or an option and its value
python3 bench/report.py $readme "$raw" "$results"
if have_cmd gnuplot; then
    for f in "$results"/*.gp; do
        [ -e "$f" ] || continue
        gnuplot "$f" || echo "   gnuplot $f failed" >&2
    done
    rm -f "$results"/*.gp "$results"/*.dat
else
    echo "skipped: gnuplot not installed (no plot)"
fi
cat "$results/results.md"
