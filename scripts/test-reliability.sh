#!/bin/sh
# Reliability: the operation fuzzer, the churn soak and valgrind.
#
#   1. The operation fuzzer (tests/fuzz/), built with clang and libFuzzer
#      (AddressSanitizer + UndefinedBehaviorSanitizer + LeakSanitizer) in
#      build/fuzz: first the committed seed corpus once on every backend,
#      then POLLEROS_FUZZ_SECONDS (default 60) of fuzzing per backend, split
#      between the two reconciliation modes.  Under CI=true the fuzzing is
#      capped at 150 s in all.  Then the differential fuzzer (backends in
#      lockstep, epoll against poll and uring on Linux): its seeds
#      (tests/fuzz/corpus-diff) once, then POLLEROS_FUZZ_DIFF_SECONDS
#      (default 30; at most 20 under CI=true) of fuzzing, the mode from each
#      input.
#   2. The churn soak (tests/soak/), shortened to POLLEROS_SOAK_OPS
#      (default 100,000) operations over 5,000 socket-pair channels, on
#      every backend in both reconciliation modes; scripts/soak.sh runs the
#      full 1,000,000.
#   3. valgrind memcheck over every conformance case on the epoll and uring
#      backends (poll elsewhere), in both reconciliation modes (build/gcc's
#      po_conformance, which scripts/test.sh builds; else its own in
#      build/vg), and over both fuzzers' seed corpora.
#
# Where the kernel refuses io_uring (seccomp, kernel.io_uring_disabled), the
# runs on uring are skipped: the fuzzers and the soak exit 77, as the
# conformance cases do; the differential fuzzer leaves uring out, saying so.
#
# ThreadSanitizer runs in scripts/test.sh (the clang-tsan build), over the
# one thread-safe function, po_notify(): the notify_* cases and the
# worker-thread example.
#
# The last line is "reliability: N passed, F failed, S skipped" (one test per
# fuzzing run, corpus replay, soak run and valgrind case); the exit status is
# non-zero when anything failed.
set -eu
cd "$(dirname "$0")/.."
. scripts/lib/suite.sh
sh scripts/deps.sh
if ! have_cmd valgrind; then
    echo "reliability: installing valgrind"
    apt_install valgrind
fi

# ---------------------------------------------------------------------------
echo "== fuzz: build (clang, libFuzzer, ASan+UBSan) in build/fuzz"
CC=clang cmake_build tests/fuzz build/fuzz
fuzz=build/fuzz/po_fuzz
mkdir -p build/fuzz/artifacts

secs=${POLLEROS_FUZZ_SECONDS:-60}
nb=$(echo "$backends" | wc -w)
if [ "${CI:-}" = true ] && [ $((secs * nb)) -gt 150 ]; then
    secs=$((150 / nb))
fi
half=$((secs / 2))
[ "$half" -ge 1 ] || half=1

# Counts a run by its exit status, $rc: 0 passed, 77 skipped (the kernel
# refuses the backend; the log's last line says why; libFuzzer exits 1 on a
# finding, not its 77), else failed, after the command given shows the log.
verdict() { # name, log, command...
    verdict_name=$1 verdict_log=$2
    shift 2
    case $rc in
    0) pass "$verdict_name" ;;
    77) skip "$verdict_name ($(tail -n 1 "$verdict_log"))" ;;
    *) "$@"; fail "$verdict_name (exit $rc, log: $verdict_log)" ;;
    esac
}
fuzz_lines() { # log
    grep -E '^polleros (fuzz|diff)|ERROR|SUMMARY|Test unit written' "$1" | head -n 20
}

# Replays a seed directory once: each input must run clean, in whichever
# mode its first byte names.  The command is the fuzzer with its
# environment.
replay_seeds() { # tag, seed dir, command...
    tag=$1 dir=$2
    shift 2
    log=build/fuzz/replay-$tag.log
    rc=0
    "$@" -runs=0 -error_exitcode=1 "$dir" >"$log" 2>&1 || rc=$?
    grep '^polleros diff: .* left out' "$log" || true
    verdict "fuzz/$tag/corpus ($(find "$dir" -type f | wc -l) seeds)" "$log" \
        fuzz_lines "$log"
}

# Fuzzes for some seconds from the seeds, growing a working corpus of its
# own (build/fuzz/corpus-<tag>); only that corpus is written.
fuzz_for() { # tag, label, seconds, seed dir, command...
    tag=$1 label=$2 t=$3 dir=$4
    shift 4
    work=build/fuzz/corpus-$tag
    mkdir -p "$work"
    log=build/fuzz/fuzz-$tag.log
    rc=0
    "$@" -max_total_time="$t" -timeout=10 -rss_limit_mb=2048 -error_exitcode=1 \
        -print_final_stats=1 -artifact_prefix="build/fuzz/artifacts/$tag-" \
        "$work" "$dir" >"$log" 2>&1 || rc=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
    verdict "fuzz/$label: $t s${execs:+, $execs executions, $rate/s}" \
        "$log" fuzz_lines "$log"
}

