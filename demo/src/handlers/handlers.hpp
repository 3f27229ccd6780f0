// SPDX-License-Identifier: MIT
// The endpoints of lifetime-demo, one function per route (routes.cpp puts them in one table).
//
// Each runs on its connection's strand as a coroutine, observes request_context::token(), and
// answers through the context. Cancellation propagates as lifetime::operation_cancelled; errors
// as http::http_error.
#pragma once

#include <boost/asio/awaitable.hpp>

#include <lifetime/http/request_context.hpp>
#include <lifetime/http/router.hpp>

namespace lifetime::http {
class websocket_session;
}

namespace lifetime::demo {

class application;

namespace handlers {
using result = boost::asio::awaitable<void>;
using http::request_context;

result page(request_context& ctx);                                // GET /
result favicon(request_context& ctx);                             // GET /favicon.ico
result hello(request_context& ctx);                               // GET /hello
result healthz(request_context& ctx);                             // GET /healthz
result readyz(request_context& ctx);                              // GET /readyz
result metrics(request_context& ctx);                             // GET /metrics
result work(application& app, request_context& ctx);              // GET /api/work
result stream(application& app, request_context& ctx);            // GET /api/stream
result csrf_token(application& app, request_context& ctx);        // GET /csrf-token
result start_operation(application& app, request_context& ctx);   // POST /api/operations
result get_operation(application& app, request_context& ctx);     // GET /api/operations/{id}
result operation_events(application& app, request_context& ctx);  // GET .../{id}/events
result cancel_operation(application& app, request_context& ctx);  // POST .../{id}/cancel
using socket_result = boost::asio::awaitable<void>;
/// GET /api/operations/{id}/socket (WebSocket): the operation's progress, one JSON text message
/// per change ({"event": "progress"|"done", ...status}); the session ends after "done".
socket_result operation_socket(application& app, http::websocket_session& ws);
/// Refuses (404) a request for an operation that is not the session's (before an upgrade).
http::filter_function operation_owner(application& app);
result upload(application& app, request_context& ctx);  // PUT /api/uploads/{name}
result restart(request_context& ctx);                   // POST /admin/restart
/// GET /api/lifecycle/events (an observer route): the lifecycle feed as server-sent events.
result lifecycle_events(request_context& ctx);

/// ?seconds=N: a number of seconds in [0, 3600] (fractions allowed). @throws http_error(400).
double seconds_param(const request_context& ctx);
/// The session cookie's value, if the request carries one.
std::optional<std::string> session_id(const request_context& ctx);
}  // namespace handlers

}  // namespace lifetime::demo
