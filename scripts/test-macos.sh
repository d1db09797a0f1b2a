#!/bin/sh
# macOS, built here: cross-compiles and links polleros for x86_64 and arm64
# macOS with zig cc (scripts/deps-macos.sh installs it into the project),
# with -Werror and no warning allowed from the linker either.  Per arch the
# targets are the static and the shared library, the conformance suite and
# the examples, plus a compile of the kqueue backend's path for systems
# without EV_RECEIPT.  Then the kqueue backend is compiled against FreeBSD's
# headers, if a toolchain here has them.
#
# Nothing built here can run: no kqueue code runs on Linux.  The workflows
# in .github/workflows run the suite on real macOS and FreeBSD machines, and
# docs/kqueue.md lists what the kqueue backend relies on and which
# conformance case proves each point there.
#
# Last line: "macos: N passed, F failed, K skipped", N counting what
# compiled and linked (scripts/test.sh adds it to its total).
set -eu
cd "$(dirname "$0")/.."
root=$(pwd)
. scripts/lib/suite.sh

case "$(uname -s)-$(uname -m)" in
Linux-x86_64) ;;
*) # the npm package has a zig for this host only
    echo "macos: 0 passed, 0 failed, 1 skipped (zig cc needs a Linux x86_64 host)"
    exit 0
    ;;
esac
bin=$(sh scripts/deps-macos.sh | tail -n 1)
if [ ! -x "$bin/zig-cc" ]; then
    echo "macos: 0 passed, 1 failed, 0 skipped (no zig toolchain)"
    exit 1
fi
targets="polleros_static polleros_shared po_conformance polleros-echo-server polleros-echo-client
    polleros-reqresp-server polleros-connect-timeout polleros-worker-notify
    polleros-proxy polleros-proxy-check"
# Targets whose sources do not build for macOS yet (see docs/kqueue.md,
# "What the cross-build here checks").  They are still tried: a failure is
# counted as skipped, a success as passed.  Empty once they build, so that
# a failure fails again.
pending=""

log="$root/build/macos-last.log"
mkdir -p build

is_pending() {
    case " $pending " in *" $1 "*) return 0 ;; esac
    return 1
}

# Runs a build step into $log; succeeds only with no error and no warning.
clean_run() { # command...
    if "$@" >"$log" 2>&1 && ! grep -qi 'warning' "$log"; then
        return 0
    fi
    return 1
}

for arch in x86_64 aarch64; do
    dir="build/macos-$arch"
    echo "== macos-$arch: configure ($dir)"
    if ! clean_run configure . "$dir" \
        -DCMAKE_TOOLCHAIN_FILE="$root/cmake/zig-$arch-macos.cmake" \
        -DPOLLEROS_ZIG_BIN="$bin" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
        -DPOLLEROS_WERROR=ON; then
        cat "$log"
        echo "FAIL macos-$arch: configure"
        # every target of the arch fails with it
        for t in $targets; do failed=$((failed + 1)); done
        continue
    fi
    grep -q 'polleros backends: kqueue;poll' "$log" || {
        cat "$log"
        fail "macos-$arch: kqueue is not the default backend"
    }
    for t in $targets; do
        if clean_run cmake --build "$dir" --target "$t"; then
            pass "macos-$arch $t"
            is_pending "$t" &&
                echo "     ($t builds now: drop it from 'pending' in $0)"
        elif is_pending "$t"; then
            skip "macos-$arch $t (pending: does not build for macOS yet)"
        else
            cat "$log"
            fail "macos-$arch $t"
        fi
    done
    # The path for kernels without EV_RECEIPT, compiled (not linked) so that
    # it cannot rot unseen.
    if clean_run "$bin/zig-cc" --target="$arch-macos" -std=c11 \
        -Wall -Wextra -Wpedantic -Werror -DPOLLEROS_KQUEUE_NO_RECEIPT \
        -Iinclude -Isrc -Icommon -c src/backend_kqueue.c -o "$dir/no-receipt.o"; then
        pass "macos-$arch backend_kqueue.c without EV_RECEIPT"
    else
        cat "$log"
        fail "macos-$arch backend_kqueue.c without EV_RECEIPT"
    fi
done

# FreeBSD: syntax and types of the kqueue backend, where headers exist.
# (zig 0.11's -fsyntax-only is broken: objects are compiled and dropped.)
obj=build/freebsd-kqueue.o
if printf '#include <sys/event.h>\n' | "$bin/zig-cc" --target=x86_64-freebsd \
    -x c -c - -o "$obj" >/dev/null 2>&1; then
    if clean_run "$bin/zig-cc" --target=x86_64-freebsd -std=c11 \
        -Wall -Wextra -Wpedantic -Werror -Iinclude -Isrc -Icommon -c \
        src/backend_kqueue.c -o "$obj"; then
        pass "freebsd backend_kqueue.c (syntax and types)"
    else
        cat "$log"
        fail "freebsd backend_kqueue.c"
    fi
else
    skip "freebsd backend_kqueue.c: no toolchain here has FreeBSD headers (zig 0.11 ships none, Debian packages none); the FreeBSD job of .github/workflows/ci.yml builds and runs it"
fi

finish macos
