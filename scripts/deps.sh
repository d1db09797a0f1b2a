#!/bin/sh
# Installs what building and testing polleros needs on Debian, and only what
# is missing, so a machine that has everything needs no network.
set -eu

need=""
have_cmd() { command -v "$1" >/dev/null 2>&1; }
have_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'ok installed'; }

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
    if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
    $SUDO apt-get update -q
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends $need
fi
