# Warnings are errors for the project's own targets (not for users who add_subdirectory us).
add_library(lifetime_warnings INTERFACE)
if(PROJECT_IS_TOP_LEVEL)
  target_compile_options(lifetime_warnings INTERFACE -Wall -Wextra -Wpedantic -Werror)
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
    # g++ 12 reports impossible overlaps inside libstdc++'s own std::string concatenation when
    # optimising (GCC bug 105329); the warning says nothing about our code there.
    target_compile_options(lifetime_warnings INTERFACE -Wno-restrict)
  endif()
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_FLAGS MATCHES "-fsanitize=thread")
    # g++ 12 under -fsanitize=thread warns that it does not instrument the fences Asio uses.
    target_compile_options(lifetime_warnings INTERFACE -Wno-tsan)
  endif()
endif()
