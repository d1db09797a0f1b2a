# shellcheck shell=sh
# Wine for the Windows tests, sourced after scripts/lib/suite.sh from the
# repository's root: sets wine and wineserver, starts a Wine session that
# lasts until the sourcing script exits, and defines how Windows programs
# are built (mingw-w64) and run.

wine=/usr/lib/wine/wine64
[ -x "$wine" ] || wine=$(command -v wine64)
wineserver=$(dirname "$wine")/wineserver
[ -x "$wineserver" ] || wineserver=$(command -v wineserver)
toolchain="$(pwd)/cmake/mingw-w64-x86_64.cmake"

# One Wine prefix under build/, made once (its first start takes seconds);
# no debug channels; no Mono or Gecko installers.
WINEPREFIX="$(pwd)/build/win-wine"
WINEDEBUG=-all
WINEDLLOVERRIDES="mscoree,mshtml="
export WINEPREFIX WINEDEBUG WINEDLLOVERRIDES
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

# The library cross-built for Windows (scripts/lib/suite.sh's build_tree),
# its tests run under Wine: build dir, target, cmake args...
win_tree() {
    build_tree "$@" -DCMAKE_TOOLCHAIN_FILE="$toolchain" \
        -DCMAKE_CROSSCOMPILING_EMULATOR="$wine"
}

# ctest under Wine: build dir, ctest args...  A test that fails is run once
# more: now and then Wine fails to start a program at all (no output,
# 0.00 s), and a real failure fails twice.  The log keeps both runs, so a
# flake shows.
win_ctest() {
    ctest_run "$@" --timeout 120 --repeat until-pass:2
}

# Runs a Windows program (a command line, under "$wine"), its output with
# Windows line ends made Unix ones in log $1.  A run that printed nothing at
# all is Wine failing to start the program: it runs once more, and says so.
wine_run() { # log, command...
    wine_run_log=$1
    shift
    wine_run_rc=0
    "$@" </dev/null >"$wine_run_log.raw" 2>&1 || wine_run_rc=$?
    if [ "$wine_run_rc" -ne 0 ] && [ ! -s "$wine_run_log.raw" ]; then
        echo "(no output, exit $wine_run_rc: Wine did not start it; once more)"
        wine_run_rc=0
        "$@" </dev/null >"$wine_run_log.raw" 2>&1 || wine_run_rc=$?
    fi
    tr -d '\r' <"$wine_run_log.raw" >"$wine_run_log"
    rm -f "$wine_run_log.raw"
    return "$wine_run_rc"
}
