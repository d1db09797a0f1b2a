# Cross-compiling for 64-bit Windows with mingw-w64 (Debian:
# gcc-mingw-w64-x86-64).  Test programs run under Wine (Debian: wine64)
# through CMAKE_CROSSCOMPILING_EMULATOR, so ctest works as on a native
# build; pass -DCMAKE_CROSSCOMPILING_EMULATOR=... to use another runner.
set(CMAKE_SYSTEM_NAME Windows)
set(CMAKE_SYSTEM_PROCESSOR x86_64)

set(POLLEROS_MINGW_PREFIX x86_64-w64-mingw32)
set(CMAKE_C_COMPILER ${POLLEROS_MINGW_PREFIX}-gcc)
set(CMAKE_RC_COMPILER ${POLLEROS_MINGW_PREFIX}-windres)

# The mingw-w64 sysroot, after any root given on the command line (where a
# Windows build of a dependency, e.g. upstream wepoll, may be installed).
list(APPEND CMAKE_FIND_ROOT_PATH /usr/${POLLEROS_MINGW_PREFIX})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

if(NOT CMAKE_CROSSCOMPILING_EMULATOR)
  find_program(POLLEROS_WINE64 NAMES wine64 PATHS /usr/lib/wine
    NO_DEFAULT_PATH)
  find_program(POLLEROS_WINE64 NAMES wine64)
  if(POLLEROS_WINE64)
    set(CMAKE_CROSSCOMPILING_EMULATOR ${POLLEROS_WINE64})
  endif()
endif()
