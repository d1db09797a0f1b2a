#!/bin/sh
# The Windows build, tested on this Linux machine: polleros cross-compiled
# with mingw-w64 and every test run under Wine through CMake's
# CMAKE_CROSSCOMPILING_EMULATOR -- the conformance suite once per Windows
# backend (wepoll over the project's own AFD_POLL bridge, and WSAPoll), the
# bridge's own suite (the wepoll API used directly), and the echo demo.  Then
# the POLLEROS_WEPOLL=system option: the same build against a wepoll library
# found with find_path/find_library (the bridge, installed under the
# upstream library's names, stands in for it), with a few cases run.
#
# Then the reliability checks that scripts/test-faults.sh and
# scripts/test-reliability.sh run on Linux, on both Windows backends:
#   - the fault build (-DPOLLEROS_FAULTS=ON, build/win-faults): every kernel
#     call site failed with each errno, faults/<backend>/<site>, and the
#     matrix site x errno -> outcome;
#   - the operation fuzzer's corpus replayed by its replay driver (mingw has
#     no libFuzzer; build/win-replay) against its reference model, in both
#     reconciliation modes;
#   - the differential fuzzer's corpus replayed the same way: wepoll and
#     WSAPoll in lockstep, each input in the mode its first byte names;
#   - the churn soak, shortened (POLLEROS_WIN_SOAK_OPS operations, default
#     3,000, over 500 loopback TCP pairs whose SOCKET values Winsock hands
#     out again; build/win-soak), in both modes.
#
# Called by scripts/test.sh; its last line is
#     windows: N passed, 0 failed, K skipped
set -eu
cd "$(dirname "$0")/.."
root=$(pwd)
. scripts/lib/suite.sh
sh scripts/deps-windows.sh
. scripts/lib/wine.sh

# "P passed, S skipped" for the tests named $1<something> in log $2,
# leaving out the echo demo unless $1 names it.
count() {
    lines=$(grep -E "Test +#[0-9]+: $1" "$2" || true)
    case $1 in *echo_demo* | *example_*) ;; *) lines=$(echo "$lines" | grep -v -e echo_demo -e example_ || true) ;; esac
    p=$(echo "$lines" | grep -c ' Passed' || true)
    s=$(echo "$lines" | grep -c '\*\*\*Skipped' || true)
    echo "$p passed, $s skipped"
}

echo "== windows: configure and build (mingw-w64, build/win)"
win_tree build/win all
echo "== windows: every test under Wine"
t0=$(date +%s)
win_ctest build/win
t1=$(date +%s)

echo "== windows: POLLEROS_WEPOLL=system (build/win-sys)"
stand_in="$root/build/win-sys-wepoll"
rm -rf "$stand_in"
mkdir -p "$stand_in/include" "$stand_in/lib"
cp wepoll/include/wepoll.h "$stand_in/include/wepoll.h"
cp build/win/wepoll/libpolleros_wepoll.a "$stand_in/lib/libwepoll.a"
rm -f build/win-sys/CMakeCache.txt
win_tree build/win-sys all -DPOLLEROS_WEPOLL=system \
    -DCMAKE_FIND_ROOT_PATH="$stand_in" -DPOLLEROS_BUILD_EXAMPLES=OFF
grep -q "POLLEROS_WEPOLL_LIBRARY:FILEPATH=$stand_in/lib/libwepoll.a" \
    build/win-sys/CMakeCache.txt
t2=$(date +%s)
win_ctest build/win-sys \
    -R '^wepoll/(translate_|connect_refused|peer_close|closed_fd|backend_choice)'
t3=$(date +%s)

log=build/win/ctest.log
for b in wepoll poll; do
    echo "== windows: $b backend: conformance suite $(count "$b/" "$log");" \
        "echo demo $(count "$b/echo_demo" "$log");" \
        "examples $(count "$b/example_" "$log")"
done
echo "== windows: bridge suite: $(count bridge/ "$log")"
echo "== windows: POLLEROS_WEPOLL=system: $(count wepoll/ build/win-sys/ctest.log)"
# Every skip, with the reason the case gave.
grep -h '^SKIP \[' build/win/Testing/Temporary/LastTest.log \
    build/win-sys/Testing/Temporary/LastTest.log || true
echo "== windows: Wine run time: $((t1 - t0)) s, plus $((t3 - t2)) s for the system-wepoll build"

# ---------------------------------------------------------------------------
# Reliability: the fault build, the fuzzer's corpus replay, the churn soak.
# A failure ends the run, with the end of its log.

fail_with() { # what, log, lines of it to show
    tail -n "$3" "$2"
    fail "$1 (log: $2)"
    exit 1
}

