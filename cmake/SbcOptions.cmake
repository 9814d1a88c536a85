# Project-wide build options: warnings, sanitizers, fuzzing, ccache.
option(SBC_WERROR "Treat warnings as errors" OFF)
option(SBC_BUILD_TESTS "Build unit tests, fuzzers and benchmarks" ON)
set(SBC_SANITIZE "" CACHE STRING "Sanitizers to enable, e.g. address,undefined")

find_program(CCACHE_PROGRAM ccache)
if(CCACHE_PROGRAM)
  set(CMAKE_C_COMPILER_LAUNCHER ${CCACHE_PROGRAM})
  set(CMAKE_CXX_COMPILER_LAUNCHER ${CCACHE_PROGRAM})
endif()

add_compile_options(-Wall -Wextra -Wno-unused-parameter)
if(SBC_WERROR)
  add_compile_options(-Werror)
endif()

if(SBC_SANITIZE)
  add_compile_options(-fsanitize=${SBC_SANITIZE} -fno-omit-frame-pointer -fno-sanitize-recover=all)
  add_link_options(-fsanitize=${SBC_SANITIZE})
endif()

# libFuzzer comes with clang only.
if(CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
  set(SBC_CAN_FUZZ ON)
else()
  set(SBC_CAN_FUZZ OFF)
endif()
