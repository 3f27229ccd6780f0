# SPDX-License-Identifier: MIT
# Installs lifetime into a fresh prefix and builds and runs tests/install against it; then builds
# the same consumer with add_subdirectory() of the source tree. Run by ctest as
#   cmake -DLIFETIME_SOURCE_DIR=... -DWORK_DIR=... -DCXX_COMPILER=... -DGENERATOR=...
#         -DWITH_BOOST=ON|OFF -P tests/install/run.cmake
cmake_minimum_required(VERSION 3.25)

foreach(var LIFETIME_SOURCE_DIR WORK_DIR CXX_COMPILER GENERATOR WITH_BOOST)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "run.cmake: -D${var}=... is required")
  endif()
endforeach()

function(run)
  string(JOIN " " shown ${ARGN})
  message(STATUS "$ ${shown}")
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "failed with ${rc}: ${shown}\n${out}")
  endif()
  set(run_output "${out}" PARENT_SCOPE)
endfunction()

set(prefix ${WORK_DIR}/prefix)
file(REMOVE_RECURSE ${WORK_DIR})
# Plain builds whatever the enclosing build's flags (sanitizers are for the tests themselves).
set(common -G ${GENERATOR} -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_COMPILER=${CXX_COMPILER}
    -DCMAKE_CXX_FLAGS= -DCMAKE_EXE_LINKER_FLAGS=)

# 1. Build and install lifetime. The package is made from lifetime's own part of the tree (the
#    top-level CMake files, cmake/ and lifetime/), so that the test needs neither host/ nor demo/
#    built; only the library needs building to be installed.
file(MAKE_DIRECTORY ${WORK_DIR}/source)
file(COPY ${LIFETIME_SOURCE_DIR}/CMakeLists.txt ${LIFETIME_SOURCE_DIR}/cmake
          ${LIFETIME_SOURCE_DIR}/lifetime DESTINATION ${WORK_DIR}/source)
run(${CMAKE_COMMAND} -S ${WORK_DIR}/source -B ${WORK_DIR}/lifetime-build ${common}
    -DLIFETIME_BUILD_TESTS=OFF -DLIFETIME_BUILD_BENCH=OFF -DLIFETIME_WITH_BOOST=${WITH_BOOST}
    -DCMAKE_INSTALL_PREFIX=${prefix})
run(${CMAKE_COMMAND} --build ${WORK_DIR}/lifetime-build --target lifetime)
run(${CMAKE_COMMAND} --install ${WORK_DIR}/lifetime-build)
foreach(expected include/lifetime/cancellation.hpp include/lifetime/detail/cancellation_state.hpp
                 lib/cmake/lifetime/lifetimeConfig.cmake lib/cmake/lifetime/lifetimeConfigVersion.cmake)
  if(NOT EXISTS ${prefix}/${expected})
    message(FATAL_ERROR "not installed: ${prefix}/${expected}")
  endif()
endforeach()

# 2. The consumer against the installed tree only: no package registry, nothing from the source.
run(${CMAKE_COMMAND} -S ${LIFETIME_SOURCE_DIR}/tests/install -B ${WORK_DIR}/consumer-build
    ${common} -DCMAKE_PREFIX_PATH=${prefix} -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF)
file(STRINGS ${WORK_DIR}/consumer-build/CMakeCache.txt found REGEX "^lifetime_DIR:")
string(FIND "${found}" "${prefix}/" at)
if(at EQUAL -1)
  message(FATAL_ERROR "the consumer found lifetime elsewhere: ${found}")
endif()
run(${CMAKE_COMMAND} --build ${WORK_DIR}/consumer-build)
run(${WORK_DIR}/consumer-build/lifetime_consumer)
message(STATUS "${run_output}")
if(WITH_BOOST)
  if(NOT EXISTS ${WORK_DIR}/consumer-build/lifetime_consumer_asio)
    message(FATAL_ERROR "lifetime::asio was not found in the installed package")
  endif()
  run(${WORK_DIR}/consumer-build/lifetime_consumer_asio)
  message(STATUS "${run_output}")
endif()

# 3. The same consumer with add_subdirectory() of the source tree.
run(${CMAKE_COMMAND} -S ${LIFETIME_SOURCE_DIR}/tests/install -B ${WORK_DIR}/subdirectory-build
    ${common} -DLIFETIME_CONSUMER_SUBDIRECTORY=${LIFETIME_SOURCE_DIR})
run(${CMAKE_COMMAND} --build ${WORK_DIR}/subdirectory-build --target lifetime_consumer)
run(${WORK_DIR}/subdirectory-build/lifetime_consumer)
message(STATUS "${run_output}")
