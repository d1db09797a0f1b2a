# Cross-build for macOS on Intel with zig cc: see zig-macos.cmake.
set(POLLEROS_ZIG_ARCH x86_64)
include("${CMAKE_CURRENT_LIST_DIR}/zig-macos.cmake")
