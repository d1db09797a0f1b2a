#!/bin/sh
# Installs what the Windows cross build and its test run need on Debian: the
# mingw-w64 cross compiler and Wine (64-bit), only when missing, so that a
# machine that has them needs no network.
set -eu
# shellcheck source=scripts/lib/common.sh
. "$(dirname "$0")/lib/common.sh"

need=""
have_cmd x86_64-w64-mingw32-gcc || need="$need gcc-mingw-w64-x86-64"
[ -x /usr/lib/wine/wine64 ] || need="$need wine64"

if [ -n "$need" ]; then
    echo "deps-windows: installing$need"
    # shellcheck disable=SC2086 # one word per package
    apt_install $need
fi
