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
  add_test(NAME ${name} COMMAND ${name})
  set(labels unit)
  if(ARG_LABELS)
    set(labels ${ARG_LABELS})
  endif()
  set_tests_properties(${name} PROPERTIES LABELS "${labels}" ENVIRONMENT
    "ANCHOR_EVENTS_TESTDATA=${ANCHOR_EVENTS_TESTDATA};ANCHOR_EVENTS_BINARY=$<TARGET_FILE:anchor-events>")
endfunction()
