# Helpers that keep each module's CMakeLists.txt to a few lines.

function(anchor_events_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow -Wconversion
                                           -Wno-sign-conversion -Wnon-virtual-dtor)
  # GCC 12 reports std::variant/std::optional members as maybe-uninitialized at -O2 (a known
  # false positive of its inliner); -Wuninitialized stays on.
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    target_compile_options(${target} PRIVATE -Wno-maybe-uninitialized)
  endif()
  if(ANCHOR_EVENTS_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
  if(ANCHOR_EVENTS_SANITIZE)
    # vptr is off: cpprestsdk's stream buffers are created inside its uninstrumented shared
    # library, so the check reports its own objects as the wrong type.
    target_compile_options(${target} PRIVATE -fsanitize=address,undefined -fno-sanitize=vptr
                                             -fno-omit-frame-pointer
                                             -fno-sanitize-recover=undefined)
    target_link_options(${target} PRIVATE -fsanitize=address,undefined -fno-sanitize=vptr)
  endif()
  if(ANCHOR_EVENTS_TSAN)
    target_compile_options(${target} PRIVATE -fsanitize=thread -fno-omit-frame-pointer)
    target_link_options(${target} PRIVATE -fsanitize=thread)
  endif()
  if(ANCHOR_EVENTS_FUZZ)
    # The module code carries libFuzzer's coverage hooks; only fuzz targets link its main().
    # vptr is off for the same reason as above.
    target_compile_options(${target} PRIVATE -fsanitize=fuzzer-no-link,address,undefined
                                             -fno-sanitize=vptr -fno-omit-frame-pointer
                                             -fno-sanitize-recover=undefined
                                             -fsanitize-ignorelist=${PROJECT_SOURCE_DIR}/fuzz/ubsan_ignorelist.txt)
    target_link_options(${target} PRIVATE -fsanitize=address,undefined -fno-sanitize=vptr)
  endif()
endfunction()

# anchor_events_module(NAME SOURCES ... DEPS ...): a static library exported as
# anchor_events::NAME, with src/ on its include path.
function(anchor_events_module name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_library(anchor_events_${name} STATIC ${ARG_SOURCES})
  add_library(anchor_events::${name} ALIAS anchor_events_${name})
  target_include_directories(anchor_events_${name} PUBLIC ${PROJECT_SOURCE_DIR}/src)
  target_link_libraries(anchor_events_${name} PUBLIC ${ARG_DEPS})
  anchor_events_warnings(anchor_events_${name})
endfunction()

# anchor_events_test(NAME SOURCES ... DEPS ... [LABELS ...]): a GoogleTest binary registered
# with ctest; the shared test data folder is passed in the environment.
function(anchor_events_test name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS;LABELS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} GTest::gtest_main GTest::gmock)
  target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR}/tests)
  anchor_events_warnings(${name})
  if(ANCHOR_EVENTS_TSAN)
    # librdkafka's C11 threads made visible to ThreadSanitizer (see the file); exported so the
    # shared library binds to these definitions rather than glibc's.
    target_sources(${name} PRIVATE ${PROJECT_SOURCE_DIR}/tests/support/tsan_c11_threads.cc)
    target_link_options(${name} PRIVATE -rdynamic)
  endif()
  add_test(NAME ${name} COMMAND ${name})
  set(labels unit)
  if(ARG_LABELS)
    set(labels ${ARG_LABELS})
  endif()
  set_tests_properties(${name} PROPERTIES LABELS "${labels}" ENVIRONMENT
    "ANCHOR_EVENTS_TESTDATA=${ANCHOR_EVENTS_TESTDATA};ANCHOR_EVENTS_BINARY=$<TARGET_FILE:anchor-events>")
endfunction()

# anchor_events_fuzzer(NAME SOURCES ... DEPS ...): a libFuzzer target NAME_fuzzer in the fuzz
# build (ANCHOR_EVENTS_FUZZ). In a normal build with tests, the same source with a replay main()
# becomes NAME_fuzz_replay, a unit test that runs every file of fuzz/corpus/NAME and
# fuzz/regressions/NAME once, so crashes found by fuzzing stay fixed in every build.
function(anchor_events_fuzzer name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  if(ANCHOR_EVENTS_FUZZ)
    add_executable(${name}_fuzzer ${ARG_SOURCES})
    target_link_libraries(${name}_fuzzer PRIVATE ${ARG_DEPS})
    anchor_events_warnings(${name}_fuzzer)
    target_link_options(${name}_fuzzer PRIVATE -fsanitize=fuzzer)
    add_dependencies(fuzzers ${name}_fuzzer)
  elseif(ANCHOR_EVENTS_TESTS)
    add_executable(${name}_fuzz_replay ${ARG_SOURCES} ${PROJECT_SOURCE_DIR}/fuzz/replay_main.cc)
    target_link_libraries(${name}_fuzz_replay PRIVATE ${ARG_DEPS})
    anchor_events_warnings(${name}_fuzz_replay)
    add_test(NAME fuzz_replay_${name}
      COMMAND ${name}_fuzz_replay ${PROJECT_SOURCE_DIR}/fuzz/corpus/${name}
              ${PROJECT_SOURCE_DIR}/fuzz/regressions/${name})
    set_tests_properties(fuzz_replay_${name} PROPERTIES LABELS unit)
  endif()
endfunction()
