# PostgreSQL-backed tests: the `postgres` ctest fixture (db.start / db.stop run
# tests/pg/pg.sh on a private port) and sbc_add_pg_test(). Included by
# tests/pg/CMakeLists.txt and by every test folder that has DB tests, so that
# it works whichever of them CMake reads first.
include_guard(GLOBAL)

if(DEFINED ENV{SBC_TEST_PG_PORT})
  set(_sbc_pg_port_default $ENV{SBC_TEST_PG_PORT})
else()
  set(_sbc_pg_port_default 55432)
endif()
set(SBC_TEST_PG_PORT ${_sbc_pg_port_default} CACHE STRING
  "Port of the private PostgreSQL cluster the DB tests start (tests that stop a server use the next few ports)")

# Cache (internal) rather than plain variables: the include guard means only
# the first including directory runs this, but every directory calls the function.
set(SBC_PG_SH ${CMAKE_CURRENT_LIST_DIR}/pg.sh CACHE INTERNAL "")
execute_process(COMMAND id -u OUTPUT_VARIABLE _sbc_uid OUTPUT_STRIP_TRAILING_WHITESPACE)
execute_process(COMMAND id -un OUTPUT_VARIABLE _sbc_user OUTPUT_STRIP_TRAILING_WHITESPACE)
if(_sbc_uid STREQUAL "0")
  set(_sbc_user postgres)  # pg.sh runs the cluster as postgres when root
endif()
set(SBC_TEST_DSN "host=127.0.0.1 port=${SBC_TEST_PG_PORT} user=${_sbc_user} dbname=postgres connect_timeout=5"
  CACHE INTERNAL "")

add_test(NAME db.start COMMAND ${CMAKE_COMMAND} -E env SBC_TEST_PG_PORT=${SBC_TEST_PG_PORT} ${SBC_PG_SH} start)
set_tests_properties(db.start PROPERTIES FIXTURES_SETUP postgres LABELS pg TIMEOUT 180)
add_test(NAME db.stop COMMAND ${CMAKE_COMMAND} -E env SBC_TEST_PG_PORT=${SBC_TEST_PG_PORT} ${SBC_PG_SH} stop)
set_tests_properties(db.stop PROPERTIES FIXTURES_CLEANUP postgres LABELS pg TIMEOUT 180)

# sbc_add_pg_test(<name> SOURCES ... LIBS ...): a GoogleTest binary whose cases
# (listed as db.<Suite>.<Case>) need the server: each creates a database of its
# own (tests/pg/pg_test_support.h), so ctest -j runs them in parallel.
function(sbc_add_pg_test name)
  cmake_parse_arguments(T "" "" "SOURCES;LIBS" ${ARGN})
  add_executable(${name} ${T_SOURCES} ${CMAKE_CURRENT_FUNCTION_LIST_DIR}/lsan_suppressions.cc)
  target_link_libraries(${name} PRIVATE ${T_LIBS} sbc_db GTest::gtest GTest::gmock GTest::gtest_main)
  target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR})
  target_compile_definitions(${name} PRIVATE
    SBC_FIXTURES_DIR="${SBC_FIXTURES_DIR}"
    SBC_PG_SH="${SBC_PG_SH}"
    SBC_TEST_PG_PORT=${SBC_TEST_PG_PORT}
    SBC_TEST_DSN_DEFAULT="${SBC_TEST_DSN}")
  gtest_discover_tests(${name} TEST_PREFIX "db." DISCOVERY_TIMEOUT 60
    PROPERTIES FIXTURES_REQUIRED postgres LABELS pg TIMEOUT 300
               ENVIRONMENT "SBC_TEST_DSN=${SBC_TEST_DSN}")
endfunction()