echo "== windows: fault injection: build (POLLEROS_FAULTS, build/win-faults)"
win_tree build/win-faults po_faults -DPOLLEROS_FAULTS=ON \
    -DPOLLEROS_BUILD_EXAMPLES=OFF
t4=$(date +%s)
p0=$passed s0=$skipped
win_ctest build/win-faults -R '^faults/'
t5=$(date +%s)
faults_passed=$((passed - p0)) faults_skipped=$((skipped - s0))
echo "== windows: fault matrix (site x errno -> outcome)"
flog=build/win-faults/Testing/Temporary/LastTest.log
for t in $(fault_tests build/win-faults); do
    grep -E "^$t " "$flog" | awk '!seen[$0]++'
done
cells=$(grep -E '^faults/' "$flog" | awk '!seen[$0]++' |
    grep -cv ' n/a: ' || true)

echo "== windows: fuzzer corpus replay: build (build/win-replay)"
cmake_build tests/fuzz build/win-replay -DCMAKE_TOOLCHAIN_FILE="$toolchain"
ncorpus=$(find tests/fuzz/corpus -type f | wc -l)
t6=$(date +%s)
for b in wepoll poll; do
    for m in changed full; do
        log=build/win-replay/replay-$b-$m.log
        if wine_run "$log" env POLLEROS_BACKEND=$b POLLEROS_RECONCILE=$m \
            "$wine" build/win-replay/po_fuzz_replay.exe tests/fuzz/corpus &&
            grep -q "^replay: $ncorpus inputs, 0 errors" "$log"; then
            late=$(sed -n 's/^polleros fuzz: \([0-9]*\) event.*/\1/p' "$log")
            pass "replay/$b/$m: $(sed -n 's/^replay: //p' "$log"); ${late:-0} event(s) one wait late after a widened interest"
        else
            fail_with "replay/$b/$m" "$log" 30
        fi
    done
done
# The differential fuzzer's seeds: wepoll and WSAPoll must agree on each.
ndiff=$(find tests/fuzz/corpus-diff -type f | wc -l)
log=build/win-replay/replay-diff.log
if wine_run "$log" "$wine" build/win-replay/po_fuzz_diff_replay.exe \
    tests/fuzz/corpus-diff &&
    grep -q "^replay: $ndiff inputs, 0 errors" "$log"; then
    pass "replay/diff (wepoll vs poll): $(sed -n 's/^replay: //p' "$log")"
else
    fail_with replay/diff "$log" 30
fi
t7=$(date +%s)

echo "== windows: churn soak: build (build/win-soak)"
cmake_build tests/soak build/win-soak -DCMAKE_TOOLCHAIN_FILE="$toolchain"
soak_ops=${POLLEROS_WIN_SOAK_OPS:-3000}
t8=$(date +%s)
for b in wepoll poll; do
    for m in changed full; do
        log=build/win-soak/soak-$b-$m.log
        if wine_run "$log" "$wine" build/win-soak/po_soak.exe \
            --ops "$soak_ops" --channels 500 --writes 100 --churn 25 \
            --backend "$b" --reconcile "$m" &&
            grep -q '^soak: PASS' "$log"; then
            rate=$(sed -n 's/^soak: \([0-9]*\) operations\/s.*/\1/p' "$log")
            bytes=$(sed -n 's/^soak: [0-9]* messages, \([0-9]*\) bytes sent, \([0-9]*\) received, \([0-9]*\) discarded.*/\1 bytes sent = \2 received + \3 discarded/p' "$log")
            reuse=$(sed -n 's/.*mark; .*; \([0-9]*\) attaches reused.*/\1/p' "$log")
            bad=$(sed -n 's/^soak: misrouted \([0-9]*\), missed \([0-9]*\), byte errors \([0-9]*\).*/misrouted \1, missed \2, byte errors \3/p' "$log")
            pass "soak/$b/$m: $soak_ops operations, $rate/s; $bytes; $reuse attaches on a just-freed SOCKET value; $bad"
        else
            fail_with "soak/$b/$m" "$log" "$(wc -l <"$log")"
        fi
    done
done
t9=$(date +%s)

echo "== windows: fault build: $faults_passed passed, $faults_skipped skipped" \
    "(sites no backend call makes); matrix: $cells site x errno cells" \
    "checked"
grep -h '^SKIP \[' "$flog" | awk '!seen[$0]++' || true
echo "== windows: reliability run time: faults $((t5 - t4)) s, corpus replay" \
    "$((t7 - t6)) s, soak $((t9 - t8)) s"
finish windows
