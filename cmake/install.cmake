# SPDX-License-Identifier: MIT
# `cmake --install` puts lifetime's headers, libraries, a CMake package with components and a
# pkg-config file in the prefix:
#
#   find_package(lifetime CONFIG REQUIRED COMPONENTS host http)
#   target_link_libraries(app PRIVATE lifetime::http)  # brings host, asio, lifetime
#
# One block per component, each with its own export set (lifetime<Component>Targets.cmake) that
# lifetimeConfig.cmake includes when the component is asked for; a component whose file is absent
# was not built. The package's dependencies are found by lifetimeConfig.cmake itself.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)
set(lifetime_cmake_dir ${CMAKE_INSTALL_LIBDIR}/cmake/lifetime)

# ---- lifetime (always): the primitives, standard library only ------------------------------
install(TARGETS lifetime EXPORT lifetimeTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(DIRECTORY lifetime/include/lifetime DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(EXPORT lifetimeTargets NAMESPACE lifetime:: DESTINATION ${lifetime_cmake_dir})
configure_file(cmake/lifetime.pc.in ${CMAKE_CURRENT_BINARY_DIR}/lifetime.pc @ONLY)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/lifetime.pc
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

# ---- asio: the header-only bridge (needs Boost's headers) ------------------------------------
if(TARGET lifetime_asio)
  install(TARGETS lifetime_asio EXPORT lifetimeAsioTargets)
  install(EXPORT lifetimeAsioTargets NAMESPACE lifetime:: DESTINATION ${lifetime_cmake_dir})
endif()

# ---- host: the hosted-service host, with Asio and Beast compiled once -------------------------
if(TARGET lifetime_host)
  install(TARGETS lifetime_host lifetime_boost_compiled EXPORT lifetimeHostTargets
          ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
  install(DIRECTORY host/include/lifetime DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
  install(EXPORT lifetimeHostTargets NAMESPACE lifetime:: DESTINATION ${lifetime_cmake_dir})
endif()

# ---- http: the HTTP/1.1 + WebSocket server ------------------------------------------------------
if(TARGET lifetime_http)
  install(TARGETS lifetime_http EXPORT lifetimeHttpTargets
          ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
  install(DIRECTORY http/include/lifetime DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
  install(EXPORT lifetimeHttpTargets NAMESPACE lifetime:: DESTINATION ${lifetime_cmake_dir})
endif()

# ---- the package: config, version ------------------------------------------------------------
configure_package_config_file(cmake/lifetimeConfig.cmake.in
  ${CMAKE_CURRENT_BINARY_DIR}/lifetimeConfig.cmake
  INSTALL_DESTINATION ${lifetime_cmake_dir})
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/lifetimeConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/lifetimeConfig.cmake
              ${CMAKE_CURRENT_BINARY_DIR}/lifetimeConfigVersion.cmake
        DESTINATION ${lifetime_cmake_dir})
