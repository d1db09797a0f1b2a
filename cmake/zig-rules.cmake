# Build rules for zig's llvm-ar and llvm-ranlib (CMAKE_USER_MAKE_RULES_OVERRIDE
# of zig-macos.cmake): CMake's Darwin defaults pass Apple-only ranlib options.
set(CMAKE_C_ARCHIVE_CREATE "<CMAKE_AR> qc <TARGET> <LINK_FLAGS> <OBJECTS>")
set(CMAKE_C_ARCHIVE_APPEND "<CMAKE_AR> q <TARGET> <LINK_FLAGS> <OBJECTS>")
set(CMAKE_C_ARCHIVE_FINISH "<CMAKE_RANLIB> <TARGET>")
