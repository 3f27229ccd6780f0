// SPDX-License-Identifier: MIT
// Serving a WebSocket route: the upgrade, the session's token, its read loop and its close.
//
// The session reads continuously into a queue (so a client that leaves, or sends its close frame,
// fires the token with client_disconnected at once); receive() takes from the queue. The token
// is one linked source over the server's stop_accepting and cancel_in_flight tokens
// (application_stopping) and the request's generation (restart). When the handler ends, the
// session sends its close frame (1001 stopping, 1012 restart, 1000 otherwise) and waits for the
// client's, at most server_config::websocket_close_timeout; then the connection closes.
//
// Thread safety: everything runs on the connection's strand.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/beast/http/message.hpp>

#include <lifetime/http/request_context.hpp>
#include <lifetime/http/router.hpp>

#include "transport.hpp"

namespace lifetime::http::detail {

/// Accepts the upgrade on `t` (the request `header`) and runs `r.websocket` until it ends, then
/// closes the session. A request that is not an upgrade throws http_error(426).
boost::asio::awaitable<void> serve_websocket(transport& t,
                                             const boost::beast::http::request_header<>& header,
                                             const route& r, request_context& ctx,
                                             cancellation_token generation);

}  // namespace lifetime::http::detail
