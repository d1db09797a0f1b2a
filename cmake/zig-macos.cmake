# Shared part of the zig-<arch>-macos.cmake toolchain files: cross-compiles
# for macOS with `zig cc`, which ships the macOS SDK headers and libSystem
# stubs, so the library, the tests and the examples link here as they would
# on a Mac (nothing built this way can run here).
#
# scripts/deps-macos.sh installs zig into build/tools/zig and writes the
# zig-cc, zig-ar and zig-ranlib wrappers this file uses; POLLEROS_ZIG_BIN
# (cache or environment) points elsewhere.
set(CMAKE_SYSTEM_NAME Darwin)
set(CMAKE_SYSTEM_PROCESSOR ${POLLEROS_ZIG_ARCH})

if(NOT POLLEROS_ZIG_BIN)
  if(DEFINED ENV{POLLEROS_ZIG_BIN})
    set(POLLEROS_ZIG_BIN "$ENV{POLLEROS_ZIG_BIN}")
  else()
    get_filename_component(POLLEROS_ZIG_BIN
      "${CMAKE_CURRENT_LIST_DIR}/../build/tools/zig/bin" ABSOLUTE)
  endif()
endif()
# try_compile projects re-read this file: pass the choice on.
set(CMAKE_TRY_COMPILE_PLATFORM_VARIABLES POLLEROS_ZIG_BIN POLLEROS_ZIG_ARCH)
if(NOT EXISTS "${POLLEROS_ZIG_BIN}/zig-cc")
  message(FATAL_ERROR
    "no ${POLLEROS_ZIG_BIN}/zig-cc: run scripts/deps-macos.sh first")
endif()

set(CMAKE_C_COMPILER "${POLLEROS_ZIG_BIN}/zig-cc")
set(CMAKE_C_COMPILER_TARGET ${POLLEROS_ZIG_ARCH}-macos)
set(CMAKE_AR "${POLLEROS_ZIG_BIN}/zig-ar" CACHE FILEPATH "" FORCE)
set(CMAKE_RANLIB "${POLLEROS_ZIG_BIN}/zig-ranlib" CACHE FILEPATH "" FORCE)
# CMake's Darwin rules call Apple's ranlib with options llvm's lacks.
set(CMAKE_USER_MAKE_RULES_OVERRIDE "${CMAKE_CURRENT_LIST_DIR}/zig-rules.cmake")

# Headers and libraries come from zig's bundled SDK, never from this host.
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
