#!/bin/sh
# Installs what the documentation site (the CMake target docs, checked by
# scripts/test-docs.sh) needs on Debian, and only what is missing, so that a
# machine that has everything needs no network: Doxygen for the reference
# and the pages, Graphviz's dot for the diagrams, Python for the header
# filter and the checks (docs/*.py).  The build tools come from
# scripts/deps.sh.
set -eu
# shellcheck source=scripts/lib/common.sh
. "$(dirname "$0")/lib/common.sh"

need=""
have_cmd doxygen || need="$need doxygen"
have_cmd dot || need="$need graphviz"
have_cmd python3 || need="$need python3"

if [ -n "$need" ]; then
    echo "deps-docs: installing$need"
    # shellcheck disable=SC2086 # one word per package
    apt_install $need
fi
