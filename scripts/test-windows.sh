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
    case $1 in *echo_demo*) ;; *) lines=$(echo "$lines" | grep -v echo_demo || true) ;; esac
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
cp src/win/wepoll.h "$stand_in/include/wepoll.h"
cp build/win/libpolleros_wepoll.a "$stand_in/lib/libwepoll.a"
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
        "echo demo $(count "$b/echo_demo" "$log")"
done
echo "== windows: bridge suite: $(count bridge/ "$log")"
echo "== windows: POLLEROS_WEPOLL=system: $(count wepoll/ build/win-sys/ctest.log)"
# Every skip, with the reason the case gave.
grep -h '^SKIP \[' build/win/Testing/Temporary/LastTest.log \
    build/win-sys/Testing/Temporary/LastTest.log || true
echo "== windows: Wine run time: $((t1 - t0)) s, plus $((t3 - t2)) s for the system-wepoll build"
echo "windows: $passed passed, 0 failed, $skipped skipped"
