// SPDX-License-Identifier: MIT
// Maps a method and a decoded path to a handler.
//
// Patterns are literal segments and `{}` placeholders ("/api/operations/{}/cancel"); a placeholder
// matches exactly one non-empty decoded segment, which the handler reads from
// request_context::path_params(). A route also says how its request body is read (before the
// handler, or streamed by the handler) and whether it needs the antiforgery token.
//
// Thread safety: build it once, then find() from any thread.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/beast/http/verb.hpp>
#include <boost/url/segments_encoded_view.hpp>

namespace lifetime::demo {

class request_context;

using handler_function = boost::asio::awaitable<void> (*)(request_context&);

enum class body_mode {
  buffered,  ///< read whole (up to max_body_size) before the handler runs
  streamed,  ///< the handler reads it with request_context::read_body_some()
};

struct route {
  boost::beast::http::verb method;
  std::string pattern;
  handler_function handler;
  body_mode body = body_mode::buffered;
  bool needs_csrf = false;
};

class router {
 public:
  struct match {
    const route* found = nullptr;     ///< null: no route for this method and path
    bool path_exists = false;         ///< true with found == null: 405
    std::vector<std::string> params;  ///< the placeholders' segments
  };

  router& add(route r);
  /// `segments` is the request's path, percent-encoded; each segment is compared decoded.
  match find(boost::beast::http::verb method, boost::urls::segments_encoded_view segments) const;

 private:
  struct compiled {
    route r;
    std::vector<std::string> segments;
  };
  std::vector<compiled> routes_;
};

/// Every endpoint of lifetime-demo (handlers/*.cpp).
router make_demo_router();

}  // namespace lifetime::demo
