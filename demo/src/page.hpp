// SPDX-License-Identifier: MIT
// The web page served at GET /: one self-contained HTML document (inline CSS and JavaScript, no
// external assets), embedded in the binary at build time from demo/web/index.html.
#pragma once

#include <string_view>

namespace lifetime::demo {

/// The page, from static storage. Thread-safe.
std::string_view page_html() noexcept;

}  // namespace lifetime::demo
