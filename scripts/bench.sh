#!/bin/sh
# The benchmark suite, in one command:
#
#   sh scripts/bench.sh           the full run (about 15 minutes on 2 cores)
#   sh scripts/bench.sh --quick   a smaller matrix and fewer rounds (a few
#                                 minutes), for iterating
#
# Installs what is missing (scripts/deps.sh, scripts/deps-bench.sh), builds
# in build/bench (RelWithDebInfo: -O2 -g, so callgrind can name functions),
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
# Benchmarks (bench/README.md says more):
#   pipes    chained pipes, every driver, wall time and callgrind instructions
#   kernel   ctl and wait calls per event, counted by strace -c
#   churn    attach/delete rate, memory per channel
#   deadlines  set, move and fire cost of channel deadlines, and the idle
#            wait, at 0 to 1,000,000 deadlines
#   cache    simulated data-cache misses per event (callgrind), chained
#            pipes at N = 9,984 and with 1,000,000 idle channels
#   harvest  the events buffer: chained pipes at N = 9,984 with each
#            max_events from 16 to 4,096, wall time and instructions
#   echo     the echo demo's client against the polleros, libuv and libevent
#            echo servers
# BENCH_ONLY="pipes churn" limits a run to some of them (for iterating).
set -eu
cd "$(dirname "$0")/.."
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
only=${BENCH_ONLY:-"pipes cache kernel churn deadlines harvest echo"}
want() { case " $only " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }

sh scripts/deps.sh
sh scripts/deps-bench.sh

build=build/bench
bin=$build/bench
raw=$build/raw
# A quick run's figures are not the project's: they stay in the build tree,
# and only a full run rewrites bench/results and the README's table.
if [ "$quick" -eq 1 ]; then
    results=$build/results-quick
    readme=
else
    results=bench/results
    readme="--readme README.md"
fi
jobs=$(nproc 2>/dev/null || echo 2)

echo "== bench: configure and build ($build, RelWithDebInfo)"
if [ -f "$build/CMakeCache.txt" ]; then
    set --
elif command -v ninja >/dev/null 2>&1; then
    set -- -G Ninja
else
    set -- -G "Unix Makefiles"
fi
cmake -S . -B "$build" "$@" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DPOLLEROS_BUILD_BENCH=ON -DPOLLEROS_BUILD_EXAMPLES=ON \
    -DPOLLEROS_BUILD_TESTS=OFF >"$build.configure.log" 2>&1 ||
    { cat "$build.configure.log"; exit 1; }
cmake --build "$build" -j "$jobs" >"$build.build.log" 2>&1 ||
    { cat "$build.build.log"; exit 1; }

# Fresh raw outputs for the benchmarks this run does; the others' stay, so
# that BENCH_ONLY can redo one part and still report everything.
mkdir -p "$raw" "$raw/cg" "$results"
for b in $only; do
    rm -f "$raw/$b"*.tsv
done
[ "$quick" -eq 1 ] && echo quick >"$raw/mode" || echo full >"$raw/mode"

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

# The drivers: label, executable, polleros backend, polleros mode.  The
# epoll floor comes first: every ratio is to it.
DRIVERS="epoll-floor:pipes_epoll:-:-
polleros/epoll/changed:pipes_polleros:epoll:changed
polleros/epoll/full:pipes_polleros:epoll:full
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

# ---------------------------------------------------------------------------
# Chained pipes: wall time, then instructions.

# The timed runs share the machine with nothing of ours; pinning them to
# one core spares them migrations.
pin=
if command -v taskset >/dev/null 2>&1; then
    pin="taskset -c $(($(nproc 2>/dev/null || echo 1) - 1))"
fi

