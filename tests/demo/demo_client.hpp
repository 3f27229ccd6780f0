// SPDX-License-Identifier: MIT
// What the demo's tests ask of a running lifetime-demo over HTTP, on top of the shared client
// (support/http_client.hpp): a metric's value, a browser-like session. Blocking, on the calling
// thread; throws std::runtime_error as the shared client does, or when the answer lacks what is
// asked for.
#pragma once

#include <map>
#include <string>
#include <string_view>

#include "support/eventually.hpp"
#include "support/http_client.hpp"

namespace lifetime::demo::test {

using namespace std::chrono_literals;
using lifetime::test::eventually;
using lifetime::test::get;
using lifetime::test::http_client;
using lifetime::test::http_response;
using lifetime::test::request;

/// The value of the sample `name` (with labels, e.g. `x{reason="restart"}`) in GET /metrics.
double metric(unsigned short port, std::string_view sample);

/// A browser-like session: the cookie and antiforgery token from GET /csrf-token.
struct session {
  std::string cookie;  ///< "lifetime_session=..."
  std::string token;
  std::map<std::string, std::string> headers() const {
    return {{"Cookie", cookie}, {"X-CSRF-TOKEN", token}};
  }
};
session new_session(unsigned short port);

}  // namespace lifetime::demo::test
