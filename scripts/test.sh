#!/bin/sh
# Every test: the conformance suite on every backend, built twice (gcc with
# -Werror; clang with AddressSanitizer + UndefinedBehaviorSanitizer), the
# thread-safe part of the API (the notifier) under ThreadSanitizer, then an
# install of the library consumed through find_package and pkg-config.
set -eu
cd "$(dirname "$0")/.."
root=$(pwd)
sh scripts/deps.sh

jobs=$(nproc 2>/dev/null || echo 2)
gen=""
command -v ninja >/dev/null 2>&1 && gen="-G Ninja"

suite() { # name, compiler, extra cmake args...; $only: a ctest -R filter
    name=$1 cc=$2
    shift 2
    echo "== $name: configure and build"
    CC=$cc cmake -S . -B "build/$name" $gen -DCMAKE_BUILD_TYPE=RelWithDebInfo \
        -DPOLLEROS_WERROR=ON "$@" >/dev/null
    cmake --build "build/$name" -j "$jobs"
    echo "== $name: conformance suite"
    (cd "build/$name" && ctest -j "$jobs" --output-on-failure ${only:+-R "$only"}) |
        tee "build/$name/ctest.log"
    # ctest's pipeline status is lost in the pipe: read its verdict back.
    grep -q '^100% tests passed' "build/$name/ctest.log"
    ran=$(sed -n 's/.* out of \([0-9]*\)$/\1/p' "build/$name/ctest.log")
    skipped=$(grep -c '(Skipped)$' "build/$name/ctest.log" || true)
    passed=$((passed + ran - skipped))
    skips=$((skips + skipped))
}
passed=0
skips=0
only=""

suite gcc gcc
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    suite clang-asan clang -DPOLLEROS_SANITIZE=address,undefined
# Only the cases and examples that run threads: the rest has none.
only=notify
TSAN_OPTIONS=halt_on_error=1 suite clang-tsan clang -DPOLLEROS_SANITIZE=thread
only=""

echo "== install: find_package and pkg-config consumers"
prefix="$root/build/install"
rm -rf "$prefix" build/consumer
cmake --install build/gcc --prefix "$prefix" >/dev/null
CC=gcc cmake -S tests/install -B build/consumer $gen \
    -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
cmake --build build/consumer >/dev/null
LD_LIBRARY_PATH="$prefix/lib" build/consumer/consumer_cmake
PKG_CONFIG_PATH="$prefix/lib/pkgconfig" sh -c \
    'gcc -std=c11 -Wall -Wextra -Wpedantic -Werror tests/install/consumer.c \
        $(pkg-config --cflags --libs polleros) -o build/consumer/consumer_pc'
LD_LIBRARY_PATH="$prefix/lib" build/consumer/consumer_pc
echo "== install consumers passed"
passed=$((passed + 2))

# The fault-injection build (scripts/test-faults.sh), the reliability
# checks, other operating systems built here with cross toolchains, and the
# documentation site: each script prints a last line
# "<name>: N passed, N failed, N skipped".
for os in faults reliability windows macos docs; do
    [ -f "scripts/test-$os.sh" ] || continue
    sh "scripts/test-$os.sh" | tee "build/test-$os.log"
    last=$(tail -n 1 "build/test-$os.log")
    n=$(echo "$last" | sed -n 's/.*: \([0-9]*\) passed, 0 failed.*/\1/p')
    [ -n "$n" ] || { echo "$os: failed" >&2; exit 1; }
    passed=$((passed + n))
    s=$(echo "$last" | sed -n 's/.* \([0-9]*\) skipped.*/\1/p')
    skips=$((skips + ${s:-0}))
done
echo "all: $passed passed, 0 failed, $skips skipped"
