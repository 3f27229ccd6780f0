# SPDX-License-Identifier: MIT
# Installs from the build tree what the C ABI's users get (the top-level rules: lifetime and the
# CMake package; capi/'s: liblifetime-c, its header, lifetime::c, the pkg-config file and the
# Python package) into a fresh prefix, then builds and runs, against that prefix only:
#   1. tests/install/c with CMake (find_package(lifetime COMPONENTS c), lifetime::c);
#   2. the same main.c with the C compiler and `pkg-config --cflags --libs lifetime-c`;
#   3. tests/install/c/python_consumer.py with the installed Python package, which finds the
#      installed library by itself.
# Run by ctest as
#   cmake -DLIFETIME_SOURCE_DIR=... -DBUILD_DIR=... -DWORK_DIR=... -DC_COMPILER=...
#         -DGENERATOR=... -DPYTHON=... -P tests/install/run_c.cmake
cmake_minimum_required(VERSION 3.25)

foreach(var LIFETIME_SOURCE_DIR BUILD_DIR WORK_DIR C_COMPILER GENERATOR PYTHON)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "run_c.cmake: -D${var}=... is required")
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
run(${CMAKE_COMMAND} -DCMAKE_INSTALL_PREFIX=${prefix} -DCMAKE_INSTALL_LOCAL_ONLY=ON
    -P ${BUILD_DIR}/cmake_install.cmake)
run(${CMAKE_COMMAND} --install ${BUILD_DIR}/capi --prefix ${prefix})
foreach(expected include/lifetime/lifetime.h lib/liblifetime-c.so lib/liblifetime-c.so.1
                 lib/pkgconfig/lifetime-c.pc lib/cmake/lifetime/lifetimeCTargets.cmake
                 lib/python3/dist-packages/lifetime/__init__.py
                 lib/python3/dist-packages/lifetime/_installed.py)
  if(NOT EXISTS ${prefix}/${expected})
    message(FATAL_ERROR "not installed: ${prefix}/${expected}")
  endif()
endforeach()

# Only lifetime_* is exported, under LIFETIME_C_1.0.
run(nm -D --defined-only ${prefix}/lib/liblifetime-c.so.1)
string(REGEX MATCHALL "[^\n]+" symbols "${run_output}")
foreach(line ${symbols})
  if(NOT line MATCHES " (lifetime_[a-z_0-9]+@@LIFETIME_C_1\\.0|LIFETIME_C_1\\.0)$")
    message(FATAL_ERROR "liblifetime-c exports more than lifetime_*: ${line}")
  endif()
endforeach()

# 1. CMake.
run(${CMAKE_COMMAND} -S ${LIFETIME_SOURCE_DIR}/tests/install/c -B ${WORK_DIR}/cmake-build
    -G ${GENERATOR} -DCMAKE_C_COMPILER=${C_COMPILER} -DCMAKE_BUILD_TYPE=Release
    -DCMAKE_PREFIX_PATH=${prefix} -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF)
run(${CMAKE_COMMAND} --build ${WORK_DIR}/cmake-build)
run(${WORK_DIR}/cmake-build/lifetime_c_consumer)
message(STATUS "${run_output}")

# 2. pkg-config, the way a Makefile does it (with an rpath, since the prefix is not the system's).
set(ENV{PKG_CONFIG_PATH} ${prefix}/lib/pkgconfig)
run(pkg-config --cflags --libs lifetime-c)
string(STRIP "${run_output}" flags)
separate_arguments(flags UNIX_COMMAND "${flags}")
run(pkg-config --variable=libdir lifetime-c)
string(STRIP "${run_output}" libdir)
file(MAKE_DIRECTORY ${WORK_DIR}/pkg-config-build)
run(${C_COMPILER} -std=c11 -Wall -Wextra -Werror ${LIFETIME_SOURCE_DIR}/tests/install/c/main.c
    ${flags} -Wl,-rpath,${libdir} -o ${WORK_DIR}/pkg-config-build/lifetime_c_consumer)
run(${WORK_DIR}/pkg-config-build/lifetime_c_consumer)
message(STATUS "${run_output}")

# 3. Python: the installed package, no LIFETIME_C_LIBRARY.
set(ENV{PYTHONPATH} ${prefix}/lib/python3/dist-packages)
set(ENV{PYTHONDONTWRITEBYTECODE} 1)
unset(ENV{LIFETIME_C_LIBRARY})
run(${PYTHON} ${LIFETIME_SOURCE_DIR}/tests/install/c/python_consumer.py)
message(STATUS "${run_output}")
string(FIND "${run_output}" "(${prefix}/lib/liblifetime-c.so.1)" at)
if(at EQUAL -1)
  message(FATAL_ERROR "the Python package loaded another liblifetime-c: ${run_output}")
endif()
