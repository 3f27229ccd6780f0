# Warnings are errors for the project's own targets (not for users who add_subdirectory us).
add_library(lifetime_warnings INTERFACE)
if(PROJECT_IS_TOP_LEVEL)
  target_compile_options(lifetime_warnings INTERFACE -Wall -Wextra -Wpedantic -Werror)
endif()
