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
sh scripts/deps-windows.sh

jobs=$(nproc 2>/dev/null || echo 2)
gen=""
command -v ninja >/dev/null 2>&1 && gen="-G Ninja"
wine=/usr/lib/wine/wine64
[ -x "$wine" ] || wine=$(command -v wine64)
wineserver=$(dirname "$wine")/wineserver
[ -x "$wineserver" ] || wineserver=$(command -v wineserver)

# One Wine prefix under build/, made once (its first start takes seconds);
# no debug channels; no Mono or Gecko installers.
export WINEPREFIX="$root/build/win-wine"
export WINEDEBUG=-all
export WINEDLLOVERRIDES="mscoree,mshtml="
if [ ! -f "$WINEPREFIX/system.reg" ]; then
    echo "== windows: a new Wine prefix in $WINEPREFIX"
    "$wine" wineboot --init >/dev/null 2>&1 || true
    "$wineserver" -w # until the prefix is written out
fi
# A wineserver kept alive for the whole run, so that the hundred short test
# programs do not each start and stop one (one may be running already).
"$wineserver" -p 2>/dev/null || true
trap '"$wineserver" -k 2>/dev/null || true' EXIT
# The first program of a Wine session starts its system services, which
# inherit that program's output and live as long as the wineserver: start
# them here, on /dev/null, not from a test whose output pipe CTest reads
# to the end.
"$wine" wineboot </dev/null >/dev/null 2>&1 || true

configure() { # build dir, extra cmake args...
    dir=$1
    shift
    cmake -S . -B "$dir" $gen -DCMAKE_TOOLCHAIN_FILE=cmake/mingw-w64-x86_64.cmake \
        -DCMAKE_CROSSCOMPILING_EMULATOR="$wine" \
        -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPOLLEROS_WERROR=ON "$@" >/dev/null
    cmake --build "$dir" -j "$jobs"
}

# Runs ctest in a build dir with extra args; appends its results to the
# totals and fails if any test failed.  A test that fails is run once more:
# now and then Wine fails to start a program at all (no output, 0.00 s), and
# a real failure fails twice.  The log keeps both runs, so a flake shows.
passed=0
skipped=0
run_ctest() { # build dir, log name, ctest args...
    dir=$1 log=$2
    shift 2
    (cd "$dir" && ctest -j "$jobs" --timeout 120 --output-on-failure \
        --repeat until-pass:2 "$@") |
        tee "$dir/$log"
    grep -q '^100% tests passed' "$dir/$log"
    ran=$(sed -n 's/.* out of \([0-9]*\)$/\1/p' "$dir/$log")
    s=$(grep -c '\*\*\*Skipped' "$dir/$log" || true)
    passed=$((passed + ran - s))
    skipped=$((skipped + s))
}

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
configure build/win
echo "== windows: every test under Wine"
t0=$(date +%s)
run_ctest build/win ctest.log
t1=$(date +%s)

echo "== windows: POLLEROS_WEPOLL=system (build/win-sys)"
stand_in="$root/build/win-sys-wepoll"
rm -rf "$stand_in"
mkdir -p "$stand_in/include" "$stand_in/lib"
cp wepoll/include/wepoll.h "$stand_in/include/wepoll.h"
cp build/win/wepoll/libpolleros_wepoll.a "$stand_in/lib/libwepoll.a"
rm -f build/win-sys/CMakeCache.txt
configure build/win-sys -DPOLLEROS_WEPOLL=system \
    -DCMAKE_FIND_ROOT_PATH="$stand_in" -DPOLLEROS_BUILD_EXAMPLES=OFF
grep -q "POLLEROS_WEPOLL_LIBRARY:FILEPATH=$stand_in/lib/libwepoll.a" \
    build/win-sys/CMakeCache.txt
t2=$(date +%s)
run_ctest build/win-sys ctest.log \
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

# Runs a Windows program (a command line, under "$wine"), its output with
# Windows line ends made Unix ones in log $1.  A run that printed nothing at
# all is Wine failing to start the program: it runs once more, and says so.
wine_run() { # log, command...
    log=$1
    shift
    rc=0
    "$@" </dev/null >"$log.raw" 2>&1 || rc=$?
    if [ "$rc" -ne 0 ] && [ ! -s "$log.raw" ]; then
        echo "(no output, exit $rc: Wine did not start it; once more)"
        rc=0
        "$@" </dev/null >"$log.raw" 2>&1 || rc=$?
    fi
    tr -d '\r' <"$log.raw" >"$log"
    rm -f "$log.raw"
    return "$rc"
}
toolchain="$root/cmake/mingw-w64-x86_64.cmake"

