# Precompiled headers (CHROMA_MIGRATE_PCH, default ON). Almost every translation unit includes
# nlohmann/json (common/store/record.hpp), Eigen (common/store/distance.hpp via vector_store.hpp)
# and spdlog; the tests add gtest. Parsing them costs about a second of CPU per file (GCC 12);
# with a precompiled header it is paid once per build. Most of a file's compile time is still the
# instantiation and code generation of the templates it uses, which a precompiled header does not
# save: a clean build gets about 13% (Release) to 19% (sanitizer pass, with -g1) cheaper.
#
# Two small targets own the precompiled headers, every other compiled target reuses one of them
# (REUSE_FROM; cm_apply_precompiled_headers() below, called at the end of the top-level
# CMakeLists.txt, so a new target gets it without doing anything):
#   cm_pch       third-party and standard headers, for the libraries and binaries;
#   cm_test_pch  the same plus gtest, for everything under tests/.
# Only stable third-party and standard headers go in here, never project headers (they change
# often, and every change would rebuild everything). Source files keep their own includes, so the
# tree still builds with -DCHROMA_MIGRATE_PCH=OFF (check that before relying on an include that
# only the precompiled header provides).
#
# Reuse needs the same compiler options; GCC also needs every macro that the headers below use to
# be defined the same way (other -D macros, such as the tests' CHROMA_*_BIN paths, cm_chroma's
# SIMDJSON_THREADS_ENABLED or CM_SOURCE_DIR, do not matter: they do not appear in these headers).
# So the owners link the same third-party targets as their users (their interface definitions:
# SPDLOG_*, FMT_SHARED, GTEST_HAS_PTHREAD) and define CHROMA_MIGRATE_VERSION like cm_base. CMake
# compiles with -Winvalid-pch: a precompiled header GCC cannot use is a warning (an error with
# CHROMA_MIGRATE_WERROR), never a silent slowdown.
#
# GCC before 13 does not carry `#pragma GCC diagnostic` over into a precompiled header, so
# libstdc++'s own suppression of its false -Wstringop-overflow (bits/char_traits.h, reached from
# std::string's operator+ inlined at -O2/-O3) is lost in the files that use one. The files where
# that shows (checked with GCC 12.2 at -O3) compile without the precompiled header in optimised
# GCC < 13 builds: CM_PCH_SKIP_GCC12_OPTIMISED below. A new warning of that kind in
# bits/char_traits.h ("inlined from ... <file>") means: add <file> there. -O0 builds (Debug, the
# sanitizer pass) do not see it and keep the precompiled header everywhere.
#
# ccache: compiles that use a precompiled header are only cached with
# CCACHE_SLOPPINESS=pch_defines,time_macros (see ccache's manual); or configure with
# -DCHROMA_MIGRATE_PCH=OFF.
option(CHROMA_MIGRATE_PCH "Precompile the heavy third-party and standard headers" ON)

# Each included by about ten files or more (Eigen/Core: by nearly all, through vector_store.hpp).
set(CM_PCH_HEADERS
  <algorithm>
  <array>
  <atomic>
  <chrono>
  <cmath>
  <cstddef>
  <cstdint>
  <cstring>
  <expected>
  <filesystem>
  <fstream>
  <functional>
  <limits>
  <map>
  <memory>
  <mutex>
  <optional>
  <random>
  <set>
  <span>
  <sstream>
  <string>
  <string_view>
  <thread>
  <unordered_map>
  <unordered_set>
  <utility>
  <variant>
  <vector>
  <nlohmann/json.hpp>
  <fmt/format.h>
  <spdlog/spdlog.h>
  <Eigen/Core>
)

set(CM_PCH_SKIP_GCC12_OPTIMISED
  common/base/atomic_file.cpp
  tests/integration/rollback_fixture.cpp
  tests/integration/validate_fidelity_test.cpp
  tests/unit/chroma_http_store_errors_test.cpp
  tests/unit/contract_check_test.cpp
  tests/unit/semantic_metrics_test.cpp
  tests/unit/snapshot_store_test.cpp
)
set(cm_pch_skip "")
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13
   AND NOT CMAKE_BUILD_TYPE STREQUAL "Debug")
  list(TRANSFORM CM_PCH_SKIP_GCC12_OPTIMISED PREPEND ${PROJECT_SOURCE_DIR}/ OUTPUT_VARIABLE cm_pch_skip)
endif()

