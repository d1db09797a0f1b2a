#!/bin/sh
# Installs what the Windows cross build and its test run need on Debian: the
# mingw-w64 cross compiler and Wine (64-bit), only when missing, so that a
# machine that has them needs no network.
set -eu

need=""
have_cmd() { command -v "$1" >/dev/null 2>&1; }

have_cmd x86_64-w64-mingw32-gcc || need="$need gcc-mingw-w64-x86-64"
[ -x /usr/lib/wine/wine64 ] || need="$need wine64"

if [ -n "$need" ]; then
    echo "deps-windows: installing$need"
    if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
    $SUDO apt-get update -q
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends $need
fi
