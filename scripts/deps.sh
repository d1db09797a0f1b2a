#!/bin/sh
# Installs what building and testing polleros needs on Debian, and only what
# is missing, so a machine that has everything needs no network.
set -eu
# shellcheck source=scripts/lib/common.sh
. "$(dirname "$0")/lib/common.sh"

need=""
have_cmd cmake || need="$need cmake"
have_cmd ninja || need="$need ninja-build"
have_cmd gcc || need="$need gcc"
have_cmd clang || need="$need clang"
have_cmd pkg-config || need="$need pkgconf"
have_cmd clang-format || need="$need clang-format"
# clang's sanitizer runtimes (AddressSanitizer, UBSan, libFuzzer).
have_pkg libclang-rt-14-dev || have_pkg libclang-rt-dev || need="$need libclang-rt-14-dev"
have_pkg libc6-dev || need="$need libc6-dev"

if [ -n "$need" ]; then
    echo "deps: installing$need"
    # shellcheck disable=SC2086 # one word per package
    apt_install $need
fi