if want pipes; then
    echo "== pipes: wall time ($PASSES passes x $ROUNDS rounds per cell)"
    out=$raw/pipes_wall.tsv
    pass=1
    while [ "$pass" -le "$PASSES" ]; do
        cells | while read -r n a idle; do
            # each pass starts the drivers in another order
            drivers 2>/dev/null | awk -v k=$((3 * (pass - 1))) \
                '{ l[NR] = $0 } END { for (i = 0; i < NR; i++) print l[(i + k) % NR + 1] }' |
                while IFS=: read -r label exe be mode; do
                    hdr=
                    [ -s "$out" ] || hdr=--header
                    # shellcheck disable=SC2046,SC2086
                    if ! $pin "$bin/$exe" -n "$n" -a "$a" -i "$idle" \
                        -w "$MAX_WRITES" -r "$ROUNDS" --budget-ms "$BUDGET_MS" \
                        $(drv_args "$be" "$mode") $hdr >"$raw/one.tsv" \
                        2>"$raw/one.err"; then
                        echo "   $label n=$n a=$a idle=$idle failed:" \
                            "$(cat "$raw/one.err")" >&2
                        continue
                    fi
                    if [ -n "$hdr" ]; then
                        printf 'label\tpass\t' >>"$out"
                        head -1 "$raw/one.tsv" >>"$out"
                    fi
                    printf '%s\t%s\t' "$label" "$pass" >>"$out"
                    tail -1 "$raw/one.tsv" >>"$out"
                    printf '   %s %-24s n=%-5s a=%-5s idle=%-8s %s ns/event\n' \
                        "$pass" "$label" "$n" "$a" "$idle" \
                        "$(tail -1 "$raw/one.tsv" | cut -f11)"
                done
        done
        pass=$((pass + 1))
    done
    drivers >/dev/null

    echo "== pipes: callgrind instructions per event (2 jobs at a time)"
    # The budget difference D: 2,000 events, or fewer where a driver's
    # wait costs O(channels) (polleros full, the poll backend), so that no
    # pair of runs goes much beyond a billion instructions.  The figure is
    # exact either way; what matters is that D covers whole iterations,
    # which it does for A = 1 and stays within a few percent otherwise.
    jobsfile=$raw/cg_jobs
    : >"$jobsfile"
    cells | while read -r n a idle; do
        drivers 2>/dev/null | while IFS=: read -r label exe be mode; do
            m=$a
            [ "$m" -gt 256 ] && m=256
            case "$label" in
            */full) per=$((50 * (n + idle) / m)) ;;
            */poll/*) per=$((50 * n / m)) ;;
            *) per=0 ;;
            esac
            d=2000
            if [ "$per" -gt 0 ] && [ $((1000000000 / per)) -lt 2000 ]; then
                d=$((1000000000 / per))
                [ "$d" -lt 20 ] && d=20
            fi
            w1=$d
            [ "$w1" -lt $((2 * a)) ] && w1=$((2 * a))
            echo "$root/$bin $root/$raw/cg $label $exe $be $mode $n $a $idle $d $w1" >>"$jobsfile"
        done
    done
    xargs -P "$jobs" -L 1 sh bench/callgrind_pair.sh <"$jobsfile" \
        >"$raw/pipes_instr.tsv" || echo "   some callgrind runs failed" >&2
    sort -t "$(printf '\t')" -k2,2n -k4,4n -k3,3n "$raw/pipes_instr.tsv" |
        awk -F '\t' '{ printf "   %-24s n=%-5s a=%-5s idle=%-8s %s instr/event\n", $1, $2, $3, $4, $9 }'
fi

# ---------------------------------------------------------------------------
# Data-cache misses per event, from callgrind's cache simulation (this
# machine's hardware counters are not available to perf).  Budgets of
# several times N events, so that both runs of a pair are past the first
# touch of every channel and the difference is the steady state.

if want cache; then
    echo "== cache: simulated data-cache misses per event (callgrind --cache-sim)"
    mkdir -p "$raw/cache"
    jobsfile=$raw/cache_jobs
    : >"$jobsfile"
    ccells="9984 1000 0
1000 1000 1000000"
    [ "$quick" -eq 1 ] && ccells="1000 100 0"
    echo "$ccells" | while read -r n a idle; do
        drivers 2>/dev/null | while IFS=: read -r label exe be mode; do
            case "$label" in */full | */poll/*) continue ;; esac
            echo "$root/$bin $root/$raw/cache $label $exe $be $mode $n $a $idle 40000 40000" >>"$jobsfile"
        done
    done
    CG_CACHE=1 xargs -P "$jobs" -L 1 sh bench/callgrind_pair.sh <"$jobsfile" \
        >"$raw/cache.tsv" || echo "   some callgrind runs failed" >&2
    awk -F '\t' '{ printf "   %-24s n=%-5s a=%-5s idle=%-8s %s instr  %s D1  %s LL misses/event\n", $1, $2, $3, $4, $9, $10, $11 }' "$raw/cache.tsv"
fi

# ---------------------------------------------------------------------------
# Kernel calls per event, counted by strace -c (the drivers' own counters
# are in the wall-time lines).

if want kernel; then
    echo "== kernel: ctl and wait calls per event, strace -c"
    out=$raw/kernel.tsv
    d=2000
    for a in 1 100; do
        drivers 2>/dev/null | while IFS=: read -r label exe be mode; do
            for w in 2000 $((2000 + d)); do
                # shellcheck disable=SC2046
                strace -c -f -o "$raw/strace.$w" "$bin/$exe" -n 1000 -a "$a" \
                    -w "$w" -r 1 --callgrind $(drv_args "$be" "$mode") \
                    >"$raw/strace.$w.out" 2>&1 || true
            done
            for sc in epoll_wait epoll_pwait poll ppoll epoll_ctl read write; do
                c1=$(awk -v s="$sc" '$NF == s { print $4 }' "$raw/strace.2000")
                c2=$(awk -v s="$sc" '$NF == s { print $4 }' "$raw/strace.$((2000 + d))")
                [ -n "$c1$c2" ] || continue
                printf '%s\t1000\t%s\t%s\t%s\t%s\t%s\n' "$label" "$a" "$d" \
                    "$sc" "${c1:-0}" "${c2:-0}" >>"$out"
            done
        done
    done
    awk -F '\t' '{ printf "   %-24s a=%-4s %-11s %.3f per event\n", $1, $3, $5, ($7 - $6) / $4 }' "$out"
fi

# ---------------------------------------------------------------------------
# Churn and memory.

if want churn; then
    echo "== churn: attach/delete rate, memory per channel"
    out=$raw/churn.tsv
    count=1000000
    [ "$quick" -eq 1 ] && count=200000
    for be in epoll poll; do
        for mode in changed full; do
            "$bin/churn" -c "$count" -s 9984 --backend "$be" --mode "$mode" \
                >>"$out" || echo "   churn $be/$mode failed" >&2
        done
    done
    awk -F '\t' '{ printf "   %-16s %-18s %-36s %s\n", $3, $4, $5, $6 }' "$out"
fi

if want harvest; then
    # The size of the events buffer (po_options.max_events): one wait
    # harvests at most that many.  Sizes interleave within each pass, so
    # that the machine's drift hits them all alike.
    echo "== harvest: events buffer size, chained pipes n=9984"
    out=$raw/harvest.tsv
    : >"$out"
    sizes="16 64 256 1024 4096"
    for a in 100 1000; do
        for pass in 1 2 3; do
            for k in $sizes; do
                ns=$($pin "$bin/pipes_polleros" -n 9984 -a "$a" -w "$MAX_WRITES" \
                    -r "$ROUNDS" --budget-ms "$BUDGET_MS" --backend epoll \
                    --mode changed --max-events "$k" | tail -1 | cut -f11)
                printf 'harvest\t%s\t%s\twall_ns\t%s\n' "$a" "$k" "$ns" >>"$out"
            done
        done
        for k in $sizes; do
            for w in 4000 8000; do
                valgrind --tool=callgrind --instr-atstart=no \
                    --callgrind-out-file="$raw/harvest.k$k.w$w.cg" \
                    "$bin/pipes_polleros" -n 9984 -a "$a" -w "$w" -r 1 \
                    --callgrind --backend epoll --mode changed \
                    --max-events "$k" >/dev/null 2>&1
            done
            i1=$(sed -n 's/^totals: *\([0-9]*\).*/\1/p' "$raw/harvest.k$k.w4000.cg")
            i2=$(sed -n 's/^totals: *\([0-9]*\).*/\1/p' "$raw/harvest.k$k.w8000.cg")
            printf 'harvest\t%s\t%s\tinstr\t%s\n' "$a" "$k" \
                "$(awk -v a="$i1" -v b="$i2" 'BEGIN { printf "%.1f", (b - a) / 4000 }')" >>"$out"
        done
    done
    awk -F '\t' '{ printf "   a=%-5s max_events=%-5s %-8s %s\n", $2, $3, $4, $5 }' "$out"