echo "== windows: fault injection: build (POLLEROS_FAULTS, build/win-faults)"
cmake -S . -B build/win-faults $gen -DCMAKE_TOOLCHAIN_FILE="$toolchain" \
    -DCMAKE_CROSSCOMPILING_EMULATOR="$wine" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DPOLLEROS_WERROR=ON -DPOLLEROS_FAULTS=ON -DPOLLEROS_BUILD_EXAMPLES=OFF \
    >/dev/null
cmake --build build/win-faults -j "$jobs" --target po_faults
t4=$(date +%s)
p0=$passed s0=$skipped
run_ctest build/win-faults ctest.log -R '^faults/'
t5=$(date +%s)
faults_passed=$((passed - p0)) faults_skipped=$((skipped - s0))
echo "== windows: fault matrix (site x errno -> outcome)"
flog=build/win-faults/Testing/Temporary/LastTest.log
for b in wepoll poll; do
    for site in $(sed -n 's/^PO__FAULT_SITE(\([a-z_]*\),.*/\1/p' src/fault_sites.h); do
        grep -E "^faults/$b/$site " "$flog" | awk '!seen[$0]++'
    done
done
cells=$(grep -E '^faults/' "$flog" | awk '!seen[$0]++' |
    grep -cv ' n/a: ' || true)

echo "== windows: fuzzer corpus replay: build (build/win-replay)"
cmake -S tests/fuzz -B build/win-replay $gen \
    -DCMAKE_TOOLCHAIN_FILE="$toolchain" >/dev/null
cmake --build build/win-replay -j "$jobs"
ncorpus=$(ls tests/fuzz/corpus | wc -l)
t6=$(date +%s)
for b in wepoll poll; do
    for m in changed full; do
        log=build/win-replay/replay-$b-$m.log
        if wine_run "$log" env POLLEROS_BACKEND=$b POLLEROS_RECONCILE=$m \
            "$wine" build/win-replay/po_fuzz_replay.exe tests/fuzz/corpus &&
            grep -q "^replay: $ncorpus inputs, 0 errors" "$log"; then
            late=$(sed -n 's/^polleros fuzz: \([0-9]*\) event.*/\1/p' "$log")
            echo "PASS replay/$b/$m: $(sed -n 's/^replay: //p' "$log");" \
                "${late:-0} event(s) one wait late after a widened interest"
            passed=$((passed + 1))
        else
            tail -n 30 "$log"
            echo "FAIL replay/$b/$m (log: $log)"
            exit 1
        fi
    done
done
# The differential fuzzer's seeds: wepoll and WSAPoll must agree on each.
ndiff=$(ls tests/fuzz/corpus-diff | wc -l)
log=build/win-replay/replay-diff.log
if wine_run "$log" "$wine" build/win-replay/po_fuzz_diff_replay.exe \
    tests/fuzz/corpus-diff &&
    grep -q "^replay: $ndiff inputs, 0 errors" "$log"; then
    echo "PASS replay/diff (wepoll vs poll): $(sed -n 's/^replay: //p' "$log")"
    passed=$((passed + 1))
else
    tail -n 30 "$log"
    echo "FAIL replay/diff (log: $log)"
    exit 1
fi
t7=$(date +%s)

echo "== windows: churn soak: build (build/win-soak)"
cmake -S tests/soak -B build/win-soak $gen \
    -DCMAKE_TOOLCHAIN_FILE="$toolchain" >/dev/null
cmake --build build/win-soak -j "$jobs"
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
            echo "PASS soak/$b/$m: $soak_ops operations, $rate/s; $bytes;" \
                "$reuse attaches on a just-freed SOCKET value; $bad"
            passed=$((passed + 1))
        else
            cat "$log"
            echo "FAIL soak/$b/$m (log: $log)"
            exit 1
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
echo "windows: $passed passed, 0 failed, $skipped skipped"
