// SPDX-License-Identifier: MIT
// A WebSocket session on a route added with router::add_websocket(): what its handler sees.
//
// The upgrade request goes through the same admission, routing and filters as any request (a
// filter that refuses answers its status instead of 101); then the handler runs for the session's
// lifetime, on the connection's strand.
//
// - token(): fires when the client goes away (a read error or its close frame: reason
//   client_disconnected), when the server stops accepting (application_stopping: phase 3 of the
//   stop, so that sessions end before the drain), at phase 5, or when the server restarts
//   (restart). A handler awaits with sleep_for() or binds its own operations to the token, and
//   lets operation_cancelled propagate.
// - When the handler returns (or throws), the server closes the session with a close frame: 1001
//   (going away) when the server stops, 1012 (service restart) at a restart, 1000 otherwise; the
//   close handshake is bounded by server_config::websocket_close_timeout.
// - A session holds the in-flight gate for its lifetime and counts in
//   http_websocket_sessions_open/_total.
//
// @par Thread safety
// Use a session only on its strand (inside its handler). send_text() calls must not overlap.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include <boost/asio/awaitable.hpp>

#include <lifetime/cancellation.hpp>
#include <lifetime/http/request_context.hpp>

namespace lifetime::http {

class websocket_session {
 public:
  virtual ~websocket_session() = default;

  /// The upgrade request (path parameters, query, cookies, the server).
  virtual request_context& request() noexcept = 0;
  /// See the header comment.
  virtual const cancellation_token& token() const noexcept = 0;
  /// Sends one text message. @throws operation_cancelled(client_disconnected) if the client is
  /// gone.
  virtual boost::asio::awaitable<void> send_text(std::string_view text) = 0;
  /// The next text message from the client; nothing once the client closed the session.
  /// @throws operation_cancelled when token() fires first.
  virtual boost::asio::awaitable<std::optional<std::string>> receive() = 0;
  /// Waits `duration` unless the token fires first. @throws operation_cancelled.
  virtual boost::asio::awaitable<void> sleep_for(std::chrono::steady_clock::duration duration) = 0;
};

}  // namespace lifetime::http
