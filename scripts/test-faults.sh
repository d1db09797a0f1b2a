#!/bin/sh
# Fault injection: the library built with its kernel-call seam
# (-DPOLLEROS_FAULTS=ON, src/fault.h) by clang with AddressSanitizer +
# UndefinedBehaviorSanitizer in build/faults, and tests/t_faults.c run on
# every backend: each kernel call site (src/fault_sites.h) failed with each
# of EINTR, ENOMEM, EBADF, ENOENT, EEXIST, EPERM, EINVAL, ENOSPC, and the
# documented outcome checked (no leak, no lost channel).  One CTest test per site, faults/<backend>/<site>; a site
# the backend does not have is skipped.  Then the matrix: site x errno ->
# outcome.  Allocation failure at every point is the conformance suite's
# (alloc_failure_every_k, under ASan in scripts/test.sh).
#
# Last line: "faults: N passed, F failed, K skipped".
set -eu
cd "$(dirname "$0")/.."
. scripts/lib/suite.sh
dir=build/faults

echo "== faults: configure and build (clang, ASan+UBSan, POLLEROS_FAULTS) in $dir"
CC=clang build_tree "$dir" po_faults -DPOLLEROS_FAULTS=ON \
    -DPOLLEROS_SANITIZE=address,undefined

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
echo "== faults: ctest"
ctest_run "$dir" -R '^faults/' || true

echo "== faults: matrix (site x errno -> outcome)"
for t in $(fault_tests "$dir"); do
    b=${t#faults/}
    POLLEROS_BACKEND=${b%/*} "$dir/tests/po_faults" "${t##*/}" 2>&1 |
        grep -E '^(faults/|FAIL)' || true
done
finish faults
