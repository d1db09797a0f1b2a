#!/bin/sh
# Every test: the conformance suite on every backend, built twice (gcc with
# -Werror; clang with AddressSanitizer + UndefinedBehaviorSanitizer), the
# thread-safe part of the API (the notifier) under ThreadSanitizer, then an
# install of the library consumed through find_package and pkg-config.
set -eu
cd "$(dirname "$0")/.."
root=$(pwd)
. scripts/lib/suite.sh
sh scripts/deps.sh

suite() { # name, compiler, ctest -R filter ("": every test), cmake args...
    name=$1 cc=$2 filter=$3
    shift 3
    echo "== $name: configure and build"
    CC=$cc build_tree "build/$name" all "$@"
    echo "== $name: conformance suite"
    ctest_run "build/$name" ${filter:+-R "$filter"}
}

suite gcc gcc ""
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    suite clang-asan clang "" -DPOLLEROS_SANITIZE=address,undefined
# Only the cases and examples that run threads (the notifier's, a poller
# handed from thread to thread): the rest has none.
TSAN_OPTIONS=halt_on_error=1 \
    suite clang-tsan clang "notify|other_threads" -DPOLLEROS_SANITIZE=thread

echo "== install: find_package and pkg-config consumers"
prefix="$root/build/install"
rm -rf "$prefix" build/consumer
cmake --install build/gcc --prefix "$prefix" >/dev/null
CC=gcc configure tests/install build/consumer \
    -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
cmake --build build/consumer >/dev/null
LD_LIBRARY_PATH="$prefix/lib" build/consumer/consumer_cmake
build/consumer/consumer_static # polleros::polleros_static: no shared library
PKG_CONFIG_PATH="$prefix/lib/pkgconfig" sh -c \
    'gcc -std=c11 -Wall -Wextra -Wpedantic -Werror tests/install/consumer.c \
        $(pkg-config --cflags --libs polleros) -o build/consumer/consumer_pc'
LD_LIBRARY_PATH="$prefix/lib" build/consumer/consumer_pc
echo "== install consumers passed"
passed=$((passed + 3))

# The fault-injection build (scripts/test-faults.sh), the gcc build's suite
# with io_uring refused (scripts/test-refusals.sh), the reliability checks,
# other operating systems built here with cross toolchains, and the
# documentation site: each script prints a last line
# "<name>: N passed, N failed, N skipped".
for os in faults refusals reliability windows macos docs; do
    [ -f "scripts/test-$os.sh" ] || continue
    add_script "$os"
done
finish all
