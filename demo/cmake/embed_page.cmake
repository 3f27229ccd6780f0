# SPDX-License-Identifier: MIT
# cmake -DINPUT=index.html -DOUTPUT=page_html.cpp -P embed_page.cmake
# Writes a C++ file defining lifetime::demo::page_html() as the input, in a raw string literal.
file(READ "${INPUT}" content)
string(FIND "${content}" ")lifetime_page\"" clash)
if(NOT clash EQUAL -1)
  message(FATAL_ERROR "${INPUT} contains the raw string delimiter")
endif()
file(WRITE "${OUTPUT}.tmp" "// Generated from demo/web/index.html; do not edit.\n#include \"page.hpp\"\n\nnamespace lifetime::demo {\nstd::string_view page_html() noexcept {\n  static constexpr std::string_view page = R\"lifetime_page(${content})lifetime_page\";\n  return page;\n}\n}  // namespace lifetime::demo\n")
file(COPY_FILE "${OUTPUT}.tmp" "${OUTPUT}" ONLY_IF_DIFFERENT)
file(REMOVE "${OUTPUT}.tmp")
