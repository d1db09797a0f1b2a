#!/bin/sh
# Installs what the documentation site (the CMake target docs, checked by
# scripts/test-docs.sh) needs on Debian, and only what is missing, so that a
# machine that has everything needs no network: Doxygen for the reference
# and the pages, Graphviz's dot for the diagrams, Python for the header
# filter and the checks (docs/*.py).  The build tools come from
# scripts/deps.sh.
set -eu

need=""
have_cmd() { command -v "$1" >/dev/null 2>&1; }

have_cmd doxygen || need="$need doxygen"
have_cmd dot || need="$need graphviz"
have_cmd python3 || need="$need python3"

if [ -n "$need" ]; then
    echo "deps-docs: installing$need"
    if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
    $SUDO apt-get update -q
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends $need
fi
