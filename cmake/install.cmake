# SPDX-License-Identifier: MIT
# `cmake --install` puts the lifetime headers, library and a CMake package in the prefix, so that
# find_package(lifetime CONFIG REQUIRED) + target_link_libraries(app lifetime::lifetime) works.
# lifetime::asio is installed too (header-only); it needs Boost >= 1.77 found by the consumer.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

install(TARGETS lifetime EXPORT lifetimeTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(DIRECTORY lifetime/include/lifetime DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
if(TARGET lifetime_asio)
  install(TARGETS lifetime_asio EXPORT lifetimeAsioTargets)
  install(EXPORT lifetimeAsioTargets NAMESPACE lifetime::
          DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/lifetime)
endif()
install(EXPORT lifetimeTargets NAMESPACE lifetime::
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/lifetime)

configure_package_config_file(cmake/lifetimeConfig.cmake.in
  ${CMAKE_CURRENT_BINARY_DIR}/lifetimeConfig.cmake
  INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/lifetime)
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/lifetimeConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/lifetimeConfig.cmake
              ${CMAKE_CURRENT_BINARY_DIR}/lifetimeConfigVersion.cmake
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/lifetime)