for b in $backends; do
    replay_seeds "$b" tests/fuzz/corpus env POLLEROS_BACKEND="$b" "$fuzz"
    for m in changed full; do
        fuzz_for "$b-$m" "$b/$m" "$half" tests/fuzz/corpus \
            env POLLEROS_BACKEND="$b" POLLEROS_FUZZ_RECONCILE="$m" "$fuzz"
    done
done

# The differential fuzzer: its seeds, then a short run.  A difference names
# the operation, the channel and both backends' values.
echo "== fuzz: differential (backends in lockstep)"
diff_fuzz=build/fuzz/po_fuzz_diff
replay_seeds diff tests/fuzz/corpus-diff "$diff_fuzz"
dsecs=${POLLEROS_FUZZ_DIFF_SECONDS:-30}
if [ "${CI:-}" = true ] && [ "$dsecs" -gt 20 ]; then
    dsecs=20
fi
fuzz_for diff diff "$dsecs" tests/fuzz/corpus-diff "$diff_fuzz"

# ---------------------------------------------------------------------------
echo "== soak: build in build/soak"
CC=${CC:-cc} cmake_build tests/soak build/soak
ops=${POLLEROS_SOAK_OPS:-100000}
for b in $backends; do
    for m in changed full; do
        log=build/soak/soak-$b-$m.log
        rc=0
        build/soak/po_soak --ops "$ops" --backend "$b" --reconcile "$m" \
            >"$log" 2>&1 || rc=$?
        rate=$(sed -n 's/^soak: \([0-9]*\) operations\/s.*/\1/p' "$log")
        rss=$(sed -n 's/.*peak RSS \(.*\)$/\1/p' "$log")
        bad=$(sed -n 's/^soak: misrouted \([0-9]*\).*/\1/p' "$log")
        verdict "soak/$b/$m: $ops operations${rate:+, $rate/s, peak RSS $rss, misrouted $bad}" \
            "$log" cat "$log"
    done
done

# ---------------------------------------------------------------------------
# valgrind runs on the backends over the system's own kernel interface.
vg_backends=poll
[ "$(uname -s)" = Linux ] && vg_backends="epoll uring"
echo "== valgrind: memcheck over the conformance suite ($vg_backends)"
if [ -f build/gcc/CMakeCache.txt ]; then
    conf_dir=build/gcc
else
    conf_dir=build/vg
    CC=gcc configure . build/vg -DCMAKE_BUILD_TYPE=RelWithDebInfo \
        -DPOLLEROS_BUILD_EXAMPLES=OFF >/dev/null
fi
cmake --build "$conf_dir" -j "$jobs" --target po_conformance
conf=$conf_dir/tests/po_conformance
vg="valgrind -q --error-exitcode=99 --leak-check=full
    --errors-for-leak-kinds=definite,indirect,possible"
mkdir -p build/vg/logs
CC=gcc cmake_build tests/fuzz build/vg-fuzz -DPOLLEROS_FUZZ_ENGINE=replay \
    -DPOLLEROS_FUZZ_SANITIZE=
for b in $vg_backends; do
    # Both reconciliations, as CTest runs the suite (<backend>/ and
    # <backend>-full/).
    for m in changed full; do
        tag=$b
        [ "$m" = full ] && tag=$b-full
        for c in $("$conf" --list); do
            log=build/vg/logs/$tag-$c.log
            rc=0
            # valgrind (3.19) runs no other thread while one blocks in
            # io_uring_enter: a wait that another thread ends never ends
            # (ThreadSanitizer runs these two, scripts/test.sh).
            case $b/$c in
            uring/notify_wakes_blocked_wait | uring/notify_threads_exactly_once)
                echo "valgrind runs no other thread during io_uring_enter" >"$log"
                rc=77 ;;
            *) POLLEROS_BACKEND=$b POLLEROS_RECONCILE=$m \
                $vg "$conf" "$c" >"$log" 2>&1 || rc=$? ;;
            esac
            verdict "valgrind/$tag/$c" "$log" cat "$log"
        done
    done
    # The operation fuzzer's seeds (no sanitizers: the replay driver).
    log=build/vg/logs/fuzz-corpus-$b.log
    rc=0
    POLLEROS_BACKEND=$b $vg build/vg-fuzz/po_fuzz_replay tests/fuzz/corpus \
        >"$log" 2>&1 || rc=$?
    sum=$(tail -n 1 "$log")
    verdict "valgrind/$b/fuzz-corpus: $sum" "$log" tail -n 40 "$log"
done

# The differential fuzzer's seeds, every backend at once.
log=build/vg/logs/fuzz-diff-corpus.log
rc=0
$vg build/vg-fuzz/po_fuzz_diff_replay tests/fuzz/corpus-diff >"$log" 2>&1 ||
    rc=$?
verdict "valgrind/fuzz-diff-corpus: $(tail -n 1 "$log")" "$log" \
    tail -n 40 "$log"

finish reliability
