# shellcheck shell=sh disable=SC2034 # what it sets, the sourcing scripts use
# What every script of scripts/ shares, sourced (`. scripts/lib/common.sh`,
# or from beside the script): the build's parallelism, CMake's configure
# step, the backends this system builds, and installing missing Debian
# packages.  It defines and sets only; it runs nothing.
#
# sh has no local variables: the functions' own carry their name's prefix,
# so that they cannot overwrite a caller's.

jobs=$(nproc 2>/dev/null || echo 2)

# Backends this system builds (the library's CMake says which).  The kernel
# may still refuse uring (seccomp, the io_uring_disabled sysctl): the test
# programs then exit 77, skipped.
backends="poll"
[ "$(uname -s)" = Linux ] && backends="epoll poll uring"

have_cmd() { command -v "$1" >/dev/null 2>&1; }
have_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'ok installed'; }

# Installs Debian packages (as root, or through sudo); fails if apt does.
apt_install() { # package...
    if [ "$(id -u)" -ne 0 ]; then apt_install_sudo=sudo; else apt_install_sudo=; fi
    $apt_install_sudo apt-get update -q &&
        DEBIAN_FRONTEND=noninteractive $apt_install_sudo apt-get install -y -q \
            --no-install-recommends "$@"
}

# CMake's configure step: source dir, build dir, cmake args...  Ninja when it
# is installed; a build dir that exists keeps the generator it was made with
# (CMake refuses another).
configure() {
    if [ ! -f "$2/CMakeCache.txt" ] && have_cmd ninja; then
        set -- "$@" -G Ninja
    fi
    configure_src=$1 configure_dir=$2
    shift 2
    cmake -S "$configure_src" -B "$configure_dir" "$@"
}

# Configures quietly, then builds every target: source dir, build dir, cmake
# args...
cmake_build() {
    configure "$@" >/dev/null
    cmake --build "$2" -j "$jobs"
}
