# Cross-build for macOS on Apple silicon with zig cc: see zig-macos.cmake.
set(POLLEROS_ZIG_ARCH aarch64)
include("${CMAKE_CURRENT_LIST_DIR}/zig-macos.cmake")
