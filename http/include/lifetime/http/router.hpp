// SPDX-License-Identifier: MIT
// The application's routes: a method and a decoded path to a handler, plus request filters.
//
// Patterns are literal segments and `{}` placeholders ("/api/operations/{}/cancel"); a placeholder
// matches exactly one non-empty decoded segment, which the handler reads from
// request_context::path_params(). A route says how its request body is read (before the handler,
// or streamed by the handler) and which filters run before it.
//
// A filter runs after routing and before the body is read; it refuses a request by throwing
// http_error (antiforgery answers 403 this way). Filters added with router::filter() run for
// every route, before the route's own. A path that exists for other methods answers 405 with
// `Allow:` listing them (HEAD is not implied).
//
// @par Thread safety
// Build it once, then hand it to the server; find() is const and safe from any thread. Handlers
// and filters run on the request's connection strand.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/beast/http/verb.hpp>
#include <boost/url/segments_encoded_view.hpp>

namespace lifetime::http {

class request_context;
class websocket_session;

/// A request handler: a coroutine on the connection's strand. It answers through the context and
/// lets lifetime::operation_cancelled and http_error propagate.
using handler_function = std::function<boost::asio::awaitable<void>(request_context&)>;
/// A WebSocket handler: runs once the upgrade is accepted, for the session's lifetime.
using websocket_handler = std::function<boost::asio::awaitable<void>(websocket_session&)>;
/// A request filter: throws http_error to refuse the request before its handler runs.
using filter_function = std::function<void(request_context&)>;

enum class body_mode {
  buffered,  ///< read whole (up to server_config::max_body_size) before the handler runs
  streamed,  ///< the handler reads it with request_context::read_body_some()
};

struct route {
  boost::beast::http::verb method = boost::beast::http::verb::get;
  std::string pattern;
  handler_function handler;
  body_mode body = body_mode::buffered;
  std::vector<filter_function> filters;
  /// Set for a WebSocket route (method GET): the request must be an upgrade.
  websocket_handler websocket;
  /// An observer watches the process rather than working for it (a lifecycle event stream): its
  /// requests are not counted in flight (the drain never waits for them, a closed gate admits
  /// them) and neither a restart nor the stop's cancellation fires their token; a disconnect and
  /// the deadline still do. It ends its response when server::closing() fires (phase 6).
  bool observer = false;
};

class router {
 public:
  struct match {
    const route* found = nullptr;     ///< null: no route for this method and path
    std::string allow;                ///< with found == null: the path's methods ("GET, POST")
    std::vector<std::string> params;  ///< the placeholders' segments
    /// True when the path exists for other methods (answer 405 with `allow`).
    bool method_not_allowed() const noexcept { return found == nullptr && !allow.empty(); }
  };

  /// Adds a route; returns *this for chaining.
  router& add(route r);
  router& add(boost::beast::http::verb method, std::string pattern, handler_function handler,
              body_mode body = body_mode::buffered, std::vector<filter_function> filters = {});
  /// A WebSocket route on GET `pattern`.
  router& add_websocket(std::string pattern, websocket_handler handler,
                        std::vector<filter_function> filters = {});
  /// An observer route on GET `pattern` (see route::observer).
  router& add_observer(std::string pattern, handler_function handler);
  /// A filter for every route, run before the route's own filters.
  router& filter(filter_function f);

  /// `segments` is the request's path, percent-encoded; each segment is compared decoded.
  match find(boost::beast::http::verb method, boost::urls::segments_encoded_view segments) const;
  const std::vector<filter_function>& filters() const noexcept { return filters_; }

 private:
  struct compiled {
    route r;
    std::vector<std::string> segments;
  };
  std::vector<compiled> routes_;
  std::vector<filter_function> filters_;
};

}  // namespace lifetime::http
