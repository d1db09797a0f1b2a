#!/bin/sh
# Fault injection: the library built with its kernel-call seam
# (-DPOLLEROS_FAULTS=ON, src/fault.h) by clang with AddressSanitizer +
# UndefinedBehaviorSanitizer in build/faults, and tests/t_faults.c run on
# every backend: each kernel call site (create, ctl_add, ctl_mod, ctl_del,
# wait, close) failed with each of EINTR, ENOMEM, EBADF, ENOENT, EEXIST,
# EPERM, EINVAL, ENOSPC, and the documented outcome checked (no leak, no
# lost channel).  One CTest test per site, faults/<backend>/<site>; a site
# the backend does not have is skipped.  Then the matrix: site x errno ->
# outcome.  Allocation failure at every point is the conformance suite's
# (alloc_failure_every_k, under ASan in scripts/test.sh).
#
# Last line: "faults: N passed, F failed, K skipped".
set -eu
cd "$(dirname "$0")/.."
gen=""
command -v ninja >/dev/null 2>&1 && gen="-G Ninja"
jobs=$(nproc 2>/dev/null || echo 2)
dir=build/faults

echo "== faults: configure and build (clang, ASan+UBSan, POLLEROS_FAULTS) in $dir"
CC=clang cmake -S . -B "$dir" $gen -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DPOLLEROS_FAULTS=ON -DPOLLEROS_WERROR=ON \
    -DPOLLEROS_SANITIZE=address,undefined >/dev/null
cmake --build "$dir" -j "$jobs" --target po_faults

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
echo "== faults: ctest"
set +e
(cd "$dir" && ctest -R '^faults/' -j "$jobs" --output-on-failure) |
    tee "$dir/ctest.log"
set -e
ran=$(sed -n 's/.* out of \([0-9]*\)$/\1/p' "$dir/ctest.log")
failed=$(sed -n 's/.*, \([0-9]*\) tests* failed out of.*/\1/p' "$dir/ctest.log")
skipped=$(grep -c '(Skipped)$' "$dir/ctest.log" || true)
ran=${ran:-0} failed=${failed:-1}
[ "$ran" -gt 0 ] || failed=1

echo "== faults: matrix (site x errno -> outcome)"
backends=$(sed -n 's/^POLLEROS_BACKENDS:INTERNAL=//p' "$dir/CMakeCache.txt" |
    tr ';' ' ')
for b in $backends; do
    for site in $(sed -n 's/^PO__FAULT_SITE(\([a-z_]*\),.*/\1/p' src/fault_sites.h); do
        POLLEROS_BACKEND=$b "$dir/tests/po_faults" "$site" 2>&1 |
            grep -E '^(faults/|FAIL)' || true
    done
done
echo "faults: $((ran - failed - skipped)) passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