fi

if want deadlines; then
    echo "== deadlines: cost per deadline and the idle wait, as they grow"
    out=$raw/deadlines.tsv
    counts=0,1000,10000,100000,1000000
    [ "$quick" -eq 1 ] && counts=0,1000,100000
    "$bin/deadlines" -d "$counts" >"$out" || echo "   deadlines failed" >&2
    awk -F '\t' '{ printf "   d=%-8s %-14s %s\n", $4, $5, $6 }' "$out"
fi

# ---------------------------------------------------------------------------
# Echo: the polleros echo client as the load, in its own process, against
# each server.

# One run: label conns messages size rep server-command...  Appends to
# $echo_out: label conns size messages rep msgs/s MB/s server_cpu_s, and
# the polleros server's adds mods dels waits ("-" for the others).
echo_once() {
    label=$1 conns=$2 msgs=$3 size=$4 rep=$5
    shift 5
    dir=$(mktemp -d "${TMPDIR:-/tmp}/polleros-bench.XXXXXX")
    "$@" --port 0 --port-file "$dir/port" >"$dir/server.out" 2>&1 &
    spid=$!
    tries=0
    while [ ! -s "$dir/port" ] && [ "$tries" -lt 100 ]; do
        sleep 0.1
        tries=$((tries + 1))
    done
    if [ ! -s "$dir/port" ]; then
        echo "   $label: the server did not start" >&2
        kill -KILL "$spid" 2>/dev/null || true
        wait "$spid" 2>/dev/null || true
        rm -rf "$dir"
        return 0
    fi
    # The load generator runs in CHANGED mode whatever the server does, so
    # that it stays the same for every server and costs as little as it
    # can: at 9,000 connections it is the bottleneck.
    ok=1
    POLLEROS_RECONCILE=changed "$bin/../examples/polleros-echo-client" \
        --port "$(cat "$dir/port")" --backend epoll --conns "$conns" \
        --messages "$msgs" --size "$size" --timeout 300 >"$dir/client.out" \
        2>&1 || ok=0
    # The server's CPU time (user + system ticks), read before it stops.
    ticks=$(awk '{ print $14 + $15 }' "/proc/$spid/stat" 2>/dev/null || echo 0)
    # Under strace the server is strace's child: stopping it makes strace
    # write its summary and exit.
    victim=$(pgrep -P "$spid" 2>/dev/null || true)
    kill -TERM ${victim:-$spid} 2>/dev/null || true
    wait "$spid" 2>/dev/null || true
    if [ "$ok" -eq 1 ]; then
        rate=$(sed -n 's/.*throughput: *\([0-9.]*\) messages\/s, \([0-9.]*\) MB.*/\1\t\2/p' "$dir/client.out")
        calls=$(sed -n 's/.*kernel calls: \([0-9]*\) adds, \([0-9]*\) mods, \([0-9]*\) dels, \([0-9]*\) waits.*/\1\t\2\t\3\t\4/p' "$dir/server.out")
        [ -n "$calls" ] || calls="-	-	-	-"
        cpu=$(awk -v t="$ticks" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.2f", t / hz }')
        printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$label" "$conns" "$size" \
            "$msgs" "$rep" "$rate" "$cpu" "$calls" >>"$echo_out"
        printf '   %-18s %5s conns %6s B  %s msgs/s  server cpu %s s\n' \
            "$label" "$conns" "$size" "$(echo "$rate" | cut -f1)" "$cpu"
    else
        echo "   $label $conns x $size: the client failed:" >&2
        tail -3 "$dir/client.out" >&2
    fi
    rm -rf "$dir"
}

if want echo; then
    echo "== echo: messages/s, polleros-echo-client against each server"
    echo_out=$raw/echo.tsv
    srv_po="$bin/../examples/polleros-echo-server --backend epoll"
    servers="polleros/changed polleros/full"
    [ -x "$bin/echo_libuv" ] && servers="$servers libuv" ||
        echo "skipped: libuv not installed"
    [ -x "$bin/echo_libevent" ] && servers="$servers libevent" ||
        echo "skipped: libevent not installed"
    # messages per connection, so that a run lasts a few seconds and the
    # connections' set-up is a small part of it
    for cfg in "1000 64 600" "9000 64 40" "1000 16384 100" "9000 16384 10"; do
        set -- $cfg
        conns=$1 size=$2 msgs=$3
        [ "$quick" -eq 1 ] && msgs=$((msgs / 4 + 1))
        rep=1
        while [ "$rep" -le "$ECHO_REPS" ]; do
            # interleaved, so that a slow phase of the machine hits all alike
            for s in $servers; do
                case $s in
                polleros/changed)
                    echo_once "$s" "$conns" "$msgs" "$size" "$rep" \
                        env POLLEROS_RECONCILE=changed $srv_po ;;
                polleros/full)
                    echo_once "$s" "$conns" "$msgs" "$size" "$rep" \
                        env POLLEROS_RECONCILE=full $srv_po ;;
                *)
                    echo_once "$s" "$conns" "$msgs" "$size" "$rep" \
                        "$bin/echo_$s" ;;
                esac
            done
            rep=$((rep + 1))
        done
    done

    echo "== echo: kernel calls of each server, strace -c (1,000 connections x 50 x 64 B)"
    for s in $servers; do
        case $s in
        polleros/*) cmd="env POLLEROS_RECONCILE=${s#polleros/} $srv_po" ;;
        *) cmd="$bin/echo_$s" ;;
        esac
        echo_out=/dev/null # the rates of a traced server mean nothing
        # shellcheck disable=SC2086
        echo_once "strace:$s" 1000 50 64 1 \
            strace -c -f -o "$raw/strace.echo" $cmd
        for sc in epoll_wait epoll_pwait epoll_ctl read recvfrom write sendto writev; do
            c=$(awk -v s="$sc" '$NF == s { print $4 }' "$raw/strace.echo")
            [ -n "$c" ] && printf '%s\t1000\t64\t50\t%s\t%s\n' "$s" "$sc" "$c" \
                >>"$raw/echo_strace.tsv"
        done
        rm -f "$raw/strace.echo"
    done
fi

# ---------------------------------------------------------------------------

echo "== report"
# shellcheck disable=SC2086
python3 bench/report.py $readme "$raw" "$results"
if command -v gnuplot >/dev/null 2>&1; then
    for f in "$results"/*.gp; do
        [ -e "$f" ] || continue
        gnuplot "$f" || echo "   gnuplot $f failed" >&2
    done
    rm -f "$results"/*.gp "$results"/*.dat
else
    echo "skipped: gnuplot not installed (no plot)"
fi
cat "$results/results.md"
