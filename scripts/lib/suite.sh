# shellcheck shell=sh
# The accounting of the test scripts, sourced from the repository's root
# (it brings scripts/lib/common.sh): each script counts what passed, failed
# and was skipped, and its last line is "<name>: N passed, F failed, K
# skipped" -- the line scripts/test.sh adds up.

. scripts/lib/common.sh

passed=0 failed=0 skipped=0
pass() { passed=$((passed + 1)); echo "PASS $1"; }
fail() { failed=$((failed + 1)); echo "FAIL $1"; }
skip() { skipped=$((skipped + 1)); echo "SKIP $1"; }

# Prints the last line and exits, non-zero when anything failed.
finish() { # name
    echo "$1: $passed passed, $failed failed, $skipped skipped"
    [ "$failed" -eq 0 ] && exit 0
    exit 1
}

# Configures (quietly) and builds the library in a build dir: RelWithDebInfo,
# warnings as errors.  The compiler is $CC's, or the toolchain file's.
build_tree() { # build dir, target ("all": every one), cmake args...
    build_tree_dir=$1 build_tree_target=$2
    shift 2
    configure . "$build_tree_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
        -DPOLLEROS_WERROR=ON "$@" >/dev/null
    cmake --build "$build_tree_dir" -j "$jobs" --target "$build_tree_target"
}

# Runs ctest in a build dir, its output also in <dir>/ctest.log, and adds
# its tests to the counts.  Fails when not every test passed (none ran is
# not a pass).
ctest_run() { # build dir, ctest args...
    ctest_run_dir=$1
    shift
    # ctest's exit status is lost in the pipe: its verdict is read back.
    (cd "$ctest_run_dir" && ctest -j "$jobs" --output-on-failure "$@") |
        tee "$ctest_run_dir/ctest.log"
    ctest_count "$ctest_run_dir/ctest.log"
}

# Adds the tests of a ctest output to the counts; fails as ctest_run does.
ctest_count() { # log
    ctest_count_ran=$(sed -n 's/.* out of \([0-9]*\)$/\1/p' "$1")
    ctest_count_failed=$(sed -n 's/.*, \([0-9]*\) tests* failed out of.*/\1/p' "$1")
    ctest_count_skipped=$(grep -c '(Skipped)$' "$1" || true)
    ctest_count_ran=${ctest_count_ran:-0} ctest_count_failed=${ctest_count_failed:-0}
    passed=$((passed + ctest_count_ran - ctest_count_failed - ctest_count_skipped))
    # No summary: ctest did not get as far as running the tests.
    [ "$ctest_count_ran" -gt 0 ] || ctest_count_failed=1
    failed=$((failed + ctest_count_failed))
    skipped=$((skipped + ctest_count_skipped))
    [ "$ctest_count_failed" -eq 0 ]
}

# The fault tests ctest_run ran in a build dir, faults/<backend>/<site>, in
# CTest's order: the backends and sites are those CMake registered.  (Read
# from its log: another ctest run, even ctest -N, rewrites LastTest.log.)
fault_tests() { # build dir
    sed -n 's/^ *Start *\([0-9]*\): \(faults\/.*\)$/\1 \2/p' "$1/ctest.log" |
        sort -n -u | cut -d ' ' -f 2
}

# Runs scripts/test-<name>.sh, its output also in build/test-<name>.log, and
# adds the figures of its last line to the counts; exits if it failed.
add_script() { # name
    sh "scripts/test-$1.sh" | tee "build/test-$1.log"
    add_script_last=$(tail -n 1 "build/test-$1.log")
    add_script_n=$(echo "$add_script_last" | sed -n 's/.*: \([0-9]*\) passed, 0 failed.*/\1/p')
    [ -n "$add_script_n" ] || { echo "$1: failed" >&2; exit 1; }
    add_script_s=$(echo "$add_script_last" | sed -n 's/.* \([0-9]*\) skipped.*/\1/p')
    passed=$((passed + add_script_n))
    skipped=$((skipped + ${add_script_s:-0}))
}