if(CHROMA_MIGRATE_PCH AND CMAKE_CXX_COMPILER_LAUNCHER MATCHES "ccache")
  message(STATUS "Precompiled headers: ccache caches the files that use them only with "
                 "`ccache -o sloppiness=pch_defines,time_macros` (or -DCHROMA_MIGRATE_PCH=OFF)")
endif()

if(CHROMA_MIGRATE_PCH)
  # Empty translation unit: a library needs one source file to own a precompiled header.
  set(cm_pch_source ${CMAKE_BINARY_DIR}/cm_pch.cpp)
  file(CONFIGURE OUTPUT ${cm_pch_source}
       CONTENT "// Generated (cmake/precompiled_headers.cmake): owns the precompiled header.\n")

  add_library(cm_pch STATIC ${cm_pch_source})
  target_link_libraries(cm_pch PRIVATE nlohmann_json::nlohmann_json spdlog::spdlog Eigen3::Eigen
                                       Threads::Threads)
  target_compile_definitions(cm_pch PRIVATE CHROMA_MIGRATE_VERSION="${PROJECT_VERSION}")
  target_precompile_headers(cm_pch PRIVATE ${CM_PCH_HEADERS})

  if(CHROMA_MIGRATE_TESTS)
    add_library(cm_test_pch STATIC ${cm_pch_source})
    target_link_libraries(cm_test_pch PRIVATE nlohmann_json::nlohmann_json spdlog::spdlog
                                              Eigen3::Eigen Threads::Threads GTest::gtest)
    target_compile_definitions(cm_test_pch PRIVATE CHROMA_MIGRATE_VERSION="${PROJECT_VERSION}")
    # The optimisation of everything under tests/ (tests/CMakeLists.txt).
    target_compile_options(cm_test_pch PRIVATE ${CHROMA_MIGRATE_TEST_OPTIMIZATION})
    target_precompile_headers(cm_test_pch PRIVATE ${CM_PCH_HEADERS} <gtest/gtest.h>)
  endif()
endif()

# Every target defined in `dir` and its sub-directories.
function(cm_collect_targets dir out)
  get_property(targets DIRECTORY ${dir} PROPERTY BUILDSYSTEM_TARGETS)
  get_property(subdirs DIRECTORY ${dir} PROPERTY SUBDIRECTORIES)
  foreach(sub IN LISTS subdirs)
    cm_collect_targets(${sub} sub_targets)
    list(APPEND targets ${sub_targets})
  endforeach()
  set(${out} ${targets} PARENT_SCOPE)
endfunction()

# Gives every C++ library and executable of the project the precompiled header of its kind: the
# test one for targets defined under tests/, the library one for the rest. A target can opt out
# with set_target_properties(<target> PROPERTIES CM_PCH OFF) (e.g. one built with different
# compiler options, which could not reuse either).
function(cm_apply_precompiled_headers)
  if(NOT CHROMA_MIGRATE_PCH)
    return()
  endif()
  cm_collect_targets(${PROJECT_SOURCE_DIR} targets)
  foreach(target IN LISTS targets)
    if(target STREQUAL "cm_pch" OR target STREQUAL "cm_test_pch")
      continue()
    endif()
    get_target_property(type ${target} TYPE)
    if(NOT type MATCHES "^(STATIC_LIBRARY|OBJECT_LIBRARY|EXECUTABLE)$")
      continue()
    endif()
    get_target_property(opt_in ${target} CM_PCH)
    if(NOT opt_in STREQUAL "opt_in-NOTFOUND" AND NOT opt_in)
      continue()
    endif()
    get_target_property(dir ${target} SOURCE_DIR)
    cmake_path(IS_PREFIX PROJECT_SOURCE_DIR "${dir}" NORMALIZE in_project)
    if(NOT in_project)
      continue()
    endif()
    file(RELATIVE_PATH rel ${PROJECT_SOURCE_DIR} ${dir})
    if(rel MATCHES "^tests(/|$)")
      if(NOT TARGET cm_test_pch)
        continue()
      endif()
      target_precompile_headers(${target} REUSE_FROM cm_test_pch)
    else()
      target_precompile_headers(${target} REUSE_FROM cm_pch)
    endif()
    if(cm_pch_skip)
      get_target_property(sources ${target} SOURCES)
      foreach(src IN LISTS sources)
        cmake_path(ABSOLUTE_PATH src BASE_DIRECTORY ${dir} NORMALIZE)
        if(src IN_LIST cm_pch_skip)
          set_source_files_properties(${src} TARGET_DIRECTORY ${target}
                                      PROPERTIES SKIP_PRECOMPILE_HEADERS ON)
        endif()
      endforeach()
    endif()
  endforeach()
endfunction()
