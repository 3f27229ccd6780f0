# SPDX-License-Identifier: MIT
# Installs lifetime into a fresh prefix and builds and runs tests/install against it; with Boost,
# also the host and http components, the out-of-tree build of http/examples against them, and a
# request for a component that was not built; then builds the same consumer with
# add_subdirectory() of the source tree. Run by ctest as
#   cmake -DLIFETIME_SOURCE_DIR=... -DWORK_DIR=... -DCXX_COMPILER=... -DGENERATOR=...
#         -DWITH_BOOST=ON|OFF [-DBUILD_DIR=<a built, unsanitized tree to install from>]
#         -P tests/install/run.cmake
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

# 1. Build and install lifetime. The package is made from the installed parts of the tree (the
#    top-level CMake files, cmake/, lifetime/ and, with Boost, host/ and http/), so that the test
#    needs no demo/ built; only the libraries need building to be installed.
file(MAKE_DIRECTORY ${WORK_DIR}/source)
set(parts CMakeLists.txt cmake lifetime)
set(targets lifetime)
if(WITH_BOOST)
  list(APPEND parts host http)
  list(APPEND targets lifetime_host lifetime_http)
endif()
foreach(part ${parts})
  file(COPY ${LIFETIME_SOURCE_DIR}/${part} DESTINATION ${WORK_DIR}/source)
endforeach()
run(${CMAKE_COMMAND} -S ${WORK_DIR}/source -B ${WORK_DIR}/lifetime-build ${common}
    -DLIFETIME_BUILD_TESTS=OFF -DLIFETIME_BUILD_BENCH=OFF -DLIFETIME_WITH_BOOST=${WITH_BOOST}
    -DCMAKE_INSTALL_PREFIX=${prefix})
if(BUILD_DIR)
  # The enclosing build is a plain one and has built these libraries from the same sources: they
  # are installed from it (the copied parts, configured above, show the package needs nothing
  # else of the tree) rather than compiled a second time.
  run(${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${prefix})
else()
  run(${CMAKE_COMMAND} --build ${WORK_DIR}/lifetime-build --target ${targets})
  run(${CMAKE_COMMAND} --install ${WORK_DIR}/lifetime-build)
endif()
set(expected_files include/lifetime/cancellation.hpp include/lifetime/detail/cancellation_state.hpp
    lib/cmake/lifetime/lifetimeConfig.cmake lib/cmake/lifetime/lifetimeConfigVersion.cmake
    lib/pkgconfig/lifetime.pc)
if(WITH_BOOST)
  list(APPEND expected_files include/lifetime/host/host.hpp include/lifetime/http/server.hpp
       lib/cmake/lifetime/lifetimeHostTargets.cmake lib/cmake/lifetime/lifetimeHttpTargets.cmake)
endif()
foreach(expected ${expected_files})
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

# 2b. With Boost: the http example daemon, configured and built as a project of its own against
#     the prefix (find_package(lifetime COMPONENTS host http)), and started with --help.
if(WITH_BOOST)
  run(${CMAKE_COMMAND} -S ${LIFETIME_SOURCE_DIR}/http/examples -B ${WORK_DIR}/example-build
      ${common} -DCMAKE_PREFIX_PATH=${prefix} -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF)
  run(${CMAKE_COMMAND} --build ${WORK_DIR}/example-build)
  run(${WORK_DIR}/example-build/lifetime_example_http_daemon --help)
  if(NOT run_output MATCHES "--listen")
    message(FATAL_ERROR "the example daemon's --help lacks --listen:\n${run_output}")
  endif()
endif()

# 2c. A component that this installation lacks fails with a message that names it.
set(missing telepathy)
if(NOT WITH_BOOST)
  set(missing http)
endif()
file(MAKE_DIRECTORY ${WORK_DIR}/missing-component)
file(WRITE ${WORK_DIR}/missing-component/CMakeLists.txt
     "cmake_minimum_required(VERSION 3.25)\nproject(missing LANGUAGES CXX)\n"
     "find_package(lifetime CONFIG REQUIRED COMPONENTS ${missing})\n")
execute_process(COMMAND ${CMAKE_COMMAND} -S ${WORK_DIR}/missing-component
                        -B ${WORK_DIR}/missing-component/build ${common}
                        -DCMAKE_PREFIX_PATH=${prefix} -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
if(rc EQUAL 0 OR NOT out MATCHES "component '${missing}' was not built")
  message(FATAL_ERROR "asking for a missing component did not fail naming it (${rc}):\n${out}")
endif()

# 3. The same consumer with add_subdirectory() of the source tree.
run(${CMAKE_COMMAND} -S ${LIFETIME_SOURCE_DIR}/tests/install -B ${WORK_DIR}/subdirectory-build
    ${common} -DLIFETIME_CONSUMER_SUBDIRECTORY=${LIFETIME_SOURCE_DIR})
run(${CMAKE_COMMAND} --build ${WORK_DIR}/subdirectory-build --target lifetime_consumer)
run(${WORK_DIR}/subdirectory-build/lifetime_consumer)
message(STATUS "${run_output}")
